"""The CSV layout of Kaggle's Digit Recognizer: ``train.csv`` and ``test.csv``, a header
``label,pixel0,...,pixelN`` (pixel index = row * width + column), then one image per line.

Values are written as ``--dtype`` gives them: integers for uint8, and for floats the shortest
text that reads back to the same value of that type. Lines are assembled with numpy from a
table of the 256 possible values' texts, so 43 million values do not pass through Python one
by one.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from ..files import inside, open_source
from ..values import k_over_255, nearest_k
from .base import MANIFEST, Format, Member, SinkOptions, read_manifest, write_manifest


def value_texts(dtype: np.dtype[Any]) -> list[bytes]:
    """The text of each of the 256 values a pixel can take in ``dtype`` (``k`` or ``k / 255``)."""
    if dtype == np.uint8:
        return [str(k).encode() for k in range(256)]
    values = k_over_255(np.arange(256), dtype)  # as the pipeline makes them
    texts = [np.format_float_positional(v, unique=True, trim="-").encode() for v in values]
    for text, v in zip(texts, values, strict=True):  # read back through float64, as readers do
        assert dtype.type(float(text)) == v, (text, v)
    return texts


class _Table:
    """Byte texts laid out so a block of codes becomes CSV lines with two numpy steps."""

    def __init__(self, texts: list[bytes]) -> None:
        self.width = max(len(t) for t in texts) + 1  # + the separator
        table = np.zeros((len(texts), self.width), dtype=np.uint8)  # 0: padding, dropped
        for i, t in enumerate(texts):
            table[i, : len(t)] = np.frombuffer(t, np.uint8)
            table[i, len(t)] = ord(",")
        self.table = table

    def lines(
        self, label_codes: npt.NDArray[Any], codes: npt.NDArray[Any], labels: _Table
    ) -> bytes:
        """CSV lines: each label's text, then each value's, comma-separated, newline-ended."""
        k = codes.shape[0]
        width = max(self.width, labels.width)
        cells = np.zeros((k, 1 + codes.shape[1], width), dtype=np.uint8)
        cells[:, 0, : labels.width] = labels.table[label_codes]
        cells[:, 1:, : self.width] = self.table[codes]
        flat = cells.reshape(-1)
        text = flat[flat != 0]  # the texts and their separators, padding dropped
        lengths = (cells != 0).reshape(k, -1).sum(axis=1, dtype=np.int64)
        text[np.cumsum(lengths) - 1] = ord("\n")  # each line's last comma ends the line
        out: bytes = text.tobytes()
        return out


def codes_of(data: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """The 0..255 value each pixel stands for (``v`` for uint8, ``rint(v * 255)`` for floats)."""
    codes: npt.NDArray[np.intp] = nearest_k(data).astype(np.intp)
    return codes


class CsvSink:
    """``train.csv`` and ``test.csv``, each line a label and then its image's values."""

    def __init__(self, folder: Path, provenance: dict[str, Any]) -> None:
        self._folder = folder
        self._provenance = provenance
        self._files: list[str] = []
        self._file: IO[bytes] | None = None
        self._labels: npt.NDArray[np.intp] = np.empty(0, np.intp)  # the split's labels left
        self._values: _Table | None = None
        self._label_table = _Table([str(k).encode() for k in range(256)])

    def begin_split(
        self, name: str, x_shape: tuple[int, ...], x_dtype: np.dtype[Any], labels: npt.NDArray[Any]
    ) -> None:
        self._labels = np.asarray(labels).astype(np.intp)
        self._files.append(f"{name}.csv")
        self._file = open(self._folder / f"{name}.csv", "wb")  # noqa: SIM115 - closed in end_split()
        per_image = int(np.prod(x_shape[1:], dtype=np.int64))
        names = ",".join(f"pixel{i}" for i in range(per_image))
        self._file.write(f"label,{names}\n".encode())
        self._values = _Table(value_texts(x_dtype))

    def write(self, block: npt.NDArray[Any]) -> None:
        assert self._file is not None and self._values is not None
        k = block.shape[0]
        labels, self._labels = self._labels[:k], self._labels[k:]
        codes = codes_of(np.asarray(block).reshape(k, -1))
        self._file.write(self._values.lines(labels, codes, self._label_table))

    def end_split(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def abort(self) -> None:
        self.end_split()

    def close(self) -> None:
        write_manifest(self._folder, self._provenance, self._files)


def looks_like_csv(folder: Path) -> bool:
    # By name alone (stat, never open): a FIFO named train.csv is then refused by the reader.
    return folder.is_dir() and os.path.lexists(folder / "train.csv")


# Text read and parsed at once: numpy's parser runs over about this many bytes of whole lines.
_BLOCK_BYTES = 8 << 20
# The longest header line read: 'label,pixel0,...' names about 11 bytes per pixel, so this is
# room for images of 90,000 values (300x300 RGB), far above any dataset's.
_MAX_HEADER_BYTES = 1 << 20
_CELL_BYTES = 32  # the longest cell a line may hold: a float's shortest text is at most 25
_FIX_LINES = "give one label and then the pixel values on every line, as convert writes them"
_BOM = b"\xef\xbb\xbf"


class CsvReader:
    """``train.csv`` and ``test.csv`` read back, a block of lines at a time, parsed by numpy.

    Every line is ``label,v0,...,vN`` with exactly as many values as the header names; a file
    may end without its last newline and lines may end with CRLF. Anything else (another count
    of values, an empty line, a cell that is not a number of the recorded dtype, quotes, a
    byte-order mark, CR alone as line end) is refused naming the line.
    """

    kind = "csv"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._manifest = read_manifest(path)
        # Per file, keyed by its state (size, mtime, inode): its count of rows, and the labels
        # its last complete pixel read met on the way (so y after x reads nothing again).
        self._rows: dict[Path, tuple[tuple[int, int, int], int]] = {}
        self._labels: dict[Path, tuple[tuple[int, int, int], npt.NDArray[Any]]] = {}

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        splits = [s for s in ("train", "test") if os.path.lexists(self.path / f"{s}.csv")]
        return [f"{kind}_{s}" for s in splits for kind in ("x", "y")]

    def provenance(self) -> dict[str, Any] | None:
        return self._manifest

    def _dtype(self, name: str) -> np.dtype[Any]:
        arrays = (self._manifest or {}).get("arrays", {})
        recorded = arrays.get(name, {}).get("dtype") if isinstance(arrays, dict) else None
        try:
            dtype = np.dtype(recorded) if isinstance(recorded, str) else np.dtype(np.uint8)
        except TypeError:
            dtype = np.dtype(object)  # no dtype at all: refused below
        if dtype.kind not in "iuf" or dtype.itemsize > 8:
            raise SourceError(
                self.path / MANIFEST,
                f"records dtype {recorded!r} for {name}, which a CSV cannot hold",
                "convert again, or give the folder without its manifest.json",
            )
        return dtype

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        kind, split = name.split("_")
        path = self.path / f"{split}.csv"
        if not os.path.lexists(path):
            raise SourceError(self.path, f"has no {split}.csv", "give the whole folder")
        inside(self.path, path)  # a link out of the folder is never followed
        with open_source(path, self.path) as f:  # a FIFO, device or folder: refused by stat
            head = _header(f.readline(_MAX_HEADER_BYTES + 1), path)
            pixels = len(head) - 1
            st = os.fstat(f.fileno())
            state = (st.st_size, st.st_mtime_ns, st.st_ino)
            rows = self._count_rows(f, path, state)
            dtype = self._dtype(name)
            shape = (rows,) if kind == "y" else (rows, pixels)
            member = Member(name, shape, dtype)
            known = self._labels.get(path)
            if kind == "y" and known is not None and known[0] == state:
                yield member, iter([known[1].astype(dtype)])
                return
            f.seek(0)
            f.readline(_MAX_HEADER_BYTES + 1)
            if kind == "y":
                yield member, (v for v, _ in _pieces(f, path, member, head, _labels))
            else:
                label_type = self._dtype(f"y_{split}")
                yield member, self._values(f, path, member, head, state, label_type)

    def _values(
        self,
        f: IO[bytes],
        path: Path,
        member: Member,
        head: list[bytes],
        state: tuple[int, int, int],
        label_type: np.dtype[Any],
    ) -> Iterator[npt.NDArray[Any]]:
        """The pixels; the labels met on the way are kept when the read completes."""
        labels = []
        for values, first in _pieces(f, path, member, head, _values):
            labels.append(first)
            yield values
        column = np.concatenate(labels) if labels else np.empty(0)
        if column.dtype.kind in "iu" and label_type.kind in "iu":
            info = np.iinfo(label_type)
            if not column.size or (column.min() >= info.min and column.max() <= info.max):
                self._labels[path] = (state, column.astype(label_type))

    def _count_rows(self, f: IO[bytes], path: Path, state: tuple[int, int, int]) -> int:
        """Lines after the header (the last may lack its newline); counted once per file."""
        known = self._rows.get(path)
        if known is not None and known[0] == state:
            return known[1]
        rows = 0
        last = b"\n"
        for chunk in iter(lambda: f.read(_BLOCK_BYTES), b""):
            rows += int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == ord("\n")))
            last = chunk[-1:]
        rows += last != b"\n"
        self._rows[path] = (state, rows)
        return rows


def _header(line: bytes, path: Path) -> list[bytes]:
    """The header's cells, after refusing what is not this tool's kind of CSV."""
    if line.startswith(_BOM):
        raise SourceError(
            path,
            "starts with a byte-order mark (a UTF-8 BOM, as Excel's 'CSV UTF-8' writes)",
            "save it as plain CSV without a BOM",
        )
    if len(line) > _MAX_HEADER_BYTES:
        raise SourceError(
            path,
            f"has a first line longer than {_MAX_HEADER_BYTES:,} bytes (no header line)",
            "give a CSV with a 'label,pixel0,...' header line",
        )
    text = line[:-1] if line.endswith(b"\n") else line
    text = text[:-1] if text.endswith(b"\r") else text
    if b"\r" in text:
        raise SourceError(
            path,
            "ends its lines with CR alone (old Mac line ends), so it reads as one line",
            "save it with LF or CRLF line ends",
        )
    if b'"' in text:
        raise SourceError(
            path, 'line 1 holds quoted cells ("...")', "save it without quotes around cells"
        )
    head = text.split(b",")
    if head[0] != b"label":
        raise SourceError(path, "has no 'label,pixel0,...' header line", "convert again")
    if len(head) < 2:
        raise SourceError(
            path,
            "has a header that names no pixel columns",
            "give a CSV with a 'label,pixel0,...' header line",
        )
    return head


def _pieces(
    f: IO[bytes],
    path: Path,
    member: Member,
    head: list[bytes],
    parse: Callable[[bytes, int, Member, list[bytes], Path], _Parsed],
) -> Iterator[_Parsed]:
    """The values of ``member`` (and the label column, where read), a block of whole lines at
    a time."""
    line = 2  # the number of the block's first line (the header is line 1)
    longest = len(head) * _CELL_BYTES + 2
    per_line = 1 if len(member.shape) == 1 else member.shape[1]
    done = 0
    if member.shape[0] == 0:  # an empty split is one empty piece
        yield np.empty(0, dtype=member.dtype), np.empty(0, dtype=member.dtype)
    while True:
        block = f.read(_BLOCK_BYTES)
        if not block:
            break
        if not block.endswith(b"\n"):  # finish the last line of the block
            rest = f.readline(longest + 1)
            if len(rest) > longest:
                at = line + block.count(b"\n")
                raise SourceError(
                    path,
                    f"line {at} is longer than {longest:,} bytes, more "
                    f"than {len(head)} values can take",
                    _FIX_LINES,
                )
            block += rest
            if not block.endswith(b"\n"):  # the file's last line, without its newline
                block += b"\n"
        _check_text(block, line, path)
        values, labels = parse(block, line, member, head, path)
        count = values.size // per_line
        line += count
        done += count
        if done > member.shape[0]:
            break
        yield values, labels
    if done != member.shape[0]:
        raise SourceError(
            path, f"changed while it was read ({done} lines, not {member.shape[0]})", "read again"
        )


def _check_text(block: bytes, first: int, path: Path) -> None:
    """What numpy's parser would misread: CR alone, quotes (each found by one memchr scan;
    empty lines, which numpy skips, show as a count of rows short)."""

    def line_at(pos: int) -> int:
        return first + block.count(b"\n", 0, pos)

    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        pos = block.replace(b"\r\n", b"\n\n").find(b"\r")  # same offsets, CRLF masked out
        raise SourceError(
            path,
            f"line {line_at(pos)} holds a CR that does not end it (old Mac line ends?)",
            "save it with LF or CRLF line ends",
        )
    pos = block.find(b'"')
    if pos >= 0:
        raise SourceError(
            path,
            f'line {line_at(pos)} holds quoted cells ("...")',
            "save it without quotes around cells",
        )


_Parsed = tuple[npt.NDArray[Any], npt.NDArray[Any]]  # (values, the label column)


def _values(block: bytes, first: int, member: Member, head: list[bytes], path: Path) -> _Parsed:
    """The pixel values of a block of lines, flat, parsed by numpy (checked line by line only
    when numpy refuses them, to say which line and why)."""
    parse_as = np.float64 if member.dtype.kind == "f" else member.dtype
    rows = int(np.count_nonzero(np.frombuffer(block, np.uint8) == ord("\n")))  # ends with one
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an empty input's warning is a refusal too
            # From a file object numpy reads the bytes in its own chunks: faster than a list
            # of lines (65 ms against 80 ms for 8 MiB of MNIST's lines), and no list is made.
            table = np.loadtxt(
                io.BytesIO(block),
                delimiter=",",
                dtype=parse_as,
                comments=None,
                ndmin=2,
                encoding=None,
            )
    except ValueError as e:
        _diagnose(block.splitlines(), first, member, head, path, str(e))
    if table.shape != (rows, len(head)):  # an empty line, or one wrong count throughout
        _diagnose(block.splitlines(), first, member, head, path, "")
    values: npt.NDArray[Any] = table[:, 1:].reshape(-1)
    return values.astype(member.dtype, copy=False), table[:, 0].copy()  # not a view: small


def _labels(block: bytes, first: int, member: Member, head: list[bytes], path: Path) -> _Parsed:
    """The first cell of each line, read from the bytes around each line start, without
    parsing the pixels (a label of 1 to 3 digits; anything else is read line by line)."""
    a = np.frombuffer(block + b"\0\0\0", dtype=np.uint8)
    ends = np.flatnonzero(a == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1))
    digits = [a[starts + k].astype(np.int16) - ord("0") for k in range(3)]
    comma = [a[starts + k] == ord(",") for k in (1, 2, 3)]
    length = np.where(comma[0], 1, np.where(comma[1], 2, np.where(comma[2], 3, 0)))
    ok = length > 0
    value = np.zeros(len(starts), np.int64)
    for k in range(3):
        used = k < length
        ok &= ~used | ((digits[k] >= 0) & (digits[k] <= 9))
        value = np.where(used, value * 10 + digits[k], value)
    if member.dtype.kind in "iu":
        info = np.iinfo(member.dtype)
        ok &= (value >= info.min) & (value <= info.max)
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        rest = block.split(b"\n")[bad : len(starts)]
        _diagnose([r.rstrip(b"\r") for r in rest], first + bad, member, head, path, "", True)
    labels = value.astype(member.dtype)
    return labels, labels


def _diagnose(
    lines: list[bytes],
    first: int,
    member: Member,
    head: list[bytes],
    path: Path,
    numpy_says: str,
    labels_only: bool = False,
) -> NoReturn:
    """Find the first bad line of ``lines`` (line ``first`` onward) and refuse it by name."""
    whole = member.dtype.kind in "iu"
    info = np.iinfo(member.dtype) if whole else None
    for n, line in enumerate(lines, start=first):
        if not line.strip():
            raise SourceError(path, f"line {n} is empty", _FIX_LINES)
        cells = line.rstrip(b"\r").split(b",")
        if len(cells) == 1:
            raise SourceError(path, f"line {n} holds only a label, no pixel values", _FIX_LINES)
        if not labels_only and len(cells) != len(head):
            raise SourceError(
                path,
                f"line {n} holds {len(cells)} values where the header names a label and "
                f"{len(head) - 1} pixels",
                _FIX_LINES,
            )
        for c, cell in enumerate(cells[:1] if labels_only else cells):
            where = f"line {n}, cell {c + 1} ({head[c].decode('ascii', 'replace')})"
            text = cell.decode("utf-8", "replace")
            try:
                value: float = int(cell) if whole or c == 0 else float(cell)
            except ValueError:
                kind = f"a whole number from {info.min} to {info.max}" if info else "a number"
                raise SourceError(
                    path,
                    f"{where} holds {text!r}, which is not {kind}",
                    f"give {member.dtype} values, as convert --format csv writes them",
                ) from None
            if info is not None and not info.min <= value <= info.max:
                raise SourceError(
                    path,
                    f"line {n} holds {value}, outside {info.min}..{info.max} of {member.dtype} "
                    f"({where.split(', ', 1)[1]})",
                    "give values that fit the recorded dtype",
                )
    last = first + len(lines) - 1
    raise SourceError(
        path,
        f"lines {first} to {last} cannot be read ({numpy_says or 'unknown reason'})",
        _FIX_LINES,
    )


def _open_sink(folder: Path, provenance: dict[str, Any], options: SinkOptions) -> CsvSink:
    return CsvSink(folder, provenance)


FORMAT = Format.of_folder("csv", looks_like_csv, CsvReader, _open_sink)
