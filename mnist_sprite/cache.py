"""Where datasets live on disk, and what a fetch recorded there (``.verified.json``): each
verified file's size, mtime and sha256, so the next run trusts it after a stat, and a dataset
with no pinned digest is held to the digests of its first fetch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import PathLike
from .files import file_sha256, read_json, write_json

CACHE_ENV = "MNIST_SPRITE_CACHE"
MARKER = ".verified.json"


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


def read_record(folder: Path) -> dict[str, Any]:
    """What fetches recorded in a dataset's folder, by file name (empty when nothing)."""
    return read_json(folder / MARKER)


def write_record(folder: Path, record: dict[str, Any]) -> None:
    write_json(folder / MARKER, record)


def stamp(path: Path, digest: str, pinned: bool) -> dict[str, Any]:
    """A verified file's entry in the record: its size and mtime, and its sha256."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest, "pinned": pinned}


def recorded_sha256(record: dict[str, Any], name: str) -> str | None:
    """The sha256 recorded for the file ``name``, if any."""
    entry = record.get(name)
    if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    return None


def unchanged(record: dict[str, Any], name: str, st: os.stat_result) -> bool:
    """Is the file of this stat the one stamped (the same size and mtime)?"""
    entry = record.get(name)
    stamped = (entry.get("size"), entry.get("mtime_ns")) if isinstance(entry, dict) else None
    return stamped == (st.st_size, st.st_mtime_ns)


def stamped_sha256(record: dict[str, Any], name: str, path: Path, st: os.stat_result) -> str | None:
    """The recorded sha256 of the file at ``path`` while it is the file stamped: the same
    size, and the same mtime or (a copy, say) the same bytes; else None."""
    entry = record.get(name)
    if not isinstance(entry, dict) or entry.get("size") != st.st_size:
        return None
    digest = str(entry.get("sha256"))
    return digest if unchanged(record, name, st) or file_sha256(path) == digest else None
