"""The output formats: one module per format, each declaring one :class:`Format` (its sniff,
reader and sink), so inspect, verify and pack read what convert writes. Which formats there
are, what each holds and which module holds its code is ``registry.TABLE``, and nowhere else:
a module is imported only when used (convert to npz never loads the CSV, IDX or PNG-folder
code)."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import SourceError
from ..files import open_source
from ..registry import FOLDER_FALLBACK, OUTPUTS, TABLE
from .base import (
    ARRAY_NAMES,
    MANIFEST,
    Format,
    Member,
    MemorySink,
    Reader,
    Sink,
    SinkOptions,
    read_manifest,
)


def get(name: str) -> Format:
    """The format ``name`` (a key of ``registry.TABLE``), its module imported on first use."""
    module, attr = TABLE[name].target.split(":")
    found = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    assert isinstance(found, Format) and found.name == name, TABLE[name].target
    return found


def open_output(path: Path) -> Reader:
    """The reader for whatever output ``path`` is, recognized by content."""
    kind = kind_of(path)
    if kind is None:
        if not (path.exists() or path.is_symlink()):
            raise SourceError(path, "no such file or folder", "check the path")
        if not path.is_dir():
            open_source(path).close()  # refuses a FIFO, device or socket by name, unopened
        raise SourceError(path, f"is not an output of convert ({OUTPUTS})", "give a convert output")
    return get(kind).open_reader(path)


def kind_of(path: Path) -> str | None:
    """Which format ``path`` holds, by content (a folder's manifest first, then each format
    in the table's order); None if none."""
    folder = path.is_dir()
    if folder:
        manifest = read_manifest(path)
        recorded = manifest.get("format") if manifest else None
        if isinstance(recorded, str) and recorded in TABLE and TABLE[recorded].rules.folder:
            return recorded
    for name in TABLE:
        if get(name).sniff(path):
            return name
    return FOLDER_FALLBACK if folder and (path / MANIFEST).is_file() else None


__all__ = [
    "ARRAY_NAMES",
    "MANIFEST",
    "Format",
    "Member",
    "MemorySink",
    "Reader",
    "Sink",
    "SinkOptions",
    "get",
    "kind_of",
    "open_output",
]
