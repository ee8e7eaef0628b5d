"""Where datasets live on disk: the cache root and each dataset's folder."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import PathLike

CACHE_ENV = "MNIST_SPRITE_CACHE"


def cache_root(cache_dir: PathLike | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$MNIST_SPRITE_CACHE``, else the platform cache.

    The platform cache is ``$XDG_CACHE_HOME/mnist-sprite``, else ``~/.cache/mnist-sprite``.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mnist-sprite"


def dataset_dir(name: str, cache_dir: PathLike | None = None) -> Path:
    """The folder that holds one dataset's files."""
    return cache_root(cache_dir) / name
