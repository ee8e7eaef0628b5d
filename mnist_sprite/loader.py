"""``NAME.js``: the loader pack writes beside a bundle: ``loader.js`` (package data) as it is,
its first lines, the bundle's own, written for the bundle: its name and image size.

``loader.js`` is itself the ES module, its first lines those of ``--name data`` for 28x28 gray
images in 10 classes, so that Node imports it as stored (tests/js/unit/ does, with no pack).
"""

from __future__ import annotations

from importlib import resources

# The line that ends the bundle's own lines: everything above it is written by bundle_lines().
END = "// ---- Above, this bundle's own lines (pack writes them); below, every bundle's. ----\n"


def bundle_lines(name: str, height: int, width: int, channels: int, classes: int) -> str:
    """The lines of NAME.js that are the bundle's own, up to and with ``END``."""
    if not name or name.startswith(".") or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"{name!r}: not a plain file name (letters, digits, - _ .)")
    numbers = {"IMAGE_H": height, "IMAGE_W": width, "CHANNELS": channels, "NUM_CLASSES": classes}
    return (
        f"// {name}.js: loads the dataset `mnist-sprite pack` wrote as {name}.json and its PNG"
        " shards.\n"
        + "".join(f"export const {key} = {int(value)};\n" for key, value in numbers.items())
        + f'const JSON_NAME = "{name}.json";\n'
        + f'const JS_NAME = "{name}.js";\n'
        + END
    )


def stored_source() -> str:
    """``loader.js`` as the package holds it."""
    return resources.files("mnist_sprite").joinpath("loader.js").read_text(encoding="utf-8")


def loader_source(name: str, height: int, width: int, channels: int, classes: int) -> str:
    """The ES module that loads ``NAME.json`` (``name`` is a plain file name: letters,
    digits, ``-``, ``_``, ``.``; nothing a JavaScript string or comment would read otherwise).
    The numbers become its exports ``IMAGE_H``, ``IMAGE_W``, ``CHANNELS`` and ``NUM_CLASSES``,
    as tfjs-examples' data.js has them before anything is loaded."""
    stored = stored_source()
    _, end, rest = stored.partition(END)
    if not end or END in rest:
        raise RuntimeError("loader.js: its bundle's lines do not end in exactly one END line")
    return bundle_lines(name, height, width, channels, classes) + rest
