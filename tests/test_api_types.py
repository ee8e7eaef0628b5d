"""Every keyword of every public function, given a value of a wrong type, raises the package's
own error naming the keyword: never Python's TypeError or a crash deeper in. The keywords come
from the signatures (and, for ``**``, from what each function documents it forwards), so a new
keyword is covered when it is added."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mnist_sprite
from mnist_sprite.registry import SOURCE_OPTIONS

PUBLIC = {name: getattr(mnist_sprite, name) for name in ("load_data", "convert", "pack", "fetch")}

# Values no annotation of the API admits: not a str, number, bool, None, path, callable or
# (height, width) pair.
WRONG = st.one_of(
    st.just(object()),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=4),
    st.complex_numbers(allow_nan=False).filter(lambda z: z.imag != 0),
    st.tuples(st.integers(), st.integers(), st.integers()),
    st.frozensets(st.integers(), max_size=2),
)


def keywords(function: Callable[..., Any]) -> list[str]:
    """Every keyword ``function`` takes: its parameters, and what its ``**`` forwards."""
    names = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is not p.VAR_KEYWORD
    ]
    if function is PUBLIC["convert"]:  # load_data's keyword arguments, as its docstring says
        names += [n for n in keywords(PUBLIC["load_data"]) if n not in names]
    if function is PUBLIC["pack"]:  # the source options of registry.SOURCE_OPTIONS
        names += [o.name for o in SOURCE_OPTIONS]
    return names


def required(name: str, tmp: Path) -> dict[str, Any]:
    """Arguments that would make the call valid, but for the one under test."""
    return {
        "load_data": {"dataset": "sample"},
        "convert": {"out": str(tmp / "o.npz"), "dataset": "sample"},
        "pack": {"source": str(tmp / "src.npz"), "out": str(tmp / "web")},
        "fetch": {"dataset": "sample"},
    }[name]


CASES = [(name, kw) for name, f in PUBLIC.items() for kw in keywords(f)]


def test_every_public_keyword_is_listed() -> None:
    assert {"image_size", "train_size", "browser"} <= set(keywords(PUBLIC["load_data"]))
    assert {"test_size", "seed", "classes_from", "workers"} <= set(keywords(PUBLIC["pack"]))
    assert {"layout", "shard_rows", "dtype"} <= set(keywords(PUBLIC["convert"]))


@pytest.mark.parametrize(("function", "keyword"), CASES, ids=[f"{f}-{k}" for f, k in CASES])
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=WRONG)
def test_a_wrong_type_is_the_packages_error_naming_the_keyword(
    tmp_path: Path, function: str, keyword: str, value: object
) -> None:
    tmp = tmp_path
    args = {**required(function, tmp), keyword: value}
    with pytest.raises(mnist_sprite.MnistSpriteError) as info:
        PUBLIC[function](**args)
    assert f"{keyword}=" in str(info.value), str(info.value)
    assert not any(tmp.iterdir())  # refused before anything was written


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"image_size": 28}, "image_size=28 is not a (height, width) tuple of ints, a str or None"),
        ({"image_size": (28,)}, "image_size=(28,) is not a (height, width) tuple of ints"),
        ({"image_size": (28, "28")}, "image_size=(28, '28') is not a (height, width) tuple"),
        ({"browser": None}, "browser=None is not a str"),
        ({"cache_dir": 3}, "cache_dir=3 is not a path (str or os.PathLike) or None"),
        ({"train_size": True}, "train_size=True is not a whole number"),
        ({"bogus": 1}, "load_data() takes no keyword bogus"),
        ({"trian_size": 1}, "load_data() takes no keyword trian_size; did you mean train_size?"),
    ],
)
def test_load_data_names_the_keyword_it_refuses(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(mnist_sprite.OptionError) as info:
        mnist_sprite.load_data("sample", **kwargs)
    assert str(info.value).startswith(says), str(info.value)


def test_a_missing_argument_is_the_packages_error() -> None:
    with pytest.raises(mnist_sprite.OptionError, match=r"convert\(\): missing a required argument"):
        mnist_sprite.convert()  # type: ignore[call-arg]


def test_convert_options_are_declared_once_in_options_conversion() -> None:
    """Each conversion option comes from options.CONVERSION: convert's --flag (with its help
    and choices), Options' field and default, and load_data()'s keyword and default."""
    import dataclasses

    import click

    from mnist_sprite.cli import cli
    from mnist_sprite.options import CONVERSION, Options

    declared = {o.name: o for o in CONVERSION}
    fields = {f.name: f.default for f in dataclasses.fields(Options)}
    assert fields == {name: o.default for name, o in declared.items()}
    params = inspect.signature(mnist_sprite.load_data).parameters
    made = {n: p.default for n, p in params.items() if n in declared}
    assert made == {name: o.default for name, o in declared.items()}
    options = {p.opts[0]: p for p in cli.commands["convert"].params if isinstance(p, click.Option)}
    for o in CONVERSION:
        assert o.flag in options and options[o.flag].help
        if o.choices:
            assert tuple(options[o.flag].type.choices) == o.choices  # type: ignore[attr-defined]
