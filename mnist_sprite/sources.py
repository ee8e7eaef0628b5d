"""What pack reads: its source opened as an output-like reader, and the options that only a
source without a split of its own takes (a folder of one array per class)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .bundle import default_shard_rows
from .errors import OptionError, PathLike, SourceError
from .formats import Member
from .formats.classdir import (
    ClassDirReader,
    check_listed,
    looks_like_class_dir,
    read_class_names,
)
from .formats.pngdir import PngDirReader, looks_like_png_dir
from .labels import bad_rows
from .outputs import Output
from .split import class_test_counts, parse_test_size, split_groups, split_rows


@dataclass(frozen=True)
class SourceOptions:
    """``--classes-from``, ``--limit-per-class``, ``--test-size``, ``--seed``, ``--shard-rows``."""

    classes_from: Path | None = None
    limit_per_class: int | None = None
    test_size: int | Decimal | None = None
    seed: int | None = None
    rows_per_shard: int | None = None
    class_order: tuple[str, ...] | None = None  # the classes' names, in order (as recorded)
    only_listed: bool = False  # --only-listed: --classes-from names a subset, on purpose

    def shard_rows(self, height: int, width: int) -> int:
        """Rows per shard: as given, else the most within the browser's and convert's limits."""
        if self.rows_per_shard is not None:
            return self.rows_per_shard
        return default_shard_rows(height, width)

    def recorded(self) -> dict[str, Any]:
        """For NAME.json's provenance: what was given (nothing for an ordinary source)."""
        out: dict[str, Any] = {}
        if self.classes_from is not None:
            out["classes_from"] = self.classes_from.name
        if self.only_listed:
            out["only_listed"] = True
        if self.limit_per_class is not None:
            out["limit_per_class"] = self.limit_per_class
        if self.test_size is not None:
            out["test_size"] = str(self.test_size)
        if self.seed is not None:
            out["seed"] = self.seed
        if self.rows_per_shard is not None:
            out["shard_rows"] = self.rows_per_shard
        return out


def source_options(
    classes_from: PathLike | None,
    limit_per_class: int | None,
    test_size: int | float | str | None,
    seed: int | None,
    shard_rows: int | None,
    only_listed: bool = False,
) -> SourceOptions:
    """The options, checked."""
    for flag, value in (
        ("--limit-per-class", limit_per_class),
        ("--seed", seed),
        ("--shard-rows", shard_rows),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError(None, f"{flag} {value!r} is not a whole number", "give e.g. 1000")
    if limit_per_class is not None and limit_per_class < 1:
        raise OptionError(None, f"--limit-per-class {limit_per_class} is not positive", "")
    if shard_rows is not None and shard_rows < 1:
        raise OptionError(None, f"--shard-rows {shard_rows} is not positive", "give e.g. 100000")
    if seed is not None and not 0 <= seed < 2**63:
        raise OptionError(None, f"--seed {seed} is not 0 to 2**63 - 1", "give e.g. 0")
    if only_listed and classes_from is None:
        raise OptionError(
            None, "--only-listed selects the classes --classes-from lists", "add --classes-from"
        )
    return SourceOptions(
        Path(classes_from) if classes_from is not None else None,
        limit_per_class,
        parse_test_size(test_size) if test_size is not None else None,
        seed,
        shard_rows,
        only_listed=only_listed,
    )


def open_pack_source(
    source: Path, options: SourceOptions, open_output: Callable[[Path], Output] = Output
) -> Output:
    """``source`` as an output-like reader: a folder of one array per class (split by
    ``options``), or any output this tool reads (opened by ``open_output``)."""
    if looks_like_class_dir(source):
        reader = ClassDirReader(
            source,
            classes_from=options.classes_from,
            class_order=options.class_order,
            limit=options.limit_per_class,
            test_size=options.test_size,
            seed=options.seed or 0,
            only_listed=options.only_listed,
        )
        return Output(source, reader)
    given = (options.classes_from, options.limit_per_class, options.class_order)
    per_class = any(v is not None for v in given) or (
        options.seed is not None and not options.test_size
    )
    if per_class and looks_like_png_dir(source):
        return Output(source, _png_classes(source, options))
    if per_class:
        raise OptionError(
            source,
            "--classes-from, --limit-per-class and --seed (without --test-size) apply to a "
            "per-class source: a folder of one array per class (cat.npy, dog.npy, ...) or of "
            "class folders (<class>/*.png)",
            "drop them",
        )
    if options.test_size is not None:  # a new split, in place of the source's own
        with open_output(source) as out:
            resplit = ResplitReader(out, options.test_size, options.seed or 0)
        return Output(source, resplit)
    return open_output(source)


def _png_classes(source: Path, options: SourceOptions) -> PngDirReader:
    """A folder of class folders (``<class>/*.png``) read as a per-class source: the classes
    ``--classes-from`` lists in its order, the first ``--limit-per-class`` images of each,
    split by ``--test-size`` and ordered by ``--seed`` as a folder of one array per class."""
    reader = PngDirReader(source)
    if not reader.flat:
        raise OptionError(
            source,
            "holds train/ and test/ splits; the per-class options apply to class folders alone",
            "give the class folders' parent (<class>/*.png), or drop those options",
        )
    groups = reader.by_class()
    order = list(options.class_order) if options.class_order is not None else None
    if options.classes_from is not None and order is None:
        order = read_class_names(options.classes_from)
    if order is not None:
        known = {name: g for g in groups for name in (g[0], g[1])}
        for name in order:
            if name not in known:
                raise SourceError(
                    source / name,
                    "no such class folder (named by --classes-from)",
                    "give a class list whose names are the folder's class folders",
                )
        present = [g[0] for g in groups]
        listed = {known[n][0] for n in order}
        check_listed(
            present, sorted(listed), options.only_listed, {g[0]: source / g[1] for g in groups}
        )
        groups = [known[n] for n in order]
    limit = options.limit_per_class
    images = [g[2][:limit] if limit else g[2] for g in groups]
    names = [g[0] for g in groups]
    counts = [len(i) for i in images]
    for _, folder, found in groups:
        if limit and len(found) < limit:
            raise SourceError(
                source / folder, f"holds {len(found)} images, fewer than --limit-per-class {limit}",
                "give a smaller --limit-per-class",
            )  # fmt: skip
    tests = class_test_counts(counts, options.test_size, names) if options.test_size else None
    train, test = split_rows(counts, tests, options.seed or 0)
    flat = [(path, c) for c, paths in enumerate(images) for path in paths]
    parts = {"train": [flat[i] for i in train]}
    if tests is not None:
        parts["test"] = [flat[i] for i in test]
    reader.select(parts, names)
    return reader


class ResplitReader:
    """Any source's images, split again by ``--test-size`` (stratified, as for a per-class
    folder). Its arrays are read into memory once: a split takes rows in any order."""

    kind = "resplit"

    def __init__(self, out: Output, test_size: int | Decimal, seed: int) -> None:
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
        classes = int(ids.max()) + 1 if ids.size else 0
        groups = [np.flatnonzero(ids == c).astype(np.int64) for c in range(classes)]
        names = self._class_names or [str(c) for c in range(classes)]
        counts = [g.size for g in groups]
        for c, n in enumerate(counts):
            if n == 0:
                raise SourceError(self.path, f"has no image of class {c}", "give every class")
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


def recorded_source_options(recorded: dict[str, Any], class_names: Any) -> SourceOptions:
    """The options a pack recorded in NAME.json, to read its source again as it did."""
    if not any(k in recorded for k in ("test_size", "limit_per_class", "classes_from", "seed")):
        return SourceOptions()
    order = tuple(str(n) for n in class_names) if isinstance(class_names, list) else None
    test_size = recorded.get("test_size")
    return SourceOptions(
        limit_per_class=recorded.get("limit_per_class"),
        test_size=parse_test_size(test_size) if test_size is not None else None,
        seed=recorded.get("seed"),
        class_order=order if "classes_from" in recorded else None,
        only_listed=recorded.get("only_listed") is True,
    )
