"""Progress bars on stderr: the only module that imports tqdm, and only when a bar is shown."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


def _noop(_n: int) -> None:
    return None


def wanted(quiet: bool) -> bool:
    """A bar is shown only when stderr is a terminal and the user did not ask for quiet."""
    return not quiet and sys.stderr.isatty()


def say(message: str) -> None:
    """A passing message for the person at the terminal (a retry, a wait), on stderr."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def bar(total: int | None, desc: str, unit: str, *, enabled: bool) -> Iterator[Advance]:
    """Yield a function that advances a tqdm bar on stderr by ``n``; a no-op when disabled.

    ``unit="B"`` shows bytes with binary prefixes (downloads); any other unit counts items.
    """
    if not enabled:
        yield _noop
        return
    from tqdm import tqdm  # imported here: start-up time counts in pipelines

    is_bytes = unit == "B"
    with tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=is_bytes,
        unit_divisor=1024 if is_bytes else 1000,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    ) as t:
        yield t.update
