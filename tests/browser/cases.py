"""The re-encodings CI checks in the browser, made here from the bundled sample's digits: each
is a PNG encoding data.js loads differently from a plain 8-bit gray sprite (alpha composited
across draws, 16-bit samples, a palette with tRNS, Adam7), plus an RGB sprite read with
``--channels rgb``, a folder made by ``mnist-sprite pack`` from an npz (its sprite as data.js
loads it, and the folder through its NAME.js), and through their NAME.js a pack of the 32x32 RGB
sprite and a three-shard pack of a per-class .npy folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mnist_sprite.datasets import SAMPLE
from mnist_sprite.png import read_red
from tests import pngkit
from tests.browser.check import Case, packed_case
from tests.browser.packed import Packed

DRAW_ROWS = 100  # 10 draws of the 1,000-image sample, each composited onto the last


def alpha_ramp(shape: tuple[int, int]) -> np.ndarray[Any, Any]:
    """Every alpha 0..255 in every row, shifted from row to row."""
    rows, cols = np.indices(shape)
    return ((cols + 7 * rows) % 256).astype(np.uint8)


def interleave(*planes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """(h, w) planes as (h, w * len(planes)) rows of interleaved samples."""
    return np.stack(planes, axis=-1).reshape(planes[0].shape[0], -1)


def with_gama(png: bytes, gama: int) -> bytes:
    """``png`` with a gAMA chunk of ``gama`` after its IHDR."""
    chunks = pngkit.split_chunks(png)
    extra = (b"gAMA", gama.to_bytes(4, "big"))
    return pngkit.SIGNATURE + b"".join(
        pngkit.chunk(t, d) for t, d in [chunks[0], extra, *chunks[1:]]
    )


def ci_cases(folder: Path) -> list[Case | Packed]:
    paths = SAMPLE.paths()
    digits = read_red(paths["sprite"])  # (1000, 784) uint8
    labels = paths["labels"]
    n, width = digits.shape
    train = SAMPLE.train_size
    alpha = alpha_ramp(digits.shape)
    rng = np.random.default_rng(20)
    made: list[Case | Packed] = []

    def add(name: str, data: bytes, **kw: Any) -> None:
        path = folder / f"{name}.png"
        path.write_bytes(data)
        made.append(Case(name, path, kw.pop("labels", labels), train=train, **kw))

    add(
        "gray+alpha, alpha 0..255",
        pngkit.write_png(interleave(digits, alpha), width, n, color="gray_alpha"),
        draw_rows=DRAW_ROWS,
    )
    rgba = interleave(digits, 255 - digits, digits // 2, alpha)
    add("rgba, alpha 0..255", pngkit.write_png(rgba, width, n, color="rgba"), draw_rows=DRAW_ROWS)
    add(
        "rgba, alpha 0..255, --channels rgb",
        pngkit.write_png(rgba, width, n, color="rgba"),
        draw_rows=DRAW_ROWS,
        channels="rgb",
    )
    # data.js's canvas 784 x 20: under 16,512 pixels, so WebKit draws on its CPU canvas.
    add(
        "gray+alpha, alpha 0..255, a 20-row canvas",
        pngkit.write_png(interleave(digits, alpha), width, n, color="gray_alpha"),
        draw_rows=20,
    )
    add("rgba, alpha 0..255, a 20-row canvas", pngkit.write_png(rgba, width, n, color="rgba"),
        draw_rows=20)  # fmt: skip
    # gAMA: each engine's table outside its window (gamma 1.0, 0.8, and 0.4782, which only
    # Chromium corrects), gray and RGB.
    for gama in (100000, 80000, 47820):
        add(f"gAMA {gama}", with_gama(pngkit.write_png(digits, width, n), gama))
    add(
        "gAMA 100000, rgb, --channels rgb",
        with_gama(pngkit.write_png(interleave(digits, 255 - digits, digits // 3), width, n,
                                   color="rgb"), 100000),
        channels="rgb",
    )  # fmt: skip
    low = rng.integers(0, 256, digits.shape)
    add("16-bit gray", pngkit.write_png(digits.astype(np.int64) * 256 + low, width, n, depth=16))
    palette = [(k, 255 - k, k // 3, (k * 37 + 11) % 256) for k in range(256)]
    add(
        "palette with tRNS",
        pngkit.write_png(digits, width, n, color="palette", palette=palette),
        draw_rows=DRAW_ROWS,
    )
    add("interlaced", pngkit.write_png(digits, width, n, interlace=True))

    # 32x32 RGB: each digit centred in 32x32, in a different colour per channel.
    square = np.zeros((n, 32, 32), np.uint8)
    square[:, 2:30, 2:30] = digits.reshape(n, 28, 28)
    red, green = square.reshape(n, -1), square.transpose(0, 2, 1).reshape(n, -1)
    blue = rng.integers(0, 256, red.shape).astype(np.uint8)
    add(
        "32x32 rgb, --channels rgb",
        pngkit.write_png(interleave(red, green, blue), 1024, n, color="rgb"),
        image_size=(32, 32),
        channels="rgb",
    )
    rgb32 = made[-1]
    assert isinstance(rgb32, Case)

    digits_json = packed_from_npz(folder)
    made += [packed_case(digits_json), Packed(digits_json)]
    made.append(Packed(packed_from_sprite(folder, rgb32)))
    made.append(Packed(packed_per_class(folder, rng)))
    made.append(Packed(packed_tall(folder, rng)))
    return made


TOOL = [sys.executable, "-m", "mnist_sprite"]
AS_SOURCE = ["--dtype", "uint8", "--label-format", "index", "--shape", "image", "--quiet"]


def run(*argvs: list[str]) -> None:
    for argv in argvs:
        subprocess.run([*TOOL, *argv], check=True, stdin=subprocess.DEVNULL)


def packed_from_sprite(folder: Path, case: Case) -> Path:
    """A sprite case (the 32x32 RGB one) converted to an npz, then packed: NAME.json."""
    npz, out = folder / "rgb32.npz", folder / "packed-rgb32"
    run(
        [
            "convert",
            *case.source_args(),
            *AS_SOURCE,
            "--out",
            str(npz),
        ],
        ["pack", str(npz), "--out", str(out), "--name", "rgb32", "--quiet"],
    )
    return out / "rgb32.json"


PER_CLASS, CLASS_ROWS, SHARD_ROWS = 10, 300, 1000


def packed_per_class(folder: Path, rng: np.random.Generator) -> Path:
    """A folder of one (300, 784) uint8 .npy per class, as Quick, Draw! ships, packed with a
    10% test split into shards of 1,000 rows: three shards."""
    source, out = folder / "per-class", folder / "packed-per-class"
    source.mkdir()
    for k in range(PER_CLASS):
        rows = rng.integers(0, 256, (CLASS_ROWS, 784)).astype(np.uint8)
        np.save(source / f"class{k}.npy", rows)
    run(
        [
            "pack",
            str(source),
            "--out",
            str(out),
            "--name",
            "drawings",
            "--test-size",
            "0.1",
            "--shard-rows",
            str(SHARD_ROWS),
            "--quiet",
        ]
    )
    return out / "drawings.json"


TALL_ROWS = 70_000  # one sprite taller than 65,536 rows, where Firefox's canvas gave zeros


def packed_tall(folder: Path, rng: np.random.Generator) -> Path:
    """70,000 random 4x4 images in one shard: a sprite taller than 65,536 rows, kept small."""
    npz, out = folder / "tall.npz", folder / "packed-tall"
    x = rng.integers(0, 256, (TALL_ROWS, 4, 4)).astype(np.uint8)
    y = (np.arange(TALL_ROWS) % 10).astype(np.uint8)
    test = TALL_ROWS // 10
    np.savez(npz, x_train=x[:-test], y_train=y[:-test], x_test=x[-test:], y_test=y[-test:])
    # One shard past pack's default (65,535 rows, Firefox's canvas limit): NAME.js decodes it.
    run(["pack", str(npz), "--out", str(out), "--name", "tall", "--shard-rows", "70000", "-q"])
    return out / "tall.json"


def packed_from_npz(folder: Path) -> Path:
    """The sample converted to a keras-style npz, then ``mnist-sprite pack``ed."""
    npz, out = folder / "keras.npz", folder / "packed"
    tool = [sys.executable, "-m", "mnist_sprite"]
    for argv in (
        [
            *tool,
            "convert",
            "--dataset",
            "sample",
            "--dtype",
            "uint8",
            "--label-format",
            "index",
            "--shape",
            "image",
            "--out",
            str(npz),
            "--quiet",
        ],
        [*tool, "pack", str(npz), "--out", str(out), "--name", "digits", "--quiet"],
    ):
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    return out / "digits.json"
