"""A dataset's original IDX files (``mnist-original``) read as one sprite: the training images,
then the test images, one image per row, with their labels one-hot. What convert, load_data
and verify take where they take a sprite and its label file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import datasets
from .bundle import NoChunks, Size
from .datasets import ORIGINAL_ARRAYS, Originals
from .errors import SourceError, command
from .formats.base import Member
from .labels import U8

# The arrays in the order their rows follow one another.
_ORDER = ("x_train", "x_test")


class OriginalsReader:
    """The four arrays of ``dataset`` in ``folder`` (the cache's), read as an output is: each
    from exactly the file fetch verified (its own IDX file by its published name, or the
    container that serves it), its header checked against the published shape and dtype.
    What inspect and pack read for ``--dataset``, and what :class:`OriginalFiles` reads."""

    kind = "idx"

    def __init__(self, dataset: Originals, folder: Path) -> None:
        from .formats.idx import IdxReader  # here: convert to npz loads no other format
        from .formats.npz import NpzReader

        self.dataset, self.path = dataset, folder
        self._paths = {ORIGINAL_ARRAYS[r]: p for r, p in dataset.serving(folder).items()}
        idx = {a: p for a, p in self._paths.items() if p.name.endswith(("-ubyte", "-ubyte.gz"))}
        self._readers: dict[str, IdxReader | NpzReader] = dict.fromkeys(idx, IdxReader(folder, idx))
        self._closers: list[NpzReader] = []
        spare = [a for a in self._paths if a not in idx]
        if spare and self._paths[spare[0]].is_file():
            self._closers.append(NpzReader(self._paths[spare[0]]))
            self._readers.update(dict.fromkeys(spare, self._closers[0]))
        h, w = dataset.image_size
        self.shapes = {
            "x_train": (dataset.train_size, h, w),
            "y_train": (dataset.train_size,),
            "x_test": (dataset.test_size, h, w),
            "y_test": (dataset.test_size,),
        }

    def names(self) -> list[str]:
        return list(self.shapes)

    def provenance(self) -> dict[str, Any] | None:
        """The dataset they are, as a convert output records it: its name and class names."""
        return {"dataset": self.dataset.name, "class_names": list(self.dataset.class_names)}

    def close(self) -> None:
        for reader in self._closers:
            reader.close()

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[Any]]]:
        """(member, pieces) of one array, its header checked against the published one."""
        fetch = command("fetch", dataset=self.dataset.name)
        path = self._paths[name]
        if not (path.exists() or path.is_symlink()):
            datasets.cached_files(self.dataset, self.path.parent)  # says which, and the fetch
        with self._readers[name].array(name) as (member, pieces):
            if member.dtype != np.uint8 or member.shape != self.shapes[name]:
                raise SourceError(
                    path,
                    f"holds {name} as {member.dtype} {member.shape}, not the published uint8 "
                    f"{self.shapes[name]} of {self.dataset.name}",
                    f"fetch it again: '{fetch} --force'",
                )
            yield member, pieces

    def path_of(self, name: str) -> Path:
        return self._paths[name]


class OriginalFiles:
    """The four IDX files of ``dataset`` in ``folder`` (the cache's) read as one sprite.

    ``skip`` leaves out the first training images: mnist-original without its first 5,000 is
    TensorFlow.js's sprite, row for row. Every header is checked against the published shapes
    when it is opened; the values are checked as they stream (sizes, the gzip CRC, nothing
    after them), and every label is checked before any is returned.
    """

    engine_dependent = False  # bytes, not a picture: no engine draws them

    def __init__(self, dataset: Originals, folder: Path, skip: int = 0) -> None:
        self.dataset, self.path, self.skip = dataset, folder, skip
        self.reader = OriginalsReader(dataset, folder)
        try:
            for name in self.reader.names():  # each header, before anything is read
                with self.reader.array(name):
                    pass
        except BaseException:
            self.reader.close()
            raise
        h, w = dataset.image_size
        self.header = Size(h * w, dataset.images - skip)
        self.chunks = NoChunks()
        self.train_images = dataset.train_size - skip

    def __enter__(self) -> OriginalFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.reader.close()

    @contextlib.contextmanager
    def _array(self, name: str) -> Iterator[Iterator[Any]]:
        with self.reader.array(name) as (_, pieces):
            yield pieces

    def onehot(self) -> U8:
        """The labels of the rows, training then test, one-hot; every one checked."""
        classes = len(self.dataset.class_names)
        parts = []
        for name in ("y_train", "y_test"):
            with self._array(name) as pieces:
                values = np.concatenate([np.asarray(p, np.uint8) for p in pieces])
            bad = np.flatnonzero(values >= classes)
            if bad.size:
                raise SourceError(
                    self.reader.path_of(name),
                    f"label {int(values[bad[0]])} at row {int(bad[0]):,} is not one of the "
                    f"{classes} classes",
                    f"fetch it again: '{command('fetch', dataset=self.dataset.name)} --force'",
                )
            parts.append(values[self.skip :] if name == "y_train" else values)
        labels = np.concatenate(parts)
        onehot = np.zeros((labels.size, classes), np.uint8)
        onehot[np.arange(labels.size), labels] = 1
        return onehot

    def canvas_blocks(self, *_: Any, rgb: bool = False, **__: Any) -> Iterator[U8]:
        """The images' rows in blocks, as a sprite's decoder gives them (gray: red = green =
        blue, so ``rgb`` repeats each value three times). A sprite's decoder options (decoder,
        draw rows, engine) change nothing here: no canvas draws these bytes."""
        width = self.header.width
        for name in _ORDER:
            with self._array(name) as pieces:
                skip = self.skip if name == "x_train" else 0
                for rows in _rows(pieces, width, skip):
                    yield np.repeat(rows, 3, axis=1) if rgb else rows


def _rows(pieces: Iterator[Any], width: int, skip: int) -> Iterator[U8]:
    """Flat pieces regrouped into whole rows of ``width``, the first ``skip`` rows left out."""
    carry: U8 = np.empty(0, np.uint8)
    for piece in pieces:
        data = np.concatenate([carry, piece]) if carry.size else np.asarray(piece, np.uint8)
        n = data.size // width
        rows = data[: n * width].reshape(n, width)
        carry = data[n * width :].copy()
        drop = min(skip, n)
        skip -= drop
        if n > drop:
            yield rows[drop:]
    assert not carry.size, "an IDX array whose size is not whole rows"
