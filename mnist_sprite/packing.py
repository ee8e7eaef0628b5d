"""pack: images and labels in any format this tool reads -> a TensorFlow.js sprite.

The reverse of convert: ``NAME_images.png`` (one image per row, training rows first, 8-bit
gray or RGB, no alpha and no colour chunks, so every browser draws exactly these values),
``NAME_labels_uint8`` (one-hot, one row of C bytes per image) and ``NAME.json`` (what a
data.js needs: sizes, classes, counts, file names and digests). The input is read through the
format layer (``formats/``) a piece at a time and the PNG is written as it comes
(``png/encode.py``), so the sprite and the array are never held whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._version import __version__
from .atomic import Guard, atomic_bundle
from .bundle import (
    BROWSER_MAX_ROWS,
    BROWSER_MAX_WIDTH,
    PACK_SCHEMA,
    RECORD_KEY,
    Bundle,
    file_entry,
    record_files,
    shard_entries,
    shard_sizes,
    write_shards,
)
from .deflate import available_cores
from .errors import OptionError, OutputError, PathLike, SourceError
from .files import file_sha256, read_json
from .formats import Member, Reader
from .identify import PACKED_FROM, identify
from .labels import MAX_CLASSES, class_count, class_ids
from .loader import loader_source
from .options import check_flags, parse_image_size
from .png import MAX_PIXELS
from .png.canvas import engines_that_cannot_draw
from .reading import Output
from .sources import SourceOptions, open_pack_source, settle
from .sources.output import resplit
from .values import k_over_255, nearest_k

U8 = npt.NDArray[np.uint8]
Progress = Callable[[int], None]


@dataclass
class PackResult:
    """What pack wrote."""

    out: Path
    name: str
    files: dict[str, Path]
    facts: dict[str, Any]
    changed: int  # values --quantize moved to the nearest k / 255
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            **self.facts,
            "out": str(self.out),
            "quantized": self.changed,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class _Layout:
    """What the input holds: image size, channels, counts per split, classes."""

    height: int
    width: int
    channels: int
    counts: dict[str, int]
    classes: int
    class_names: list[str]


def pack(
    source: PathLike,
    out: PathLike,
    *,
    name: str = "data",
    classes: int | None = None,
    image_size: tuple[int, int] | str | None = None,
    quantize: bool = False,
    level: int = 6,
    force: bool = False,
    workers: int = 2,
    progress: Progress | None = None,
    reader: Reader | None = None,
    **reading: Any,
) -> PackResult:
    """Pack ``source`` (any output convert writes, a folder of PNGs, or a folder of one array
    per class) into a sprite, or shards of one, in ``out``: ``NAME_images.HASH.png`` (or
    shards ``NAME_images_000.HASH.png``, ...), label files, ``NAME.json`` and ``NAME.js``, each
    shard file named by its content (``bundle.content_name``).

    ``reader``: ``source`` read by it (a dataset's cached original files, as
    ``originals.OriginalsReader`` reads them), in place of what ``source`` is found to be.
    ``reading`` holds the source options of ``registry.SOURCE_OPTIONS`` by name:
    ``classes_from``, ``only_listed``, ``limit_per_class``, ``test_size``, ``seed`` and
    ``shard_rows``."""
    started = time.perf_counter()
    check_flags(quantize=quantize, force=force)
    if isinstance(image_size, str):
        image_size = parse_image_size(image_size)
    layout_options = SourceOptions.given(**reading)
    _check_name(name)
    if not 0 <= level <= 9:
        raise OptionError(None, f"--level {level} is not 0 to 9", "give a zlib level, e.g. 6")
    source, folder = Path(source), Path(out)
    if classes is not None and not 1 <= classes <= 255:
        raise OptionError(
            None, f"--classes {classes} is not 1 to 255", "a label row holds one byte per class"
        )
    if folder.resolve() == source.resolve():
        raise OptionError(
            folder, "is an input of this command", "choose another --out; pack never writes over it"
        )
    if source.is_dir() and source.resolve() in folder.resolve().parents:
        raise OptionError(
            folder,
            f"is inside the input folder {source}",
            "choose an --out outside it; pack never writes into its input",
        )
    if not folder.parent.is_dir():
        raise OutputError(folder, f"the folder {folder.parent} does not exist", "create it first")
    if folder.exists() and not folder.is_dir():
        raise OutputError(folder, "is a file; pack writes into a folder", "choose another --out")
    module_scope = _needs_module_scope(folder)
    kind = "output" if reader is not None else identify(source, PACKED_FROM) or "output"
    layout_options = settle(source, kind, layout_options)
    with (
        resplit(Output(source, reader), layout_options)
        if reader is not None
        else open_pack_source(source, kind, layout_options)
    ) as data:
        layout, ids = _layout(data, source, classes, image_size)
        labels = _labels(ids, layout)
        sizes = shard_sizes(
            sum(layout.counts.values()), layout_options.rows_per_shard(layout.height, layout.width)
        )
        files = record_files(folder, name)
        created = not folder.exists()
        folder.mkdir(exist_ok=True)
        try:
            facts, changed = _write(
                data, source, layout, labels, files, name, quantize, level, force, workers,
                progress, layout_options, sizes, module_scope,
            )  # fmt: skip
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if nothing else is in it
            raise
    first = shard_entries(facts)[0]
    files |= {role: folder / first[role]["name"] for role in ("images", "labels")}
    result = PackResult(folder, name, files, facts, changed, time.perf_counter() - started)
    if facts["images"] == facts["train_images"]:
        result.warnings.append(
            f"{folder / (name + '.json')}: no test images, so {name}.js's getTestData() is empty "
            "and nextTestBatch() throws; give --test-size (e.g. 0.15) for a test part"
        )
    tallest = max(sizes)
    if tallest > BROWSER_MAX_ROWS:
        refuse = engines_that_cannot_draw(tallest)
        result.warnings.append(
            f"{files['images']}: {tallest:,} rows; {', '.join(refuse)} draw(s) nothing of an image "
            f"taller than {BROWSER_MAX_ROWS:,} rows, so a canvas loader there reads every value "
            f"as 0 (NAME.js decodes the PNG itself); give --shard-rows {BROWSER_MAX_ROWS} or less"
        )
    pixels = tallest * facts["image_height"] * facts["image_width"]
    if pixels > MAX_PIXELS:
        result.warnings.append(
            f"{files['images']}: {pixels:,} pixels, more than the {MAX_PIXELS:,} convert decodes: "
            "it cannot read this sprite back"
        )
    return result


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise OptionError(
            None, f"--name {name!r} is not a plain file name", "use letters, digits, - _ ."
        )


def _layout(
    data: Output, source: Path, classes: int | None, image_size: tuple[int, int] | None
) -> tuple[_Layout, dict[str, U8]]:
    """What the source holds, and the class id of every image (checked, never guessed)."""
    names = data.names()
    if "x_train" not in names or "y_train" not in names:
        raise SourceError(
            source, "holds no x_train and y_train", "give a convert output or keras' mnist.npz"
        )
    splits = [s for s in ("train", "test") if f"x_{s}" in names and f"y_{s}" in names]
    members = {s: _member(data, f"x_{s}") for s in splits}
    prov = data.provenance() or {}
    recorded = prov.get("options")
    options: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    shapes = {s: _image_shape(members[s], source, image_size, options) for s in splits}
    for split, (h, w, _) in shapes.items():
        if not h or not w:  # a sprite row of no pixels: nothing to draw, nor to divide by
            raise SourceError(
                source,
                f"x_{split} has shape {members[split].shape}: images of {h}x{w} pixels",
                "give images of at least one row and one column",
            )
    if len(set(shapes.values())) > 1:
        raise SourceError(
            source,
            f"x_train is {shapes['train']} images but x_test is {shapes['test']}",
            "give arrays of one image size",
        )
    height, width, channels = shapes["train"]
    if height * width > BROWSER_MAX_WIDTH:  # from the header, before a pixel is read
        raise SourceError(
            source,
            f"its images are {height}x{width}, sprite rows of {height * width:,} pixels, wider "
            f"than the {BROWSER_MAX_WIDTH:,} a browser's canvas holds",
            "give --resize HxW (a folder of images), or smaller images: a sprite holds small "
            "images such as MNIST's 28x28",
        )
    counts = {s: members[s].shape[0] for s in splits}
    for s in splits:
        _check_label_shape(_member(data, f"y_{s}"), source, counts[s])
    ids = {s: _label_ids(data, f"y_{s}") for s in splits}
    found = max(_classes_of(_member(data, f"y_{s}"), ids[s]) for s in splits)
    total = classes if classes is not None else found
    if total > 255:
        raise SourceError(
            source, f"its labels use {total} classes; a label row holds at most 255",
            "give class ids 0 to 254",
        )  # fmt: skip
    if classes is not None and classes < found:
        raise OptionError(
            source, f"its labels use {found} classes, more than --classes {classes}",
            f"give --classes {found} or more",
        )  # fmt: skip
    names = _class_names(data, prov, total, source)
    return _Layout(height, width, channels, counts, total, names), ids


def _member(data: Output, name: str) -> Member:
    with data.array(name) as (member, _):
        return member


def _image_shape(
    member: Member, source: Path, size: tuple[int, int] | None, options: dict[str, Any]
) -> tuple[int, int, int]:
    shape = member.shape[1:]
    if len(shape) in (2, 3) and size is not None and tuple(shape[:2]) != tuple(size):
        raise OptionError(
            source,
            f"{member.name} holds {shape[0]}x{shape[1]} images, not {size[0]}x{size[1]}",
            "drop --image-size: it is for flat rows, which carry no size",
        )
    if len(shape) == 3 and shape[2] in (1, 3):
        return shape[0], shape[1], shape[2]
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 1:
        channels = 3 if options.get("channels") == "rgb" else 1
        recorded = options.get("image_size")
        if size is None and isinstance(recorded, str) and "x" in recorded:
            h, w = (int(v) for v in recorded.split("x"))
            size = (h, w)
        if size is None:
            side = math.isqrt(shape[0] // channels)
            if side * side * channels == shape[0]:
                size = (side, side)
        if size is not None and size[0] * size[1] * channels == shape[0]:
            return size[0], size[1], channels
        if size is not None:
            raise OptionError(
                source,
                f"{member.name} holds flat rows of {shape[0]} values, not one {size[0]}x{size[1]} "
                f"image of {channels} channel(s) each",
                "give the right --image-size",
            )
        raise OptionError(
            source,
            f"{member.name} holds flat rows of {shape[0]} values, not one square image each",
            "give --image-size HxW",
        )
    raise SourceError(
        source,
        f"{member.name} has shape {member.shape}, not images (N, H, W), (N, H, W, 1 or 3) "
        "or flat rows",
        "give image arrays",
    )


def _onehot_width(member: Member) -> int | None:
    """Classes per row of one-hot labels ``(N, C)``; None for class ids: ``(N,)``, or keras'
    ``(N, 1)`` of cifar10 (a one-hot row of one class would say nothing)."""
    shape = member.shape
    return shape[1] if len(shape) == 2 and shape[1] > 1 else None


def _check_label_shape(member: Member, source: Path, images: int) -> None:
    """From the array's header, before a byte of it is read: one label per image, as class
    ids ``(N,)`` or ``(N, 1)``, or one-hot rows ``(N, C)`` of at most 255 classes."""
    shape = member.shape
    if len(shape) not in (1, 2) or (len(shape) == 2 and not 1 <= shape[1] <= MAX_CLASSES):
        raise SourceError(
            source,
            f"{member.name} has shape {shape}, not class ids (N,) or one-hot rows (N, C) of "
            f"at most {MAX_CLASSES} classes",
            "give one label per image",
        )
    if shape[0] != images:
        x = member.name.replace("y_", "x_", 1)
        raise SourceError(
            source,
            f"{member.name} holds {shape[0]:,} labels but {x} holds {images:,} images",
            "give one label per image",
        )


def _label_ids(data: Output, name: str) -> U8:
    """The class id of each row of a label array, read a block at a time."""
    width = _onehot_width(_member(data, name))
    parts, start = [], 0
    for block in _row_blocks(data, name, width or 1):
        values = block if width else block.reshape(-1)
        parts.append(class_ids(values, name, data.path, first_row=start))
        start += block.shape[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def _classes_of(member: Member, ids: U8) -> int:
    """Classes a label array implies: its one-hot width, or its largest id plus one."""
    return class_count(_onehot_width(member), int(ids.max()) if ids.size else None)


def _class_names(data: Output, prov: dict[str, Any], count: int, source: Path) -> list[str]:
    from . import datasets

    names = data.class_names()  # a PNG folder's class folders, or convert's record
    if names is not None and len(names) == count:
        return names
    ds = datasets.named_in(prov)
    if ds is None and data.kind == "idx" and source.is_dir():  # the published files
        ds = datasets.originals_in(source)
    if ds is not None and len(ds.class_names) == count:
        return list(ds.class_names)
    return [str(i) for i in range(count)]


def _labels(ids: dict[str, U8], layout: _Layout) -> U8:
    """The class id of every image, training first (one byte each: one-hot rows are made a
    shard at a time when written)."""
    every: U8 = np.concatenate([ids[s] for s in layout.counts])
    return every


def _write(
    data: Output,
    source: Path,
    layout: _Layout,
    labels: U8,
    files: dict[str, Path],
    name: str,
    quantize: bool,
    level: int,
    force: bool,
    workers: int,
    progress: Progress | None,
    options: SourceOptions,
    sizes: list[int],
    module_scope: bool,
) -> tuple[dict[str, Any], int]:
    row_values = layout.height * layout.width * layout.channels
    changed = [0]
    provenance = {
        "tool": "mnist-sprite",
        "version": __version__,
        "source": {"name": source.name, "sha256": _source_digest(source)},
        # The source's image size, in each sprite itself: NAME.json's height and width are
        # checked against it (older packs do not record it).
        "image_size": f"{layout.height}x{layout.width}",
        "options": {"name": name, "quantize": quantize, "level": level, **options.recorded()},
    }

    def rows() -> Iterator[U8]:
        for s in layout.counts:
            start = 0
            for block in _row_blocks(data, f"x_{s}", row_values):
                exact, moved = _as_bytes(block, f"x_{s}", data.path, quantize, start)
                start += block.shape[0]
                changed[0] += moved
                if progress is not None:
                    progress(exact.shape[0])
                yield exact

    text = {RECORD_KEY: json.dumps(provenance, sort_keys=True, separators=(",", ":"))}
    folder = files["json"].parent
    # The shards' names are their content's: known once written, they go first.
    names = [*([PACKAGE_JSON] if module_scope else []), files["js"].name, files["json"].name]
    guard, earlier = _earlier_pack(files)
    with atomic_bundle(
        folder, names, force=force, inputs=[source], guard=guard, stale=earlier
    ) as tmp:
        try:
            shards = write_shards(
                tmp, name, rows(), labels, sizes, classes=layout.classes, image_values=row_values,
                channels=layout.channels, level=level, text=text, workers=workers,
            )  # fmt: skip
        except ValueError as e:  # the encoder's own check of what it was given
            raise SourceError(source, f"cannot be packed ({e})", "check its arrays") from None
        names[:0] = [shard[role]["name"] for shard in shards for role in ("images", "labels")]
        loader_js = loader_source(
            name, layout.height, layout.width, layout.channels, layout.classes
        )
        (tmp / files["js"].name).write_text(loader_js, encoding="utf-8")
        if module_scope:
            (tmp / PACKAGE_JSON).write_text(MODULE_SCOPE, encoding="utf-8")
        facts = _facts(name, layout, shards, file_entry(tmp / files["js"].name), provenance)
        text_json = json.dumps(facts, indent=2, sort_keys=True) + "\n"
        (tmp / files["json"].name).write_text(text_json, encoding="utf-8")
    return facts, changed[0]


# NAME.js is an ES module. Node reads a .js file as one only where the nearest package.json
# says "type": "module": `npm init` writes "type": "commonjs", and Node 18 detects nothing. So
# the bundle's folder gets this one-line package.json of its own, which every Node honours.
PACKAGE_JSON = "package.json"
MODULE_SCOPE = '{"type": "module"}\n'


def _needs_module_scope(folder: Path) -> bool:
    """Whether pack writes the folder's package.json: yes when it has none; no when it has
    one that says "type": "module"; any other one is the user's, and NAME.js would not import
    under it in Node, so the folder is refused."""
    scope = folder / PACKAGE_JSON
    if not (scope.exists() or scope.is_symlink()):
        return True
    if read_json(scope).get("type") == "module":
        return False
    raise OutputError(
        scope,
        'has no "type": "module", so Node would read NAME.js, an ES module, as CommonJS',
        "pack into a folder of its own (e.g. --out web/), where pack writes a package.json "
        'that says so; or add "type": "module" to this one',
    )


def _earlier_pack(files: dict[str, Path]) -> tuple[Guard, set[str]]:
    """``--force`` replaces only the files an earlier pack wrote, as its ``NAME.json`` says;
    and those files (to remove the shards this pack no longer writes)."""
    record = files["json"]
    earlier = _packed_names(record)  # as it was before this run wrote anything

    def guard(path: Path) -> None:
        if path.name not in earlier:
            fix = "choose another --out or --name; --force replaces only an earlier pack's files"
            if path.name == "data.js":  # the default --name's loader
                fix = (
                    "give another --name, e.g. --name mnist: the default, data, names the loader "
                    "data.js, as tfjs-examples names its own loader, which this one would replace"
                )
            raise OutputError(
                path, f"is not a file an earlier pack wrote ({record.name} does not list it)", fix
            )

    return guard, earlier


def _packed_names(record: Path) -> set[str]:
    """The files an earlier pack's ``NAME.json`` lists (itself included); none if not one."""
    bundle = None if record.is_symlink() else Bundle.find(record)
    if bundle is None:
        return set()
    return {record.name} | {n for n in bundle.files() if Path(n).name == n}  # shards, NAME.js


def _facts(
    name: str,
    layout: _Layout,
    shards: list[dict[str, Any]],
    loader: dict[str, Any],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """``NAME.json``: what a loader needs: sizes, classes, counts, every file and its digest.

    ``shards`` lists each sprite's rows and files in order; a pack of one sprite also keeps
    ``files`` (its sprite and label file), as packs before shards wrote it.
    """
    facts = {
        "schema": PACK_SCHEMA,
        "kind": "packed",
        "name": name,
        "image_height": layout.height,
        "image_width": layout.width,
        "channels": layout.channels,
        "classes": layout.classes,
        "class_names": layout.class_names,
        "images": sum(layout.counts.values()),
        "train_images": layout.counts.get("train", 0),
        "shards": shards,
        "loader": loader,
        "provenance": provenance,
    }
    if len(shards) == 1:
        facts["files"] = {role: shards[0][role] for role in ("images", "labels")}
    return facts


def _source_digest(source: Path) -> str:
    """sha256 of the input file, or of every file of an input folder (path and digest)."""
    if source.is_file():
        return file_sha256(source)
    digest = hashlib.sha256()
    files = sorted(q for q in source.rglob("*") if q.is_file())
    # Each opened inside SOURCE or refused (open_source's check on the descriptor: a link out
    # is never hashed); a thread per core, as hashlib lets go of the GIL.
    with ThreadPoolExecutor(available_cores()) as pool:
        for p, sha in zip(files, pool.map(lambda q: file_sha256(q, source), files), strict=True):
            digest.update(f"{p.relative_to(source).as_posix()}\0{sha}\n".encode())
    return digest.hexdigest()


def _row_blocks(data: Output, name: str, row_values: int) -> Iterator[npt.NDArray[Any]]:
    """An array's values as blocks of whole image rows, however its pieces are cut."""
    with data.array(name) as (_, pieces):
        carry: npt.NDArray[Any] | None = None
        for piece in pieces:
            flat = (
                piece.reshape(-1) if carry is None else np.concatenate([carry, piece.reshape(-1)])
            )
            whole = flat.size // row_values * row_values
            if whole:
                yield flat[:whole].reshape(-1, row_values)
            carry = flat[whole:]
        if carry is not None and carry.size:
            raise SourceError(data.path, f"{name} ends inside an image", "give whole arrays")


def _as_bytes(
    block: npt.NDArray[Any], name: str, path: Path, quantize: bool, start: int = 0
) -> tuple[U8, int]:
    """Pixel values as 0..255 bytes: uint8 as it is, whole numbers 0..255, or k / 255 floats.

    Anything else is refused, naming the first value, unless ``quantize`` (then rounded to
    the nearest k / 255 and counted).
    """
    if block.dtype == np.uint8:
        return block, 0
    if block.dtype.kind in "iu":
        bad = np.flatnonzero((block < 0) | (block > 255))
        if bad.size:
            _refuse(block, bad, name, path, start, "is not a pixel value from 0 to 255", "")
        return block.astype(np.uint8), 0
    if block.dtype.kind != "f":
        raise SourceError(path, f"{name} holds {block.dtype} values", "give uint8 or float pixels")
    wide = block.astype(np.float64)
    outside = ~((wide >= 0) & (wide <= 1))  # NaN too: no k / 255 is near it
    if outside.any():
        out = wide[outside]
        if bool(((out <= 255) & (out == np.rint(out))).all()):  # floats of 0..255, not of 0..1
            problem = "is above 1: float pixels are k / 255, and these look like 0..255 values"
            fix = f"divide them by 255, or store them as uint8 ({name}.astype('uint8'))"
        else:
            problem, fix = "is not a pixel value from 0 to 1", ""
        _refuse(block, np.flatnonzero(outside), name, path, start, problem, fix)
    kk = nearest_k(wide)
    exact = k_over_255(kk, block.dtype) == block
    if bool(exact.all()):
        return kk, 0
    if not quantize:
        problem = "is not k / 255 for a whole k from 0 to 255"
        fix = "pass --quantize to round every value to the nearest k / 255"
        _refuse(block, np.flatnonzero(~exact), name, path, start, problem, fix)
    return kk, int((~exact).sum())


def _refuse(
    block: npt.NDArray[Any],
    bad: npt.NDArray[np.intp],
    name: str,
    path: Path,
    start: int,
    problem: str,
    fix: str,
) -> None:
    i = int(bad[0])
    row, col = divmod(i, block.shape[1])
    value = block.reshape(-1)[i].item()
    raise SourceError(
        path,
        f"{name}[{start + row}] element {col} is {value!r}, which {problem}",
        fix or "give pixel values 0 to 255, or floats k / 255",
    )


def source_bytes(
    source: PathLike, *, quantize: bool = False, options: SourceOptions | None = None
) -> dict[str, U8]:
    """A pack source's arrays as pack writes them: uint8 pixels ``(N, H*W*C)`` and class ids
    (what convert gives back from the packed sprite with ``--dtype uint8 --label-format
    index``)."""
    return sized_source_bytes(source, quantize=quantize, options=options)[0]


def sized_source_bytes(
    source: PathLike, *, quantize: bool = False, options: SourceOptions | None = None
) -> tuple[dict[str, U8], tuple[int, int]]:
    """:func:`source_bytes`, and the source's image size (H, W), which flat rows do not show."""
    kind = identify(source, PACKED_FROM) or "output"
    with open_pack_source(Path(source), kind, options or SourceOptions()) as data:
        layout, ids = _layout(data, Path(source), None, None)
        out: dict[str, U8] = {}
        row_values = layout.height * layout.width * layout.channels
        for s in layout.counts:
            blocks = [
                _as_bytes(block, f"x_{s}", data.path, quantize)[0]
                for block in _row_blocks(data, f"x_{s}", row_values)
            ]
            out[f"x_{s}"] = (
                np.concatenate(blocks) if blocks else np.empty((0, row_values), np.uint8)
            )
            out[f"y_{s}"] = ids[s]
    return out, (layout.height, layout.width)
