"""The exception hierarchy: every failure a user can meet, as one line they can act on."""

from __future__ import annotations

import os
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]


class MnistSpriteError(Exception):
    """Base class. ``str(error)`` is ``"<file>: <what is wrong>; <what to do>"``.

    ``exit_code`` is what the command line exits with (1 for bad input or a failed
    operation, 2 for options that cannot work together).
    """

    exit_code = 1

    def __init__(self, path: PathLike | None, problem: str, fix: str = "") -> None:
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.problem if self.path is None else f"{self.path}: {self.problem}"
        return f"{text}; {self.fix}" if self.fix else text

    def __str__(self) -> str:
        return self.message


class PngFormatError(MnistSpriteError):
    """The file is not a valid PNG: bad signature, CRC, chunk order, header or zlib stream."""


class SpriteError(MnistSpriteError):
    """A valid PNG that is not a sprite of the expected shape (width is not one image)."""


class LabelError(MnistSpriteError):
    """The label file is malformed or does not match the sprite."""


class SourceError(MnistSpriteError):
    """An input file is missing, unreadable, or not a regular file."""


class OutputError(MnistSpriteError):
    """The output cannot be written: it exists, its folder is missing, or the disk is full."""


class OptionError(MnistSpriteError):
    """Options that cannot work together, or do not fit the input."""

    exit_code = 2


class FetchError(MnistSpriteError):
    """A download failed from every source, or the cache is incomplete in offline mode."""


class IntegrityError(MnistSpriteError):
    """A file's digest or content does not match what it must be."""
