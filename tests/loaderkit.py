"""Fixtures for the node tests of the generated NAME.js (tests/js/): ``python -m tests.loaderkit
DIR`` writes, and lists in ``DIR/fixtures.json``:

- ``png``: PNGs of known pixels, gray and RGB, each written with one PNG filter type (and with
  all five in turn, libpng's adaptive choice, and IDAT chunks of a few bytes), with the raw
  bytes they must decode to;
- ``bad``: PNGs pack never writes (16-bit, palette, alpha, 1-bit, interlaced) or broken ones
  (truncated, no IEND, a filter type 5, too few or too many rows, not zlib), with the words
  the loader's Error must say;
- ``bundles``: real packs made by pack (gray in several shards, RGB in one, and one holding
  every byte 0..255), with their pixel bytes, one-hot labels and ``float32(k / 255)`` bits
  as numpy computes them;
- ``broken``: copies of the gray pack with one file changed (a byte, truncated, missing, a
  16-bit shard, a shard of the wrong size; the last two with NAME.json's digest updated, so
  that the decoder is what refuses them) and the file the Error must name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from mnist_sprite.packing import pack
from tests import pngkit

FILTERS: dict[str, Any] = {
    "none": pngkit.NONE,
    "sub": pngkit.SUB,
    "up": pngkit.UP,
    "average": pngkit.AVERAGE,
    "paeth": pngkit.PAETH,
    "cycle": [0, 1, 2, 3, 4],
    "adaptive": "adaptive",
}


def _pixels(rng: np.random.Generator, height: int, row_bytes: int) -> np.ndarray[Any, Any]:
    """Smooth gradients with noise and flat runs: every filter's predictor has work to do."""
    y, x = np.mgrid[0:height, 0:row_bytes]
    smooth = (x * 7 + y * 3) % 256
    noise = rng.integers(0, 256, (height, row_bytes))
    values = np.where(rng.random((height, row_bytes)) < 0.3, noise, smooth)
    values[:, : row_bytes // 5] = 255  # a flat run, and 255 + 1 wrapping in Sub and Up
    return values.astype(np.uint8)


def _bare_png(width: int, height: int, scanlines: bytes, color: int = 0) -> bytes:
    """A PNG of exactly these (filter byte + row) scanlines, hand-made."""
    return (
        pngkit.SIGNATURE
        + pngkit.ihdr(width, height, color=color)
        + pngkit.chunk(b"IDAT", zlib.compress(scanlines))
        + pngkit.chunk(b"IEND", b"")
    )


def png_cases(out: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for color, channels, (width, height) in (("gray", 1, (13, 9)), ("rgb", 3, (11, 7))):
        rows = _pixels(rng, height, width * channels)
        (out / f"{color}.raw").write_bytes(rows.tobytes())
        plain = pngkit.write_png(rows, width, height, color=color)
        for name, choice in FILTERS.items():
            for idat in (1 << 16, 5):
                file = f"{color}_{name}{'_idat5' if idat == 5 else ''}.png"
                (out / file).write_bytes(pngkit.refilter(plain, choice, idat_size=idat))
                cases.append(
                    {
                        "file": file,
                        "raw": f"{color}.raw",
                        "width": width,
                        "height": height,
                        "channels": channels,
                        "filters": name,
                    }
                )
    # Tall and wide: the inflated stream comes in many pieces, rows cut across them.
    rows = _pixels(rng, 400, 257)
    (out / "tall.raw").write_bytes(rows.tobytes())
    (out / "tall.png").write_bytes(pngkit.gray_png(rows, filters=[0, 1, 2, 3, 4, 4, 3], level=1))
    cases.append({"file": "tall.png", "raw": "tall.raw", "width": 257, "height": 400,
                  "channels": 1, "filters": "cycle"})  # fmt: skip
    return cases


def bad_cases(out: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    gray = _pixels(rng, 6, 8)
    good = pngkit.write_png(gray, 8, 6)
    scan = b"".join(b"\0" + bytes(r) for r in gray)
    made = {
        "gray16.png": (
            pngkit.write_png(gray.astype(np.uint16) * 257, 8, 6, depth=16),
            "16-bit gray",
        ),
        "gray1.png": (pngkit.write_png(gray >> 7, 8, 6, depth=1), "1-bit gray"),
        "palette.png": (
            pngkit.write_png(gray % 2, 8, 6, color="palette", palette=[(0, 0, 0), (9, 9, 9)]),
            "8-bit palette",
        ),
        "rgba.png": (
            pngkit.write_png(np.repeat(gray, 4, axis=1), 8, 6, color="rgba"),
            "8-bit RGBA",
        ),
        "gray_alpha.png": (
            pngkit.write_png(np.repeat(gray, 2, axis=1), 8, 6, color="gray_alpha"),
            "8-bit gray+alpha",
        ),
        "interlaced.png": (pngkit.write_png(gray, 8, 6, interlace=True), "Adam7-interlaced"),
        "truncated.png": (good[: len(good) // 2], "is truncated"),
        "no_iend.png": (good[:-12], "no IEND"),
        "not_png.png": (b"GIF89a" + bytes(40), "is not a PNG"),
        "filter5.png": (_bare_png(8, 6, b"\5" + scan[1:]), "filter type 5"),
        "few_rows.png": (_bare_png(8, 12, scan), "holds 6 of its 12 rows"),
        "many_rows.png": (_bare_png(8, 3, scan), "more image data than its 3 rows"),
        "not_zlib.png": (
            pngkit.SIGNATURE
            + pngkit.ihdr(8, 6)
            + pngkit.chunk(b"IDAT", bytes(range(1, 60)))
            + pngkit.chunk(b"IEND", b""),
            "does not inflate",
        ),
    }
    cases = []
    for file, (data, error) in made.items():
        (out / file).write_bytes(data)
        cases.append({"file": file, "error": error})
    return cases


def _onehot(ids: np.ndarray[Any, Any], classes: int) -> np.ndarray[Any, Any]:
    return np.eye(classes, dtype=np.uint8)[ids]


def _bundle(
    out: Path, name: str, arrays: dict[str, Any], classes: int, **options: Any
) -> dict[str, Any]:
    folder = out / name
    folder.mkdir()
    np.savez(folder / "source.npz", **arrays)
    result = pack(folder / "source.npz", folder / "pack", name="digits", workers=1, **options)
    x = np.concatenate([arrays["x_train"], arrays["x_test"]])
    y = np.concatenate([arrays["y_train"], arrays["y_test"]])
    flat = x.reshape(len(x), -1)
    (folder / "x.raw").write_bytes(flat.tobytes())
    (folder / "y.raw").write_bytes(_onehot(y, classes).tobytes())
    f32 = np.divide(flat.astype(np.float32), np.float32(255), dtype=np.float32)
    (folder / "f32.raw").write_bytes(f32.tobytes())
    facts = result.facts
    return {
        "json": f"{name}/pack/digits.json",
        "js": f"{name}/pack/digits.js",
        "x": f"{name}/x.raw",
        "y": f"{name}/y.raw",
        "f32": f"{name}/f32.raw",
        "images": facts["images"],
        "train": facts["train_images"],
        "height": facts["image_height"],
        "width": facts["image_width"],
        "channels": facts["channels"],
        "classes": facts["classes"],
        "shards": len(facts["shards"]),
    }


def bundles(out: Path, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    def split(n: int, test: int, shape: tuple[int, ...], classes: int) -> dict[str, Any]:
        x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
        y = (np.arange(n) % classes).astype(np.uint8)
        rng.shuffle(y)
        return {
            "x_train": x[:-test],
            "y_train": y[:-test],
            "x_test": x[-test:],
            "y_test": y[-test:],
        }

    every = np.arange(256, dtype=np.uint8).reshape(16, 4, 4)  # every byte, once
    ids = (np.arange(16) % 10).astype(np.uint8)
    return {
        "gray": _bundle(out, "gray", split(37, 7, (4, 5), 3), 3, shard_rows=10),
        "rgb": _bundle(out, "rgb", split(23, 5, (3, 4, 3), 4), 4),
        "every": _bundle(
            out,
            "every",
            {"x_train": every[:12], "y_train": ids[:12], "x_test": every[12:], "y_test": ids[12:]},
            10,
        ),
    }


def _replace(folder: Path, file: str, data: bytes) -> None:
    """A shard swapped for ``data``, with NAME.json's size and sha256 updated to match."""
    (folder / file).write_bytes(data)
    record = folder / "digits.json"
    facts = json.loads(record.read_text(encoding="utf-8"))
    for shard in facts["shards"]:
        for role in ("images", "labels"):
            if shard[role]["name"] == file:
                shard[role]["bytes"] = len(data)
                shard[role]["sha256"] = hashlib.sha256(data).hexdigest()
    record.write_text(json.dumps(facts), encoding="utf-8")


def broken(out: Path, gray: dict[str, Any], rng: np.random.Generator) -> list[dict[str, Any]]:
    source = (out / gray["json"]).parent
    width = gray["height"] * gray["width"]
    cases = []

    def copy(name: str) -> Path:
        folder = out / "broken" / name
        shutil.copytree(source, folder)
        return folder

    shards = json.loads((out / gray["json"]).read_text(encoding="utf-8"))["shards"]
    png = shards[1]["images"]["name"]  # digits_images_001.<sha256>.png
    data = (source / png).read_bytes()
    folder = copy("sha256")
    changed = bytearray(data)
    changed[len(data) // 2] ^= 1
    (folder / png).write_bytes(bytes(changed))
    cases.append({"name": "sha256", "file": png, "error": "sha256 differs"})

    folder = copy("truncated")
    (folder / png).write_bytes(data[: len(data) - 20])
    cases.append({"name": "truncated", "file": png, "error": f"{len(data) - 20} bytes"})

    folder = copy("missing_png")
    missing = shards[2]["images"]["name"]
    (folder / missing).unlink()
    cases.append({"name": "missing_png", "file": missing, "error": "missing"})

    folder = copy("missing_labels")
    missing = shards[3]["labels"]["name"]
    (folder / missing).unlink()
    cases.append({"name": "missing_labels", "file": missing, "error": "missing"})

    folder = copy("depth16")
    wide = rng.integers(0, 65536, (10, width), dtype=np.uint16)
    _replace(folder, png, pngkit.write_png(wide, width, 10, depth=16))
    cases.append({"name": "depth16", "file": png, "error": "16-bit gray"})

    folder = copy("size")
    _replace(folder, png, pngkit.write_png(np.zeros((9, width), np.uint8), width, 9))
    cases.append(
        {
            "name": "size",
            "file": png,
            "error": f"is {width}x9 gray, not the {width}x10 gray digits.json says",
        }
    )
    return [{**case, "json": f"broken/{case['name']}/digits.json"} for case in cases]


def own_images(out: Path, rng: np.random.Generator) -> dict[str, Any]:
    """A user's own images as pack takes them by default: class folders named 1/ 2/ 3/ of
    RGBA canvas drawings (strokes in the alpha), ``--alpha ink``, the default test part."""
    import png

    source = out / "own" / "drawings"
    for c in ("1", "2", "3"):
        (source / c).mkdir(parents=True)
        for i in range(8):
            rgba = np.zeros((6, 6, 4), np.uint8)
            rgba[1:5, int(c) : int(c) + 2, 3] = rng.integers(1, 256, (4, 2))
            with open(source / c / f"{i}.png", "wb") as f:
                png.Writer(6, 6, greyscale=False, alpha=True).write(f, rgba.reshape(6, -1))
    result = pack(source, out / "own" / "pack", name="drawings", alpha="ink", workers=1)
    facts = result.facts
    return {
        "json": "own/pack/drawings.json",
        "js": "own/pack/drawings.js",
        "images": facts["images"],
        "train": facts["train_images"],
        "classes": facts["classes"],
    }


def write_fixtures(out: Path) -> dict[str, Any]:
    """Every fixture into ``out`` (an empty or missing folder), listed in fixtures.json."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(28)
    (out / "png").mkdir()
    (out / "bad").mkdir()
    packs = bundles(out, rng)
    listing = {
        "png": png_cases(out / "png", rng),
        "bad": bad_cases(out / "bad", rng),
        "bundles": packs,
        "broken": broken(out, packs["gray"], rng),
        "own": own_images(out, rng),
    }
    # float32(k / 255) of every byte k, correctly rounded, as bits: what convert gives.
    k255 = np.divide(np.arange(256, dtype=np.float32), np.float32(255), dtype=np.float32)
    listing["k255"] = [int(v) for v in k255.view(np.uint32)]
    (out / "fixtures.json").write_text(json.dumps(listing, indent=1), encoding="utf-8")
    return listing


if __name__ == "__main__":
    write_fixtures(Path(sys.argv[1]))
