"""Outputs that appear whole or not at all, and never at the cost of a user's files.

Every output is written to a temporary name beside its target and renamed into place only
when complete (:func:`atomic_output`); :func:`check_target` is the one rule for what an output
may replace; :func:`spooled_stdout` holds a stream until it is complete.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from .errors import OptionError, OutputError, PathLike, StdoutClosed
from .formats.base import MANIFEST, read_manifest

TEMP_MARK = ".mnist-sprite-"


def temp_name(target: Path) -> Path:
    """The recognizable temporary name beside ``target`` for this process."""
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}.tmp")


def clean_stale_temps(target: Path) -> None:
    """Remove what a killed run left beside ``target``: its temporary output, and an old
    output it had moved aside. An entry is stale only when its process is gone and nobody
    holds its lock (:func:`_hold`): a process in another PID namespace (a container sharing
    the folder) is invisible to :func:`_alive` but not to the lock."""
    prefix = f".{target.name}{TEMP_MARK}"
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith((".tmp", ".old"))):
            continue
        pid_text = name[len(prefix) :].rsplit(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with _hold(entry, wait=False) as held:
            if not held:
                continue
            if name.endswith(".old"):
                _discard_old(entry, target)
            else:
                _remove(entry)


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


@contextlib.contextmanager
def _hold(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An advisory lock on ``path`` (a file or folder) for as long as the block runs: yields
    whether it was had. Where there is no ``fcntl`` (Windows) it is always had."""
    try:
        import fcntl
    except ImportError:
        yield True
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _discard_old(old: Path, target: Path) -> None:
    """Delete an old output moved aside from ``target``: a file, or a folder's listed files
    only. Anything else found in it (written there through an open handle after the last
    check) is kept, the folder renamed ``NAME.kept-PID`` beside ``target``."""
    if not old.is_dir() or old.is_symlink():
        with contextlib.suppress(OSError):
            old.unlink()
        return
    for name in sorted(output_files(old) or (), key=lambda n: -n.count("/")):
        if name.startswith("/") or ".." in name.split("/"):
            continue
        with contextlib.suppress(OSError):
            (old / name).unlink()
    folders = sorted((p for p in old.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True)
    for folder in folders:  # deepest first; a folder with anything left in it stays
        with contextlib.suppress(OSError):
            folder.rmdir()
    try:
        old.rmdir()
    except OSError:
        with contextlib.suppress(OSError):
            os.rename(old, _kept_name(target))


def _kept_name(target: Path) -> Path:
    """A visible name that no clean-up removes, for something that must be kept."""
    return target.with_name(f"{target.name}.kept-{os.getpid()}")


def output_files(folder: Path) -> set[str] | None:
    """The files of an earlier output folder of this tool, by its manifest; None if not one.

    A folder is this tool's output when its ``manifest.json`` says so and the folder holds
    exactly the files the manifest names, nothing else: only such a folder may be replaced.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    files = manifest.get("files")
    if not isinstance(files, list):  # manifests before "files": one .npy per array
        files = [f"{name}.npy" for name in manifest.get("arrays", {})]
    return {str(f) for f in files} | {MANIFEST}


def _folder_contents(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not p.is_dir() or p.is_symlink()
    }


def _replaceable_folder(folder: Path) -> bool:
    """An empty folder, or exactly an earlier output of this tool: replacing it loses nothing."""
    contents = _folder_contents(folder)
    return not contents or contents == output_files(folder)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


Guard = Callable[[Path], None]
"""A caller's own rule for what ``--force`` may replace: raises :class:`OutputError` if not."""


@dataclass(frozen=True)
class Replace:
    """The one replace rule an output is checked by, before the run and at its move."""

    folder: bool  # the output is a folder (else a file)
    force: bool
    inputs: Sequence[PathLike] = ()  # never replaced, nor a folder holding one
    guard: Guard | None = None
    flag: str = "--out"  # the option that names the output, for the fix an error gives


def check_target(target: Path, rule: Replace) -> Path:
    """Refuse an output that would lose something; return the target as a path with a name.

    Never an input (however spelled, links included) or a folder holding one; never a folder
    of the user's (``--force`` replaces a file, or a folder that is an earlier output of this
    tool, and only what ``guard`` allows); without ``force``, nothing that exists.
    """
    if target.name in ("", ".", ".."):
        target = target.resolve()
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(target, f"the folder {parent} does not exist", "create it first")
    _check_not_input(target, rule)
    if not (target.exists() or target.is_symlink()):
        return target
    _check_replaceable(target, rule=rule)
    if not rule.force:
        raise _exists(target)
    return target


def _check_not_input(target: Path, rule: Replace) -> None:
    flag = rule.flag
    for source in rule.inputs:
        src = Path(source)
        inside = (
            target.is_dir()
            and not target.is_symlink()
            and target.resolve() in (src.resolve().parents)
        )
        if _same_file(src, target) or inside:
            raise OptionError(
                target,
                f"is {'a folder holding ' if inside else ''}an input of this command ({src})",
                f"choose another {flag}; an input is never replaced",
            )
        if src.is_dir() and src.resolve() in target.resolve().parents:
            raise OptionError(
                target,
                f"is inside the input folder {src}",
                f"choose a {flag} outside it; an input is never changed",
            )


def _check_replaceable(target: Path, *, rule: Replace) -> None:
    """What exists at ``target`` is something ``--force`` may replace, or an error says why."""
    folder, flag = rule.folder, rule.flag
    if target.exists() and not (target.is_dir() or target.is_file()):
        raise OutputError(
            target,
            "is not a regular file (a device, FIFO or socket)",
            f"choose another {flag}; such a file is never replaced",
        )
    if target.is_dir() and not folder:
        raise OutputError(target, "is a folder; this output is a file", f"choose another {flag}")
    if folder and not target.is_dir():
        raise OutputError(
            target, "is a file; this format writes a folder", f"choose another {flag}"
        )
    if folder and not _replaceable_folder(target):
        raise OutputError(
            target,
            "is a folder that is not an output of mnist-sprite (it holds other files)",
            f"choose a new folder name for {flag}; --force never replaces such a folder",
        )
    if rule.guard is not None:
        rule.guard(target)


def _exists(target: Path) -> OutputError:
    return OutputError(target, "already exists", "pass --force to replace it")


def _write_error(target: Path, e: OSError) -> OutputError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return OutputError(
            target, f"cannot write: {e.strerror}", "free some space or choose another --out"
        )
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(
            target, f"cannot write: {e.strerror}", "choose a folder you can write to"
        )
    return OutputError(target, f"cannot write: {e.strerror or e}", "check the output path")


@contextlib.contextmanager
def atomic_output(
    target: PathLike,
    *,
    folder: bool,
    force: bool,
    inputs: Sequence[PathLike] = (),
    guard: Guard | None = None,
    flag: str = "--out",
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it into place.

    ``target`` is checked by :func:`check_target` before and again at the moment of the
    move (:func:`commit`), so nothing that appeared meanwhile is lost. On any exception
    (Ctrl-C included) the temporary file or folder is removed and an existing ``target`` is
    left exactly as it was. Errors name ``target``, never the temporary name.
    """
    rule = Replace(folder, force, inputs, guard, flag)
    target = check_target(Path(target), rule)
    with staged(target, folder=folder) as tmp:
        yield tmp
        commit(tmp, target, rule)


@contextlib.contextmanager
def staged(target: Path, *, folder: bool) -> Iterator[Path]:
    """A new temporary file or folder beside ``target``, removed unless moved away."""
    clean_stale_temps(target)
    tmp = temp_name(target)
    try:
        if folder:
            tmp.mkdir()
        else:
            tmp.touch(exist_ok=False)
    except OSError as e:  # nothing was created, so there is nothing to remove
        raise _write_error(target, e) from None
    try:
        with _hold(tmp):  # live: another run's clean-up leaves it alone
            try:
                yield tmp
            except OSError as e:
                raise _write_error(target, e) from None
    finally:
        with contextlib.suppress(OSError):
            _remove(tmp)


def commit(tmp: Path, target: Path, rule: Replace) -> None:
    """Move the finished ``tmp`` to ``target`` under the one replace rule, checked now.

    Without ``force`` the move never replaces anything, even what appeared during the run
    (losing that race is the ordinary "already exists"). With ``force`` what is there is
    first moved aside under a private name and checked again; whatever fails the rule is put
    back untouched. Ctrl-C waits for the few renames to finish: the old output and the new
    are never both lost, and an output in place is one that was completed.
    """
    try:
        with deferred_signals():
            _commit(tmp, target, rule)
    except FileExistsError:
        if rule.force:
            raise OutputError(
                target,
                "appeared again while this command replaced it (another run wrote it)",
                "run the command again to replace it",
            ) from None
        raise _exists(target) from None
    except OSError as e:
        raise _write_error(target, e) from None


def _set_aside(target: Path, rule: Replace) -> Path | None:
    """Move what is at ``target`` to a private name, if the rule lets it be replaced; None
    when nothing is there (or another run moved it away meanwhile: nothing to replace)."""
    if not (target.exists() or target.is_symlink()):
        return None
    if not rule.force:
        raise _exists(target)
    _check_not_input(target, rule)
    _check_replaceable(target, rule=rule)
    old = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}.old")
    try:
        _move_noreplace(target, old)
    except FileNotFoundError:
        return None
    return old


def _check_aside(old: Path, rule: Replace) -> None:
    """What was moved aside is still what the rule may replace (it may have been swapped in
    between); the caller's guard goes by name, so it is not asked again."""
    _check_not_input(old, rule)
    _check_replaceable(old, rule=replace(rule, guard=None))


def _commit(tmp: Path, target: Path, rule: Replace) -> None:
    old = _set_aside(target, rule)
    if old is None:
        _move_noreplace(tmp, target)
        return
    with _hold(old):
        try:
            _check_aside(old, rule)
            _move_noreplace(tmp, target)
        except BaseException:
            _put_back(old, target)
            raise
        _discard_old(old, target)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored while the block runs: it is a few renames that must all
    happen, and once they have, the work asked for is done and is reported as done."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [signal.SIGINT, signal.SIGTERM]
    before = {n: signal.getsignal(n) for n in names}
    for n in names:
        signal.signal(n, signal.SIG_IGN)
    try:
        yield
    finally:
        for n, handler in before.items():
            signal.signal(n, handler)


@contextlib.contextmanager
def atomic_bundle(
    folder: Path,
    names: list[str],
    *,
    force: bool,
    inputs: Sequence[PathLike] = (),
    guard: Guard | None = None,
    stale: Collection[str] = (),
) -> Iterator[Path]:
    """Yield a temporary folder inside ``folder``; on success move each of ``names`` from it
    into ``folder``, in order (the record last), under the one replace rule: all of them
    appear, or none does and what was there is as it was. The body may add to ``names``, at
    its front, the files it names only once written (by their content).

    Each target is checked before (:func:`check_target`) and at its move, as :func:`commit`
    does; replaced files are kept aside until every move has succeeded, and put back if one
    fails. ``stale``: files of an earlier bundle (plain names) that this one does not write,
    removed once it is in place.
    """
    rule = Replace(folder=False, force=force, inputs=inputs, guard=guard)
    targets = [check_target(folder / n, rule) for n in names]
    with staged(targets[-1], folder=True) as tmp:
        yield tmp
        _commit_all(tmp, [check_target(folder / n, rule) for n in names], rule)
    for name in set(stale) - set(names):
        old = folder / name
        if Path(name).name == name and (old.is_symlink() or old.is_file()):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


def _commit_all(tmp: Path, targets: list[Path], rule: Replace) -> None:
    """Move every file in, each as :func:`commit` moves one; undo them all if one fails.
    Ctrl-C waits for the renames, as there."""
    moved: list[Path] = []
    aside: list[tuple[Path, Path]] = []
    target = targets[0]
    try:
        with deferred_signals():
            for target in targets:
                old = _set_aside(target, rule)
                if old is not None:
                    aside.append((old, target))
                    _check_aside(old, rule)
                _move_noreplace(tmp / target.name, target)
                moved.append(target)
    except BaseException as e:
        for done in reversed(moved):  # only the files this run moved in
            with contextlib.suppress(OSError):
                done.unlink()
        for old, place in reversed(aside):
            _put_back(old, place)
        if isinstance(e, FileExistsError):
            raise _exists(target) from None
        if isinstance(e, OSError):
            raise _write_error(target, e) from None
        raise
    for old, place in aside:
        _discard_old(old, place)


def _put_back(old: Path, target: Path) -> None:
    try:
        _move_noreplace(old, target)
    except OSError:
        # Something new took the name meanwhile: keep both, the old one under a name of its
        # own that no clean-up ever removes.
        with contextlib.suppress(OSError):
            os.rename(old, _kept_name(target))


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[..., int] = libc.renameat2
    except (OSError, AttributeError):
        return None
    return function


_RENAMEAT2 = _renameat2()


def _move_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` only if ``dst`` does not exist: FileExistsError if it does."""
    if _RENAMEAT2 is not None:
        if (
            _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
            == 0
        ):
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # else: this file system
            raise OSError(err, os.strerror(err), os.fspath(dst))
    if os.name == "nt":  # Windows' rename never replaces
        os.rename(src, dst)
    elif src.is_dir() and not src.is_symlink():
        # A folder cannot be hard-linked; renaming onto an absent name is the next best.
        if dst.exists() or dst.is_symlink():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(dst))
        os.rename(src, dst)
    else:
        os.link(src, dst, follow_symlinks=False)
        os.unlink(src)


@contextlib.contextmanager
def spooled_stdout(stdout: IO[bytes]) -> Iterator[IO[bytes]]:
    """Yield a temporary file whose bytes go to ``stdout`` only once all of them are written.

    A failure half-way through a conversion then writes nothing at all to the pipe.
    """
    with tempfile.TemporaryFile(prefix="mnist-sprite-") as spool:
        yield spool
        spool.seek(0)
        try:
            shutil.copyfileobj(spool, stdout, 1 << 20)
            stdout.flush()
        except BrokenPipeError:
            raise StdoutClosed(
                "-",
                "the program reading standard output closed it before the output was complete",
                "let it read to the end, or write to a file with --out FILE",
            ) from None
