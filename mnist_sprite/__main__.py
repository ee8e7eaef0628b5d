"""``python -m mnist_sprite`` and the ``mnist-sprite`` script: the command line, with Ctrl-C
one line from the first moment (the command line's own handlers start once it is imported)."""

from __future__ import annotations

import sys

from .errors import INTERRUPTED


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write(f"error: {INTERRUPTED}\n")
        raise SystemExit(1) from None
    run()


if __name__ == "__main__":
    main()
