"""The pipeline: sprite + labels -> train/test arrays -> a writer, as TensorFlow.js splits them."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt

from . import __version__
from .datasets import DATASETS, DEFAULT_TRAIN_SIZES, Dataset
from .errors import OptionError, PathLike, SpriteError
from .files import file_sha256
from .labels import LABEL_FORMATS, read_onehot, to_index
from .png_decode import DECODERS, Decoder, PngFile
from .writers import FORMATS, MemorySink, NpyDirSink, NpzSink, Sink, atomic_output, spooled_stdout

DTYPES = ("float32", "float64", "float16", "uint8")
SHAPES = ("flat", "image", "channels")
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
PROVENANCE_SCHEMA = 1
Progress = Callable[[int], None]


def _converter(dtype: str) -> Callable[[npt.NDArray[np.uint8]], npt.NDArray[Any]]:
    """Pixel values 0..255 -> output values.

    TensorFlow.js divides in float64 and stores float32: ``float32(v / 255)``. An IEEE
    division in float32 (or float64) is correctly rounded, so it gives exactly those values,
    and fast; multiplying by ``1/255`` would differ for 126 of the 256. float16 arithmetic
    in numpy rounds twice, so float16 takes a table of correctly rounded values instead.
    """
    if dtype == "uint8":
        return lambda block: block
    if dtype == "float16":
        table = (np.arange(256, dtype=np.float64) / 255).astype(np.float16)
        return lambda block: table[block]
    scalar = np.dtype(dtype).type(255)
    return lambda block: np.divide(block, scalar, dtype=dtype)


@dataclass(frozen=True)
class Options:
    """How a sprite becomes arrays; the defaults give what TensorFlow.js's loader gives."""

    dtype: str = "float32"
    label_format: str = "onehot"
    shape: str = "flat"
    image_size: tuple[int, int] = (28, 28)
    train_size: int | None = None
    shuffle: bool = False
    seed: int | None = None
    decoder: Decoder = "auto"

    def check(self) -> None:
        _choice("--dtype", self.dtype, DTYPES)
        _choice("--label-format", self.label_format, LABEL_FORMATS)
        _choice("--shape", self.shape, SHAPES)
        _choice("--decoder", self.decoder, DECODERS)
        h, w = self.image_size
        if h < 1 or w < 1:
            raise OptionError(None, f"--image-size {h}x{w} is empty", "give e.g. 28x28")
        if self.seed is not None and not self.shuffle:
            raise OptionError(None, "--seed without --shuffle has no effect", "add --shuffle")
        if self.train_size is not None and self.train_size < 0:
            raise OptionError(None, "--train-size is negative", "give a count of images")

    def recorded(self) -> dict[str, Any]:
        """The options that shape the output (the decoder does not), for provenance."""
        out = asdict(self)
        out.pop("decoder")
        out["image_size"] = "{}x{}".format(*self.image_size)
        out["seed"] = self.effective_seed
        return out

    @property
    def effective_seed(self) -> int | None:
        """``--shuffle`` alone uses seed 0: the same options always give the same bytes."""
        return (0 if self.seed is None else self.seed) if self.shuffle else None


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(
            None, f"{flag} {value!r} is not valid", f"use one of {', '.join(choices)}"
        )


def parse_image_size(text: str) -> tuple[int, int]:
    """``"28x28"`` -> (rows, columns)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise OptionError(None, f"--image-size {text!r} is not HEIGHTxWIDTH", "give e.g. 28x28")
    return int(parts[0]), int(parts[1])


@dataclass(frozen=True)
class Sources:
    """The two input files, and the dataset they came from if any."""

    sprite: Path
    labels: Path
    dataset: Dataset | None = None


def explicit_sources(
    dataset: str | None, sprite: PathLike | None, labels: PathLike | None
) -> Sources | None:
    """``--sprite`` with ``--labels``, checked against ``--dataset``; None for a dataset."""
    if (sprite is None) != (labels is None):
        raise OptionError(None, "--sprite and --labels go together", "give both, or --dataset")
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
    name = dataset or "mnist"
    if name not in DATASETS:
        raise OptionError(None, f"unknown dataset {name!r}", f"use one of {', '.join(DATASETS)}")
    ds = DATASETS[name]
    from .fetch import ensure_dataset  # imported here: explicit files need no network code

    paths = ensure_dataset(ds, cache_dir=cache_dir, offline=offline, show_progress=show_progress)
    return Sources(paths["sprite"], paths["labels"], ds)


@dataclass
class Plan:
    """What a conversion will produce, known from the header and label file before decoding."""

    sources: Sources
    options: Options
    images: int
    train_size: int
    onehot: npt.NDArray[np.uint8]
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dtypes: dict[str, np.dtype[Any]] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        return {
            "schema": PROVENANCE_SCHEMA,
            "tool": "mnist-sprite",
            "version": __version__,
            "dataset": self.sources.dataset.name if self.sources.dataset else None,
            "options": {**self.options.recorded(), "train_size": self.train_size},
            "sources": {
                "sprite": {
                    "name": self.sources.sprite.name,
                    "sha256": file_sha256(self.sources.sprite),
                },
                "labels": {
                    "name": self.sources.labels.name,
                    "sha256": file_sha256(self.sources.labels),
                },
            },
            "arrays": {
                name: {"shape": list(self.shapes[name]), "dtype": str(self.dtypes[name])}
                for name in ARRAY_NAMES
            },
        }


def _plan(png_file: PngFile, sources: Sources, options: Options) -> Plan:
    options.check()
    header = png_file.header
    h, w = options.image_size
    if header.width != h * w:
        raise SpriteError(
            sources.sprite,
            f"is {header.width} pixels wide, but one {h}x{w} image is {h * w} pixels",
            "give the right --image-size, or the sprite whose rows are one image each",
        )
    images = header.height
    onehot = read_onehot(sources.labels, expected_rows=images)
    train = options.train_size
    if train is None:
        if images not in DEFAULT_TRAIN_SIZES:
            raise OptionError(
                sources.sprite,
                f"holds {images:,} images, with no known train/test split",
                "give --train-size",
            )
        train = DEFAULT_TRAIN_SIZES[images]
    if train > images:
        raise OptionError(
            sources.sprite,
            f"--train-size {train:,} is more than the {images:,} images it holds",
            f"give at most {images:,}",
        )
    pixel_shape = {"flat": (h * w,), "image": (h, w), "channels": (h, w, 1)}[options.shape]
    label_shape: tuple[int, ...] = (onehot.shape[1],) if options.label_format == "onehot" else ()
    plan = Plan(sources, options, images, train, onehot)
    for split, n in (("train", train), ("test", images - train)):
        plan.shapes[f"x_{split}"] = (n, *pixel_shape)
        plan.shapes[f"y_{split}"] = (n, *label_shape)
        plan.dtypes[f"x_{split}"] = np.dtype(options.dtype)
        plan.dtypes[f"y_{split}"] = np.dtype(np.uint8)
    return plan


def _permutations(plan: Plan) -> dict[str, npt.NDArray[np.intp] | None]:
    if not plan.options.shuffle:
        return {"train": None, "test": None}
    rng = np.random.default_rng(plan.options.effective_seed)
    return {
        "train": rng.permutation(plan.train_size),
        "test": rng.permutation(plan.images - plan.train_size),
    }


def _run(
    png_file: PngFile, plan: Plan, sink: Sink, progress: Progress | None
) -> dict[str, tuple[int, ...]]:
    """Decode the sprite once, top to bottom, streaming each split into ``sink``."""
    as_output = _converter(plan.options.dtype)
    perms = _permutations(plan)
    labels = plan.onehot if plan.options.label_format == "onehot" else to_index(plan.onehot)
    with contextlib.closing(_row_blocks(png_file, plan.options.decoder, progress)) as blocks:
        _split(plan, sink, blocks, labels, perms, as_output)
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
        x_name, y_name = f"x_{split}", f"y_{split}"
        sink.begin(x_name, plan.shapes[x_name], plan.dtypes[x_name])
        perm = perms[split]
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
        sink.end()
        ys = labels[start:stop] if perm is None else labels[start:stop][perm]
        sink.begin(y_name, plan.shapes[y_name], plan.dtypes[y_name])
        sink.write(ys)
        sink.end()
    # Reading on to the end checks the rest of the file (rows, zlib end, chunks, IEND).
    extra = sum(block.shape[0] for block in blocks)
    assert pending is None and extra == 0, "the decoder gave more rows than the header"


def _row_blocks(
    png_file: PngFile, decoder: Decoder, progress: Progress | None
) -> Generator[npt.NDArray[np.uint8], None, None]:
    with contextlib.closing(prefetch(png_file.red_blocks(decoder))) as blocks:
        for block in blocks:
            yield block
            if progress is not None:
                progress(block.shape[0])


T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Produce ``items`` in a worker thread, at most ``depth`` ahead of the consumer.

    Inflating and unfiltering the next rows then overlaps with converting and writing these:
    zlib, numpy and file writes all release the GIL, and the machines have two cores.
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

    def summary(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "format": self.format,
            "arrays": self.arrays,
            "sources": self.provenance["sources"],
            "options": self.provenance["options"],
            "dataset": self.provenance["dataset"],
            "seconds": round(self.seconds, 3),
        }


def convert(
    sources: Sources,
    out: PathLike,
    *,
    options: Options | None = None,
    fmt: str = "npz",
    compress: bool = False,
    force: bool = False,
    stdout: IO[bytes] | None = None,
    progress: Progress | None = None,
) -> Result:
    """Convert ``sources`` into ``out`` (an .npz file, an .npy folder, or ``-`` for stdout).

    Nothing is written unless the whole conversion succeeds: the output appears complete or
    not at all, and an existing output is replaced only with ``force``.
    """
    started = time.perf_counter()
    options = options or Options()
    _choice("--format", fmt, FORMATS)
    to_stdout = os.fspath(out) == "-"
    if to_stdout and fmt != "npz":
        raise OptionError(None, "--out - writes an .npz stream", "use --format npz with --out -")
    if fmt == "npy" and compress:
        raise OptionError(None, "--compress applies to .npz only", "drop --compress")
    with PngFile(sources.sprite) as png_file:
        plan = _plan(png_file, sources, options)
        provenance = plan.provenance()
        if to_stdout:
            with spooled_stdout(stdout or sys.stdout.buffer) as spool:
                _write_npz(png_file, plan, spool, compress, provenance, progress)
        elif fmt == "npz":
            with atomic_output(out, folder=False, force=force) as tmp, open(tmp, "wb") as f:
                _write_npz(png_file, plan, f, compress, provenance, progress)
        else:
            with atomic_output(out, folder=True, force=force) as tmp:
                _fill(png_file, plan, NpyDirSink(tmp, provenance), progress)
    arrays = {
        name: {"shape": list(plan.shapes[name]), "dtype": str(plan.dtypes[name])}
        for name in ARRAY_NAMES
    }
    return Result(os.fspath(out), fmt, arrays, provenance, time.perf_counter() - started)


def _write_npz(
    png_file: PngFile,
    plan: Plan,
    stream: IO[bytes],
    compress: bool,
    provenance: dict[str, Any],
    progress: Progress | None,
) -> None:
    comment = json.dumps(provenance, sort_keys=True, separators=(",", ":")).encode()
    _fill(png_file, plan, NpzSink(stream, compress=compress, comment=comment), progress)


def _fill(png_file: PngFile, plan: Plan, sink: Sink, progress: Progress | None) -> None:
    """Run the pipeline into ``sink`` and finish it, or abort it on any failure."""
    try:
        _run(png_file, plan, sink, progress)
    except BaseException:
        sink.abort()
        raise
    sink.close()


def run_into(sources: Sources, options: Options, sink: Sink) -> Plan:
    """Run the pipeline into any sink (memory, a file, or verify's comparison)."""
    with PngFile(sources.sprite) as png_file:
        plan = _plan(png_file, sources, options)
        _fill(png_file, plan, sink, None)
    return plan


def to_arrays(sources: Sources, options: Options | None = None) -> dict[str, npt.NDArray[Any]]:
    """Convert ``sources`` into in-memory arrays keyed like an .npz output."""
    sink = MemorySink()
    run_into(sources, options or Options(), sink)
    return sink.arrays


def load_data(
    dataset: str = "mnist",
    *,
    sprite: PathLike | None = None,
    labels: PathLike | None = None,
    cache_dir: PathLike | None = None,
    offline: bool = False,
    dtype: str = "float32",
    label_format: str = "onehot",
    shape: str = "flat",
    image_size: tuple[int, int] | str = (28, 28),
    train_size: int | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[
    tuple[npt.NDArray[Any], npt.NDArray[np.uint8]], tuple[npt.NDArray[Any], npt.NDArray[np.uint8]]
]:
    """Return ``(x_train, y_train), (x_test, y_test)``, as ``keras.datasets.mnist.load_data()``.

    By default the arrays are TensorFlow.js's: float32 pixels ``v / 255`` of shape
    ``(N, 784)`` and one-hot uint8 labels of shape ``(N, 10)``, 55,000 train and 10,000 test.
    ``dataset="sample"`` uses the 1,000 digits shipped with the package (800 / 200). Pass
    ``sprite=`` and ``labels=`` to read files of your own. Missing dataset files are fetched
    into the cache unless ``offline``.
    """
    size = parse_image_size(image_size) if isinstance(image_size, str) else image_size
    options = Options(dtype, label_format, shape, size, train_size, shuffle, seed)
    options.check()
    sources = resolve_sources(
        None if sprite is not None else dataset,
        sprite,
        labels,
        cache_dir=cache_dir,
        offline=offline,
    )
    arrays = to_arrays(sources, options)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
