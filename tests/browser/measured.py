"""Cases of the browser check that measure each engine's canvas again, in the engine itself, and
compare it with what mnist_sprite.png.canvas says of that engine:

- ``canvas rule``: an RGBA and a gray+alpha PNG of every value at every alpha (256 x 256), a
  16-bit gray PNG of all 65,536 values, and three draws of 1,048,576 random RGBA pixels onto one
  canvas (the compositing of data.js's draws), against ``alpha_table``, ``sixteen_to_eight`` and
  ``Canvas``; and the same on small canvases (every value at every alpha in four 128 x 128
  quarters, three draws onto 128 x 128) and on canvases either side of WebKit's GPU threshold
  (``canvas_rule``: 8,255 x 2 and 8,256 x 2, 16,384 x 2 and 16,385 x 2), each against the rule
  for its size;
- ``tallest image``: images 4 pixels wide and 65,535, 65,536 and 200,000 rows tall, drawn or not
  as ``TALLEST_ROWS`` says;
- ``noise``: Firefox with ``privacy.resistFingerprinting`` must DIFFER on the sample (its canvas
  adds noise), and that passes.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import numpy as np

from mnist_sprite.png.canvas import (
    TALLEST_ROWS,
    Canvas,
    alpha_table,
    canvas_rule,
    check_engine,
    sixteen_to_eight,
)
from tests import pngkit
from tests.browser.check import DIFFER, ERROR, MATCH, Case, run_case
from tests.browser.engines import Broken, Engine
from tests.browser.packed import Packed, run_packed
from tests.browser.probe import Step, measure, png_bytes

HEIGHTS = (65_535, 65_536, 200_000)
COMPOSITE = (256, 4096, 3)  # canvas rows, width, draws
SMALL = 128  # the small canvases: 128 x 128, under WebKit's GPU threshold
# Canvases either side of WebKit's GPU threshold: 16,512 pixels, 16,384 a side.
EDGES = ((8255, 2), (8256, 2), (16384, 2), (16385, 2))
RFP = {"privacy.resistFingerprinting": True}


def rule_steps() -> list[Step]:
    a, v = np.indices((256, 256))
    rgba = np.stack([v, 255 - v, v // 2 + (v & 1) * 128, a], -1).astype(np.uint8)
    gray_alpha = np.stack([v, a], -1).astype(np.uint8)
    rows, width, draws = COMPOSITE
    random = np.random.default_rng(7).integers(0, 256, (rows * draws, width, 4)).astype(np.uint8)
    sixteen = pngkit.write_png(np.arange(65536).reshape(256, 256), 256, 256, depth=16)
    whole = ((0, 0, 256, 256),)
    small = ((0, 0, SMALL, SMALL),)
    quarters = [
        Step(f"rgba_q{i}", png_bytes(rgba[y : y + SMALL, x : x + SMALL]), SMALL, SMALL, small)
        for i, (y, x) in enumerate(((0, 0), (0, SMALL), (SMALL, 0), (SMALL, SMALL)))
    ]
    tied = np.random.default_rng(8).integers(0, 256, (SMALL * 3, SMALL, 4)).astype(np.uint8)
    edges = [
        Step(f"edge{w}x{h}", png_bytes(tie_pixels(w, h)), w, h, ((0, 0, w, h),)) for w, h in EDGES
    ]
    return [
        *quarters,
        Step(
            "composite_small",
            png_bytes(tied),
            SMALL,
            SMALL,
            tuple((0, i * SMALL, SMALL, SMALL) for i in range(3)),
        ),
        *edges,
        Step("rgba", png_bytes(rgba), 256, 256, whole),
        Step("gray_alpha", png_bytes(gray_alpha), 256, 256, whole),
        Step("sixteen", sixteen, 256, 256, whole),
        Step(
            "composite",
            png_bytes(random),
            width,
            rows,
            tuple((0, i * rows, width, rows) for i in range(draws)),
        ),
    ]


def tie_pixels(width: int, height: int) -> np.ndarray[Any, Any]:
    """RGBA pixels whose (red, alpha) are each one of the 410 pairs WebKit's GPU and CPU
    canvases give differently (red = green = blue)."""
    alphas, reds = np.nonzero(alpha_table("webkit") != alpha_table("webkit-cpu"))
    k = np.random.default_rng(width * height).integers(0, len(alphas), width * height)
    pixels = np.stack([reds[k], reds[k], reds[k], alphas[k]], -1).astype(np.uint8)
    return pixels.reshape(height, width, 4)


def rule_problems(engine: str, reads: dict[str, Any], steps: list[Step]) -> list[str]:
    """How the engine's canvas differs from our rule for it."""
    check_engine(engine)
    problems = []
    table = alpha_table(engine)
    a = np.arange(256)[:, None]
    for name in ("rgba", "gray_alpha"):
        got = reads[name].reads[0]
        if name == "rgba":
            blue = np.arange(256) // 2 + (np.arange(256) & 1) * 128
            want = np.stack([table, table[:, ::-1], table[a, blue]], -1)
            bad = int((got[..., :3] != want).sum())
        else:
            bad = int((got[..., 0] != table).sum())
        bad += int((got[..., 3] != np.broadcast_to(a, (256, 256))).sum())
        if bad:
            digest = hashlib.sha256(np.ascontiguousarray(got[..., 0]).tobytes()).hexdigest()
            problems.append(f"{name}: {bad} values differ from our table (theirs: sha256 {digest})")
    got16 = reads["sixteen"].reads[0][..., 0]
    want16 = sixteen_to_eight(np.arange(65536, dtype=np.uint16).reshape(256, 256), engine)
    if (bad := int((got16 != want16).sum())) != 0:
        problems.append(f"16-bit gray: {bad} of 65536 values differ")
    for step in steps:
        if step.name.startswith(("rgba_q", "edge")):
            source = decode_rgba(step, 1)
            table = alpha_table(canvas_rule(engine, step.width, step.height))
            got = reads[step.name].reads[0]
            bad = int((got[..., :3] != table[source[..., 3:], source[..., :3]]).sum())
            bad += int((got[..., 3] != source[..., 3]).sum())
            if bad:
                rule = canvas_rule(engine, step.width, step.height)
                problems.append(f"{step.name}: {bad} values differ from the {rule} rule")
        if step.name.startswith("composite"):
            source = decode_rgba(step, len(step.draws))
            rows, width = step.height, step.width
            canvas = Canvas(width, rows, rows, 3, engine)
            for i in range(len(step.draws)):
                block = source[i * rows : (i + 1) * rows]
                want = canvas.draw(block[..., :3], block[..., 3])
                got = reads[step.name].reads[i][..., :3]
                if (bad := int((got != want).sum())) != 0:
                    problems.append(
                        f"{step.name}, draw {i + 1}: {bad} of {want.size} values differ"
                    )
    return problems


def decode_rgba(step: Step, blocks: int) -> np.ndarray[Any, Any]:
    """The RGBA pixels of a probe PNG (filter None, one IDAT) of ``blocks`` canvas heights, as
    (h, w, 4)."""
    chunks = dict(pngkit.split_chunks(step.png))
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8)
    h = step.height * blocks
    return raw.reshape(h, -1)[:, 1:].reshape(h, step.width, 4)


def run_rules(engines: list[Engine | Broken]) -> int:
    """The canvas rule case in each engine: one verdict line each."""
    steps = rule_steps()
    codes = []
    for engine in engines:
        if isinstance(engine, Broken):
            print(f"browser: ERROR {engine.name}: {engine.why} (canvas rule)")
            codes.append(ERROR)
            continue
        reads = measure(engine, steps)
        if isinstance(reads, str) or any(r.error for r in reads.values()):
            why = reads if isinstance(reads, str) else "a probe image did not decode"
            print(f"browser: ERROR {engine.label}: {why} (canvas rule)")
            codes.append(ERROR)
            continue
        problems = rule_problems(engine.name, reads, steps)
        if problems:
            print(f"browser: DIFFER {engine.title}: {'; '.join(problems)} (canvas rule)")
            codes.append(DIFFER)
            continue
        digest = hashlib.sha256(alpha_table(engine.name).tobytes()).hexdigest()
        print(
            f"browser: MATCH {engine.title}: every value at every alpha (RGBA and gray+alpha), "
            f"16-bit gray and {COMPOSITE[2]} composited draws of {COMPOSITE[0] * COMPOSITE[1]:,} "
            f"pixels as mnist_sprite.png.canvas's {engine.name} rule; table sha256 {digest}; "
            f"the same on {SMALL} x {SMALL} canvases and either side of WebKit's GPU threshold "
            "as the rule for each size (canvas rule)"
        )
        codes.append(MATCH)
    return max(codes, default=ERROR)


def run_tallest(engines: list[Engine | Broken]) -> int:
    """The tallest-image case in each engine: drawn up to TALLEST_ROWS, nothing past it."""
    steps = []
    for h in HEIGHTS:
        column = (1 + np.arange(h) % 255).astype(np.uint8)[:, None].repeat(4, 1)
        steps.append(Step(f"rows{h}", png_bytes(column), 4, 2, ((0, 0, 4, 2), (0, h - 2, 4, 2))))
    codes = []
    for engine in engines:
        if isinstance(engine, Broken):
            print(f"browser: ERROR {engine.name}: {engine.why} (tallest image)")
            codes.append(ERROR)
            continue
        reads = measure(engine, steps)
        if isinstance(reads, str):
            print(f"browser: ERROR {engine.label}: {reads} (tallest image)")
            codes.append(ERROR)
            continue
        limit = TALLEST_ROWS[check_engine(engine.name)]
        seen, problems = [], []
        for h, step in zip(HEIGHTS, steps, strict=True):
            read = reads[step.name]
            want = [1 + y % 255 for y in (0, 1, h - 2, h - 1)]
            drawn = read.reads is not None and [
                int(read.reads[0][0, 0, 0]), int(read.reads[0][1, 0, 0]),
                int(read.reads[1][0, 0, 0]), int(read.reads[1][1, 0, 0]),
            ] == want  # fmt: skip
            seen.append(f"{h:,} rows {'drawn' if drawn else 'not drawn'}")
            if drawn != (limit is None or h <= limit):
                problems.append(f"{h:,} rows {'drawn' if drawn else 'not drawn'}")
        said = "no limit" if limit is None else f"at most {limit:,} rows"
        if problems:
            print(
                f"browser: DIFFER {engine.title}: {', '.join(problems)}; TALLEST_ROWS says "
                f"{said} (tallest image)"
            )
            codes.append(DIFFER)
        else:
            print(f"browser: MATCH {engine.title}: {', '.join(seen)}: {said} (tallest image)")
            codes.append(MATCH)
    return max(codes, default=ERROR)


def run_noise(engines: list[Engine | Broken], case: Case) -> int:
    """Firefox with privacy.resistFingerprinting on a data.js-style read: it must DIFFER."""
    firefox = [e for e in engines if e.name == "firefox"]
    if not firefox:
        return MATCH
    engine = firefox[0]
    if isinstance(engine, Broken):
        return run_case(case, [engine], noise=True)
    return run_case(case, [engine.with_prefs("resistFingerprinting", RFP)], noise=True)


def run_loader_noise(engines: list[Engine | Broken], packed: Packed) -> int:
    """Firefox with privacy.resistFingerprinting loading a pack through its NAME.js, which
    decodes the PNG itself and reads no canvas: it must MATCH."""
    firefox = [e for e in engines if e.name == "firefox"]
    if not firefox or isinstance(firefox[0], Broken):
        return MATCH if not firefox else run_packed(packed, [firefox[0]], node=False)
    return run_packed(packed, [firefox[0].with_prefs("resistFingerprinting", RFP)], node=False)
