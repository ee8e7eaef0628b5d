"""What pack reads: its source opened as an output-like reader, and the options that only a
source without a split of its own takes (a folder of one array per class)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import OptionError, PathLike
from .formats.classdir import ClassDirReader, looks_like_class_dir
from .outputs import Output
from .shards import default_shard_rows, file_names
from .split import parse_test_size


@dataclass(frozen=True)
class SourceOptions:
    """``--classes-from``, ``--limit-per-class``, ``--test-size``, ``--seed``, ``--shard-rows``."""

    classes_from: Path | None = None
    limit_per_class: int | None = None
    test_size: int | Decimal | None = None
    seed: int | None = None
    rows_per_shard: int | None = None
    class_order: tuple[str, ...] | None = None  # the classes' names, in order (as recorded)

    @property
    def for_class_folders(self) -> bool:
        given = (
            self.classes_from,
            self.limit_per_class,
            self.test_size,
            self.seed,
            self.class_order,
        )
        return any(v is not None for v in given)

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
    return SourceOptions(
        Path(classes_from) if classes_from is not None else None,
        limit_per_class,
        parse_test_size(test_size) if test_size is not None else None,
        seed,
        shard_rows,
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
        )
        return Output(source, reader)
    if options.for_class_folders:
        raise OptionError(
            source,
            "--classes-from, --limit-per-class, --test-size and --seed apply to a folder of "
            "one array per class (cat.npy, dog.npy, ...); this source has its own split",
            "drop them",
        )
    return open_output(source)


def bundle_files(folder: Path, name: str, shards: int) -> dict[str, Path]:
    """The bundle's files by role: the first sprite and label file, NAME.json, NAME.js."""
    images, labels = file_names(name, shards)[0]
    return {
        "images": folder / images,
        "labels": folder / labels,
        "json": folder / f"{name}.json",
        "js": folder / f"{name}.js",
    }


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
    )
