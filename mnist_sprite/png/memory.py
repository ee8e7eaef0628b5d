"""A small PNG held in memory (an image of a Parquet row or a tar member): 8-bit gray or RGB,
not interlaced, decoded in one go. The chunk rules are the spec's (section 5), checked as
the file reader checks them: signature, CRCs, IHDR first, IDAT together, IEND last.

Anything else a PNG may hold (a palette, alpha, 16 or fewer than 8 bits, Adam7) is refused,
naming what it holds: those are values a canvas changes, and these images come without a
canvas to say how.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

from ..errors import PathLike, PngFormatError
from .chunks import COLOR_TYPES, SIGNATURE
from .unfilter import unfilter_block

U8 = npt.NDArray[np.uint8]
_CHANNELS = {0: 1, 2: 3}  # the colour types read here: gray, RGB


def decode_png(data: bytes, where: PathLike, max_pixels: int) -> U8:
    """``(height, width)`` for gray, ``(height, width, 3)`` for RGB; ``where`` names the image
    in errors (a file and its row or member)."""

    def fail(problem: str, fix: str = "give 8-bit gray or RGB PNG images") -> PngFormatError:
        return PngFormatError(where, problem, fix)

    if not data.startswith(SIGNATURE):
        what = "a JPEG" if data.startswith(b"\xff\xd8\xff") else "not a PNG"
        raise fail(f"is {what} image", "convert the images to PNG; there is no other decoder here")
    pos, idat, header = len(SIGNATURE), [], None
    ended = False
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise fail(f"its {kind.decode('latin-1')} chunk is truncated", "give intact PNGs")
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise fail(f"its {kind.decode('latin-1')} chunk fails its CRC", "give intact PNGs")
        pos += 12 + length
        if header is None:
            if kind != b"IHDR" or length != 13:
                raise fail("does not start with an IHDR chunk", "give intact PNGs")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            ended = True
            break
    if header is None or not ended or not idat:
        raise fail("ends before its image data does", "give intact PNGs")
    width, height, depth, colour, _, _, interlace = header
    if colour not in _CHANNELS or depth != 8 or interlace:
        what = f"{depth}-bit {COLOR_TYPES.get(colour, f'colour type {colour}')}"
        raise fail(f"is a{' interlaced' if interlace else ''} {what} PNG")
    if not 1 <= width * height <= max_pixels:
        raise fail(f"is {width}x{height}, not an image of a dataset's size", "give smaller images")
    channels = _CHANNELS[colour]
    stride = width * channels
    want = height * (1 + stride)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), want + 1)
    except zlib.error as e:
        raise fail(f"its image data does not inflate ({e})", "give intact PNGs") from None
    if len(raw) != want or not inflater.eof:
        raise fail(f"holds {len(raw):,} bytes of scanlines, not {want:,}", "give intact PNGs")
    block = np.frombuffer(raw, np.uint8).reshape(height, 1 + stride)
    if int(block[:, 0].max()) > 4:
        raise fail("has a row of filter type other than 0 to 4", "give intact PNGs")
    if not block[:, 0].any():  # every row filtered None: the bytes are the pixels
        pixels = block[:, 1:].copy()
    else:
        pixels = unfilter_block(block, np.zeros(stride, np.uint8), channels)
    out: U8 = pixels.reshape(height, width, 3) if channels == 3 else pixels
    return out
