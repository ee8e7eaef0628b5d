"""The stratified split: each class's share, the remainder rule, the seed."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from mnist_sprite.errors import OptionError
from mnist_sprite.split import class_test_counts, parse_test_size, split_rows


def test_test_size_is_a_count_or_a_fraction() -> None:
    assert parse_test_size("5000") == 5000 and parse_test_size(12) == 12
    assert parse_test_size("0.1") == Decimal("0.1") and parse_test_size(0.25) == Decimal("0.25")
    assert parse_test_size("0") == 0  # none
    for bad in ("-3", "1.0", "1.5", "nan", "ten", True):
        with pytest.raises(OptionError):
            parse_test_size(bad)  # type: ignore[arg-type]


def test_each_class_gets_its_share_and_the_largest_remainders_the_rest() -> None:
    # 3 of 10: shares 1.5, 0.9, 0.6 -> floors 1, 0, 0; one owed, to the largest remainder.
    assert class_test_counts([5, 3, 2], 3, ["a", "b", "c"]) == [1, 1, 1]
    # Equal remainders go to the class that comes first.
    assert class_test_counts([4, 4, 4], 4, ["a", "b", "c"]) == [2, 1, 1]
    # A fraction rounds half up on the exact decimal: 0.1 of 375 is 37.5 -> 38.
    assert sum(class_test_counts([100, 100, 100, 75], Decimal("0.1"), list("abcd"))) == 38


def test_a_class_left_without_a_test_image_is_named() -> None:
    with pytest.raises(OptionError, match="'rare'"):
        class_test_counts([1000, 4], Decimal("0.1"), ["common", "rare"])


def test_a_class_left_without_a_training_image_is_named() -> None:
    with pytest.raises(OptionError, match="'one'"):
        class_test_counts([1, 9], 5, ["one", "b"])


def test_split_is_a_partition_stratified_and_fixed_by_the_seed() -> None:
    counts = [50, 30, 20]
    tests = class_test_counts(counts, Decimal("0.2"), ["a", "b", "c"])
    train, test = split_rows(counts, tests, seed=7)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    cls = np.searchsorted([0, 50, 80, 100], test, side="right") - 1
    assert np.bincount(cls).tolist() == tests == [10, 6, 4]
    again = split_rows(counts, tests, seed=7)
    other = split_rows(counts, tests, seed=8)
    assert all((a == b).all() for a, b in zip((train, test), again, strict=True))
    assert not (train == other[0]).all()
    # Shuffled within each part: not class by class.
    assert (np.diff(np.searchsorted([0, 50, 80, 100], train, side="right")) < 0).any()
