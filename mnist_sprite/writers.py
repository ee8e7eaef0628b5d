"""Outputs that appear whole or not at all, and never at the cost of a user's files.

Every output is written to a temporary name beside its target and renamed into place only
when complete (:func:`atomic_output`); :func:`check_target` is the one rule for what an output
may replace; :func:`spooled_stdout` holds a stream until it is complete.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from .errors import OptionError, OutputError, PathLike
from .formats.base import MANIFEST, read_manifest

TEMP_MARK = ".mnist-sprite-"


def temp_name(target: Path) -> Path:
    """The recognizable temporary name beside ``target`` for this process."""
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}.tmp")


def clean_stale_temps(target: Path) -> None:
    """Remove temporary files a killed run left beside ``target`` (their process is gone)."""
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
        if pid_text.isdigit() and not _alive(int(pid_text)):
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


def check_target(
    target: Path, *, folder: bool, force: bool, inputs: Sequence[PathLike] = ()
) -> Path:
    """Refuse an output that would lose something; return the target as a path with a name.

    Never an input (however spelled, links included) or a folder holding one; never a folder
    of the user's (``--force`` replaces a file, or a folder that is an earlier output of this
    tool); without ``force``, nothing that exists.
    """
    if target.name in ("", ".", ".."):
        target = target.resolve()
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(target, f"the folder {parent} does not exist", "create it first")
    for source in inputs:
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
                "choose another --out; an input is never replaced",
            )
    if not (target.exists() or target.is_symlink()):
        return target
    if target.exists() and not (target.is_dir() or target.is_file()):
        raise OutputError(
            target,
            "is not a regular file (a device, FIFO or socket)",
            "choose another --out; such a file is never replaced",
        )
    if target.is_dir() and not folder:
        raise OutputError(target, "is a folder; an .npz output is a file", "choose another --out")
    if folder and not target.is_dir():
        raise OutputError(target, "is a file; this format writes a folder", "choose another --out")
    if folder and not _replaceable_folder(target):
        raise OutputError(
            target,
            "is a folder that is not an output of mnist-sprite (it holds other files)",
            "choose a new folder name for --out; --force never replaces such a folder",
        )
    if not force:
        raise OutputError(target, "already exists", "pass --force to replace it")
    return target


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
    target: PathLike, *, folder: bool, force: bool, inputs: Sequence[PathLike] = ()
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it into place.

    ``target`` is first checked by :func:`check_target`. On any exception (Ctrl-C included)
    the temporary file or folder is removed and an existing ``target`` is left exactly as it
    was. Errors name ``target``, never the temporary name.
    """
    target = check_target(Path(target), folder=folder, force=force, inputs=inputs)
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
        try:
            yield tmp
        except OSError as e:
            raise _write_error(target, e) from None
        _commit(tmp, target, folder=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            _remove(tmp)
        raise


def _commit(tmp: Path, target: Path, *, folder: bool) -> None:
    try:
        if folder and target.is_dir():
            # A folder cannot be swapped in one rename: move the old one aside first.
            old = tmp.with_suffix(".old")
            os.replace(target, old)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old, target)
                raise
            _remove(old)
        else:
            os.replace(tmp, target)
    except OSError as e:
        raise _write_error(target, e) from None


@contextlib.contextmanager
def spooled_stdout(stdout: IO[bytes]) -> Iterator[IO[bytes]]:
    """Yield a temporary file whose bytes go to ``stdout`` only once all of them are written.

    A failure half-way through a conversion then writes nothing at all to the pipe.
    """
    with tempfile.TemporaryFile(prefix="mnist-sprite-") as spool:
        yield spool
        spool.seek(0)
        shutil.copyfileobj(spool, stdout, 1 << 20)
        stdout.flush()
