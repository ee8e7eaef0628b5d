"""The ``npy`` format: a folder of one ``.npy`` file per array (memory-mappable with
``np.load(..., mmap_mode="r")``) and ``manifest.json``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from ..files import inside, open_source
from .base import (
    ARRAY_NAMES,
    ArraySink,
    Format,
    Member,
    SinkOptions,
    npy_header,
    pieces_of,
    read_manifest,
    write_manifest,
)
from .npz import read_npy_header


class NpyDirSink(ArraySink):
    """One ``.npy`` file per array in a folder, plus ``manifest.json``."""

    def __init__(self, folder: Path, provenance: dict[str, Any]) -> None:
        self._folder = folder
        self._provenance = provenance
        self._files: list[str] = []
        self._file: IO[bytes] | None = None

    def begin_array(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._files.append(f"{name}.npy")
        self._file = open(self._folder / f"{name}.npy", "wb")  # noqa: SIM115 - closed in end_array()
        self._file.write(npy_header(shape, dtype))

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._file is not None
        self._file.write(np.ascontiguousarray(data).data)

    def end_array(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        write_manifest(self._folder, self._provenance, self._files)


class NpyReader:
    """A folder of ``.npy`` files."""

    kind = "npy"

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.path.glob("*.npy"))

    def provenance(self) -> dict[str, Any] | None:
        return read_manifest(self.path)

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        file = self.path / f"{name}.npy"
        if not (file.exists() or file.is_symlink()):
            raise SourceError(self.path, f"has no array {name}", "convert again")
        with open_source(inside(self.path, file), self.path) as f:
            member = read_npy_header(f, name, file, os.fstat(f.fileno()).st_size)
            yield member, pieces_of(f, member, file)


def _sniff(path: Path) -> bool:
    # A stray .npy does not make a folder an output; a FIFO is named (by the reader).
    return path.is_dir() and all(_entry(path / f"{name}.npy") for name in ARRAY_NAMES[:2])


def _entry(path: Path) -> bool:
    """Something other than a folder is there (a file, or a FIFO the reader then refuses by
    name), told without opening it."""
    return (path.exists() or path.is_symlink()) and not path.is_dir()


def _open_sink(folder: Path, provenance: dict[str, Any], options: SinkOptions) -> NpyDirSink:
    return NpyDirSink(folder, provenance)


FORMAT = Format.of_folder("npy", _sniff, NpyReader, _open_sink)
