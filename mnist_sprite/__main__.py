"""``python -m mnist_sprite``: the same command line as ``mnist-sprite``."""

from .cli import main

if __name__ == "__main__":
    main()
