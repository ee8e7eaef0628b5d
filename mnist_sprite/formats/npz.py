"""The ``.npz`` format: one zip of ``.npy`` members, keras' ``mnist.npz`` keys, provenance in the
zip comment (so ``np.load`` sees only the arrays). Streamed member by member, deterministic."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

from ..errors import SourceError
from .base import Member, npy_header, pieces_of

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: same inputs, same bytes
_COMPRESS_LEVEL = 6


class _Unseekable(io.RawIOBase):
    """A write-only view of a stream, so ``zipfile`` writes the same bytes to a file or a pipe."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.discard = False  # after a failure: swallow what zipfile still wants to write

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self.discard:
            return len(b)
        return self._stream.write(b)

    def flush(self) -> None:
        self._stream.flush()


class NpzSink:
    """An ``.npz`` archive streamed member by member, with provenance in the zip comment."""

    labels_first = False

    def __init__(self, stream: IO[bytes], *, compress: bool, comment: bytes = b"") -> None:
        self._out = _Unseekable(stream)
        self._zip = zipfile.ZipFile(
            self._out,
            "w",
            compression=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED,
            compresslevel=_COMPRESS_LEVEL if compress else None,
        )
        self._zip.comment = comment
        self._member: IO[bytes] | None = None

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        header = npy_header(shape, dtype)
        info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH)
        info.compress_type = self._zip.compression
        info.external_attr = 0o644 << 16
        info.file_size = len(header) + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if self._zip.compression == zipfile.ZIP_DEFLATED:
            info._compresslevel = _COMPRESS_LEVEL  # type: ignore[attr-defined]
        self._member = self._zip.open(info, "w")
        self._member.write(header)

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._member is not None
        self._member.write(np.ascontiguousarray(data).data)

    def end(self) -> None:
        assert self._member is not None
        self._member.close()
        self._member = None

    def close(self) -> None:
        self._zip.close()

    def abort(self) -> None:
        """Give up after a failure: close everything, writing nothing more."""
        self._out.discard = True
        with contextlib.suppress(Exception):
            if self._member is not None:
                self._member.close()
            self._zip.close()


def read_npy_header(f: IO[bytes], name: str, path: Path) -> Member:
    """The shape and dtype of a C-order ``.npy`` stream, positioned at its data."""
    try:
        version = npformat.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(f)
    except (ValueError, OSError, SyntaxError) as e:
        raise SourceError(
            path, f"array {name} has a broken .npy header ({e})", "convert again"
        ) from None
    if fortran or dtype.hasobject:
        raise SourceError(path, f"array {name} is not a plain C-order array", "convert again")
    return Member(name, tuple(shape), dtype)


class NpzReader:
    """An ``.npz`` file: its members read a piece at a time."""

    kind = "npz"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise SourceError(path, f"is not a readable .npz ({e})", "convert again") from None
        if not any(n.endswith(".npy") for n in self._zip.namelist()):
            self._zip.close()
            raise SourceError(
                path,
                "is a zip file that is not an output (it holds no .npy arrays)",
                "give an .npz that mnist-sprite convert or numpy.savez wrote",
            )

    def close(self) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        return [n[:-4] for n in self._zip.namelist() if n.endswith(".npy")]

    def provenance(self) -> dict[str, Any] | None:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            data = json.loads(self._zip.comment.decode("utf-8")) if self._zip.comment else None
            if isinstance(data, dict) and data.get("tool") == "mnist-sprite":
                return data
        return None

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        try:
            f = self._zip.open(name + ".npy")
        except KeyError:
            raise SourceError(self.path, f"has no array {name}", "convert again") from None
        with f:
            member = read_npy_header(f, name, self.path)
            yield member, _checked(pieces_of(f, member, self.path), name, self.path)


def _checked(pieces: Iterator[npt.NDArray[Any]], name: str, path: Path) -> Iterator[Any]:
    """A member's pieces, with a damaged member (bad CRC, broken deflate) one clear error."""
    try:
        yield from pieces
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise SourceError(path, f"array {name} is damaged ({e})", "convert again") from None
