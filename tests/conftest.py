"""Shared fixtures: small sprites and label files the tests make themselves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests import pngkit
from tests.httpkit import Server
from tests.realdata import ADD_MNIST, SHARED, real_mnist

# The modules `make test-fast` leaves out: their time goes to subprocesses, timeouts, Node,
# the real sprite and the file system (``pytest --durations=0``), not to what an edit loop
# changes. `make test` and CI run them all.
SLOW_MODULES = frozenset(
    {
        "test_atomic", "test_clients", "test_dist", "test_docs", "test_fetch", "test_hostile",
        "test_hostile_sources", "test_loader", "test_sample",
    }
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


REAL = real_mnist()
# Where the real files are; when they are nowhere, the tests that read them skip (needs_real).
REAL_SPRITE, REAL_LABELS = REAL or (SHARED / "mnist_images.png", SHARED / "mnist_labels_uint8")
needs_real = pytest.mark.skipif(REAL is None, reason=ADD_MNIST)


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


# What a test run may leave at the top of the project: the tools' caches, and make dist's dist/.
_LEFT_BY_TOOLS = {".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "dist"}


@pytest.fixture(autouse=True, scope="session")
def _the_working_tree_is_left_alone() -> Iterator[None]:
    """No test writes into the project: a file a command was told to write by a relative name
    (``--out -1``) must land in the test's tmp_path, never beside README.md."""
    root = Path(__file__).resolve().parent.parent
    before = set(os.listdir(root))
    yield
    new = sorted(set(os.listdir(root)) - before - _LEFT_BY_TOOLS)
    assert not new, f"the tests wrote {new} into {root}"
