"""A folder of one array per class (``cat.npy``, ``dog.npy``, ...: Quick, Draw!'s
``numpy_bitmap``), split by ``--test-size`` and ordered by ``--seed``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..formats.classdir import ClassDirReader, looks_like_class_dir
from ..outputs import Output
from . import PackSource
from .options import SourceOptions


def _open(path: Path, options: SourceOptions, _: Callable[[Path], Output]) -> Output:
    reader = ClassDirReader(
        path,
        classes_from=options.classes_from,
        class_order=options.class_order,
        limit=options.limit_per_class,
        test_size=options.test_size or None,  # 0: none
        seed=options.seed or 0,
        only_listed=options.only_listed,
    )
    return Output(path, reader)


SOURCE = PackSource(lambda path, _: looks_like_class_dir(path), _open, lambda _: False)
