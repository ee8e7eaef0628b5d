"""The CSV layout of Kaggle's Digit Recognizer: ``train.csv`` and ``test.csv``, a header
``label,pixel0,...,pixelN`` (pixel index = row * width + column), then one image per line.

Values are written as ``--dtype`` gives them: integers for uint8, and for floats the shortest
text that reads back to the same value of that type. Lines are assembled with numpy from a
table of the 256 possible values' texts, so 43 million values do not pass through Python one
by one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..errors import SourceError
from .base import Member, read_manifest, write_manifest

_LINES_PER_PIECE = 2000


def value_texts(dtype: np.dtype[Any]) -> list[bytes]:
    """The text of each of the 256 values a pixel can take in ``dtype`` (``k`` or ``k / 255``)."""
    if dtype == np.uint8:
        return [str(k).encode() for k in range(256)]
    values = np.divide(np.arange(256), dtype.type(255), dtype=dtype)  # as the pipeline makes them
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
    if data.dtype == np.uint8:
        return data.astype(np.intp)
    codes: npt.NDArray[np.intp] = np.rint(data.astype(np.float64) * 255).astype(np.intp)
    return codes


class CsvSink:
    """``train.csv`` and ``test.csv``; labels arrive first so each line can start with one."""

    labels_first = True

    def __init__(self, folder: Path, provenance: dict[str, Any]) -> None:
        self._folder = folder
        self._provenance = provenance
        self._files: list[str] = []
        self._file: IO[bytes] | None = None
        self._labels: list[npt.NDArray[Any]] = []
        self._pending: npt.NDArray[Any] | None = None  # this split's labels, not yet written
        self._values: _Table | None = None
        self._label_table = _Table([str(k).encode() for k in range(256)])
        self._name = ""

    def begin(self, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._name = name
        if name.startswith("y_"):
            self._labels = []
            return
        split = name[2:]
        self._pending = np.concatenate(self._labels) if self._labels else np.empty(0, np.intp)
        self._files.append(f"{split}.csv")
        self._file = open(self._folder / f"{split}.csv", "wb")  # noqa: SIM115 - closed in end()
        per_image = int(np.prod(shape[1:], dtype=np.int64))
        names = ",".join(f"pixel{i}" for i in range(per_image))
        self._file.write(f"label,{names}\n".encode())
        self._values = _Table(value_texts(dtype))

    def write(self, data: npt.NDArray[Any]) -> None:
        if self._name.startswith("y_"):
            self._labels.append(np.asarray(data).astype(np.intp))
            return
        assert self._file is not None and self._values is not None and self._pending is not None
        k = data.shape[0]
        labels, self._pending = self._pending[:k], self._pending[k:]
        codes = codes_of(np.asarray(data).reshape(k, -1))
        self._file.write(self._values.lines(labels, codes, self._label_table))

    def end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def abort(self) -> None:
        self.end()

    def close(self) -> None:
        write_manifest(self._folder, self._provenance, self._files)


def looks_like_csv(folder: Path) -> bool:
    return folder.is_dir() and (folder / "train.csv").is_file()


class CsvReader:
    """``train.csv`` and ``test.csv`` read back, a block of lines at a time."""

    kind = "csv"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._manifest = read_manifest(path)

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        splits = [s for s in ("train", "test") if (self.path / f"{s}.csv").is_file()]
        return [f"{kind}_{s}" for s in splits for kind in ("x", "y")]

    def provenance(self) -> dict[str, Any] | None:
        return self._manifest

    def _dtype(self, name: str) -> np.dtype[Any]:
        arrays = (self._manifest or {}).get("arrays", {})
        recorded = arrays.get(name, {}).get("dtype") if isinstance(arrays, dict) else None
        return np.dtype(recorded) if isinstance(recorded, str) else np.dtype(np.uint8)

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        kind, split = name.split("_")
        path = self.path / f"{split}.csv"
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise SourceError(self.path, f"has no {split}.csv", "give the whole folder") from None
        with f:
            head = f.readline().rstrip(b"\r\n").split(b",")
            if head[:1] != [b"label"]:
                raise SourceError(path, "has no 'label,pixel0,...' header line", "convert again")
            rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
            f.seek(0)
            f.readline()
            pixels = len(head) - 1
            if kind == "y":
                member = Member(name, (rows,), self._dtype(name))
            else:
                member = Member(name, (rows, pixels), self._dtype(name))
            yield member, self._pieces(f, path, member, kind == "y", pixels)

    @staticmethod
    def _pieces(
        f: IO[bytes], path: Path, member: Member, labels: bool, pixels: int
    ) -> Iterator[npt.NDArray[Any]]:
        first = 0  # lines read so far, after the header
        while True:
            lines = [line for line in (f.readline() for _ in range(_LINES_PER_PIECE)) if line]
            if not lines:
                return
            if labels:
                cells = [line.split(b",", 1)[0] for line in lines]
            else:
                cells = b",".join(line.rstrip(b"\r\n").split(b",", 1)[1] for line in lines).split(
                    b","
                )
                if len(cells) != len(lines) * pixels:
                    raise SourceError(path, "has lines of different lengths", "convert again")
            try:
                values = np.array(cells).astype(
                    np.float64 if member.dtype.kind == "f" else np.int64
                )
            except ValueError as e:
                raise SourceError(
                    path, f"holds a value that is not a number ({e})", "convert again"
                ) from None
            if member.dtype.kind in "iu":
                info = np.iinfo(member.dtype)
                bad = np.flatnonzero((values < info.min) | (values > info.max))
                if bad.size:
                    line = first + 2 + int(bad[0]) // (1 if labels else pixels)
                    raise SourceError(
                        path,
                        f"line {line} holds {values[bad[0]]}, outside {info.min}..{info.max} "
                        f"of {member.dtype}",
                        "give values that fit the recorded dtype",
                    )
            first += len(lines)
            yield values.astype(member.dtype)
