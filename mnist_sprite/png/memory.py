"""A small PNG held in memory (an image of a Parquet row or a tar member), read by the same
chunk reader as every PNG file (``chunks.py`` over the bytes: signature, CRCs, IHDR first,
IDAT together, no unknown critical chunk, IEND last) and decoded whole.

Only 8-bit gray or RGB, not interlaced, without transparency, is taken: anything else (a
palette, alpha, 16 or fewer than 8 bits, Adam7) is refused, naming what it holds. Those are
values a canvas changes, and these images come without a canvas to say how. The samples are
returned as stored.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import PathLike, PngFormatError
from .chunks import COLOR_TYPES, SIGNATURE
from .pixels import PngFile

U8 = npt.NDArray[np.uint8]
_FIX = "give 8-bit gray or RGB PNG images"


def decode_png(data: bytes, where: PathLike, max_pixels: int) -> U8:
    """``(height, width)`` for gray, ``(height, width, 3)`` for RGB; ``where`` names the image
    in errors (a file and its row or member)."""
    if not data.startswith(SIGNATURE):
        what = "a JPEG" if data.startswith(b"\xff\xd8\xff") else "not a PNG"
        raise PngFormatError(
            where, f"is {what} image", "convert the images to PNG; there is no other decoder here"
        )
    with PngFile(where, max_pixels=max_pixels, data=data) as png_file:
        h = png_file.header
        if h.color_type not in (0, 2) or h.bit_depth != 8 or h.interlace:
            kind = COLOR_TYPES.get(h.color_type, f"colour type {h.color_type}")
            interlaced = " interlaced" if h.interlace else ""
            raise PngFormatError(where, f"is a{interlaced} {h.bit_depth}-bit {kind} PNG", _FIX)
        if png_file.has_alpha:
            raise PngFormatError(where, "has a tRNS chunk: a transparent colour", _FIX)
        return png_file.stored()
