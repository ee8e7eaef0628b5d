"""The choices and defaults of every option the command line offers, and the conversion
options they make, checked once.

Near the bottom of the package (the standard library, ``errors``, ``choices``, ``datasets``
and ``registry`` only): the command line builds its options, and answers ``--help`` and
``--version``, without importing numpy or any format.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from typing import TYPE_CHECKING, Any

from .choices import BROWSERS, DECODERS, DEFAULT_BROWSER, DRAW_ROWS, Decoder
from .datasets import SPLITS
from .errors import OptionError
from .registry import TABLE, Declared

FORMATS = tuple(TABLE)
# Every format's layouts (idx: its own files, or torchvision's DIR/MNIST/raw), "plain" first.
LAYOUTS = tuple(dict.fromkeys(layout for info in TABLE.values() for layout in info.layouts))
DTYPES = ("float32", "float64", "float16", "uint8")
CHANNELS = ("red", "rgb")
SHAPES = ("flat", "image", "channels")
LABEL_FORMATS = ("onehot", "index")
DEFAULT_TIMEOUT = 30.0  # seconds to wait for a connection or for more data
DEFAULT_RETRIES = 3  # per source, after a transient failure


def Conversion(
    name: str, kind: str, default: Any, help: str, choices: tuple[str, ...] = ()
) -> Declared:
    """One option of how a sprite becomes arrays, declared once: from it come its flag and
    help in convert, inspect and verify (``cli.conversion_options``), its check in
    :class:`Options`, and its keyword in ``load_data()`` and ``convert()`` (whose signature is
    made from this table); a Python caller's words for it come from the flag (``words.py``).
    ``kind``: "choice" (one of ``choices``), "size" (HxW), "count" (a whole number from 0),
    "seed", "flag", or "rows" (a whole number from 1)."""
    return Declared(name, kind, "", help, choices, default)


CONVERSION = (
    Conversion(
        "dtype", "choice", "float32",
        "Pixel type: floats hold v / 255 exactly as TensorFlow.js; uint8 keeps 0..255 "
        "(the default for {bytes}).", DTYPES,
    ),
    Conversion(
        "label_format", "choice", "onehot",
        "onehot: (N, 10) uint8 rows as in the label file; index: (N,) uint8 class ids "
        "(what {class_ids} hold).", LABEL_FORMATS,
    ),
    Conversion(
        "shape", "choice", "flat",
        "flat (N, 784), image (N, 28, 28) or channels (N, 28, 28, 1).", SHAPES,
    ),
    Conversion(
        "image_size", "size", None,
        "Size of one image; a sprite's width must be H*W [default: the dataset's (32x32 for "
        "cifar10), else 28x28].",
    ),
    Conversion(
        "train_size", "count", None,
        "Images in the training split [default: 55000 of 65000 (TensorFlow.js), 800 of the "
        "sample's 1000; required for other sprites].",
    ),
    Conversion(
        "split", "choice", None,
        "A named train/test split: tfjs (55,000 / 10,000, mnist/data.js), tfjs-core "
        "(floor(5/6 N), mnist-core/data.js), course-fashion (floor(1/7 N)).", tuple(SPLITS),
    ),
    Conversion(
        "channels", "choice", None,
        "red: one value per pixel, as mnist/data.js reads; rgb: red, green, blue per pixel "
        "[default: rgb for cifar10, else red].", CHANNELS,
    ),
    Conversion("shuffle", "flag", False, "Permute each split (reproducibly, see --seed)."),
    Conversion("seed", "seed", None, "Seed for --shuffle [default: 0]."),
    Conversion(
        "decoder", "choice", "auto",
        "PNG row decoder: auto/numpy (fast) or pypng (the reference, slow) to cross-check.",
        DECODERS,
    ),
    Conversion(
        "draw_rows", "rows", DRAW_ROWS,
        "Rows the browser loader draws onto its canvas at once (data.js: 5000); changes only "
        "sprites with transparency.",
    ),
    Conversion(
        "browser", "choice", DEFAULT_BROWSER,
        "Whose canvas to reproduce; changes only sprites with transparency or 16-bit samples "
        "(convert warns when the engines disagree).", BROWSERS,
    ),
)  # fmt: skip
CONVERSIONS = {o.name: o for o in CONVERSION}


def _default(name: str) -> Any:
    return CONVERSIONS[name].default


if TYPE_CHECKING:  # what mypy knows of each value; at run time the fields are CONVERSION's

    @dataclass(frozen=True)
    class _Values:
        dtype: str = _default("dtype")
        label_format: str = _default("label_format")
        shape: str = _default("shape")
        image_size: tuple[int, int] | None = _default("image_size")  # None: the dataset's
        train_size: int | None = _default("train_size")
        split: str | None = _default("split")  # a named split instead of train_size
        channels: str | None = _default("channels")  # None: the dataset's, else red
        shuffle: bool = _default("shuffle")
        seed: int | None = _default("seed")
        decoder: Decoder = _default("decoder")  # noqa: RUF009 - never run: for mypy only
        draw_rows: int = _default("draw_rows")
        browser: str = _default("browser")

else:  # one field a row of CONVERSION, with its default: an option is declared there alone
    _Values = make_dataclass(
        "_Values", [(o.name, Any, field(default=o.default)) for o in CONVERSION], frozen=True
    )


@dataclass(frozen=True)
class Options(_Values):
    """How a sprite becomes arrays, one field a row of :data:`CONVERSION`; the defaults give
    what TensorFlow.js's loader gives."""

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        """Refuse options that cannot work, once, when they are made."""
        check_flags(shuffle=self.shuffle)
        check_whole(train_size=self.train_size, seed=self.seed, draw_rows=self.draw_rows)
        for option in CONVERSION:
            value = getattr(self, option.name)
            if option.kind == "choice" and value is not None:
                check_choice(option.flag, value, option.choices)
        if self.split is not None and self.train_size is not None:
            raise OptionError(None, "--split and --train-size both given", "give one")
        if self.image_size is not None and min(self.image_size) < 1:
            h, w = self.image_size
            raise OptionError(None, f"--image-size {h}x{w} is empty", "give e.g. 28x28")
        if self.seed is not None and not self.shuffle:
            raise OptionError(None, "--seed without --shuffle has no effect", "add --shuffle")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise OptionError(
                None, f"--seed {self.seed} is not a whole number from 0 to 2**63 - 1", "give e.g. 0"
            )
        if self.train_size is not None and self.train_size < 0:
            raise OptionError(None, "--train-size is negative", "give a count of images")
        if self.draw_rows < 1:
            raise OptionError(
                None, f"--draw-rows {self.draw_rows} is not positive", "give e.g. 5000"
            )

    def recorded(self) -> dict[str, Any]:
        """The options that shape the output (the decoder does not), for provenance."""
        out = asdict(self)
        out.pop("decoder")
        if self.image_size is not None:
            out["image_size"] = "{}x{}".format(*self.image_size)
        out["seed"] = self.effective_seed
        return out

    @classmethod
    def given(cls, fmt: str = "npz", **values: Any) -> Options:
        """The one constructor the command line and the API call: each value given (None: not
        given), else ``fmt``'s default (registry's rules: uint8 class ids for IDX, say), else
        this class's. Refuses what the format cannot hold, naming the option."""
        check_choice("--format", fmt, FORMATS)
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}")
        size = values.get("image_size")
        if isinstance(size, str):
            values["image_size"] = parse_image_size(size)
        elif size is not None:
            values["image_size"] = (int(size[0]), int(size[1]))
        shaping = {k: values.pop(k, None) for k in ("dtype", "label_format", "shape")}
        given = {k: v for k, v in values.items() if v is not None}
        return cls(**given, **TABLE[fmt].rules.settled(fmt, shaping))

    @classmethod
    def from_recorded(cls, recorded: dict[str, Any]) -> Options:
        """The options an output was made with, from what :meth:`recorded` wrote.

        What a record lacks takes this class's default, so each default is stated once.
        """
        known = {f.name for f in fields(cls)} - {"decoder"}
        given = {k: v for k, v in recorded.items() if k in known}
        if given.get("image_size") is not None:
            given["image_size"] = parse_image_size(str(given["image_size"]))
        if given.get("train_size") is not None:
            given["split"] = None  # the recorded split is resolved into train_size
        if not given.get("shuffle"):
            given["seed"] = None
        return cls(**given)

    @property
    def effective_seed(self) -> int | None:
        """``--shuffle`` alone uses seed 0: the same options always give the same bytes."""
        return (0 if self.seed is None else self.seed) if self.shuffle else None


def check_flags(**flags: object) -> None:
    """Refuse a flag that is not True or False (``compress="no"`` would read as True). Only a
    Python caller can pass one, so the message is in its words."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise OptionError(None, f"{name}={value!r} is not True or False", f"give {name}=True")


def check_whole(**numbers: object) -> None:
    """Refuse a count that is not an int (``train_size="900"``), saying what to pass instead."""
    for name, value in numbers.items():
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        raise OptionError(None, f"{name}={value!r} is not a whole number", _whole_fix(name, value))


def _whole_fix(name: str, value: object) -> str:
    """The whole number meant, where one is: ``800.0``, ``"800"`` and ``800.5`` give 800."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return f"give an int, not {type(value).__name__}"
    if math.isfinite(number) and number >= 0:
        return f"give {name}={int(number)}"
    return "give a whole number of 0 or more as an int"


def check_choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(
            None, f"{flag} {value!r} is not valid", f"use one of {', '.join(choices)}"
        )


def parse_image_size(text: str, flag: str = "--image-size") -> tuple[int, int]:
    """``"28x28"`` -> (rows, columns)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise OptionError(None, f"{flag} {text!r} is not HEIGHTxWIDTH", "give e.g. 28x28")
    if flag != "--image-size" and not all(0 < int(p) <= 4096 for p in parts):
        raise OptionError(None, f"{flag} {text!r} is not 1 to 4096 each way", "give e.g. 28x28")
    return int(parts[0]), int(parts[1])
