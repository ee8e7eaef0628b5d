"""mnist-sprite: TensorFlow.js's dataset sprites as NumPy arrays, exactly, without a browser."""

from ._version import __version__
from .api import convert, fetch, load_data, pack
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
