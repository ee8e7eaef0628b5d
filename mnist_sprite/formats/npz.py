"""The ``.npz`` format: one zip of ``.npy`` members, keras' ``mnist.npz`` keys, provenance in the
zip comment (so ``np.load`` sees only the arrays). Streamed member by member, deterministic."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

from ..deflate import AUTO, DEFAULT_LEVEL, DEFAULT_MEM_LEVEL, Deflater
from ..errors import SourceError
from ..files import check_size, open_source
from .base import (
    DEFLATE_MAX_RATIO,
    MAX_ARRAY_BYTES,
    ArraySink,
    Format,
    Member,
    SinkOptions,
    Target,
    check_member,
    file_head,
    npy_header,
    pieces_of,
)

_COMPRESS_LEVEL = DEFAULT_LEVEL  # numpy's savez_compressed uses zlib's default, level 6
# Zip records (APPNOTE.TXT 4.3), laid out as Python's zipfile writes them to a stream it
# cannot seek: sizes and CRC in a data descriptor after each member.
_ZIP64_LIMIT = (1 << 31) - 1  # zipfile's threshold for zip64 fields
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_DOS_TIME, _DOS_DATE = 0, (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01 00:00: same bytes
_DATA_DESCRIPTOR = 0x08  # general purpose flag bit 3
_VERSION, _VERSION64 = 20, 45
_UNIX = 3  # "version made by" host: external attributes are Unix permissions
_MODE = 0o644 << 16


@dataclass
class _Entry:
    name: bytes
    method: int
    offset: int
    zip64: bool
    crc: int = 0
    size: int = 0
    compressed: int = 0


class _ZipStream:
    """A zip archive written front to back (never seeking), one member at a time."""

    def __init__(self, stream: IO[bytes], comment: bytes) -> None:
        self._stream = stream
        self._comment = comment
        self._pos = 0
        self._entries: list[_Entry] = []

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        self._pos += len(data)

    def begin(self, name: str, method: int, size: int) -> _Entry:
        # zipfile's rule: zip64 fields when the member might pass 2 GiB, compressed or not.
        entry = _Entry(name.encode("ascii"), method, self._pos, size * 1.05 > _ZIP64_LIMIT)
        extra = struct.pack("<2H2Q", 1, 16, 0, 0) if entry.zip64 else b""
        unknown = 0xFFFFFFFF if entry.zip64 else 0
        version = _VERSION64 if entry.zip64 else _VERSION
        # fmt: off
        local = _LOCAL.pack(
            b"PK\x03\x04", version, 0, _DATA_DESCRIPTOR, method, _DOS_TIME, _DOS_DATE,
            0, unknown, unknown, len(entry.name), len(extra),
        )
        # fmt: on
        self.write(local + entry.name + extra)
        self._entries.append(entry)
        return entry

    def end(self, entry: _Entry) -> None:
        fmt = "<4sL2Q" if entry.zip64 else "<4s3L"
        self.write(struct.pack(fmt, b"PK\x07\x08", entry.crc, entry.compressed, entry.size))

    def close(self) -> None:
        start = self._pos
        for e in self._entries:
            large = max(e.size, e.compressed) > _ZIP64_LIMIT
            far = e.offset > _ZIP64_LIMIT
            big = ([e.size, e.compressed] if large else []) + ([e.offset] if far else [])
            extra = struct.pack(f"<2H{len(big)}Q", 1, 8 * len(big), *big) if big else b""
            version = _VERSION64 if big else _VERSION
            # fmt: off
            central = _CENTRAL.pack(
                b"PK\x01\x02", version, _UNIX, version, 0, _DATA_DESCRIPTOR, e.method,
                _DOS_TIME, _DOS_DATE, e.crc,
                0xFFFFFFFF if large else e.compressed, 0xFFFFFFFF if large else e.size,
                len(e.name), len(extra), 0, 0, 0, _MODE, 0xFFFFFFFF if far else e.offset,
            )
            # fmt: on
            self.write(central + e.name + extra)
        count, size, offset = len(self._entries), self._pos - start, start
        if count > 0xFFFF or offset > _ZIP64_LIMIT or size > _ZIP64_LIMIT:
            end64 = self._pos
            self.write(_END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset))
            self.write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, end64, 1))
            count, size, offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
        self.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, offset, len(self._comment)))
        self.write(self._comment)
        self._stream.flush()


class NpzSink(ArraySink):
    """An ``.npz`` archive streamed member by member, with provenance in the zip comment.

    Compressed members are raw deflate from the tool's parallel engine (``--compress``), read
    by ``zipfile`` and ``numpy.load`` as any other.
    """

    def __init__(
        self,
        stream: IO[bytes],
        *,
        compress: bool,
        comment: bytes = b"",
        workers: int | None = None,
    ) -> None:
        self._zip = _ZipStream(stream, comment)
        self._compress = compress
        self._workers = workers
        self._entry: _Entry | None = None
        self._deflater: Deflater | None = None

    def begin_array(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        header = npy_header(shape, dtype)
        size = len(header) + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        method = 8 if self._compress else 0  # deflate, or stored
        self._entry = self._zip.begin(name + ".npy", method, size)
        if self._compress:
            self._deflater = Deflater(
                _COMPRESS_LEVEL, workers=self._workers, mem_level=DEFAULT_MEM_LEVEL, strategy=AUTO
            )
        self._add(header)

    def _add(self, data: Any) -> None:
        entry = self._entry
        assert entry is not None
        with memoryview(data) as view, view.cast("B") as flat:
            entry.crc = zlib.crc32(flat, entry.crc)
            entry.size += flat.nbytes
            out = self._deflater.compress(flat) if self._deflater is not None else flat
            entry.compressed += len(out)
            self._zip.write(out)  # type: ignore[arg-type]

    def write(self, data: npt.NDArray[Any]) -> None:
        if data.size:  # an empty split has a header and no values (a 0-length view cannot cast)
            self._add(np.ascontiguousarray(data))

    def end_array(self) -> None:
        entry = self._entry
        assert entry is not None
        if self._deflater is not None:
            tail = self._deflater.flush()
            entry.compressed += len(tail)
            self._zip.write(tail)
            self._deflater = None
        self._zip.end(entry)
        self._entry = None

    def close(self) -> None:
        self._zip.close()

    def abort(self) -> None:
        """Give up after a failure: stop the workers, writing nothing more."""
        if self._deflater is not None:
            self._deflater.close()
            self._deflater = None


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


def _sniff(path: Path) -> bool:
    head = file_head(path, 4)
    return head is not None and head[0] in (b"PK\x03\x04", b"PK\x05\x06")


def _open_sink(stream: Target, provenance: dict[str, Any], options: SinkOptions) -> NpzSink:
    assert not isinstance(stream, Path), "an npz is written to a stream"
    comment = json.dumps(provenance, sort_keys=True, separators=(",", ":")).encode()
    return NpzSink(stream, compress=options.compress, comment=comment)


FORMAT = Format("npz", _sniff, NpzReader, _open_sink)
