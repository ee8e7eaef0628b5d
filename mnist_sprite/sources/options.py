"""The values of pack's source options (``registry.SOURCE_OPTIONS``), checked once, by the
one constructor the command line and the API both call."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..bundle import default_shard_rows
from ..errors import OptionError
from ..options import check_flags, check_whole
from ..registry import SOURCE_OPTIONS
from ..split import parse_test_size

_DECLARED = {o.name: o for o in SOURCE_OPTIONS}


@dataclass(frozen=True)
class SourceOptions:
    """``--classes-from``, ``--only-listed``, ``--limit-per-class``, ``--test-size``, ``--seed``,
    ``--shard-rows``, as :meth:`given` checked them."""

    classes_from: Path | None = None
    only_listed: bool = False  # --only-listed: --classes-from names a subset, on purpose
    limit_per_class: int | None = None
    test_size: int | Decimal | None = None
    seed: int | None = None
    shard_rows: int | None = None
    class_order: tuple[str, ...] | None = None  # the classes' names, in order (as recorded)

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
            else:
                check_whole(**{name: value})
                if kind == "count" and value < 1:
                    raise OptionError(None, f"{flag} {value} is not positive", "give e.g. 1000")
                if kind == "seed" and not 0 <= value < 2**63:
                    raise OptionError(None, f"{flag} {value} is not 0 to 2**63 - 1", "give e.g. 0")
            out[name] = value
        if out.get("only_listed") and "classes_from" not in out:
            raise OptionError(
                None, "--only-listed selects the classes --classes-from lists", "add --classes-from"
            )
        return cls(**out)

    @classmethod
    def from_recorded(cls, recorded: dict[str, Any], class_names: Any) -> SourceOptions:
        """The options a pack recorded in NAME.json, to read its source again as it did."""
        if not any(k in recorded for k in ("test_size", "limit_per_class", "classes_from", "seed")):
            return cls()
        order = tuple(str(n) for n in class_names) if isinstance(class_names, list) else None
        test_size = recorded.get("test_size")
        return cls(
            limit_per_class=recorded.get("limit_per_class"),
            test_size=parse_test_size(test_size) if test_size is not None else None,
            seed=recorded.get("seed"),
            class_order=order if "classes_from" in recorded else None,
            only_listed=recorded.get("only_listed") is True,
        )

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
                out[name] = value.name if declared.kind == "path" else text
        return out
