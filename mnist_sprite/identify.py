"""What is this path? One ordered table answers it for every command.

Each kind of input is one row: its words and its test, by content, never by name alone. The
tests live with the code that reads each kind (a format's ``sniff``, a pack source's); this
table holds their order and the refusal of a path that is none of them. A command names the
kinds it reads, in the order they are tried:

- inspect and verify (:data:`INSPECTED`): a sprite PNG, a label file, an output of convert
  (each format of the registry, its manifest first), a pack's NAME.json;
- pack (:data:`PACKED_FROM`): a folder of one array per class, class folders of images, a zip
  of them; anything else is read as an output of convert, which refuses what it is not;
- convert's ``--sprite``: a pack's NAME.json, else a sprite (:func:`open_sprite`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .bundle import Bundle, ShardedPng, read
from .errors import PathLike, SourceError
from .files import open_source, sniff
from .formats import kind_of
from .labels import LABEL_HEAD, label_classes
from .png import SIGNATURE, PngFile
from .registry import OUTPUTS, SOURCES


@dataclass(frozen=True)
class Kind:
    """One kind of input: how messages name it, and its test (the kind's name, or for an
    output the format's, when ``path`` is one; else None)."""

    what: str
    test: Callable[[Path], str | None]


def _head(path: Path) -> tuple[bytes, int] | None:
    """A regular file's first bytes and size; None for a folder or anything else."""
    if not path.is_file():
        return None
    with open_source(path) as f:
        return f.read(LABEL_HEAD), os.fstat(f.fileno()).st_size


def _sprite(path: Path) -> str | None:
    head = _head(path)
    return "sprite" if head is not None and head[0].startswith(SIGNATURE) else None


def _packed(path: Path) -> str | None:
    head = _head(path)
    if head is None or not head[0].lstrip().startswith(b"{"):
        return None
    return "packed" if Bundle.find(path) is not None else None


def _labels(path: Path) -> str | None:
    head = _head(path)
    return "labels" if head is not None and label_classes(*head) is not None else None


def _pack_source(kind: str) -> Callable[[Path], str | None]:
    def test(path: Path) -> str | None:
        from . import sources  # here: only pack reads its sources

        return kind if sources.get(kind).sniff(path) else None

    return test


KINDS: dict[str, Kind] = {
    "output": Kind(f"an output ({OUTPUTS})", kind_of),
    "sprite": Kind("a sprite PNG", _sprite),
    "packed": Kind("a packed NAME.json", _packed),
    "labels": Kind("a label file (one-hot rows)", _labels),
    # pack's own kinds; its last, "output", is the row above, read by pack's own refusal
    **{
        kind: Kind(info.what, _pack_source(kind))
        for kind, info in SOURCES.items()
        if kind != "output"
    },
}
INSPECTED = ("sprite", "labels", "output", "packed")
PACKED_FROM = tuple(kind for kind in SOURCES if kind != "output")


def identify(path: PathLike, among: tuple[str, ...] = INSPECTED) -> str | None:
    """The first kind of ``among`` that ``path`` is (an output: its format's name), or None."""
    for kind in among:
        found = KINDS[kind].test(Path(path))
        if found is not None:
            return found
    return None


def words(among: tuple[str, ...]) -> str:
    """The kinds, as a refusal names them."""
    names = [KINDS[k].what for k in among]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def require(path: PathLike, among: tuple[str, ...] = INSPECTED) -> str:
    """The kind ``path`` is, else one refusal saying what it looks like when that is known."""
    found = identify(path, among)
    if found is not None:
        return found
    if Path(path).is_dir():
        raise SourceError(path, "is a folder that holds no output", f"give {words(among)}")
    with open_source(path) as f:  # refuses a FIFO, device or socket by name, unopened
        head = f.read(1024)
    what = sniff(head)
    looks = f"is {what}, not {words(among)}" if what else f"is none of {words(among)}"
    raise SourceError(path, looks, "give one of those")


def open_sprite(path: PathLike, digest: bool = False) -> PngFile | ShardedPng:
    """A sprite PNG (``digest``: its sha256 made as it is read), or a pack's NAME.json read
    as one sprite across its shards."""
    if identify(path, ("packed",)):
        return ShardedPng(read(path))
    return PngFile(path, digest=digest)
