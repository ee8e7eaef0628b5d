"""A folder of class folders of images (``<class>/*.png``, ``*.jpg``, ...; or
``<split>/<class>/...``), each image made a sprite row by ``imaging``'s steps. Class folders
alone are read class by class: the classes ``--classes-from`` lists, ``--limit-per-class``,
and a stratified test part (by default one of ``DEFAULT_TEST_SIZE``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import OptionError, SourceError
from ..formats.pngdir import SPLITS, PngDirReader, looks_like_png_dir
from ..reading import Output
from ..split import class_test_counts, split_rows
from . import PackSource
from .class_arrays import check_listed, read_class_names
from .options import SourceOptions
from .output import ResplitReader


def _per_class(options: SourceOptions) -> bool:
    """Does a per-class option ask for the class folders to be read class by class?"""
    given = (options.classes_from, options.limit_per_class, options.class_order)
    return any(v is not None for v in given)


def _own_split(source: Path) -> bool:
    return any((source / split).is_dir() for split in SPLITS)


def _open(source: Path, options: SourceOptions) -> Output:
    """Class folders read as a per-class source: the classes ``--classes-from`` lists in its
    order, the first ``--limit-per-class`` images of each, split by ``--test-size`` and
    ordered by ``--seed`` as a folder of one array per class. A folder with its own splits
    is read as they are, or split again by ``--test-size``."""
    return read_by_class(PngDirReader(source, options.recipe), source, options)


def read_by_class(reader: PngDirReader, source: Path, options: SourceOptions) -> Output:
    """A folder of class folders (``reader``) read by pack's per-class options."""
    if not reader.flat:
        if _per_class(options):
            raise OptionError(
                source,
                "holds train/ and test/ splits; the per-class options apply to class folders alone",
                "give the class folders' parent (<class>/*.png), or drop those options",
            )
        whole = Output(source, reader)
        if options.test_size is None:
            return whole
        with whole:
            return Output(source, ResplitReader(whole, options.test_size, options.seed or 0))
    if options.test_size == 0 and options.seed is None and not _per_class(options):
        return Output(source, reader)  # every image trains, in file-name order across classes
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
    return Output(source, reader)


SOURCE = PackSource(looks_like_png_dir, _open, _own_split)
