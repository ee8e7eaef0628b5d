"""What every output format shares: the sink a pipeline writes into, the reader that reads an
output back, and the manifest that records how a folder output was made.

A sink is told each array's final shape and dtype (:meth:`Sink.begin`), then gets its values
in C-order pieces (:meth:`Sink.write`), so a 200 MB split never has to exist whole in memory.
A reader gives each array's :class:`Member` (name, shape, dtype) and its flat values in pieces.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

MANIFEST = "manifest.json"
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
PIECE_BYTES = 4 << 20  # what a reader hands over at once


class Sink(Protocol):
    """Where converted arrays go, one after another."""

    # A sink that needs each split's labels before its images (to name a file by its class,
    # or to start a CSV row with the label) sets this; the pipeline then sends y before x.
    labels_first: bool

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None: ...

    def write(self, data: npt.NDArray[Any]) -> None: ...

    def end(self) -> None: ...

    def close(self) -> None:
        """All arrays are written: finish the output."""

    def abort(self) -> None:
        """A failure: release everything and write nothing more."""


@dataclass(frozen=True)
class Member:
    """One array of an output: its name, shape and dtype (read from its header)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class Reader(Protocol):
    """An output on disk, read back one array at a time."""

    kind: str
    path: Path

    def names(self) -> list[str]: ...

    def provenance(self) -> dict[str, Any] | None: ...

    def array(self, name: str) -> AbstractContextManager[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        """(member, pieces): the array's shape and dtype, and its flat values in order."""
        ...

    def close(self) -> None: ...


class MemorySink:
    """Arrays kept in memory (what ``load_data()`` returns)."""

    labels_first = False

    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[Any]] = {}
        self._flat: npt.NDArray[Any] | None = None
        self._pos = 0

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        array = np.empty(shape, dtype=dtype)
        self.arrays[name] = array
        self._flat = array.reshape(-1)
        self._pos = 0

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._flat is not None
        n = data.size
        self._flat[self._pos : self._pos + n] = data.reshape(-1)
        self._pos += n

    def end(self) -> None:
        assert self._flat is not None and self._pos == self._flat.size
        self._flat = None

    def close(self) -> None:
        return None

    def abort(self) -> None:
        self.arrays.clear()


def npy_header(shape: tuple[int, ...], dtype: np.dtype[Any]) -> bytes:
    """The ``.npy`` version 1.0 header for a C-order array of this shape and dtype."""
    buf = io.BytesIO()
    npformat.write_array_header_1_0(
        buf, {"descr": npformat.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def write_manifest(folder: Path, provenance: dict[str, Any], files: list[str]) -> None:
    """``manifest.json``: how the folder was made, and every file in it (so ``--force`` knows
    the folder is exactly an output of this tool)."""
    manifest = {**provenance, "files": sorted(files)}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """A folder's manifest if this tool wrote it, else None."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == "mnist-sprite" else None


def pieces_of(f: Any, member: Member, path: Path) -> Iterator[npt.NDArray[Any]]:
    """The flat values of ``member`` read from the binary stream ``f``, a piece at a time."""
    from ..errors import SourceError

    itemsize = member.dtype.itemsize
    left = member.size * itemsize
    step = max(itemsize, PIECE_BYTES // itemsize * itemsize)
    while left:
        data = f.read(min(step, left))
        if not data or len(data) % itemsize:
            raise SourceError(path, f"array {member.name} is truncated", "convert again")
        left -= len(data)
        yield np.frombuffer(data, dtype=member.dtype)
