"""``python -m mnist_sprite`` and the ``mnist-sprite`` script: the command line, with Ctrl-C
one line from the first moment (the command line's own handlers start once it is imported)."""

from __future__ import annotations

import sys

from .errors import INTERRUPTED


def main() -> None:
    try:
        from .cli import main as run
    except BaseException as e:  # Ctrl-C mid-import may arrive wrapped (a class body's
        # __set_name__ turns it into a RuntimeError whose cause it is)
        if not _interrupted(e):
            raise
        sys.stderr.write(f"error: {INTERRUPTED}\n")
        raise SystemExit(1) from None
    run()


def _interrupted(e: BaseException | None) -> bool:
    seen = 0
    while e is not None and seen < 100:
        if isinstance(e, KeyboardInterrupt):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


if __name__ == "__main__":
    main()
