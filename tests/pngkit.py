"""A small PNG encoder for tests and benchmarks: any filter per scanline, any chunking.

pypng writes every scanline with filter type None. To test the decoder on every valid
encoding of the same pixels, :func:`refilter` takes any PNG (from pypng or elsewhere), keeps
its pixels, and rewrites its IDAT stream with chosen row filters, compression level and IDAT
chunk size. :func:`chunk` builds raw chunks for hand-made broken files.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import png

from mnist_sprite.png import SIGNATURE, Header

FilterChoice = int | Sequence[int] | Callable[[int], int] | str
NONE, SUB, UP, AVERAGE, PAETH = range(5)


def chunk(ctype: bytes, data: bytes, crc: int | None = None) -> bytes:
    """One PNG chunk: length, type, data, CRC (a wrong ``crc`` may be forced)."""
    value = zlib.crc32(ctype + data) if crc is None else crc
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", value)


def ihdr(width: int, height: int, depth: int = 8, color: int = 0, interlace: int = 0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace))


def gray_png(pixels: np.ndarray[Any, Any], **kwargs: Any) -> bytes:
    """An 8-bit grayscale PNG of a 2-D uint8 array, then :func:`refilter` with ``kwargs``."""
    buf = io.BytesIO()
    h, w = pixels.shape
    png.Writer(w, h, greyscale=True, bitdepth=8).write(buf, pixels.tolist())
    return refilter(buf.getvalue(), **kwargs) if kwargs else buf.getvalue()


def split_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk of a well-formed PNG."""
    assert data[:8] == SIGNATURE
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def header_of(data: bytes) -> Header:
    ctype, body = split_chunks(data)[0]
    assert ctype == b"IHDR"
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
    return Header(w, h, depth, color, interlace)


def _filter_rows(rows: np.ndarray[Any, Any], ftypes: np.ndarray[Any, Any], bpp: int) -> bytes:
    """Apply PNG filters (spec section 9.2) to raw scanlines ``rows`` (h, stride)."""
    raw = rows.astype(np.int16)
    above = np.vstack([np.zeros((1, raw.shape[1]), np.int16), raw[:-1]])
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp] if raw.shape[1] > bpp else left[:, bpp:]
    upleft = np.zeros_like(raw)
    upleft[:, bpp:] = above[:, :-bpp] if raw.shape[1] > bpp else upleft[:, bpp:]
    p = left + above - upleft
    pa, pb, pc = np.abs(p - left), np.abs(p - above), np.abs(p - upleft)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upleft))
    predictors = [np.zeros_like(raw), left, above, (left + above) // 2, paeth]
    out = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
    out[:, 0] = ftypes
    pred = np.choose(ftypes[:, None].astype(np.intp), predictors)
    out[:, 1:] = ((raw - pred) & 0xFF).astype(np.uint8)
    return out.tobytes()


def adaptive_filters(rows: np.ndarray[Any, Any], bpp: int) -> np.ndarray[Any, Any]:
    """libpng's heuristic: per row, the filter with the least sum of |signed residual|."""
    h = rows.shape[0]
    costs = []
    for f in range(5):
        filtered = np.frombuffer(_filter_rows(rows, np.full(h, f), bpp), np.uint8)
        res = filtered.reshape(h, -1)[:, 1:].astype(np.int8).astype(np.int32)
        costs.append(np.abs(res).sum(axis=1))
    return np.argmin(np.stack(costs), axis=0).astype(np.uint8)


def _choose(filters: FilterChoice, rows: np.ndarray[Any, Any], bpp: int, start: int) -> Any:
    h = rows.shape[0]
    if filters == "adaptive":
        return adaptive_filters(rows, bpp)
    if isinstance(filters, int):
        return np.full(h, filters, np.uint8)
    if callable(filters):
        return np.array([filters(start + i) for i in range(h)], np.uint8)
    assert not isinstance(filters, str)
    return np.array([filters[(start + i) % len(filters)] for i in range(h)], np.uint8)


def scanlines(data: bytes) -> list[np.ndarray[Any, Any]]:
    """The unfiltered scanlines of each pass of a PNG whose rows all use filter None."""
    header = header_of(data)
    raw = zlib.decompress(b"".join(body for ctype, body in split_chunks(data) if ctype == b"IDAT"))
    passes, pos = [], 0
    for *_, w, h in header.passes():
        n = 1 + header.row_bytes(w)
        block = np.frombuffer(raw[pos : pos + h * n], np.uint8).reshape(h, n)
        assert not block[:, 0].any(), "refilter expects an image written with filter None"
        passes.append(block[:, 1:])
        pos += h * n
    return passes


def refilter(
    data: bytes,
    filters: FilterChoice = NONE,
    *,
    level: int = 6,
    idat_size: int = 1 << 16,
    strategy: int = zlib.Z_DEFAULT_STRATEGY,
) -> bytes:
    """The same pixels as ``data``, re-encoded with ``filters`` (an int, a cycle of ints, a
    function of the scanline index, or ``"adaptive"``), zlib ``level`` and IDAT chunks of at
    most ``idat_size`` bytes. Ancillary and PLTE chunks are kept in place."""
    header = header_of(data)
    parts, start = [], 0
    for rows in scanlines(data):
        ftypes = _choose(filters, rows, header.filter_unit, start)
        parts.append(_filter_rows(rows, ftypes, header.filter_unit))
        start += rows.shape[0]
    z = zlib.compressobj(level, zlib.DEFLATED, 15, 9, strategy)
    stream = z.compress(b"".join(parts)) + z.flush()
    idats = [stream[i : i + idat_size] for i in range(0, len(stream), idat_size)] or [b""]
    out = [SIGNATURE]
    placed = False
    for ctype, body in split_chunks(data):
        if ctype == b"IDAT":
            if not placed:
                out += [chunk(b"IDAT", piece) for piece in idats]
                placed = True
            continue
        out.append(chunk(ctype, body))
    return b"".join(out)


def write_png(
    rows: Sequence[Sequence[int]] | np.ndarray[Any, Any],
    width: int,
    height: int,
    *,
    color: str = "gray",
    depth: int = 8,
    interlace: bool = False,
    palette: Sequence[tuple[int, ...]] | None = None,
    transparent: int | tuple[int, int, int] | None = None,
) -> bytes:
    """A PNG written by pypng (all scanlines with filter None).

    Palette entries of four values get a tRNS chunk; ``transparent`` is tRNS's colour key.
    """
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"bitdepth": depth, "interlace": interlace}
    if transparent is not None:
        kwargs["transparent"] = transparent
    if color == "palette":
        kwargs["palette"] = palette
    else:
        kwargs["greyscale"] = color in ("gray", "gray_alpha")
        kwargs["alpha"] = color in ("gray_alpha", "rgba")
    rows_list = rows.tolist() if isinstance(rows, np.ndarray) else [list(r) for r in rows]
    png.Writer(width, height, **kwargs).write(buf, rows_list)
    return buf.getvalue()
