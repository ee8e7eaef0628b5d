"""Getting a dataset's files into the cache: sources in order, resume, retries, verify, lock.

Nothing enters the cache unverified: a download goes to ``NAME.part`` beside its target and is
renamed into place only after its digest matches (the label file by its bytes, the sprite by
its decoded pixels, since a re-encoded PNG has other bytes). The record ``cache.py`` keeps
lets the next run trust the cache after a stat, without decoding again.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import http.client
import importlib
import importlib.util
import os
import random
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache, datasets, progress
from ._version import __version__
from .datasets import AnyDataset, Dataset, Originals, SourceFile
from .errors import (
    FetchError,
    IntegrityError,
    Interrupted,
    MnistSpriteError,
    OptionError,
    PathLike,
    SourceError,
    command,
)
from .files import file_md5, file_sha256, looks_like_html, open_source, read_json, sniff, write_json
from .labels import CLASSES, read_onehot
from .options import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from .png import SIGNATURE, PngFile, pixels_sha256

MIRRORS_ENV = "MNIST_SPRITE_MIRRORS"
USER_AGENT = f"mnist-sprite/{__version__}"
_PIECE = 1 << 16


class _Transient(Exception):
    """Worth another try: a connection error, a timeout, a 5xx, a dropped connection."""


class _Fatal(Exception):
    """This source will not give the file: a 4xx, an HTML page, a wrong size or digest."""


@dataclass(frozen=True)
class FetchResult:
    """Where a dataset's files are, and what this run did to get them."""

    dataset: str
    paths: dict[str, Path]
    downloaded: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    imported: list[str] = field(default_factory=list)
    # Files of a dataset with no pinned digest whose digest this run recorded, by name.
    recorded: dict[str, str] = field(default_factory=dict)
    pinned: bool = True
    # Files --from named for a bundled dataset: verified equal to the bundled ones, not copied.
    checked: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "files": {role: str(path) for role, path in self.paths.items()},
            "downloaded": self.downloaded,
            "imported": self.imported,
            "sources": self.sources,
            "pinned": self.pinned,
            "recorded": self.recorded,
            "checked": self.checked,
        }

    def note(self) -> str:
        """The one line that says a dataset has no pinned digest, and what was recorded."""
        files = ", ".join(f"{name} sha256 {digest}" for name, digest in self.recorded.items())
        return (
            f"note: {self.dataset} has no pinned digest; recorded {files}: from now on these "
            "files must match them"
        )

    def describe(self) -> str:
        """What this run did, in a few words for stderr."""
        done = [f"downloaded {', '.join(self.downloaded)}"] if self.downloaded else []
        done += [f"imported {', '.join(self.imported)}"] if self.imported else []
        if not done and self.sources and set(self.sources.values()) == {"bundled"}:
            checked = f"; {', '.join(self.checked)} equal its files" if self.checked else ""
            return (
                f"nothing to fetch: {self.dataset} is bundled with mnist-sprite, not cached"
                + checked
            )
        return "; ".join(done) if done else "nothing to do: the cache is complete and verified"


def verify_file(
    path: Path,
    spec: SourceFile,
    role: str,
    *,
    image_size: tuple[int, int] = (28, 28),
    recorded: str | None = None,
) -> str:
    """Check a file against its pinned digest, or the digest recorded when it was first
    fetched; with neither, check what its content allows. Return the sha256 of its bytes.

    Raises IntegrityError (or PngFormatError for a sprite that is no valid PNG).
    """
    digest = file_sha256(path)
    expected = spec.sha256 or recorded
    if digest == expected and (spec.md5 is None or file_md5(path) == spec.md5):
        return digest
    refuse_other_dataset(path, spec, digest)
    refuse_other_kind(path, spec, role)
    if expected is None:  # no digest to hold it to yet: verify what can be verified
        refuse_other_dataset(path, spec, _check_content(path, role, image_size))
        return digest
    if role == "sprite" and spec.pixels_sha256:
        if pixels_sha256(path) == spec.pixels_sha256:
            return digest
        raise IntegrityError(
            path,
            f"its pixels are not those of {spec.name} (pixel sha256 differs)",
            "download it again, or pass --from with the right file",
        )
    if spec.sha256 is None:
        raise IntegrityError(
            path,
            f"sha256 {digest[:16]}... is not the {expected[:16]}... recorded when {spec.name} "
            "was first fetched (this dataset has no pinned digest)",
            "restore the file, or fetch again with --force to record a new one",
        )
    if digest == expected:  # and its md5 is not the published one: never, unless forged
        raise IntegrityError(
            path,
            f"md5 is not the published {spec.md5} of {spec.name}",
            "download it again, or pass --from with the right file",
        )
    raise IntegrityError(
        path,
        f"sha256 {digest[:16]}... is not the pinned {expected[:16]}... of {spec.name}",
        "download it again, or pass --from with the right file",
    )


def refuse_other_dataset(path: PathLike, spec: SourceFile, digest: str | None) -> None:
    """Refuse a file that the table of known digests says is another file (another dataset's,
    or the other role's): MNIST's sprite renamed ``fashion_mnist_images.png`` is MNIST's."""
    found = datasets.known(digest)
    if found is None or found.file == spec:
        return
    raise IntegrityError(
        path,
        f"is {found.dataset.name}'s {found.file.name} (by its sha256), not {spec.name}",
        f"give the right file, or use it as {found.dataset.name}: "
        f"'{command('fetch', dataset=found.dataset.name)}'",
    )


_WHAT_ROLE_IS = {"sprite": "a PNG sprite", "labels": "a label file of one-hot bytes"}
_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
CONTAINER = "container"  # the role of an original dataset's other container (keras' npz)


def refuse_other_kind(path: PathLike, spec: SourceFile, role: str) -> None:
    """Refuse a file whose first bytes say it is another kind of file (a zip, a JPEG, text...)
    than ``role``'s, naming what it is rather than a digest that differs."""
    with open_source(path) as f:
        head = f.read(1024)
    is_png = head.startswith(SIGNATURE)
    if role not in _WHAT_ROLE_IS:  # an original dataset's gzipped IDX files, or its npz
        magic, kind = (
            (_ZIP, "a zip of arrays") if role == CONTAINER else (_GZIP, "a gzipped IDX file")
        )
        if head.startswith(magic):
            return
        what = "a PNG image" if is_png else sniff(head) or f"not {kind}"
        raise IntegrityError(
            path,
            f"is {what}, not {spec.name} ({kind})",
            f"give {spec.name} itself, as published, or a folder that holds it",
        )
    if is_png == (role == "sprite") and (is_png or sniff(head) is None):
        return  # the right kind: its digest or content decides
    what = "a PNG image" if is_png else sniff(head) or "not a PNG"
    raise IntegrityError(
        path,
        f"is {what}, not {spec.name} ({_WHAT_ROLE_IS[role]})",
        f"give {spec.name} itself, as published, or a folder that holds it",
    )


def _check_content(path: Path, role: str, image_size: tuple[int, int]) -> str | None:
    """A sprite that decodes completely, one image per row; whole one-hot label rows.

    Returns the sprite's pixel digest (None for a label file)."""
    if role == "labels":
        read_onehot(path)
        return None
    with PngFile(path) as png_file:
        h, w = image_size
        if png_file.header.width != h * w:
            raise IntegrityError(
                path,
                f"is {png_file.header.width} pixels wide, not one {h}x{w} image per row",
                "download it again, or check that it is this dataset's sprite",
            )
        return png_file.pixels_sha256()  # every chunk, row and the zlib end


def _check_pair(paths: dict[str, Path]) -> None:
    """The label file holds one row per sprite image (for files with no pinned digest)."""
    with PngFile(paths["sprite"]) as png_file:
        images = png_file.header.height
    rows = paths["labels"].stat().st_size // CLASSES
    if rows != images:
        raise IntegrityError(
            paths["labels"],
            f"holds {rows:,} labels but the sprite holds {images:,} images",
            "fetch both files again from the same place",
        )


def _cached(
    path: Path, dataset: AnyDataset, spec: SourceFile, role: str, marker: dict[str, Any]
) -> str | None:
    """The file's sha256 if the cache holds it verified (cheap when unchanged); None if absent.

    Raises the verification error when the file is there but is not the right file.
    """
    try:
        st = path.stat()
    except OSError:
        return None
    stamped = cache.stamped_sha256(marker, spec.name, path, st)
    if stamped is not None:
        refuse_other_dataset(path, spec, stamped)  # recorded before this check existed
        return stamped
    recorded = cache.recorded_sha256(marker, spec.name)
    return verify_file(path, spec, role, image_size=dataset.image_size, recorded=recorded)


def cached_paths(dataset: AnyDataset, cache_dir: PathLike | None = None) -> dict[str, Path] | None:
    """The dataset's files if the cache holds all of them, verified; else None."""
    if dataset.bundled:
        return dataset.paths(cache_dir)
    found = _from_cache(dataset, cache_dir, stale_ok=True)
    return found.paths if isinstance(found, FetchResult) else None


def ensure_dataset(
    dataset: AnyDataset,
    *,
    cache_dir: PathLike | None = None,
    offline: bool = False,
    show_progress: bool = False,
) -> dict[str, Path]:
    """The dataset's cached files, fetching what is missing (what convert and load_data use)."""
    paths = cached_paths(dataset, cache_dir)
    if paths is not None:
        return paths
    result = fetch_dataset(
        dataset, cache_dir=cache_dir, offline=offline, show_progress=show_progress
    )
    if result.recorded:  # said once, where the files were first fetched
        progress.say(result.note())
    return result.paths


# How a lock file is held: flock where there is fcntl (POSIX), msvcrt.locking on Windows.
LOCK_KIND = "fcntl" if importlib.util.find_spec("fcntl") else "msvcrt"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One fetch per dataset folder at a time; the others wait, then find the files."""
    with open(folder / ".lock", "a+b") as handle:
        if LOCK_KIND == "fcntl":
            fcntl: Any = importlib.import_module("fcntl")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        else:
            msvcrt: Any = importlib.import_module("msvcrt")
            _lock_first_byte(msvcrt, handle.fileno())
            try:
                yield
            finally:
                os.lseek(handle.fileno(), 0, os.SEEK_SET)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


def _lock_first_byte(msvcrt: Any, fd: int) -> None:
    """Lock byte 0 of ``fd``, waiting as long as it takes (LK_LOCK gives up after ~10 s)."""
    while True:
        os.lseek(fd, 0, os.SEEK_SET)  # locking() locks from the current position
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            return
        except OSError:
            continue


def _sources_for(
    bases: Sequence[str], spec: SourceFile, url: str | None, mirrors: Sequence[str]
) -> list[str]:
    """Where to try, in order: --url; else --mirror, MNIST_SPRITE_MIRRORS, the publishers."""
    if url:
        return [url]
    env = os.environ.get(MIRRORS_ENV, "").split()
    return [spec.url(prefix) for prefix in (*mirrors, *env, *bases)]


def fetch_dataset(
    dataset: AnyDataset,
    *,
    cache_dir: PathLike | None = None,
    sprite_url: str | None = None,
    labels_url: str | None = None,
    mirrors: Sequence[str] = (),
    offline: bool = False,
    from_path: PathLike | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = 1.0,
    show_progress: bool = False,
) -> FetchResult:
    """Make the cache hold ``dataset``'s files, verified, and say where they are."""
    urls = {"sprite": sprite_url, "labels": labels_url}
    if not isinstance(dataset, Dataset) and (sprite_url or labels_url):
        raise OptionError(
            None,
            f"--url and --labels-url name a sprite and a label file, and {dataset.name} is "
            f"{len(dataset.roles())} IDX files",
            "give --mirror PREFIX (a folder URL that holds them) instead",
        )
    for role, url in urls.items():
        if url is not None:
            check_url(url, "--url" if role == "sprite" else "--labels-url")
    for prefix in mirrors:
        check_url(prefix, "--mirror")
    for prefix in os.environ.get(MIRRORS_ENV, "").split():
        check_url(prefix, MIRRORS_ENV)
    if from_path is not None and not os.path.exists(from_path):
        raise SourceError(from_path, "no such file or folder", "check the path given to --from")
    if dataset.bundled:
        bundled = dataset.paths()
        result = FetchResult(dataset.name, bundled, [], {role: "bundled" for role in bundled})
        if from_path is not None:  # nothing to import, but what --from names is still checked
            specs = dict(dataset.roles())
            for role, candidate in _candidates(Path(from_path), dataset).items():
                verify_file(candidate, specs[role], role)
                result.checked.append(str(candidate))
        return result
    if not force and from_path is None:  # reading a complete cache takes no lock and writes nothing
        found = _from_cache(dataset, cache_dir)
        if isinstance(found, FetchResult):
            return found
        if found is not None and offline:  # said without creating anything
            raise _offline_error(*found, dataset.name, cache_dir)
    candidates = {} if from_path is None else _candidates(Path(from_path), dataset)
    folder = dataset.folder(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FetchError(
            folder,
            f"cannot create the cache folder ({e.strerror})",
            "pass --cache-dir or set MNIST_SPRITE_CACHE",
        ) from None
    with _locked(folder):
        marker = cache.read_record(folder)
        result = FetchResult(dataset.name, {}, pinned=dataset.pinned)
        policy = _Policy(timeout, retries, backoff, show_progress, dataset.name, cache_dir)
        failed: list[tuple[str, FetchError]] = []
        digests = _gather(
            dataset,
            folder,
            marker,
            result,
            candidates,
            from_path,
            offline,
            force,
            urls,
            mirrors,
            policy,
            failed,
        )
        if not offline and from_path is None:  # what no source gave, from the other container
            _fetch_container(dataset, folder, marker, result, mirrors, policy, failed)
        for role, spec in dataset.roles():
            if role not in digests:  # not got: said below, once the others are recorded
                continue
            digest = digests[role]
            if spec.sha256 is None and cache.recorded_sha256(marker, spec.name) != digest:
                result.recorded[spec.name] = digest  # first fetch, or --force: a new record
            marker[spec.name] = cache.stamp(result.paths[role], digest, spec.sha256 is not None)
        if not dataset.pinned and (result.downloaded or result.imported):
            try:
                _check_pair(result.paths)
            except MnistSpriteError:  # nothing unverified stays in the cache
                for role, spec in dataset.roles():
                    if spec.name in result.downloaded + result.imported:
                        result.paths[role].unlink(missing_ok=True)
                        marker.pop(spec.name, None)
                cache.write_record(folder, marker)
                raise
        if digests or result.downloaded:  # a fetch that got nothing leaves the folder as it was
            cache.write_record(folder, marker)
    if failed:
        first = failed[0][1]
        also = "".join(f"; and {name}: {e.problem}" for name, e in failed[1:])
        got = [spec.name for role, spec in dataset.roles() if role in digests]
        fresh = [name for name in got if name not in result.imported]  # --from's are said
        held = f"; the cache holds, verified, {', '.join(fresh)}" if fresh else ""
        raise FetchError(first.path, first.problem + also + held, first.fix)
    return result


def _gather(
    dataset: AnyDataset,
    folder: Path,
    marker: dict[str, Any],
    result: FetchResult,
    candidates: dict[str, Path],
    from_path: PathLike | None,
    offline: bool,
    force: bool,
    urls: dict[str, str | None],
    mirrors: Sequence[str],
    policy: _Policy,
    failed: list[tuple[str, FetchError]],
) -> dict[str, str]:
    """Each file's verified sha256: from --from, the cache, or a download. A pinned file that
    no source gives is added to ``failed``, and the others are still fetched."""
    digests: dict[str, str] = {}
    # The paths in the dataset's order (the sprite, then the labels), whatever is done first:
    # `set -- $(mnist-sprite fetch ...)` and `head -n 1` rely on it.
    result.paths.update((role, folder / spec.name) for role, spec in dataset.roles())
    # What --from holds is imported first, whichever file it is: a missing other file then
    # names what was imported, for the label file alone as for the sprite alone.
    for role, spec in sorted(dataset.roles(), key=lambda item: item[0] not in candidates):
        target = result.paths[role]
        digest, failure = None, None
        if not force and role not in candidates:  # a file given with --from is always checked
            try:
                digest = _cached(target, dataset, spec, role, marker)
            except MnistSpriteError as e:
                failure = e
        check = functools.partial(
            verify_file,
            spec=spec,
            role=role,
            image_size=dataset.image_size,
            recorded=None if force else cache.recorded_sha256(marker, spec.name),
        )
        if role in candidates:
            digest = _import(candidates[role], target, check)
            result.imported.append(spec.name)
            result.sources[role] = str(candidates[role])
        elif digest is not None:
            result.sources[role] = "cache"
        elif from_path is not None:
            done = f" (imported {', '.join(result.imported)})" if result.imported else ""
            missing = FetchError(
                from_path,
                f"holds no {spec.name}, and the cache has no good copy{done}",
                f"give the file or folder that holds it with --from, or run "
                f"'{command('fetch', dataset=dataset.name, cache_dir=policy.cache_dir)}' where "
                "there is a network",
            )
            if not dataset.pinned:
                raise missing
            failed.append((spec.name, missing))  # what --from held is recorded all the same
            continue
        elif offline:
            raise _offline_error(target, failure, dataset.name, policy.cache_dir)
        else:
            todo = _sources_for(dataset.bases, spec, urls.get(role), mirrors)
            try:
                url, digest = _download_any(todo, target, spec, role, policy, check)
            except FetchError as e:
                if failure is not None:  # say why the cached copy was not used
                    e = FetchError(
                        target,
                        f"is in the cache but fails verification ({failure.problem}), and "
                        f"{e.problem}",
                        e.fix,
                    )
                if not dataset.pinned:  # the files are checked as a pair: none without the other
                    raise e from None
                failed.append((spec.name, e))  # each is pinned alone: the others are worth getting
                continue
            result.downloaded.append(spec.name)
            result.sources[role] = url
        digests[role] = digest
    return digests


def _from_cache(
    dataset: AnyDataset, cache_dir: PathLike | None, stale_ok: bool = False
) -> FetchResult | tuple[Path, MnistSpriteError | None] | None:
    """The result of a fetch that finds the cache complete, read without a lock or a write (a
    read-only shared cache works); else the first file it lacks and why it was refused.

    None for a complete cache whose stamps are stale (the files were copied, say) in a folder
    that is writable, unless ``stale_ok``: the locked pass refreshes them."""
    folder = dataset.folder(cache_dir)
    marker = cache.read_record(folder)
    paths = dataset.paths(cache_dir)
    stale = False
    spare = _cached_container(dataset, folder, marker)
    for role, spec in dataset.roles():
        try:
            digest = _cached(paths[role], dataset, spec, role, marker)
        except MnistSpriteError as e:
            return paths[role], e
        if digest is None and spare is not None:  # its array is in the container instead
            paths[role] = spare
            continue
        if digest is None:
            return paths[role], None
        stale = stale or not cache.unchanged(marker, spec.name, paths[role].stat())
    if stale and not stale_ok and os.access(folder, os.W_OK):
        return None
    return FetchResult(
        dataset.name, paths, sources={role: "cache" for role in paths}, pinned=dataset.pinned
    )


def _cached_container(dataset: AnyDataset, folder: Path, marker: dict[str, Any]) -> Path | None:
    """An original dataset's container (keras' npz) when the cache holds it, verified."""
    spec = getattr(dataset, "container", None)
    if not isinstance(spec, SourceFile):
        return None
    try:
        found = _cached(folder / spec.name, dataset, spec, CONTAINER, marker)
    except MnistSpriteError:
        return None
    return None if found is None else folder / spec.name


def _fetch_container(
    dataset: AnyDataset,
    folder: Path,
    marker: dict[str, Any],
    result: FetchResult,
    mirrors: Sequence[str],
    policy: _Policy,
    failed: list[tuple[str, FetchError]],
) -> None:
    """The files no source gave, from the dataset's other container (keras' mnist.npz, pinned
    by its sha256): downloaded, verified and cached, it serves their arrays; else it is named
    among what could not be got."""
    spec = getattr(dataset, "container", None)
    if not failed or not isinstance(spec, SourceFile) or not isinstance(dataset, Originals):
        return
    target = folder / spec.name
    if _cached_container(dataset, folder, marker) is None:
        todo = _sources_for(dataset.container_bases, spec, None, mirrors)
        check = functools.partial(verify_file, spec=spec, role=CONTAINER)
        try:
            url, digest = _download_any(todo, target, spec, CONTAINER, policy, check)
        except FetchError as e:
            failed.append((spec.name, e))
            return
        result.downloaded.append(spec.name)
        result.sources[CONTAINER] = url
        marker[spec.name] = cache.stamp(target, digest, True)
    names = {name for name, _ in failed}
    for role, file in dataset.roles():
        if file.name in names:
            result.paths[role] = target
            result.sources[role] = spec.name
    failed.clear()


def _offline_error(
    target: Path, failure: MnistSpriteError | None, dataset: str, cache_dir: PathLike | None
) -> FetchError:
    fetch = command("fetch", dataset=dataset, cache_dir=cache_dir)
    if failure is None:
        return FetchError(
            target,
            "not in the cache, and --offline forbids downloading",
            f"run '{fetch}' where there is a network, or '{fetch} --from PATH'",
        )
    return FetchError(
        target,
        f"is in the cache but fails verification ({failure.problem})",
        f"repair it with '{fetch} --force' where there is a network, "
        f"or '{fetch} --from PATH' with a good copy",
    )


def check_url(url: str, where: str) -> None:
    """Refuse what is not an http(s) URL, naming the option or variable it came from."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OptionError(
            None,
            f"{where} {url!r} is not an http:// or https:// URL",
            "give a full URL such as https://example.org/mnist/",
        )


def _candidates(source: Path, dataset: AnyDataset) -> dict[str, Path]:
    """The files ``--from`` gives, by role: a folder's files by name; one file by its name, or
    by its content (a PNG is the sprite, anything else the label file)."""
    found: dict[str, Path] = {}
    for role, spec in dataset.roles():
        if source.is_dir():
            candidate = source / spec.name
            if candidate.is_file():
                found[role] = candidate
        elif source.is_file() and (source.name == spec.name or _looks_like(source, role)):
            found[role] = source
    if not found:
        names = " or ".join(spec.name for _, spec in dataset.roles())
        raise FetchError(source, f"holds no {names}", "give the folder or file that holds them")
    return found


def _import(candidate: Path, target: Path, check: Callable[[Path], str]) -> str:
    """Copy a file brought by hand into the cache, verified like a download."""
    part = target.with_name(target.name + ".part")
    try:
        _copy_in(candidate, part, target)
        try:
            digest = check(part)
        except MnistSpriteError as e:
            raise IntegrityError(candidate, e.problem, e.fix) from None
    except BaseException:
        part.unlink(missing_ok=True)  # a copy that did not finish is never left behind
        raise
    os.replace(part, target)
    return digest


def _copy_in(source: Path, part: Path, target: Path) -> None:
    """Copy ``source`` to ``part``; a failure to write names the cache file ``target``."""
    with open_source(source) as src:
        try:
            with open(part, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as e:  # the source is open and regular: the cache side failed
            raise _cache_write_error(target, e) from None


def _cache_write_error(target: Path, e: OSError) -> FetchError:
    fix = (
        "free some space on its disk, or choose another --cache-dir"
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        else "check the cache folder's permissions, or choose another --cache-dir"
    )
    return FetchError(target, f"cannot write: {e.strerror or e}", fix)


def _looks_like(path: Path, role: str) -> bool:
    if role not in _WHAT_ROLE_IS:  # an original dataset's files are known by their names only
        return False
    with open(path, "rb") as f:
        is_png = f.read(len(SIGNATURE)) == SIGNATURE
    return is_png == (role == "sprite")


@dataclass(frozen=True)
class _Policy:
    """How hard to try one source: timeouts, retries, back-off, and whether to show a bar."""

    timeout: float
    retries: int
    backoff: float
    show_progress: bool  # a bar, and a line for each wait before a retry
    dataset: str = "mnist"  # named in the commands an error suggests
    cache_dir: PathLike | None = None  # and the cache they fill


def _download_any(
    urls: list[str],
    target: Path,
    spec: SourceFile,
    role: str,
    policy: _Policy,
    check: Callable[[Path], str],
) -> tuple[str, str]:
    """Try each source in order; return (url, sha256) of the verified file now at ``target``."""
    failures = []
    part = target.with_name(target.name + ".part")
    for url in urls:
        try:
            _download_with_retries(url, part, spec, role, policy)
            digest = check(part)
        except Interrupted as e:  # what was received stays for the next fetch to resume
            if part.is_file() and part.stat().st_size:
                e.kept = f"{part} ({part.stat().st_size:,} bytes)"
            raise
        except _Fatal as e:
            failures.append(f"{url}: {e}")
            _discard(part)
            continue
        except _Transient as e:
            failures.append(f"{url}: {e}")
            continue
        except MnistSpriteError as e:  # the download is not the file: never cached
            failures.append(f"{url}: {e.problem}")
            _discard(part)
            continue
        os.replace(part, target)
        _discard(part, meta_only=True)
        return url, digest
    fetch = command("fetch", dataset=policy.dataset, cache_dir=policy.cache_dir)
    raise FetchError(
        spec.name,
        f"could not download from any source ({', '.join(failures)})",
        f"check the network or the URL, or run '{fetch} --mirror PREFIX' or '{fetch} --from PATH'",
    )


def _discard(part: Path, meta_only: bool = False) -> None:
    if not meta_only:
        part.unlink(missing_ok=True)
    _meta(part).unlink(missing_ok=True)


def _meta(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _download_with_retries(
    url: str, part: Path, spec: SourceFile, role: str, policy: _Policy
) -> None:
    for attempt in range(policy.retries + 1):
        try:
            _download(url, part, spec, role, policy.timeout, policy.show_progress)
            return
        except _Transient as e:
            if attempt == policy.retries:
                raise
            # Exponential back-off with jitter, so parallel clients do not retry in step.
            delay = policy.backoff * (2**attempt) * (0.5 + random.random())
            if policy.show_progress:
                progress.say(f"{url}: {e}; retrying in {delay:.1f} s")
            time.sleep(delay)


def _download(
    url: str, part: Path, spec: SourceFile, role: str, timeout: float, show_progress: bool
) -> None:
    """One attempt: resume ``part`` with a Range request when it has bytes from this URL."""
    meta = read_json(_meta(part))
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have and meta.get("url") == url:
        headers["Range"] = f"bytes={have}-"
        if meta.get("etag"):
            headers["If-Range"] = str(meta["etag"])
    else:
        have = 0
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416:  # our partial file does not fit the server's: start over
            _discard(part)
            raise _Transient("HTTP 416 on resume") from None
        if e.code >= 500:
            raise _Transient(f"HTTP {e.code}") from None
        raise _Fatal(f"HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        if _unknown_host(e):  # a name that does not exist will not exist in a second
            raise _Fatal(f"the host name does not resolve ({_reason(e, timeout)})") from None
        raise _Transient(_reason(e, timeout)) from None
    with response:
        _receive(response, url, part, spec, role, have, timeout, show_progress)


def _receive(
    response: Any,
    url: str,
    part: Path,
    spec: SourceFile,
    role: str,
    have: int,
    timeout: float,
    show_progress: bool,
) -> None:
    if "html" in response.headers.get("Content-Type", "").lower():
        raise _Fatal("the server sent an HTML page, not the file")
    if response.status != 206:  # a fresh 200: the server ignored or refused the range
        have = 0
    length = response.headers.get("Content-Length")
    total = have + int(length) if length and length.isdigit() else None
    if role != "sprite" and total is not None and spec.size and total != spec.size:
        raise _Fatal(f"the server offers {total:,} bytes, not the {spec.size:,} of {spec.name}")
    write_json(_meta(part), {"url": url, "etag": response.headers.get("ETag")})
    received = have
    bar = progress.bar(total, spec.name, "B", enabled=show_progress)
    with open(part, "ab" if have else "wb") as f, bar as advance:
        advance(have)
        while True:
            try:
                piece = response.read(_PIECE)
            except (OSError, ValueError, http.client.HTTPException) as e:
                raise _Transient(
                    f"connection dropped after {received:,} bytes ({_reason(e, timeout)})"
                ) from None
            if not piece:
                break
            if received == 0 and looks_like_html(piece):
                raise _Fatal("the server sent an HTML page, not the file")
            f.write(piece)
            received += len(piece)
            advance(len(piece))
    if total is not None and received < total:
        raise _Transient(f"connection dropped after {received:,} of {total:,} bytes")


def _unknown_host(e: BaseException) -> bool:
    """A DNS answer that the name does not exist (not "temporary failure": that is retried)."""
    inner = getattr(e, "reason", e)
    final = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}
    return isinstance(inner, socket.gaierror) and inner.errno in final


def _reason(e: BaseException, timeout: float) -> str:
    inner = getattr(e, "reason", e)
    if isinstance(inner, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s"
    text = getattr(inner, "strerror", None) or str(inner)
    return str(text)
