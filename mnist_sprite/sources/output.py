"""Any output this tool reads, as it is, or split again by ``--test-size`` (stratified, as a
per-class folder is)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from ..formats import Member
from ..labels import bad_rows, class_count
from ..reading import Output, kind_of
from ..registry import SOURCES, either, prose
from ..split import TestSize, class_test_counts, split_groups
from . import PackSource
from .options import SourceOptions

# What pack reads, as its refusal of anything else says it: the kinds of SOURCES, an output.
READS = prose(
    "an .npz (keras' mnist.npz, or a convert output), an {pack_folders} output folder, "
    + either([info.what for kind, info in SOURCES.items() if kind != "output"])
)
_SAID_ENTRIES = 10_000


def open_output(source: Path) -> Output:
    """The source as an output; a folder that is none of what pack reads, said so."""
    if source.is_dir() and kind_of(source) is None:
        # Said from the first entries only: a folder of a million entries is told at once.
        entries = list(itertools.islice(source.rglob("*"), _SAID_ENTRIES + 1))
        files = [p for p in entries if p.is_file()]
        kinds = sorted({p.suffix.lower() or "(no suffix)" for p in files})
        many = len(entries) > _SAID_ENTRIES
        count = f"{'more than ' if many else ''}{len(files):,} file{'' if len(files) == 1 else 's'}"
        holds = f"it holds {count} ({', '.join(kinds[:5])})" if files else "it is empty"
        if many and not files:
            holds = f"its first {_SAID_ENTRIES:,} entries are folders, with no file among them"
        raise SourceError(source, f"is nothing pack reads: {holds}", f"give {READS}")
    return Output(source)


def _open(source: Path, options: SourceOptions) -> Output:
    return resplit(open_output(source), options)


def resplit(out: Output, options: SourceOptions) -> Output:
    """``out`` with its own split, or split again by ``--test-size`` in place of its own."""
    if options.test_size is None:
        return out
    with out:
        again = ResplitReader(out, options.test_size, options.seed or 0)
    return Output(out.path, again)


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


SOURCE = PackSource(lambda _: True, _open, lambda _: True)  # the last kind: any path
