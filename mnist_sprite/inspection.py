"""Facts about a sprite, a label file or an output; digits drawn as text or a contact sheet.

Every report is a JSON-able dict with ``schema`` and ``kind`` (``sprite``, ``labels``, ``npz``
or ``npy``); :func:`render` turns one into aligned text for a person.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import datasets
from .atomic import atomic_output
from .browsers import agreement, differences, tall_warning
from .bundle import (
    RECORD_KEY,
    ShardedPng,
    parse,
    read,
    recorded_image_size,
    recorded_rgb,
    shard_entries,
    sprite_record,
)
from .choices import DRAW_ROWS
from .datasets import DEFAULT_TRAIN_SIZES, Originals
from .errors import MnistSpriteError, OptionError, OutputError, PathLike, SourceError
from .files import file_sha256, open_source, sniff
from .formats import Reader
from .identify import identify, open_sprite, require
from .labels import (
    CLASSES,
    LABEL_HEAD,
    bad_rows,
    class_count,
    class_counts,
    label_classes,
    read_onehot,
)
from .pipeline import check_width, class_names
from .png import COLOR_TYPES, SIGNATURE, PngFile
from .png.canvas import ENGINES, colour_warning
from .reading import Output
from .values import nearest_k

SCHEMA = 1
U8 = npt.NDArray[np.uint8]
SHADES = " .:-=+*#%@"


def inspect(
    path: PathLike, *, image_size: tuple[int, int] | None = None, train_size: int | None = None
) -> dict[str, Any]:
    """The facts about ``path``, whatever it holds.

    A sprite is read as images of ``image_size`` when given (refused if its width does not
    fit), else of 28x28 when that fits.
    """
    what = require(path)
    if what == "packed":
        return inspect_packed(path)
    if what == "sprite":
        return inspect_sprite(path, image_size)
    if what == "labels":
        return inspect_labels(path, train_size)
    return inspect_output(path)


def _json_or_none(text: str | None) -> Any:
    """What ``pack`` recorded in the sprite's tEXt chunk, if anything."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


def _colour_warnings(png_file: PngFile) -> str | None:
    """What the engines do to the colours that convert does not reproduce, and which do it."""
    said = {
        engine: colour_warning(
            png_file.chunks.colour_chunks,
            engine,
            depth=png_file.header.bit_depth,
            alpha=png_file.has_alpha,
        )
        for engine in ENGINES
    }
    warned = [engine for engine, warning in said.items() if warning is not None]
    if not warned:
        return None
    return f"{said[warned[0]]} (so do {', '.join(warned)})" if len(warned) > 1 else said[warned[0]]


def inspect_sprite(path: PathLike, image_size: tuple[int, int] | None = None) -> dict[str, Any]:
    """Header, chunks, filters, pixel digest, and which known dataset it is (streamed)."""
    with PngFile(path, digest=True) as png_file:
        if image_size is not None:
            check_width(path, png_file.header.width, image_size)
        survey = png_file.survey()
        h = png_file.header
        colour_chunks = sorted(png_file.chunks.colour_chunks)
        record = sprite_record(png_file.chunks.text)
        packed_by = png_file.chunks.text.get(RECORD_KEY)
        browser = _colour_warnings(png_file) or tall_warning(path, h.height)
        rgb = h.color_type in (2, 3, 6)
        digest = png_file.chunks.sha256 or file_sha256(path)  # the survey read it to its end
    engines = agreement(differences(path, draw_rows=DRAW_ROWS, rgb=rgb))
    dataset = datasets.identify(sha256=digest, pixels_sha256=survey.pixels_sha256, recorded=True)
    image_size = (
        image_size or recorded_image_size(record) or (dataset.image_size if dataset else (28, 28))
    )
    per_image = image_size[0] * image_size[1]
    return {
        "schema": SCHEMA,
        "kind": "sprite",
        "path": str(path),
        "width": h.width,
        "height": h.height,
        "image_size": "{}x{}".format(*image_size),
        "images": h.height if h.width == per_image else None,
        "bit_depth": h.bit_depth,
        "color_type": COLOR_TYPES[h.color_type],
        "interlace": "adam7" if h.interlace else "none",
        "chunks": survey.chunks,
        "idat_count": survey.chunks["IDAT"],
        "idat_bytes": survey.idat_bytes,
        "file_bytes": survey.file_bytes,
        "compression_ratio": round(h.data_bytes() / max(1, survey.idat_bytes), 3),
        "filters": survey.filters,
        "colour_chunks": colour_chunks,
        "provenance": _json_or_none(packed_by),
        "browser_warning": browser,
        "browsers": engines,
        "pixels_sha256": survey.pixels_sha256,
        "sha256": digest,
        "dataset": dataset.name if dataset else None,
        "test_part": dataset.test_part if dataset else None,
    }


@dataclass(frozen=True)
class SourceFacts:
    """A sprite and its label file, each read once, for verify to judge: the sprite decoded to
    its end (left open, to plan a conversion) or why it does not decode, the label rows or why
    they are refused, and each file's sha256 (None when it cannot be read)."""

    sprite: PngFile | ShardedPng | None
    sprite_error: MnistSpriteError | None
    pixels_sha256: str | None
    onehot: U8 | None
    labels_error: MnistSpriteError | None
    labels_packed: bool  # a pack's NAME.json, its label files read across its shards
    sha256: dict[str, str | None]


def source_facts(sprite: Path, labels: Path, stack: contextlib.ExitStack[Any]) -> SourceFacts:
    """Read each file once: the sprite's file digest is taken in the pass that decodes it, the
    label file's from its rows (a refused file is read again for its digest alone)."""
    opened: PngFile | ShardedPng | None = None
    pixels, sprite_error = None, None
    try:
        opened = open_sprite(sprite, digest=True)
        stack.callback(opened.close)
        pixels = opened.pixels_sha256()
    except MnistSpriteError as e:
        sprite_error = e
    decoded = opened if sprite_error is None else None
    images = None if decoded is None else decoded.header.height
    packed = identify(labels, ("packed",)) is not None
    onehot, labels_error = None, None
    try:
        if packed:  # a pack's label files, each against NAME.json
            with ShardedPng(read(labels)) as shards:
                onehot = shards.onehot()
        else:
            onehot = read_onehot(labels, expected_rows=images)
    except MnistSpriteError as e:
        labels_error = e
    sprite_sha = opened.chunks.sha256 if isinstance(opened, PngFile) else None
    rows_sha = None if onehot is None or packed else hashlib.sha256(onehot.data).hexdigest()
    digests = {"sprite": sprite_sha or sha256_or_none(sprite)}
    digests["labels"] = rows_sha or sha256_or_none(labels)
    return SourceFacts(decoded, sprite_error, pixels, onehot, labels_error, packed, digests)


def sha256_or_none(path: Path) -> str | None:
    """sha256 of a file's bytes; None when it cannot be read."""
    try:
        return file_sha256(path)
    except (OSError, MnistSpriteError):
        return None


def inspect_packed(path: PathLike) -> dict[str, Any]:
    """A pack's ``NAME.json``: its facts, once every field is of its type and every file it
    names (each shard's sprite and label file, a plain name beside it) is there and
    unchanged; a missing or changed one is refused, naming it."""
    parsed = parse(path)
    facts, problems = parsed.record.facts, parsed.problems()
    return {
        **facts,
        "path": str(path),
        "ok": not problems,
        "problems": problems,
        "fix": "pack again, or restore the files it names",
    }


def inspect_labels(path: PathLike, train_size: int | None = None) -> dict[str, Any]:
    """Rows, class counts per split, rows that are not one-hot, and which dataset it is:
    read a block at a time, so a label file of any size takes the same memory."""
    with open_source(path) as f:
        size = os.fstat(f.fileno()).st_size
        classes = label_classes(f.read(LABEL_HEAD), size) or CLASSES
        f.seek(0)
        if not size or size % classes:
            read_onehot(path)  # raises the one-line error for this file
        rows = size // classes
        if train_size is not None and train_size > rows:
            raise OptionError(
                path,
                f"--train-size {train_size:,} is more than the {rows:,} rows it holds",
                f"give at most {rows:,}",
            )
        train = (
            train_size
            if train_size is not None
            else (DEFAULT_TRAIN_SIZES.get(rows) if classes == CLASSES else None)
        )
        split = rows if train is None else train
        hasher = hashlib.sha256()
        sums = {"train": np.zeros(classes, np.int64), "test": np.zeros(classes, np.int64)}
        bad_count, first_bad = 0, list[dict[str, Any]]()
        start = 0
        while start < rows:
            data = f.read(min(_LABEL_BLOCK_ROWS, rows - start) * classes)
            if not data or len(data) % classes:
                raise SourceError(path, "the file changed while it was read", "run it again")
            hasher.update(data)
            block = np.frombuffer(data, dtype=np.uint8).reshape(-1, classes)
            cut = min(max(split - start, 0), block.shape[0])
            sums["train"] += class_counts(block[:cut])
            sums["test"] += class_counts(block[cut:])
            bad = bad_rows(block)
            bad_count += int(bad.size)
            for k in bad[: max(0, 20 - len(first_bad))]:
                first_bad.append({"row": start + int(k), "values": [int(v) for v in block[k]]})
            start += block.shape[0]
    counts: dict[str, list[int]] = {"all": [int(v) for v in sums["train"] + sums["test"]]}
    if train is not None:
        counts["train"] = [int(v) for v in sums["train"]]
        counts["test"] = [int(v) for v in sums["test"]]
    digest = hasher.hexdigest()
    problems = [f"{bad_count:,} of {rows:,} rows are not one-hot"] if bad_count else []
    dataset = datasets.identify(labels_sha256=digest, recorded=True)
    return {
        "schema": SCHEMA,
        "kind": "labels",
        "ok": not problems,
        "problems": problems,
        "path": str(path),
        "rows": rows,
        "classes": classes,
        "train_size": train,
        "class_counts": counts,
        "not_one_hot": first_bad,
        "not_one_hot_count": bad_count,
        "sha256": digest,
        "dataset": dataset.name if dataset else None,
    }


_LABEL_BLOCK_ROWS = 1 << 16


def inspect_output(path: PathLike, reader: Reader | None = None) -> dict[str, Any]:
    """Each array's shape, dtype, min, max, mean and sha256, and convert's provenance.
    ``reader``: a dataset's cached original files (``originals.OriginalsReader``)."""
    arrays: dict[str, Any] = {}
    with Output(path, reader) as out:
        for name in out.names():
            with out.array(name) as (member, pieces):
                arrays[name] = _array_facts(member.shape, member.dtype, pieces)
        prov = out.provenance()
        names = out.class_names()
    dataset, count = datasets.named_in(prov), _class_count(arrays)
    published = dataset if reader is not None and isinstance(dataset, Originals) else None
    if dataset is None and out.kind == "idx" and Path(path).is_dir():  # the published files
        published = dataset = datasets.originals_in(Path(path))
    classes = names if names and len(names) >= count else class_names(dataset, count)
    return {
        "schema": SCHEMA,
        "kind": out.kind,
        "path": str(path),
        "arrays": arrays,
        "classes": classes,
        "provenance": prov,
        "dataset": published.name if published else None,
        "test_part": published.test_part if published else None,
    }


def _class_count(arrays: dict[str, Any]) -> int:
    """The classes an output's labels hold (10, TensorFlow.js's, when it has none to tell)."""
    labels = [arrays[n] for n in ("y_train", "y_test") if n in arrays]
    widths = [int(facts["shape"][1]) for facts in labels if len(facts["shape"]) > 1]
    ids = [int(facts["max"]) for facts in labels if facts["max"] is not None]
    return class_count(widths[0] if widths else None, max(ids, default=None), CLASSES)


def _array_facts(shape: tuple[int, ...], dtype: np.dtype[Any], pieces: Any) -> dict[str, Any]:
    digest = hashlib.sha256()
    lo, hi, total, n = math.inf, -math.inf, 0.0, 0
    for piece in pieces:
        digest.update(piece.data)
        if piece.size:
            lo = min(lo, float(piece.min()))
            hi = max(hi, float(piece.max()))
            total += float(piece.sum(dtype=np.float64))
            n += piece.size
    whole = dtype.kind in "iub"  # integers stay integers: uint8 ranges are 0 to 255, not 255.0
    return {
        "shape": list(shape),
        "dtype": str(dtype),
        "min": (int(lo) if whole else lo) if n else None,
        "max": (int(hi) if whole else hi) if n else None,
        "mean": round(total / n, 6) if n else None,
        "sha256": digest.hexdigest(),
    }


# -- digits ------------------------------------------------------------------------------


def digits(
    path: PathLike,
    start: int,
    count: int,
    image_size: tuple[int, int] | None = None,
    *,
    colour: bool = False,
) -> tuple[U8, list[int | None]]:
    """Digits ``start .. start + count`` as uint8 ``(n, h, w)``, with labels when known.

    From a sprite (no labels: a sprite does not say which label file is its; the image size
    its pack recorded, unless one is given), a pack, or an output (train then test, labels
    from its y arrays; its recorded image size unless one is given). Colour images are
    ``(n, h, w, 3)`` with ``colour``, else gray, the mean of red, green and blue.
    """
    what = require(path)
    if what == "sprite":
        x, size = _sprite_rows(path, start, count, image_size)
        return _images(path, x, size, colour), [None] * x.shape[0]
    if what == "labels":
        raise OptionError(path, "a label file has no pixels to draw", "give a sprite or an output")
    if what == "packed":
        return _packed_rows(path, start, count, colour)
    return _output_rows(path, start, count, image_size, colour)


def _packed_rows(
    path: PathLike, start: int, count: int, colour: bool
) -> tuple[U8, list[int | None]]:
    """Digits of a pack, across its shards, each file checked against NAME.json first."""
    with open_sprite(path) as sprite:
        assert isinstance(sprite, ShardedPng)
        bundle = sprite.bundle
        _check_index(path, start, bundle.images)
        x = _rows(sprite.canvas_blocks(rgb=bundle.channels == "rgb"), start, count)
        ids = sprite.onehot()[start : start + x.shape[0]].argmax(axis=1)
    return _images(path, x, bundle.image_size, colour), [int(i) for i in ids]


def _sprite_rows(
    path: PathLike, start: int, count: int, image_size: tuple[int, int] | None
) -> tuple[U8, tuple[int, int]]:
    """A sprite's rows, red (or RGB, for a colour sprite pack wrote), and their image size."""
    with PngFile(path) as png_file:
        record = sprite_record(png_file.chunks.text)
        size = image_size or recorded_image_size(record) or (28, 28)
        check_width(path, png_file.header.width, size)
        _check_index(path, start, png_file.header.height)
        rgb = recorded_rgb(record, png_file.header.color_type)
        return _rows(png_file.canvas_blocks(rgb=rgb), start, count), size


def _rows(blocks: Iterator[U8], start: int, count: int) -> U8:
    """Rows ``start .. start + count`` of a sprite's blocks, decoding no further."""
    rows, seen = [], 0
    for block in blocks:
        lo, hi = max(start - seen, 0), min(start + count - seen, block.shape[0])
        if lo < hi:
            rows.append(block[lo:hi].reshape(hi - lo, -1).copy())
        seen += block.shape[0]
        if seen >= start + count:
            break
    return np.concatenate(rows)


def _check_index(path: PathLike, index: int, total: int) -> None:
    if not 0 <= index < total:
        raise OptionError(
            path,
            f"has {total:,} digits; there is no digit {index}",
            f"give an index from 0 to {total - 1}",
        )


def _output_rows(
    path: PathLike, start: int, count: int, image_size: tuple[int, int] | None, colour: bool
) -> tuple[U8, list[int | None]]:
    images: list[U8] = []
    labels: list[int | None] = []
    seen = 0
    with Output(path) as out:
        recorded = (out.provenance() or {}).get("options")
        size = (
            image_size
            or (recorded_image_size(recorded) if isinstance(recorded, dict) else None)
            or (28, 28)
        )
        names = out.names()
        total = sum(out.shape(f"x_{s}")[0] for s in ("train", "test") if f"x_{s}" in names)
        _check_index(path, start, total)
        for split in ("train", "test"):
            if f"x_{split}" not in names:
                continue
            n = out.shape(f"x_{split}")[0]
            lo, hi = max(start - seen, 0), min(start + count - seen, n)
            if lo < hi:  # read only the rows shown, not the whole split
                x = nearest_k(out.rows(f"x_{split}", lo, hi)).reshape(hi - lo, -1)
                images.append(_images(path, x, size, colour))
                if f"y_{split}" in names:
                    labels += [_label(row) for row in out.rows(f"y_{split}", lo, hi)]
                else:
                    labels += [None] * (hi - lo)
            seen += n
    return np.concatenate(images), labels


def _images(path: PathLike, x: U8, size: tuple[int, int], colour: bool) -> U8:
    """Flat rows of one image each, as images of ``size``: ``(n, h, w, 3)`` for RGB rows with
    ``colour``, else ``(n, h, w)`` gray (RGB drawn as its mean)."""
    h, w = size
    if x.shape[1] == h * w * 3:
        rgb = x.reshape(-1, h, w, 3)
        if colour:
            return rgb
        gray: U8 = np.rint(rgb.mean(axis=3)).astype(np.uint8)
        return gray
    if x.shape[1] != h * w:
        raise OptionError(
            path,
            f"its images hold {x.shape[1]} values, not {h}x{w} pixels",
            "give the right --image-size",
        )
    return x.reshape(-1, h, w)


def _label(y: npt.NDArray[Any]) -> int:
    return int(np.argmax(y)) if y.ndim else int(y)


def digit_facts(image: U8, label: int | None, index: int) -> dict[str, Any]:
    """One digit for a script: its index, label and 0..255 pixel rows."""
    return {
        "schema": SCHEMA,
        "kind": "digit",
        "index": index,
        "label": label,
        "pixels": image.tolist(),
    }


def draw(image: U8, label: int | None, index: int) -> str:
    """One digit as text: one character per pixel, darker characters for brighter pixels."""
    scale = len(SHADES) - 1
    lines = ["".join(SHADES[int(v) * scale // 255] for v in row) for row in image]
    title = f"digit {index}" + ("" if label is None else f", label {label}")
    return "\n".join([title, *lines])


def write_grid(
    path: PathLike,
    out: PathLike,
    *,
    count: int = 100,
    image_size: tuple[int, int] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """A contact sheet of the first ``count`` digits as an 8-bit PNG (via pypng): gray, or
    RGB for colour images."""
    import png

    if count < 1:
        raise OptionError(None, "--count must be at least 1", "give a number of digits")
    suffix = Path(out).suffix
    if suffix and suffix.lower() != ".png":  # PNG bytes under a .jpg name would mislead
        raise OptionError(
            out,
            f"is a {suffix} name, but --grid writes a PNG image",
            f"name it {Path(out).with_suffix('.png').name}",
        )
    images, _ = digits(path, 0, count, image_size, colour=True)
    n, h, w = images.shape[:3]
    cols = math.ceil(math.sqrt(n))
    grid_rows = math.ceil(n / cols)
    gap = 2
    sheet = np.zeros(
        (grid_rows * (h + gap) + gap, cols * (w + gap) + gap, *images.shape[3:]), dtype=np.uint8
    )
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        sheet[y : y + h, x : x + w] = images[i]
    grid = atomic_output(
        out, folder=False, force=force, inputs=[path], guard=_png_only, flag="--grid"
    )
    with grid as tmp, open(tmp, "wb") as f:
        grey = sheet.ndim == 2
        png.Writer(sheet.shape[1], sheet.shape[0], greyscale=grey, bitdepth=8).write(
            f, sheet.reshape(sheet.shape[0], -1)
        )
    return {
        "grid": str(out),
        "digits": n,
        "columns": cols,
        "width": sheet.shape[1],
        "height": sheet.shape[0],
        "colour": "gray" if sheet.ndim == 2 else "rgb",
    }


def _png_only(path: Path) -> None:
    """``--force`` replaces a PNG image (an earlier contact sheet), never another kind of file."""
    with open_source(path) as f:
        head = f.read(8)
    if head != SIGNATURE:
        raise OutputError(
            path,
            f"is {sniff(head) or 'not a PNG image'}; --grid --force replaces only a PNG image",
            "choose another --grid",
        )


# -- text ----------------------------------------------------------------------------------


def render(facts: dict[str, Any]) -> str:
    """Aligned text for a person."""
    what = facts["kind"]
    lines = [f"{facts['path']}: {what}"]

    def row(key: str, value: object) -> None:
        lines.append(f"  {key:<18} {value}")

    if what == "sprite":
        row("size", f"{facts['width']} x {facts['height']}")
        images = facts["images"]
        row(
            "images", f"{images:,} of {facts['image_size']}" if images else "width is not one image"
        )
        row(
            "format",
            f"{facts['bit_depth']}-bit {facts['color_type']}, interlace {facts['interlace']}",
        )
        row("chunks", ", ".join(f"{k} {v}" for k, v in facts["chunks"].items()))
        row("IDAT bytes", f"{facts['idat_bytes']:,} (ratio {facts['compression_ratio']})")
        row("row filters", ", ".join(f"{k} {v:,}" for k, v in facts["filters"].items()))
        if facts["colour_chunks"]:
            row("colour chunks", ", ".join(facts["colour_chunks"]))
        if facts["provenance"]:
            row("packed by", json.dumps(facts["provenance"], sort_keys=True))
        if facts["browser_warning"]:
            row("browser", f"warning: {facts['browser_warning']}")
        engines = facts["browsers"]
        differ = ", ".join(f"{e} {n:,}" for e, n in engines["differ"].items())
        row(
            "browsers",
            f"values that differ from {engines['agree'][0]}'s canvas: {differ}"
            if differ
            else f"{', '.join(engines['agree'])}: every value the same",
        )
        row("pixels sha256", facts["pixels_sha256"])
        row("file sha256", facts["sha256"])
        row("dataset", facts["dataset"] or "none known")
        if facts.get("test_part"):
            row("test part", facts["test_part"])
    elif what == "labels":
        row("rows", f"{facts['rows']:,}")
        for split, counts in facts["class_counts"].items():
            row(f"classes ({split})", " ".join(str(c) for c in counts))
        row("not one-hot", facts["not_one_hot_count"])
        for bad in facts["not_one_hot"]:
            row(f"  row {bad['row']}", bad["values"])
        row("sha256", facts["sha256"])
        row("dataset", facts["dataset"] or "none known")
    elif what == "packed":
        size = f"{facts['image_height']}x{facts['image_width']}"
        row("images", f"{facts['images']:,} of {size}, {facts['channels']} channel(s)")
        row("train images", f"{facts['train_images']:,} (the first rows)")
        row("classes", f"{facts['classes']}: " + ", ".join(facts["class_names"]))
        for i, shard in enumerate(shard_entries(facts)):
            row(f"shard {i}", f"{shard['rows']:,} rows")
            for role in ("images", "labels"):
                entry = shard[role]
                row(
                    f"  {role} file",
                    f"{entry['name']} ({entry['bytes']:,} bytes) sha256 {entry['sha256']}",
                )
        if isinstance(facts.get("loader"), dict):
            row("loader", facts["loader"]["name"])
        for problem in facts["problems"]:
            row("problem", problem)
    else:
        for name, a in facts["arrays"].items():
            row(
                name,
                f"{tuple(a['shape'])} {a['dtype']} min {a['min']} max {a['max']} mean {a['mean']}",
            )
            row("", f"sha256 {a['sha256']}")
        row("classes", ", ".join(facts["classes"]))
        if facts.get("dataset"):
            row("dataset", f"{facts['dataset']}: its published files, by their pinned sha256")
            row("test part", facts["test_part"])
        prov = facts["provenance"]
        if prov is None:
            row("provenance", "none recorded")
        else:
            opts = prov.get("options", {})
            row("made by", f"mnist-sprite {prov.get('version')}")
            row("options", ", ".join(f"{k}={v}" for k, v in sorted(opts.items())))
            for role, src in prov.get("sources", {}).items():
                row(f"{role} source", f"{src.get('name')} sha256 {src.get('sha256')}")
    return "\n".join(lines)
