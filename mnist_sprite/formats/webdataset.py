"""WebDataset tar shards: ``OUT/<split>-000000.tar``, ... Each image is one sample, a
``<key>.png`` and a ``<key>.cls`` (its class id as text), keys the zero-padded index of the
image in its split, at most ``shard_rows`` samples a shard. Written with the standard
library's tarfile, deterministically (members in key order, mtime 0, uid and gid 0, no user
names), as ``webdataset`` and ``datasets.load_dataset("webdataset")`` read them.

Read back (by inspect, verify and pack) under the guard layer's rules: every member a regular
file with a plain name (no link, no folder, no ``..``), its size checked against what is left
of the file before it is read, every key a ``.png`` and a ``.cls`` and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..deflate import available_cores
from ..errors import SourceError
from ..files import inside, is_regular, open_source, plain_name
from ..png.memory import decode_png
from .base import (
    Format,
    Member,
    SinkOptions,
    read_manifest,
    write_manifest,
)
from .images import encode_pngs, image_member

SHARD_ROWS = 10_000  # samples a shard, by default
KEY_DIGITS = 6
_SHARD = re.compile(r"(train|test)-(\d{6})\.tar")
MAX_MEMBER_BYTES = 64 << 20
MAX_IMAGE_PIXELS = 1 << 24
_FIX = "give the tar shards convert wrote (a .png and a .cls for each key)"


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


# After the checksum: type 0 (a regular file), no link, ustar's magic and version, no user
# or group names, no device numbers (as Python 3.12's tarfile leaves them for a file).
_TAIL = b"0" + bytes(100) + b"ustar\x0000" + bytes(64) + bytes(16) + bytes(167)
_MODE_IDS = b"0000644\x00" + b"0000000\x00" * 2  # mode 0644, uid 0, gid 0
_MTIME = b"00000000000\x00"
# The checksum is the sum of the header's bytes, its own field counted as spaces: all but the
# name and the size are the same in every header, summed once here.
_FIXED_SUM = sum(_MODE_IDS) + sum(_MTIME) + 8 * 0x20 + sum(_TAIL)
_BLOCK, _RECORD = 512, 20 * 512  # tar's block, and the record tarfile pads an archive to


def member_header(name: str, size: int) -> bytes:
    """The ustar header tarfile writes for a regular file (mode 0644, uid and gid 0, no user
    names, mtime 0): built directly, as tarfile's TarInfo costs more than the PNG it heads."""
    encoded, size_field = name.encode("ascii"), b"%011o\x00" % size
    checksum = _FIXED_SUM + sum(encoded) + sum(size_field)
    head = encoded.ljust(100, b"\x00") + _MODE_IDS + size_field + _MTIME
    return head + b"%06o\x00 " % checksum + _TAIL


def member(name: str, data: bytes) -> bytes:
    """A member: its header, its bytes, zeros to the next block."""
    return member_header(name, len(data)) + data + bytes(-len(data) % _BLOCK)


class _Shard:
    """One tar file being written; ``close`` ends it as tarfile does."""

    def __init__(self, path: Path) -> None:
        # kept open across writes, closed by close(); 1 MiB buffered, where a sample is ~1.5 KB
        self._f = open(path, "xb", buffering=1 << 20)  # noqa: SIM115
        self._size = 0

    def write(self, data: bytes) -> None:
        self._f.write(data)
        self._size += len(data)

    def close(self) -> None:
        end = 2 * _BLOCK
        self.write(bytes(end + -(self._size + end) % _RECORD))
        self._f.close()


class WebDatasetSink:
    """Each split as tar shards of ``shard_rows`` samples, each an image and its label."""

    def __init__(
        self,
        folder: Path,
        provenance: dict[str, Any],
        classes: Sequence[str],
        shard_rows: int = SHARD_ROWS,
        workers: int | None = None,
    ) -> None:
        self._folder = folder
        self._provenance = provenance
        self._shard_rows = shard_rows
        self._workers = available_cores() if workers is None else workers
        self._files: list[str] = []
        self._labels: npt.NDArray[np.int64] = np.empty(0, np.int64)
        self._split = ""
        self._shape: tuple[int, ...] = ()
        self._index = 0
        self._tar: _Shard | None = None

    def begin_split(
        self, name: str, x_shape: tuple[int, ...], x_dtype: np.dtype[Any], labels: npt.NDArray[Any]
    ) -> None:
        assert x_dtype == np.uint8, "PNG holds bytes: the format layer allows only uint8"
        self._split, self._shape, self._index = name, x_shape[1:], 0
        self._labels = np.asarray(labels, np.int64)
        if x_shape[0] == 0:  # an empty split is one empty shard, so it is still there
            self._open(0)

    def _open(self, shard: int) -> None:
        self._close_tar()
        relative = shard_name(self._split, shard)
        self._files.append(relative)
        self._tar = _Shard(self._folder / relative)

    def _close_tar(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def write(self, block: npt.NDArray[Any]) -> None:
        for png in encode_pngs(block, self._shape, self._workers):
            if self._index % self._shard_rows == 0:
                self._open(self._index // self._shard_rows)
            assert self._tar is not None
            key = f"{self._index:0{KEY_DIGITS}d}"
            label = str(int(self._labels[self._index])).encode()
            self._tar.write(member(f"{key}.cls", label) + member(f"{key}.png", png))
            self._index += 1

    def end_split(self) -> None:
        self._close_tar()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._close_tar()

    def close(self) -> None:
        self._close_tar()
        write_manifest(self._folder, self._provenance, self._files)


# -- reading -----------------------------------------------------------------------------


def shard_files(folder: Path) -> dict[str, list[Path]]:
    """The tar shards of a folder by split, in order; each a regular file inside it."""
    found: dict[str, list[tuple[int, Path]]] = {}
    for entry in sorted(folder.iterdir()):
        match = _SHARD.fullmatch(entry.name)
        if match is None:
            continue
        if not is_regular(entry):
            raise SourceError(entry, "is not a regular file", _FIX)
        inside(folder, entry)
        found.setdefault(match.group(1), []).append((int(match.group(2)), entry))
    out: dict[str, list[Path]] = {}
    for split in ("train", "test"):
        if split in found:
            numbers = [n for n, _ in sorted(found[split])]
            if numbers != list(range(len(numbers))):
                raise SourceError(
                    folder, f"its {split} shards are not numbered 0 to {len(numbers) - 1}", _FIX
                )
            out[split] = [p for _, p in sorted(found[split])]
    return out


def looks_like_webdataset(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    try:
        return bool(shard_files(folder))
    except (OSError, SourceError):
        return True  # the reader names what it refuses


def samples(path: Path, root: Path) -> Iterator[tuple[str, bytes, bytes]]:
    """(key, PNG bytes, class text) of each sample of one shard, in order; every member
    checked before its bytes are read."""
    with open_source(path, root) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            tar = tarfile.open(fileobj=f, mode="r:")  # noqa: SIM115 - entered just below
        except tarfile.TarError as e:
            raise SourceError(path, f"is not a tar file ({e})", _FIX) from None
        with tar:
            pending: dict[str, dict[str, bytes]] = {}
            order: list[str] = []
            while True:
                try:
                    info = tar.next()
                except tarfile.TarError as e:
                    raise SourceError(path, f"is damaged ({e})", _FIX) from None
                if info is None:
                    break
                name = info.name
                if not info.isreg():
                    raise SourceError(
                        path, f"member {name!r} is not a regular file (a link or folder)", _FIX
                    )
                if not plain_name(name) or name.startswith("."):
                    raise SourceError(path, f"member {name!r} is not a plain file name", _FIX)
                key, _, ext = name.partition(".")
                if ext not in ("png", "cls"):
                    raise SourceError(path, f"member {name!r} is not a .png or .cls", _FIX)
                if info.size > MAX_MEMBER_BYTES or info.offset_data + info.size > size:
                    raise SourceError(
                        path,
                        f"member {name!r} declares {info.size:,} bytes, more than the file holds",
                        _FIX,
                    )
                handle = tar.extractfile(info)
                assert handle is not None
                data = handle.read()
                if len(data) != info.size:
                    raise SourceError(path, f"member {name!r} is truncated", _FIX)
                if key not in pending:
                    if order and order[-1] in pending and len(pending[order[-1]]) < 2:
                        raise _unpaired(path, order[-1], pending[order[-1]])
                    pending[key] = {}
                    order.append(key)
                if ext in pending[key]:
                    raise SourceError(path, f"member {name!r} is there twice", _FIX)
                pending[key][ext] = data
                if len(pending[key]) == 2:
                    sample = pending.pop(key)
                    yield key, sample["png"], sample["cls"]
            if pending:
                key = next(iter(pending))
                raise _unpaired(path, key, pending[key])


def _unpaired(path: Path, key: str, found: dict[str, bytes]) -> SourceError:
    other = "cls" if "png" in found else "png"
    return SourceError(path, f"key {key} has no {key}.{other} beside it", _FIX)


class WebDatasetReader:
    """A folder of tar shards read as x/y arrays: images from their PNG bytes by this tool's
    decoder, labels from the ``.cls`` text."""

    kind = "webdataset"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._files = shard_files(path)
        if not self._files:
            raise SourceError(path, "holds no <split>-NNNNNN.tar shard", _FIX)

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        return [f"{xy}_{s}" for s in self._files for xy in ("x", "y")]

    def provenance(self) -> dict[str, Any] | None:
        return read_manifest(self.path)

    def _samples(self, split: str) -> Iterator[tuple[str, bytes, bytes]]:
        for shard in self._files[split]:
            for key, png, cls in samples(shard, self.path):
                yield f"{shard} member {key}.png", png, cls

    def _count(self, split: str) -> int:
        return sum(1 for _ in self._keys(split))

    def _keys(self, split: str) -> Iterator[str]:
        for shard in self._files[split]:
            with open_source(shard, self.path) as f, tarfile.open(fileobj=f, mode="r:") as tar:
                for info in tar:
                    if info.name.endswith(".cls"):
                        yield info.name

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        kind, split = name.split("_")
        if split not in self._files:
            raise SourceError(self.path, f"has no {split} shard", "give the whole folder")
        if kind == "y":
            ids = []
            for where, _, cls in self._samples(split):
                text = cls.strip()
                if not text.isdigit() or int(text) > 254:
                    raise SourceError(
                        where.replace(".png", ".cls"),
                        f"holds {cls[:20]!r}, not a class id 0 to 254",
                        _FIX,
                    )
                ids.append(int(text))
            labels = np.array(ids, dtype=np.uint8)
            yield Member(name, labels.shape, labels.dtype), iter([labels])
            return
        images = (
            (where, decode_png(png, where, MAX_IMAGE_PIXELS))
            for where, png, _ in self._samples(split)
        )
        yield image_member(name, self._count(split), images, self.provenance())


def _open_sink(folder: Path, provenance: dict[str, Any], options: SinkOptions) -> WebDatasetSink:
    classes = options.classes or [str(i) for i in range(10)]
    return WebDatasetSink(folder, provenance, classes, options.shard_rows or SHARD_ROWS)


FORMAT = Format.of_folder("webdataset", looks_like_webdataset, WebDatasetReader, _open_sink)
