"""The operations pack applies to an image, each exact and each TensorFlow.js's own where it
defines one: ``tf.image.resizeBilinear`` and ``tf.image.rgbToGrayscale`` as its CPU backend
computes them (tfjs-backend-cpu's ResizeBilinear, tfjs-core's rgb_to_grayscale), then rounded
half up as ``Math.round`` rounds; the box average over each output pixel's exact footprint;
and the centre crop or pad that keeps an aspect ratio. ``tests/test_imaging.py`` holds each
against ``@tensorflow/tfjs`` under Node.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F32 = np.float32
# tf.image.rgbToGrayscale's weights, as a float32 tensor holds them.
GRAY_WEIGHTS = (F32(0.2989), F32(0.5870), F32(0.1140))


def round_half_up(values: npt.NDArray[np.floating]) -> U8:
    """``Math.round`` of each value (halves up), as bytes: values lie in 0..255."""
    out: U8 = np.floor(values.astype(np.float64) + 0.5).clip(0, 255).astype(np.uint8)
    return out


def gray_float(rgb: U8) -> npt.NDArray[np.float32]:
    """``tf.image.rgbToGrayscale`` of float32 values (H, W, 3): each channel times its float32
    weight, rounded to float32 (tfjs' Multiply), summed in channel order in float64 and rounded
    to float32 once (its Sum)."""
    planes = rgb.astype(F32)
    products = [(planes[..., k] * w).astype(np.float64) for k, w in enumerate(GRAY_WEIGHTS)]
    total = (products[0] + products[1]) + products[2]
    out: npt.NDArray[np.float32] = total.astype(F32)
    return out


def to_gray(rgb: U8) -> U8:
    """``tf.image.rgbToGrayscale``, rounded: (H, W, 3) -> (H, W)."""
    return round_half_up(gray_float(rgb))


def bilinear_float(image: U8, height: int, width: int) -> npt.NDArray[np.float32]:
    """``tf.image.resizeBilinear(image, [height, width])`` with its defaults (alignCorners and
    halfPixelCenters false), as tfjs' CPU kernel computes it: the source position ``r * in /
    out`` in float64, the two neighbours' difference times the fraction, each step in float64,
    the result rounded to float32. ``image``: (H, W) or (H, W, C)."""
    old_h, old_w = image.shape[:2]
    values = image.astype(np.float64)
    rows, row_frac, rows_up = _sources(old_h, height)
    cols, col_frac, cols_up = _sources(old_w, width)
    extra = (1,) * (image.ndim - 2)
    cf = col_frac.reshape(1, width, *extra)
    top_left = values[rows][:, cols]
    top_right = values[rows][:, cols_up]
    bottom_left = values[rows_up][:, cols]
    bottom_right = values[rows_up][:, cols_up]
    top = top_left + (top_right - top_left) * cf
    bottom = bottom_left + (bottom_right - bottom_left) * cf
    rf = row_frac.reshape(height, 1, *extra)
    out: npt.NDArray[np.float32] = (top + (bottom - top) * rf).astype(F32)
    return out


def _sources(
    old: int, new: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Per output index: the floor source index, the fraction, the ceil source index."""
    ratio = old / new  # float64 division, as JavaScript's
    frac_pos = ratio * np.arange(new, dtype=np.float64)
    floor = np.maximum(0, np.floor(frac_pos)).astype(np.intp)
    ceil = np.minimum(old - 1, np.ceil(frac_pos)).astype(np.intp)
    return floor, frac_pos - floor, ceil


def bilinear(image: U8, height: int, width: int) -> U8:
    """:func:`bilinear_float`, rounded half up."""
    return round_half_up(bilinear_float(image, height, width))


@lru_cache(maxsize=64)
def _footprints(old: int, new: int) -> npt.NDArray[np.float64]:
    """(new, old) integer weights: how much of input pixel j output pixel i covers, in units
    of 1/new of an input pixel; each row sums to ``old``. Integers, so products stay exact."""
    edges_out = np.arange(new + 1, dtype=np.int64) * old  # output edges, scaled by new
    edges_in = np.arange(old + 1, dtype=np.int64) * new  # input edges, same scale
    lo = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    hi = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    weights: npt.NDArray[np.float64] = np.maximum(hi - lo, 0).astype(np.float64)
    return weights


def area(image: U8, height: int, width: int) -> U8:
    """The box average of each output pixel's exact footprint on the input, rounded half up:
    exact, as integer sums (held in float64, where every one of them is exact) over the
    footprints' integer area."""
    old_h, old_w = image.shape[:2]
    wy, wx = _footprints(old_h, height), _footprints(old_w, width)
    values = image.astype(np.float64)
    across = np.tensordot(values, wx, axes=([1], [1]))  # (H, C..., width)
    across = np.moveaxis(across, -1, 1)  # (H, width, C...)
    sums = np.tensordot(wy, across, axes=([1], [0]))  # (height, width, C...)
    whole = old_h * old_w
    # round(sums / whole), halves up, in integers: floor((2 * sums + whole) / (2 * whole)).
    out: U8 = ((2 * sums.astype(np.int64) + whole) // (2 * whole)).astype(np.uint8)
    return out


def fit_box(height: int, width: int, target: tuple[int, int]) -> tuple[int, int]:
    """The (height, width) of the largest region of aspect ``target`` inside (height, width):
    what ``crop`` keeps; floor division, so it never exceeds the image."""
    th, tw = target
    if width * th > height * tw:  # wider than the target: keep the full height
        return height, max(1, height * tw // th)
    return max(1, width * th // tw), width


def crop(image: U8, target: tuple[int, int]) -> U8:
    """The centred region of ``target``'s aspect ratio (offsets rounded down)."""
    h, w = image.shape[:2]
    ch, cw = fit_box(h, w, target)
    top, left = (h - ch) // 2, (w - cw) // 2
    return image[top : top + ch, left : left + cw]


def pad(image: U8, target: tuple[int, int], value: int) -> U8:
    """The image centred on a field of ``value`` of ``target``'s aspect ratio (offsets rounded
    down): the smallest such field that holds it."""
    h, w = image.shape[:2]
    th, tw = target
    if w * th > h * tw:  # wider: add rows
        ph, pw = -(-w * th // tw), w
    else:
        ph, pw = h, -(-h * tw // th)
    out = np.full((ph, pw, *image.shape[2:]), value, np.uint8)
    top, left = (ph - h) // 2, (pw - w) // 2
    out[top : top + h, left : left + w] = image
    return out
