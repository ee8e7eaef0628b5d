"""mnist-sprite: the TensorFlow.js MNIST sprite as NumPy arrays, exactly, without a browser."""

__version__ = "0.1.0"

from .convert import convert, load_data
from .errors import (
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
    "load_data",
]
