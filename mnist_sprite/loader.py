"""``NAME.js``: the loader pack writes beside a bundle, from the template ``loader.js``
(package data) with the bundle's name and image size filled in."""

from __future__ import annotations

from importlib import resources

PLACEHOLDER = "__NAME__"


def loader_source(name: str, height: int, width: int, channels: int, classes: int) -> str:
    """The ES module that loads ``NAME.json`` (``name`` is a plain file name: letters,
    digits, ``-``, ``_``, ``.``; nothing a JavaScript string or comment would read otherwise).
    The numbers become its exports ``IMAGE_H``, ``IMAGE_W``, ``CHANNELS`` and ``NUM_CLASSES``,
    as tfjs-examples' data.js has them before anything is loaded."""
    template = resources.files("mnist_sprite").joinpath("loader.js").read_text(encoding="utf-8")
    numbers = {"IMAGE_H": height, "IMAGE_W": width, "CHANNELS": channels, "CLASSES": classes}
    for key, value in numbers.items():
        template = template.replace(f"__{key}__", str(int(value)))
    return template.replace(PLACEHOLDER, name)
