"""A packed dataset as one sprite or many: the shard layout, writing the shards, and reading
a pack's ``NAME.json`` back as one source across all of them.

A dataset taller than a browser or convert can take is cut into shards of ``shard_rows``
rows (by default the most that stays within both limits below): ``NAME_images_000.png``,
``NAME_labels_000_uint8``, ... Rows keep their order across shards (training rows first), so
the shards one after another are the one sprite there would have been. A dataset that fits
is one sprite with the usual names, ``NAME_images.png`` and ``NAME_labels_uint8``.

``NAME.json`` lists each shard's rows and its two files, each with its size and sha256. A
reader (:func:`read_bundle`) checks every file against it before using any: a shard that is
missing or changed is refused, naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from .errors import PathLike, SourceError
from .files import file_sha256, open_source, plain_name
from .labels import read_onehot
from .png import MAX_PIXELS, PngFile
from .png.canvas import TALLEST_ROWS

U8 = npt.NDArray[np.uint8]
# The tallest sprite every engine draws: Firefox draws nothing of one of 65,536 rows or more
# (png/canvas.py's TALLEST_ROWS, measured in each engine; see README).
BROWSER_MAX_ROWS = min(rows for rows in TALLEST_ROWS.values() if rows is not None)
# The widest canvas Chromium and Firefox create: one image is one sprite row, so no image
# may hold more pixels than this.
BROWSER_MAX_WIDTH = 32_767
JSON_BYTES = 16 << 20  # a NAME.json larger than this is not one pack wrote


def default_shard_rows(height: int, width: int) -> int:
    """The most rows one sprite may have: within every browser engine's and convert's limits."""
    return max(1, min(BROWSER_MAX_ROWS, MAX_PIXELS // (height * width)))


def shard_sizes(total: int, shard_rows: int) -> list[int]:
    """Rows of each shard: ``shard_rows`` each, the last one the rest."""
    if total == 0:
        return [0]
    return [min(shard_rows, total - lo) for lo in range(0, total, shard_rows)]


def file_names(name: str, shards: int) -> list[tuple[str, str]]:
    """(sprite, label file) names of each shard."""
    if shards == 1:
        return [(f"{name}_images.png", f"{name}_labels_uint8")]
    return [(f"{name}_images_{i:03d}.png", f"{name}_labels_{i:03d}_uint8") for i in range(shards)]


def file_entry(path: Path, name: str | None = None) -> dict[str, Any]:
    """How NAME.json records one file: its name, size and sha256."""
    return {
        "name": name or path.name,
        "bytes": path.stat().st_size,
        "sha256": file_sha256(path),
    }


def write_shards(
    folder: Path,
    name: str,
    rows: Iterator[U8],
    labels: U8,
    sizes: list[int],
    *,
    classes: int,
    image_values: int,
    channels: int,
    level: int,
    text: dict[str, str],
    workers: int,
) -> list[dict[str, Any]]:
    """Write each shard's sprite and label file into ``folder``; their NAME.json entries.

    ``rows`` yields blocks of image rows, in order, for all shards; ``labels`` the class id
    of every row, written as one-hot rows of ``classes`` bytes a shard at a time (so memory
    holds one shard's label bytes at most). Raises ValueError when the rows are not what the
    sizes say.
    """
    entries = []
    start = 0
    stream = _Rows(rows)
    for (png_name, labels_name), n in zip(file_names(name, len(sizes)), sizes, strict=True):
        with open(folder / png_name, "wb") as f:
            _write_one(f, stream.take(n), image_values, n, channels, level, text, workers)
        onehot = np.eye(classes, dtype=np.uint8)[labels[start : start + n]]
        (folder / labels_name).write_bytes(onehot.tobytes())
        start += n
        entries.append(
            {
                "rows": n,
                "images": file_entry(folder / png_name),
                "labels": file_entry(folder / labels_name),
            }
        )
    stream.finish()
    return entries


def _write_one(
    f: BinaryIO,
    rows: Iterator[U8],
    width: int,
    height: int,
    channels: int,
    level: int,
    text: dict[str, str],
    workers: int,
) -> None:
    from .png.encode import write_png  # pack's alone: reading a sprite never loads the encoder

    write_png(
        f,
        rows,
        width // channels,
        height,
        channels=channels,
        level=level,
        text=text,
        workers=workers,
    )


class _Rows:
    """A stream of row blocks, handed out ``n`` rows at a time."""

    def __init__(self, blocks: Iterator[U8]) -> None:
        self._blocks = blocks
        self._carry: U8 | None = None

    def take(self, n: int) -> Iterator[U8]:
        while n > 0:
            block = self._carry if self._carry is not None else next(self._blocks, None)
            if block is None:
                raise ValueError("the source holds fewer rows than it says")
            self._carry = block[n:] if block.shape[0] > n else None
            part = block[:n]
            n -= part.shape[0]
            yield part

    def finish(self) -> None:
        if self._carry is not None or next(self._blocks, None) is not None:
            raise ValueError("the source holds more rows than it says")


# --- reading a pack back ---------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    rows: int
    images: Path
    labels: Path


@dataclass
class Bundle:
    """A pack's NAME.json, read and checked, with its shards' paths."""

    path: Path
    facts: dict[str, Any]
    shards: list[Shard] = field(default_factory=list)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.facts["image_height"]), int(self.facts["image_width"])

    @property
    def channels(self) -> str:
        return "rgb" if self.facts["channels"] == 3 else "red"

    @property
    def images(self) -> int:
        return int(self.facts["images"])

    @property
    def train_images(self) -> int:
        return int(self.facts["train_images"])

    @property
    def classes(self) -> int:
        return int(self.facts["classes"])

    @property
    def class_names(self) -> list[str] | None:
        """The names pack recorded, one per class; None when it recorded none that fit."""
        names = self.facts.get("class_names")
        if not isinstance(names, list) or len(names) != self.classes:
            return None
        return [str(n) for n in names] if all(isinstance(n, str) for n in names) else None


def packed_record(path: PathLike) -> dict[str, Any] | None:
    """A pack's NAME.json as written, if ``path`` is one (a small JSON file of kind packed)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > JSON_BYTES:
            return None
        with open(path, "rb") as f:
            if not f.read(64).lstrip().startswith(b"{"):  # a PNG or label file: not read on
                return None
            f.seek(0)
            data = json.loads(f.read(JSON_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "packed" else None


def is_bundle(path: PathLike) -> bool:
    return packed_record(path) is not None


def shard_entries(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Each shard's record: NAME.json's ``shards``, or its ``files`` (packs before shards)."""
    shards = facts.get("shards")
    if isinstance(shards, list):
        return [s if isinstance(s, dict) else {} for s in shards]
    files = facts.get("files") if isinstance(facts.get("files"), dict) else {}
    return [{"rows": facts.get("images"), **(files or {})}]


def packed_files(facts: dict[str, Any]) -> list[str]:
    """Every file a pack wrote besides NAME.json itself (what ``--force`` may replace)."""
    names = []
    for entry in shard_entries(facts):
        for role in ("images", "labels"):
            item = entry.get(role)
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append(item["name"])
    loader = facts.get("loader")
    if isinstance(loader, dict) and isinstance(loader.get("name"), str):
        names.append(loader["name"])
    return names


def bundle_problems(path: PathLike, *, strict: bool = True) -> tuple[Bundle, list[SourceError]]:
    """NAME.json and each file it names, checked: every problem found, naming the file.

    ``strict``: its numbers are refused unless whole and consistent with its shards (verify,
    which reports each number against the files, reads it with ``strict=False``)."""
    path = Path(path)
    with open_source(path):  # a missing, unreadable or irregular NAME.json: one clear error
        pass
    facts = packed_record(path)
    if facts is None:
        raise SourceError(path, "is not a NAME.json that pack wrote", "give the pack's NAME.json")
    if strict:
        _check_fields(path, facts)
    bundle = Bundle(path, facts)
    problems: list[SourceError] = []
    total = 0
    for i, entry in enumerate(shard_entries(facts)):
        rows = entry.get("rows")
        if not isinstance(rows, int) or rows < 0:
            raise SourceError(path, f"shard {i} has no row count", "pack again")
        total += rows
        files = [_checked_file(path, entry.get(role), problems) for role in ("images", "labels")]
        bundle.shards.append(Shard(rows, files[0], files[1]))
    if strict and total != bundle.images:
        raise SourceError(
            path, f"its shards hold {total:,} rows, not the {bundle.images:,} it says", "pack again"
        )
    return bundle, problems


def read_bundle(path: PathLike) -> Bundle:
    """NAME.json, with every file it names present and unchanged; else the first problem."""
    bundle, problems = bundle_problems(path)
    if problems:
        raise problems[0]
    return bundle


def _check_fields(path: Path, facts: dict[str, Any]) -> None:
    for key in ("image_height", "image_width", "channels", "classes", "images", "train_images"):
        value = facts.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SourceError(path, f"has no whole number {key}", "pack again")
    if facts["channels"] not in (1, 3) or not 1 <= facts["classes"] <= 255:
        raise SourceError(path, "records channels or classes out of range", "pack again")
    sides = min(facts["image_height"], facts["image_width"])
    if facts["train_images"] > facts["images"] or sides < 1:
        raise SourceError(path, "records sizes that do not fit together", "pack again")


def _checked_file(json_path: Path, entry: Any, problems: list[SourceError]) -> Path:
    """A file NAME.json names: a plain name in its folder, of the recorded size and sha256."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise SourceError(json_path, "names a shard file without a name", "pack again")
    name = str(entry["name"])
    if not plain_name(name) or name.startswith("."):
        raise SourceError(json_path, f"names {name!r}, not a file beside it", "pack again")
    file: Path = json_path.parent / name
    try:
        st = os.lstat(file)
    except FileNotFoundError:
        problems.append(SourceError(file, f"is missing (named by {json_path.name})", "pack again"))
        return file
    if not stat.S_ISREG(st.st_mode):
        problems.append(SourceError(file, "is not a regular file", "pack again"))
    elif st.st_size != entry.get("bytes"):
        problems.append(
            SourceError(
                file,
                f"changed after packing: {st.st_size:,} bytes, {json_path.name} says "
                f"{entry.get('bytes')}",
                "pack again, or restore the file",
            )
        )
    elif file_sha256(file, json_path.parent) != entry.get("sha256"):
        problems.append(
            SourceError(
                file,
                f"changed after packing (its sha256 differs from {json_path.name}); it is not "
                "the one packed",
                "pack again, or restore the file",
            )
        )
    return file


class _NoChunks:
    """What a bundle's shards hold besides pixels: nothing (pack writes no colour chunks)."""

    colour_chunks: dict[str, bytes] = {}  # noqa: RUF012 - never written


@dataclass(frozen=True)
class _Size:
    width: int
    height: int


class ShardedPng:
    """A bundle read as one tall sprite: the rows of its shards, one after another, and their
    labels. Used where convert takes a :class:`PngFile`."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.path = bundle.path
        h, w = bundle.image_size
        self.header = _Size(h * w, bundle.images)
        self.chunks = _NoChunks()
        for shard in bundle.shards:  # every header, before anything is allocated for the rows
            with PngFile(shard.images, root=self.path.parent) as png_file:
                self._check_size(shard, png_file)

    def _check_size(self, shard: Shard, png_file: PngFile) -> None:
        width, height = png_file.header.width, png_file.header.height
        if width != self.header.width or height != shard.rows:
            raise SourceError(
                shard.images,
                f"is {width}x{height}, not the {self.header.width}x{shard.rows} "
                f"{self.bundle.path.name} says",
                "pack again",
            )

    def __enter__(self) -> ShardedPng:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    engine_dependent = False  # pack writes opaque 8-bit shards: every engine draws them alike

    def canvas_blocks(
        self,
        decoder: Any = "auto",
        tally: Any = None,
        draw_rows: int = 5000,
        *,
        rgb: bool = False,
        engine: str = "chromium",
    ) -> Iterator[U8]:
        for shard in self.bundle.shards:
            with PngFile(shard.images, root=self.path.parent) as png_file:
                self._check_size(shard, png_file)
                yield from png_file.canvas_blocks(
                    decoder, draw_rows=draw_rows, rgb=rgb, engine=engine
                )

    def pixels_sha256(self) -> str:
        """Decode every shard completely; sha256 of their red channels, one after another."""
        digest = hashlib.sha256()
        for shard in self.bundle.shards:
            with PngFile(shard.images, root=self.path.parent) as png_file:
                self._check_size(shard, png_file)
                for block in png_file.red_blocks():
                    digest.update(np.ascontiguousarray(block).data)
        return digest.hexdigest()

    def onehot(self) -> U8:
        parts = [
            read_onehot(s.labels, self.bundle.classes, expected_rows=s.rows, root=self.path.parent)
            for s in self.bundle.shards
            if s.rows
        ]
        return np.concatenate(parts) if parts else np.empty((0, self.bundle.classes), np.uint8)


def open_sprite(path: PathLike) -> PngFile | ShardedPng:
    """A sprite PNG, or a pack's NAME.json read as one sprite across its shards."""
    if is_bundle(path):
        return ShardedPng(read_bundle(path))
    return PngFile(path)
