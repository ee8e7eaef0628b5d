"""The clients other people read our outputs with. ``make test-clients`` installs a set of them
and sets ``MNIST_SPRITE_CLIENTS`` (``light`` or ``full``): then a missing client is a failure;
elsewhere its tests skip, naming the command that makes them run."""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType

import pytest

ENV = "MNIST_SPRITE_CLIENTS"
LIGHT = ("pandas", "PIL", "idx2numpy", "pyarrow", "webdataset")  # Pillow's import name is PIL
FULL = (*LIGHT, "torch", "torchvision", "datasets")


def required() -> tuple[str, ...]:
    """The clients this run must have: none, LIGHT or FULL."""
    return {"light": LIGHT, "full": FULL}.get(os.environ.get(ENV, ""), ())


def missing(modules: set[str]) -> list[str]:
    """Which of ``modules`` are not installed here."""
    return sorted(m for m in modules if importlib.util.find_spec(m) is None)


def client(module: str) -> ModuleType:
    """Import a client, or skip (fail, when this run requires it)."""
    if module in required():
        return importlib.import_module(module)  # an ImportError here fails the test
    how = "make test-clients" if module.split(".")[0] in LIGHT else "make test-clients CLIENTS=full"
    return pytest.importorskip(module, reason=f"run '{how}' to test {module}")
