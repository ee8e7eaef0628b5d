"""The numpy unfilter equals pypng's own reconstruction, byte for byte, for every filter mix."""

from __future__ import annotations

from typing import Any

import numpy as np
import png
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_sprite.png.unfilter import unfilter_block


def pypng_rows(block: np.ndarray[Any, Any], prev: np.ndarray[Any, Any], bpp: int) -> Any:
    """pypng's ``Reader.undo_filter``, one scanline after another (the reference)."""
    reader = png.Reader(bytes=b"")
    reader.psize = bpp
    previous = bytearray(prev.tobytes())
    out = []
    for row in block:
        line = reader.undo_filter(int(row[0]), bytearray(row[1:].tobytes()), previous)
        out.append(list(line))
        previous = bytearray(line)
    return np.array(out, dtype=np.uint8).reshape(block.shape[0], block.shape[1] - 1)


def make_block(rng: np.random.Generator, k: int, stride: int, filters: Any) -> Any:
    block = rng.integers(0, 256, (k, stride + 1), dtype=np.uint8)
    block[:, 0] = filters
    return block


@settings(max_examples=300, deadline=None)
@given(
    k=st.integers(1, 40),
    pixels=st.integers(1, 30),
    bpp=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    filters=st.lists(st.integers(0, 4), min_size=1, max_size=40),
)
def test_mixed_filters_equal_pypng(
    k: int, pixels: int, bpp: int, seed: int, filters: list[int]
) -> None:
    rng = np.random.default_rng(seed)
    block = make_block(rng, k, pixels * bpp, [filters[i % len(filters)] for i in range(k)])
    prev = rng.integers(0, 256, pixels * bpp, dtype=np.uint8)
    before = block.copy(), prev.copy()
    assert np.array_equal(unfilter_block(block, prev, bpp), pypng_rows(block, prev, bpp))
    assert np.array_equal(block, before[0]) and np.array_equal(prev, before[1])


@settings(max_examples=100, deadline=None)
@given(k=st.integers(2, 40), cut=st.integers(1, 39), bpp=st.sampled_from([1, 3, 4]),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_blocks_chain_through_prev(k: int, cut: int, bpp: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    block = make_block(rng, k, 12 * bpp, rng.integers(0, 5, k))
    prev = np.zeros(12 * bpp, np.uint8)
    cut = min(cut, k - 1)
    first = unfilter_block(block[:cut], prev, bpp)
    second = unfilter_block(block[cut:], first[-1], bpp)
    assert np.array_equal(np.vstack([first, second]), unfilter_block(block, prev, bpp))


@pytest.mark.parametrize("kind", range(5))
@pytest.mark.parametrize("bpp", [1, 2, 6])
def test_long_runs_of_one_filter_equal_pypng(kind: int, bpp: int) -> None:
    rng = np.random.default_rng(kind * 10 + bpp)
    block = make_block(rng, 300, 50 * bpp, kind)
    block[100:140, 1:] = 0  # flat stretches, as in digits
    prev = rng.integers(0, 256, 50 * bpp, dtype=np.uint8)
    assert np.array_equal(unfilter_block(block, prev, bpp), pypng_rows(block, prev, bpp))


def test_single_row_and_single_byte() -> None:
    for kind in range(5):
        block = np.array([[kind, 200]], np.uint8)
        prev = np.array([100], np.uint8)
        assert np.array_equal(unfilter_block(block, prev, 1), pypng_rows(block, prev, 1))


def test_paeth_rows_equal_pypng_on_many_short_chains() -> None:
    rng = np.random.default_rng(5)
    filters = rng.choice([0, 1, 2, 3, 4], 500, p=[0.3, 0.1, 0.2, 0.2, 0.2])
    block = make_block(rng, 500, 64, filters)
    prev = rng.integers(0, 256, 64, dtype=np.uint8)
    assert np.array_equal(unfilter_block(block, prev, 1), pypng_rows(block, prev, 1))


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(48, 130),
    pixels=st.integers(1, 70),
    bpp=st.sampled_from([1, 2, 3, 4, 6, 8]),
    kind=st.sampled_from([3, 4]),
    seed=st.integers(0, 2**32 - 1),
)
def test_long_average_and_paeth_runs_equal_pypng(
    m: int, pixels: int, bpp: int, kind: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    block = make_block(rng, m + 2, pixels * bpp, [0] + [kind] * m + [2])
    prev = rng.integers(0, 256, pixels * bpp, dtype=np.uint8)
    assert np.array_equal(unfilter_block(block, prev, bpp), pypng_rows(block, prev, bpp))
