"""An output on disk, whatever its format: its arrays read a piece at a time, or a few rows.

Inspecting or verifying a 200 MB array never holds it whole: each format's reader
(``formats/``) gives an array's header, then its values in pieces.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import PathLike
from .formats import Member, Reader, kind_of, open_output


class Output:
    """An open output of any format (``registry.TABLE``); use as a context manager."""

    def __init__(self, path: PathLike, reader: Reader | None = None) -> None:
        self.path = Path(path)
        self._reader = reader if reader is not None else open_output(self.path)
        self.kind = self._reader.kind

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.close()

    def names(self) -> list[str]:
        return self._reader.names()

    def class_names(self) -> list[str] | None:
        """The class names the output records: a PNG folder's own, else the provenance's
        (convert records them, a pack's included); None when it records none."""
        listed = getattr(self._reader, "class_names", None)
        if callable(listed):
            return [str(n) for n in listed()]
        recorded = (self.provenance() or {}).get("class_names")
        if isinstance(recorded, list) and recorded and all(isinstance(n, str) for n in recorded):
            return [str(n) for n in recorded]
        return None

    def folders(self) -> list[str]:
        """Folders the output may hold empty (a PNG folder's class folders), relative."""
        listed = getattr(self._reader, "folders", None)
        return [str(f) for f in listed()] if callable(listed) else []

    def provenance(self) -> dict[str, Any] | None:
        """What convert recorded: a file's own record (the npz comment), or manifest.json."""
        return self._reader.provenance()

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        """(member, pieces): the array's header, and its flat values in order."""
        with self._reader.array(name) as found:
            yield found

    def shape(self, name: str) -> tuple[int, ...]:
        with self.array(name) as (member, _):
            return member.shape

    def rows(self, name: str, lo: int, hi: int) -> npt.NDArray[Any]:
        """Rows ``lo .. hi`` of an array, reading no further than row ``hi``."""
        with self.array(name) as (member, pieces):
            per_row = math.prod(member.shape[1:])
            if per_row == 0 or hi <= lo:  # no values asked for: nothing to read
                return np.empty((max(hi - lo, 0), *member.shape[1:]), dtype=member.dtype)
            first, last = lo * per_row, hi * per_row
            parts, pos = [], 0
            for piece in pieces:
                end = pos + piece.size
                if end > first:
                    parts.append(piece[max(0, first - pos) : last - pos])
                pos = end
                if pos >= last:
                    break
            return np.concatenate(parts).reshape(hi - lo, *member.shape[1:])


__all__ = ["Member", "Output", "kind_of"]
