"""What a browser's 2D canvas hands back for a PNG pixel: the reference for every value.

TensorFlow.js's loaders draw the sprite with ``drawImage`` and read ``getImageData``. The
canvas stores colour premultiplied by alpha, in 8 bits, and ``getImageData`` divides it out
again, so a pixel with alpha below 255 does not come back with its own red value. Measured in
headless Chromium 156 (software canvas) for every red and alpha (``make browser-check``; the
table's digest is a test), its arithmetic is:

- premultiply: ``p = round(r * a / 255)`` (exact integers, half up; Skia's ``SkMulDiv255Round``);
- unpremultiply in float32, in this order: ``clamp((p * f32(1/255)) * (1 / (a * f32(1/255))),
  0, 1) * 255``, rounded half to even; alpha 0 gives 0.

16-bit samples keep their high byte (``v >> 8``), as Chromium does, and alpha too.

TensorFlow.js's ``data.js`` draws the sprite 5,000 rows at a time onto one canvas that it never
clears, so a pixel that is not opaque is composited (source-over) onto the pixel the previous
draw left at that place. Chromium keeps premultiplied 8-bit colour and blends as Skia's
``SkPMSrcOver``: ``p' = P(r, a) + (p * (256 - a) >> 8)``, ``alpha' = a + (alpha * (256 - a) >> 8)``
(measured exact for every channel over three draws of 1,048,576 random pixels).
:class:`Canvas` carries that state, so every value is the one the loader reads.

Chunks that tell a viewer to change colours are reported by :func:`colour_warning`; the canvas
applies them and this tool does not (see README).
"""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ..options import DRAW_ROWS

U8 = npt.NDArray[np.uint8]

# gAMA's value for gamma 1/2.2 (PNG spec 11.3.3.2): the browser treats it as sRGB.
SRGB_GAMMA = 45455


@lru_cache(maxsize=1)
def premultiply_table() -> U8:
    """``table[a, c]``: colour ``c`` at alpha ``a`` as the canvas stores it: round(c * a / 255)."""
    c = np.arange(256, dtype=np.int64)[None, :]
    a = np.arange(256, dtype=np.int64)[:, None]
    table: U8 = ((2 * c * a + 255) // 510).astype(np.uint8)  # halves round up
    return table


@lru_cache(maxsize=1)
def unpremultiply_table() -> U8:
    """``table[a, p]``: what ``getImageData`` returns for stored colour ``p`` at alpha ``a``."""
    f32 = np.float32
    p = np.arange(256, dtype=np.int64)[None, :]
    a = np.arange(256, dtype=np.int64)[:, None]
    inv = f32(1) / (np.maximum(a, 1).astype(f32) * f32(1 / 255))  # row a = 0 is zeroed below
    v = np.clip((p.astype(f32) * f32(1 / 255)) * inv, f32(0), f32(1)) * f32(255)
    table: U8 = np.rint(v).astype(np.uint8)  # float32, halves to even, as Chromium
    table[0, :] = 0
    return table


@lru_cache(maxsize=1)
def alpha_table() -> U8:
    """``table[a, r]``: the red a fresh canvas gives back for red ``r`` drawn at alpha ``a``."""
    premul = premultiply_table()
    table: U8 = unpremultiply_table()[np.arange(256)[:, None], premul]
    return table


class Canvas:
    """One canvas, drawn ``draw_rows`` image rows at a time and never cleared, as data.js does.

    :meth:`draw` takes the next rows of a sprite, top to bottom, as ``(k, width)`` red or
    ``(k, width, 3)`` RGB values with their ``(k, width)`` alpha, and returns what
    ``getImageData`` gives for them, given what earlier draws left on the canvas. Every colour
    channel is composited the same way (measured for red, green and blue).
    """

    def __init__(self, width: int, height: int, draw_rows: int = DRAW_ROWS, colours: int = 1):
        self._rows = draw_rows
        places = min(draw_rows, height)  # no more than the image has: memory stays bounded
        extra = (colours,) if colours > 1 else ()
        self._colour = np.zeros((places, width, *extra), dtype=np.uint8)  # premultiplied
        self._alpha = np.zeros((places, width), dtype=np.uint8)
        self._y = 0  # the sprite row drawn next

    def draw(self, colour: U8, alpha: U8 | None) -> U8:
        out = np.empty_like(colour)
        done = 0
        while done < colour.shape[0]:
            at = self._y % self._rows
            n = min(colour.shape[0] - done, self._rows - at)
            rows = slice(done, done + n)
            a = np.full(colour.shape[:2], 255, np.uint8)[rows] if alpha is None else alpha[rows]
            out[rows] = self._over(colour[rows], a, slice(at, at + n))
            done += n
            self._y += n
        return out

    def _over(self, colour: U8, alpha: U8, place: slice) -> U8:
        """Source-over onto the stored pixels at ``place`` (Skia's SkPMSrcOver), read back."""
        keep = 256 - alpha.astype(np.uint16)
        per = alpha[..., None] if colour.ndim == 3 else alpha  # alpha for each colour sample
        keep_per = keep[..., None] if colour.ndim == 3 else keep
        self._colour[place] = premultiply_table()[per, colour] + (
            self._colour[place] * keep_per >> 8
        )
        self._alpha[place] = alpha + (self._alpha[place] * keep >> 8)
        stored = self._alpha[place][..., None] if colour.ndim == 3 else self._alpha[place]
        out: U8 = unpremultiply_table()[stored, self._colour[place]]
        return out


def colour_warning(chunks: dict[str, bytes]) -> str | None:
    """What a browser would do to the colours because of these chunks, or None if nothing.

    Measured: an sRGB chunk, gAMA 1/2.2 and cHRM alone change nothing; any other gAMA, or an
    iCCP profile, makes the canvas colour-correct (gamma 1.0: 128 becomes 188).
    """
    if "sRGB" in chunks:  # PNG spec 11.3.3.5: sRGB overrides gAMA and cHRM
        return None
    named = []
    if "iCCP" in chunks:
        name = chunks["iCCP"].split(b"\0", 1)[0].decode("latin-1", "replace")
        named.append(f"iCCP (colour profile {name!r})")
    gamma = chunks.get("gAMA")
    if gamma is not None and len(gamma) == 4:
        value = struct.unpack(">I", gamma)[0]
        if value != SRGB_GAMMA:
            named.append(f"gAMA {value / 100000:g}")
            if "cHRM" in chunks:
                named.append("cHRM")
    if not named:
        return None
    return (
        f"{' and '.join(named)}: a browser's canvas colour-corrects this PNG, so TensorFlow.js "
        "gets other values than the stored ones, which are what this tool gives"
    )
