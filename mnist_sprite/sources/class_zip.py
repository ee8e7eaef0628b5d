"""Pack's source: a ``.zip`` of class folders (``<class>/*.jpg``, or
``<top>/<class>/*.jpg``: a Kaggle download, Teachable Machine's exports zipped together) read
as the folder it holds, without extracting a file, by the same per-class options as a folder.

Every member is checked from the central directory before a byte of it is inflated: a plain
relative name (never absolute, never ``..``: nothing points out of the archive), not a link,
not encrypted, at most MAX_FILE_BYTES, and inflating to at most MAX_RATIO times its stored
size (a bomb is refused, named). The central directory is bounded (MAX_DIRECTORY_BYTES) before
``zipfile`` parses it. The file managers' own entries (``__MACOSX/``, ``.DS_Store``) are
skipped; anything else that is not an image in a class folder is refused, named.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from ..errors import SourceError
from ..files import open_source
from ..formats.pngdir import SKIPPED, PngDirReader, _Layout, class_order
from ..imaging.decoders import MAX_FILE_BYTES, SUFFIXES, Decoded, decode
from ..labels import MAX_CLASSES
from ..reading import Output
from . import PackSource
from .class_pngs import read_by_class
from .options import SourceOptions

if TYPE_CHECKING:
    from ..imaging import Recipe

MAX_DIRECTORY_BYTES = 64 << 20  # a central directory of about a million members
MAX_RATIO = 200  # images are compressed already: a member inflating more is a bomb
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (APPNOTE 4.3.16)
_FIX = "give a .zip of class folders of images: <class>/*.jpg, or <top>/<class>/*.jpg"


def looks_like_class_zip(path: Path) -> bool:
    """A regular file named .zip (what it holds is checked when it is read)."""
    return path.suffix.lower() == ".zip" and path.is_file()


def _directory_bytes(f: BinaryIO, size: int, path: Path) -> None:
    """Refuse a central directory past MAX_DIRECTORY_BYTES, from the end record alone."""
    tail = min(size, _EOCD.size + 0xFFFF)
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < _EOCD.size:
        raise SourceError(path, "is not a zip archive (no end of central directory)", _FIX)
    *_, entries, directory, _offset, _comment = _EOCD.unpack_from(data, at)
    if directory > MAX_DIRECTORY_BYTES and directory != 0xFFFFFFFF:
        raise SourceError(
            path, f"declares a central directory of {directory:,} bytes, past the "
            f"{MAX_DIRECTORY_BYTES:,} this tool reads", _FIX,
        )  # fmt: skip
    if directory == 0xFFFFFFFF or entries == 0xFFFF:  # zip64: its own record says
        locator = data.rfind(b"PK\x06\x07", 0, at)
        if locator >= 0:
            (end64,) = struct.unpack_from("<Q", data, locator + 8)
            f.seek(end64)
            record = f.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                (directory64,) = struct.unpack_from("<Q", record, 40)
                if directory64 > MAX_DIRECTORY_BYTES:
                    raise SourceError(path, f"declares a central directory of "
                                      f"{directory64:,} bytes", _FIX)  # fmt: skip


def _member_path(info: zipfile.ZipInfo, path: Path) -> PurePosixPath | None:
    """The member's checked relative path; None for what is skipped (folders, the file
    managers' own entries)."""
    name = info.filename
    where = path / name
    if name.startswith(("/", "\\")) or "\\" in name or ":" in name.split("/")[0]:
        raise SourceError(where, "is a member with an absolute path", _FIX)
    parts = PurePosixPath(name).parts
    if any(p in ("..", ".") for p in parts):
        raise SourceError(where, "is a member whose path leads out of its folder ('..')", _FIX)
    if (parts and parts[0] == "__MACOSX") or (parts and parts[-1] in SKIPPED):
        return None
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SourceError(where, "is a symbolic link in the archive", "give the images themselves")
    if info.is_dir():
        return None
    if info.flag_bits & 0x1:
        raise SourceError(where, "is encrypted", "give an archive without a password")
    if info.file_size > MAX_FILE_BYTES:
        raise SourceError(where, f"declares {info.file_size:,} bytes, more than the "
                          f"{MAX_FILE_BYTES:,} of an image file pack reads", _FIX)  # fmt: skip
    if info.file_size > MAX_RATIO * info.compress_size + 4096:
        raise SourceError(
            where, f"inflates {info.compress_size:,} stored bytes to {info.file_size:,}: a zip "
            "bomb, not an image", "give an archive of images",
        )  # fmt: skip
    return PurePosixPath(*parts)


class ClassZipReader(PngDirReader):
    """The images of a zip of class folders, read as :class:`PngDirReader` reads a folder
    of them (flat: every image training, pack's per-class options then split them)."""

    kind = "class-zip"

    def __init__(self, path: Path, recipe: Recipe | None = None) -> None:
        self.path = path
        self.recipe = recipe
        self._shape = None
        self._files = {}
        self._f = open_source(path)
        try:
            _directory_bytes(self._f, os.fstat(self._f.fileno()).st_size, path)
            try:
                self._zip = zipfile.ZipFile(self._f)
            except (zipfile.BadZipFile, ValueError, OSError) as e:
                raise SourceError(path, f"is not a zip archive ({e})", _FIX) from None
            self._members = self._read_listing()
        except BaseException:
            self._f.close()
            raise
        self.flat = True

    def _read_listing(self) -> dict[Path, zipfile.ZipInfo]:
        found: list[tuple[PurePosixPath, zipfile.ZipInfo]] = []
        for info in self._zip.infolist():
            member = _member_path(info, self.path)
            if member is not None:
                found.append((member, info))
        if not found:
            raise SourceError(self.path, "holds no images", _FIX)
        tops = {m.parts[0] for m, _ in found}
        strip = 1 if len(tops) == 1 and all(len(m.parts) == 3 for m, _ in found) else 0
        classes: dict[str, list[tuple[str, Path]]] = {}
        members: dict[Path, zipfile.ZipInfo] = {}
        for member, info in found:
            parts = member.parts[strip:]
            where = self.path / str(member)
            if len(parts) != 2:
                raise SourceError(
                    where, "is not an image inside a class folder" if len(parts) < 2
                    else "is inside a folder inside a class folder", _FIX,
                )  # fmt: skip
            if PurePosixPath(parts[1]).suffix.lower() not in SUFFIXES:
                raise SourceError(where, f"is not an image file pack reads "
                                  f"({', '.join(sorted(SUFFIXES))})", "remove it")  # fmt: skip
            classes.setdefault(parts[0], []).append((PurePosixPath(parts[1]).stem, where))
            members[where] = info
            if len(classes) > MAX_CLASSES:
                raise SourceError(self.path, f"holds more than {MAX_CLASSES} class folders",
                                  "give at most 255 classes")  # fmt: skip
        folders = class_order(list(classes))
        self._layout = _Layout(
            True, ("train",), tuple(folders), tuple(range(len(folders))), tuple(folders)
        )
        entries = [
            (stem, where, label)
            for label, folder in enumerate(folders)
            for stem, where in classes[folder]
        ]
        entries.sort(key=lambda e: (len(e[0]), e[0], str(e[1])))
        self._files["train"] = [(where, label) for _, where, label in entries]
        return members

    def close(self) -> None:
        self._zip.close()
        self._f.close()

    def provenance(self) -> None:
        return None

    def decode(self, path: Path, engine: str) -> Decoded:
        info = self._members[path]
        try:
            with self._zip.open(info) as f:  # zipfile checks the CRC at the end
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as e:
            raise SourceError(path, f"does not inflate ({e})", "give an intact archive") from None
        if len(data) != info.file_size:
            raise SourceError(path, f"holds {len(data):,} bytes where the archive declares "
                              f"{info.file_size:,}", "give an intact archive")  # fmt: skip
        return decode(path, self.path, engine, data=data)


def _open(source: Path, options: SourceOptions) -> Output:
    return read_by_class(ClassZipReader(source, options.recipe), source, options)


SOURCE = PackSource(looks_like_class_zip, _open, lambda _: False)
