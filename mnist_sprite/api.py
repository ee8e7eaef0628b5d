"""The Python API: load_data(), convert(), pack() and fetch(), in a Python caller's words.

Each takes the command's options as keyword arguments and raises a subclass of
:class:`~mnist_sprite.errors.MnistSpriteError` whose message names parameters, not flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import PathLike, speaking, speaking_python
from .options import Options, check_flags
from .pack import pack as pack_files
from .pipeline import Result, Sources, resolve_sources, to_arrays, write_output

Split = tuple[npt.NDArray[Any], npt.NDArray[np.uint8]]


def _read(dataset: str | None, fmt: str, args: dict[str, Any]) -> tuple[Sources, Options]:
    """The sources and the :class:`Options` that :func:`load_data`'s keyword arguments give
    (``args``: its ``locals()``, or what :func:`convert` was given besides its own)."""
    where = {k: args.pop(k, None) for k in ("sprite", "labels", "cache_dir")}
    offline = args.pop("offline", False)
    check_flags(offline=offline)
    options = Options.given(fmt, **args)
    return resolve_sources(dataset, **where, offline=offline), options


def load_data(
    dataset: str | None = None,
    *,
    sprite: PathLike | None = None,
    labels: PathLike | None = None,
    cache_dir: PathLike | None = None,
    offline: bool = False,
    dtype: str = "float32",
    label_format: str = "onehot",
    shape: str = "flat",
    image_size: tuple[int, int] | str | None = None,
    train_size: int | None = None,
    split: str | None = None,
    channels: str | None = None,
    shuffle: bool = False,
    seed: int | None = None,
    browser: str = "chromium",
) -> tuple[Split, Split]:
    """Return ``(x_train, y_train), (x_test, y_test)``, as ``keras.datasets.mnist.load_data()``.

    By default the arrays are TensorFlow.js's: float32 pixels ``v / 255`` of shape
    ``(N, 784)`` and one-hot uint8 labels of shape ``(N, 10)``, 55,000 train and 10,000 test.
    ``dataset`` is ``"mnist"`` (the default), ``"sample"`` (1,000 digits shipped with the
    package, 800 / 200), ``"fashion-mnist"`` or ``"cifar10"`` (RGB unless ``channels="red"``;
    give ``split=`` or ``train_size=``). Pass ``sprite=`` and ``labels=`` instead to read files
    of your own. ``browser`` (chromium, firefox or webkit) is whose canvas to reproduce, for a
    sprite with transparency or 16-bit samples.
    Missing dataset files are fetched into the cache unless ``offline``.
    """
    args = dict(locals())
    with speaking_python():
        sources, options = _read(args.pop("dataset"), "npz", args)
        arrays = to_arrays(sources, options)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def convert(
    out: PathLike,
    dataset: str | None = None,
    *,
    format: str = "npz",
    compress: bool = False,
    layout: str = "plain",
    force: bool = False,
    shard_rows: int | None = None,
    **options: Any,
) -> Result:
    """Write what ``mnist-sprite convert`` writes to ``out``; return what was written.

    ``out`` is a file for a file format such as npz, else a folder; ``format``, ``compress``,
    ``layout``, ``force`` and ``shard_rows`` are the command's options, and ``options`` are
    :func:`load_data`'s keyword arguments (``sprite=``, ``dtype=``, ``shuffle=``, ...).
    ``dtype``, ``label_format`` and ``shape`` default to the format's rules
    (``registry.TABLE``: float32 one-hot flat for npz, uint8 class ids for idx, say).
    """
    with speaking_python():
        check_flags(compress=compress, force=force)
        sources, settled = _read(dataset, format, options)
        return write_output(
            sources,
            out,
            options=settled,
            fmt=format,
            compress=compress,
            layout=layout,
            force=force,
            shard_rows=shard_rows,
        )


# As the command: pack.pack itself, checking its arguments, with errors in Python's words.
pack = speaking(pack_files)


def fetch(
    dataset: str = "mnist", *, cache_dir: PathLike | None = None, offline: bool = False
) -> tuple[Path, Path]:
    """The paths of ``dataset``'s sprite and label file, downloaded and verified if missing."""
    with speaking_python():
        sources = resolve_sources(dataset, cache_dir=cache_dir, offline=offline)
    return sources.sprite, sources.labels
