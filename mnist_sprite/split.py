"""A stratified train/test split for a source that has none (a folder of one array per class).

The rule, stated once here and in README:

- ``--test-size N`` asks for N test images in all; ``--test-size F`` (0 < F < 1) for
  ``round(F * total)`` of them (halves round up), computed exactly on the decimal F.
- Each class gets ``floor(T * n_c / total)``: its share, rounded down. The images still owed
  (fewer than the number of classes) go one each to the classes with the largest remainders
  ``T * n_c mod total``; equal remainders go to the class that comes first.
- A class left with no test image, or no training image, is refused, naming the class.

Without ``--test-size``, a source with no split of its own (class folders, one array per
class) gets the default test part: ``DEFAULT_TEST_SIZE`` of each class, rounded half up, and
at least one image of each (a class of one image is refused, naming ``--test-size 0``).

Which of a class's images go to test, and the order within each part, come from ``--seed``
(numpy's PCG64): each class's rows are permuted, the first of them are its test images, and
then the train part and the test part are each permuted, so that a loader which takes the
first ``NUM_TRAIN`` rows sees every class in both parts, evenly mixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import numpy.typing as npt

from .errors import OptionError
from .registry import DEFAULT_TEST_SIZE

Indices = npt.NDArray[np.int64]
_DEFAULT_WORD = "default"


@dataclass(frozen=True)
class PerClass:
    """The default test part: ``fraction`` of each class, at least one image."""

    fraction: Decimal

    def __str__(self) -> str:
        return _DEFAULT_WORD  # as NAME.json records it


TestSize = int | Decimal | PerClass
DEFAULT = PerClass(Decimal(DEFAULT_TEST_SIZE))


def parse_test_size(value: str | int | float | PerClass) -> TestSize:
    """``--test-size``: a whole count (``5000``, 0 for none) or a fraction (``0.1``); or the
    default, as recorded."""
    if isinstance(value, PerClass) or value == _DEFAULT_WORD:
        return DEFAULT
    if isinstance(value, bool):
        raise OptionError(None, f"--test-size {value!r} is not a count or a fraction", "give 0.1")
    if isinstance(value, int):
        count = value
    else:
        text = str(value).strip()
        try:
            exact = Decimal(text)
        except InvalidOperation:
            raise OptionError(
                None, f"--test-size {value!r} is not a count or a fraction", "give e.g. 0.1 or 5000"
            ) from None
        if not exact.is_finite():
            raise OptionError(None, f"--test-size {value!r} is not finite", "give e.g. 0.1")
        if exact != exact.to_integral_value() or "." in text or "e" in text.lower():
            if not 0 < exact < 1:
                raise OptionError(
                    None, f"--test-size {value} is not a fraction between 0 and 1", "give e.g. 0.1"
                )
            return exact
        count = int(exact)
    if count < 0:
        raise OptionError(None, f"--test-size {count} is negative", "give e.g. 0.1, 5000 or 0")
    return count


def class_test_counts(counts: list[int], test_size: TestSize, names: list[str]) -> list[int]:
    """Test images per class, by the rules in this module's docstring."""
    if isinstance(test_size, PerClass):
        return _default_counts(counts, test_size.fraction, names)
    total = sum(counts)
    if isinstance(test_size, Decimal):
        wanted = int((test_size * total).to_integral_value(rounding=ROUND_HALF_UP))
    else:
        wanted = test_size
    if wanted >= total:
        raise OptionError(
            None,
            f"--test-size {test_size} asks for {wanted:,} test images of the {total:,} there are",
            "leave some for training",
        )
    shares = [wanted * n // total for n in counts]
    remainders = [wanted * n % total for n in counts]
    owed = wanted - sum(shares)
    for c in sorted(range(len(counts)), key=lambda c: (-remainders[c], c))[:owed]:
        shares[c] += 1
    for c, (n, k) in enumerate(zip(counts, shares, strict=True)):
        if k == 0:
            raise OptionError(
                None,
                f"--test-size {test_size} leaves class {names[c]!r} ({n:,} images) with no "
                "test image",
                "give a larger --test-size, or --limit-per-class to even out the classes",
            )
        if k == n:
            raise OptionError(
                None,
                f"--test-size {test_size} leaves class {names[c]!r} with no training image",
                "give a smaller --test-size",
            )
    return shares


def _default_counts(counts: list[int], fraction: Decimal, names: list[str]) -> list[int]:
    tests = []
    for name, n in zip(names, counts, strict=True):
        if n < 2:
            raise OptionError(
                None,
                f"class {name!r} has {n} image{'' if n == 1 else 's'}, too few for the default "
                f"test part ({fraction} of each class, at least one image)",
                "give --test-size 0 for no test part, or more images of it",
            )
        share = int((fraction * n).to_integral_value(rounding=ROUND_HALF_UP))
        tests.append(min(max(share, 1), n - 1))
    return tests


def split_rows(counts: list[int], tests: list[int] | None, seed: int) -> tuple[Indices, Indices]:
    """(train, test): global row numbers (class ``c``'s row ``r`` is ``sum(counts[:c]) + r``)
    in the order they are packed. Without ``tests`` every row is training."""
    starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    groups = [np.arange(starts[c], starts[c + 1], dtype=np.int64) for c in range(len(counts))]
    return split_groups(groups, tests, seed)


def split_groups(
    groups: list[Indices], tests: list[int] | None, seed: int
) -> tuple[Indices, Indices]:
    """(train, test) of row numbers, each class's rows given as ``groups[c]`` in source order."""
    if not 0 <= seed < 2**63:
        raise OptionError(None, f"--seed {seed} is not 0 to 2**63 - 1", "give e.g. 0")
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for c, rows in enumerate(groups):
        k = 0 if tests is None else tests[c]
        order = rows[rng.permutation(rows.size)]
        test_parts.append(np.sort(order[:k]))
        train_parts.append(np.sort(order[k:]))
    empty = np.empty(0, np.int64)
    train = np.concatenate(train_parts) if train_parts else empty
    test = np.concatenate(test_parts) if test_parts else empty
    return train[rng.permutation(train.size)], test[rng.permutation(test.size)]
