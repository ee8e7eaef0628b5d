"""Your own images in the browser check: a folder of class folders of image files (JPEGs of
every subsampling, progressive, grayscale and EXIF orientation; WebP lossy and lossless, GIF
and BMP; PNGs with every alpha) drawn
by each engine as a page draws them (``page/pictures.js``), against ``mnist-sprite pack`` of
the same folder with ``--browser ENGINE``: every value, as float32 bits."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_sprite.formats.pngdir import PngDirReader
from mnist_sprite.imaging import Recipe
from mnist_sprite.png import read_image
from tests.browser.check import DIFFER, ERROR, MATCH, PAGE, f32, first_difference, serve_page
from tests.browser.engines import Broken, Engine
from tests.cli_kit import packed


@dataclass(frozen=True)
class Pictures:
    """A folder of class folders of images, and the --alpha rule a page and pack apply."""

    name: str
    folder: Path
    alpha: str | None = None  # None: opaque images; the page draws them as they are


def expected(case: Pictures, engine: str, work: Path) -> np.ndarray[Any, Any]:
    """``mnist-sprite pack`` of the folder for ``engine``: its values / 255 as float32, in
    file order (``--test-size 0``: every image, as the folder lists them)."""
    out = work / f"pack-{engine}"
    work.mkdir(parents=True, exist_ok=True)
    channels = "gray" if case.alpha == "ink" else "rgb"
    argv = [sys.executable, "-m", "mnist_sprite", "pack", str(case.folder), "--out", str(out),
            "--test-size", "0", "--channels", channels, "--browser", engine, "-q"]  # fmt: skip
    if case.alpha is not None:
        argv += ["--alpha", case.alpha]
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise ValueError(f"pack: {done.stderr.strip()}")
    sprite = read_image(packed(out)[0])
    values = sprite.reshape(-1).astype(np.float64) / 255
    return np.ascontiguousarray(values, dtype="<f4")


def run_pictures(case: Pictures, engines: list[Engine | Broken], control: str | None) -> int:
    """The case in each engine: one verdict line each."""
    order = [p for p, _ in PngDirReader(case.folder, Recipe()).files("train")]
    urls = [f"img/{i}{p.suffix}" for i, p in enumerate(order)]
    codes = []
    for engine in engines:  # a Broken engine: serve_page gives its ERROR line
        with tempfile.TemporaryDirectory(prefix="browser-pictures-") as tmp:
            try:
                want = expected(case, engine.name, Path(tmp))
            except ValueError as e:
                print(f"browser: ERROR {e} ({case.name})")
                codes.append(ERROR)
                continue
        config = {"images": urls, "alpha": case.alpha, "values": int(want.size),
                  "control": control}  # fmt: skip
        files: dict[str, Path | bytes] = {f"/{p.name}": p for p in PAGE.iterdir()}
        files |= {f"/{u}": p for u, p in zip(urls, order, strict=True)}
        files["/config.json"] = json.dumps(config).encode()
        run = serve_page(engine, files, "pictures.html", want.nbytes, 0, case.name)
        if run is None or isinstance(engine, Broken):
            codes.append(ERROR)
            continue
        _, got, _ = run
        per = want.size // max(len(order), 1)
        problem = first_difference(
            "images", np.frombuffer(got[: len(got) // 4 * 4], "<u4"), want.view("<u4"), per, f32
        )
        if problem is not None:
            print(f"browser: DIFFER {engine.title}: {problem} ({case.name})")
            codes.append(DIFFER)
        else:
            digest = hashlib.sha256(want.tobytes()).hexdigest()
            print(f"browser: MATCH {engine.title}: images sha256 {digest} ({case.name})")
            codes.append(MATCH)
    return max(codes, default=ERROR)


def jpeg_folder(root: Path) -> Path:
    """JPEGs as phones and editors write them: 4:4:4, 4:2:2 and 4:2:0, baseline and
    progressive, grayscale, and every EXIF orientation 1-8 (square, so every one packs at one
    size; odd sides, so chroma's edges are met)."""
    from PIL import Image

    rng = np.random.default_rng(36)
    side = 37
    smooth = np.cumsum(rng.integers(-9, 10, (side, side, 3)), axis=1) % 256
    for name, (subsampling, progressive) in {
        "s444": (0, False), "s422": (1, False), "s420": (2, False), "progressive": (2, True),
    }.items():  # fmt: skip
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = ((smooth + 40 * i) % 256).astype(np.uint8)
            options = {"quality": 90, "subsampling": subsampling, "progressive": progressive}
            Image.fromarray(pixels).save(root / name / f"{i}.jpg", **options)
    (root / "gray").mkdir()
    for i in range(3):
        Image.fromarray(smooth[..., 0].astype(np.uint8)).save(root / "gray" / f"{i}.jpg")
    (root / "exif").mkdir()
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        pixels = rng.integers(0, 256, (side, side, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(root / "exif" / f"{orientation}.jpg", exif=exif, quality=92)
    return root


def formats_folder(root: Path) -> Path:
    """WebP (lossy and lossless), GIF and BMP, opaque, through Pillow as pack reads them."""
    from PIL import Image

    rng = np.random.default_rng(37)
    side = 37
    smooth = (np.cumsum(rng.integers(-9, 10, (side, side, 3)), axis=0) % 256).astype(np.uint8)
    saves = {
        "webp-lossy": ("webp", {"quality": 80}),
        "webp-lossless": ("webp", {"lossless": True}),
        "gif": ("gif", {}),
        "bmp": ("bmp", {}),
    }
    for name, (suffix, options) in saves.items():
        (root / name).mkdir(parents=True)
        for i in range(2):
            pixels = np.roll(smooth, 5 * i, axis=1)
            image = Image.fromarray(pixels)
            if suffix == "gif":
                image = image.quantize(256)
            image.save(root / name / f"{i}.{suffix}", **options)
    return root


def alpha_folder(root: Path, side: int) -> Path:
    """RGBA PNGs of random colours at every alpha 0..255, ``side`` x ``side`` (16: WebKit's
    CPU canvas; 136: its GPU canvas)."""
    from PIL import Image

    rng = np.random.default_rng(side)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(2):
            rgba = rng.integers(0, 256, (side, side, 4)).astype(np.uint8)
            rgba[..., 3].flat[:256] = np.arange(256)
            buf = io.BytesIO()
            Image.fromarray(rgba, "RGBA").save(buf, "PNG")
            (root / name / f"{i}.png").write_bytes(buf.getvalue())
    return root


def picture_cases(folder: Path) -> list[Pictures]:
    made = [
        Pictures("your own images: JPEGs", jpeg_folder(folder / "jpegs")),
        Pictures("your own images: WebP, GIF, BMP", formats_folder(folder / "formats")),
    ]
    for side in (16, 136):
        alphas = alpha_folder(folder / f"alpha{side}", side)
        for rule in ("ink", "white", "black", "ignore"):
            made.append(Pictures(f"your own images: {side}x{side} RGBA, --alpha {rule}", alphas,
                                 rule))  # fmt: skip
    return made
