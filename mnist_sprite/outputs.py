"""Converted outputs on disk: recognizing them, and reading their arrays a piece at a time.

An output is an ``.npz`` archive or a folder of ``.npy`` files. Arrays are read through their
``.npy`` header and then in pieces, so inspecting or verifying a 200 MB array never holds it
whole.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

from .errors import PathLike, SourceError
from .writers import MANIFEST

PIECE_BYTES = 4 << 20


@dataclass(frozen=True)
class Member:
    """One array of an output: its name, shape and dtype (read from its header)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def kind_of(path: PathLike) -> str | None:
    """``"npz"`` or ``"npy"`` for an output, recognized by content; None otherwise."""
    p = Path(path)
    if p.is_dir():
        return "npy" if any(p.glob("*.npy")) or (p / MANIFEST).is_file() else None
    try:
        with open(p, "rb") as f:
            head = f.read(4)
    except OSError:
        return None
    return "npz" if head in (b"PK\x03\x04", b"PK\x05\x06") else None


class Output:
    """An open output; use as a context manager."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self.kind = kind_of(self.path)
        self._zip: zipfile.ZipFile | None = None
        if self.kind is None and not (self.path.exists() or self.path.is_symlink()):
            raise SourceError(self.path, "no such file or folder", "check the path")
        if self.kind is None:
            raise SourceError(
                self.path, "is not an .npz file or a folder of .npy files", "give a convert output"
            )
        if self.kind == "npz":
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as e:
                raise SourceError(
                    self.path, f"is not a readable .npz ({e})", "convert again"
                ) from None
            if not any(n.endswith(".npy") for n in self._zip.namelist()):
                self._zip.close()
                raise SourceError(
                    self.path,
                    "is a zip file that is not an output (it holds no .npy arrays)",
                    "give an .npz that mnist-sprite convert or numpy.savez wrote",
                )

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def names(self) -> list[str]:
        if self._zip is not None:
            return [n[:-4] for n in self._zip.namelist() if n.endswith(".npy")]
        return sorted(p.stem for p in self.path.glob("*.npy"))

    def provenance(self) -> dict[str, Any] | None:
        """What convert recorded: the npz comment, or the folder's manifest.json."""
        with contextlib.suppress(OSError, ValueError):
            if self._zip is not None:
                data: Any = (
                    json.loads(self._zip.comment.decode("utf-8")) if self._zip.comment else None
                )
            else:
                data = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("tool") == "mnist-sprite":
                return data
        return None

    @contextlib.contextmanager
    def _open(self, name: str) -> Iterator[IO[bytes]]:
        try:
            if self._zip is not None:
                with self._zip.open(name + ".npy") as f:
                    yield f
            else:
                with open(self.path / f"{name}.npy", "rb") as f:
                    yield f
        except (KeyError, FileNotFoundError):
            raise SourceError(self.path, f"has no array {name}", "convert again") from None

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        """(member, pieces): the array's header, and its flat values in order."""
        with self._open(name) as f:
            member = self._header(name, f)
            yield member, self._pieces(member, f)

    def shape(self, name: str) -> tuple[int, ...]:
        with self.array(name) as (member, _):
            return member.shape

    def rows(self, name: str, lo: int, hi: int) -> npt.NDArray[Any]:
        """Rows ``lo .. hi`` of an array, reading no further than row ``hi``."""
        with self.array(name) as (member, pieces):
            per_row = int(np.prod(member.shape[1:], dtype=np.int64))
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

    def _header(self, name: str, f: IO[bytes]) -> Member:
        try:
            version = npformat.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = npformat.read_array_header_2_0(f)
        except (ValueError, OSError, SyntaxError) as e:
            raise SourceError(
                self.path, f"array {name} has a broken .npy header ({e})", "convert again"
            ) from None
        if fortran or dtype.hasobject:
            raise SourceError(
                self.path, f"array {name} is not a plain C-order array", "convert again"
            )
        return Member(name, tuple(shape), dtype)

    def _pieces(self, member: Member, f: IO[bytes]) -> Iterator[npt.NDArray[Any]]:
        left = member.size * member.dtype.itemsize
        step = max(
            member.dtype.itemsize, PIECE_BYTES // member.dtype.itemsize * member.dtype.itemsize
        )
        while left:
            data = f.read(min(step, left))
            if not data or len(data) % member.dtype.itemsize:
                raise SourceError(self.path, f"array {member.name} is truncated", "convert again")
            left -= len(data)
            yield np.frombuffer(data, dtype=member.dtype)
