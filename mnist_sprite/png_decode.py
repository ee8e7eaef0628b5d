"""PNG chunks -> rows of 8-bit red-channel pixels, checked the way libpng checks them.

The decoder knows nothing of MNIST. It walks the chunk stream (PNG spec section 5), checks
every CRC and the order of critical chunks, inflates the IDAT stream in bounded pieces
(section 10), undoes row filters a block of scanlines at a time (section 9, in
``unfilter.py``) and reduces each pixel to the red sample a canvas would give: gray for
grayscale, red for RGB, the palette entry's red for palette images; alpha is ignored.
Samples of fewer than 8 bits are scaled to 0..255 (``v * 255 / (2**depth - 1)``, exact); 16-bit
samples are rounded to 8 bits (``(v * 255 + 32767) // 65535``).

``decoder="pypng"`` takes pixels from pypng's reader instead (the decoder of record, pure
Python), after the same structural checks, so the two paths can be compared.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .errors import PathLike, PngFormatError
from .files import open_source
from .unfilter import unfilter_block

U8 = npt.NDArray[np.uint8]
Decoder = Literal["auto", "numpy", "pypng"]
DECODERS: tuple[str, ...] = ("auto", "numpy", "pypng")

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A header that declares more pixels than this is refused before anything is inflated: a
# decoder must not let a 50-byte file ask for gigabytes (2.6 times the MNIST sprite).
MAX_PIXELS = 1 << 27
_MAX_CHUNK = (1 << 31) - 1  # section 5.3: chunk lengths are at most 2**31 - 1
_PIECE = 1 << 20  # bytes read from a chunk at once
# Filtered bytes handed to the unfilter step at once. Larger blocks shorten the Average and
# Paeth wavefronts (a block of k rows of w pixels takes k + w steps), smaller ones save memory.
_BLOCK_BYTES = 4 << 20

# Section 11.2.2: allowed bit depths for each colour type.
_DEPTHS: dict[int, tuple[int, ...]] = {
    0: (1, 2, 4, 8, 16),
    2: (8, 16),
    3: (1, 2, 4, 8),
    4: (8, 16),
    6: (8, 16),
}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
COLOR_TYPES = {0: "grayscale", 2: "rgb", 3: "palette", 4: "grayscale+alpha", 6: "rgba"}
FILTER_NAMES = ("none", "sub", "up", "average", "paeth")
# Section 8.2: Adam7 passes as (x start, y start, x step, y step).
ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_FIX_PNG = "re-download the file or re-export it as a PNG"


@dataclass(frozen=True)
class Header:
    """The IHDR chunk (section 11.2.2)."""

    width: int
    height: int
    bit_depth: int
    color_type: int
    interlace: int

    @property
    def channels(self) -> int:
        return _CHANNELS[self.color_type]

    @property
    def filter_unit(self) -> int:
        """Bytes per complete pixel, rounded up to 1: the ``bpp`` of section 9.2."""
        return max(1, self.channels * self.bit_depth // 8)

    def row_bytes(self, width: int) -> int:
        """Bytes in one scanline of ``width`` pixels, without its filter byte."""
        return (width * self.channels * self.bit_depth + 7) // 8

    def passes(self) -> list[tuple[int, int, int, int, int, int]]:
        """Sub-images as (x0, y0, dx, dy, width, height); one for a non-interlaced image."""
        if not self.interlace:
            return [(0, 0, 1, 1, self.width, self.height)]
        out = []
        for x0, y0, dx, dy in ADAM7:
            w = (self.width - x0 + dx - 1) // dx
            h = (self.height - y0 + dy - 1) // dy
            if w > 0 and h > 0:  # section 8.2: empty passes have no scanlines at all
                out.append((x0, y0, dx, dy, w, h))
        return out

    def data_bytes(self) -> int:
        """Inflated bytes the image data must hold exactly."""
        return sum(h * (1 + self.row_bytes(w)) for *_, w, h in self.passes())


@dataclass
class ChunkStats:
    """What the chunk walk saw, for ``inspect``."""

    counts: Counter[str] = field(default_factory=Counter)
    idat_bytes: int = 0
    file_bytes: int = 0
    filters: list[int] = field(default_factory=lambda: [0] * 5)  # scanlines per filter type

    def filter_counts(self) -> dict[str, int]:
        return dict(zip(FILTER_NAMES, self.filters))


class PngFile:
    """An open PNG whose header and palette have been read and checked.

    Use as a context manager. Pixels come from :meth:`red_blocks`; the raw filtered scanlines
    from :meth:`scanline_blocks`. Each may be iterated once.
    """

    def __init__(self, path: PathLike, *, max_pixels: int = MAX_PIXELS) -> None:
        self.path = os.fspath(path)
        self._f = open_source(path)
        try:
            self._size = os.fstat(self._f.fileno()).st_size
            self.stats = ChunkStats(file_bytes=self._size)
            self._chunks = self._walk()
            self.header = self._read_header(max_pixels)
            self.palette: U8 | None = None
            self._first_idat = self._read_until_idat()
        except BaseException:
            self._f.close()
            raise

    def __enter__(self) -> PngFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._f.close()

    def _fail(self, problem: str, fix: str = _FIX_PNG) -> PngFormatError:
        return PngFormatError(self.path, problem, fix)

    # -- section 5: the chunk stream -------------------------------------------------------

    def _read(self, n: int, what: str) -> bytes:
        data = self._f.read(n)
        if len(data) != n:
            raise self._fail(f"truncated: the file ends inside {what}")
        return data

    def _walk(self) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Yield (chunk type, pieces of its data); the CRC is checked after the last piece."""
        head = self._f.read(len(SIGNATURE))
        if head != SIGNATURE:
            if not head:
                raise self._fail("the file is empty", "re-download it")
            if head.lstrip().lower().startswith((b"<!doc", b"<html")):
                raise self._fail("is an HTML page, not a PNG", "re-download the image")
            raise self._fail("not a PNG file (bad signature)", "give the sprite's .png file")
        while True:
            pos = self._f.tell()
            raw = self._f.read(8)
            if not raw:
                raise self._fail("truncated: the file ends before its IEND chunk")
            if len(raw) < 8:
                raise self._fail(f"truncated: the file ends inside a chunk header at byte {pos}")
            length = int.from_bytes(raw[:4], "big")
            ctype_b = raw[4:]
            if not all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype_b):
                raise self._fail(f"corrupt chunk at byte {pos}: invalid chunk type {ctype_b!r}")
            ctype = ctype_b.decode("ascii")
            if length > _MAX_CHUNK:
                raise self._fail(f"corrupt {ctype} chunk at byte {pos}: length {length}")
            if length + 4 > self._size - pos - 8:
                raise self._fail(f"truncated: the file ends inside its {ctype} chunk")
            self.stats.counts[ctype] += 1
            if ctype == "IDAT":
                self.stats.idat_bytes += length
            yield ctype, self._pieces(ctype, ctype_b, length)
            if ctype == "IEND":
                if self._f.read(1):
                    raise self._fail("extra data after the IEND chunk", _FIX_PNG)
                return

    def _pieces(self, ctype: str, ctype_b: bytes, length: int) -> Iterator[bytes]:
        crc = zlib.crc32(ctype_b)
        left = length
        while left:
            piece = self._read(min(left, _PIECE), f"its {ctype} chunk")
            crc = zlib.crc32(piece, crc)
            left -= len(piece)
            if left:
                yield piece
            else:
                self._check_crc(ctype, crc)
                yield piece
        if length == 0:
            self._check_crc(ctype, crc)

    def _check_crc(self, ctype: str, crc: int) -> None:
        stored = int.from_bytes(self._read(4, f"the CRC of its {ctype} chunk"), "big")
        if stored != crc:
            raise self._fail(f"{ctype} chunk is corrupt (CRC mismatch)")

    def _whole(self, pieces: Iterator[bytes]) -> bytes:
        return b"".join(pieces)

    # -- section 11.2: critical chunks before the image data ---------------------------

    def _read_header(self, max_pixels: int) -> Header:
        ctype, pieces = next(self._chunks)
        if ctype != "IHDR":
            raise self._fail(f"the first chunk is {ctype}, not IHDR")
        data = self._whole(pieces)
        if len(data) != 13:
            raise self._fail(f"IHDR chunk has {len(data)} bytes, not 13")
        width = int.from_bytes(data[0:4], "big")
        height = int.from_bytes(data[4:8], "big")
        depth, ctype_, comp, filt, interlace = data[8], data[9], data[10], data[11], data[12]
        if not (0 < width <= _MAX_CHUNK and 0 < height <= _MAX_CHUNK):
            raise self._fail(f"invalid image size {width} x {height} in IHDR")
        if ctype_ not in _DEPTHS:
            raise self._fail(f"invalid colour type {ctype_} in IHDR")
        if depth not in _DEPTHS[ctype_]:
            raise self._fail(f"invalid bit depth {depth} for colour type {ctype_} in IHDR")
        if comp != 0 or filt != 0 or interlace > 1:
            raise self._fail(
                f"unknown compression, filter or interlace method ({comp}, {filt}, {interlace})"
            )
        if width * height > max_pixels:
            raise self._fail(
                f"header declares {width} x {height} = {width * height:,} pixels, more than the "
                f"{max_pixels:,} this tool decodes",
                "this is not a sprite this tool can convert",
            )
        return Header(width, height, depth, ctype_, interlace)

    def _read_until_idat(self) -> Iterator[bytes]:
        for ctype, pieces in self._chunks:
            if ctype == "IDAT":
                return pieces
            if ctype == "IHDR":
                raise self._fail("a second IHDR chunk")
            if ctype == "IEND":
                raise self._fail("no IDAT chunk: the file holds no image data")
            if ctype == "PLTE":
                self._read_palette(self._whole(pieces))
            elif ctype[0].isupper():
                raise self._fail(f"unknown critical chunk {ctype}")
            else:
                for _ in pieces:  # ancillary: checked (CRC) and skipped
                    pass
        raise AssertionError("unreachable: the walk ends at IEND")

    def _read_palette(self, data: bytes) -> None:
        if self.palette is not None:
            raise self._fail("a second PLTE chunk")
        if self.header.color_type in (0, 4):
            raise self._fail("a PLTE chunk in a grayscale image")
        n, rem = divmod(len(data), 3)
        if (
            rem
            or not 1 <= n <= 256
            or (self.header.color_type == 3 and n > 1 << self.header.bit_depth)
        ):
            raise self._fail(f"PLTE chunk has {len(data)} bytes, not 3 per entry")
        self.palette = np.frombuffer(data, dtype=np.uint8).reshape(n, 3)

    def _idat(self) -> Iterator[bytes]:
        """All IDAT data in order, then the rest of the chunks walked and checked."""
        if self.header.color_type == 3 and self.palette is None:
            raise self._fail("a palette image without a PLTE chunk")
        yield from self._first_idat
        for ctype, pieces in self._chunks:
            if ctype != "IDAT":
                self._after_idat(ctype, pieces)
                break
            yield from pieces
        for ctype, pieces in self._chunks:
            self._after_idat(ctype, pieces)

    def _after_idat(self, ctype: str, pieces: Iterator[bytes]) -> None:
        if ctype == "IDAT":
            raise self._fail("IDAT chunks are not consecutive")
        if ctype in ("IHDR", "PLTE"):
            raise self._fail(f"{ctype} chunk after the image data")
        if ctype != "IEND" and ctype[0].isupper():
            raise self._fail(f"unknown critical chunk {ctype}")
        data = self._whole(pieces)
        if ctype == "IEND" and data:
            raise self._fail("IEND chunk is not empty")

    # -- section 10: the zlib stream ------------------------------------------------------

    def scanline_blocks(self) -> Iterator[tuple[int, U8]]:
        """Yield (pass index, ``(k, 1 + row bytes)`` filtered scanlines), in file order.

        Checks that the stream holds exactly the scanlines the header declares, that every
        filter type is 0..4, and that the zlib stream and the chunk stream end properly.
        """
        stream = _Inflater(self, self._idat())
        rows_done = 0
        total_rows = sum(p[5] for p in self.header.passes())
        for index, (*_, w, h) in enumerate(self.header.passes()):
            row_len = 1 + self.header.row_bytes(w)
            per_block = max(1, _BLOCK_BYTES // row_len)
            for start in range(0, h, per_block):
                k = min(per_block, h - start)
                data = stream.read(k * row_len, rows_done, total_rows, row_len)
                block = np.frombuffer(data, dtype=np.uint8).reshape(k, row_len)
                bad = np.flatnonzero(block[:, 0] > 4)
                if bad.size:
                    row = rows_done + int(bad[0])
                    raise self._fail(f"scanline {row} has invalid filter type {block[bad[0], 0]}")
                rows_done += k
                for ftype, n in enumerate(np.bincount(block[:, 0], minlength=5).tolist()):
                    self.stats.filters[ftype] += n
                yield index, block
        stream.finish()

    def filter_counts(self) -> dict[str, int]:
        """Scanlines per filter type over the whole image (inflates, does not unfilter)."""
        for _ in self.scanline_blocks():
            pass
        return self.stats.filter_counts()

    # -- pixels -----------------------------------------------------------------------

    def red_blocks(self, decoder: Decoder = "auto") -> Iterator[U8]:
        """Yield ``(k, width)`` uint8 blocks of the red channel, top to bottom."""
        if decoder == "pypng":
            yield from self._red_blocks_pypng()
        elif self.header.interlace:
            yield from _blocks_of(self._red_interlaced())
        else:
            prev = np.zeros(self.header.row_bytes(self.header.width), dtype=np.uint8)
            for _, block in self.scanline_blocks():
                rows = unfilter_block(block, prev, self.header.filter_unit)
                prev = rows[-1]
                yield self._red(rows, self.header.width)

    def pixels_sha256(self, decoder: Decoder = "auto") -> str:
        """Decode the whole image; sha256 of its red channel, ``(height, width)`` uint8, C order."""
        digest = hashlib.sha256()
        for block in self.red_blocks(decoder):
            digest.update(np.ascontiguousarray(block).data)
        return digest.hexdigest()

    def _red_interlaced(self) -> U8:
        h = self.header
        image = np.empty((h.height, h.width), dtype=np.uint8)
        passes = h.passes()
        prev: U8 | None = None
        current = -1
        filled = 0
        for index, block in self.scanline_blocks():
            x0, y0, dx, dy, w, _ = passes[index]
            if index != current:
                current, filled = index, 0
                prev = np.zeros(h.row_bytes(w), dtype=np.uint8)
            assert prev is not None
            rows = unfilter_block(block, prev, h.filter_unit)
            prev = rows[-1]
            k = rows.shape[0]
            ys = slice(y0 + filled * dy, y0 + (filled + k) * dy, dy)
            image[ys, x0::dx] = self._red(rows, w)
            filled += k
        return image

    def _red(self, rows: U8, width: int) -> U8:
        """Reconstructed scanlines -> the 8-bit red sample of each pixel."""
        h = self.header
        k = rows.shape[0]
        if h.bit_depth == 8:
            samples = rows[:, :: h.channels] if h.channels > 1 else rows
        elif h.bit_depth == 16:
            pairs = rows.reshape(k, width * h.channels, 2)[:, :: h.channels]
            wide = pairs[:, :, 0].astype(np.uint32) << 8 | pairs[:, :, 1]
            return ((wide * 255 + 32767) // 65535).astype(np.uint8)
        else:
            samples = _unpack(rows, h.bit_depth, width)
            if h.color_type == 0:
                return samples * np.uint8(255 // ((1 << h.bit_depth) - 1))
        if h.color_type == 3:
            return self._palette_red(samples)
        return np.ascontiguousarray(samples)

    def _palette_red(self, indices: U8) -> U8:
        assert self.palette is not None
        n = self.palette.shape[0]
        if n < 256 and int(indices.max(initial=0)) >= n:
            raise self._fail(
                f"a pixel uses palette index {int(indices.max())}, past its {n} entries"
            )
        red: U8 = self.palette[:, 0]
        return red[indices]

    def _red_blocks_pypng(self) -> Iterator[U8]:
        """pypng's reader, after our own walk of the whole file has passed."""
        for _ in self.scanline_blocks():
            pass
        import png  # imported here: only this path needs it at run time

        h = self.header
        wanted = np.uint16 if h.bit_depth == 16 else np.uint8
        out = np.empty((h.height, h.width), dtype=np.uint8)
        n = 0
        try:
            with open(self.path, "rb") as f:
                _, height, rows, _info = png.Reader(file=f).read()
                for n, row in enumerate(rows, 1):
                    values = np.asarray(row, dtype=wanted)[:: h.channels]
                    if h.color_type == 3:
                        out[n - 1] = self._palette_red(values.astype(np.uint8))
                    elif h.bit_depth == 16:
                        out[n - 1] = (values.astype(np.uint32) * 255 + 32767) // 65535
                    else:
                        out[n - 1] = values * (255 // ((1 << h.bit_depth) - 1))
        except (png.Error, ValueError) as e:  # pypng's own refusal
            raise self._fail(f"pypng refused it: {e}") from None
        if n != height:
            raise self._fail(f"pypng returned {n} of {height} rows")
        yield from _blocks_of(out)


class _Inflater:
    """The IDAT zlib stream, inflated only as far as asked (a bomb cannot run ahead)."""

    def __init__(self, png_file: PngFile, chunks: Iterator[bytes]) -> None:
        self._png = png_file
        self._chunks = chunks
        self._z = zlib.decompressobj()
        self._tail = b""

    def _next_input(self) -> bytes | None:
        if self._tail:
            return self._tail
        return next(self._chunks, None)

    def _inflate(self, data: bytes, limit: int) -> bytes:
        try:
            out = self._z.decompress(data, limit)
        except zlib.error as e:
            raise self._png._fail(f"corrupt image data (zlib: {e})") from None
        self._tail = self._z.unconsumed_tail
        return out

    def read(self, n: int, rows_done: int, total_rows: int, row_len: int) -> bytes:
        """Exactly ``n`` more inflated bytes, or an error naming how far the data went."""
        parts: list[bytes] = []
        need = n
        while need:
            whole_rows = rows_done + (n - need) // row_len
            if self._z.eof:
                raise self._short(whole_rows, total_rows)
            data = self._next_input()
            # With no input left, flush what the output limit held back, if anything.
            out = self._inflate(b"" if data is None else data, need)
            if not out and data is None:
                raise self._short(whole_rows, total_rows)
            parts.append(out)
            need -= len(out)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _short(self, rows_done: int, total_rows: int) -> PngFormatError:
        if self._z.eof:
            return self._png._fail(
                f"too few rows: the image data ends after {rows_done} of {total_rows} rows"
            )
        return self._png._fail("truncated image data: the zlib stream ends early")

    def finish(self) -> None:
        """The stream must end exactly here: no more pixels, then a proper zlib end."""
        while not self._z.eof:
            data = self._next_input()
            if self._inflate(b"" if data is None else data, 1):
                raise self._png._fail("extra data after the last row of the image")
            if data is None:
                raise self._png._fail("truncated image data: the zlib stream has no end")
        if self._z.unused_data or self._tail or any(self._chunks):
            raise self._png._fail("extra data after the end of the zlib stream")


def _unpack(rows: U8, depth: int, width: int) -> U8:
    """Split bytes of 1-, 2- or 4-bit samples into one byte each (section 7.2: big end first)."""
    k = rows.shape[0]
    if depth == 1:
        return np.unpackbits(rows, axis=1)[:, :width]
    per = 8 // depth
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
    mask = np.uint8((1 << depth) - 1)
    out = (rows[:, :, None] >> shifts) & mask
    return out.reshape(k, rows.shape[1] * per)[:, :width]


def _blocks_of(image: U8, rows: int = 4096) -> Iterator[U8]:
    for start in range(0, image.shape[0], rows):
        yield image[start : start + rows]


def read_red(path: PathLike, decoder: Decoder = "auto") -> U8:
    """The whole image's red channel as a ``(height, width)`` uint8 array."""
    with PngFile(path) as png_file:
        out = np.empty((png_file.header.height, png_file.header.width), dtype=np.uint8)
        row = 0
        for block in png_file.red_blocks(decoder):
            out[row : row + block.shape[0]] = block
            row += block.shape[0]
    return out


def pixels_sha256(path: PathLike, decoder: Decoder = "auto") -> str:
    """sha256 of the decoded red channel, ``(height, width)`` uint8 in C order."""
    with PngFile(path) as png_file:
        return png_file.pixels_sha256(decoder)


__all__ = [
    "DECODERS",
    "FILTER_NAMES",
    "MAX_PIXELS",
    "Decoder",
    "Header",
    "PngFile",
    "pixels_sha256",
    "read_red",
]
