"""Fuzzing: a mangled PNG decodes exactly as pypng decodes it, or raises PngFormatError.

Byte flips (with and without a repaired CRC, so the damage reaches the header, the zlib
stream and the filters), truncations, chunk drops, duplications and reorders of small valid
PNGs. Never another exception, never a hang. ``make test`` runs a short pass; ``make fuzz``
runs for ``FUZZ_SECONDS`` (default 600).
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_sprite.errors import PngFormatError
from mnist_sprite.png import read_red
from tests import pngkit
from tests.test_png_decode import pypng_red


def _seeds() -> list[bytes]:
    rng = np.random.default_rng(11)
    gray = rng.integers(0, 256, (9, 12))
    gray[2:5] = 0
    rgba = rng.integers(0, 65536, (7, 5 * 4))
    pal = rng.integers(0, 5, (6, 10))
    palette = [(i * 40, 255 - i * 40, i) for i in range(5)]
    return [
        pngkit.refilter(pngkit.write_png(gray, 12, 9), [0, 1, 2, 3, 4], idat_size=40),
        pngkit.refilter(pngkit.write_png(rgba, 5, 7, color="rgba", depth=16, interlace=True), 4),
        pngkit.refilter(pngkit.write_png(pal, 10, 6, color="palette", depth=4, palette=palette), 3),
    ]


SEEDS = _seeds()

op = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("flip_fixcrc"), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
    st.tuples(st.just("drop"), st.integers(0, 50)),
    st.tuples(st.just("dup"), st.integers(0, 50)),
    st.tuples(st.just("swap"), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=16)),
)


def mangle(data: bytes, ops: list[tuple[object, ...]]) -> bytes:
    for o in ops:
        kind = o[0]
        if kind in ("flip", "insert", "truncate"):
            pos = int(o[1]) % (len(data) + 1)  # type: ignore[call-overload]
            if kind == "flip" and pos < len(data):
                data = data[:pos] + bytes([data[pos] ^ (1 << int(o[2]))]) + data[pos + 1 :]  # type: ignore[call-overload]
            elif kind == "insert":
                data = data[:pos] + o[2] + data[pos:]  # type: ignore[operator]
            elif kind == "truncate":
                data = data[:pos]
            continue
        try:
            chunks = pngkit.split_chunks(data)
        except (AssertionError, struct.error):
            continue
        if not chunks:
            continue
        n = len(chunks)
        if kind == "flip_fixcrc":
            i = int(o[1]) % n  # type: ignore[call-overload]
            ctype, body = chunks[i]
            if body:
                pos = int(o[1]) % len(body)  # type: ignore[call-overload]
                body = body[:pos] + bytes([body[pos] ^ (1 << int(o[2]))]) + body[pos + 1 :]  # type: ignore[call-overload]
            chunks[i] = (ctype, body)
        elif kind == "drop":
            del chunks[int(o[1]) % n]  # type: ignore[call-overload]
        elif kind == "dup":
            i = int(o[1]) % n  # type: ignore[call-overload]
            chunks.insert(i, chunks[i])
        elif kind == "swap":
            i, j = int(o[1]) % n, int(o[2]) % n  # type: ignore[call-overload]
            chunks[i], chunks[j] = chunks[j], chunks[i]
        data = pngkit.SIGNATURE + b"".join(pngkit.chunk(t, b) for t, b in chunks)
    return data


def check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        ours = read_red(path)
    except PngFormatError:
        return
    # We accepted it, so it is a valid PNG: pypng must agree, pixel for pixel.
    assert np.array_equal(ours, pypng_red(data))


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.sampled_from(SEEDS), ops=st.lists(op, min_size=1, max_size=4))
def test_mangled_png_decodes_exactly_or_is_refused(
    tmp_path: Path, seed: bytes, ops: list[tuple[object, ...]]
) -> None:
    check(tmp_path / "f.png", mangle(seed, ops))


def test_seed_images_are_valid() -> None:
    for data in SEEDS:
        assert pngkit.header_of(data).width > 0
        zlib.decompress(b"".join(b for t, b in pngkit.split_chunks(data) if t == b"IDAT"))


@pytest.mark.skipif("FUZZ_SECONDS" not in os.environ, reason="make fuzz runs this")
def test_long_fuzz(tmp_path: Path) -> None:
    deadline = time.monotonic() + float(os.environ["FUZZ_SECONDS"])
    runs = 0
    while time.monotonic() < deadline:
        test_mangled_png_decodes_exactly_or_is_refused(tmp_path)  # type: ignore[call-arg]
        runs += 1
    print(f"fuzzed {runs} rounds of {os.environ.get('FUZZ_EXAMPLES', '300')} examples")
