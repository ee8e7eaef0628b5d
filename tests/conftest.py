"""Shared fixtures: small sprites and label files the tests make themselves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mnist_sprite.cache import dataset_dir
from tests import pngkit
from tests.httpkit import Server

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _real_folder() -> Path:
    """Where the real MNIST files are: the team's shared copy, else the user's cache."""
    for folder in (SHARED, dataset_dir("mnist")):
        if (folder / "mnist_images.png").is_file() and (folder / "mnist_labels_uint8").is_file():
            return folder
    return SHARED


REAL_SPRITE = _real_folder() / "mnist_images.png"
REAL_LABELS = REAL_SPRITE.parent / "mnist_labels_uint8"
needs_real = pytest.mark.skipif(
    not REAL_SPRITE.is_file(),
    reason="needs the real MNIST files: run '.venv/bin/mnist-sprite fetch' once to make it run",
)


@dataclass
class Sprite:
    """A small sprite of 4x4 images and its one-hot labels, with the pixels that made it."""

    sprite: Path
    labels: Path
    pixels: np.ndarray
    classes: np.ndarray

    def args(self) -> list[str]:
        return ["--sprite", str(self.sprite), "--labels", str(self.labels)]


def make_sprite(
    folder: Path, images: int = 30, side: int = 4, seed: int = 1, **refilter: object
) -> Sprite:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (images, side * side), dtype=np.uint8)
    classes = rng.integers(0, 10, images)
    onehot = np.eye(10, dtype=np.uint8)[classes]
    sprite = folder / "sprite.png"
    sprite.write_bytes(pngkit.gray_png(pixels, **refilter))  # type: ignore[arg-type]
    labels = folder / "labels_uint8"
    labels.write_bytes(onehot.tobytes())
    return Sprite(sprite, labels, pixels, classes)


@pytest.fixture
def small(tmp_path: Path) -> Sprite:
    folder = tmp_path / "src"
    folder.mkdir()
    return make_sprite(folder, filters=[0, 1, 2, 3, 4])


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()
