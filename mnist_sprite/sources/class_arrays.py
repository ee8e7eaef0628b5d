"""Pack's source: a folder of one array per class (Quick, Draw!'s ``numpy_bitmap``
layout): ``cat.npy``, ``dog.npy``, ... each ``(N, 784)`` uint8, or ``.npz`` files holding one
array each.

Read as a pack source: ``x_train``/``y_train`` (and ``x_test``/``y_test`` with a test size)
in the order :mod:`mnist_sprite.split` gives. Every file is checked before it is mapped: a
regular file inside the folder, a plain C-order array whose header and the file's size agree
exactly. Then it is memory-mapped, never read whole; the pages a block of rows touched are
released after it (``madvise``), so a 1 GB source costs a few MB of memory.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..errors import OptionError, SourceError
from ..formats.base import ARRAY_NAMES, MANIFEST, Member
from ..formats.npz import read_npy_header
from ..reading import Output
from ..split import Indices, TestSize, class_test_counts, split_rows
from . import PackSource
from .options import SourceOptions

SUFFIXES = (".npy", ".npz")
BLOCK_ROWS = 8192  # rows gathered at once: a few MB
# Rows read from one mapped file before its pages are released. A read fault maps the pages
# around it too (the kernel's fault-around, 64 KiB), so each row read at random can bring in
# 64 KiB: 1024 rows keep that under 64 MB.
RELEASE_ROWS = 1024
NAMES_BYTES = 1 << 20  # a --classes-from list longer than this is not a list of class names
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header (APPNOTE 4.3.7)


def looks_like_class_dir(path: Path) -> bool:
    """A folder of ``.npy``/``.npz`` files that is not an npy output (no manifest, no
    ``x_train.npy``): one array per class."""
    if not path.is_dir() or (path / MANIFEST).exists():
        return False
    arrays = [p for p in path.iterdir() if p.suffix in SUFFIXES]
    return bool(arrays) and not any(p.stem in ARRAY_NAMES for p in arrays)


@dataclass(frozen=True)
class ClassArray:
    """One class's array: where its values start in its file, and its shape and dtype."""

    name: str
    path: Path
    offset: int
    rows: int
    row_shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def row_bytes(self) -> int:
        return math.prod(self.row_shape) * self.dtype.itemsize


def read_class_names(path: Path) -> list[str]:
    """``--classes-from NAMES.txt``: one class name a line (blank lines skipped)."""
    st = _stat(path, "--classes-from")
    if st.st_size > NAMES_BYTES:
        raise SourceError(path, f"is {st.st_size:,} bytes, not a list of class names", "")
    with open(path, "rb") as f:
        data = f.read(NAMES_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(path, "is not UTF-8 text", "give one class name a line") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise SourceError(path, "names no class", "give one class name a line")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SourceError(path, f"names class {name!r} twice", "name each class once")
        seen.add(name)
        if "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            raise SourceError(path, f"{name!r} is not a file name", "give names like cat, dog")
    return names


def _stat(path: Path, what: str) -> os.stat_result:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(path, "no such file", f"check {what}") from None
    except OSError as e:
        raise SourceError(path, f"cannot read ({e.strerror})", "check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(path, "is not a regular file", "give a regular file")
    return st


def class_files(
    folder: Path, names: list[str] | None, only_listed: bool = False
) -> list[tuple[str, Path]]:
    """(class name, file) in class order: sorted file names, or ``names``' order. A class
    file that ``names`` leaves out is refused unless ``only_listed`` (a subset, on purpose)."""
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir(), key=lambda q: q.name):
        if p.suffix not in SUFFIXES or p.name.startswith("."):
            continue
        if p.stem in found:
            raise SourceError(
                p, f"and {found[p.stem].name} are both class {p.stem!r}", "keep one of them"
            )
        found[p.stem] = p
    if names is None:
        return list(found.items())
    missing = [n for n in names if n not in found]
    if missing:
        raise SourceError(
            folder / f"{missing[0]}.npy",
            "no such file (named by --classes-from)",
            "give a class list whose names are the folder's file names",
        )
    check_listed(list(found), names, only_listed, {n: p for n, p in found.items()})
    return [(n, found[n]) for n in names]


def check_listed(
    present: list[str], names: list[str], only_listed: bool, where: dict[str, Path]
) -> None:
    """Every class the source holds is one that ``--classes-from`` lists, unless
    ``--only-listed`` says a subset is meant: a class is never dropped in silence."""
    left_out = [n for n in present if n not in set(names)]
    if left_out and not only_listed:
        more = f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else ""
        raise OptionError(
            where[left_out[0]],
            f"is class {left_out[0]!r}{more}, which --classes-from leaves out",
            "list it in the --classes-from file, or add --only-listed to pack only the classes "
            "it lists",
        )


def open_class(name: str, path: Path, folder: Path) -> ClassArray:
    """Check one class file (regular, inside ``folder``, a plain array whose size is exact)."""
    if path.is_symlink() and folder.resolve() not in path.resolve().parents:
        raise SourceError(path, "links outside the source folder", "copy the file into it")
    st = _stat(path, "the folder")
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_ino != st.st_ino:
            raise SourceError(path, "changed while it was read", "run the command again")
        if path.suffix == ".npz":
            offset, member = _npz_member(f, path, st.st_size)
        else:
            member = _header(f, path, st.st_size)
            offset = f.tell()
    if len(member.shape) < 2 or member.shape[0] < 1:
        raise SourceError(
            path, f"holds an array of shape {member.shape}, not rows of images", "give (N, 784)"
        )
    found = ClassArray(name, path, offset, member.shape[0], member.shape[1:], member.dtype)
    want = offset + found.rows * found.row_bytes
    if path.suffix == ".npy" and st.st_size != want:
        raise SourceError(
            path,
            f"is {st.st_size:,} bytes, but its header says {found.rows:,} rows of "
            f"{found.row_bytes:,} bytes after {offset:,} bytes of header ({want:,} in all)",
            "the file is truncated or damaged: download it again",
        )
    return found


def _header(f: IO[bytes], path: Path, end: int, start: int = 0) -> Member:
    """The ``.npy`` header at ``start``, whose values must fill the file up to ``end``."""
    f.seek(start)
    head = f.read(6)
    f.seek(start)
    if head != b"\x93NUMPY":
        raise SourceError(path, "is not a .npy array", "give .npy files, one per class")
    return read_npy_header(f, path.stem, path, end)


def _npz_member(f: IO[bytes], path: Path, size: int) -> tuple[int, Member]:
    """The one array of an ``.npz``: where its values start in the file, and its header."""
    try:
        with zipfile.ZipFile(f) as z:
            infos = [i for i in z.infolist() if i.filename.endswith(".npy")]
            if len(infos) != 1 or len(z.infolist()) != 1:
                raise SourceError(
                    path,
                    f"holds {len(z.infolist())} members, not one array",
                    "give an .npz of one array per class (np.savez(path, images))",
                )
            info = infos[0]
    except zipfile.BadZipFile as e:
        raise SourceError(path, f"is not a readable .npz ({e})", "give .npy or .npz") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise SourceError(
            path,
            "holds a compressed array, which cannot be memory-mapped",
            "save it with np.savez (not savez_compressed), or as .npy",
        )
    f.seek(info.header_offset)
    raw = f.read(_LOCAL_HEADER.size)
    if len(raw) != _LOCAL_HEADER.size or raw[:4] != b"PK\x03\x04":
        raise SourceError(path, "has a broken zip header", "save it again")
    name_len, extra_len = _LOCAL_HEADER.unpack(raw)[-2:]
    start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    if start + info.file_size > size:
        raise SourceError(path, "its zip entry runs past the end of the file", "save it again")
    member = _header(f, path, start + info.file_size, start)
    offset = f.tell()
    data = offset - start + math.prod(member.shape) * member.dtype.itemsize
    if data != info.file_size or start + info.file_size > size:
        raise SourceError(
            path, "its array's header and its zip entry disagree on its size", "save it again"
        )
    return offset, member


def check_classes(found: list[ClassArray], limit: int | None) -> None:
    """All classes' rows are one size and dtype; each has at least ``limit`` rows."""
    first = found[0]
    for c in found[1:]:
        if c.row_shape != first.row_shape or c.dtype != first.dtype:
            raise SourceError(
                c.path,
                f"holds rows of {c.row_shape} {c.dtype}, but {first.path.name} holds "
                f"{first.row_shape} {first.dtype}",
                "give arrays of one image size and dtype",
            )
    if limit is not None:
        for c in found:
            if c.rows < limit:
                raise SourceError(
                    c.path,
                    f"holds {c.rows:,} images, fewer than --limit-per-class {limit:,}",
                    f"give --limit-per-class {min(x.rows for x in found):,} or less",
                )


class ClassDirReader:
    """A per-class folder read as ``x_train``, ``y_train`` (and ``x_test``, ``y_test``)."""

    kind = "classdir"

    def __init__(
        self,
        path: Path,
        *,
        classes_from: Path | None = None,
        class_order: tuple[str, ...] | None = None,
        limit: int | None = None,
        test_size: TestSize | None = None,
        seed: int = 0,
        only_listed: bool = False,
    ) -> None:
        self.path = path
        if limit is not None and limit < 1:
            raise OptionError(None, f"--limit-per-class {limit} is not positive", "give e.g. 1000")
        names = read_class_names(classes_from) if classes_from is not None else None
        names = list(class_order) if class_order is not None else names
        files = class_files(path, names, only_listed)
        if len(files) > 255:
            raise SourceError(path, f"holds {len(files)} classes; at most 255", "")
        self.arrays = [open_class(n, p, path) for n, p in files]
        check_classes(self.arrays, limit)
        self.counts = [min(c.rows, limit) if limit else c.rows for c in self.arrays]
        names_of = [c.name for c in self.arrays]
        tests = (
            class_test_counts(self.counts, test_size, names_of) if test_size is not None else None
        )
        train, test = split_rows(self.counts, tests, seed)
        self.parts: dict[str, Indices] = {"train": train}
        if tests is not None:
            self.parts["test"] = test
        self._starts = np.concatenate([[0], np.cumsum(self.counts, dtype=np.int64)])
        self._maps: list[tuple[mmap.mmap, npt.NDArray[Any]] | None] = [None] * len(self.arrays)

    def class_names(self) -> list[str]:
        return [c.name for c in self.arrays]

    def names(self) -> list[str]:
        return [f"{xy}_{s}" for s in self.parts for xy in ("x", "y")]

    def provenance(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        for i, entry in enumerate(self._maps):
            if entry is not None:
                self._maps[i] = None
                del entry
        # The arrays over the maps are gone with the entries; the maps close when collected.

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        xy, _, part = name.partition("_")
        if part not in self.parts or xy not in ("x", "y"):
            raise SourceError(self.path, f"has no array {name}", "")
        rows = self.parts[part]
        if xy == "y":
            ids = (np.searchsorted(self._starts, rows, side="right") - 1).astype(np.uint8)
            yield Member(name, (rows.size,), ids.dtype), iter([ids])
            return
        first = self.arrays[0]
        member = Member(name, (rows.size, *first.row_shape), first.dtype)
        yield member, self._gather(rows)

    def _gather(self, rows: Indices) -> Iterator[npt.NDArray[Any]]:
        """The rows in this order, a block at a time, read from the mapped files."""
        first = self.arrays[0]
        width = math.prod(first.row_shape)
        for lo in range(0, rows.size, BLOCK_ROWS):
            want = rows[lo : lo + BLOCK_ROWS]
            cls = np.searchsorted(self._starts, want, side="right") - 1
            out = np.empty((want.size, width), dtype=first.dtype)
            for c in np.unique(cls):
                here = np.flatnonzero(cls == c)
                values = self._values(int(c))
                for i in range(0, here.size, RELEASE_ROWS):
                    part = here[i : i + RELEASE_ROWS]
                    out[part] = values[want[part] - self._starts[c]]
                    self._release(int(c))
            yield out.reshape(-1)

    def _values(self, c: int) -> npt.NDArray[Any]:
        entry = self._maps[c]
        if entry is None:
            a = self.arrays[c]
            with open(a.path, "rb") as f:
                if os.fstat(f.fileno()).st_size < a.offset + a.rows * a.row_bytes:
                    raise SourceError(a.path, "changed while it was read", "run the command again")
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(mmap, "MADV_RANDOM"):  # rows are read in shuffled order: no read-ahead
                mm.madvise(mmap.MADV_RANDOM)
            width = a.row_bytes // a.dtype.itemsize
            values = np.frombuffer(mm, a.dtype, a.rows * width, a.offset).reshape(a.rows, width)
            entry = (mm, values)
            self._maps[c] = entry
        return entry[1]

    def _release(self, c: int) -> None:
        """Give back the pages of class ``c``'s file that the last rows touched: they stay in
        the page cache, not in this process (the gathered copies are what it keeps)."""
        entry = self._maps[c]
        if entry is not None and hasattr(mmap, "MADV_DONTNEED"):
            entry[0].madvise(mmap.MADV_DONTNEED)


def _open(path: Path, options: SourceOptions) -> Output:
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


SOURCE = PackSource(looks_like_class_dir, _open, lambda _: False)
