"""Input files: opening, hashing, telling what a file looks like, and small JSON records."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from .errors import PathLike, SourceError


def open_source(path: PathLike) -> BinaryIO:
    """Open an input file, refusing what is missing, unreadable or not a regular file."""
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
    try:
        return open(p, "rb")
    except OSError as e:
        raise SourceError(p, f"cannot read ({e.strerror})", "check its permissions") from None


def file_sha256(path: PathLike) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open_source(path) as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


_HTML = (b"<!doctype", b"<html", b"<head", b"<?xml")


def looks_like_html(head: bytes) -> bool:
    """An HTML or XML page (an error page saved in place of a download), from its first bytes."""
    return head.lstrip()[:9].lower().startswith(_HTML)


def sniff(head: bytes) -> str | None:
    """What a file's first bytes say it is, when that is a well-known kind; None otherwise."""
    if not head:
        return "an empty file"
    if looks_like_html(head):
        return "an HTML page"
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


def read_json(path: Path) -> dict[str, Any]:
    """A small JSON record; empty when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a small JSON record atomically: a reader sees the old one or the new one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
