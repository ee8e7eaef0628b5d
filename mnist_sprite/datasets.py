"""What each known dataset is: its files, where they come from, their digests and its split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
OFFICIAL_BASE = "https://storage.googleapis.com/learnjs-data/model-builder/"


@dataclass(frozen=True)
class SourceFile:
    """One file of a dataset.

    ``sha256`` is the digest of the file's bytes. For a sprite, ``pixels_sha256`` is the
    digest of its decoded pixels (the ``(images, width)`` uint8 red channel, C order): a
    re-encoded PNG has other bytes but must have the same pixels.
    """

    name: str
    sha256: str
    size: int
    pixels_sha256: str | None = None

    def url(self, base: str = OFFICIAL_BASE) -> str:
        return base.rstrip("/") + "/" + self.name


@dataclass(frozen=True)
class Dataset:
    """A sprite, its label file and how they split into train and test."""

    name: str
    sprite: SourceFile
    labels: SourceFile
    images: int
    train_size: int
    image_size: tuple[int, int] = (28, 28)
    classes: int = 10
    bundled: bool = False
    # Images per class in the train and the test split, where they are published.
    class_counts: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    @property
    def test_size(self) -> int:
        return self.images - self.train_size


MNIST = Dataset(
    name="mnist",
    sprite=SourceFile(
        name="mnist_images.png",
        sha256="498b7f6789ef0dd5606d77d7fc7f4502f4af73d71bf5aa68c095babe137a7491",
        size=10_689_542,
        pixels_sha256="3d24e455d86b0368a3aed0357241a964514ac2c876e06de3763d756f78082e2e",
    ),
    labels=SourceFile(
        name="mnist_labels_uint8",
        sha256="54dbbc2cab00508c5ade36a807f48bc83d0ee3285bbeb8ae25377aaa12b2250c",
        size=650_000,
    ),
    images=65_000,
    train_size=55_000,
    class_counts=(
        (5444, 6179, 5470, 5638, 5307, 4987, 5417, 5715, 5389, 5454),
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
)

# The first 1,000 digits of MNIST, shipped inside the package (made by tests/make_sample.py).
SAMPLE = Dataset(
    name="sample",
    sprite=SourceFile(
        name="sample_images.png",
        sha256="ec353292e94a1cc70a0a17dc8e5897ce271bbba40732350cfd0789cb10f70c97",
        size=164_805,
        pixels_sha256="36d74875d70599254028ab31e294bac40a80a88cced85891028b9131782ff428",
    ),
    labels=SourceFile(
        name="sample_labels_uint8",
        sha256="980fb4479403d7c8340c2f72569ae0b9169b47e2ae142ce66ca713ea84c3fb03",
        size=10_000,
    ),
    images=1_000,
    train_size=800,
    bundled=True,
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (MNIST, SAMPLE)}

# The split TensorFlow.js uses, applied to any sprite of that many images.
DEFAULT_TRAIN_SIZES: dict[int, int] = {d.images: d.train_size for d in DATASETS.values()}
