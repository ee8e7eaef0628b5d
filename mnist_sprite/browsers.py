"""What each browser engine makes of a sprite: the engines that would draw nothing of it, and
how many values each engine's canvas gives otherwise than the one an output is made for.

The rules themselves are png/canvas.py's (measured in each engine); this module only asks
them about one sprite, for convert's and inspect's warnings.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .errors import PathLike
from .png import PngFile
from .png.canvas import ENGINES, MEASURED, TALLEST_ROWS, engines_that_cannot_draw


def tall_warning(path: PathLike, height: int) -> str | None:
    """A warning when some engine draws nothing of an image ``height`` rows tall."""
    refuse = engines_that_cannot_draw(height)
    if not refuse:
        return None
    limits = ", ".join(f"{e} at most {TALLEST_ROWS[e]:,}" for e in refuse)
    return (
        f"{path}: is {height:,} rows tall, and {', '.join(refuse)} draw(s) nothing of an image "
        f"that tall ({limits} rows; every value would read 0, with no error); pack it to "
        "shards for the browser (mnist-sprite pack)"
    )


def differences(path: PathLike, *, draw_rows: int, rgb: bool) -> dict[str, int]:
    """Values each engine's canvas gives otherwise than Chromium's, the sprite decoded once
    per engine, side by side (for a sprite whose values can differ: transparency, 16-bit
    samples or gAMA; any other sprite is the same everywhere, and not decoded)."""
    counts: dict[str, int] = dict.fromkeys(ENGINES, 0)
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(PngFile(path)) for _ in ENGINES]
        if not files[0].engine_dependent:
            return counts
        streams = [
            f.canvas_blocks(draw_rows=draw_rows, rgb=rgb, engine=e)
            for f, e in zip(files, ENGINES, strict=True)
        ]
        for blocks in zip(*streams, strict=True):
            for engine, block in zip(ENGINES, blocks, strict=True):
                counts[engine] += int(np.count_nonzero(block != blocks[0]))
    return counts


def agreement(counts: dict[str, int]) -> dict[str, Any]:
    """For inspect: the engines whose canvases give the same values, and the others' counts
    of values that differ from the first engine's."""
    return {
        "agree": [e for e in ENGINES if counts[e] == 0],
        "differ": {e: counts[e] for e in ENGINES if counts[e]},
        "measured": dict(MEASURED),
    }


def disagreement_warning(
    path: PathLike, counts: dict[str, int], total: int, browser: str
) -> str | None:
    """One warning line when engines' canvases disagree on ``path``, naming them and how
    many values differ; None when every engine gives the same values."""
    first = ENGINES[0]
    if not any(counts.values()):
        return None
    differ = ", ".join(f"{e} {counts[e]:,}" for e in ENGINES if counts[e])
    return (
        f"{path}: browsers' canvases disagree on its pixels (transparency, 16-bit samples "
        f"or a gAMA correction): of {total:,} values, these differ from {first}'s: {differ}; "
        f"this output is {browser}'s (--browser chromium, firefox or webkit for another)"
    )
