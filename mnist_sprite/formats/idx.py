"""The IDX format of the original MNIST files, as torchvision, idx2numpy and python-mnist read it.

Per split an images file and a labels file: ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``. Each is a
big-endian header, magic ``0x00 0x00 0x08 ndim`` (0x08: unsigned bytes) then ``ndim`` uint32
sizes, then the values in C order. Colour images have a 4th dimension of 3 (``idx4``), which
readers made for MNIST do not expect. ``--layout torchvision`` puts the files where
``torchvision.datasets.MNIST(root=DIR)`` (or ``FashionMNIST``) looks: ``DIR/MNIST/raw/``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..datasets import ORIGINALS
from ..deflate import AUTO, DEFAULT_LEVEL, DEFAULT_MEM_LEVEL, Deflater
from ..errors import SourceError
from ..files import check_size, inside, is_regular, open_source
from .base import (
    ARRAY_NAMES,
    DEFLATE_MAX_RATIO,
    MANIFEST,
    MAX_ARRAY_BYTES,
    ArraySink,
    Format,
    Member,
    SinkOptions,
    file_head,
    pieces_of,
    read_manifest,
    write_manifest,
)

UBYTE = 0x08
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}
# torchvision's class for each dataset: its raw folder is DIR/<class>/raw (MNIST otherwise).
TORCHVISION_CLASS = {
    "fashion-mnist": "FashionMNIST",
    **{name: ds.torchvision for name, ds in ORIGINALS.items()},
}


def file_name(array: str, ndim: int) -> str:
    """``x_train`` -> ``train-images-idx3-ubyte``; ``y_test`` -> ``t10k-labels-idx1-ubyte``."""
    kind, split = array.split("_")
    what = "images" if kind == "x" else "labels"
    return f"{_SPLIT_PREFIX[split]}-{what}-idx{ndim}-ubyte"


def folder_for(layout: str, dataset: str | None) -> str:
    """The sub-folder the files go in: none, or torchvision's ``MNIST/raw``."""
    if layout == "plain":
        return ""
    return f"{TORCHVISION_CLASS.get(dataset or '', 'MNIST')}/raw"


def header(shape: tuple[int, ...]) -> bytes:
    return bytes((0, 0, UBYTE, len(shape))) + struct.pack(f">{len(shape)}I", *shape)


class GzipMember:
    """One gzip member (RFC 1952) written through the tool's parallel deflate: the header as
    ``gzip.GzipFile`` writes it with mtime 0 and no file name (same inputs, same bytes), the
    deflate stream, then CRC-32 and size."""

    def __init__(
        self,
        raw: IO[bytes],
        *,
        level: int = DEFAULT_LEVEL,
        workers: int | None = None,
        strategy: int = zlib.Z_DEFAULT_STRATEGY,
    ) -> None:
        self._raw = raw
        self._deflater = Deflater(
            level, workers=workers, strategy=strategy, mem_level=DEFAULT_MEM_LEVEL
        )
        self._crc = 0
        self._size = 0
        xfl = 2 if level == 9 else 4 if level == 1 else 0  # as gzip.GzipFile: best or fastest
        self._raw.write(b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + bytes((xfl, 255)))

    def write(self, data: Any) -> int:
        with memoryview(data) as view, view.cast("B") as flat:
            self._crc = zlib.crc32(flat, self._crc)
            self._size += flat.nbytes
            self._raw.write(self._deflater.compress(flat))
            return flat.nbytes

    def close(self) -> None:
        """End the member (the file it writes into stays open)."""
        self._raw.write(self._deflater.flush())
        self._raw.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))

    def abort(self) -> None:
        self._deflater.close()


class IdxSink(ArraySink):
    """The four IDX files, raw, gzipped (``compress``) or both (``both``)."""

    def __init__(
        self,
        folder: Path,
        provenance: dict[str, Any],
        *,
        sub: str = "",
        compress: bool = False,
        both: bool = False,
        workers: int | None = None,
    ) -> None:
        self._root = folder
        self._workers = workers
        self._dir = folder / sub if sub else folder
        self._dir.mkdir(parents=True, exist_ok=True)
        self._sub = sub
        self._provenance = provenance
        self._gz, self._raw = compress, both or not compress
        self._files: list[str] = []
        self._writers: list[IO[bytes]] = []  # where the values go
        self._closers: list[IO[bytes]] = []  # closed in this order: a gzip stream, then its file

    def begin_array(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        assert dtype == np.uint8, "IDX holds bytes: the format layer allows only uint8"
        base = file_name(name, len(shape))
        if self._raw:
            f = self._start(base)
            self._writers.append(f)
            self._closers.append(f)
        if self._gz:
            raw = self._start(base + ".gz")
            # Label digits are near-random bytes: short matches cost more than they save, and
            # Z_FILTERED keeps them out (MNIST's 55,000 train labels: 23,441 bytes against
            # 26,547). Images take the engine's choice: Z_RLE for digits on a blank ground.
            labels = name.startswith("y_")
            strategy = zlib.Z_FILTERED if labels else AUTO
            g = GzipMember(raw, workers=self._workers, strategy=strategy)
            self._writers.append(g)  # type: ignore[arg-type]
            self._closers += [g, raw]  # type: ignore[list-item]
        for w in self._writers:
            w.write(header(shape))

    def _start(self, name: str) -> IO[bytes]:
        self._files.append(f"{self._sub}/{name}" if self._sub else name)
        return open(self._dir / name, "wb")

    def write(self, data: npt.NDArray[Any]) -> None:
        block = np.ascontiguousarray(data).data
        for w in self._writers:
            w.write(block)

    def end_array(self) -> None:
        for c in self._closers:
            c.close()
        self._writers, self._closers = [], []

    def abort(self) -> None:
        for c in self._closers:
            if isinstance(c, GzipMember):
                c.abort()
            else:
                c.close()
        self._writers, self._closers = [], []

    def close(self) -> None:
        write_manifest(self._root, self._provenance, self._files)


_MAX_LISTED = 16  # IDX files a manifest may list: four arrays, raw or gzipped, with room


def find_files(folder: Path) -> dict[str, Path]:
    """The IDX files of a folder by array name: from its manifest, else by their names in the
    folder or in ``*/raw`` (torchvision's layout), raw files before gzipped ones. Every one
    is inside the folder (a name or link leading out of it is refused)."""
    manifest = read_manifest(folder)
    candidates: list[Path] = []
    if manifest is not None and isinstance(manifest.get("files"), list):
        # Only names that can be IDX files become paths: a manifest of a million other
        # entries costs a string test each, not a path and a resolve.
        listed = [str(f) for f in manifest["files"]]
        names = [f for f in listed if f.endswith(("-ubyte", "-ubyte.gz"))]
        if len(names) > _MAX_LISTED:
            raise SourceError(
                folder / MANIFEST,
                f"lists {len(names):,} IDX files, where an IDX output has four (and their .gz)",
                "give the folder convert wrote",
            )
        candidates = [folder / f for f in names]
    else:
        for place in (folder, *sorted(p for p in folder.glob("*/raw") if p.is_dir())):
            candidates += sorted(p for p in place.iterdir() if not p.is_dir())
    found: dict[str, Path] = {}
    # The folder's own files before */raw's, raw before gzipped in each place.
    for path in sorted(candidates, key=lambda p: (p.parent != folder, p.name.endswith(".gz"))):
        name = path.name.removesuffix(".gz")
        for array in ARRAY_NAMES:
            kind, split = array.split("_")
            what = "images" if kind == "x" else "labels"
            if name.startswith(f"{_SPLIT_PREFIX[split]}-{what}-idx") and name.endswith("-ubyte"):
                found.setdefault(array, inside(folder, path))
    return found


def _to_the_end(
    pieces: Iterator[npt.NDArray[Any]], f: IO[bytes], path: Path
) -> Iterator[npt.NDArray[Any]]:
    """The values, then the file read to its end: nothing after them, and (gzip) its CRC."""
    try:
        yield from pieces
        if f.read(1):
            raise SourceError(
                path, "has data after the values its header declares", "give intact IDX files"
            )
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise SourceError(path, f"is damaged ({e})", "give intact IDX files") from None


def _same_as(
    pieces: Iterator[npt.NDArray[Any]], twin: Path, header_bytes: int, root: Path
) -> Iterator[npt.NDArray[Any]]:
    """The raw file's values, then a check that its .gz copy holds the same bytes (read no
    further than one byte past them, so a bomb of a copy costs nothing)."""
    digest = hashlib.sha256()
    size = 0
    for piece in pieces:
        digest.update(piece.tobytes())
        size += piece.nbytes
        yield piece
    copy = hashlib.sha256()
    try:
        with open_source(twin, root) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as g:
            g.read(header_bytes)
            left = size + 1
            while left:
                block = g.read(min(1 << 20, left))
                if not block:
                    break
                left -= len(block)
                copy.update(block)
    except (OSError, EOFError, zlib.error) as e:
        raise SourceError(twin, f"is damaged ({e})", "give intact IDX files") from None
    if copy.digest() != digest.digest():
        raise SourceError(twin, f"does not hold the same values as {twin.stem}", "convert again")


def looks_like_idx(folder: Path) -> bool:
    return folder.is_dir() and {"x_train", "x_test"} <= set(find_files(folder))


def looks_like_idx_file(path: Path, head: bytes, size: int) -> bool:
    """One raw IDX file of bytes (``train-images-idx3-ubyte``): its header's dimensions
    account for exactly the bytes present."""
    if len(head) < 8 or head[:2] != b"\0\0" or head[2] != UBYTE or not 1 <= head[3] <= 4:
        return False
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        return False
    dims = struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim])
    return bool(size == 4 + 4 * ndim + math.prod(dims))


def _lone_name(path: Path, ndim: int) -> str:
    """The array a lone IDX file holds, by its name (MNIST's), else images or labels by
    its dimensions, training split."""
    for array in ARRAY_NAMES:
        kind, split = array.split("_")
        what = "images" if kind == "x" else "labels"
        if path.name.startswith(f"{_SPLIT_PREFIX[split]}-{what}-idx"):
            return array
    return "x_train" if ndim > 1 else "y_train"


class IdxReader:
    """A folder of IDX files (this tool's, torchvision's raw folder, or MNIST's own)."""

    kind = "idx"

    def __init__(self, path: Path, files: dict[str, Path] | None = None) -> None:
        """``path``: a folder (its files found by their names), or one IDX file. ``files``:
        exactly these, by array name, and no other (a dataset's cached files, which fetch
        verified by their digests: no manifest, no search, no twins)."""
        self.path = path
        self._root: Path | None = path
        self._twins: dict[str, Path] = {}
        if files is not None:
            self._files, self._lone, self._root = files, True, None
            return
        if not path.is_dir():  # one IDX file, read as the one array it holds
            with open_source(path) as f:
                ndim = f.read(4)[3:4]
            self.path = path.parent
            self._files = {_lone_name(path, ndim[0] if ndim else 1): path}
            self._lone = True
            return
        self._lone = False
        self._files = find_files(path)
        # A raw file's .gz copy beside it (torchvision's layout with --compress) must agree.
        self._twins = {
            name: inside(path, p.with_name(p.name + ".gz"))
            for name, p in self._files.items()
            if p.suffix != ".gz" and is_regular(p.with_name(p.name + ".gz"))
        }

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        return [n for n in ("x_train", "y_train", "x_test", "y_test") if n in self._files]

    def path_of(self, name: str) -> Path | None:
        """The file that holds array ``name``, if any."""
        return self._files.get(name)

    def provenance(self) -> dict[str, Any] | None:
        return None if self._lone else read_manifest(self.path)

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        path = self._files.get(name)
        if path is None:
            raise SourceError(self.path, f"has no IDX file for {name}", "give the whole folder")
        gz = path.suffix == ".gz"
        with open_source(path, self._root) as raw:
            stored = os.fstat(raw.fileno()).st_size
            f: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw  # type: ignore[assignment]
            with f:
                member = self._header(f, name, path)
                header_bytes = 4 + 4 * len(member.shape)
                # A gzip stream holds at most deflate's ratio times its bytes.
                present = stored * DEFLATE_MAX_RATIO + 64 if gz else stored - header_bytes
                check_size(path, f"its IDX header {member.shape}", member.size,
                           max(present, 0), MAX_ARRAY_BYTES)  # fmt: skip
                if not gz and present != member.size:
                    raise SourceError(
                        path,
                        f"holds {present:,} bytes of values, but its IDX header declares "
                        f"{member.size:,}",
                        "give intact IDX files",
                    )
                pieces = _to_the_end(pieces_of(f, member, path), f, path)
                twin = self._twins.get(name)
                yield (
                    member,
                    pieces if twin is None else _same_as(pieces, twin, header_bytes, self.path),
                )

    @staticmethod
    def _header(f: IO[bytes], name: str, path: Path) -> Member:
        try:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\0\0":
                raise SourceError(path, "is not an IDX file (bad magic number)", "give IDX files")
            if magic[2] != UBYTE:
                raise SourceError(
                    path,
                    f"holds IDX type 0x{magic[2]:02X}, not unsigned bytes (0x08)",
                    "give IDX files of bytes, as MNIST's are",
                )
            ndim = magic[3]
            dims = f.read(4 * ndim)
        except (OSError, EOFError, zlib.error) as e:  # a broken gzip stream
            raise SourceError(path, f"cannot be read ({e})", "give intact IDX files") from None
        if ndim < 1 or len(dims) != 4 * ndim:
            raise SourceError(path, "has a truncated IDX header", "give intact IDX files")
        return Member(name, struct.unpack(f">{ndim}I", dims), np.dtype(np.uint8))


def _sniff(path: Path) -> bool:
    """An IDX folder, or one raw IDX file."""
    if path.is_dir():
        return looks_like_idx(path)
    head = file_head(path)
    return head is not None and looks_like_idx_file(path, *head)


def _open_sink(folder: Path, provenance: dict[str, Any], options: SinkOptions) -> IdxSink:
    sub = folder_for(options.layout, provenance.get("dataset"))
    both = options.compress and options.layout == "torchvision"  # torchvision reads the raw files
    return IdxSink(folder, provenance, sub=sub, compress=options.compress, both=both)


FORMAT = Format.of_folder("idx", _sniff, IdxReader, _open_sink)
