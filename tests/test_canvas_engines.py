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
    RULES,
    TALLEST_ROWS,
    Canvas,
    alpha_table,
    canvas_rule,
    check_engine,
    engines_that_cannot_draw,
    premultiply_table,
    unpremultiply_table,
)

# sha256 of alpha_table(engine).tobytes(), as measured: Chromium 156.0.8078.114, Firefox ESR
# 153.8.0, WebKitGTK 2.50.6 (an RGBA and a gray+alpha PNG of every value at every alpha gave the
# same table in each; WebKit's on a canvas of 65,536 pixels, "webkit-cpu" on canvases of 16,384
# and on one 65,536 x 1).
MEASURED_SHA256 = {
    "chromium": "5805d98ecffab5131be54d19085a2ac8d0010ac65c6b484729fe2763308b889e",
    "firefox": "74a8b476fb51f8db49d02fb0b712901c1a21ded4b3f536811ac38b3ff61a501e",
    "webkit": "ce31fa7c855044380f93c37adf034fd38c6c831d46cc13231647431780756674",
    "webkit-cpu": "74968624e13feea30e82e4a334591e9a26cf03b0d1de79ed9142d1ff856f303d",
}
# A canvas (engine, width, height) of each rule: WebKit's GPU canvas needs 16,512 pixels.
CANVAS_OF = {
    "chromium": ("chromium", 1, 1),
    "firefox": ("firefox", 1, 1),
    "webkit": ("webkit", 129, 128),
    "webkit-cpu": ("webkit", 1, 1),
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
    if engine in ("chromium", "webkit-cpu"):
        return int(np.rint(min(max(colour * (f32(1) / alpha), f32(0)), f32(1)) * f32(255)))
    return math.floor(min((colour / alpha) * f32(255) + f32(0.5), f32(255)))


def keep(engine: str, d: int, a: int) -> int:
    if engine == "webkit":
        x = d * (255 - a)
        return (x + (x >> 8) + 128) >> 8
    return d * (256 - a) >> 8


@pytest.mark.parametrize("engine", RULES)
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


@pytest.mark.parametrize("engine", RULES)
@given(c=st.integers(0, 255), a=st.integers(0, 255))
def test_premultiply_unpremultiply_and_the_table_follow_the_rule(
    engine: str, c: int, a: int
) -> None:
    p = premultiply(engine, c, a)
    assert int(premultiply_table(engine)[a, c]) == p and 0 <= p <= a
    assert int(unpremultiply_table(engine)[a, p]) == unpremultiply(engine, p, a)
    assert int(alpha_table(engine)[a, c]) == unpremultiply(engine, p, a)


@pytest.mark.parametrize("engine", RULES)
@given(pixels=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=1, max_size=6))
def test_draws_composite_as_the_engine_blends(engine: str, pixels: list[tuple[int, int]]) -> None:
    # Every pixel of a canvas of the rule's size, drawn once per (red, alpha), never cleared.
    name, width, rows = CANVAS_OF[engine]
    canvas = Canvas(width, rows * len(pixels), draw_rows=rows, engine=name)
    colour = alpha = 0
    for red, a in pixels:
        got = canvas.draw(
            np.full((rows, width), red, np.uint8), np.full((rows, width), a, np.uint8)
        )
        assert (got == got[0, 0]).all()
        colour = premultiply(engine, red, a) + keep(engine, colour, a)
        alpha = a + keep(engine, alpha, a)
        assert 0 <= colour <= alpha <= 255
        assert int(got[0, 0]) == unpremultiply(engine, colour, alpha)


def test_webkit_draws_on_the_gpu_from_16512_pixels_up_to_16384_a_side() -> None:
    # Measured in WebKitGTK 2.50.6 (research: canvases of every size named here).
    for (w, h), rule in {
        (1, 1): "webkit-cpu", (128, 128): "webkit-cpu", (8255, 2): "webkit-cpu",
        (209, 79): "webkit-cpu", (128, 129): "webkit", (8256, 2): "webkit", (4128, 4): "webkit",
        (16384, 2): "webkit", (16385, 2): "webkit-cpu", (2, 16385): "webkit-cpu",
        (65536, 1): "webkit-cpu", (784, 5000): "webkit", (4096, 4096): "webkit",
    }.items():  # fmt: skip
        assert canvas_rule("webkit", w, h) == rule, (w, h)
        assert canvas_rule("chromium", w, h) == "chromium"
    assert canvas_rule("webkit") == "webkit"
    assert int((alpha_table("webkit-cpu") != alpha_table("webkit")).sum()) == 410


def test_firefox_draws_nothing_from_65536_rows() -> None:
    assert TALLEST_ROWS["firefox"] == 65_535
    assert engines_that_cannot_draw(65_535) == []
    assert engines_that_cannot_draw(65_536) == ["firefox"]
