"""Messages in a Python caller's words: a message names options as the command line spells
them (``--train-size``); a caller of ``load_data()``, ``convert()`` or ``pack()`` reads the
keyword instead (``train_size``; a flag is ``force=True``; ``--from`` is ``from_path``).

The words come from the command line's own declarations (every click option of every
command: its flags and the parameter each sets), so a new option is reworded as it is
declared, never by a hand-kept list. The API wraps its functions with :func:`speaking`.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from .errors import MnistSpriteError

P = ParamSpec("P")
R = TypeVar("R")
_FLAG = re.compile(r"--[a-z][a-z-]*")


@functools.lru_cache(maxsize=1)
def option_words() -> dict[str, str]:
    """Each long option of every command -> how a Python caller passes it."""
    import click

    from .cli import cli  # the declarations; imported on the first error only

    words: dict[str, str] = {}
    for command in cli.commands.values():
        for param in command.params:
            if not isinstance(param, click.Option) or param.name is None:
                continue
            for opt in param.opts:
                if opt.startswith("--"):
                    words[opt] = f"{param.name}=True" if param.is_flag else param.name
    return words


def python_words(text: str) -> str:
    """``text`` with each command-line option replaced by the Python parameter it is; a
    command quoted to run (``'mnist-sprite fetch --from PATH'``) keeps its flags."""
    words = option_words()
    parts = text.split("'")
    for i in range(0, len(parts), 2):  # outside quotes only
        parts[i] = _FLAG.sub(lambda m: words.get(m.group(0), m.group(0)), parts[i])
    return "'".join(parts)


@contextlib.contextmanager
def speaking_python() -> Iterator[None]:
    """Errors raised inside name options as a Python caller passes them."""
    try:
        yield
    except MnistSpriteError as e:
        e.reword = python_words
        e.args = (e.message,)
        raise


def speaking(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` as the Python API offers it: its errors in a Python caller's words."""

    @functools.wraps(function)
    def api(*args: P.args, **kwargs: P.kwargs) -> R:
        with speaking_python():
            return function(*args, **kwargs)

    return api
