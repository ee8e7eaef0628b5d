"""The ``.npz`` format: one zip of ``.npy`` members, keras' ``mnist.npz`` keys, provenance in the
zip comment (so ``np.load`` sees only the arrays). Streamed member by member, deterministic."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

from ..errors import SourceError
from ..files import check_size, open_source
from .base import DEFLATE_MAX_RATIO, MAX_ARRAY_BYTES, Member, check_member, npy_header, pieces_of

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
        # IOBase's finalizer closes, and so flushes, this view after its stream may be closed
        # (Python 3.13 collects it late enough to see that: an unraisable ValueError).
        if not self._stream.closed:
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


def read_npy_header(f: IO[bytes], name: str, path: Path, present: int) -> Member:
    """The shape and dtype of a C-order ``.npy`` stream, positioned at its data; refused when
    its values are not numbers or need more than the ``present`` bytes after the header."""
    try:
        version = npformat.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(f)
        start = f.tell()
    except (ValueError, OSError, SyntaxError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise SourceError(
            path, f"array {name} has a broken .npy header ({e})", "convert again"
        ) from None
    if fortran or dtype.hasobject:
        raise SourceError(path, f"array {name} is not a plain C-order array", "convert again")
    member = Member(name, tuple(int(n) for n in shape), dtype)
    check_member(member, path, MAX_ARRAY_BYTES)  # numbers, and not beyond the limit
    have, want = present - start, member.nbytes
    if want != have:
        what = "is truncated" if want > have else "has data after its values"
        raise SourceError(
            path,
            f"array {name} {what}: its header declares {want:,} bytes of values "
            f"({member.shape} {member.dtype}), the file holds {have:,}",
            "convert again",
        )
    return member


class NpzReader:
    """An ``.npz`` file: its members read a piece at a time."""

    kind = "npz"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open_source(path)
        self._bytes = os.fstat(self._file.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(self._file)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            self._file.close()
            raise SourceError(path, f"is not a readable .npz ({e})", "convert again") from None
        if not any(n.endswith(".npy") for n in self._zip.namelist()):
            self.close()
            raise SourceError(
                path,
                "is a zip file that is not an output (it holds no .npy arrays)",
                "give an .npz that mnist-sprite convert or numpy.savez wrote",
            )

    def close(self) -> None:
        self._zip.close()
        self._file.close()

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
            info = self._zip.getinfo(name + ".npy")
        except KeyError:
            raise SourceError(self.path, f"has no array {name}", "convert again") from None
        present = self._declared(info, name)
        try:
            f = self._zip.open(info)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as e:
            problem = f"array {name} cannot be read ({e})"
            raise SourceError(self.path, problem, "convert again") from None
        with f:
            member = read_npy_header(f, name, self.path, present)
            yield member, _checked(pieces_of(f, member, self.path), name, self.path)

    def _declared(self, info: zipfile.ZipInfo, name: str) -> int:
        """The bytes a member declares, checked against what the zip can hold before any is
        inflated: stored or deflated only, not encrypted, and within deflate's ratio."""
        what = f"array {name}"
        if info.flag_bits & 0x1:
            raise SourceError(self.path, f"{what} is encrypted", "give an unencrypted .npz")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SourceError(
                self.path,
                f"{what} uses zip compression method {info.compress_type}, not stored or deflate",
                "save it with numpy.savez or numpy.savez_compressed",
            )
        if info.header_offset + info.compress_size > self._bytes:
            raise SourceError(
                self.path, f"{what} ends past the end of the file", "give an intact .npz"
            )
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else DEFLATE_MAX_RATIO
        check_size(self.path, what, info.file_size, info.compress_size * ratio + 64,
                   MAX_ARRAY_BYTES)  # fmt: skip
        return int(info.file_size)


def _checked(pieces: Iterator[npt.NDArray[Any]], name: str, path: Path) -> Iterator[Any]:
    """A member's pieces, with a damaged member (bad CRC, broken deflate) one clear error."""
    try:
        yield from pieces
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise SourceError(path, f"array {name} is damaged ({e})", "convert again") from None
