"""Label files: one-hot rows of ``classes`` bytes, read, checked, and turned into class ids."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import LabelError, PathLike
from .files import open_source

U8 = npt.NDArray[np.uint8]
CLASSES = 10  # bytes per row in TensorFlow.js's label files: every dataset it publishes has 10


def read_onehot(
    path: PathLike,
    classes: int | None = None,
    *,
    expected_rows: int | None = None,
    root: PathLike | None = None,
) -> U8:
    """Read a label file as ``(rows, classes)`` uint8, checking every row is one-hot.

    With ``expected_rows`` (the sprite's image count), the file must hold exactly that many
    rows, checked from its size before anything else is read, and the number of classes is
    the bytes per row (10 for every TensorFlow.js dataset; other counts for packed sprites).
    Without it, rows are ``classes`` bytes (default 10). With ``root``, the file must lie
    inside that folder (checked on the open file).
    """
    with open_source(path, root) as f:
        size = os.fstat(f.fileno()).st_size
        classes = classes or _classes_of(size, expected_rows)
        _check_size(path, size, classes, expected_rows)
        data = f.read()
    if len(data) != size:
        raise LabelError(path, "the file changed while it was read", "run the command again")
    onehot = np.frombuffer(data, dtype=np.uint8).reshape(-1, classes)
    check_onehot(path, onehot)
    return onehot


def _classes_of(size: int, rows: int | None) -> int:
    """Bytes per row when a file of ``size`` bytes holds ``rows`` one-hot rows, else 10."""
    if rows and size % rows == 0 and 1 <= size // rows <= 255:
        return size // rows
    return CLASSES


def _check_size(path: PathLike, size: int, classes: int, expected_rows: int | None) -> None:
    if size == 0:
        raise LabelError(path, "the label file is empty", "re-download it")
    if size % classes:
        raise LabelError(
            path,
            f"{size:,} bytes is not a whole number of {classes}-byte one-hot rows",
            "re-download it, or check that it is the label file",
        )
    rows = size // classes
    if expected_rows is not None and rows != expected_rows:
        raise LabelError(
            path,
            f"holds {rows:,} labels but the sprite holds {expected_rows:,} images",
            "use the label file that belongs to this sprite",
        )


def bad_rows(rows: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Indices of rows that are not one-hot (a value other than 0 or 1, or not exactly one 1),
    of any dtype: the one test of a one-hot row (label files, pack's sources, inspect)."""
    ones = rows == 1
    ok = (ones | (rows == 0)).all(axis=1) & (ones.sum(axis=1) == 1)
    return np.flatnonzero(~ok)


def check_onehot(path: PathLike, onehot: U8) -> None:
    bad = bad_rows(onehot)
    if bad.size:
        i = int(bad[0])
        more = f" (and {bad.size - 1:,} more)" if bad.size > 1 else ""
        raise LabelError(
            path,
            f"row {i} is not one-hot: {list(map(int, onehot[i]))}{more}",
            "re-download the label file",
        )


def to_index(onehot: U8) -> U8:
    """Class ids (uint8, as keras' MNIST labels) from one-hot rows."""
    ids: U8 = onehot.argmax(axis=1).astype(np.uint8)
    return ids


def class_counts(onehot: U8) -> list[int]:
    """Rows per class: the one way verify and inspect count them."""
    return [int(n) for n in onehot.sum(axis=0, dtype=np.int64)]


def class_count(width: int | None, largest: int | None, default: int = 0) -> int:
    """How many classes labels hold: one-hot width, else the largest id + 1, else ``default``."""
    if width is not None:
        return width
    return largest + 1 if largest is not None else default


MAX_CLASSES = 255  # a label row holds one byte per class


def class_ids(values: npt.NDArray[Any], name: str, path: PathLike, first_row: int = 0) -> U8:
    """Class ids (uint8) from a block of an array of labels: ids ``(k,)`` or one-hot ``(k, C)``.

    Labels are exactly class ids or nothing: whole numbers 0 to 254, or rows of zeros with a
    single one. Anything else (a negative id, 0.5, NaN, a row with two ones) is refused,
    naming the array, the row and the value, never wrapped, rounded or guessed.
    """
    if values.dtype.kind not in "biuf":
        raise LabelError(path, f"{name} holds {values.dtype} values, not class ids", _LABELS_FIX)
    if values.ndim == 2:
        bad = bad_rows(values)
        if bad.size:
            i = int(bad[0])
            row = values[i].tolist()
            shown = row if len(row) <= 12 else [*row[:12], "..."]
            raise LabelError(
                path, f"{name} row {first_row + i:,} is not one-hot: {shown}", _LABELS_FIX
            )
        ids: U8 = values.argmax(axis=1).astype(np.uint8)
        return ids
    whole = np.isfinite(values) & (values == np.trunc(values)) if values.dtype.kind == "f" else True
    bad = np.flatnonzero(~(whole & (values >= 0) & (values < MAX_CLASSES)))
    if bad.size:
        i = int(bad[0])
        raise LabelError(
            path,
            f"{name} row {first_row + i:,} is {values[i].item()!r}, not a class id 0 to "
            f"{MAX_CLASSES - 1}",
            _LABELS_FIX,
        )
    return values.astype(np.uint8)


_LABELS_FIX = "give whole-number class ids, or one-hot rows of zeros and a single one"


# A file is taken for a label file, perhaps a damaged one, when most of its first rows are
# one-hot (random bytes or text almost never are): this many bytes of it are looked at.
LABEL_HEAD = 255 * 10_000 // 10


def label_classes(head: bytes, size: int) -> int | None:
    """The bytes per row of a label file whose first bytes are ``head``: 10 when most of its
    rows are one-hot at 10 (TensorFlow.js's, perhaps damaged), else the one count from 2 to
    255 at which every row seen is one-hot (a pack's label file); None for anything else."""
    for classes in (CLASSES, *(c for c in range(2, 256) if c != CLASSES)):
        if not size or size % classes or len(head) < classes:
            continue
        rows = np.frombuffer(head[: len(head) // classes * classes], np.uint8)
        bad = bad_rows(rows.reshape(-1, classes)).size
        if (bad * 2 < rows.size // classes) if classes == CLASSES else bad == 0:
            return classes
    return None
