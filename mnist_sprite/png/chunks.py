"""The PNG chunk stream: signature, chunks and CRCs, IHDR and PLTE, and the IDAT bytes.

Follows the PNG spec section 5 (chunk layout, CRCs) and 11.2 (critical chunks and their
order), checked the way libpng checks them. Knows nothing of pixels: the pixel stage
(``pixels.py``) inflates what :meth:`ChunkReader.idat` yields.
"""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from ..errors import PathLike, PngFormatError
from ..files import looks_like_html, open_source

U8 = npt.NDArray[np.uint8]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A header that declares more pixels than this is refused before anything is inflated: a
# decoder must not let a 50-byte file ask for gigabytes (2.6 times the MNIST sprite).
MAX_PIXELS = 1 << 27
_MAX_CHUNK = (1 << 31) - 1  # section 5.3: chunk lengths are at most 2**31 - 1
_PIECE = 1 << 20  # bytes read from a chunk at once
FIX_PNG = "re-download the file or re-export it as a PNG"

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
# Ancillary chunks that tell a viewer to change colours (sections 11.3.3.x); their data is
# kept so callers can say what a browser would do with them.
COLOUR_CHUNKS = ("gAMA", "cHRM", "sRGB", "iCCP")


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


class ChunkReader:
    """An open PNG whose header, palette and chunks up to the image data are read and checked.

    Use as a context manager. :meth:`idat` yields the image data, then walks and checks the
    rest of the file; :attr:`counts`, :attr:`idat_bytes` and, with ``digest``, :attr:`sha256`
    (the file's, so that nothing reads it a second time for that) are complete once it has.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        max_pixels: int = MAX_PIXELS,
        root: PathLike | None = None,
        digest: bool = False,
        data: bytes | None = None,
    ) -> None:
        self.path = os.fspath(path)
        # ``data``: the file's bytes, held already (a zip member), with ``path`` naming it.
        self._f: BinaryIO = io.BytesIO(data) if data is not None else open_source(path, root)
        try:
            self.file_bytes = len(data) if data is not None else os.fstat(self._f.fileno()).st_size
            # Of every byte read, the file's once read to its end; only when asked (a decode for
            # arrays has the digest made once, by whoever records it).
            self._hash = hashlib.sha256() if digest else None
            self.sha256: str | None = None
            self.counts: Counter[str] = Counter()
            self.idat_bytes = 0
            self.colour_chunks: dict[str, bytes] = {}  # gAMA, cHRM, sRGB, iCCP: their data
            self.transparency: bytes | None = None  # the tRNS chunk's data (section 11.3.2.1)
            self.text: dict[str, str] = {}  # tEXt chunks before the image data (11.3.4.3)
            self._chunks = self._walk()
            self.header = self._read_header(max_pixels)
            self.palette: U8 | None = None
            self._first_idat = self._read_until_idat()
        except BaseException:
            self._f.close()
            raise

    def __enter__(self) -> ChunkReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._f.close()

    def fail(self, problem: str, fix: str = FIX_PNG) -> PngFormatError:
        """The error for this file (raised by the caller)."""
        return PngFormatError(self.path, problem, fix)

    # -- section 5: the chunk stream -------------------------------------------------------

    def _take(self, n: int) -> bytes:
        data = self._f.read(n)
        if self._hash is not None:
            self._hash.update(data)
        return data

    def _read(self, n: int, what: str) -> bytes:
        data = self._take(n)
        if len(data) != n:
            raise self.fail(f"truncated: the file ends inside {what}")
        return data

    def _walk(self) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Yield (chunk type, pieces of its data); the CRC is checked after the last piece."""
        head = self._take(len(SIGNATURE))
        if head != SIGNATURE:
            if not head:
                raise self.fail("the file is empty", "re-download it")
            if looks_like_html(head + self._take(1024)):
                raise self.fail("is an HTML page, not a PNG", "re-download the image")
            raise self.fail(
                "not a PNG file (bad signature)", "give a PNG file, or re-export it as PNG"
            )
        while True:
            pos = self._f.tell()
            raw = self._take(8)
            if not raw:
                raise self.fail("truncated: the file ends before its IEND chunk")
            if len(raw) < 8:
                raise self.fail(f"truncated: the file ends inside a chunk header at byte {pos}")
            length = int.from_bytes(raw[:4], "big")
            ctype_b = raw[4:]
            if not all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype_b):
                raise self.fail(f"corrupt chunk at byte {pos}: invalid chunk type {ctype_b!r}")
            ctype = ctype_b.decode("ascii")
            if length > _MAX_CHUNK:
                raise self.fail(f"corrupt {ctype} chunk at byte {pos}: length {length}")
            if length + 4 > self.file_bytes - pos - 8:
                raise self.fail(f"truncated: the file ends inside its {ctype} chunk")
            self.counts[ctype] += 1
            if ctype == "IDAT":
                self.idat_bytes += length
            yield ctype, self._pieces(ctype, ctype_b, length)
            if ctype == "IEND":
                if self._take(1):
                    raise self.fail("extra data after the IEND chunk")
                self.sha256 = None if self._hash is None else self._hash.hexdigest()
                return

    def _pieces(self, ctype: str, ctype_b: bytes, length: int) -> Iterator[bytes]:
        crc = zlib.crc32(ctype_b)
        left = length
        while left:
            piece = self._read(min(left, _PIECE), f"its {ctype} chunk")
            crc = zlib.crc32(piece, crc)
            left -= len(piece)
            if not left:
                self._check_crc(ctype, crc)
            yield piece
        if length == 0:
            self._check_crc(ctype, crc)

    def _check_crc(self, ctype: str, crc: int) -> None:
        stored = int.from_bytes(self._read(4, f"the CRC of its {ctype} chunk"), "big")
        if stored != crc:
            raise self.fail(f"{ctype} chunk is corrupt (CRC mismatch)")

    # -- section 11.2: critical chunks before the image data ---------------------------

    def _read_header(self, max_pixels: int) -> Header:
        ctype, pieces = next(self._chunks)
        if ctype != "IHDR":
            raise self.fail(f"the first chunk is {ctype}, not IHDR")
        data = b"".join(pieces)
        if len(data) != 13:
            raise self.fail(f"IHDR chunk has {len(data)} bytes, not 13")
        width = int.from_bytes(data[0:4], "big")
        height = int.from_bytes(data[4:8], "big")
        depth, ctype_, comp, filt, interlace = data[8], data[9], data[10], data[11], data[12]
        if not (0 < width <= _MAX_CHUNK and 0 < height <= _MAX_CHUNK):
            raise self.fail(f"invalid image size {width} x {height} in IHDR")
        if ctype_ not in _DEPTHS:
            raise self.fail(f"invalid colour type {ctype_} in IHDR")
        if depth not in _DEPTHS[ctype_]:
            raise self.fail(f"invalid bit depth {depth} for colour type {ctype_} in IHDR")
        if comp != 0 or filt != 0 or interlace > 1:
            raise self.fail(
                f"unknown compression, filter or interlace method ({comp}, {filt}, {interlace})"
            )
        if width * height > max_pixels:
            raise self.fail(
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
                raise self.fail("a second IHDR chunk")
            if ctype == "IEND":
                raise self.fail("no IDAT chunk: the file holds no image data")
            if ctype == "PLTE":
                self._read_palette(b"".join(pieces))
            elif ctype[0].isupper():
                raise self.fail(f"unknown critical chunk {ctype}")
            elif ctype in COLOUR_CHUNKS:
                self.colour_chunks[ctype] = b"".join(pieces)
            elif ctype == "tRNS":
                self._read_transparency(b"".join(pieces))
            elif ctype == "tEXt":
                keyword, _, value = b"".join(pieces).partition(b"\0")
                self.text[keyword.decode("latin-1")] = value.decode("latin-1")
            else:
                for _ in pieces:  # other ancillary chunks: checked (CRC) and skipped
                    pass
        raise AssertionError("unreachable: the walk ends at IEND")

    def _read_palette(self, data: bytes) -> None:
        if self.palette is not None:
            raise self.fail("a second PLTE chunk")
        if self.header.color_type in (0, 4):
            raise self.fail("a PLTE chunk in a grayscale image")
        n, rem = divmod(len(data), 3)
        if rem or not 1 <= n <= 256:
            raise self.fail(f"PLTE chunk has {len(data)} bytes, not 3 per entry for 1 to 256")
        if self.header.color_type == 3 and n > 1 << self.header.bit_depth:
            raise self.fail(
                f"PLTE chunk has {n} entries, more than a {self.header.bit_depth}-bit image "
                f"can index ({1 << self.header.bit_depth})"
            )
        self.palette = np.frombuffer(data, dtype=np.uint8).reshape(n, 3)

    def _read_transparency(self, data: bytes) -> None:
        """Section 11.3.2.1: alpha per palette entry, or one colour that is transparent."""
        ct = self.header.color_type
        if self.transparency is not None:
            raise self.fail("a second tRNS chunk")
        if ct in (4, 6):  # images with alpha cannot have tRNS; libpng ignores it too
            return
        if ct == 3:
            entries = 0 if self.palette is None else self.palette.shape[0]
            if self.palette is None or len(data) > entries:
                raise self.fail(f"tRNS chunk has {len(data)} entries for {entries} palette entries")
        elif len(data) != (2 if ct == 0 else 6):
            raise self.fail(f"tRNS chunk has {len(data)} bytes, not {2 if ct == 0 else 6}")
        self.transparency = data

    def idat(self) -> Iterator[bytes]:
        """All IDAT data in order, then the rest of the chunks walked and checked."""
        if self.header.color_type == 3 and self.palette is None:
            raise self.fail("a palette image without a PLTE chunk")
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
            raise self.fail("IDAT chunks are not consecutive")
        if ctype in ("IHDR", "PLTE"):
            raise self.fail(f"{ctype} chunk after the image data")
        if ctype != "IEND" and ctype[0].isupper():
            raise self.fail(f"unknown critical chunk {ctype}")
        data = b"".join(pieces)
        if ctype == "IEND" and data:
            raise self.fail("IEND chunk is not empty")
