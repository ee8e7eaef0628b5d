"""Input files: opening, hashing, telling what a file looks like, and small JSON records."""

from __future__ import annotations

import itertools
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from .errors import PathLike, SourceError


def regular_file(path: PathLike) -> os.stat_result:
    """``path``'s stat when it is a regular file; refuses what is missing, a folder, or
    anything else (a FIFO, a device, a socket), by ``stat`` alone, before any open."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise SourceError(p, "no such file", "check the path") from None
    except OSError as e:
        raise SourceError(p, f"cannot read ({e.strerror})", "check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(p, "is a directory, not a file", "give the path of the file itself")
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(p, "is not a regular file", "copy the data to a regular file first")
    return st


def open_source(path: PathLike, root: PathLike | None = None) -> BinaryIO:
    """Open an input file, refusing what is missing, unreadable or not a regular file.

    Checked by ``stat`` first, then opened without blocking and checked again on the open
    descriptor, so a FIFO swapped in between the two can never make the open hang. With
    ``root``, the file opened must lie inside that folder: checked on the descriptor itself
    (:func:`_opened_inside`), so a link swapped in after :func:`inside` looked cannot lead out.
    """
    p = os.fspath(path)
    regular_file(p)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise SourceError(p, f"cannot read ({e.strerror})", "check its permissions") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError(p, "is not a regular file", "copy the data to a regular file first")
    if root is not None:
        try:
            _opened_inside(fd, Path(root), Path(p))
        except BaseException:
            os.close(fd)
            raise
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def is_regular(path: PathLike) -> bool:
    """A regular file (following a link), told by ``stat`` without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def inside(root: Path, path: Path) -> Path:
    """``path`` when it stays inside the folder ``root`` once links and ``..`` are resolved;
    a file a source names or links outside its own folder is refused, never read."""
    try:
        real_root = root.resolve()
        real = path.resolve()
    except (OSError, RuntimeError) as e:  # a link loop
        raise SourceError(path, f"cannot be resolved ({e})", "give a plain folder") from None
    if real != real_root and real_root not in real.parents:
        raise SourceError(path, f"leads outside the source folder {root}", _INSIDE_FIX)
    return path


_INSIDE_FIX = "give a folder whose files are all inside it"


def _opened_inside(fd: int, root: Path, path: Path) -> None:
    """The file open on ``fd`` lies inside ``root``, by the path the kernel gives for the
    descriptor (Linux's ``/proc/self/fd``): whatever links lay on ``path`` when it was opened,
    this is the file that will be read. Where the system gives no such path, the check is on
    ``path`` as it is now, and on the descriptor being the very file it leads to."""
    opened = _descriptor_path(fd)
    if opened.startswith("/"):
        opened = opened.removesuffix(" (deleted)")
        # The kernel's path holds no links, so a prefix that is ``root`` as given (with no
        # "..", which a link before it would change) is a real folder: the common case costs
        # no system call. Else ``root`` is resolved.
        given = () if ".." in root.parts else (os.path.abspath(root),)
        tops = itertools.chain(given, (os.path.realpath(r) for r in (root,)))  # only if needed
        if not any(opened == top or opened.startswith(top.rstrip(os.sep) + os.sep) for top in tops):
            raise SourceError(path, f"leads outside the source folder {root}", _INSIDE_FIX)
        return
    inside(root, path)
    st, now = os.fstat(fd), os.stat(path)
    if (st.st_dev, st.st_ino) != (now.st_dev, now.st_ino):
        raise SourceError(path, "changed while it was opened", "give files that stay in place")


def _descriptor_path(fd: int) -> str:
    """The path the kernel gives for an open descriptor; "" where it gives none."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def plain_name(text: object) -> bool:
    """One file or folder name: a non-empty string with no separator, not ``.`` or ``..``,
    and no control character."""
    return (
        isinstance(text, str)
        and text not in ("", ".", "..")
        and "/" not in text
        and "\\" not in text
        and "\0" not in text
        and all(c.isprintable() for c in text)
    )


def relative_name(text: object, where: PathLike, what: str) -> str:
    """``text`` when it is a relative path made of plain names (as a manifest lists its
    files); else refused. Whether links lead out is checked when a reader opens the file."""
    parts = text.split("/") if isinstance(text, str) else []
    if not parts or not all(plain_name(part) for part in parts):
        raise SourceError(
            where,
            f"{what} {text!r} is not a path inside its folder",
            "give relative names inside the folder (no '..', no absolute paths)",
        )
    return str(text)


def check_size(path: PathLike, what: str, declared: int, present: int, limit: int) -> None:
    """``declared`` bytes (exact integers, never wrapped) must be at most ``limit`` and at
    most the ``present`` bytes that could hold them; checked before anything is allocated."""
    if declared > limit:
        raise SourceError(
            path,
            f"{what} declares {declared:,} bytes, more than the {limit:,} this tool reads",
            "give intact files",
        )
    if declared > present:
        raise SourceError(
            path,
            f"{what} declares {declared:,} bytes but the file can hold at most {present:,}",
            "give intact files",
        )


def tree_sha256(path: Path) -> str | dict[str, str]:
    """sha256 of a file, or of every file under a folder (by its relative path)."""
    if not path.is_dir():
        return file_sha256(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return {p.relative_to(path).as_posix(): file_sha256(p) for p in files}


def file_sha256(path: PathLike, root: PathLike | None = None) -> str:
    """sha256 of a file's bytes (a file that must lie inside ``root``, where given)."""
    return _file_digest("sha256", path, root)


def file_md5(path: PathLike) -> str:
    """md5 of a file's bytes: the digest some publishers give (MNIST's, in torchvision)."""
    return _file_digest("md5", path, None)


def _file_digest(algorithm: str, path: PathLike, root: PathLike | None) -> str:
    import hashlib  # here: OpenSSL's start-up is paid by the commands that hash

    digest = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    with open_source(path, root) as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


_HTML = (b"<!doctype", b"<html", b"<head", b"<?xml")


def looks_like_html(head: bytes) -> bool:
    """An HTML or XML page (an error page saved in place of a download), from its first bytes."""
    return head.lstrip()[:9].lower().startswith(_HTML)


def _first_member(head: bytes) -> bytes:
    """The name of a zip's first member, from its local header (APPNOTE 4.3.7)."""
    return head[30 : 30 + int.from_bytes(head[26:28], "little")]


def sniff(head: bytes) -> str | None:
    """What a file's first bytes say it is, when that is a well-known kind; None otherwise."""
    if not head:
        return "an empty file"
    if looks_like_html(head):
        return "an HTML page"
    if head.startswith(b"PK\x03\x04") and _first_member(head).endswith(b".npy"):
        return "an .npz archive (numpy arrays)"
    for magic, what in (
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1f\x8b", "a gzip file"),
        (b"PK\x03\x04", "a zip file"),
        (b"BM", "a BMP image"),
        (b"\x93NUMPY", "a .npy file"),
    ):
        if head.startswith(magic):
            return what
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(c.isprintable() or c in "\t\r\n" for c in text):
        return "a text file"
    return None


_JSON_BYTES = 16 << 20


def read_json(path: Path) -> dict[str, Any]:
    """A small JSON record; empty when it is missing, unreadable, not a regular file or not
    an object."""
    if not is_regular(path):
        return {}
    try:
        with open_source(path) as f:
            data = json.loads(f.read(_JSON_BYTES + 1)[:_JSON_BYTES].decode("utf-8"))
    except (OSError, ValueError, SourceError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a small JSON record atomically: a reader sees the old one or the new one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
