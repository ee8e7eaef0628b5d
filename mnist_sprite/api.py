"""The Python API: load_data(), convert(), pack() and fetch(), in a Python caller's words.

Each takes the command's options as keyword arguments and raises a subclass of
:class:`~mnist_sprite.errors.MnistSpriteError` whose message names parameters, not flags.
"""

from __future__ import annotations

import collections.abc
import difflib
import functools
import inspect
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from .errors import OptionError, PathLike
from .options import CONVERSION, Options, check_flags, check_whole
from .packing import pack as pack_files
from .pipeline import Result, Sources, resolve_sources, to_arrays, write_output
from .registry import SOURCE_OPTIONS
from .words import speaking, speaking_python

Split = tuple[npt.NDArray[Any], npt.NDArray[np.uint8]]
F = TypeVar("F", bound=Callable[..., Any])

# -- every keyword of every public function checked against its annotation -----------------


def _conforms(value: object, hint: Any) -> bool:
    """Whether ``value`` is of the annotated type (the few kinds the API's signatures use)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):  # a bool is not a number here: train_size=True is a mistake
        return isinstance(value, (int, hint)) and not isinstance(value, bool)
    if origin is tuple:
        arms = typing.get_args(hint)
        return (
            isinstance(value, tuple)
            and len(value) == len(arms)
            and all(_conforms(v, a) for v, a in zip(value, arms, strict=True))
        )
    if origin is collections.abc.Callable:
        return callable(value)
    return isinstance(value, origin or hint)


def _describe(hint: Any) -> str:
    """How a message names an annotated type: ``a str or None``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        arms = typing.get_args(hint)
        said = [_describe(a) for a in arms]
        if str in arms and any(typing.get_origin(a) is os.PathLike for a in arms):
            rest = [a for a in arms if a is not str and typing.get_origin(a) is not os.PathLike]
            said = ["a path (str or os.PathLike)", *map(_describe, rest)]
        return ", ".join(said[:-1]) + " or " + said[-1] if len(said) > 1 else said[0]
    if origin is tuple:
        return "a (height, width) tuple of ints"
    if origin is collections.abc.Callable:
        return "a callable"
    return {
        type(None): "None",
        bool: "True or False",
        int: "an int",
        float: "a number",
        str: "a str",
    }.get(hint, getattr(hint, "__name__", str(hint)))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def checked(function: F, extra: dict[str, Any] | None = None) -> F:
    """``function`` with each argument checked against its annotation first: a wrong type, an
    unknown keyword or a missing argument is an OptionError naming it, never Python's own
    TypeError (or a crash deeper in). ``extra``: the annotations of what its ``**`` takes."""
    signature = inspect.signature(function)
    hints = {
        name: hint
        for name, hint in typing.get_type_hints(function, localns={"os": os}).items()
        if name != "return"
    }
    named = [p.name for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    rest = next((p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)
    extra = extra or {}
    known = [*named, *extra]
    where = f"{function.__name__}()"

    @functools.wraps(function)
    def api(*args: Any, **kwargs: Any) -> Any:
        for name in kwargs:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                fix = f"did you mean {close[0]}?" if close else f"give one of {', '.join(known)}"
                raise OptionError(None, f"{where} takes no keyword {name}", fix)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise OptionError(None, f"{where}: {e}", "see its docstring") from None
        values = {k: v for k, v in bound.arguments.items() if k != rest}
        values.update(bound.arguments.get(rest, {}) if rest else {})
        for name, value in values.items():
            hint = hints.get(name, extra.get(name, Any))
            if not _conforms(value, hint):
                arms = set(typing.get_args(hint) or (hint,)) - {type(None)}
                if arms == {bool}:  # the established words, with the fix they give
                    check_flags(**{name: value})
                if arms == {int}:
                    check_whole(**{name: value})
                raise OptionError(
                    None, f"{name}={_shown(value)} is not {_describe(hint)}", "give one of those"
                )
        return function(*args, **kwargs)

    return typing.cast(F, api)


def _keywords(function: Callable[..., Any]) -> dict[str, Any]:
    """The annotations of ``function``'s keyword-only parameters."""
    hints = typing.get_type_hints(function, localns={"os": os})
    parameters = inspect.signature(function).parameters.values()
    return {p.name: hints.get(p.name, Any) for p in parameters if p.kind is p.KEYWORD_ONLY}


# What each kind of pack's source options takes (registry.SOURCE_OPTIONS declares the kinds).
_SOURCE_KINDS: dict[str, Any] = {
    "path": str | os.PathLike[str] | None,
    "flag": bool,
    "count": int | None,
    "seed": int | None,
    "size": int | float | str | None,
    "choice": str | None,
    "shape": str | tuple[int, int] | None,
    "byte": int | None,
}


def _read(dataset: str | None, fmt: str, args: dict[str, Any]) -> tuple[Sources, Options]:
    """The sources and the :class:`Options` that :func:`load_data`'s keyword arguments give
    (``args``: its ``locals()``, or what :func:`convert` was given besides its own)."""
    where = {k: args.pop(k, None) for k in ("sprite", "labels", "cache_dir")}
    offline = args.pop("offline", False)
    check_flags(offline=offline)
    options = Options.given(fmt, **args)
    return resolve_sources(dataset, **where, offline=offline), options


# What each kind of conversion option takes (options.CONVERSION declares the options); None
# too where the option's default is None (not given).
_CONVERSION_KINDS: dict[str, Any] = {
    "choice": str,
    "size": tuple[int, int] | str,
    "count": int,
    "seed": int,
    "flag": bool,
    "rows": int,
}
_CONVERTING = {
    o.name: _CONVERSION_KINDS[o.kind] | None if o.default is None else _CONVERSION_KINDS[o.kind]
    for o in CONVERSION
}


def _with_conversion(function: F) -> F:
    """``function`` (whose ``**options`` are the conversion options) with a signature that
    names each option of ``options.CONVERSION``, its default and its type, as ``help()`` and
    editors show it; each is checked by :func:`checked` against the same table."""
    signature = inspect.signature(function)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    made = [
        inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default,
                          annotation=_CONVERTING[o.name])
        for o in CONVERSION
    ]  # fmt: skip
    wrapped = checked(function, extra=_CONVERTING)
    wrapped.__signature__ = signature.replace(parameters=[*own, *made])  # type: ignore[attr-defined]
    return wrapped


@_with_conversion
def load_data(
    dataset: str | None = None,
    *,
    sprite: PathLike | None = None,
    labels: PathLike | None = None,
    cache_dir: PathLike | None = None,
    offline: bool = False,
    **options: Any,
) -> tuple[Split, Split]:
    """Return ``(x_train, y_train), (x_test, y_test)``, as ``keras.datasets.mnist.load_data()``.

    By default the arrays are TensorFlow.js's: float32 pixels ``v / 255`` of shape
    ``(N, 784)`` and one-hot uint8 labels of shape ``(N, 10)``, 55,000 train and 10,000 test.
    ``dataset`` is ``"mnist"`` (the default), ``"sample"`` (1,000 digits shipped with the
    package, 800 / 200), ``"fashion-mnist"`` or ``"cifar10"`` (RGB unless ``channels="red"``;
    give ``split=`` or ``train_size=``), or ``"mnist-original"`` / ``"fashion-mnist-original"``
    (the four published IDX files: 60,000 / 10,000; ``split="tfjs"`` gives the sprite's).
    Pass ``sprite=`` and ``labels=`` instead to read files
    of your own. Missing dataset files are fetched into the cache unless ``offline``.

    ``options`` are convert's options of how a sprite becomes arrays, by their Python names
    (``dtype=``, ``label_format=``, ``shape=``, ``image_size=``, ``train_size=``, ...: the
    signature lists each, from ``options.CONVERSION``, and ``mnist-sprite convert --help``
    says what each does).
    """
    args = {"sprite": sprite, "labels": labels, "cache_dir": cache_dir, "offline": offline}
    with speaking_python():
        sources, settled = _read(dataset, "npz", {**args, **options})
        arrays = to_arrays(sources, settled)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


# convert()'s ``**options``: load_data()'s keywords, sources and conversion options alike.
_LOADING = {name: hint for name, hint in _keywords(load_data).items() if name not in _CONVERTING}


@functools.partial(checked, extra={**_LOADING, **_CONVERTING})
def convert(
    out: PathLike,
    dataset: str | None = None,
    *,
    format: str = "npz",
    compress: bool = False,
    layout: str = "plain",
    force: bool = False,
    shard_rows: int | None = None,
    **options: Any,
) -> Result:
    """Write what ``mnist-sprite convert`` writes to ``out``; return what was written.

    ``out`` is a file for a file format such as npz, else a folder; ``format``, ``compress``,
    ``layout``, ``force`` and ``shard_rows`` are the command's options, and ``options`` are
    :func:`load_data`'s keyword arguments (``sprite=``, ``dtype=``, ``shuffle=``, ...).
    ``dtype``, ``label_format`` and ``shape`` default to the format's rules
    (``registry.TABLE``: float32 one-hot flat for npz, uint8 class ids for idx, say).
    """
    with speaking_python():
        check_flags(compress=compress, force=force)
        sources, settled = _read(dataset, format, options)
        return write_output(
            sources,
            out,
            options=settled,
            fmt=format,
            compress=compress,
            layout=layout,
            force=force,
            shard_rows=shard_rows,
        )


def _without(function: F, *names: str) -> F:
    """``function`` whose signature leaves out ``names``: what only the command line passes
    (pack's ``reader``, the cached original files of ``--dataset``)."""

    @functools.wraps(function)
    def public(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.name not in names]
    public.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    return public  # type: ignore[return-value]


# As the command: pack.pack itself, checking its arguments, with errors in Python's words.
pack = checked(
    speaking(_without(pack_files, "reader")),
    extra={o.name: _SOURCE_KINDS[o.kind] for o in SOURCE_OPTIONS},
)


@checked
def fetch(
    dataset: str = "mnist", *, cache_dir: PathLike | None = None, offline: bool = False
) -> tuple[Path, ...]:
    """The paths of ``dataset``'s files, downloaded and verified if missing: its sprite and
    label file, or (mnist-original, fashion-mnist-original) its four IDX files."""
    with speaking_python():
        sources = resolve_sources(dataset, cache_dir=cache_dir, offline=offline)
    return tuple(sources.files().values())
