"""Opening input files and hashing them: the one place that meets the file system for reading."""

from __future__ import annotations

import hashlib
import os
import stat
from typing import BinaryIO

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
