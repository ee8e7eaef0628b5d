"""A ``.zip`` of class folders of images, read as the folder it holds (``formats.classzip``),
by the same per-class options as a folder of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..formats.classzip import ClassZipReader, looks_like_class_zip
from ..outputs import Output
from . import PackSource
from .class_pngs import read_by_class
from .options import SourceOptions


def _open(source: Path, options: SourceOptions, _output: Callable[[Path], Output]) -> Output:
    return read_by_class(ClassZipReader(source, options.recipe), source, options)


SOURCE = PackSource(lambda path, _: looks_like_class_zip(path), _open, lambda _: False)
