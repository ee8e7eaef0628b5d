"""``make bench``: pack of 10,000 JPEG photos of 320x240 into a 64x64 RGB sprite,
against a straightforward Pillow loop (open, ``exif_transpose``, ``convert("RGB")``,
``resize((64, 64))``, ``np.stack``, pypng's write of the sprite).

Targets: peak RSS of the pack process <= 300 MB; its time <= 0.7x the loop's, as the median
of paired runs (alternating which goes first) in one ``make bench``. Both cores may work.

The photos are smooth colour waves with noise, so they compress as photos do (about 16 KB
each, where noise alone would be 60 KB); made once in a child process, kept in
``.bench/photos/``, ten class folders.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PHOTOS = 10_000
CLASSES = 10
RSS_TARGET_MB = 300.0
TIME_TARGET = 0.7

PILLOW_LOOP = """
import sys, numpy as np, png
from pathlib import Path
from PIL import Image, ImageOps
root, out = Path(sys.argv[1]), sys.argv[2]
rows = []
for p in sorted(root.rglob("*.jpg")):
    with Image.open(p) as im:
        im = ImageOps.exif_transpose(im).convert("RGB").resize((64, 64))
        rows.append(np.asarray(im).reshape(-1))
x = np.stack(rows)
with open(out, "wb") as f:
    png.Writer(x.shape[1] // 3, x.shape[0], greyscale=False).write(f, x)
"""


def make_photos(folder: Path, count: int = PHOTOS) -> None:
    """``count`` 320x240 JPEGs in ``CLASSES`` class folders."""
    from PIL import Image

    rng = np.random.default_rng(36)
    yy, xx = np.mgrid[0:240, 0:320]
    for i in range(count):
        c = folder / f"class{i % CLASSES}"
        c.mkdir(parents=True, exist_ok=True)
        f, p = rng.uniform(0.01, 0.05, 3), rng.uniform(0, 6, 3)
        waves = [127 + 100 * np.sin(xx * f[k] + yy * f[(k + 1) % 3] + p[k]) for k in range(3)]
        image = np.stack(waves, -1) + rng.normal(0, 6, (240, 320, 3))
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(c / f"{i:05d}.jpg", quality=85)
    folder.with_suffix(".complete").write_text("")  # beside it: pack reads every entry


def photos(exe: str, cache: Path) -> Path:
    folder = cache / "photos"
    if not folder.with_suffix(".complete").is_file():
        code = "import sys; from pathlib import Path; from tests.bench.own_images import " \
               "make_photos; make_photos(Path(sys.argv[1]))"  # fmt: skip
        subprocess.run([exe, "-c", code, str(folder)], check=True, stdin=subprocess.DEVNULL)
    return folder


def main(only: str | None, exe: str, cli: str, cache: Path, runs: int) -> None:
    """``make bench``'s entry: print this case's table (skipped by ``--only`` another case)."""
    if only is not None and only != "own-images":
        return
    from tests.bench.__main__ import paired, timed

    folder = photos(exe, cache)
    with tempfile.TemporaryDirectory(prefix="own-images-", dir=cache) as tmp:
        web = Path(tmp) / "web"
        ours = [cli, "pack", str(folder), "--out", str(web), "--name", "photos", "--resize",
                "64x64", "--channels", "rgb", "--test-size", "0", "--force", "-q"]  # fmt: skip
        theirs = [exe, "-c", PILLOW_LOOP, str(folder), str(Path(tmp) / "pil.png")]
        seconds, pil, ratio, cpu = paired(ours, theirs, runs)
        _, peak = timed(ours)
    met = ratio <= TIME_TARGET and peak <= RSS_TARGET_MB
    print()
    print(
        f"pack {PHOTOS:,} JPEG photos of 320x240 to 64x64 RGB (--resize 64x64, area), vs a "
        "Pillow loop (open, exif_transpose, convert, resize, stack, pypng write)\n"
        f"  mnist-sprite pack: {seconds:.2f} s (median of {runs}), peak RSS {peak:.0f} MB "
        f"(target {RSS_TARGET_MB:.0f})\n"
        f"  Pillow loop: {pil:.2f} s\n"
        f"  ratio {ratio:.2f} (target <= {TIME_TARGET}); CPU ratio {cpu:.2f}\n"
        f"  {'met' if met else 'NOT MET'}"
    )
    print(f"  own images: {seconds:.2f} s vs Pillow {pil:.2f} s", file=sys.stderr)
