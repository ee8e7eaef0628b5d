"""What every output format shares: the sink a pipeline writes into, the reader that reads an
output back, and the manifest that records how a folder output was made.

A sink is told each split's images' final shape and dtype and given its labels whole
(:meth:`Sink.begin_split`), then gets its images in C-order blocks of rows (:meth:`Sink.write`),
so a 200 MB split never has to exist whole in memory.
A reader gives each array's :class:`Member` (name, shape, dtype) and its flat values in pieces.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

from ..registry import TABLE, FormatInfo

MANIFEST = "manifest.json"
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
PIECE_BYTES = 4 << 20  # what a reader hands over at once
# The most bytes one array of a source may declare: far above any dataset (CIFAR-10's images
# are 184 MB), far below what a header can claim (an IDX header: 255 dims of 2^32 - 1).
MAX_ARRAY_BYTES = 1 << 36
MAX_MANIFEST_BYTES = 64 << 20
# deflate cannot expand a byte to more than 1032 (RFC 1951: a 258-byte match per 2 bits,
# rounded up): a member declaring more than this per stored byte cannot be intact.
DEFLATE_MAX_RATIO = 1032
# The kinds of values an array of images or labels can hold: bool, integers, floats.
NUMBER_KINDS = "biuf"


class Sink(Protocol):
    """Where converted splits go, one after another ("train", then "test")."""

    def begin_split(
        self, name: str, x_shape: tuple[int, ...], x_dtype: np.dtype[Any], labels: npt.NDArray[Any]
    ) -> None:
        """A split: its name, its images' shape and dtype, and all its labels."""

    def write(self, block: npt.NDArray[Any]) -> None:
        """The split's next images, in order."""

    def end_split(self) -> None:
        """The split's images are all written."""

    def close(self) -> None:
        """All splits are written: finish the output."""

    def abort(self) -> None:
        """A failure: release everything and write nothing more."""


class ArraySink:
    """A sink that stores whole arrays one after another, ``x_<split>`` then its labels as
    ``y_<split>``: a subclass gives :meth:`begin_array`, :meth:`end_array` and :meth:`write`."""

    _y: tuple[str, npt.NDArray[Any]]  # the split's labels' name and values, written last

    def begin_split(
        self, name: str, x_shape: tuple[int, ...], x_dtype: np.dtype[Any], labels: npt.NDArray[Any]
    ) -> None:
        self._y = (f"y_{name}", labels)
        self.begin_array(f"x_{name}", x_shape, x_dtype)

    def end_split(self) -> None:
        self.end_array()
        name, labels = self._y
        self.begin_array(name, labels.shape, labels.dtype)
        self.write(labels)
        self.end_array()

    def begin_array(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        raise NotImplementedError

    def write(self, block: npt.NDArray[Any]) -> None:
        raise NotImplementedError

    def end_array(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Member:
    """One array of an output: its name, shape and dtype (read from its header)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def size(self) -> int:
        """The number of values, in exact integer arithmetic (never wrapped)."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


def check_member(member: Member, path: Path, present: int) -> None:
    """Refuse an array whose header declares values that are not numbers, or more bytes than
    the limit or than the ``present`` bytes that could hold them, before reading any."""
    from ..errors import SourceError
    from ..files import check_size

    if member.dtype.kind not in NUMBER_KINDS or member.dtype.fields is not None:
        raise SourceError(
            path,
            f"array {member.name} holds {member.dtype} values, not numbers",
            "give arrays of integers or floats",
        )
    check_size(path, f"array {member.name} of shape {member.shape}", member.nbytes, present,
               MAX_ARRAY_BYTES)  # fmt: skip


class Reader(Protocol):
    """An output on disk, read back one array at a time."""

    kind: str
    path: Path

    def names(self) -> list[str]: ...

    def provenance(self) -> dict[str, Any] | None: ...

    def array(self, name: str) -> AbstractContextManager[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        """(member, pieces): the array's shape and dtype, and its flat values in order."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SinkOptions:
    """How convert asked for the output to be written, beyond its arrays."""

    compress: bool = False
    layout: str = "plain"
    classes: list[str] | None = None  # the class names, for formats that name files by them
    shard_rows: int | None = None  # rows a file of a sharded format holds (None: its default)


# What a sink writes into: a binary stream for a file format, a folder for the others.
Target = Path | IO[bytes]


@dataclass(frozen=True)
class Format:
    """One output format's code; its registry line (``registry.TABLE[name]``) holds its rules,
    help and what it supports, so the command line knows them without this module."""

    name: str
    sniff: Callable[[Path], bool]  # by content, never opening a FIFO or device
    open_reader: Callable[[Path], Reader]
    open_sink: Callable[[Target, dict[str, Any], SinkOptions], Sink]  # (target, provenance, ...)

    @property
    def info(self) -> FormatInfo:
        return TABLE[self.name]

    @classmethod
    def of_folder(
        cls,
        name: str,
        sniff: Callable[[Path], bool],
        open_reader: Callable[[Path], Reader],
        open_sink: Callable[[Path, dict[str, Any], SinkOptions], Sink],
    ) -> Format:
        """A format that writes a folder (convert's temporary one, renamed when done)."""

        def into_folder(target: Target, provenance: dict[str, Any], options: SinkOptions) -> Sink:
            assert isinstance(target, Path), f"{name} writes a folder"
            return open_sink(target, provenance, options)

        return cls(name, sniff, open_reader, into_folder)


def file_head(path: Path, size: int = 24) -> tuple[bytes, int] | None:
    """A regular file's first ``size`` bytes and its length; None for a folder, a FIFO or
    device (never opened: that could hang), or a file that cannot be read."""
    from ..errors import SourceError
    from ..files import is_regular, open_source

    if not is_regular(path):
        return None
    try:
        with open_source(path) as f:
            return f.read(size), os.fstat(f.fileno()).st_size
    except SourceError:
        return None


class MemorySink(ArraySink):
    """Arrays kept in memory (what ``load_data()`` returns)."""

    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[Any]] = {}
        self._flat: npt.NDArray[Any] | None = None
        self._pos = 0

    def begin_array(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        array = np.empty(shape, dtype=dtype)
        self.arrays[name] = array
        self._flat = array.reshape(-1)
        self._pos = 0

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._flat is not None
        n = data.size
        self._flat[self._pos : self._pos + n] = data.reshape(-1)
        self._pos += n

    def end_array(self) -> None:
        assert self._flat is not None and self._pos == self._flat.size
        self._flat = None

    def close(self) -> None:
        return None

    def abort(self) -> None:
        self.arrays.clear()


def npy_header(shape: tuple[int, ...], dtype: np.dtype[Any]) -> bytes:
    """The ``.npy`` version 1.0 header for a C-order array of this shape and dtype."""
    buf = io.BytesIO()
    npformat.write_array_header_1_0(
        buf, {"descr": npformat.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def write_manifest(folder: Path, provenance: dict[str, Any], files: list[str]) -> None:
    """``manifest.json``: how the folder was made, and every file in it (so ``--force`` knows
    the folder is exactly an output of this tool)."""
    manifest = {**provenance, "files": sorted(files)}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """A folder's manifest if this tool wrote it, else None. One that says this tool wrote it
    but holds a field of the wrong type, or a file name outside the folder, is refused."""
    from ..errors import SourceError, shown
    from ..files import inside, is_regular, open_source, relative_name

    path = folder / MANIFEST
    if not is_regular(path):
        return None
    inside(folder, path)  # a link to a manifest elsewhere is never read
    try:
        with open_source(path, folder) as f:
            data = json.loads(f.read(MAX_MANIFEST_BYTES + 1)[:MAX_MANIFEST_BYTES].decode("utf-8"))
    except (OSError, ValueError, SourceError):
        return None
    if not isinstance(data, dict) or data.get("tool") != "mnist-sprite":
        return None
    for key, kind, what in _MANIFEST_FIELDS:
        if key in data and data[key] is not None and not isinstance(data[key], kind):
            raise SourceError(path, f'its "{key}" is {shown(data[key])}, not {what}', _MANIFEST_FIX)
    files = data.get("files")
    if files is not None:
        for name in files:
            relative_name(name, path, "its file")
    arrays = data.get("arrays")
    if arrays is not None and not all(isinstance(a, str) and a.isidentifier() for a in arrays):
        raise SourceError(path, f'its "arrays" {shown(arrays)} are not array names', _MANIFEST_FIX)
    for name, entry in arrays.items() if isinstance(arrays, dict) else ():
        if not isinstance(entry, dict):  # each reader asks an entry for its shape and dtype
            raise SourceError(
                path,
                f'its array "{name}" is {shown(entry)}, not its shape and dtype',
                _MANIFEST_FIX,
            )
    options = data.get("options") or {}
    size = options.get("image_size")
    if size is not None and not (isinstance(size, str) and _SIZE.fullmatch(size)):
        raise SourceError(
            path, f'its "image_size" {shown(size)} is not HxW (e.g. 28x28)', _MANIFEST_FIX
        )
    for key, value in options.items():
        if not isinstance(value, (str, int, float, bool, type(None))):
            raise SourceError(path, f'its option "{key}" is {shown(value)}', _MANIFEST_FIX)
    for role, source in (data.get("sources") or {}).items():
        if not isinstance(source, dict):
            raise SourceError(path, f'its source "{role}" is {shown(source)}', _MANIFEST_FIX)
    return data


def unlisted(
    folder: Path, files: list[str], folders: Sequence[str] = (), limit: int = 20
) -> list[str]:
    """Entries under ``folder`` that its manifest's ``files`` do not list (nor hold a listed
    file), other than the ``folders`` its format makes, as relative paths, at most ``limit``
    of them; links are not followed."""
    listed = {*files, MANIFEST}
    parents = {str(Path(f).parent.as_posix()) for f in listed} | set(folders)
    holders = {p for f in parents for p in _prefixes(f)}
    found: list[str] = []
    for top, dirs, names in os.walk(folder):
        rel = Path(top).relative_to(folder).as_posix()
        for name in sorted(dirs):
            path = name if rel == "." else f"{rel}/{name}"
            if path not in holders:
                found.append(path + "/")
        dirs[:] = [d for d in dirs if (d if rel == "." else f"{rel}/{d}") in holders]
        for name in sorted(names):
            path = name if rel == "." else f"{rel}/{name}"
            if path not in listed:
                found.append(path)
        if len(found) >= limit:
            break
    return found[:limit]


def _prefixes(path: str) -> list[str]:
    parts = [] if path in ("", ".") else path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


_MANIFEST_FIX = "convert again, or give the folder without its manifest.json"
_SIZE = re.compile(r"[1-9][0-9]{0,5}x[1-9][0-9]{0,5}")
_MANIFEST_FIELDS: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("files", list, "a list of file names"),
    ("arrays", (list, dict), "a list of array names"),
    ("format", str, "a format name"),
    ("dataset", str, "a dataset name"),
    ("version", str, "a version"),
    ("options", dict, "an object of options"),
    ("sources", dict, "an object of sources"),
)


def pieces_of(f: Any, member: Member, path: Path) -> Iterator[npt.NDArray[Any]]:
    """The flat values of ``member`` read from the binary stream ``f``, a piece at a time."""
    from ..errors import SourceError

    itemsize = member.dtype.itemsize
    left = member.size * itemsize
    step = max(itemsize, PIECE_BYTES // itemsize * itemsize)
    if not left:  # an empty array is one empty piece, so a reader always gets one
        yield np.empty(0, dtype=member.dtype)
    while left:
        data = f.read(min(step, left))
        if not data or len(data) % itemsize:
            raise SourceError(path, f"array {member.name} is truncated", "convert again")
        left -= len(data)
        yield np.frombuffer(data, dtype=member.dtype)
