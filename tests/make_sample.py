"""Make the bundled sample: the first 1,000 digits of the real sprite and their labels.

Run from the repository root: ``python -m tests.make_sample [FOLDER]`` (default: where
``tests/realdata.py`` finds the real files). The output is deterministic, so
``tests/test_sample.py`` checks that the committed files are what this makes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import png

from mnist_sprite.png import read_red
from tests.realdata import ADD_MNIST, real_mnist

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mnist_sprite" / "data"
COUNT = 1_000


def sample_png(pixels_rows: object) -> bytes:
    rows = list(pixels_rows)  # type: ignore[call-overload]
    buf = io.BytesIO()
    png.Writer(len(rows[0]), len(rows), greyscale=True, bitdepth=8, compression=9).write(buf, rows)
    return buf.getvalue()


def make(folder: Path, out: Path = OUT) -> tuple[bytes, bytes]:
    pixels = read_red(folder / "mnist_images.png")[:COUNT]
    labels = (folder / "mnist_labels_uint8").read_bytes()[: COUNT * 10]
    return sample_png(pixels.tolist()), labels


def main() -> None:
    real = real_mnist()
    if len(sys.argv) > 1:
        folder = Path(sys.argv[1])
    elif real is not None:
        folder = real[0].parent
    else:
        sys.exit(f"error: {ADD_MNIST}")
    image, labels = make(folder)
    OUT.mkdir(exist_ok=True)
    (OUT / "sample_images.png").write_bytes(image)
    (OUT / "sample_labels_uint8").write_bytes(labels)
    print(f"wrote {len(image):,} + {len(labels):,} bytes to {OUT}")


if __name__ == "__main__":
    main()
