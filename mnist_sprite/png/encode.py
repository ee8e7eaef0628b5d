"""Writing sprites as PNG: 8-bit grayscale or RGB rows in, one ordinary PNG file out.

Owns the encoder that ``pack`` uses: the chunk layout (PNG spec section 5: signature, IHDR,
tEXt, IDAT, IEND, each with its CRC), the row filters (section 9; filter type None, see
:data:`_FILTER`) and the zlib stream of section 10, deflated in parallel as pigz does. Knows
nothing of MNIST or datasets. Writes no alpha, no colour chunks (gAMA, cHRM, sRGB, iCCP) and
no interlacing: a sprite's pixels are data, and a viewer must not alter them.

The zlib stream (RFC 1950: a 2-byte header, raw deflate, the adler32 of all uncompressed
bytes) is written here around the tool's one deflate engine (``mnist_sprite.deflate``), which
deflates the filtered scanline stream in parallel pieces. The file depends only on the pixels,
``level`` and ``piece_bytes``: the same bytes for any ``workers`` and any split of the rows
into blocks.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from ..deflate import AUTO, PIECE_BYTES, Deflater
from .chunks import SIGNATURE

U8 = npt.NDArray[np.uint8]

IDAT_BYTES = 1 << 16  # data bytes per IDAT chunk (the last one may hold fewer)
_MAX_SIDE = (1 << 31) - 1  # section 11.2.2: width and height are at most 2**31 - 1
_COLOUR_TYPES = {1: 0, 3: 2}  # channels -> IHDR colour type: grayscale, truecolour
# Section 9.2 filter type used for every scanline: None (0). Section 12.8 suggests adaptive
# filtering for 8-bit gray and RGB, but MNIST digits are mostly runs of exact zeros that
# deflate already matches, and a filter only turns a stroke's edge into residuals that repeat
# less. Measured on the 65,000 x 784 sprite at zlib level 6 (one stream):
#   None on every row                          10,636,377 bytes
#   Sub / Up / Average / Paeth on every row    12,806,258 / 16,974,609 / 17,987,576 / 15,852,780
#   libpng's heuristic (least sum |residual|)  10,642,338 (None chosen for 64,808 rows)
#   the same heuristic, None or Sub only       10,642,079
# Pillow's default writes 10,689,542; this module (None, 1 MiB pieces, zlib's default strategy)
# 10,627,668, and 10,644,411 with the strategy each piece's sample chooses (Z_RLE here). A
# heuristic costs a pass over every row and loses bytes here, so None it is.
_FILTER = 0


def write_png(
    out: BinaryIO,
    rows: Iterable[U8],
    width: int,
    height: int,
    *,
    channels: int = 1,
    level: int = 6,
    text: Mapping[str, str] | None = None,
    workers: int = 2,
    piece_bytes: int = PIECE_BYTES,
) -> int:
    """Write an 8-bit grayscale (``channels=1``) or RGB (``channels=3``) PNG to ``out``.

    ``rows`` yields blocks of rows from top to bottom, each a ``(k, width * channels)`` uint8
    array (``k`` may be 0); they must hold ``height`` rows in all. ``level`` is zlib's 0..9.
    ``text`` becomes tEXt chunks (section 11.3.4.3) after IHDR, in sorted keyword order.
    ``workers`` threads deflate pieces of ``piece_bytes`` filtered bytes in parallel; with 1,
    no thread is started. Returns the number of bytes written.

    Raises ValueError for a bad argument. The arguments are checked before anything is
    written, but the rows only as they arrive: after a bad block, ``out`` holds a partial
    file.
    """
    width = _whole("width", width, 1, _MAX_SIDE)
    height = _whole("height", height, 1, _MAX_SIDE)
    if channels not in _COLOUR_TYPES:
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), not {channels!r}")
    level = _whole("level", level, 0, 9)
    workers = _whole("workers", workers, 1, 1024)
    piece_bytes = _whole("piece_bytes", piece_bytes, 1, 1 << 30)
    texts = [_text_chunk(k, v) for k, v in sorted((text or {}).items())]

    ihdr = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    head = [SIGNATURE, _chunk(b"IHDR", ihdr), *(_chunk(b"tEXt", t) for t in texts)]
    written = 0
    for part in head:
        out.write(part)
        written += len(part)

    # The zlib stream, cut into IDAT chunks as it grows.
    stream = bytearray(_zlib_header(level))
    adler = zlib.adler32(b"")
    deflater = Deflater(level, workers=workers, piece_bytes=piece_bytes, strategy=AUTO)
    try:
        filtered_blocks = _filtered(rows, width * channels, height, piece_bytes)
        for filtered in chain(filtered_blocks, [None]):
            if filtered is None:
                stream += deflater.flush()
            else:
                adler = zlib.adler32(filtered, adler)
                stream += deflater.compress(filtered)
            while len(stream) >= IDAT_BYTES:
                written += _write_chunk(out, b"IDAT", stream[:IDAT_BYTES])
                del stream[:IDAT_BYTES]
    finally:  # after an error (a bad block) or an abandoned write, drop the queued work
        deflater.close()
    stream += struct.pack(">I", adler)
    written += _write_chunk(out, b"IDAT", stream)
    written += _write_chunk(out, b"IEND", b"")
    return written


def small_png(filtered: bytes, width: int, height: int, channels: int, level: int) -> bytes:
    """A whole PNG in one go, for an image small enough to deflate in one call: ``filtered``
    is its scanline stream (a filter byte, None, before each row). One IDAT, as pypng writes
    it, and the same bytes (zlib's own stream at ``level``)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    idat = zlib.compress(filtered, level)
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _whole(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, not {value}")
    return int(value)


def _text_chunk(keyword: str, value: str) -> bytes:
    """A tEXt chunk's data: keyword, NUL, text, both Latin-1 (section 11.3.4.3)."""
    if not isinstance(keyword, str) or not isinstance(value, str):
        raise ValueError(f"text keys and values must be str, not {keyword!r}: {value!r}")
    # Section 11.3.4.2: 1 to 79 printable Latin-1 characters, no leading, trailing or
    # consecutive spaces; the text is Latin-1 too, and a NUL would end it early.
    try:
        key = keyword.encode("latin-1")
        data = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"text {keyword!r}: {value!r} is not Latin-1") from None
    printable = all(32 <= c <= 126 or c >= 161 for c in key)
    if not 1 <= len(key) <= 79 or not printable or key.strip(b" ") != key or b"  " in key:
        raise ValueError(
            f"text keyword {keyword!r} is not 1 to 79 printable Latin-1 characters with "
            "single spaces between words"
        )
    if b"\0" in data:
        raise ValueError(f"text {keyword!r} contains a NUL character")
    return key + b"\0" + data


def _chunk(ctype: bytes, data: bytes | bytearray) -> bytes:
    """Length, type, data and CRC of one chunk (section 5.3); the CRC covers type and data."""
    crc = zlib.crc32(data, zlib.crc32(ctype))
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", crc)


def _write_chunk(out: BinaryIO, ctype: bytes, data: bytes | bytearray) -> int:
    chunk = _chunk(ctype, data)
    out.write(chunk)
    return len(chunk)


def _zlib_header(level: int) -> bytes:
    """RFC 1950's CMF and FLG bytes, as zlib itself writes them for ``level``.

    CMF 0x78 is deflate with a 32 KiB window; FLG holds zlib's FLEVEL (0 for levels 0-1, 1
    for 2-5, 2 for 6, 3 for 7-9) and check bits that make ``CMF * 256 + FLG`` a multiple of 31.
    """
    cmf = 0x78
    flevel = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    flg = flevel << 6
    flg += 31 - (cmf * 256 + flg) % 31
    return bytes((cmf, flg))


def _filtered(
    blocks: Iterable[U8], stride: int, height: int, step_bytes: int
) -> Iterator[memoryview]:
    """The filtered scanline stream (filter byte + row bytes), about ``step_bytes`` at a time.

    Blocks are checked as they arrive; a wrong block or row count raises ValueError.
    """
    line = 1 + stride
    seen = 0  # rows taken so far
    # Rows filtered at once: a huge block is not copied whole, only about a piece at a time.
    step = max(1, step_bytes // line)
    for index, block in enumerate(blocks):
        k = _check_block(block, index, stride)
        if seen + k > height:
            raise ValueError(f"the row blocks hold more than the {height} rows of the image")
        for start in range(0, k, step):
            part = block[start : start + step]
            filtered = np.empty((part.shape[0], line), dtype=np.uint8)
            filtered[:, 0] = _FILTER
            filtered[:, 1:] = part
            yield filtered.reshape(-1).data
        seen += k
    if seen != height:
        raise ValueError(f"the row blocks hold {seen} rows; the image has {height}")


def _check_block(block: object, index: int, stride: int) -> int:
    """The number of rows in ``block``, after checking its type, dtype and shape."""
    if not isinstance(block, np.ndarray):
        raise ValueError(f"row block {index} is a {type(block).__name__}, not a numpy array")
    if block.dtype != np.uint8:
        raise ValueError(f"row block {index} has dtype {block.dtype}, not uint8")
    if block.ndim != 2 or block.shape[1] != stride:
        raise ValueError(
            f"row block {index} has shape {block.shape}, not (rows, {stride}) "
            "(width * channels bytes per row)"
        )
    return int(block.shape[0])
