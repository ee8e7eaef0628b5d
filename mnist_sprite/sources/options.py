"""The values of pack's source options (``registry.SOURCE_OPTIONS``), checked once, by the
one constructor the command line and the API both call."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import imaging
from ..bundle import default_shard_rows
from ..errors import OptionError
from ..options import check_flags, check_whole, parse_image_size
from ..registry import IMAGE_OPTIONS, SOURCE_OPTIONS
from ..split import DEFAULT, TestSize, parse_test_size

_DECLARED = {o.name: o for o in SOURCE_OPTIONS}


@dataclass(frozen=True)
class SourceOptions:
    """``--classes-from``, ``--only-listed``, ``--limit-per-class``, ``--test-size``, ``--seed``,
    ``--shard-rows``, as :meth:`given` checked them."""

    classes_from: Path | None = None
    only_listed: bool = False  # --only-listed: --classes-from names a subset, on purpose
    limit_per_class: int | None = None
    test_size: TestSize | None = None
    seed: int | None = None
    shard_rows: int | None = None
    alpha: str | None = None
    channels: str | None = None
    resize: tuple[int, int] | None = None
    fit: str | None = None
    resample: str | None = None
    pad_value: int | None = None
    browser: str | None = None
    class_order: tuple[str, ...] | None = None  # the classes' names, in order (as recorded)
    # A source with no split of its own gets the default test part, unless one is given; not
    # when reading a recorded pack's source again (a pack before that default made none).
    default_test_part: bool = True

    @classmethod
    def given(cls, **values: Any) -> SourceOptions:
        """The options, each checked as its declaration's kind says; None (or False): not
        given. A keyword that names no declared option is Python's TypeError."""
        unknown = sorted(set(values) - set(_DECLARED))
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}")
        out: dict[str, Any] = {}
        for name, value in values.items():
            kind, flag = _DECLARED[name].kind, _DECLARED[name].flag
            if value is None or value is False:
                continue
            if kind == "flag":
                check_flags(**{name: value})
            elif kind == "path":
                value = Path(value)
            elif kind == "size":
                value = parse_test_size(value)
            elif kind == "choice":
                choices = _DECLARED[name].choices
                if value not in choices:
                    raise OptionError(None, f"{flag} {value!r} is not one of {', '.join(choices)}",
                                      f"give {flag} {choices[0]}")  # fmt: skip
            elif kind == "shape":
                value = parse_image_size(value, flag) if isinstance(value, str) else tuple(value)
            elif kind == "byte":
                check_whole(**{name: value})
                if not 0 <= value <= 255:
                    raise OptionError(None, f"{flag} {value} is not 0 to 255", "give e.g. 0")
            else:
                check_whole(**{name: value})
                if kind == "count" and value < 1:
                    raise OptionError(None, f"{flag} {value} is not positive", "give e.g. 1000")
                if kind == "seed" and not 0 <= value < 2**63:
                    raise OptionError(None, f"{flag} {value} is not 0 to 2**63 - 1", "give e.g. 0")
            out[name] = value
        if out:
            imaging.check(**{k: v for k, v in out.items() if k in IMAGE_OPTIONS and k != "browser"})
        if out.get("only_listed") and "classes_from" not in out:
            raise OptionError(
                None, "--only-listed selects the classes --classes-from lists", "add --classes-from"
            )
        return cls(**out)

    @property
    def recipe(self) -> imaging.Recipe:
        """What pack does to each image of an image folder (``imaging``)."""
        given = {n: getattr(self, n) for n in IMAGE_OPTIONS if getattr(self, n) is not None}
        engine = given.pop("browser", None)
        recipe = imaging.check(**given)
        return recipe if engine is None else dataclasses.replace(recipe, engine=engine)

    @classmethod
    def from_recorded(cls, recorded: dict[str, Any], class_names: Any) -> SourceOptions:
        """The options a pack recorded in NAME.json, to read its source again as it did. A
        pack that recorded no test size used the source's own split, or made none (packs
        before the default test part)."""
        order = tuple(str(n) for n in class_names) if isinstance(class_names, list) else None
        test_size = recorded.get("test_size")
        image = {n: recorded[n] for n in IMAGE_OPTIONS if recorded.get(n) is not None}
        if isinstance(image.get("resize"), str):
            image["resize"] = parse_image_size(image["resize"], "--resize")
        return cls(
            limit_per_class=recorded.get("limit_per_class"),
            test_size=parse_test_size(test_size) if test_size is not None else None,
            default_test_part=False,
            seed=recorded.get("seed"),
            class_order=order if "classes_from" in recorded else None,
            only_listed=recorded.get("only_listed") is True,
            **image,
        )

    def with_default_test_part(self) -> SourceOptions:
        """For a source with no split of its own: the default test part, unless one is given."""
        if self.test_size is not None or not self.default_test_part:
            return self
        return dataclasses.replace(self, test_size=DEFAULT)

    def given_names(self) -> list[str]:
        """The declared options given (shard_rows aside: every source takes it)."""
        return [name for name in self.recorded() if name != "shard_rows"]

    def rows_per_shard(self, height: int, width: int) -> int:
        """Rows per shard: as given, else the most within the browser's and convert's limits."""
        if self.shard_rows is not None:
            return self.shard_rows
        return default_shard_rows(height, width)

    def recorded(self) -> dict[str, Any]:
        """For NAME.json's provenance: what was given (nothing for an ordinary source), by the
        declarations' names; a --classes-from list by its file's name, a --test-size as text."""
        out: dict[str, Any] = {}
        for name, declared in _DECLARED.items():
            value = getattr(self, name)
            if value is not None and value is not False:
                text = str(value) if declared.kind == "size" else value
                if declared.kind == "shape":
                    text = f"{value[0]}x{value[1]}"
                out[name] = value.name if declared.kind == "path" else text
        return out
