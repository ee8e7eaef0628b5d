"""The output formats: one module per format, each a sink that writes the pipeline's arrays
and a reader that reads them back, so inspect, verify and pack read what convert writes.

| format  | on disk                                                  | module       |
|---------|----------------------------------------------------------|--------------|
| npz     | one zip of ``.npy`` members, provenance in its comment   | ``npz.py``   |
| npy     | a folder of ``.npy`` files and ``manifest.json``         | ``npy.py``   |
| idx     | MNIST's original IDX files (torchvision's layout too)    | ``idx.py``   |
| csv     | ``train.csv`` / ``test.csv``, Kaggle's layout            | ``csv.py``   |
| png-dir | ``<split>/<class>/<index>.png``, ImageFolder's layout    | ``pngdir.py``|
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SourceError
from ..files import is_regular, open_source
from ..options import FORMATS, LAYOUTS
from .base import ARRAY_NAMES, MANIFEST, Member, MemorySink, Reader, Sink, read_manifest

# Each format's module is imported where it is used (convert to npz never loads the CSV, IDX or
# PNG-folder code); ``NpzSink`` is the pipeline's and imported from ``.npz`` there.


@dataclass(frozen=True)
class Rules:
    """What a format can hold: the options it allows, and the defaults it implies."""

    folder: bool
    dtypes: tuple[str, ...] | None = None  # None: any
    label_formats: tuple[str, ...] | None = None
    shape: str | None = None  # the one shape it stores, if it has one
    dtype: str | None = None  # its default pixel type, if not the pipeline's

    def settled(self, name: str, given: dict[str, Any]) -> dict[str, Any]:
        """The options for this format: its defaults where none was given; refuses what it
        cannot hold, naming the option (OptionError)."""
        from ..errors import OptionError

        out: dict[str, Any] = {}
        checks = (
            ("dtype", self.dtypes, self.dtype, "--dtype"),
            ("label_format", self.label_formats, None, "--label-format"),
            ("shape", None if self.shape is None else (self.shape,), self.shape, "--shape"),
        )
        for key, allowed, default, flag in checks:
            value = given.get(key)
            if value is not None and allowed is not None and value not in allowed:
                raise OptionError(
                    None,
                    f"--format {name} cannot hold {flag} {value}",
                    f"drop {flag}, or use --format npz or npy",
                )
            if value is None:
                value = default if default is not None else (allowed[0] if allowed else None)
            if value is not None:
                out[key] = value
        return out


RULES: dict[str, Rules] = {
    "npz": Rules(folder=False),
    "npy": Rules(folder=True),
    # IDX holds bytes and class ids, images as (N, H, W).
    "idx": Rules(folder=True, dtypes=("uint8",), label_formats=("index",), shape="image"),
    # One label column, then the pixels of a flat row; uint8 integers unless --dtype says.
    "csv": Rules(folder=True, label_formats=("index",), shape="flat", dtype="uint8"),
    # A PNG holds bytes; its folder is its class.
    "png-dir": Rules(folder=True, dtypes=("uint8",), label_formats=("index",), shape="image"),
}


def open_output(path: Path) -> Reader:
    """The reader for whatever output ``path`` is, recognized by content."""
    kind = kind_of(path)
    if kind is None:
        if not (path.exists() or path.is_symlink()):
            raise SourceError(path, "no such file or folder", "check the path")
        if not path.is_dir():
            open_source(path).close()  # refuses a FIFO, device or socket by name, unopened
        raise SourceError(
            path,
            "is not an output of convert (an .npz file, or an npy, idx, csv or png-dir folder)",
            "give a convert output",
        )
    reader: Reader
    if kind == "npz":
        from .npz import NpzReader

        reader = NpzReader(path)
    elif kind == "npy":
        from .npy import NpyReader

        reader = NpyReader(path)
    elif kind == "idx":
        from .idx import IdxReader

        reader = IdxReader(path)
    elif kind == "csv":
        from .csv import CsvReader

        reader = CsvReader(path)
    else:
        from .pngdir import PngDirReader

        reader = PngDirReader(path)
    return reader


def kind_of(path: Path) -> str | None:
    """Which format ``path`` holds, by content (its manifest first); None if none."""
    if path.is_dir():
        from .csv import looks_like_csv
        from .idx import looks_like_idx
        from .pngdir import looks_like_png_dir

        manifest = read_manifest(path)
        recorded = manifest.get("format") if manifest else None
        if isinstance(recorded, str) and recorded in FORMATS and recorded != "npz":
            return recorded
        if all(_entry(path / f"{name}.npy") for name in ("x_train", "y_train")):
            return "npy"  # a stray .npy does not make a folder an output; a FIFO is named
        if looks_like_idx(path):
            return "idx"
        if looks_like_csv(path):
            return "csv"
        if looks_like_png_dir(path):
            return "png-dir"
        return "npy" if (path / MANIFEST).is_file() else None
    if not is_regular(path):  # a FIFO or device is never opened: that could hang
        return None
    try:
        with open_source(path) as f:
            head = f.read(24)
            size = os.fstat(f.fileno()).st_size
    except SourceError:
        return None
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "npz"
    if head[:2] != b"\0\0":  # no IDX magic: the IDX module is not imported
        return None
    from .idx import looks_like_idx_file

    return "idx" if looks_like_idx_file(path, head, size) else None


def _entry(path: Path) -> bool:
    """Something other than a folder is there (a file, or a FIFO the reader then refuses by
    name), told without opening it."""
    return (path.exists() or path.is_symlink()) and not path.is_dir()


def folder_sink(
    fmt: str,
    folder: Path,
    provenance: dict[str, Any],
    *,
    compress: bool = False,
    layout: str = "plain",
    classes: list[str] | None = None,
) -> Sink:
    """The sink that fills ``folder`` (a temporary folder, renamed into place when done)."""
    if fmt == "npy":
        from .npy import NpyDirSink

        return NpyDirSink(folder, provenance)
    if fmt == "idx":
        from .idx import IdxSink, folder_for

        sub = folder_for(layout, provenance.get("dataset"))
        both = compress and layout == "torchvision"  # torchvision reads the raw files
        return IdxSink(folder, provenance, sub=sub, compress=compress, both=both)
    if fmt == "csv":
        from .csv import CsvSink

        return CsvSink(folder, provenance)
    if fmt == "png-dir":
        from .pngdir import PngDirSink

        return PngDirSink(folder, provenance, classes or [str(i) for i in range(10)])
    raise AssertionError(f"not a folder format: {fmt}")


__all__ = [
    "ARRAY_NAMES",
    "FORMATS",
    "LAYOUTS",
    "MANIFEST",
    "RULES",
    "Member",
    "MemorySink",
    "Reader",
    "Sink",
    "folder_sink",
    "kind_of",
    "open_output",
]
