"""Pixel values both ways: a byte ``k`` (0..255) as the value TensorFlow.js makes of it,
``k / 255`` in a float type, and such a value back to its ``k``. The pipeline, the CSV
format's texts and pack's check of float sources all use these, so they agree by design."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

# float16 arithmetic in numpy rounds twice, so float16 takes correctly rounded values.
_FLOAT16 = (np.arange(256, dtype=np.float64) / 255).astype(np.float16)


def k_over_255(k: npt.NDArray[Any], dtype: str | np.dtype[Any]) -> npt.NDArray[Any]:
    """``k / 255`` in ``dtype`` (a float type), exactly as TensorFlow.js stores it.

    TensorFlow.js divides in float64 and stores float32: ``float32(v / 255)``. An IEEE
    division in float32 (or float64) is correctly rounded, so it gives exactly those values,
    and fast; multiplying by ``1/255`` would differ for 126 of the 256.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        table: npt.NDArray[Any] = _FLOAT16[k]
        return table
    values: npt.NDArray[Any] = np.divide(k, dtype.type(255), dtype=dtype)
    return values


def converter(dtype: str) -> Callable[[npt.NDArray[np.uint8]], npt.NDArray[Any]]:
    """Pixel values 0..255 -> output values in ``dtype`` (uint8: as they are)."""
    if dtype == "uint8":
        return lambda block: block
    return lambda block: k_over_255(block, dtype)


def nearest_k(values: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """The byte each value of 0..1 stands for, ``rint(v * 255)``, clipped to 0..255 (uint8
    values: as they are). Whether it was exactly that ``k / 255`` is the caller's to check."""
    if values.dtype == np.uint8:
        return values
    k = np.rint(np.asarray(values, dtype=np.float64) * 255).clip(0, 255).astype(np.uint8)
    return k
