"""The packed bundle: NAME.json's schema, fields and file names; writing it; reading it back.

pack, inspect, verify, convert and load_data know a pack's NAME.json only through this module.

A dataset taller than a browser or convert can take is cut into shards of ``shard_rows``
rows (by default the most that stays within both limits below): ``NAME_images_000.png``,
``NAME_labels_000_uint8``, ... Rows keep their order across shards (training rows first), so
the shards one after another are the one sprite there would have been. A dataset that fits
is one sprite, ``NAME_images.png`` and ``NAME_labels_uint8``. Each file's name carries the
start of its content's sha256 (``NAME_images.1f2e3d4c5b6a7980.png``), as web assets do: an
HTTP cache can never serve one pack's file for another's.

``NAME.json`` lists each shard's rows and its two files, each with its size and sha256. A
reader (:meth:`Bundle.read`, then :meth:`Bundle.problems`) checks every file against it
before using any: a shard that is missing or changed is refused, naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from .errors import MnistSpriteError, PathLike, SourceError, shown
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
PACK_SCHEMA = 1  # NAME.json's "schema"
# NAME.json's counts, each a whole number a loader takes as it is.
COUNTS = ("image_height", "image_width", "channels", "classes", "images", "train_images")
_COLOUR = {1: 0, 3: 2}  # channels -> the PNG colour type pack writes (gray, RGB)
_NOT = "not a NAME.json that pack wrote"


def default_shard_rows(height: int, width: int) -> int:
    """The most rows one sprite may have: within every browser engine's and convert's limits."""
    return max(1, min(BROWSER_MAX_ROWS, MAX_PIXELS // (height * width)))


def shard_sizes(total: int, shard_rows: int) -> list[int]:
    """Rows of each shard: ``shard_rows`` each, the last one the rest."""
    if total == 0:
        return [0]
    return [min(shard_rows, total - lo) for lo in range(0, total, shard_rows)]


def file_names(name: str, shards: int) -> list[tuple[str, str]]:
    """(sprite, label file) names of each shard, before their content names them too."""
    if shards == 1:
        return [(f"{name}_images.png", f"{name}_labels_uint8")]
    return [(f"{name}_images_{i:03d}.png", f"{name}_labels_{i:03d}_uint8") for i in range(shards)]


DIGEST_CHARS = 16  # of the sha256 in a file's name: 64 bits, as content-hashed assets carry


def content_name(plain: str, sha256: str) -> str:
    """``plain`` with the start of its content's sha256 before its suffix (or at its end)."""
    stem, dot, suffix = plain.rpartition(".")
    tag = sha256[:DIGEST_CHARS]
    return f"{stem}.{tag}.{suffix}" if dot else f"{plain}.{tag}"


RECORD_KEY = "mnist-sprite"  # the tEXt keyword of what pack records in each sprite


def sprite_record(text: dict[str, str]) -> dict[str, Any]:
    """What pack recorded in a sprite's own tEXt chunk (tool, source, image size, options);
    empty for a sprite pack did not write."""
    try:
        record = json.loads(text[RECORD_KEY])
    except (KeyError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def recorded_image_size(record: dict[str, Any]) -> tuple[int, int] | None:
    """The image size a sprite's record gives ("28x28"), if it gives a usable one."""
    parts = str(record.get("image_size", "")).split("x")
    if len(parts) == 2 and all(p.isdigit() and int(p) > 0 for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def recorded_rgb(record: dict[str, Any], color_type: int) -> bool:
    """Whether a sprite is one pack wrote in colour: a record of its own and PNG colour type
    2 (RGB), the only colour pack writes."""
    return bool(record) and color_type == 2


def record_files(folder: Path, name: str) -> dict[str, Path]:
    """The bundle's files named by ``name`` alone: NAME.json and NAME.js."""
    return {"json": folder / f"{name}.json", "js": folder / f"{name}.js"}


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
    """Write each shard's sprite and label file into ``folder``, each named by its content
    (:func:`content_name`); their NAME.json entries.

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
                "images": _named_by_content(folder / png_name),
                "labels": _named_by_content(folder / labels_name),
            }
        )
    stream.finish()
    return entries


def _named_by_content(path: Path) -> dict[str, Any]:
    """Rename a file just written to its content name; its NAME.json entry."""
    entry = file_entry(path)
    entry["name"] = content_name(path.name, entry["sha256"])
    os.replace(path, path.with_name(entry["name"]))
    return entry


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


@dataclass(frozen=True)
class Bundle:
    """A pack's NAME.json as :func:`parse` read it: its facts (every field of the type pack
    writes) and the path of each shard's two files."""

    path: Path
    facts: dict[str, Any]
    shards: tuple[Shard, ...] = ()

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

    @classmethod
    def find(cls, path: PathLike) -> Bundle | None:
        """The NAME.json at ``path`` as written, unchecked (what tells a record from a
        sprite); None when it is not one. Read it with :func:`parse` or :func:`read`."""
        facts = _read(path)
        return None if facts is None else cls(Path(path), facts)

    def problems(self) -> list[SourceError]:
        """Each file NAME.json names that is missing or not the one packed, naming it."""
        found = [
            _changed(self.path, file, entry[role])
            for entry, shard in zip(shard_entries(self.facts), self.shards, strict=True)
            for role, file in (("images", shard.images), ("labels", shard.labels))
        ]
        return [problem for problem in found if problem is not None]

    def files(self) -> list[str]:
        """Every file a pack wrote besides NAME.json itself (what ``--force`` may replace)."""
        names = []
        for entry in shard_entries(self.facts):
            for role in ("images", "labels"):
                item = entry.get(role)
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    names.append(item["name"])
        loader = self.facts.get("loader")
        if isinstance(loader, dict) and isinstance(loader.get("name"), str):
            names.append(loader["name"])
        return names

    def number_problems(self, shards: Sequence[Shard], *, whole: bool = True) -> list[str] | None:
        """What in NAME.json disagrees with ``shards``' files and itself (None: the files
        cannot be read): every number a loader takes as it is, the schema, the name, the class
        names. ``whole=False``: ``shards`` are the readable ones only, so their rows are not
        summed."""
        facts = self.facts
        bad = [k for k in COUNTS if type(facts.get(k)) is not int or facts[k] < 0]
        if bad:
            return [f"{', '.join(bad)}: not whole numbers"]
        h, w, c = facts["image_height"], facts["image_width"], facts["channels"]
        classes, images, train = facts["classes"], facts["images"], facts["train_images"]
        problems: list[str] = []
        say = problems.append
        if facts.get("schema") != PACK_SCHEMA:
            say(f"schema is {facts.get('schema')!r}, not {PACK_SCHEMA}")
        if facts.get("name") != self.path.stem:
            say(f"name is {facts.get('name')!r}, but the record is {self.path.name}")
        for shard in shards:
            sprite, labels = shard.images, shard.labels
            try:
                with PngFile(sprite) as png:
                    header = png.header
                    packed_by = sprite_record(png.chunks.text)
                label_bytes = labels.stat().st_size
            except (MnistSpriteError, OSError):
                return None
            name = sprite.name
            if header.height != shard.rows:
                say(f"a shard of {shard.rows:,} rows, but {name} has {header.height:,}")
            if header.width != h * w:
                say(
                    f"image size {h}x{w} is {h * w:,} pixels, but a row of {name} holds "
                    f"{header.width:,}"
                )
            recorded = packed_by.get("image_size")
            if isinstance(recorded, str) and recorded != f"{h}x{w}":  # older packs record none
                say(f"image size {h}x{w}, but {name} records {recorded} (its tEXt chunk)")
            if _COLOUR.get(c) != header.color_type:
                say(f"channels is {c}, but {name} has PNG colour type {header.color_type}")
            if label_bytes != shard.rows * classes:
                say(
                    f"classes is {classes} for {shard.rows:,} images, {shard.rows * classes:,} "
                    f"label bytes, but {labels.name} holds {label_bytes:,}"
                )
        rows = sum(s.rows for s in shards)
        if whole and rows != images:
            where = f"{shards[0].images.name} has" if len(shards) == 1 else "its shards hold"
            say(f"images is {images:,}, but {where} {rows:,} rows")
        if train > images:
            say(f"train_images {train:,} is more than images {images:,}")
        names = facts.get("class_names")
        if not (
            isinstance(names, list)
            and len(names) == classes
            and all(isinstance(n, str) and n for n in names)
            and len(set(names)) == len(names)
        ):
            say(f"class_names is not a list of {classes} different names")
        return problems


def _read(path: PathLike) -> dict[str, Any] | None:
    """The one reader of NAME.json: a regular file of at most ``JSON_BYTES`` holding a JSON
    object of kind packed, else None (a PNG or label file is not read past its first bytes)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > JSON_BYTES:
            return None
        with open_source(path) as f:
            if not f.read(64).lstrip().startswith(b"{"):
                return None
            f.seek(0)
            data = json.loads(f.read(JSON_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError, SourceError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "packed" else None


def shard_entries(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Each shard's record: NAME.json's ``shards``, or its ``files`` (packs before shards)."""
    shards = facts.get("shards")
    if isinstance(shards, list):
        return [s if isinstance(s, dict) else {} for s in shards]
    files = facts.get("files") if isinstance(facts.get("files"), dict) else {}
    return [{"rows": facts.get("images"), **(files or {})}]


def _check_types(path: PathLike, facts: dict[str, Any]) -> None:
    """Every field of the type pack writes, and every file entry naming a file; else the
    first, raised. (Whether the numbers agree: ``Bundle.number_problems``.)"""
    fix = "pack again; NAME.json is written by pack"

    def bad(field: str, value: Any, want: str) -> SourceError:
        return SourceError(path, f'its "{field}" is {shown(value)}, not {want}', fix)

    for key in COUNTS:
        value = facts.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(key, value, "a whole number")
    names = facts.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad("class_names", names, "a list of names")

    files = facts.get("files")
    shards = facts.get("shards")
    groups: list[tuple[str, Any]] = []
    if "files" in facts or shards is None:  # one sprite (and every pack before shards)
        if not isinstance(files, dict) or set(files) != {"images", "labels"}:
            raise bad("files", files, "the images and labels files")
        groups.append(("files", files))
    if shards is not None:
        if not isinstance(shards, list) or not shards:
            raise bad("shards", shards, "a list of shards")
        for i, shard in enumerate(shards):
            rows = shard.get("rows") if isinstance(shard, dict) else None
            if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
                raise bad(f"shards.{i}.rows", rows, "a whole number")
            groups.append((f"shards.{i}", {r: shard.get(r) for r in ("images", "labels")}))
    if "loader" in facts:
        groups.append(("", {"loader": facts["loader"]}))
    for prefix, group in groups:
        for role, entry in group.items():
            field = f"{prefix}.{role}" if prefix else role
            if not isinstance(entry, dict):
                raise bad(field, entry, "a file entry")
            if not plain_name(entry.get("name")):
                raise bad(f"{field}.name", entry.get("name"), "a file name beside it")
            if not isinstance(entry.get("sha256"), str):
                raise bad(f"{field}.sha256", entry.get("sha256"), "a sha256")
            size = entry.get("bytes")
            if isinstance(size, bool) or not isinstance(size, int):
                raise bad(f"{field}.bytes", size, "a whole number")
    twice = isinstance(files, dict) and isinstance(shards, list)  # one sprite, said twice
    if twice and (len(shards or ()) != 1 or groups[1][1] != files):
        raise bad("files", files, "the files of its one shard")
    provenance = facts.get("provenance", {})
    if not isinstance(provenance, dict):
        raise bad("provenance", provenance, "an object")
    if not isinstance(provenance.get("options", {}), dict):
        raise bad("provenance.options", provenance.get("options"), "an object")


def _beside(json_path: Path, entry: Any) -> Path:
    """A file NAME.json names: a plain name in its folder."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise SourceError(json_path, "names a shard file without a name", "pack again")
    name = str(entry["name"])
    if not plain_name(name) or name.startswith("."):
        raise SourceError(json_path, f"names {name!r}, not a file beside it", "pack again")
    return json_path.parent / name


def _changed(json_path: Path, file: Path, entry: dict[str, Any]) -> SourceError | None:
    """What is wrong with a file NAME.json names: missing, or not of its size and sha256."""
    try:
        st = os.lstat(file)
    except FileNotFoundError:
        return SourceError(file, f"is missing (named by {json_path.name})", "pack again")
    if not stat.S_ISREG(st.st_mode):
        return SourceError(file, "is not a regular file", "pack again")
    if st.st_size != entry.get("bytes"):
        return SourceError(
            file,
            f"changed after packing: {st.st_size:,} bytes, {json_path.name} says "
            f"{entry.get('bytes')}",
            "pack again, or restore the file",
        )
    if file_sha256(file, json_path.parent) != entry.get("sha256"):
        return SourceError(
            file,
            f"changed after packing (its sha256 differs from {json_path.name}); it is not "
            "the one packed",
            "pack again, or restore the file",
        )
    return None


class NoChunks:
    """What a sprite read across files holds besides pixels: nothing (pack writes no colour
    chunks into its shards; IDX files hold bytes only)."""

    colour_chunks: dict[str, bytes] = {}  # noqa: RUF012 - never written


@dataclass(frozen=True)
class Size:
    """A sprite's width (one image a row) and height (its images), as a PNG header gives."""

    width: int
    height: int


class ShardedPng:
    """A bundle read as one tall sprite: the rows of its shards, one after another, and their
    labels. Used where convert takes a :class:`PngFile`."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.path = bundle.path
        h, w = bundle.image_size
        self.header = Size(h * w, bundle.images)
        self.chunks = NoChunks()
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


@dataclass(frozen=True)
class Parsed:
    """NAME.json parsed once: the record, and every problem found in it, by kind."""

    record: Bundle
    files: tuple[SourceError, ...]  # each file it names that is missing or not the one packed
    numbers: tuple[str, ...] | None  # its numbers against itself and its readable files

    def problems(self) -> list[str]:
        """Every problem, as inspect and verify report them."""
        named = [f"{Path(e.path or self.record.path).name}: {e.problem}" for e in self.files]
        return named + list(self.numbers or ())


def parse(path: PathLike) -> Parsed:
    """The one parse of a pack's NAME.json. Refused at once, naming the field: a file that is
    no record of pack's, a field not of the type pack writes, a file entry that names no plain
    file beside it. Then every problem found is kept: each file missing or changed (its size,
    its sha256), and each number a loader takes against the record itself and the files that
    can be read."""
    path = Path(path)
    open_source(path).close()  # a missing, unreadable or irregular NAME.json: one clear error
    facts = _read(path)
    if facts is None:
        raise SourceError(path, f"is {_NOT}", "give the pack's NAME.json")
    _check_types(path, facts)  # whether the numbers agree: number_problems, below
    shards = []
    for i, entry in enumerate(shard_entries(facts)):
        rows = entry.get("rows")
        if not isinstance(rows, int) or rows < 0:
            raise SourceError(path, f"shard {i} has no row count", "pack again")
        images, labels = (_beside(path, entry.get(role)) for role in ("images", "labels"))
        shards.append(Shard(rows, images, labels))
    record = Bundle(path, facts, tuple(shards))
    files = tuple(record.problems())
    unreadable = {Path(e.path) for e in files if e.path is not None}
    readable = [s for s in record.shards if not {s.images, s.labels} & unreadable]
    numbers = record.number_problems(readable, whole=not unreadable)
    return Parsed(record, files, None if numbers is None else tuple(numbers))


def read(path: PathLike) -> Bundle:
    """NAME.json with every file it names present and unchanged and the sizes a loader takes
    consistent; else the first problem, raised. (Each shard's sprite is checked against its
    rows as it is read: ``ShardedPng``.)"""
    parsed = parse(path)
    if parsed.files:
        raise parsed.files[0]
    record, facts = parsed.record, parsed.record.facts
    if facts["channels"] not in (1, 3) or not 1 <= facts["classes"] <= 255:
        raise SourceError(path, "records channels or classes out of range", "pack again")
    if facts["train_images"] > facts["images"] or min(record.image_size) < 1:
        raise SourceError(path, "records sizes that do not fit together", "pack again")
    total = sum(s.rows for s in record.shards)
    if total != record.images:
        raise SourceError(
            path, f"its shards hold {total:,} rows, not the {record.images:,} it says", "pack again"
        )
    return record
