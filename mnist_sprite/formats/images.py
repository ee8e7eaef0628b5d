"""Images kept one PNG each, as the Hub's formats keep them (a Parquet row, a tar member):
a block of a split's images encoded, and a split's PNGs read back as one array."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from ..png.encode import small_png
from .base import Member

LEVEL = 6  # zlib level of each PNG: pypng's and Pillow's default
PARALLEL_FROM = 256  # images in a block before a thread a core encodes them


def encode_pngs(data: npt.NDArray[Any], shape: tuple[int, ...], workers: int = 1) -> list[bytes]:
    """A block of images of ``shape`` (H, W) or (H, W, 3) as PNGs, in order: every row filtered
    None, deflated at LEVEL (zlib lets go of the GIL, so ``workers`` threads share it)."""
    h, w = shape[0], shape[1]
    channels = 3 if len(shape) == 3 and shape[2] == 3 else 1
    images = np.asarray(data, np.uint8).reshape(-1, h, w * channels)
    filtered = np.zeros((images.shape[0], h, 1 + w * channels), np.uint8)  # filter byte 0
    filtered[:, :, 1:] = images
    rows = [one.tobytes() for one in filtered]

    def encode(part: list[bytes]) -> list[bytes]:
        return [small_png(r, w, h, channels, LEVEL) for r in part]

    if workers <= 1 or len(rows) < PARALLEL_FROM:
        return encode(rows)
    step = -(-len(rows) // workers)
    with ThreadPoolExecutor(workers, thread_name_prefix="png-encode") as pool:
        parts = pool.map(encode, [rows[i : i + step] for i in range(0, len(rows), step)])
        return [png for part in parts for png in part]


def image_member(
    name: str,
    count: int,
    images: Iterator[tuple[str, npt.NDArray[np.uint8]]],
    provenance: dict[str, Any] | None,
) -> tuple[Member, Iterator[npt.NDArray[Any]]]:
    """A split's ``count`` images ((where, pixels) in order) as one uint8 array: its shape from
    the first image (an empty split's from what the provenance records), every other image
    of that shape or refused, naming it."""
    first = next(images, None)
    if first is None:
        recorded = ((provenance or {}).get("arrays") or {}).get(name)
        shape = recorded.get("shape") if isinstance(recorded, dict) else None
        fits = isinstance(shape, list) and shape and shape[0] == 0
        empty = tuple(int(n) for n in shape) if fits and shape else (0, 0, 0)
        return Member(name, empty, np.dtype(np.uint8)), iter([])
    where, image = first

    def pieces() -> Iterator[npt.NDArray[Any]]:
        yield image.reshape(-1)
        for found, other in images:
            if other.shape != image.shape:
                raise SourceError(
                    found, f"is {other.shape} where {where} is {image.shape}",
                    "give images of one size",
                )  # fmt: skip
            yield other.reshape(-1)

    return Member(name, (count, *image.shape), np.dtype(np.uint8)), pieces()
