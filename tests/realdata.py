"""Where the tests find the real MNIST files: ``../shared/data`` beside the project, else the
user's cache (``mnist-sprite fetch`` puts them there). Tests that need them skip with
:data:`ADD_MNIST`, the command that makes them run."""

from __future__ import annotations

from pathlib import Path

from mnist_sprite.datasets import MNIST

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
ADD_MNIST = (
    "add MNIST: '.venv/bin/mnist-sprite fetch' where there is a network, or "
    "'.venv/bin/mnist-sprite fetch --from FOLDER' with its two files"
)


def real_mnist() -> tuple[Path, Path] | None:
    """(sprite, labels) of the real MNIST, whole (by size), or None when neither place has it."""
    for folder in (SHARED, MNIST.folder()):
        sprite, labels = folder / MNIST.sprite.name, folder / MNIST.labels.name
        if (
            sprite.is_file()
            and labels.is_file()
            and sprite.stat().st_size == MNIST.sprite.size
            and labels.stat().st_size == MNIST.labels.size
        ):
            return sprite, labels
    return None
