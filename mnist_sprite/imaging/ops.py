"""The operations pack applies to an image, each exact and each TensorFlow.js's own where it
defines one: ``tf.image.resizeBilinear`` and ``tf.image.rgbToGrayscale`` as its CPU backend
computes them (tfjs-backend-cpu's ResizeBilinear, tfjs-core's rgb_to_grayscale), then rounded
half up as ``Math.round`` rounds; the box average over each output pixel's exact footprint;
and the centre crop or pad that keeps an aspect ratio. ``tests/test_imaging.py`` holds each
against ``@tensorflow/tfjs`` under Node.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

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


def bilinear_float(image: U8, height: int, width: int, first: int = 0) -> npt.NDArray[np.float32]:
    """``tf.image.resizeBilinear(image, [height, width])`` with its defaults (alignCorners and
    halfPixelCenters false), as tfjs' CPU kernel computes it: the source position ``r * in /
    out`` in float64, the two neighbours' difference times the fraction, each step in float64,
    the result rounded to float32. ``image``: (H, W) or (H, W, C); ``first``: the axis of H
    (1 for a stack of images (k, H, W, ...))."""
    old_h, old_w = image.shape[first : first + 2]
    values = image.astype(np.float64)
    rows, row_frac, rows_up = _sources(old_h, height)
    cols, col_frac, cols_up = _sources(old_w, width)
    shape = [1] * image.ndim
    shape[first + 1] = width
    cf = col_frac.reshape(shape)
    top, bottom = np.take(values, rows, first), np.take(values, rows_up, first)
    top = _lerp(np.take(top, cols, first + 1), np.take(top, cols_up, first + 1), cf)
    bottom = _lerp(np.take(bottom, cols, first + 1), np.take(bottom, cols_up, first + 1), cf)
    shape[first + 1], shape[first] = 1, height
    out: npt.NDArray[np.float32] = _lerp(top, bottom, row_frac.reshape(shape)).astype(F32)
    return out


def _lerp(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], t: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``a + (b - a) * t``, in that order (tfjs' kernel's)."""
    out: npt.NDArray[np.float64] = a + (b - a) * t
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


def bilinear(image: U8, height: int, width: int, first: int = 0) -> U8:
    """:func:`bilinear_float`, rounded half up."""
    return round_half_up(bilinear_float(image, height, width, first))


@lru_cache(maxsize=64)
def _footprints(
    old: int, new: int
) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]], ...]:
    """For each of ``new`` output pixels along an axis of ``old`` input pixels, its footprint
    as steps: the t-th input pixel it covers (an index per output pixel) and how much of it
    (in units of 1/new of an input pixel; 0 past the footprint's end). Each footprint's
    weights sum to ``old``."""
    i = np.arange(new, dtype=np.int64)
    lo, hi = i * old, (i + 1) * old  # the footprints, scaled by new
    first = lo // new
    steps = []
    for t in range(-(-old // new) + 1):
        j = first + t
        weight = np.maximum(0, np.minimum(hi, (j + 1) * new) - np.maximum(lo, j * new))
        steps.append((np.minimum(j, old - 1).astype(np.intp), weight))
    return tuple(steps)


_SCRATCH = threading.local()  # each thread's buffers, reused from batch to batch


def scratch(name: str, shape: tuple[int, ...], dtype: type) -> npt.NDArray[Any]:
    """This thread's buffer ``name`` of ``shape``, reused while the shape stays: fresh
    buffers of a few MB a batch cost more in page faults than the sums do."""
    held: dict[str, npt.NDArray[Any]] = _SCRATCH.__dict__.setdefault("buffers", {})
    buffer = held.get(name)
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        buffer = held[name] = np.empty(shape, dtype)
    return buffer


def _box_sums(
    values: npt.NDArray[np.integer], axis: int, new: int, dtype: type, name: str
) -> npt.NDArray[np.integer]:
    """Along ``axis``: for each of ``new`` outputs, the sum of the inputs times the length of
    their overlap with its footprint (in units of 1/new of an input pixel); exact integers of
    ``dtype``. A few multiply-adds of whole slices: the most inputs a footprint touches."""
    shape = list(values.shape)
    shape[axis] = new
    out: npt.NDArray[np.integer] = scratch(name, tuple(shape), dtype)
    out.fill(0)
    term = scratch(name + " term", tuple(shape), dtype)
    along = [1] * values.ndim
    along[axis] = new
    for rows, weight in _footprints(values.shape[axis], new):
        np.multiply(np.take(values, rows, axis), weight.astype(dtype).reshape(along), out=term)
        out += term
    return out


def area(image: U8, height: int, width: int, first: int = 0) -> U8:
    """The box average of each output pixel's exact footprint on the input, rounded half up:
    exact, in integers, over the footprint's integer area. ``first``: the axis of H (1 for a
    stack of images). (Not BLAS: its threads, meeting pack's decoding threads, cost more
    than they give.)"""
    old_h, old_w = image.shape[first : first + 2]
    whole = old_h * old_w
    # Down the columns (at most 255 x the rows a sum: uint16 up to 257 rows, else int32),
    # then along the rows (at most 255 x
    # the image's pixels, and rounding adds as much again: int32 below 2**31, else int64).
    wide = np.int32 if 2 * 255 * whole + whole < 2**31 else np.int64
    narrow = np.uint16 if 255 * old_h < 2**16 else np.int32  # half the memory to stream
    down = _box_sums(image, first, height, narrow, "down")
    sums = _box_sums(down, first + 1, width, wide, "across")
    # round(sums / whole), halves up, in integers: floor((2 * sums + whole) / (2 * whole)).
    sums *= 2
    sums += whole
    sums //= 2 * whole
    out: U8 = sums.astype(np.uint8)
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
