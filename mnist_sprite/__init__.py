"""mnist-sprite: TensorFlow.js's dataset sprites as NumPy arrays, exactly, without a browser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ColourWarning,
    FetchError,
    IntegrityError,
    LabelError,
    MnistSpriteError,
    OptionError,
    OutputError,
    PngFormatError,
    SourceError,
    SpriteError,
)

if TYPE_CHECKING:
    from .api import convert, fetch, load_data, pack

_API = ("convert", "fetch", "load_data", "pack")


def __getattr__(name: str) -> Any:
    """The API functions, imported on first use (PEP 562): importing the package, as the
    command line does, then costs no numpy."""
    if name in _API:
        from . import api

        function = getattr(api, name)
        globals()[name] = function
        return function
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ColourWarning",
    "FetchError",
    "IntegrityError",
    "LabelError",
    "MnistSpriteError",
    "OptionError",
    "OutputError",
    "PngFormatError",
    "SourceError",
    "SpriteError",
    "__version__",
    "convert",
    "fetch",
    "load_data",
    "pack",
]
