"""``NAME.js``: the browser loader pack writes beside a bundle, from the template
``loader.js`` (package data) with the bundle's name filled in."""

from __future__ import annotations

from importlib import resources

PLACEHOLDER = "__NAME__"


def loader_source(name: str) -> str:
    """The ES module that loads ``NAME.json`` (``name`` is a plain file name: letters,
    digits, ``-``, ``_``, ``.``; nothing a JavaScript string or comment would read otherwise)."""
    template = resources.files("mnist_sprite").joinpath("loader.js").read_text(encoding="utf-8")
    return template.replace(PLACEHOLDER, name)
