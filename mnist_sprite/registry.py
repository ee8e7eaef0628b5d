"""The output formats there are: one line each, as plain data, so that the command line's
choices, help and refusals come from here without importing numpy or a format's code.

Each line names the ``formats/`` module and object (``"npz:FORMAT"``) that reads and writes the
format; :func:`mnist_sprite.formats.get` imports it on first use (imageio's plugin table and
fsspec's ``known_implementations`` work the same way). A new format is its module and a line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rules:
    """What a format can hold: the options it allows, and the defaults it implies."""

    folder: bool
    dtypes: tuple[str, ...] | None = None  # None: any
    label_formats: tuple[str, ...] | None = None
    shape: str | None = None  # the one shape it stores, if it has one
    dtype: str | None = None  # its default pixel type, if not the pipeline's

    def settled(self, name: str, given: dict[str, Any]) -> dict[str, Any]:
        """The options for this format: its defaults where none was given; refuses what it
        cannot hold, naming the option (OptionError)."""
        from .errors import OptionError

        out: dict[str, Any] = {}
        checks = (
            ("dtype", self.dtypes, self.dtype, "--dtype"),
            ("label_format", self.label_formats, None, "--label-format"),
            ("shape", None if self.shape is None else (self.shape,), self.shape, "--shape"),
        )
        for key, allowed, default, flag in checks:
            value = given.get(key)
            if value is not None and allowed is not None and value not in allowed:
                raise OptionError(
                    None,
                    f"--format {name} cannot hold {flag} {value}",
                    f"drop {flag}, or use --format {either(names(_holds_any))}",
                )
            if value is None:
                value = default if default is not None else (allowed[0] if allowed else None)
            if value is not None:
                out[key] = value
        return out

    @property
    def default_dtype(self) -> str | None:
        return self.dtype or (self.dtypes[0] if self.dtypes else None)


@dataclass(frozen=True)
class FormatInfo:
    """One format as the command line knows it; its code is ``formats.<target>``."""

    target: str  # "module:attr" in mnist_sprite.formats
    about: str  # --format's help for it
    rules: Rules
    suffix: str = ""  # a file format's file name ending
    compress: str = ""  # what --compress does to it ("" if it cannot)
    stdout: bool = False  # --out - streams it
    layouts: tuple[str, ...] = ("plain",)
    shards: bool = False  # --shard-rows cuts each split into files of that many rows
    # An --out ending so names one of this format's files, and is refused for another format
    # with ``instead`` as the fix (".csv": "use --format csv, which writes ...").
    named_by: str = ""
    instead: str = ""
    # Layouts that hold one channel only, and why ("is for MNIST's 3-dimensional IDX").
    gray_layouts: dict[str, str] = field(default_factory=dict)


def _holds_any(info: FormatInfo) -> bool:
    """Any dtype, label format and shape: what a refusal suggests instead."""
    rules = info.rules
    return rules.dtypes is None and rules.label_formats is None and rules.shape is None


TABLE: dict[str, FormatInfo] = {
    "npz": FormatInfo(
        "npz:FORMAT", "one archive", Rules(folder=False), suffix=".npz",
        compress="deflate the .npz members", stdout=True,
    ),
    "npy": FormatInfo(
        "npy:FORMAT", "memory-mappable .npy files", Rules(folder=True),
        named_by=".npy", instead="use --format npy, which writes a folder of .npy files",
    ),
    # IDX holds bytes and class ids, images as (N, H, W).
    "idx": FormatInfo(
        "idx:FORMAT", "MNIST's original files (torchvision)",
        Rules(folder=True, dtypes=("uint8",), label_formats=("index",), shape="image"),
        compress="write .gz IDX files", layouts=("plain", "torchvision"),
        gray_layouts={"torchvision": "is for MNIST's 3-dimensional IDX; RGB images are idx4"},
        named_by=".gz",
        instead="use --format idx --compress, which writes a folder of .gz IDX files",
    ),
    # One label column, then the pixels of a flat row; uint8 integers unless --dtype says.
    "csv": FormatInfo(
        "csv:FORMAT", "train.csv/test.csv, a label column first (Kaggle's train.csv)",
        Rules(folder=True, label_formats=("index",), shape="flat", dtype="uint8"),
        named_by=".csv",
        instead="use --format csv, which writes a folder of train.csv and test.csv",
    ),
    # A PNG holds bytes; its folder is its class.
    "png-dir": FormatInfo(
        "pngdir:FORMAT", "<split>/<class>/<i>.png",
        Rules(folder=True, dtypes=("uint8",), label_formats=("index",), shape="image"),
        named_by=".png", instead="use --format png-dir for PNG images, or pack for a sprite",
    ),
    # The Hugging Face Hub's Parquet: a PNG and a class id a row (pyarrow, an optional extra).
    "parquet": FormatInfo(
        "parquet:FORMAT", "the Hugging Face Hub's <config>/<split>-00000-of-00001.parquet",
        Rules(folder=True, dtypes=("uint8",), label_formats=("index",), shape="image"),
        named_by=".parquet",
        instead="use --format parquet, which writes the Hub's folder of Parquet files",
    ),
    # WebDataset: tar shards of <key>.png and <key>.cls samples.
    "webdataset": FormatInfo(
        "webdataset:FORMAT", "tar shards <split>-000000.tar of <key>.png and <key>.cls",
        Rules(folder=True, dtypes=("uint8",), label_formats=("index",), shape="image"),
        shards=True, named_by=".tar",
        instead="use --format webdataset, which writes a folder of tar shards",
    ),
}  # fmt: skip


# A folder with this tool's manifest that no format recognizes is read as this one, whose
# reader then names what is missing.
FOLDER_FALLBACK = "npy"


def either(words: list[str], last: str = "or") -> str:
    """``a, b or c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def names(test: Callable[[FormatInfo], object] | None = None) -> list[str]:
    """The formats (those ``test(info)`` holds for), in the table's order."""
    return [n for n, info in TABLE.items() if test is None or test(info)]


def folders(but: tuple[str, ...] = ()) -> str:
    """The folder formats, but ``but``, as prose: ``npy, idx, csv or png-dir``."""
    return either([n for n in names(lambda i: i.rules.folder) if n not in but])


FILES = either([i.suffix for i in TABLE.values() if not i.rules.folder])  # ".npz"
FOLDERS = folders()
OUTPUTS = f"an {FILES} file, or an {FOLDERS} folder"
# The words help and messages use for the formats: a new format joins them by its line.
_WORDS = {
    "outputs": OUTPUTS,
    "files": FILES,
    "folders": FOLDERS,
    "pack_folders": folders(but=("png-dir",)),  # a png-dir output is one of the PNG folders
    "streams": either(names(lambda i: i.stdout)),
    "laid_out": either(names(lambda i: len(i.layouts) > 1)),
    "bytes": either(names(lambda i: i.rules.default_dtype == "uint8"), "and"),
    "class_ids": either(names(lambda i: i.rules.label_formats == ("index",)), "and"),
}


def prose(text: str) -> str:
    """``text`` with each ``{word}`` of :data:`_WORDS` filled in (other braces left alone)."""
    for key, words in _WORDS.items():
        text = text.replace("{" + key + "}", words)
    return text


_COMPRESS = ", or ".join(i.compress for i in TABLE.values() if i.compress)
HELP = {  # whole help texts of convert's options
    "out": prose(
        "Output: an {files} file, a folder for the other formats, or - ({streams} on stdout)."
    ),
    "format": "; ".join(f"{name}: {info.about}" for name, info in TABLE.items()) + ".",
    "compress": f"{_COMPRESS[:1].upper()}{_COMPRESS[1:]} (smaller, slower).",
    "shard_rows": f"With --format {either(names(lambda i: i.shards))}: images a file holds "
    "[default: 10,000].",
}


# -- what pack reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """One option, declared once, in a table of them (pack's ``SOURCE_OPTIONS`` here, convert's
    ``options.CONVERSION``): the command line makes its flag and help from it, the API takes
    it as a keyword, and the table's checker checks it by its kind."""

    name: str  # the Python keyword; the flag is --name-with-dashes
    # What it takes, as its table's checker reads it: pack's "path", "flag", "count" (a whole
    # number from 1), "seed", "size" (--test-size), "choice" (one of ``choices``), "shape"
    # (HxW), "byte" (0 to 255); convert's kinds are options.CONVERSION's.
    kind: str
    metavar: str
    help: str
    choices: tuple[str, ...] = ()
    default: Any = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


# The test part of a source that has none of its own (class folders, one array per class):
# Teachable Machine's 15%, near MNIST's 1/7.
DEFAULT_TEST_SIZE = "0.15"

SOURCE_OPTIONS = (
    Declared(
        "classes_from", "path", "NAMES.txt",
        "A per-class source: the class order, one class (file name without .npy, or class "
        "folder) a line; every class must be listed [default: sorted names].",
    ),
    Declared(
        "only_listed", "flag", "",
        "With --classes-from: pack only the classes it lists (else a class it leaves out is "
        "refused).",
    ),
    Declared(
        "limit_per_class", "count", "N",
        "A per-class source: take the first N images of each class.",
    ),
    Declared(
        "test_size", "size", "SIZE",
        "A stratified test part of N images, or of the fraction F (see README for the "
        "remainder rule); 0: none. A source with its own split is split again [default: "
        f"{DEFAULT_TEST_SIZE} of a folder of classes, else the source's own].",
    ),
    Declared(
        "seed", "seed", "S",
        "A per-class folder, or --test-size: which images are test, and the order within "
        "each part [default: 0].",
    ),
    Declared(
        "alpha", "choice", "ink|white|black|ignore",
        "Images that are not fully opaque: ink (the value is the alpha: strokes on transparent "
        "become white on black), white or black (drawn over that colour), ignore (the colours "
        "a canvas returns) [default: refuse them].",
        ("ink", "white", "black", "ignore"),
    ),
    Declared(
        "channels", "choice", "gray|rgb",
        "gray (tf.image.rgbToGrayscale, rounded) or rgb [default: gray when the first image "
        "is gray, and a colour image after it is refused].",
        ("gray", "rgb"),
    ),
    Declared(
        "resize", "shape", "HxW",
        "Resize every image to H x W [default: every image must be one size].",
    ),
    Declared(
        "fit", "choice", "stretch|crop|pad",
        "With --resize: stretch, crop (the centred region of H:W) or pad (with --pad-value "
        "around it to H:W) [default: stretch].",
        ("stretch", "crop", "pad"),
    ),
    Declared(
        "resample", "choice", "area|bilinear",
        "With --resize: area (the box average of each pixel's footprint) or bilinear "
        "(tf.image.resizeBilinear, rounded) [default: area].",
        ("area", "bilinear"),
    ),
    Declared(
        "pad_value", "byte", "V",
        "With --fit pad: the value padded with, 0 to 255 [default: 0].",
    ),
    Declared(
        "browser", "choice", "chromium|firefox|webkit",
        "With --alpha, 16-bit or gAMA images: whose canvas pack follows [default: chromium].",
        ("chromium", "firefox", "webkit"),
    ),
    Declared(
        "shard_rows", "count", "N",
        "Rows per sprite; more rows make shards NAME_images_000.png, ... [default: the most "
        "within 65,535 rows (Firefox's tallest image) and 134,217,728 pixels].",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class SourceInfo:
    """One kind of source pack reads, as plain data; its code is ``sources.<target>``, whose
    ``SOURCE`` sniffs and opens it. Tried in the table's order: the first that sniffs it."""

    target: str  # the sources/ module
    what: str  # how help and refusals name it
    # The SOURCE_OPTIONS it takes (shard_rows: every source; --seed: every source that takes
    # --test-size, as the seed of the split it makes).
    takes: tuple[str, ...]


_PER_CLASS = ("classes_from", "only_listed", "limit_per_class", "test_size", "seed")
IMAGE_OPTIONS = ("alpha", "channels", "resize", "fit", "resample", "pad_value", "browser")
SOURCES = {
    "class-arrays": SourceInfo(
        "class_arrays", "a folder of one array per class (cat.npy, dog.npy, ...)", _PER_CLASS
    ),
    "class-pngs": SourceInfo(
        "class_pngs",
        "a folder of class folders of images (<class>/*.png, *.jpg, ...)",
        _PER_CLASS + IMAGE_OPTIONS,
    ),
    "class-zip": SourceInfo(
        "class_zip", "a .zip of class folders of images", _PER_CLASS + IMAGE_OPTIONS
    ),
    "output": SourceInfo("output", "any output convert reads", ("test_size",)),
}
