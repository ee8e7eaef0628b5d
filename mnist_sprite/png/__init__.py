"""PNG decoding for sprites: a chunk reader (``chunks.py``) and a pixel stage (``pixels.py``).

Knows nothing of MNIST or datasets: a PNG in, checked rows of pixels out.
"""

from ..choices import DECODERS, Decoder
from .chunks import COLOR_TYPES, COLOUR_CHUNKS, MAX_PIXELS, SIGNATURE, ChunkReader, Header
from .pixels import (
    FILTER_NAMES,
    PngFile,
    Survey,
    pixels_sha256,
    read_image,
    read_red,
)

__all__ = [
    "COLOR_TYPES",
    "COLOUR_CHUNKS",
    "DECODERS",
    "FILTER_NAMES",
    "MAX_PIXELS",
    "SIGNATURE",
    "ChunkReader",
    "Decoder",
    "Header",
    "PngFile",
    "Survey",
    "pixels_sha256",
    "read_image",
    "read_red",
]
