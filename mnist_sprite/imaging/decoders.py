"""A user's image file as a browser hands it to a canvas: its colours (gray or RGB) and its
alpha, the EXIF orientation applied.

PNG is read by this tool's own decoder (``png/``), as convert reads sprites: every engine's
rule for 16-bit samples and gAMA, measured. Every other format (JPEG, WebP, GIF, BMP) goes
through Pillow, the optional extra ``mnist-sprite[images]``, imported here only: the core
install never needs it. Every file is checked before its pixels are: a regular file inside the
source, of at most MAX_PIXELS pixels by its header, with no colour profile this tool does not
reproduce.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from ..files import open_source

U8 = npt.NDArray[np.uint8]

PNG_SUFFIXES = frozenset({".png"})
PILLOW_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".gif", ".bmp"})
SUFFIXES = PNG_SUFFIXES | PILLOW_SUFFIXES
# The most pixels one image may declare: 4096 x 4096, past any image a sprite row holds and
# bounding what a decode allocates (48 MiB of RGB) whatever the file claims.
MAX_PIXELS = 1 << 24
MAX_FILE_BYTES = 64 << 20  # one image file; a photo is a few MB
INSTALL = "pip install 'mnist-sprite[images]'"
_ORIENTATION = 0x0112  # the EXIF tag
_PILLOW_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP"}


@dataclass(frozen=True)
class Decoded:
    """One image as a canvas receives it: ``colour`` (h, w) gray or (h, w, 3) RGB, ``alpha``
    (h, w) or None when every pixel is opaque."""

    colour: U8
    alpha: U8 | None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.colour.shape[0]), int(self.colour.shape[1])

    @property
    def gray(self) -> bool:
        return self.colour.ndim == 2


def decode(path: Path, root: Path, engine: str, data: bytes | None = None) -> Decoded:
    """``path`` (a file inside ``root``, or with ``data`` a member named so) decoded as
    ``engine`` draws it."""
    if path.suffix.lower() in PNG_SUFFIXES:
        return _decode_png(path, root, engine, data)
    if path.suffix.lower() in PILLOW_SUFFIXES:
        if data is None:
            with open_source(path, root) as f:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_FILE_BYTES:
                    raise SourceError(
                        path, f"is {size:,} bytes, more than the {MAX_FILE_BYTES:,} of an "
                        "image file pack reads", "give smaller images",
                    )  # fmt: skip
                data = f.read(MAX_FILE_BYTES + 1)
        return _decode_pillow(path, data)
    raise SourceError(path, f"is not an image pack reads ({', '.join(sorted(SUFFIXES))})",
                      "convert it, or remove it")  # fmt: skip


def _decode_png(path: Path, root: Path, engine: str, data: bytes | None) -> Decoded:
    from ..png import PngFile

    with PngFile(path, root=root, max_pixels=MAX_PIXELS, data=data) as png_file:
        colour, alpha = png_file.image(engine)
    return Decoded(colour, alpha)


def pillow() -> Any:
    """Pillow's Image module, or the one line that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _decode_pillow(path: Path, data: bytes) -> Decoded:
    image_module = pillow()
    if image_module is None:
        raise SourceError(
            path,
            f"is a {path.suffix.lower().lstrip('.').upper()} image; pack reads PNG itself and "
            "other images through Pillow, which is not installed",
            f"run {INSTALL}, or convert the images to PNG",
        )
    from PIL import ImageOps, UnidentifiedImageError

    # No warnings filter here: catch_warnings is not safe across the decoding threads, and
    # what Pillow warns of (a palette's transparency, a bomb) is converted or refused below.
    try:
        opened = image_module.open(io.BytesIO(data), formats=["JPEG", "WEBP", "GIF", "BMP"])
        with opened as im:
            kind = _PILLOW_FORMATS.get(im.format or "", im.format)
            w, h = im.size
            if not 1 <= w * h <= MAX_PIXELS:
                raise SourceError(
                    path, f"is a {kind} of {w}x{h} pixels, more than the "
                    f"{MAX_PIXELS:,} pack decodes", "give smaller images",
                )  # fmt: skip
            _check_colour(path, im, kind)
            im.seek(0)  # a GIF's or WebP's first frame, as a canvas draws it
            # The EXIF orientation, applied (exif_transpose copies even an upright image).
            turned = im.getexif().get(_ORIENTATION, 1) not in (1, None)
            return _pixels(path, ImageOps.exif_transpose(im) if turned else im, kind)
    except SourceError:
        raise
    except UnidentifiedImageError:
        raise SourceError(
            path, f"is not a {path.suffix.lower().lstrip('.').upper()} image Pillow reads",
            "give intact images, or remove it",
        ) from None  # fmt: skip
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise SourceError(
            path, f"does not decode ({e})", "give intact images, or remove it"
        ) from None


def _check_colour(path: Path, im: Any, kind: str) -> None:
    """Refuse what engines colour-manage in ways not reproduced here: an ICC profile (each
    engine converts it with its own CMS), CMYK (inverted or not by the engine)."""
    if im.info.get("icc_profile"):
        raise SourceError(
            path,
            f"is a {kind} with an ICC colour profile: each browser converts its colours with its "
            "own colour management, which this tool does not reproduce",
            "save it without the profile, in sRGB (e.g. magick FILE -strip OUT)",
        )
    if (im.mode in ("CMYK", "YCbCr") and kind != "JPEG") or im.mode == "CMYK":
        raise SourceError(
            path, f"is a {im.mode} {kind}; browsers convert CMYK each their own way",
            "save it as RGB",
        )  # fmt: skip


def _pixels(path: Path, im: Any, kind: str) -> Decoded:
    """Pillow's decoded image as gray or RGB values and alpha."""
    mode = im.mode
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if "transparency" in im.info or mode == "PA" else "RGB")
    elif mode in ("1", "I;16", "I;16B", "I;16L", "I", "F"):
        if mode != "1":
            raise SourceError(path, f"is a {kind} of {mode} samples",
                              "give 8-bit gray or colour images")  # fmt: skip
        im = im.convert("L")
    elif mode == "LA":
        pass
    elif mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    values = np.asarray(im, dtype=np.uint8)
    if im.mode == "L":
        return Decoded(np.ascontiguousarray(values), None)
    if im.mode == "RGB":
        return Decoded(np.ascontiguousarray(values), None)
    colour = np.ascontiguousarray(values[..., :-1])
    alpha = np.ascontiguousarray(values[..., -1])
    if im.mode == "LA":
        colour = colour[..., 0]
    return Decoded(colour, None if bool((alpha == 255).all()) else alpha)
