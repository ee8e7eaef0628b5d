"""Writing arrays as they are produced: .npz members, .npy files or memory; atomic, deterministic.

An array is announced with its final shape and dtype (:meth:`Sink.begin`), then written in
C-order pieces (:meth:`Sink.write`), so a 200 MB split never has to exist whole in memory:
the ``.npy`` header (numpy's ``lib/format.py``, version 1.0) goes first, the data streams
after it. Files appear only complete: they are written to a temporary name beside the
target and renamed into place (:func:`atomic_output`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.lib.format as npformat
import numpy.typing as npt

from .errors import OptionError, OutputError, PathLike

FORMATS = ("npz", "npy")
MANIFEST = "manifest.json"
TEMP_MARK = ".mnist-sprite-"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: same inputs, same bytes
_COMPRESS_LEVEL = 6


def npy_header(shape: tuple[int, ...], dtype: np.dtype[Any]) -> bytes:
    """The ``.npy`` version 1.0 header for a C-order array of this shape and dtype."""
    buf = io.BytesIO()
    npformat.write_array_header_1_0(
        buf, {"descr": npformat.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


class Sink(Protocol):
    """Where converted arrays go, one after another."""

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None: ...

    def write(self, data: npt.NDArray[Any]) -> None: ...

    def end(self) -> None: ...

    def close(self) -> None:
        """All arrays are written: finish the output."""

    def abort(self) -> None:
        """A failure: release everything and write nothing more."""


class MemorySink:
    """Arrays kept in memory (what ``load_data()`` returns)."""

    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[Any]] = {}
        self._flat: npt.NDArray[Any] | None = None
        self._pos = 0

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        array = np.empty(shape, dtype=dtype)
        self.arrays[name] = array
        self._flat = array.reshape(-1)
        self._pos = 0

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._flat is not None
        n = data.size
        self._flat[self._pos : self._pos + n] = data.reshape(-1)
        self._pos += n

    def end(self) -> None:
        assert self._flat is not None and self._pos == self._flat.size
        self._flat = None

    def close(self) -> None:
        return None

    def abort(self) -> None:
        self.arrays.clear()


class _Unseekable(io.RawIOBase):
    """A write-only view of a stream, so ``zipfile`` writes the same bytes to a file or a pipe."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.discard = False  # after a failure: swallow what zipfile still wants to write

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self.discard:
            return len(b)
        return self._stream.write(b)

    def flush(self) -> None:
        self._stream.flush()


class NpzSink:
    """An ``.npz`` archive streamed member by member, with provenance in the zip comment."""

    def __init__(self, stream: IO[bytes], *, compress: bool, comment: bytes = b"") -> None:
        self._out = _Unseekable(stream)
        self._zip = zipfile.ZipFile(
            self._out,
            "w",
            compression=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED,
            compresslevel=_COMPRESS_LEVEL if compress else None,
        )
        self._zip.comment = comment
        self._member: IO[bytes] | None = None

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        header = npy_header(shape, dtype)
        info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH)
        info.compress_type = self._zip.compression
        info.external_attr = 0o644 << 16
        info.file_size = len(header) + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if self._zip.compression == zipfile.ZIP_DEFLATED:
            info._compresslevel = _COMPRESS_LEVEL  # type: ignore[attr-defined]
        self._member = self._zip.open(info, "w")
        self._member.write(header)

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._member is not None
        self._member.write(np.ascontiguousarray(data).data)

    def end(self) -> None:
        assert self._member is not None
        self._member.close()
        self._member = None

    def close(self) -> None:
        self._zip.close()

    def abort(self) -> None:
        """Give up after a failure: close everything, writing nothing more."""
        self._out.discard = True
        with contextlib.suppress(Exception):
            if self._member is not None:
                self._member.close()
            self._zip.close()


class NpyDirSink:
    """One ``.npy`` file per array in a folder (memory-mappable), plus ``manifest.json``."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self._folder = folder
        self._manifest = manifest
        self._files: list[str] = []
        self._file: IO[bytes] | None = None

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._files.append(f"{name}.npy")
        self._file = open(self._folder / f"{name}.npy", "wb")  # noqa: SIM115 - closed in end()
        self._file.write(npy_header(shape, dtype))

    def write(self, data: npt.NDArray[Any]) -> None:
        assert self._file is not None
        self._file.write(np.ascontiguousarray(data).data)

    def end(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        manifest = {**self._manifest, "files": sorted(self._files)}
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (self._folder / MANIFEST).write_text(text, encoding="utf-8")


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
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("tool") != "mnist-sprite":
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
