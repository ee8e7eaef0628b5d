"""The Python API: load_data(), convert(), pack() and fetch(), in a Python caller's words.

Each takes the command's options as keyword arguments and raises a subclass of
:class:`~mnist_sprite.errors.MnistSpriteError` whose message names parameters, not flags.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import OptionError, PathLike, speaking_python
from .pack import PackResult
from .pack import pack as pack_files
from .pipeline import (
    Options,
    Result,
    options_for,
    parse_image_size,
    resolve_sources,
    to_arrays,
    write_output,
)

Split = tuple[npt.NDArray[Any], npt.NDArray[np.uint8]]


def _flags(**flags: object) -> None:
    """Refuse a flag that is not True or False (``compress="no"`` would read as True)."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise OptionError(None, f"{name}={value!r} is not True or False", f"give {name}=True")


def _whole(**numbers: object) -> None:
    """Refuse a count that is not an int (``train_size="900"``), saying what to pass instead."""
    for name, value in numbers.items():
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        text = str(value).strip()
        fix = (
            f"give {name}={int(text)}" if text.isdigit() else f"give a whole number, e.g. {name}=0"
        )
        raise OptionError(None, f"{name}={value!r} is not a whole number", fix)


def _options(args: dict[str, Any], fmt: str = "npz") -> Options:
    """The :class:`Options` a public function's arguments (its ``locals()``) give, each option
    named once, by the class's fields; checked as the command checks its flags."""
    given = {f.name: args[f.name] for f in fields(Options) if f.name in args}
    _flags(shuffle=given["shuffle"])
    _whole(train_size=given["train_size"], seed=given["seed"])
    size = given["image_size"]
    size = parse_image_size(size) if isinstance(size, str) else size
    given["image_size"] = None if size is None else (int(size[0]), int(size[1]))
    return options_for(fmt, **given)


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
    with speaking_python():
        _flags(offline=offline)
        options = _options(locals())
        sources = resolve_sources(dataset, sprite, labels, cache_dir=cache_dir, offline=offline)
        arrays = to_arrays(sources, options)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def convert(
    out: PathLike,
    dataset: str | None = None,
    *,
    sprite: PathLike | None = None,
    labels: PathLike | None = None,
    cache_dir: PathLike | None = None,
    offline: bool = False,
    dtype: str | None = None,
    label_format: str | None = None,
    shape: str | None = None,
    image_size: tuple[int, int] | str | None = None,
    train_size: int | None = None,
    split: str | None = None,
    channels: str | None = None,
    shuffle: bool = False,
    seed: int | None = None,
    format: str = "npz",
    compress: bool = False,
    layout: str = "plain",
    force: bool = False,
    browser: str = "chromium",
    shard_rows: int | None = None,
) -> Result:
    """Write what ``mnist-sprite convert`` writes to ``out``; return what was written.

    The arguments are :func:`load_data`'s plus ``out`` (a file for a file format such as npz,
    else a folder), ``format``, ``compress``, ``layout`` and ``force``, as the command's options.
    ``dtype``, ``label_format`` and ``shape`` default to the format's rules
    (``registry.TABLE``: float32 one-hot flat for npz, uint8 class ids for idx, say).
    """
    with speaking_python():
        _flags(offline=offline, compress=compress, force=force)
        options = _options(locals(), format)
        sources = resolve_sources(dataset, sprite, labels, cache_dir=cache_dir, offline=offline)
        return write_output(
            sources,
            out,
            options=options,
            fmt=format,
            compress=compress,
            layout=layout,
            force=force,
            shard_rows=shard_rows,
        )


def pack(
    source: PathLike,
    out: PathLike,
    *,
    name: str = "data",
    classes: int | None = None,
    image_size: tuple[int, int] | str | None = None,
    quantize: bool = False,
    level: int = 6,
    force: bool = False,
    classes_from: PathLike | None = None,
    limit_per_class: int | None = None,
    test_size: int | float | str | None = None,
    seed: int | None = None,
    shard_rows: int | None = None,
    only_listed: bool = False,
) -> PackResult:
    """Write what ``mnist-sprite pack`` writes: ``source`` (any convert output, PNG folders,
    or a folder of one array per class) as ``NAME_images.png`` (or shards
    ``NAME_images_000.png``, ...), label files, ``NAME.json`` and ``NAME.js`` in ``out``."""
    args = dict(locals())  # every argument, passed on as given
    with speaking_python():
        _flags(quantize=quantize, force=force, only_listed=only_listed)
        args["image_size"] = (
            parse_image_size(image_size) if isinstance(image_size, str) else image_size
        )
        return pack_files(**args)


def fetch(
    dataset: str = "mnist", *, cache_dir: PathLike | None = None, offline: bool = False
) -> tuple[Path, Path]:
    """The paths of ``dataset``'s sprite and label file, downloaded and verified if missing."""
    with speaking_python():
        sources = resolve_sources(dataset, cache_dir=cache_dir, offline=offline)
    return sources.sprite, sources.labels
