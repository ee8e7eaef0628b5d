"""Any output this tool reads, as it is, or split again by ``--test-size`` (stratified, as a
per-class folder is)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from ..formats import Member
from ..labels import bad_rows, class_count
from ..reading import Output
from ..split import TestSize, class_test_counts, split_groups
from . import PackSource
from .options import SourceOptions


def _open(source: Path, options: SourceOptions, open_output: Callable[[Path], Output]) -> Output:
    if options.test_size is None:  # the source's own split
        return open_output(source)
    with open_output(source) as out:  # a new split, in place of the source's own
        resplit = ResplitReader(out, options.test_size, options.seed or 0)
    return Output(source, resplit)


class ResplitReader:
    """Any source's images, split again by ``--test-size`` (stratified, as for a per-class
    folder). Its arrays are read into memory once: a split takes rows in any order."""

    kind = "resplit"

    def __init__(self, out: Output, test_size: TestSize, seed: int) -> None:
        self.path = out.path
        self._class_names = out.class_names()
        self._provenance = out.provenance()
        splits = [s for s in ("train", "test") if f"x_{s}" in out.names()]
        if "train" not in splits or f"y_{splits[0]}" not in out.names():
            raise SourceError(self.path, "holds no x_train and y_train", "give images and labels")
        self._x = np.concatenate([_whole(out, f"x_{s}") for s in splits])
        ids = np.concatenate([_class_ids(out, f"y_{s}") for s in splits])
        if ids.shape[0] != self._x.shape[0]:
            raise SourceError(self.path, "holds a label for each image", "give one label per image")
        classes = class_count(None, int(ids.max()) if ids.size else None)
        groups = [np.flatnonzero(ids == c).astype(np.int64) for c in range(classes)]
        names = self._class_names or [str(c) for c in range(classes)]
        counts = [g.size for g in groups]
        if test_size == 0:  # --test-size 0: every image trains, in the source's order
            train, test = np.arange(ids.size, dtype=np.int64), np.empty(0, np.int64)
        else:
            for c, n in enumerate(counts):
                if n == 0:
                    raise SourceError(
                        self.path, f"has no image of class {names[c]!r} to split by --test-size",
                        "give every class, or --test-size 0",
                    )  # fmt: skip
            tests = class_test_counts(counts, test_size, names)
            train, test = split_groups(groups, tests, seed)
        self._ids = ids
        self.parts = {"train": train, "test": test}

    def class_names(self) -> list[str]:
        """The source's own class names; none (not the classes' count) when it has none."""
        return self._class_names or []

    def names(self) -> list[str]:
        return ["x_train", "y_train", "x_test", "y_test"]

    def provenance(self) -> dict[str, Any] | None:
        return self._provenance

    def close(self) -> None:
        return None

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        xy, _, part = name.partition("_")
        rows = self.parts[part]
        values = self._x if xy == "x" else self._ids
        picked = values[rows]
        yield Member(name, picked.shape, picked.dtype), iter([picked.reshape(-1)])


def _whole(out: Output, name: str) -> npt.NDArray[Any]:
    with out.array(name) as (member, pieces):
        parts = list(pieces)
        flat = np.concatenate(parts) if parts else np.empty(0, member.dtype)
        return flat.reshape(member.shape)


def _class_ids(out: Output, name: str) -> npt.NDArray[np.int64]:
    """A label array as class ids: one-hot rows (each checked), or ids 0 to 254."""
    y = _whole(out, name)
    if y.ndim == 2:
        if bad_rows(y).size:
            raise SourceError(out.path, f"{name} holds rows that are not one-hot", "give class ids")
        ids: npt.NDArray[np.int64] = y.argmax(axis=1).astype(np.int64)
        return ids
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() > 254)):
        raise SourceError(out.path, f"{name} holds values that are not class ids 0 to 254", "")
    flat: npt.NDArray[np.int64] = y.astype(np.int64).reshape(-1)
    return flat


SOURCE = PackSource(lambda path, options: True, _open, lambda _: True)  # the last kind: any path
