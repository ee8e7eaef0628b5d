"""Undoing PNG row filters (PNG spec section 9) on blocks of scanlines with numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


def unfilter_block(block: U8, prev: U8, bpp: int) -> U8:
    """Reconstruct a block of filtered scanlines.

    ``block`` is ``(k, 1 + stride)`` uint8: each row is a filter-type byte (0..4, already
    checked by the caller) followed by ``stride`` filtered bytes. ``prev`` is the ``(stride,)``
    reconstructed scanline just above the block (zeros at the top of an image or an Adam7
    pass). ``bpp`` is the filter unit in bytes (PNG spec 9.2: bytes per complete pixel,
    rounded up to 1). Returns the ``(k, stride)`` reconstructed scanlines.
    """
    k, width = block.shape
    stride = width - 1
    out = np.empty((k, stride), dtype=np.uint8)
    above = prev.astype(np.int32)
    for r in range(k):
        ftype = int(block[r, 0])
        row = block[r, 1:].astype(np.int32)
        if ftype == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif ftype == 2:
            row = (row + above) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + above[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = above[i]
                c = above[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + pred) & 0xFF
        out[r] = row
        above = row
    return out
