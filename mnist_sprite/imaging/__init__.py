"""What pack does to each of a user's images on its way into a sprite, in this order:

1. decode it as the browser hands it to a canvas (``decode.py``: EXIF orientation applied);
2. ``--alpha``: a choice for images that are not fully opaque, never a silent loss;
3. ``--channels``: gray (``tf.image.rgbToGrayscale``, rounded) or RGB;
4. ``--resize HxW`` with ``--fit`` and ``--resample`` (``ops.py``).

Each step gives bytes, so a page that applies the same steps to an image sees what the model
was trained on. A :class:`Recipe` is the steps' options, recorded in NAME.json so that
``verify --source`` applies them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OptionError, SourceError
from ..png.canvas import DEFAULT_ENGINE, drawn_alone, over_fill
from ..registry import SOURCE_OPTIONS
from . import ops
from .decoders import SUFFIXES, Decoded, decode

__all__ = ["ALPHA", "CHANNELS", "FITS", "RESAMPLERS", "SUFFIXES", "Recipe", "decode"]

# Each option's choices, as pack's option table declares them (registry.SOURCE_OPTIONS).
_CHOICES = {o.name: o.choices for o in SOURCE_OPTIONS if o.kind == "choice"}
ALPHA, CHANNELS = _CHOICES["alpha"], _CHOICES["channels"]
FITS, RESAMPLERS = _CHOICES["fit"], _CHOICES["resample"]
_ALPHA_FIX = (
    "give --alpha ink (strokes on transparent: the value is the alpha, white on black as "
    "MNIST), white or black (drawn over that colour), or ignore (the colours a canvas returns)"
)


@dataclass(frozen=True)
class Recipe:
    """The options of the steps; None: not given (then an image that needs a choice is
    refused, naming the option)."""

    alpha: str | None = None
    channels: str | None = None
    resize: tuple[int, int] | None = None
    fit: str = "stretch"
    resample: str = "area"
    pad_value: int = 0
    engine: str = DEFAULT_ENGINE

    def recorded(self) -> dict[str, Any]:
        """The options given, for NAME.json's provenance."""
        out: dict[str, Any] = {}
        if self.alpha is not None:
            out["alpha"] = self.alpha
        if self.channels is not None:
            out["channels"] = self.channels
        if self.resize is not None:
            out["resize"] = f"{self.resize[0]}x{self.resize[1]}"
            out["fit"] = self.fit
            out["resample"] = self.resample
            if self.fit == "pad":
                out["pad_value"] = self.pad_value
        return out

    def shape(self, first: Decoded, path: Path) -> tuple[int, ...]:
        """The shape every image takes, given the first: (h, w) gray or (h, w, 3). Without
        --channels, gray when the first image is: a gray file, or colours all equal."""
        h, w = self.resize if self.resize is not None else first.size
        if self.channels is not None:
            gray = self.channels == "gray"
        else:
            gray = _is_gray(self._alpha(first, path))
        return (h, w) if gray else (h, w, 3)

    def apply(self, image: Decoded, path: Path, shape: tuple[int, ...], basis: str) -> Any:
        """The image's bytes, of ``shape``; ``basis`` says where that shape came from (the
        first image), for the refusal of an image of another size or kind."""
        return self.apply_all([(image, path)], shape, basis)[0]

    def apply_all(
        self, images: list[tuple[Decoded, Path]], shape: tuple[int, ...], basis: str
    ) -> list[Any]:
        """:meth:`apply` of each image, in order; the images of one size are resized in one
        go (stacked): numpy's loops then run long, and let go of the GIL while they do."""
        made = [self._before_resize(image, path, shape, basis) for image, path in images]
        if self.resize is None:
            return made
        h, w = self.resize
        out: list[Any] = [None] * len(made)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, values in enumerate(made):
            groups.setdefault(values.shape, []).append(i)
        for size, members in groups.items():
            buffer = ops.scratch("stack", (len(members), *size), np.uint8)
            stacked = np.stack([made[i] for i in members], out=buffer)  # (k, H, W[, C])
            if size[:2] != (h, w):
                resize = ops.bilinear if self.resample == "bilinear" else ops.area
                stacked = resize(stacked, h, w, first=1)
            for k, i in enumerate(members):
                out[i] = stacked[k].copy() if stacked is buffer else stacked[k]
        return out

    def _before_resize(self, image: Decoded, path: Path, shape: tuple[int, ...], basis: str) -> Any:
        values = self._alpha(image, path)
        gray = len(shape) == 2
        if values.ndim == 3 and gray:
            if self.channels is not None:
                values = ops.to_gray(values)
            elif _is_gray(values):  # equal channels: rgbToGrayscale rounds back to each
                values = np.ascontiguousarray(values[:, :, 0])
            else:
                raise SourceError(
                    path, f"is a colour image where {basis} gray",
                    "give --channels rgb to keep colour, or --channels gray "
                    "(tf.image.rgbToGrayscale, rounded)",
                )  # fmt: skip
        elif values.ndim == 2 and not gray:
            values = np.repeat(values[:, :, None], 3, axis=2)  # a canvas: red = green = blue
        if self.resize is None:
            if values.shape[:2] != shape[:2]:
                h, w = values.shape[:2]
                kind = "gray" if image.gray else "colour"
                raise SourceError(
                    path, f"is {h}x{w} {kind} where {basis}",
                    f"give --resize {shape[0]}x{shape[1]} (and --fit) for images of one size",
                )  # fmt: skip
            return values
        if self.fit == "crop":
            return ops.crop(values, self.resize)
        if self.fit == "pad":
            return ops.pad(values, self.resize, self.pad_value)
        return values

    def _alpha(self, image: Decoded, path: Path) -> Any:
        alpha = image.alpha
        if alpha is None or bool((alpha == 255).all()):
            if self.alpha == "ink":
                return np.full(image.colour.shape[:2], 255, np.uint8)  # opaque: full ink
            return image.colour
        if self.alpha is None:
            clear = int(np.count_nonzero(alpha < 255))
            raise SourceError(path, f"has {clear:,} pixels that are not fully opaque", _ALPHA_FIX)
        if self.alpha == "ink":
            return alpha
        if self.alpha == "ignore":
            return drawn_alone(image.colour, alpha, self.engine)
        return over_fill(image.colour, alpha, 255 if self.alpha == "white" else 0, self.engine)


def _is_gray(values: Any) -> bool:
    """Gray values, or colour whose red, green and blue are equal in every pixel."""
    return bool(values.ndim == 2 or ((values[..., 1:] == values[..., :1]).all()))


def check(**given: Any) -> Recipe:
    """A Recipe from pack's options (None: not given), each checked."""
    out = {k: v for k, v in given.items() if v is not None}
    for name, choices in (("alpha", ALPHA), ("channels", CHANNELS), ("fit", FITS),
                          ("resample", RESAMPLERS)):  # fmt: skip
        if name in out and out[name] not in choices:
            flag = "--" + name.replace("_", "-")
            raise OptionError(None, f"{flag} {out[name]!r} is not one of {', '.join(choices)}",
                              f"give {flag} {choices[0]}")  # fmt: skip
    if "resize" in out and isinstance(out["resize"], str):
        from ..options import parse_image_size

        out["resize"] = parse_image_size(out["resize"], "--resize")
    if "pad_value" in out and not 0 <= out["pad_value"] <= 255:
        raise OptionError(None, f"--pad-value {out['pad_value']} is not 0 to 255", "give e.g. 0")
    if "resize" not in out:
        for name in ("fit", "resample", "pad_value"):
            if name in out:
                flag = "--" + name.replace("_", "-")
                raise OptionError(None, f"{flag} applies with --resize", "add --resize HxW")
    if "pad_value" in out and out.get("fit") != "pad":
        raise OptionError(None, "--pad-value applies with --fit pad", "add --fit pad")
    return Recipe(**out)
