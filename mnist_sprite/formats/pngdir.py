"""Folders of PNG files per class, the layout of torchvision's ``ImageFolder``, keras'
``image_dataset_from_directory`` and Hugging Face's imagefolder:
``DIR/<split>/<class>/<index>.png``, plus ``classes.json`` naming the classes in order.

Images are 8-bit grayscale or RGB PNGs, as pypng writes them by default (zlib level 6); names are
zero-padded indices, so sorted order is the order of the split.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..deflate import available_cores
from ..errors import SourceError
from ..files import inside, is_regular, open_source, plain_name
from ..imaging.decoders import SUFFIXES as IMAGE_SUFFIXES
from ..labels import MAX_CLASSES
from ..png.encode import small_png
from .base import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    Format,
    Member,
    SinkOptions,
    read_manifest,
    write_manifest,
)

if TYPE_CHECKING:  # imported when workers start: other formats never pay for them
    from concurrent.futures import Future, ThreadPoolExecutor

    from ..imaging import Recipe
    from ..imaging.decoders import Decoded

CLASSES_FILE = "classes.json"

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]*$")


def folder_names(classes: Sequence[str]) -> list[str]:
    """A folder name per class that sorts in class order, as ImageFolder and keras number
    folders by sorted name: the class names where they are safe as file names and already in
    that order (0 to 9 for mnist), else each name after its zero-padded index
    (``0_T-shirt-top``)."""
    width = len(str(len(classes) - 1))
    safe = [c if _SAFE.match(c) else re.sub(r"[^A-Za-z0-9._+-]+", "-", c) for c in classes]
    unique = len({n.lower() for n in safe}) == len(safe)
    if safe == list(classes) and safe == sorted(safe) and unique:
        return safe
    return [f"{i:0{width}d}_{name}".rstrip("_-") for i, name in enumerate(safe)]


# zlib level of each image: 6, zlib's default, as pypng and Pillow write by default (the same
# bytes as pypng's). On MNIST's digits level 9 took 41 us of CPU an image and level 6 23 us,
# for 190 against 193 bytes, and every file takes a whole file-system block (4 KiB) either way.
_LEVEL = 6
# Images cut into tasks for the workers at once, and the fewest in a split worth starting
# workers for.
_BATCH = 1000
_PARALLEL_FROM = 4000

# A new file only (never one already there), not inherited by a child process.
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def write_pngs(
    folder: str, names: list[str], filtered: bytes, shape: tuple[int, int, int], level: int
) -> int:
    """Write one PNG per name, from the images' filtered scanlines back to back (what a worker
    thread runs). ``shape`` is (height, width, channels). Never replaces a file."""
    h, w, channels = shape
    size = h * (1 + w * channels)
    # os.open relative to the folder, and os.write: a file costs its system calls, about 15%
    # less than open(path, "xb") with its buffered file object and whole-path lookup.
    relative = os.open in os.supports_dir_fd
    root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY) if relative else None
    try:
        for i, name in enumerate(names):
            data = small_png(filtered[i * size : (i + 1) * size], w, h, channels, level)
            path = name if relative else os.path.join(folder, name)
            fd = os.open(path, _CREATE, 0o666, dir_fd=root)
            try:
                view = memoryview(data)
                while view:  # a regular file takes it all at once; a short write goes on
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
    finally:
        if root is not None:
            os.close(root)
    return len(names)


class PngDirSink:
    """One PNG per image under ``<split>/<class>/``, placed by its label.

    The files are written by ``workers`` threads (one per core, the default, when a split has
    at least ``parallel_from`` images; 1: in this thread). Creating, writing and closing a
    file and zlib's compress all run without the GIL; threads need no process start, no
    pickling, and no ``if __name__ == "__main__":`` in a script that calls the API. Each batch
    of images is cut in one task per worker by class id modulo the number of workers, so two
    workers mostly create files in different class folders and do not wait on each other's
    folder lock. Names are given here in order, and every file's bytes depend only on its
    image, so the output is the same for any number of workers. A failure in a worker is
    raised here, after which :meth:`abort` stops them all before anything is removed.

    Creating a file is most of what a PNG costs (70 to 230 us in the kernel on the development
    machine, against about 35 us to encode and write it), and two workers create files at
    nearly twice the rate of one: the MNIST png-dir took 16 to 22 s with one and 7 to 13 s with
    a worker per core, paired runs on an otherwise idle 2-core machine. (An earlier round, with
    the machine busy with other work, measured a pool of processes slower.)
    """

    def __init__(
        self,
        folder: Path,
        provenance: dict[str, Any],
        classes: Sequence[str],
        *,
        workers: int | None = None,
        parallel_from: int = _PARALLEL_FROM,
    ) -> None:
        self._workers = available_cores() if workers is None else workers
        self._parallel_from = parallel_from
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: deque[Future[int]] = deque()
        self._parallel = False
        self._folder = folder
        self._provenance = provenance
        self._classes = list(classes)
        self._folders = folder_names(self._classes)
        self._files: list[str] = []
        self._labels: npt.NDArray[np.intp] = np.empty(0, np.intp)  # the split's labels left
        self._split = ""
        self._index = 0
        self._digits = 1
        self._shape: tuple[int, ...] = ()

    def begin_split(
        self, name: str, x_shape: tuple[int, ...], x_dtype: np.dtype[Any], labels: npt.NDArray[Any]
    ) -> None:
        assert x_dtype == np.uint8, "PNG holds bytes: the format layer allows only uint8"
        self._split, self._labels = name, np.asarray(labels).astype(np.intp)
        self._index = 0
        self._digits = len(str(max(x_shape[0] - 1, 0)))
        self._shape = x_shape[1:]
        self._parallel = self._workers > 1 and x_shape[0] >= self._parallel_from
        for f in self._folders:
            (self._folder / self._split / f).mkdir(parents=True, exist_ok=True)

    def write(self, block: npt.NDArray[Any]) -> None:
        h, w = self._shape[0], self._shape[1]
        channels = 3 if len(self._shape) == 3 and self._shape[2] == 3 else 1
        images = np.asarray(block).reshape(-1, h, w * channels)
        for start in range(0, images.shape[0], _BATCH):
            self._batch(images[start : start + _BATCH], (h, w, channels))

    def _batch(self, images: npt.NDArray[Any], shape: tuple[int, int, int]) -> None:
        k = images.shape[0]
        labels, self._labels = self._labels[:k], self._labels[k:]
        names = [
            f"{self._split}/{self._folders[int(label)]}/{self._index + i:0{self._digits}d}.png"
            for i, label in enumerate(labels)
        ]
        self._index += k
        self._files += names
        filtered = np.zeros((k, shape[0], 1 + images.shape[2]), np.uint8)  # filter None
        filtered[:, :, 1:] = images
        if not self._parallel:
            write_pngs(str(self._folder), names, filtered.tobytes(), shape, _LEVEL)
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="png-dir")
        for part in range(self._workers):
            pick = np.flatnonzero(labels % self._workers == part)
            if pick.size:
                task = ([names[i] for i in pick], filtered[pick].tobytes(), shape, _LEVEL)
                self._in_flight.append(self._pool.submit(write_pngs, str(self._folder), *task))
        while len(self._in_flight) > 2 * self._workers:  # memory: a few batches queued
            self._in_flight.popleft().result()

    def end_split(self) -> None:
        while self._in_flight:  # a worker's error (a full disk) is raised here
            self._in_flight.popleft().result()

    def abort(self) -> None:
        """Stop the workers and wait for them, so nothing writes after the output is removed."""
        for future in self._in_flight:
            future.cancel()
        self._in_flight.clear()
        self._shutdown()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self.end_split()
        self._shutdown()
        classes = {"classes": self._classes, "folders": self._folders}
        text = json.dumps(classes, indent=2) + "\n"
        (self._folder / CLASSES_FILE).write_text(text, encoding="utf-8")
        self._files.append(CLASSES_FILE)
        write_manifest(self._folder, self._provenance, self._files)


def looks_like_png_dir(folder: Path) -> bool:
    """``<split>/<class>/*.png``, or ``<class>/*.png`` (one split: all images train).

    Told from at most ``_SNIFF_ENTRIES`` entries of each folder (a PNG folder has two splits
    or at most 255 classes), and every listing stops at the first ``.png``: a folder of a
    million stray entries is told in a moment, and the reader then names what it refuses."""
    if not folder.is_dir():
        return False
    for top in _first_folders(folder):
        if _has_png(top) or any(_has_png(sub) for sub in _first_folders(top)):
            return True
    return False


_SNIFF_ENTRIES = 1024


def _first_entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return list(itertools.islice(it, _SNIFF_ENTRIES))
    except OSError:
        return []


def _first_folders(folder: Path) -> list[Path]:
    return [Path(e.path) for e in _first_entries(folder) if e.is_dir(follow_symlinks=False)]


def _has_png(folder: Path) -> bool:
    """Does the folder hold an image file (a .png, or another image pack reads)?"""
    try:
        with os.scandir(folder) as it:
            return any(os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES for e in it)
    except OSError:
        return False


SPLITS = ("train", "test")
_KNOWN_FILES = (CLASSES_FILE, MANIFEST)
_NUMBER = re.compile(r"[0-9]{1,6}")
# The most pixels one image of a PNG folder may declare in its header (a sprite row holds
# one image: 4096 x 4096 is far past what a browser canvas takes as one row).
MAX_IMAGE_PIXELS = 1 << 24
_FIX = (
    f"give a folder of class folders of image files only ({', '.join(sorted(IMAGE_SUFFIXES))}), "
    "<class>/*.png or <split>/<class>/*.png (a .DS_Store or Thumbs.db is skipped)"
)
# What a desktop's file manager leaves in any folder it shows: skipped by name, never read.
SKIPPED = frozenset({".DS_Store", "Thumbs.db"})


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    """A folder's entries in name order, but for the file managers' own files (SKIPPED)."""
    with os.scandir(folder) as it:
        return sorted((e for e in it if e.name not in SKIPPED), key=lambda e: e.name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


@dataclass(frozen=True)
class _Layout:
    """A PNG folder's structure, every entry accounted for: its splits, its class folders
    in class order with their ids, and its class names."""

    flat: bool
    splits: tuple[str, ...]
    folders: tuple[str, ...]
    ids: tuple[int, ...]
    names: tuple[str, ...]


def _read_classes(path: Path) -> tuple[list[str], list[str]] | None:
    """``classes.json``'s (class names, folder names), each folder a plain name listed once;
    None when there is none. Anything else in it is refused."""
    listed = path / CLASSES_FILE
    if not (listed.exists() or listed.is_symlink()):
        return None
    inside(path, listed)
    with open_source(listed, path) as f:
        text = f.read(MAX_MANIFEST_BYTES + 1)
    try:
        data = json.loads(text[:MAX_MANIFEST_BYTES].decode("utf-8"))
    except ValueError as e:
        raise SourceError(
            listed, f"is not JSON ({e})", "give the classes.json convert wrote"
        ) from None
    folders = data.get("folders") if isinstance(data, dict) else None
    names = data.get("classes", folders) if isinstance(data, dict) else None
    fix = 'give {"classes": [names...], "folders": [folder names...]}, one per class'
    if not isinstance(folders, list) or not isinstance(names, list):
        raise SourceError(listed, "does not hold lists of classes and folders", fix)
    if len(names) != len(folders):
        raise SourceError(listed, f"names {len(names)} classes but {len(folders)} folders", fix)
    if not 1 <= len(folders) <= MAX_CLASSES:
        raise SourceError(listed, f"names {len(folders)} classes, not 1 to {MAX_CLASSES}", fix)
    for name in names:
        if not isinstance(name, str):
            raise SourceError(listed, f"class name {json.dumps(name)} is not text", fix)
    seen: set[str] = set()
    for folder in folders:
        if not plain_name(folder):
            raise SourceError(
                listed,
                f"folder {json.dumps(folder)} is not a folder name inside {path}",
                "list the class folders by their plain names (no '/', no '..')",
            )
        if folder in seen:
            raise SourceError(
                listed, f"lists folder {folder!r} twice", "list each class folder once"
            )
        seen.add(folder)
    return [str(n) for n in names], [str(f) for f in folders]


def _layout(path: Path) -> _Layout:
    """Every entry of a PNG folder is a split, a class folder, ``classes.json`` or
    ``manifest.json``; anything else is refused, named."""
    top = _entries(path)
    present = {e.name for e in top if e.name in SPLITS and _is_dir(e)}
    split_dirs = [s for s in SPLITS if s in present]
    flat = not split_dirs
    listed = _read_classes(path)
    roots = [path] if flat else [path / s for s in split_dirs]
    if not flat:
        for entry in top:
            if entry.name not in (*split_dirs, *_KNOWN_FILES):
                raise SourceError(
                    Path(entry.path),
                    f"is not a split folder ({', '.join(SPLITS)}), {CLASSES_FILE} or "
                    f"{MANIFEST}, so {path} is not a folder of PNG images by class",
                    _FIX,
                )
    found: dict[str, Path] = {}  # each class folder, where it was first seen
    for root in roots:
        for entry in _entries(root):
            where = Path(entry.path)
            if flat and entry.name in _KNOWN_FILES:
                continue
            if not _is_dir(entry):
                raise SourceError(
                    where, f"is not a class folder, so {path} is not a folder of PNG images by "
                    "class", _FIX,
                )  # fmt: skip
            inside(path, where)
            found.setdefault(entry.name, where)
            if len(found) > MAX_CLASSES * 2 and listed is None:
                break
    if listed is not None:
        names, folders = listed
        stray = sorted(set(found) - set(folders))
        if stray:
            raise SourceError(
                found[stray[0]],
                f"is a folder that {CLASSES_FILE} does not list",
                f"add it to {CLASSES_FILE}, or remove it",
            )
        ids = tuple(range(len(folders)))
        return _Layout(flat, tuple(split_dirs) or ("train",), tuple(folders), ids, tuple(names))
    folders = sorted(found)
    if len(folders) > MAX_CLASSES:
        raise SourceError(
            path,
            f"holds {len(folders):,}{' or more' if len(folders) > MAX_CLASSES * 2 else ''} "
            f"class folders; a label row holds at most "
            f"{MAX_CLASSES} classes",
            "give at most 255 class folders",
        )
    folders = class_order(folders)
    ids = tuple(range(len(folders)))
    return _Layout(flat, tuple(split_dirs) or ("train",), tuple(folders), ids, tuple(folders))


def class_order(folders: Sequence[str]) -> list[str]:
    """Class folders in class-id order, by ImageFolder's rule: sorted by name; folders all
    named by integers sort as numbers, so 0..9 are classes 0..9 and 1/ 2/ 3/ are 0, 1, 2."""
    if folders and all(_NUMBER.fullmatch(f) for f in folders):
        return sorted(folders, key=int)
    return sorted(folders)


def _size(shape: tuple[int, ...]) -> str:
    """Height x width, as --image-size spells a size."""
    colour = " colour" if len(shape) == 3 else " gray"
    return f"{shape[0]}x{shape[1]}{colour}"


def _shape_of(header: Any) -> tuple[int, ...]:
    rgb = header.color_type in (2, 3, 6)
    return (header.height, header.width, 3) if rgb else (header.height, header.width)


class PngDirReader:
    """``<split>/<class>/*.png`` read back in file-name order. Every entry of the folder is
    read or refused by name: nothing is skipped in silence."""

    kind = "png-dir"

    def __init__(self, path: Path, recipe: Recipe | None = None) -> None:
        """``recipe``: pack's steps for each image (``imaging``), which read any image file
        pack reads; without one, PNGs as convert wrote them, drawn as data.js draws."""
        self.path = path
        self.recipe = recipe
        self._shape: tuple[tuple[int, ...], str] | None = None  # what recipe makes, and why
        self._layout = _layout(path)
        self.flat = self._layout.flat
        self._files: dict[str, list[tuple[Path, int]]] = {}

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        return [f"{kind}_{s}" for s in self._layout.splits for kind in ("x", "y")]

    def by_class(self) -> list[tuple[str, str, list[Path]]]:
        """(class name, folder, its images in order) of a folder of class folders, every
        class in class order, read as one part."""
        files = self.files("train")
        groups: dict[int, list[Path]] = {label: [] for label in self._layout.ids}
        for path, label in files:
            groups[label].append(path)
        return [
            (self._layout.names[label], folder, groups[label])
            for folder, label in zip(self._layout.folders, self._layout.ids, strict=True)
        ]

    def select(self, parts: dict[str, list[tuple[Path, int]]], names: Sequence[str]) -> None:
        """Read ``parts`` (split -> (image, class id) in order) as this folder's splits, with
        ``names`` as its classes: the images pack's per-class options picked."""
        self._files = dict(parts)
        self._layout = _Layout(
            self.flat, tuple(parts), self._layout.folders, self._layout.ids, tuple(names)
        )

    def class_names(self) -> list[str]:
        """The classes in order: ``classes.json``'s names, else the folder names (numbers
        0 to the largest when every folder is named by a number)."""
        return list(self._layout.names)

    def _root(self, split: str) -> Path:
        return self.path if self.flat else self.path / split

    def folders(self) -> list[str]:
        """Every class folder a split may hold (relative paths), empty ones included: the
        writer makes them all, so ImageFolder numbers the classes of every split alike."""
        if self.flat:
            return list(self._layout.folders)
        return [f"{s}/{f}" for s in self._layout.splits for f in self._layout.folders]

    def provenance(self) -> dict[str, Any] | None:
        return read_manifest(self.path)

    def files(self, split: str) -> list[tuple[Path, int]]:
        """(PNG, class id) of a split, in order; any entry that is not a regular ``.png``
        file is refused, named."""
        if split in self._files:
            return self._files[split]
        root = self._root(split)
        entries = []
        for folder, label in zip(self._layout.folders, self._layout.ids, strict=True):
            if not (root / folder).is_dir():
                continue
            for entry in _entries(root / folder):
                p = Path(entry.path)
                if _is_dir(entry):
                    raise SourceError(p, "is a folder inside a class folder", _FIX)
                if entry.is_symlink():
                    inside(self.path, p)
                if not is_regular(p):
                    raise SourceError(p, "is not a regular file", _FIX)
                if self.recipe is None and p.suffix.lower() != ".png":
                    raise SourceError(p, "is not a .png file; convert reads PNG images only",
                                      "convert it to PNG, or remove it")  # fmt: skip
                if p.suffix.lower() not in IMAGE_SUFFIXES:
                    raise SourceError(
                        p, f"is not an image file pack reads ({', '.join(sorted(IMAGE_SUFFIXES))})",
                        "convert it, or remove it",
                    )  # fmt: skip
                entries.append((p.stem, p, label))
        entries.sort(key=lambda e: (len(e[0]), e[0], str(e[1])))
        self._files[split] = [(p, label) for _, p, label in entries]
        return self._files[split]

    def _declared_shape(self, first: Path) -> tuple[tuple[int, ...], str]:
        """Each image's shape, from the first image's header (which must be the size the
        manifest records, if it records one), and what says so."""
        from ..png import PngFile

        with PngFile(first, root=self.path) as png_file:
            shape = _shape_of(png_file.header)
        options = (self.provenance() or {}).get("options") or {}
        size = options.get("image_size")
        if isinstance(size, str) and "x" in size:
            h, w = (int(v) for v in size.split("x"))
            if shape[:2] != (h, w):
                recorded = _size((h, w, *shape[2:]))
                raise SourceError(
                    first,
                    f"is {_size(shape)} where {MANIFEST} records {recorded}",
                    "give images of one size (and all gray or all colour)",
                )
        if math.prod(shape) > MAX_IMAGE_PIXELS * 3:
            raise SourceError(
                first,
                f"is a {_size(shape)} image, more than {MAX_IMAGE_PIXELS:,} pixels",
                "give images of a dataset's size",
            )
        return shape, f"{first} is {_size(shape)}"

    def _recorded_empty(self, name: str) -> tuple[int, ...] | None:
        """The shape of a split convert wrote with no images (a pack without a test split),
        as its manifest records it; None unless it records 0 rows of uint8."""
        arrays = (self.provenance() or {}).get("arrays")
        entry = arrays.get(name) if isinstance(arrays, dict) else None
        if not isinstance(entry, dict) or entry.get("dtype") != "uint8":
            return None
        shape = entry.get("shape")
        if (
            not isinstance(shape, list)
            or not shape
            or shape[0] != 0
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            return None
        return tuple(shape)

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        from ..png import PngFile

        kind, split = name.split("_")
        files = self.files(split)
        if not files:
            empty = self._recorded_empty(name)
            if empty is None:
                raise SourceError(self._root(split), "holds no PNG files", "give the whole folder")
            yield Member(name, empty, np.dtype(np.uint8)), iter([])
            return
        if kind == "y":
            labels = np.array([label for _, label in files], dtype=np.uint8)
            yield Member(name, labels.shape, labels.dtype), iter([labels])
            return
        if self.recipe is not None:
            yield self._prepared(name, [p for p, _ in files], self.recipe)
            return
        shape, basis = self._declared_shape(files[0][0])
        member = Member(name, (len(files), *shape), np.dtype(np.uint8))

        def pieces() -> Iterator[npt.NDArray[Any]]:
            for path, _ in files:
                with PngFile(path, root=self.path) as png_file:
                    found = _shape_of(png_file.header)  # from its header, before decoding
                    if found != shape:
                        raise SourceError(
                            path,
                            f"is {_size(found)} where {basis}",
                            "give images of one size (and all gray or all colour)",
                        )
                    rgb = len(shape) == 3
                    rows = np.concatenate(list(png_file.canvas_blocks(rgb=rgb)))
                yield rows.reshape(-1)

        yield member, pieces()

    def decode(self, path: Path, engine: str) -> Decoded:
        """One image of the folder, as ``engine`` hands it to a canvas."""
        from ..imaging import decode

        return decode(path, self.path, engine)

    def _prepared(
        self, name: str, paths: list[Path], recipe: Recipe
    ) -> tuple[Member, Iterator[npt.NDArray[Any]]]:
        """The images as ``recipe`` makes them, decoded by a thread per core, in order."""
        options = (self.provenance() or {}).get("options") or {}
        if recipe.channels is None and options.get("channels") == "rgb":  # convert's RGB PNGs
            recipe = dataclasses.replace(recipe, channels="rgb")
        if self._shape is None:  # from the first image read, for every split alike
            first = paths[0]
            made = recipe.shape(self.decode(first, recipe.engine), first)
            why = f"--resize makes {_size(made)}" if recipe.resize else f"{first} is {_size(made)}"
            self._shape = made, why
        shape, basis = self._shape
        member = Member(name, (len(paths), *shape), np.dtype(np.uint8))

        def batch(paths: list[Path]) -> list[npt.NDArray[Any]]:
            decoded = [(self.decode(path, recipe.engine), path) for path in paths]
            return [v.reshape(-1) for v in recipe.apply_all(decoded, shape, basis)]

        return member, _in_order(batch, paths)


def _in_order(
    work: Callable[[list[Path]], list[npt.NDArray[Any]]], paths: list[Path]
) -> Iterator[npt.NDArray[Any]]:
    """``work`` of each batch of paths, in order, a thread per core (Pillow's decoders and
    numpy's long loops let go of the GIL), a few batches in flight: memory stays bounded."""
    batches = [paths[i : i + _IMAGE_BATCH] for i in range(0, len(paths), _IMAGE_BATCH)]
    workers = available_cores()
    if workers < 2 or len(batches) < 2:
        for one in batches:
            yield from work(one)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="images") as pool:
        pending: deque[Future[list[npt.NDArray[Any]]]] = deque()
        try:
            for one in batches:
                pending.append(pool.submit(work, one))
                if len(pending) > 2 * workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


_IMAGE_BATCH = 16  # images a task decodes


def _open_sink(folder: Path, provenance: dict[str, Any], options: SinkOptions) -> PngDirSink:
    classes = options.classes or [str(i) for i in range(10)]
    return PngDirSink(folder, provenance, classes)


FORMAT = Format.of_folder("png-dir", looks_like_png_dir, PngDirReader, _open_sink)
