"""What pack reads: its source opened as an output-like reader.

Each kind of source is one module here whose ``SOURCE`` sniffs and opens it, and one line of
``registry.SOURCES`` (its words and the options it takes), tried in the table's order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError
from ..reading import Output
from ..registry import SOURCE_OPTIONS, SOURCES, either
from .options import SourceOptions

__all__ = ["PackSource", "SourceOptions", "open_pack_source", "settle"]


@dataclass(frozen=True)
class PackSource:
    """One kind of source: whether ``path`` is one (given the options), and it opened."""

    sniff: Callable[[Path], bool]  # is ``path`` one? (``identify`` tries them in order)
    open: Callable[[Path, SourceOptions], Output]
    own_split: Callable[[Path], bool]  # has it a test part of its own? else pack makes one


def get(kind: str) -> PackSource:
    """The code of a kind of source (``registry.SOURCES``), imported on first use."""
    module = importlib.import_module(f"{__name__}.{SOURCES[kind].target}")
    source: PackSource = module.SOURCE
    return source


def settle(source: Path, kind: str, options: SourceOptions) -> SourceOptions:
    """The options pack reads ``source`` (of ``kind``, as ``identify`` says) with: as given,
    and for a source with no split of its own (class folders, one array per class) the default
    test part unless one is given; the options its kind does not take are refused, naming the
    kinds that take them."""
    _refuse_options(source, options, SOURCES[kind].takes)
    return options if get(kind).own_split(source) else options.with_default_test_part()


def open_pack_source(source: Path, kind: str, options: SourceOptions) -> Output:
    """``source`` (of ``kind``) as an output-like reader, with the options :func:`settle`
    gave."""
    _refuse_options(source, options, SOURCES[kind].takes)
    return get(kind).open(source, options)


def _refuse_options(source: Path, options: SourceOptions, takes: tuple[str, ...]) -> None:
    given = options.given_names()
    if options.class_order is not None:  # recorded by --classes-from
        given.append("classes_from")
    if options.test_size is not None and "test_size" in takes:
        takes += ("seed",)  # the seed of the split that --test-size makes
    refused = [n for n in dict.fromkeys(given) if n not in takes]
    if not refused:
        return
    flags = {o.name: o.flag for o in SOURCE_OPTIONS}
    words = [flags[n] + (" (without --test-size)" if n == "seed" else "") for n in refused]
    kinds = [i.what for i in SOURCES.values() if all(n in i.takes for n in refused)]
    verb = "applies" if len(words) == 1 else "apply"
    raise OptionError(
        source,
        f"{either(words, 'and')} {verb} to {either(kinds) if kinds else 'no source'}",
        "drop them",
    )
