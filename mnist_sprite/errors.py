"""The exception hierarchy: every failure a user can meet, as one line they can act on.

Messages name options as the command line spells them (``--train-size``). A Python caller
gets the same message in its own words (``train_size``): the API sets an error's ``reword``
(``words.python_words``) on the way out. This module imports nothing of the package.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]

INTERRUPTED = "interrupted; nothing was written and existing files are unchanged"


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised where the program is, so cleanup runs.

    ``kept`` names a partial download left on purpose: the next fetch resumes it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.kept: str | None = None

    def message(self) -> str:
        if self.kept is None:
            return INTERRUPTED
        return (
            f"interrupted; kept the partial download {self.kept}, which the next fetch resumes; "
            "nothing else was written"
        )


def _shell_word(text: str) -> str:
    """``text`` as one shell word, in double quotes when it needs any (a message quotes a
    whole command in single quotes)."""
    if text and re.fullmatch(r"[A-Za-z0-9_@%+=:,./~-]+", text):
        return text
    return '"' + re.sub(r'(["\\$`])', r"\\\1", text) + '"'


def command(
    name: str,
    *args: str,
    dataset: str | None = None,
    cache_dir: PathLike | None = None,
) -> str:
    """The one builder of a command an error suggests: ``mnist-sprite NAME`` with the options in
    force that make it do what was meant (the dataset, the cache folder), then ``args``."""
    words = ["mnist-sprite", name]
    if dataset is not None:
        words += ["--dataset", dataset]
    if cache_dir is not None:
        words += ["--cache-dir", _shell_word(os.fspath(cache_dir))]
    return " ".join([*words, *args])


def shown(value: object) -> str:
    """A value as JSON, cut to 40 characters: what a message quotes of a record's field."""
    import json

    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
        # The API's wording for a Python caller (words.python_words); None: the command line's.
        self.reword: Callable[[str], str] | None = None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.problem if self.path is None else f"{self.path}: {self.problem}"
        text = f"{text}; {self.fix}" if self.fix else text
        return self.reword(text) if self.reword is not None else text

    def __str__(self) -> str:
        return self.message


class PngFormatError(MnistSpriteError):
    """The file is not a valid PNG: bad signature, CRC, chunk order, header or zlib stream."""


class LabelError(MnistSpriteError):
    """The label file is malformed or does not match the sprite."""


class SourceError(MnistSpriteError):
    """An input file is missing, unreadable, or not a regular file."""


class OutputError(MnistSpriteError):
    """The output cannot be written: it exists, its folder is missing, or the disk is full."""


class StdoutClosed(OutputError):
    """The program reading standard output closed it before the output was complete."""


class OptionError(MnistSpriteError):
    """Options that cannot work together, or do not fit the input."""

    exit_code = 2


class SpriteError(OptionError):
    """A valid PNG whose rows are not one image of ``--image-size`` each (exit 2: the option
    does not fit the input)."""


class FetchError(MnistSpriteError):
    """A download failed from every source, or the cache is incomplete in offline mode."""


class IntegrityError(MnistSpriteError):
    """A file's digest or content does not match what it must be."""


class ColourWarning(UserWarning):
    """The sprite carries a colour chunk (gAMA, iCCP) that makes a browser's canvas change
    its values; this tool gives the stored values (see README)."""
