"""Folders of PNG files per class, the layout of torchvision's ``ImageFolder``, keras'
``image_dataset_from_directory`` and Hugging Face's imagefolder:
``DIR/<split>/<class>/<index>.png``, plus ``classes.json`` naming the classes in order.

Images are 8-bit grayscale PNGs written with pypng; names are zero-padded indices, so sorted
order is the order of the split.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from .base import Member, read_manifest, write_manifest

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


class PngDirSink:
    """One PNG per image under ``<split>/<class>/``; labels arrive first to place each file."""

    labels_first = True

    def __init__(self, folder: Path, provenance: dict[str, Any], classes: Sequence[str]) -> None:
        self._folder = folder
        self._provenance = provenance
        self._classes = list(classes)
        self._folders = folder_names(self._classes)
        self._files: list[str] = []
        self._labels: list[npt.NDArray[Any]] = []
        self._pending: npt.NDArray[Any] = np.empty(0, np.intp)
        self._name = ""
        self._split = ""
        self._index = 0
        self._digits = 1
        self._shape: tuple[int, ...] = ()

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        assert dtype == np.uint8, "PNG holds bytes: the format layer allows only uint8"
        self._name = name
        if name.startswith("y_"):
            self._labels = []
            return
        self._split = name[2:]
        self._pending = np.concatenate(self._labels) if self._labels else np.empty(0, np.intp)
        self._index = 0
        self._digits = len(str(max(shape[0] - 1, 0)))
        self._shape = shape[1:]
        for f in self._folders:
            (self._folder / self._split / f).mkdir(parents=True, exist_ok=True)

    def write(self, data: npt.NDArray[Any]) -> None:
        if self._name.startswith("y_"):
            self._labels.append(np.asarray(data).astype(np.intp))
            return
        import png  # pypng: only this format needs it

        h, w = self._shape[0], self._shape[1]
        rgb = len(self._shape) == 3 and self._shape[2] == 3
        writer = png.Writer(w, h, greyscale=not rgb, bitdepth=8, compression=9)
        images = np.asarray(data).reshape(-1, h, w * (3 if rgb else 1))
        for image in images:
            label = int(self._pending[0])
            self._pending = self._pending[1:]
            rel = f"{self._split}/{self._folders[label]}/{self._index:0{self._digits}d}.png"
            with open(self._folder / rel, "wb") as f:
                writer.write(f, image)
            self._files.append(rel)
            self._index += 1

    def end(self) -> None:
        return None

    def abort(self) -> None:
        return None

    def close(self) -> None:
        classes = {"classes": self._classes, "folders": self._folders}
        text = json.dumps(classes, indent=2) + "\n"
        (self._folder / CLASSES_FILE).write_text(text, encoding="utf-8")
        self._files.append(CLASSES_FILE)
        write_manifest(self._folder, self._provenance, self._files)


def looks_like_png_dir(folder: Path) -> bool:
    """``<split>/<class>/*.png``, or ``<class>/*.png`` (one split: all images train)."""
    return folder.is_dir() and (any(folder.glob("*/*/*.png")) or any(folder.glob("*/*.png")))


def class_folders(root: Path) -> list[str]:
    """The class folders of a split, in class order: ``classes.json``'s, else sorted names
    (numerically when all are numbers)."""
    listed = (root if (root / CLASSES_FILE).is_file() else root.parent) / CLASSES_FILE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        folders = json.loads(listed.read_text(encoding="utf-8"))["folders"]
        return [str(f) for f in folders]
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if names and all(n.isdigit() for n in names):
        names.sort(key=int)
    return names


def _size(image: npt.NDArray[Any]) -> str:
    """Height x width, as --image-size spells a size."""
    colour = " colour" if image.ndim == 3 else " gray"
    return f"{image.shape[0]}x{image.shape[1]}{colour}"


class PngDirReader:
    """``<split>/<class>/*.png`` read back in file-name order."""

    kind = "png-dir"

    def __init__(self, path: Path) -> None:
        self.path = path
        # root/<class>/*.png with no train/ or test/: one split, read as train.
        self.flat = not (path / "train").is_dir() and not (path / "test").is_dir()

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        splits = (
            ["train"] if self.flat else [s for s in ("train", "test") if (self.path / s).is_dir()]
        )
        return [f"{kind}_{s}" for s in splits for kind in ("x", "y")]

    def class_names(self) -> list[str]:
        """The classes in order: ``classes.json``'s names, else the folder names (numbers
        0 to the largest when every folder is named by a number)."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            listed = json.loads((self.path / CLASSES_FILE).read_text(encoding="utf-8"))
            return [str(c) for c in listed["classes"]]
        folders = self._folders()
        if folders and all(f.isdigit() for f in folders):
            return [str(i) for i in range(max(int(f) for f in folders) + 1)]
        return folders

    def _root(self, split: str) -> Path:
        return self.path if self.flat else self.path / split

    def provenance(self) -> dict[str, Any] | None:
        return read_manifest(self.path)

    def _folders(self) -> list[str]:
        """Class folders over every split, in class order (a class may be missing from one)."""
        listed = self.path / CLASSES_FILE
        if listed.is_file():
            return class_folders(self._root("train"))
        roots = [self._root(s) for s in ("train", "test") if self._root(s).is_dir()]
        names = sorted(
            {p.name for root in dict.fromkeys(roots) for p in root.iterdir() if p.is_dir()}
        )
        if names and all(n.isdigit() for n in names):
            names.sort(key=int)
        return names

    def files(self, split: str) -> list[tuple[Path, int]]:
        """(PNG, class id) of a split, in order."""
        root = self._root(split)
        entries = []
        folders = self._folders()
        numbered = not (self.path / CLASSES_FILE).is_file() and all(f.isdigit() for f in folders)
        for index, folder in enumerate(folders):
            # Folders named by numbers are those classes; others count in sorted order, as
            # torchvision's ImageFolder does.
            label = int(folder) if numbered else index
            if not (root / folder).is_dir():
                continue
            for p in (root / folder).iterdir():
                if p.suffix.lower() == ".png" and p.is_file():
                    entries.append((p.stem, p, label))
        entries.sort(key=lambda e: (len(e[0]), e[0], str(e[1])))
        return [(p, label) for _, p, label in entries]

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        from ..png import read_image

        kind, split = name.split("_")
        files = self.files(split)
        if not files:
            raise SourceError(self._root(split), "holds no PNG files", "give the whole folder")
        if kind == "y":
            labels = np.array([label for _, label in files], dtype=np.uint8)
            yield Member(name, labels.shape, labels.dtype), iter([labels])
            return
        first = read_image(files[0][0])
        member = Member(name, (len(files), *first.shape), np.dtype(np.uint8))

        def pieces() -> Iterator[npt.NDArray[Any]]:
            for path, _ in files:
                image = read_image(path)
                if image.shape != first.shape:
                    raise SourceError(
                        path,
                        f"is {_size(image)} where {files[0][0]} is {_size(first)}",
                        "give images of one size (and all gray or all colour)",
                    )
                yield image.reshape(-1)

        yield member, pieces()
