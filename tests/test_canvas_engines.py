"""Each engine's canvas rule (mnist_sprite/png/canvas.py), pinned: the digest of the 256 x 256
(alpha, red) -> red table each engine gave (make browser-check CASES=ci measures it again in the
engine itself), and properties of its premultiply, unpremultiply and compositing against a
one-pixel reference written from the rule's description."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnist_sprite.png.canvas import (
    ENGINES,
    FIREFOX_RECIPROCAL,
    TALLEST_ROWS,
    Canvas,
    alpha_table,
    check_engine,
    engines_that_cannot_draw,
    premultiply_table,
    unpremultiply_table,
)

# sha256 of alpha_table(engine).tobytes(), as measured: Chromium 156.0.8078.114, Firefox ESR
# 153.8.0, WebKitGTK 2.50.6 (an RGBA and a gray+alpha PNG of every value at every alpha gave the
# same table in each).
MEASURED_SHA256 = {
    "chromium": "5805d98ecffab5131be54d19085a2ac8d0010ac65c6b484729fe2763308b889e",
    "firefox": "74a8b476fb51f8db49d02fb0b712901c1a21ded4b3f536811ac38b3ff61a501e",
    "webkit": "ce31fa7c855044380f93c37adf034fd38c6c831d46cc13231647431780756674",
}
f32 = np.float32


def premultiply(engine: str, c: int, a: int) -> int:
    if engine == "chromium":
        return (2 * c * a + 255) // 510  # round, halves up
    return -(-c * a // 255) if engine == "firefox" else c * a // 255  # ceil, floor


def unpremultiply(engine: str, p: int, a: int) -> int:
    if a == 0:
        return 0
    if engine == "firefox":
        return min(p * FIREFOX_RECIPROCAL[a] >> 16, 255)
    colour, alpha = f32(p) * f32(1 / 255), f32(a) * f32(1 / 255)
    if engine == "chromium":
        return int(np.rint(min(max(colour * (f32(1) / alpha), f32(0)), f32(1)) * f32(255)))
    return math.floor(min((colour / alpha) * f32(255) + f32(0.5), f32(255)))


def keep(engine: str, d: int, a: int) -> int:
    if engine == "webkit":
        x = d * (255 - a)
        return (x + (x >> 8) + 128) >> 8
    return d * (256 - a) >> 8


@pytest.mark.parametrize("engine", ENGINES)
def test_the_table_is_the_one_the_engine_gave(engine: str) -> None:
    assert hashlib.sha256(alpha_table(engine).tobytes()).hexdigest() == MEASURED_SHA256[engine]


def test_the_engines_disagree_and_chromium_is_the_default() -> None:
    tables = {e: alpha_table(e) for e in ENGINES}
    assert (alpha_table() == tables["chromium"]).all()
    assert int((tables["firefox"] != tables["chromium"]).sum()) == 37401
    assert int((tables["webkit"] != tables["chromium"]).sum()) == 32012
    # All three agree on opaque pixels and on alpha 0.
    for t in tables.values():
        assert (t[255] == np.arange(256)).all() and (t[0] == 0).all()
    with pytest.raises(ValueError, match="unknown browser engine 'safari'"):
        check_engine("safari")


@pytest.mark.parametrize("engine", ENGINES)
@given(c=st.integers(0, 255), a=st.integers(0, 255))
def test_premultiply_unpremultiply_and_the_table_follow_the_rule(
    engine: str, c: int, a: int
) -> None:
    p = premultiply(engine, c, a)
    assert int(premultiply_table(engine)[a, c]) == p and 0 <= p <= a
    assert int(unpremultiply_table(engine)[a, p]) == unpremultiply(engine, p, a)
    assert int(alpha_table(engine)[a, c]) == unpremultiply(engine, p, a)


@pytest.mark.parametrize("engine", ENGINES)
@given(pixels=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=1, max_size=6))
def test_draws_composite_as_the_engine_blends(engine: str, pixels: list[tuple[int, int]]) -> None:
    # One canvas pixel, drawn once per (red, alpha), never cleared.
    canvas = Canvas(1, len(pixels), draw_rows=1, engine=engine)
    colour = alpha = 0
    for red, a in pixels:
        got = canvas.draw(np.array([[red]], np.uint8), np.array([[a]], np.uint8))
        colour = premultiply(engine, red, a) + keep(engine, colour, a)
        alpha = a + keep(engine, alpha, a)
        assert 0 <= colour <= alpha <= 255
        assert int(got[0, 0]) == unpremultiply(engine, colour, alpha)


def test_firefox_draws_nothing_from_65536_rows() -> None:
    assert TALLEST_ROWS["firefox"] == 65_535
    assert engines_that_cannot_draw(65_535) == []
    assert engines_that_cannot_draw(65_536) == ["firefox"]
