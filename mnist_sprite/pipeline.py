"""The pipeline: sprite + labels -> train/test arrays -> a format's sink (TensorFlow.js's split).

Named ``pipeline`` rather than ``convert`` so that ``mnist_sprite.convert`` is only ever the
public function (a submodule of that name would shadow it once imported).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt

from . import datasets
from ._version import __version__
from .atomic import atomic_output, spooled_stdout
from .bundle import (
    ShardedPng,
    recorded_image_size,
    recorded_rgb,
    sprite_record,
)
from .datasets import DEFAULT_TRAIN_SIZES, SPLITS, AnyDataset, Originals
from .errors import ColourWarning, OptionError, PathLike, SpriteError
from .files import file_sha256
from .formats import ARRAY_NAMES, MemorySink, Sink, SinkOptions, get
from .identify import identify, open_sprite
from .labels import U8, read_onehot, to_index
from .options import FORMATS, LAYOUTS, check_choice
from .options import Options as Options  # re-exported: callers import both from here
from .options import parse_image_size as parse_image_size
from .originals import OriginalFiles
from .png import PngFile
from .png.canvas import colour_warning
from .registry import FOLDER_FALLBACK, TABLE, either, names
from .values import converter as _converter  # pixel values 0..255 -> output values

PROVENANCE_SCHEMA = 1
# One sprite, a pack's shards read as one, or a dataset's original IDX files read as one.
Sprite = PngFile | ShardedPng | OriginalFiles
Progress = Callable[[int], None]
ProgressFactory = Callable[[int], AbstractContextManager[Progress]]


def check_width(path: PathLike, width: int, image_size: tuple[int, int]) -> None:
    """A sprite's rows must be one image each: its width is ``H * W`` of ``--image-size``."""
    h, w = image_size
    if width != h * w:
        raise SpriteError(
            path,
            f"is {width} pixels wide, but one {h}x{w} image is {h * w} pixels",
            "give the right --image-size, or the sprite whose rows are one image each",
        )


@dataclass(frozen=True)
class Sources:
    """The two input files, and the dataset they came from if any. For a dataset's original
    IDX files (:class:`Originals`), both are the folder that holds them."""

    sprite: Path
    labels: Path
    dataset: AnyDataset | None = None

    def files(self) -> dict[str, Path]:
        """Each input file by its role: the sprite and the labels, or the four IDX files."""
        if isinstance(self.dataset, Originals):  # each one's own file, or the container
            return self.dataset.serving(self.sprite)
        return {"sprite": self.sprite, "labels": self.labels}


def open_input(sources: Sources, options: Options) -> Sprite:
    """The sprite to read: a PNG, a pack's shards, or a dataset's IDX files (without the
    images ``--split tfjs`` leaves out, where the dataset has a sprite of its own)."""
    ds = sources.dataset
    if isinstance(ds, Originals):
        if (options.split is not None and options.split != "tfjs") or (
            options.split == "tfjs" and ds.sprite is None
        ):
            raise OptionError(
                None,
                f"--split {options.split} is not a split of {ds.name}: it has the published "
                f"{ds.train_size:,} / {ds.test_size:,}"
                + (", and --split tfjs gives TensorFlow.js's" if ds.sprite else ""),
                "drop --split, or give --train-size",
            )
        skip = ds.sprite_skip if options.split == "tfjs" else 0
        return OriginalFiles(ds, sources.sprite, skip)
    return open_sprite(sources.sprite)


def explicit_sources(
    dataset: str | None, sprite: PathLike | None, labels: PathLike | None
) -> Sources | None:
    """``--sprite`` with ``--labels``, checked against ``--dataset``; None for a dataset."""
    if sprite is not None and identify(sprite, ("packed",)):
        if labels is not None:
            raise OptionError(
                None, "--labels with a pack's NAME.json", "drop --labels: NAME.json names them"
            )
        labels = sprite  # a pack's NAME.json names its label files
    if (sprite is None) != (labels is None):
        raise OptionError(
            None,
            "--sprite and --labels go together (or --sprite NAME.json alone)",
            "give both, or --dataset",
        )
    if sprite is None or labels is None:
        return None
    if dataset is not None:
        raise OptionError(None, "--dataset and --sprite/--labels both given", "give one")
    return Sources(Path(sprite), Path(labels))


def resolve_sources(
    dataset: str | None = None,
    sprite: PathLike | None = None,
    labels: PathLike | None = None,
    *,
    cache_dir: PathLike | None = None,
    offline: bool = False,
    show_progress: bool = False,
) -> Sources:
    """Explicit ``sprite`` and ``labels`` paths, or a known dataset's files (fetched if missing)."""
    explicit = explicit_sources(dataset, sprite, labels)
    if explicit is not None:
        return explicit
    ds = datasets.get_any(dataset)
    from .download import ensure_dataset  # imported here: explicit files need no network code

    paths = ensure_dataset(ds, cache_dir=cache_dir, offline=offline, show_progress=show_progress)
    if isinstance(ds, Originals):
        return Sources(ds.folder(cache_dir), ds.folder(cache_dir), ds)
    return Sources(paths["sprite"], paths["labels"], ds)


@dataclass
class Plan:
    """What a conversion will produce, known from the header and label file before decoding."""

    sources: Sources
    options: Options
    images: int
    train_size: int
    onehot: npt.NDArray[np.uint8]
    image_size: tuple[int, int]
    channels: str
    class_names: list[str] = field(default_factory=list)  # one per class, in class order
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dtypes: dict[str, np.dtype[Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what a browser would do differently

    def provenance(self) -> dict[str, Any]:
        return {
            "schema": PROVENANCE_SCHEMA,
            "tool": "mnist-sprite",
            "version": __version__,
            "dataset": self.sources.dataset.name if self.sources.dataset else None,
            "class_names": self.class_names,
            "options": {
                **self.options.recorded(),
                "train_size": self.train_size,
                "image_size": "{}x{}".format(*self.image_size),
                "channels": self.channels,
            },
            "sources": {role: self._source(path) for role, path in self.sources.files().items()},
            "arrays": {
                name: {"shape": list(self.shapes[name]), "dtype": str(self.dtypes[name])}
                for name in ARRAY_NAMES
            },
        }

    def _source(self, path: Path) -> dict[str, str]:
        """A source's name and sha256; for files given by path (not a known dataset's, which
        are found by name), the absolute path too, where verify looks for them again."""
        record = {"name": path.name, "sha256": file_sha256(path)}
        if self.sources.dataset is None:
            record["path"] = os.path.abspath(path)
        return record


def label_warning(sources: Sources, recorded: dict[str, Any]) -> str | None:
    """A warning when the sprite given is a known dataset's and the label file is not that
    dataset's: the labels may not belong to these images (only verify would tell)."""
    if sources.dataset is not None:
        return None
    ds = datasets.identify(sprite_sha256=recorded["sprite"]["sha256"])
    if ds is None or recorded["labels"]["sha256"] == ds.labels.sha256:
        return None
    return (
        f"{sources.labels}: the sprite is {ds.name}'s {ds.sprite.name}, but this is not "
        f"{ds.name}'s {ds.labels.name} (sha256 differs): the labels may not belong to these "
        "images; use the label file that came with the sprite"
    )


def plan_conversion(
    png_file: Sprite, sources: Sources, options: Options, onehot: U8 | None = None
) -> Plan:
    """Everything convert checks before it decodes: image size, label rows, the split.

    ``onehot``: the label file's rows, when the caller has read them already (verify). What
    the options leave open comes from the dataset (its image size, its channels) or,
    for the split, from TensorFlow.js's own loader where there is one.
    """
    header = png_file.header
    ds = sources.dataset
    packed = None
    if isinstance(png_file, ShardedPng):  # a NAME.json
        packed = png_file.bundle
        default_size, default_channels = packed.image_size, packed.channels
    elif isinstance(png_file, OriginalFiles):  # the published split, or the sprite's (tfjs)
        default_size, default_channels = png_file.dataset.image_size, png_file.dataset.channels
    else:  # a sprite pack wrote records its image size; its colour type says its channels
        record = sprite_record(png_file.chunks.text)
        default_size = recorded_image_size(record) or (ds.image_size if ds else (28, 28))
        rgb = recorded_rgb(record, png_file.header.color_type)
        default_channels = "rgb" if rgb else ds.channels if ds else "red"
    size = options.image_size or default_size
    channels = options.channels or default_channels
    h, w = size
    check_width(sources.sprite, header.width, size)
    images = header.height
    if onehot is None and isinstance(png_file, ShardedPng | OriginalFiles):
        onehot = png_file.onehot()
    elif onehot is None:
        onehot = read_onehot(sources.labels, expected_rows=images)
    if packed is not None and options.train_size is None and options.split is None:
        options = replace(options, train_size=packed.train_images)
    if isinstance(png_file, OriginalFiles) and options.train_size is None:
        train = png_file.train_images  # the published training part (less what tfjs skips)
    else:
        train = _train_size(sources, options, images)
    colours = 3 if channels == "rgb" else 1
    pixel_shape = {
        "flat": (h * w * colours,),
        "image": (h, w) if colours == 1 else (h, w, 3),
        "channels": (h, w, colours),
    }[options.shape]
    label_shape: tuple[int, ...] = (onehot.shape[1],) if options.label_format == "onehot" else ()
    plan = Plan(sources, options, images, train, onehot, size, channels)
    recorded = packed.class_names if packed is not None else None
    plan.class_names = recorded or class_names(ds, onehot.shape[1])
    warning = None
    if isinstance(png_file, PngFile):  # a pack's shards carry no colour chunks
        warning = colour_warning(
            png_file.chunks.colour_chunks,
            options.browser,
            depth=png_file.header.bit_depth,
            alpha=png_file.has_alpha,
        )
    if warning is not None:
        plan.warnings.append(f"{sources.sprite}: {warning}")
    for split, n in (("train", train), ("test", images - train)):
        plan.shapes[f"x_{split}"] = (n, *pixel_shape)
        plan.shapes[f"y_{split}"] = (n, *label_shape)
        plan.dtypes[f"x_{split}"] = np.dtype(options.dtype)
        plan.dtypes[f"y_{split}"] = np.dtype(np.uint8)
    return plan


def browser_warnings(png_file: Sprite, plan: Plan) -> list[str]:
    """What some browser engine would do otherwise with this sprite: draw nothing of it (too
    tall), or give other values (transparency, 16-bit samples; decoded once per engine)."""
    from .browsers import differences, disagreement_warning, tall_warning

    if not isinstance(png_file, PngFile):  # a pack's shards: opaque, each within every limit
        return []
    found = [tall_warning(plan.sources.sprite, png_file.header.height)]
    if png_file.engine_dependent:
        rgb = plan.channels == "rgb"
        counts = differences(png_file.path, draw_rows=plan.options.draw_rows, rgb=rgb)
        total = png_file.header.height * png_file.header.width * (3 if rgb else 1)
        found.append(disagreement_warning(plan.sources.sprite, counts, total, plan.options.browser))
    return [w for w in found if w is not None]


def _train_size(sources: Sources, options: Options, images: int) -> int:
    presets = ", ".join(SPLITS)
    if options.train_size is not None:
        train = options.train_size
    elif options.split is not None:
        found = SPLITS[options.split].train(images)
        if found is None:
            raise OptionError(
                sources.sprite,
                f"--split {options.split} is defined for MNIST's 65,000 images, not {images:,}",
                f"give another --split ({presets}) or --train-size",
            )
        train = found
    elif images in DEFAULT_TRAIN_SIZES:
        train = DEFAULT_TRAIN_SIZES[images]
    else:
        raise OptionError(
            sources.sprite,
            f"holds {images:,} images, with no known train/test split",
            f"give --split ({presets}) or --train-size",
        )
    if train > images:
        raise OptionError(
            sources.sprite,
            f"--train-size {train:,} is more than the {images:,} images it holds",
            f"give at most {images:,}",
        )
    return train


def class_names(dataset: AnyDataset | None, count: int) -> list[str]:
    """The names of a dataset's classes (T-shirt/top, ...), else their numbers."""
    if dataset is not None and len(dataset.class_names) == count:
        return list(dataset.class_names)
    return [str(i) for i in range(count)]


def _permutations(plan: Plan) -> dict[str, npt.NDArray[np.intp] | None]:
    if not plan.options.shuffle:
        return {"train": None, "test": None}
    rng = np.random.default_rng(plan.options.effective_seed)
    return {
        "train": rng.permutation(plan.train_size),
        "test": rng.permutation(plan.images - plan.train_size),
    }


def _run(
    png_file: Sprite, plan: Plan, sink: Sink, progress: Progress | None
) -> dict[str, tuple[int, ...]]:
    """Decode the sprite once, top to bottom, streaming each split into ``sink``."""
    as_output = _converter(plan.options.dtype)
    perms = _permutations(plan)
    labels = plan.onehot if plan.options.label_format == "onehot" else to_index(plan.onehot)
    with contextlib.closing(_row_blocks(png_file, plan.options, plan.channels, progress)) as blocks:
        _split(plan, sink, blocks, labels, perms, as_output)
    if plan.options.channels is None and isinstance(png_file, PngFile) and png_file.colours_differ:
        plan.warnings.append(
            f"{plan.sources.sprite}: its pixels' red, green and blue differ, and convert kept "
            "the red channel only, as data.js reads it; give --channels rgb to keep all three"
        )
    return plan.shapes


def _split(
    plan: Plan,
    sink: Sink,
    blocks: Iterator[npt.NDArray[np.uint8]],
    labels: npt.NDArray[np.uint8],
    perms: dict[str, npt.NDArray[np.intp] | None],
    as_output: Callable[[npt.NDArray[np.uint8]], npt.NDArray[Any]],
) -> None:
    bounds = {"train": (0, plan.train_size), "test": (plan.train_size, plan.images)}
    pending: npt.NDArray[np.uint8] | None = None  # rows decoded past the current split
    for split in ("train", "test"):
        start, stop = bounds[split]
        perm = perms[split]
        ys = labels[start:stop] if perm is None else labels[start:stop][perm]
        sink.begin_split(split, plan.shapes[f"x_{split}"], plan.dtypes[f"x_{split}"], ys)
        held: list[npt.NDArray[np.uint8]] = []  # a shuffled split is permuted whole
        row = start
        while row < stop:
            block = pending if pending is not None else next(blocks)
            take = min(block.shape[0], stop - row)
            part, pending = block[:take], (block[take:] if take < block.shape[0] else None)
            row += take
            if perm is None:
                sink.write(as_output(part))
            else:
                held.append(part.copy())
        if perm is not None:
            whole = np.concatenate(held) if held else np.empty((0, 1), np.uint8)
            for i in range(0, perm.size, 4096):
                part = whole[perm[i : i + 4096]]
                sink.write(as_output(part))
        sink.end_split()
    # Reading on to the end checks the rest of the file (rows, zlib end, chunks, IEND).
    extra = sum(block.shape[0] for block in blocks)
    assert pending is None and extra == 0, "the decoder gave more rows than the header"


def _row_blocks(
    png_file: Sprite, options: Options, channels: str, progress: Progress | None
) -> Generator[npt.NDArray[np.uint8], None, None]:
    blocks_of = png_file.canvas_blocks(
        options.decoder, draw_rows=options.draw_rows, rgb=channels == "rgb", engine=options.browser
    )
    with contextlib.closing(prefetch(blocks_of)) as blocks:
        for block in blocks:
            yield block
            if progress is not None:
                progress(block.shape[0])


T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Produce ``items`` in a worker thread, at most ``depth`` ahead of the consumer.

    Inflating and unfiltering the next rows then overlaps with converting and writing these:
    zlib, numpy and file writes all release the GIL, so two cores work at once.
    Exceptions in the worker are raised in the consumer; closing the consumer stops it.
    """
    channel: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                channel.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as e:  # handed to the consumer, raised there
            put((_DONE, e))

    worker = threading.Thread(target=work, name="mnist-sprite-decode", daemon=True)
    worker.start()
    try:
        while True:
            item, error = channel.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


@dataclass(frozen=True)
class Result:
    """What a conversion wrote."""

    out: str
    format: str
    arrays: dict[str, dict[str, Any]]
    provenance: dict[str, Any]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "format": self.format,
            "arrays": self.arrays,
            "sources": self.provenance["sources"],
            "options": self.provenance["options"],
            "dataset": self.provenance["dataset"],
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
        }


def check_out(
    out: PathLike, fmt: str, compress: bool, layout: str = "plain", shard_rows: int | None = None
) -> None:
    """Refuse an ``out`` that cannot be what ``fmt`` writes, before any work is done."""
    check_choice("--format", fmt, FORMATS)
    check_choice("--layout", layout, LAYOUTS)
    text = os.fspath(out)
    if not text:
        raise OptionError(None, "--out is empty", "give a file or folder name")
    info = TABLE[fmt]
    if layout not in info.layouts:
        laid = either(names(lambda i: len(i.layouts) > 1))
        raise OptionError(None, f"--layout applies to --format {laid} only", "drop --layout")
    if compress and not info.compress:
        some = either(names(lambda i: i.compress), "and")
        raise OptionError(None, f"--compress applies to {some}, not {fmt}", "drop --compress")
    if shard_rows is not None and not info.shards:
        some = either(names(lambda i: i.shards), "and")
        raise OptionError(None, f"--shard-rows applies to {some}, not {fmt}", "drop --shard-rows")
    if shard_rows is not None and shard_rows < 1:
        raise OptionError(None, f"--shard-rows {shard_rows} is not positive", "give e.g. 10000")
    if text == "-":
        if not info.stdout:
            streams = names(lambda i: i.stdout)
            raise OptionError(
                None,
                f"--out - writes an {either([TABLE[n].suffix for n in streams])} stream",
                f"use --format {either(streams)} with --out -",
            )
        return
    if not info.rules.folder and text.endswith(("/", os.sep)):
        raise OptionError(
            text,
            f"ends with a slash, so it names a folder, but --format {fmt} writes one file",
            f"give a file name such as {text}mnist{info.suffix}, or use --format {FOLDER_FALLBACK}",
        )
    for other, of in TABLE.items() if info.rules.folder else ():  # a file format's name
        if of.suffix and text.lower().endswith(of.suffix):
            raise OptionError(
                text,
                f"is an {of.suffix} name, but --format {fmt} writes a folder",
                f"drop the {of.suffix} from --out, or use --format {other}",
            )
    suffix = os.path.splitext(text.rstrip("/" + os.sep))[1].lower()
    named = next(
        ((n, i.instead) for n, i in TABLE.items() if i.named_by and i.named_by == suffix),
        _JSON if suffix == ".json" else None,
    )
    if named is not None and named[0] != fmt:
        what = f"one {info.suffix} file" if not info.rules.folder else "a folder"
        raise OptionError(text, f"is a {suffix} name, but --format {fmt} writes {what}", named[1])


# An --out ending in .json names no format's file: what pack writes.
_JSON = ("", "give an .npz name or a folder; a NAME.json is what pack writes")


def write_output(
    sources: Sources,
    out: PathLike,
    *,
    options: Options | None = None,
    fmt: str = "npz",
    compress: bool = False,
    layout: str = "plain",
    force: bool = False,
    stdout: IO[bytes] | None = None,
    progress: ProgressFactory | None = None,
    shard_rows: int | None = None,
) -> Result:
    """Convert ``sources`` into ``out`` (an .npz file, a folder for the other formats, or
    ``-`` for an npz stream on stdout).

    Nothing is written unless the whole conversion succeeds: the output appears complete or
    not at all, an existing output is replaced only with ``force``, and an input never is.
    ``progress(total_rows)`` gives a context whose value is called with rows as they decode.
    """
    started = time.perf_counter()
    options = options or Options()
    check_out(out, fmt, compress, layout, shard_rows)
    current = {"dtype": options.dtype, "label_format": options.label_format}
    rules = TABLE[fmt].rules
    rules.settled(fmt, {**current, "shape": options.shape})  # refuses what fmt cannot hold
    to_stdout = os.fspath(out) == "-"
    stream = (stdout or sys.stdout.buffer) if to_stdout else None
    if stream is not None and stream.isatty():
        raise OptionError(
            None,
            "--out - would write binary data to the terminal",
            "redirect stdout to a file or a program (> out.npz, | python ...)",
        )
    inputs = tuple(sources.files().values())
    with open_input(sources, options) as png_file:
        plan = plan_conversion(png_file, sources, options)
        why = TABLE[fmt].gray_layouts.get(layout)
        if why is not None and plan.channels == "rgb":
            raise OptionError(
                None, f"--layout {layout} {why}", f"use --channels red, or --layout {LAYOUTS[0]}"
            )
        provenance = {**plan.provenance(), "format": fmt}
        mismatch = label_warning(sources, provenance["sources"])
        if mismatch is not None:
            plan.warnings.append(mismatch)
        plan.warnings += browser_warnings(png_file, plan)
        if len(TABLE[fmt].layouts) > 1:  # a format of several layouts records which
            provenance["layout"] = layout
        with progress(plan.images) if progress else contextlib.nullcontext(None) as advance:
            settings = SinkOptions(compress, layout, plan.class_names, shard_rows)
            if stream is not None:
                with spooled_stdout(stream) as spool:
                    _fill(png_file, plan, get(fmt).open_sink(spool, provenance, settings), advance)
            else:
                with (
                    atomic_output(out, folder=rules.folder, force=force, inputs=inputs) as tmp,
                    contextlib.ExitStack() as stack,
                ):
                    # a folder format fills the folder; a file format writes a stream
                    target = tmp if rules.folder else stack.enter_context(open(tmp, "wb"))
                    _fill(png_file, plan, get(fmt).open_sink(target, provenance, settings), advance)
    arrays = {
        name: {"shape": list(plan.shapes[name]), "dtype": str(plan.dtypes[name])}
        for name in ARRAY_NAMES
    }
    seconds = time.perf_counter() - started
    return Result(os.fspath(out), fmt, arrays, provenance, seconds, plan.warnings)


def _fill(png_file: Sprite, plan: Plan, sink: Sink, progress: Progress | None) -> None:
    """Run the pipeline into ``sink`` and finish it, or abort it on any failure."""
    try:
        _run(png_file, plan, sink, progress)
    except BaseException:
        sink.abort()
        raise
    sink.close()


def run_into(sources: Sources, options: Options, sink: Sink, plan: Plan | None = None) -> Plan:
    """Run the pipeline into any sink (memory, a file, verify's comparison), by ``plan`` if made."""
    with open_input(sources, options) as png_file:
        plan = plan or plan_conversion(png_file, sources, options)
        _fill(png_file, plan, sink, None)
    return plan


def to_arrays(sources: Sources, options: Options | None = None) -> dict[str, npt.NDArray[Any]]:
    """Convert ``sources`` into in-memory arrays keyed like an .npz output.

    What a browser would do differently (a gamma chunk) is raised as a ColourWarning.
    """
    sink = MemorySink()
    plan = run_into(sources, options or Options(), sink)
    for message in plan.warnings:
        warnings.warn(message, ColourWarning, stacklevel=2)
    return sink.arrays
