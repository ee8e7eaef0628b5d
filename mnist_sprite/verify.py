"""Checks that sources and outputs are intact and correct, and a report that names what differs.

Sources: the PNG decodes completely (CRCs, rows, zlib end), its pixels match the dataset's
pinned digest, the label file matches its digest, every row is one-hot, the class counts are
the published ones. An output: every array equals what convert writes from these sources with
the options recorded in the output (or the defaults, said so), compared as the pipeline
produces it, so nothing is held whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import datasets
from .bundle import Parsed, ShardedPng, parse
from .datasets import Dataset, Originals
from .errors import MnistSpriteError, OptionError, PathLike, SourceError, command
from .formats.base import ARRAY_NAMES, ArraySink, unlisted
from .inspection import SourceFacts, sha256_or_none, source_facts
from .labels import U8, class_counts, read_onehot
from .pipeline import (
    Options,
    Plan,
    Sources,
    explicit_sources,
    open_input,
    plan_conversion,
    run_into,
    to_arrays,
)
from .reading import Output

SCHEMA = 1
_NO_PINNED = "these files match no known dataset: no pinned digest to check them against"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }

    def render(self, failed_only: bool = False) -> str:
        lines = [
            f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}"
            for c in self.checks
            if not (failed_only and c.ok)
        ]
        failed = sum(not c.ok for c in self.checks)
        lines.append(
            f"verified: all {len(self.checks)} checks pass"
            if not failed
            else f"FAILED: {failed} of {len(self.checks)} checks"
        )
        return "\n".join(lines)


def _dataset_sources(dataset: str | None, cache_dir: PathLike | None) -> Sources:
    """A known dataset's files, as they are: a cached dataset is not re-fetched or repaired."""
    ds = datasets.get(dataset)
    paths = datasets.cached_files(ds, cache_dir)
    return Sources(paths["sprite"], paths["labels"], ds)


def sources_of(
    output: PathLike, prov: dict[str, Any] | None, cache_dir: PathLike | None
) -> Sources:
    """The files ``output`` was made from, by the rules convert followed, from its provenance:
    the known dataset it records, else the known dataset its recorded digests are (by the table
    of known digests, or the digests recorded in the cache), else the files at its recorded
    paths if they still have the recorded digests. An output with no provenance is checked
    against the default dataset (the report says so)."""
    if prov is None:
        return _dataset_sources(None, cache_dir)
    recorded = prov.get("sources")
    recorded = recorded if isinstance(recorded, dict) else {}
    entries: dict[str, dict[str, Any]] = {}
    for role in ("sprite", "labels"):  # each recorded source's name, sha256 and path
        entry = recorded.get(role)
        entries[role] = entry if isinstance(entry, dict) else {}
    digests = {
        role: e.get("sha256") if isinstance(e.get("sha256"), str) else None
        for role, e in entries.items()
    }
    found = datasets.named_in(prov) or datasets.identify_pair(
        digests["sprite"], digests["labels"], cache_dir
    )
    if found is not None:
        return _dataset_sources(found.name, cache_dir)
    paths: dict[str, Path] = {}
    for role, entry in entries.items():
        path = entry.get("path")
        if isinstance(path, str) and digests[role] and sha256_or_none(Path(path)) == digests[role]:
            paths[role] = Path(path)
    if len(paths) == 2:
        return Sources(paths["sprite"], paths["labels"])
    names = " and ".join(str(e.get("name")) for e in entries.values() if e.get("name"))
    raise OptionError(
        output,
        f"was made from files that are no known dataset's{f' ({names})' if names else ''}, "
        "and they are not at the paths it records with the digests it records",
        "give them with --sprite and --labels",
    )


def verify(
    output: PathLike | None = None,
    *,
    sprite: PathLike | None = None,
    labels: PathLike | None = None,
    dataset: str | None = None,
    cache_dir: PathLike | None = None,
    options: Options | None = None,
    image_size: tuple[int, int] | None = None,
    train_size: int | None = None,
    split: str | None = None,
) -> Report:
    """Check the sources, and ``output`` against them; every finding is in the report.

    The dataset is the one named, else the one an output records, else the one any source
    identifies by a pinned digest (sprite file, sprite pixels or label file): then every
    source is checked against it. ``options`` (image size, split) are checked as convert
    checks them; an output's recorded options are used where none are given.
    """
    report, prov, fmt = Report(), None, "npz"
    if output is not None:
        with Output(output) as out:
            prov, fmt = out.provenance(), out.kind
    explicit = explicit_sources(dataset, sprite, labels)
    named = datasets.get_any(dataset) if dataset is not None else None
    if named is None and explicit is None and output is not None:
        named = datasets.ALL.get(str((prov or {}).get("dataset")))
    if isinstance(named, Originals):  # the original IDX files, and an output made from them
        options = options or _options_of(prov, None, output)
        if prov is not None:  # checked with what it was made with, which other options refuse
            recorded = prov.get("options")
            made = recorded.get("split") if isinstance(recorded, dict) else None
            _refuse_other_options(output, options, image_size, train_size)
            if split is not None and split != made:
                raise OptionError(
                    output,
                    f"was made with {f'--split {made}' if made else 'no --split'}, not {split}",
                    "drop --split: verify checks an output with the options it records",
                )
            if made == "tfjs":  # the rows it leaves out, not only its training count
                options = dataclasses.replace(options, train_size=None, split="tfjs")
        elif train_size is not None or split is not None:
            options = dataclasses.replace(options, train_size=train_size, split=split)
        if image_size is not None:
            options = dataclasses.replace(options, image_size=image_size)
        return _verify_originals(report, named, output, prov, options, cache_dir)
    if explicit is not None:
        sources = explicit
    elif output is not None and dataset is None:
        sources = sources_of(output, prov, cache_dir)
    else:
        sources = _dataset_sources(dataset, cache_dir)
    # Without provenance, an output is checked against its format's defaults (uint8 class
    # ids for IDX, CSV and PNG folders), which a torchvision raw folder, say, was made with.
    options = options or _options_of(prov, None if prov else Options.given(fmt), output)
    if prov is not None:  # an output is checked with what it was made with, not other options
        _refuse_other_options(output, options, image_size, train_size)
    if image_size is not None:
        options = dataclasses.replace(options, image_size=image_size)
    if train_size is not None or split is not None:
        options = dataclasses.replace(options, train_size=train_size, split=split)
    with contextlib.ExitStack() as stack:  # the facts, each file read once; then the rules
        facts = source_facts(sources.sprite, sources.labels, stack)
        digests, pixels = facts.sha256, facts.pixels_sha256
        _check_sprite_intact(report, sources, facts)
        given = sources.dataset if isinstance(sources.dataset, Dataset) else None
        known = given or _identify(report, digests, pixels)
        if known is not None:
            cached = sources.dataset is not None  # the cache's files, not files the user gave
            sources = Sources(sources.sprite, sources.labels, known)
            _check_pinned(report, known, digests, pixels, cache_dir, cached)
        else:
            report.add("pinned digests", True, _NO_PINNED)
        rows = None if facts.onehot is None else facts.onehot.shape[0]
        detail = f"{rows:,} rows, each exactly one 1" if rows is not None else facts.labels_error
        report.add("labels one-hot", rows is not None, str(detail))
        plan = _check_convertible(report, sources, options, facts)
    if facts.onehot is not None and known is not None and known.class_counts is not None:
        _check_class_counts(report, known, facts.onehot)
    if known is datasets.MNIST and facts.onehot is not None:
        _check_originals(report, sources.sprite, facts.onehot, cache_dir)
    if output is not None and plan is not None:
        _check_output(report, Path(output), prov, plan, digests)
    return report


# MNIST's original IDX files, where verify looks for them: the cache's folder of that name,
# each file by its published name, raw or .gz (as torchvision and yann.lecun.com have them).
ORIGINAL = "mnist-original"
# TensorFlow.js's sprite is the original MNIST without its first 5,000 training images, in
# order: its rows 0-54,999 are train[5000:60000] and rows 55,000-64,999 are t10k. For each
# original array: (the sprite's first row, the original's first row, how many).
_SPRITE_ROWS = {
    "x_test": (55_000, 0, 10_000),
    "y_test": (55_000, 0, 10_000),
    "x_train": (0, 5_000, 55_000),
    "y_train": (0, 5_000, 55_000),
}


def _check_originals(report: Report, sprite: Path, onehot: U8, cache_dir: PathLike | None) -> None:
    """MNIST's sprite against the original files in the cache, one line each: its test part
    against ``t10k`` (the official test set), its training part against ``train`` from its
    5,001st image, wherever those files are there. A difference fails verify."""
    from .cache import dataset_dir
    from .formats.idx import IdxReader, find_files
    from .png import read_red

    folder = dataset_dir(ORIGINAL, cache_dir)
    files = find_files(folder) if folder.is_dir() else {}
    if not files:
        return
    reader, red = IdxReader(folder), None
    for array, (start, first, count) in _SPRITE_ROWS.items():
        if array not in files:
            continue
        name = files[array].name.removesuffix(".gz")
        what = "images" if array[0] == "x" else "labels"
        rows = f"rows {start:,}-{start + count - 1:,} ({count:,} {what})"
        try:
            with reader.array(array) as (member, pieces):
                values = np.concatenate([np.asarray(p).reshape(-1) for p in pieces])
                values = values.reshape(member.shape[0], -1)[first : first + count]
            if array[0] == "x":
                red = read_red(sprite) if red is None else red
                mine = red[start : start + count]
            else:
                mine = onehot[start : start + count].argmax(axis=1).reshape(-1, 1)
        except MnistSpriteError as e:
            report.add(f"original {name}", False, str(e))
            continue
        if values.shape != mine.shape:
            held = f"{values.shape[0]:,} rows of {values.shape[1]:,} values"
            report.add(f"original {name}", False, f"holds {held}, not {count:,} for {rows}")
            continue
        differ = np.flatnonzero((values != mine).any(axis=1))
        report.add(
            f"original {name}",
            not differ.size,
            f"equals the sprite's {rows}, in order"
            if not differ.size
            else f"{differ.size:,} of {count:,} differ from the sprite's {rows}; first: the "
            f"sprite's row {start + int(differ[0]):,}",
        )


def _verify_originals(
    report: Report,
    ds: Originals,
    output: PathLike | None,
    prov: dict[str, Any] | None,
    options: Options,
    cache_dir: PathLike | None,
) -> Report:
    """A dataset's original files as they are in the cache (never fetched): each one's
    published md5 and pinned sha256, their headers and labels, the published class counts;
    for MNIST, the sprite against them when the cache holds it; then ``output`` against them."""
    from .download import CONTAINER, cached_paths, verify_file
    from .originals import OriginalFiles

    folder = ds.folder(cache_dir)
    sources = Sources(folder, folder, ds)
    digests: dict[str, str | None] = {}
    checked: dict[Path, str | None] = {}  # the container, checked once for the arrays it serves
    serving = datasets.cached_files(ds, cache_dir)
    for role, spec in ds.roles():
        path = serving[role]
        if path in checked:
            digests[role] = checked[path]
            continue
        own = path.name == spec.name
        pin = spec if own or ds.container is None else ds.container
        try:
            digests[role] = checked[path] = verify_file(path, pin, role if own else CONTAINER)
        except MnistSpriteError as e:
            report.add(f"pinned {pin.name}", False, str(e))
            digests[role] = checked[path] = None
            continue
        said = f"md5 {pin.md5} and " if pin.md5 else ""
        served = [f.name for r, f in ds.roles() if serving[r] == path]
        where = "" if own else f", as keras publishes it, in place of {', '.join(served)}"
        report.add(f"pinned {pin.name}", True, f"{said}sha256 {str(pin.sha256)[:16]}...{where}")
    if not all(digests.values()):
        return report
    try:
        with OriginalFiles(ds, folder) as originals:
            onehot = originals.onehot()
    except MnistSpriteError as e:
        report.add("labels", False, str(e))
        return report
    report.add("labels", True, f"{onehot.shape[0]:,} labels, each one of {onehot.shape[1]}")
    if ds.class_counts is not None:
        _check_class_counts(report, ds, onehot)
    plan = _check_convertible(report, sources, options, None)
    sprite = datasets.ALL.get(ds.sprite or "")
    paths = cached_paths(sprite, cache_dir) if isinstance(sprite, Dataset) else None
    if paths is not None:  # the sprite against these files, as verify of the sprite does
        _check_originals(report, paths["sprite"], read_onehot(paths["labels"]), cache_dir)
    if output is not None and plan is not None:
        _check_output(report, Path(output), prov, plan, digests)
    return report


def _check_sprite_intact(report: Report, sources: Sources, facts: SourceFacts) -> None:
    """A sprite that decodes completely. A pack's NAME.json is its shards: each file of the
    recorded size and sha256, each decoding completely."""
    if facts.sprite is None:
        report.add("sprite intact", False, str(facts.sprite_error))
        return
    told = ""
    if isinstance(facts.sprite, ShardedPng):
        n = len(facts.sprite.bundle.shards)
        told = f"its {n} shard(s) have the recorded sizes and sha256; "
    report.add(
        "sprite intact", True, f"{sources.sprite}: {told}every CRC, row and the zlib end check"
    )


def _identify(report: Report, digests: dict[str, str | None], pixels: str | None) -> Dataset | None:
    """The dataset that any source belongs to by a pinned digest, saying which source told."""
    for what, found in (
        ("the sprite file", datasets.identify(sha256=digests["sprite"])),
        ("the sprite's pixels", datasets.identify(pixels_sha256=pixels)),
        ("the label file", datasets.identify(labels_sha256=digests["labels"])),
    ):
        if found is not None:
            report.add("dataset", True, f"{found.name}, identified by {what}")
            return found
    return None


def _check_pinned(
    report: Report,
    known: Dataset,
    digests: dict[str, str | None],
    pixels: str | None,
    cache_dir: PathLike | None,
    cached: bool = True,
) -> None:
    """Every source against the dataset's pinned digests (or, for a dataset with none, the
    ones recorded on first fetch), naming the one that differs."""
    expected = datasets.expected_digests(known, cache_dir)
    fetch = command("fetch", dataset=known.name, cache_dir=cache_dir)
    again = (
        f"fetch it again: '{fetch} --force'"
        if cached
        else f"use {known.name}'s own file ('{fetch}' gets it verified)"
    )
    how = "pinned" if known.pinned else "recorded"
    for role, spec, check, what in (
        ("sprite", known.sprite, "sprite pixels", "sprite"),
        ("labels", known.labels, "labels digest", "label file"),
    ):
        have, want, want_pixels = digests[role], expected[role], spec.pixels_sha256
        # what the table of known digests says the file is, when it is another file
        found = datasets.known(have, pixels if role == "sprite" else None)
        if found is not None and found.file is not spec:
            detail = f"is {found.dataset.name}'s {found.file.name} (by its sha256), not "
            report.add(check, False, f"{detail}{known.name}'s {spec.name}; {again}")
        elif role == "sprite" and pixels is None:
            report.add(check, False, f"not checked against {known.name}: it does not decode")
        elif want is None:
            report.add(check, True, f"{known.name} has no pinned or recorded digest yet")
        elif have == want or (want_pixels and pixels == want_pixels):
            report.add(check, True, f"match the {how} digest of {known.name}")
        else:
            have, want = (pixels, want_pixels) if want_pixels else (have, want)
            report.add(
                check,
                False,
                f"the {what} is not {known.name}'s: {'pixel ' if want_pixels else ''}sha256 "
                f"{str(have)[:16]}... is not the {how} {str(want)[:16]}...; {again}",
            )


def _check_convertible(
    report: Report, sources: Sources, options: Options, facts: SourceFacts | None
) -> Plan | None:
    """What convert checks before it writes: image size, label count, split. Without
    ``facts`` (a dataset's original files), the sources are opened as convert opens them."""
    try:
        if facts is None:
            with open_input(sources, options) as original:
                plan = plan_conversion(original, sources, options)
        elif facts.sprite is None:
            return None
        else:  # the label rows already read are the ones convert reads (a pack's: NAME.json's)
            same = isinstance(facts.sprite, ShardedPng) == facts.labels_packed
            onehot = facts.onehot if same else None
            plan = plan_conversion(facts.sprite, sources, options, onehot)
    except MnistSpriteError as e:
        report.add("convert accepts them", False, str(e))
        return None
    h, w = plan.image_size
    report.add(
        "convert accepts them",
        True,
        f"{plan.images:,} images of {h}x{w}, split {plan.train_size:,} / "
        f"{plan.images - plan.train_size:,}, as {options.browser}'s canvas draws them",
    )
    return plan


def _check_class_counts(report: Report, known: Dataset | Originals, onehot: U8) -> None:
    assert known.class_counts is not None
    train, test = class_counts(onehot[: known.train_size]), class_counts(onehot[known.train_size :])
    want_train, want_test = list(known.class_counts[0]), list(known.class_counts[1])
    ok = (train, test) == (want_train, want_test)
    detail = "train " + " ".join(map(str, train)) + "; test " + " ".join(map(str, test))
    if not ok:
        detail += f" (expected train {want_train}, test {want_test})"
    report.add("class counts", ok, detail)


def _options_of(
    prov: dict[str, Any] | None, given: Options | None, output: PathLike | None = None
) -> Options:
    if prov is None:
        return given or Options()
    recorded = prov.get("options", {})
    try:
        return Options.from_recorded(recorded if isinstance(recorded, dict) else {})
    except (MnistSpriteError, TypeError, ValueError) as e:  # the record, not the user's options
        problem = e.problem if isinstance(e, MnistSpriteError) else str(e)
        raise SourceError(
            output,
            f"its provenance (the npz comment or manifest.json) is damaged: {problem}",
            "convert it again",
        ) from None


def _refuse_other_options(
    output: PathLike | None,
    options: Options,
    image_size: tuple[int, int] | None,
    train_size: int | None,
) -> None:
    """An option given to verify that differs from what the output records: the check would
    pass or fail for the wrong reason (a flat output looks the same at 14x56 as at 28x28)."""
    recorded_size = "{}x{}".format(*options.image_size) if options.image_size else None
    for flag, given, recorded in (
        ("--image-size", "{}x{}".format(*image_size) if image_size else None, recorded_size),
        ("--train-size", train_size, options.train_size),
    ):
        if given is not None and recorded is not None and given != recorded:
            raise OptionError(
                output,
                f"was made with {flag} {recorded}, not {given}",
                f"drop {flag}: verify checks an output with the options it records",
            )


def _check_output(
    report: Report,
    path: Path,
    prov: dict[str, Any] | None,
    plan: Plan,
    digests: dict[str, str | None],
) -> None:
    with Output(path) as out:
        if prov is None:
            report.add("provenance", True, "none recorded: checked against the options given")
        else:
            for key in digests:
                role = {"sprite": "sprite", "labels": "label file"}.get(key, f"{key} file")
                want, have = prov.get("sources", {}).get(key, {}).get("sha256"), digests[key]
                report.add(
                    f"output made from this {role}",
                    want == have,
                    f"recorded sha256 {str(want)[:16]}... "
                    + ("matches" if want == have else f"is not this file's {str(have)[:16]}..."),
                )
        sink = _CompareSink(out, report)
        try:
            run_into(plan.sources, plan.options, sink, plan)
        except MnistSpriteError as e:
            report.add("output arrays", False, f"cannot rebuild them from the sources: {e}")
            return
        extra = sorted(set(out.names()) - set(ARRAY_NAMES))
        if extra:
            report.add("output arrays", False, f"unexpected arrays: {', '.join(extra)}")
        files = (prov or {}).get("files")
        if path.is_dir() and isinstance(files, list):
            stray = unlisted(path, [str(f) for f in files], out.folders())
            report.add(
                "folder holds only its files",
                not stray,
                f"not in its manifest: {', '.join(stray)}"
                if stray
                else f"all {len(files) + 1} files are the ones its manifest lists",
            )


class _CompareSink(ArraySink):
    """Receives what convert would write and compares it with the output, array by array."""

    def __init__(self, out: Output, report: Report) -> None:
        self._out, self._report = out, report
        self._check: Generator[None, npt.NDArray[Any] | None, None] | None = None

    def begin_array(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._check = _compare(self._out, self._report, name, shape, dtype)
        next(self._check)

    def write(self, block: npt.NDArray[Any]) -> None:
        assert self._check is not None
        self._check.send(block)

    def end_array(self) -> None:
        assert self._check is not None
        with contextlib.suppress(StopIteration):
            self._check.send(None)
        self._check = None

    def close(self) -> None:
        return None

    def abort(self) -> None:
        if self._check is not None:
            self._check.close()  # closes the output's array
            self._check = None


class _Differs(Exception):
    """Why an output's array is not a fresh conversion's."""


def _compare(
    out: Output, report: Report, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> Generator[None, npt.NDArray[Any] | None, None]:
    """Compare two block streams: the blocks sent in (a fresh conversion's, then None) and the
    output's array ``name``, value for value, and report on it."""
    ended = False
    try:
        with out.array(name) as (member, pieces):
            if member.shape != shape or member.dtype != dtype:
                raise _Differs(f"is {member.shape} {member.dtype}, expected {shape} {dtype}")
            rest = np.empty(0, dtype=dtype)  # values read past the last block
            offset, differ, first = 0, 0, None  # first: (index, expected, found)
            while (block := (yield)) is not None:
                expected = np.ascontiguousarray(block).reshape(-1)
                found = np.concatenate([rest, *_enough(pieces, expected.size - rest.size)])
                if found.size < expected.size:
                    raise _Differs("is truncated")
                rest, found = found[expected.size :], found[: expected.size]
                diff = np.flatnonzero(expected != found)
                if diff.size and first is None:
                    i = int(diff[0])
                    first = (offset + i, expected[i].item(), found[i].item())
                differ += int(diff.size)
                offset += expected.size
            ended = True
            # Read the member to its end: checksums, and nothing after the values.
            extra = rest.size + sum(piece.size for piece in pieces)
            if extra:
                raise _Differs(f"has {extra:,} values more than expected")
        total = int(np.prod(shape, dtype=np.int64))
        if first is None:
            report.add(name, True, f"all {total:,} values equal a fresh conversion")
        else:
            index, want, got = first
            per_row = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
            row, col = divmod(index, per_row)
            where = f"index {index:,} (row {row:,}" + (f", element {col}" if per_row > 1 else "")
            report.add(
                name,
                False,
                f"{differ:,} of {total:,} values differ; first at {where}): "
                f"expected {want}, found {got}",
            )
    except (MnistSpriteError, _Differs) as e:  # with the file: a folder output has many
        report.add(name, False, str(e))
    while not ended and (yield) is not None:  # the rest of the blocks, no longer compared
        pass


def _enough(pieces: Iterator[npt.NDArray[Any]], n: int) -> Iterator[npt.NDArray[Any]]:
    """Pieces until they hold ``n`` values, or there are no more."""
    while n > 0 and (piece := next(pieces, None)) is not None:
        n -= piece.size
        yield piece


def verify_packed(packed: PathLike, source: PathLike | None = None) -> Report:
    """Check a folder ``pack`` wrote (by its ``NAME.json``): the sprite, the labels and the
    json agree; and, given the ``source`` it was packed from, that convert gives its arrays
    back, value for value."""
    from .packing import sized_source_bytes
    from .sources import SourceOptions

    report = Report()
    parsed = parse(packed)  # a field not of its type is refused here, naming it
    bundle, problems = parsed.record, parsed.files
    facts = bundle.facts
    report.add(
        "files",
        not problems,
        "; ".join(str(p) for p in problems)
        or f"all {2 * len(bundle.shards)} sprite and label files are the ones packed",
    )
    if problems or not _check_packed_fields(report, parsed):
        return report
    h, w, c = facts["image_height"], facts["image_width"], facts["channels"]
    options = Options(
        dtype="uint8",
        label_format="index",
        image_size=(h, w),
        train_size=facts["train_images"],
        channels="rgb" if c == 3 else "red",
    )
    try:
        arrays = to_arrays(Sources(Path(packed), Path(packed)), options)
    except MnistSpriteError as e:
        report.add("convert reads it", False, str(e))
        return report
    report.add(
        "convert reads it",
        True,
        f"{facts['images']:,} images of {h}x{w}x{c}, {facts['train_images']:,} train, "
        f"{facts['classes']} classes",
    )
    if source is None:
        return report
    recorded = facts.get("provenance", {}).get("options", {})
    quantize = bool(recorded.get("quantize"))
    try:
        split = SourceOptions.from_recorded(recorded, facts.get("class_names"))
        want, size = sized_source_bytes(source, quantize=quantize, options=split)
    except MnistSpriteError as e:
        report.add("source", False, str(e))
        return report
    if size != (h, w):  # the same pixels per row, cut into other images
        report.add(
            "image size", False, f"is {h}x{w}, but the source's images are {size[0]}x{size[1]}"
        )
        return report
    for name, expected in want.items():
        got = _rows(arrays[name])
        expected = _rows(expected)
        if got.shape != expected.shape:
            report.add(name, False, f"is {got.shape}, the source's is {expected.shape}")
            continue
        differ = np.flatnonzero(got.reshape(-1) != expected.reshape(-1))
        report.add(
            name,
            not differ.size,
            f"all {got.size:,} values equal the source's"
            if not differ.size
            else f"{differ.size:,} of {got.size:,} values differ from the source's; first at "
            f"index {int(differ[0]):,}",
        )
    return report


def _check_packed_fields(report: Report, parsed: Parsed) -> bool:
    """Every number of ``NAME.json`` against the files themselves: a loader takes them as
    they are, so a tampered record must fail even when its files are intact."""
    facts, problems = parsed.record.facts, parsed.numbers
    if problems is None:
        return report.add("record", False, "its files cannot be read (see above)")
    h, w, c = facts["image_height"], facts["image_width"], facts["channels"]
    return report.add(
        "record",
        not problems,
        "; ".join(problems)
        or f"{facts['images']:,} images of {h}x{w}x{c}, {facts['classes']} classes: as the "
        "files hold",
    )


def _rows(values: Any) -> Any:
    """One row per image (or label), also of a part with none."""
    n = values.shape[0]
    return values.reshape(n, -1) if n else values.reshape(0, math.prod(values.shape[1:]))
