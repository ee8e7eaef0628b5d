"""Writing sprites as PNG: 8-bit grayscale or RGB rows in, one ordinary PNG file out.

Owns the encoder that ``pack`` uses: the chunk layout (PNG spec section 5: signature, IHDR,
tEXt, IDAT, IEND, each with its CRC), the row filters (section 9; filter type None, see
:data:`_FILTER`) and the zlib stream of section 10, deflated in parallel as pigz does. Knows
nothing of MNIST or datasets. Writes no alpha, no colour chunks (gAMA, cHRM, sRGB, iCCP) and
no interlacing: a sprite's pixels are data, and a viewer must not alter them.

The parallel deflate: the filtered scanline stream (filter byte + row bytes, section 7.3) is
cut into pieces of ``piece_bytes`` at fixed offsets of that stream, whatever blocks the rows
arrive in. Each piece is compressed on its own as raw deflate (RFC 1951) primed with the 32 KiB
that precede it (``zdict``), so back-references may still reach into the previous piece, as
they would in one long stream. Non-final pieces end with a sync flush (an empty stored block),
which leaves them byte-aligned, so the raw pieces concatenate into one deflate stream. The
zlib wrapper (RFC 1950: a 2-byte header, the adler32 of all uncompressed bytes) is written
here. The pieces, and so the file, depend only on the pixels, ``level`` and ``piece_bytes``:
the same bytes for any ``workers`` and any split of the rows into blocks.
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from .chunks import SIGNATURE

U8 = npt.NDArray[np.uint8]

# Filtered bytes deflated per task. Each piece costs a flush and a fresh Huffman block, and
# only sees 32 KiB back: at 1 MiB that is about 0.1% on the sprite; memory stays a few MiB.
PIECE_BYTES = 1 << 20
IDAT_BYTES = 1 << 16  # data bytes per IDAT chunk (the last one may hold fewer)
_WINDOW = 1 << 15  # deflate's window (RFC 1951 section 2): all a piece can refer back to
_MAX_SIDE = (1 << 31) - 1  # section 11.2.2: width and height are at most 2**31 - 1
_COLOUR_TYPES = {1: 0, 3: 2}  # channels -> IHDR colour type: grayscale, truecolour
# zlib's largest hash table. On the sprite's pieces at level 6: 12 kB (0.1%) smaller than
# memLevel 8, for about 20% more CPU (1.05 s against 0.88 s in one thread).
_MEM_LEVEL = 9
# Section 9.2 filter type used for every scanline: None (0). Section 12.8 suggests adaptive
# filtering for 8-bit gray and RGB, but MNIST digits are mostly runs of exact zeros that
# deflate already matches, and a filter only turns a stroke's edge into residuals that repeat
# less. Measured on the 65,000 x 784 sprite at zlib level 6 (one stream):
#   None on every row                          10,636,377 bytes
#   Sub / Up / Average / Paeth on every row    12,806,258 / 16,974,609 / 17,987,576 / 15,852,780
#   libpng's heuristic (least sum |residual|)  10,642,338 (None chosen for 64,808 rows)
#   the same heuristic, None or Sub only       10,642,079
# Pillow's default writes 10,689,542; this module (None, 1 MiB pieces) 10,627,668. A
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
    for piece, deflated in _deflate_all(
        _pieces(rows, width * channels, height, piece_bytes), level, workers
    ):
        adler = zlib.adler32(piece, adler)
        stream += deflated
        while len(stream) >= IDAT_BYTES:
            written += _write_chunk(out, b"IDAT", stream[:IDAT_BYTES])
            del stream[:IDAT_BYTES]
    stream += struct.pack(">I", adler)
    written += _write_chunk(out, b"IDAT", stream)
    written += _write_chunk(out, b"IEND", b"")
    return written


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


def _pieces(
    blocks: Iterable[U8], stride: int, height: int, piece_bytes: int
) -> Iterator[tuple[bytes, bytes, bool]]:
    """(piece, dictionary, last) for the filtered scanline stream, cut every ``piece_bytes``.

    The dictionary is the 32 KiB of the stream before the piece (empty for the first).
    Blocks are checked as they arrive; a wrong block or row count raises ValueError.
    """
    line = 1 + stride
    total = height * line
    done = 0  # filtered bytes yielded so far
    seen = 0  # rows taken so far
    history = b""
    pending = bytearray()
    # Rows filtered at once: a huge block is not copied whole, only about a piece at a time.
    step = max(1, piece_bytes // line)
    for index, block in enumerate(blocks):
        k = _check_block(block, index, stride)
        if seen + k > height:
            raise ValueError(f"the row blocks hold more than the {height} rows of the image")
        for start in range(0, k, step):
            part = block[start : start + step]
            filtered = np.empty((part.shape[0], line), dtype=np.uint8)
            filtered[:, 0] = _FILTER
            filtered[:, 1:] = part
            pending += filtered.data
            while len(pending) >= piece_bytes:
                with memoryview(pending) as view:
                    piece = bytes(view[:piece_bytes])
                del pending[:piece_bytes]
                done += len(piece)
                yield piece, history, done == total
                history = _tail(history, piece)
        seen += k
    if seen != height:
        raise ValueError(f"the row blocks hold {seen} rows; the image has {height}")
    if pending:
        yield bytes(pending), history, True


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


def _tail(history: bytes, piece: bytes) -> bytes:
    """The last 32 KiB of ``history + piece``, without copying a long piece twice."""
    if len(piece) >= _WINDOW:
        return piece[-_WINDOW:]
    return (history + piece)[-_WINDOW:]


def _deflate(piece: bytes, dictionary: bytes, level: int, last: bool) -> bytes:
    """One piece as raw deflate, primed with ``dictionary``; byte-aligned unless ``last``.

    zlib releases the GIL while it compresses, so pieces in threads run in parallel.
    """
    args = (level, zlib.DEFLATED, -15, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY)
    z = zlib.compressobj(*args, zdict=dictionary) if dictionary else zlib.compressobj(*args)
    return z.compress(piece) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _deflate_all(
    pieces: Iterator[tuple[bytes, bytes, bool]], level: int, workers: int
) -> Iterator[tuple[bytes, bytes]]:
    """(piece, deflated piece) in order; at most ``2 * workers`` pieces in flight."""
    first = next(pieces)
    if workers == 1 or first[2]:  # one thread asked for, or one piece in all: no pool
        for piece, dictionary, last in chain([first], pieces):
            yield piece, _deflate(piece, dictionary, level, last)
        return
    in_flight: deque[tuple[bytes, Future[bytes]]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="png-deflate") as pool:
        try:
            for piece, dictionary, last in chain([first], pieces):
                in_flight.append((piece, pool.submit(_deflate, piece, dictionary, level, last)))
                if len(in_flight) >= 2 * workers:
                    done, future = in_flight.popleft()
                    yield done, future.result()
            while in_flight:
                done, future = in_flight.popleft()
                yield done, future.result()
        finally:  # after an error (a bad block) or an abandoned write, drop the queued work
            for _, future in in_flight:
                future.cancel()
