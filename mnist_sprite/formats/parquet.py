"""The Hugging Face Hub's Parquet layout: ``OUT/<config>/<split>-00000-of-00001.parquet`` with
``image: struct<bytes: binary, path: string>`` (one PNG each) and ``label: int64``, the schema
metadata ``datasets`` reads as ``Image()`` and ``ClassLabel(names=...)`` features, and a
``README.md`` dataset card whose ``configs`` block makes a Hub upload of OUT a dataset.

Written as ``datasets`` writes it (pyarrow's ParquetWriter, image columns uncompressed and
PLAIN, labels snappy with a dictionary, row groups of at most 100 MB of images); read back
from any such file, ``Dataset.to_parquet()``'s and a Hub download's included. pyarrow is an
optional extra: this module imports it only when a Parquet file is written or read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._version import __version__
from ..deflate import available_cores
from ..errors import OptionError, SourceError
from ..files import inside, is_regular, open_source
from ..png.memory import decode_png
from .base import MANIFEST, Format, Member, SinkOptions, read_manifest, write_manifest
from .images import encode_pngs, image_member

INSTALL = "pip install 'mnist-sprite[parquet]'"
ROW_GROUP_BYTES = 100 * 10**6  # datasets' MAX_ROW_GROUP_SIZE, "100MB"
CARD = "README.md"
_SPLIT_FILE = re.compile(r"(train|test)-(\d{5})-of-(\d{5})\.parquet")
MAX_IMAGE_PIXELS = 1 << 24
MAX_IMAGE_BYTES = 64 << 20  # a row's PNG larger than this is no dataset image


def pyarrow_modules() -> tuple[Any, Any]:
    """(pyarrow, pyarrow.parquet), or the one error line that says how to install them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise OptionError(
            None, "--format parquet needs pyarrow, which is not installed", f"run {INSTALL}"
        ) from None
    return pa, pq


def features(classes: Sequence[str]) -> dict[str, Any]:
    """What ``datasets`` records in the schema metadata: an Image and a ClassLabel."""
    return {
        "image": {"_type": "Image"},
        "label": {"names": list(classes), "_type": "ClassLabel"},
    }


def config_name(provenance: dict[str, Any]) -> str:
    dataset = provenance.get("dataset")
    return (
        dataset if isinstance(dataset, str) and re.fullmatch(r"[a-z0-9-]+", dataset) else "default"
    )


def split_path(config: str, split: str) -> str:
    return f"{config}/{split}-00000-of-00001.parquet"


class ParquetSink:
    """Each split as one Parquet file of PNG rows and their labels (class ids)."""

    def __init__(self, folder: Path, provenance: dict[str, Any], classes: Sequence[str]) -> None:
        self._pa, self._pq = pyarrow_modules()
        self._workers = available_cores()
        self._folder = folder
        self._provenance = provenance
        self._classes = list(classes)
        self._config = config_name(provenance)
        self._files: list[str] = []
        self._labels: npt.NDArray[np.int64] = np.empty(0, np.int64)
        self._counts: dict[str, int] = {}
        self._writer: Any = None
        self._shape: tuple[int, ...] = ()
        self._rows: list[bytes] = []
        self._row_bytes = 0
        self._done = 0

    def _schema(self) -> Any:
        pa = self._pa
        image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        meta = {"info": {"features": features(self._classes)}}
        return pa.schema(
            [("image", image), ("label", pa.int64())],
            metadata={
                "huggingface": json.dumps(meta),
                "mnist-sprite": json.dumps(self._provenance, sort_keys=True),
            },
        )

    def begin_split(
        self, name: str, x_shape: tuple[int, ...], x_dtype: np.dtype[Any], labels: npt.NDArray[Any]
    ) -> None:
        assert x_dtype == np.uint8, "PNG holds bytes: the format layer allows only uint8"
        self._labels = np.asarray(labels, np.int64)
        relative = split_path(self._config, name)
        (self._folder / self._config).mkdir(exist_ok=True)
        self._files.append(relative)
        self._counts[name] = x_shape[0]
        self._shape, self._done, self._rows, self._row_bytes = x_shape[1:], 0, [], 0
        self._writer = self._pq.ParquetWriter(
            str(self._folder / relative),
            self._schema(),
            compression={"image.bytes": "none", "image.path": "none", "label": "snappy"},
            use_dictionary=["label"],
            column_encoding={"image.bytes": "PLAIN", "image.path": "PLAIN"},
            write_page_index=True,
        )

    def write(self, block: npt.NDArray[Any]) -> None:
        for png in encode_pngs(block, self._shape, self._workers):
            self._rows.append(png)
            self._row_bytes += len(png)
            if self._row_bytes >= ROW_GROUP_BYTES:
                self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        pa = self._pa
        k = len(self._rows)
        labels = self._labels[self._done : self._done + k]
        image = pa.StructArray.from_arrays(
            [pa.array(self._rows, pa.binary()), pa.nulls(k, pa.string())], ["bytes", "path"]
        )
        self._writer.write_table(
            pa.table({"image": image, "label": pa.array(labels)}, schema=self._writer.schema)
        )
        self._done += k
        self._rows, self._row_bytes = [], 0

    def end_split(self) -> None:
        if self._writer is None:
            return
        self._flush()
        if self._done == 0:  # an empty split: a file with the schema and no rows
            self._writer.write_table(self._writer.schema.empty_table())
        self._writer.close()
        self._writer = None

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None

    def close(self) -> None:
        self.end_split()
        sizes = {
            split: (self._folder / split_path(self._config, split)).stat().st_size
            for split in self._counts
        }
        text = card(self._config, self._classes, self._counts, sizes, self._provenance)
        (self._folder / CARD).write_text(text, encoding="utf-8")
        self._files.append(CARD)
        write_manifest(self._folder, self._provenance, self._files)


def card(
    config: str,
    classes: Sequence[str],
    counts: dict[str, int],
    sizes: dict[str, int],
    provenance: dict[str, Any],
) -> str:
    """The dataset card: YAML front matter the Hub reads (configs, features, splits), then
    what made it. Names are JSON strings, which YAML reads as they are."""
    lines = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split in counts:
        lines += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    lines += ["dataset_info:", f"  config_name: {config}", "  features:", "  - name: image",
              "    dtype: image", "  - name: label", "    dtype:", "      class_label:",
              "        names:"]  # fmt: skip
    lines += [f"          '{i}': {json.dumps(name)}" for i, name in enumerate(classes)]
    lines += ["  splits:"]
    for split, n in counts.items():
        lines += [f"  - name: {split}", f"    num_bytes: {sizes[split]}", f"    num_examples: {n}"]
    lines += ["---", "", f"# {config}", ""]
    made = provenance.get("dataset") or ", ".join(
        str(s.get("name"))
        for s in (provenance.get("sources") or {}).values()
        if isinstance(s, dict)
    )
    lines += [
        f"Converted from {made} by mnist-sprite {__version__} (`mnist-sprite convert "
        "--format parquet`): each image a PNG, each label a class id. The pixels are the ones "
        "TensorFlow.js's loader reads from the sprite; `manifest.json` records how it was made.",
        "",
    ]
    return "\n".join(lines)


# -- reading -----------------------------------------------------------------------------


def parquet_files(path: Path) -> dict[str, list[Path]]:
    """The Parquet files of a Hub-style folder (or one file) by split, shards in order.

    A folder holds ``<split>-NNNNN-of-NNNNN.parquet`` files in one config folder, in a
    ``data/`` folder (the Hub's own layout) or at its top; a single file is a train split.
    Every file is a regular file inside the folder."""
    if not path.is_dir():
        return {"train": [path]}
    found: dict[str, list[tuple[int, Path]]] = {}
    places = [path, *sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink())]
    homes = set()
    for place in places:
        for entry in sorted(place.iterdir()):
            match = _SPLIT_FILE.fullmatch(entry.name)
            if match is None:
                continue
            if not is_regular(entry):
                raise SourceError(entry, "is not a regular file", "give a folder of Parquet files")
            inside(path, entry)
            homes.add(place)
            found.setdefault(match.group(1), []).append((int(match.group(2)), entry))
    if len(homes) > 1:
        where = ", ".join(sorted(str(p.relative_to(path)) or "." for p in homes))
        raise SourceError(
            path, f"holds Parquet splits in several configs ({where})", "give one config's folder"
        )
    return {s: [p for _, p in sorted(found[s])] for s in ("train", "test") if s in found}


def looks_like_parquet(path: Path) -> bool:
    if path.is_dir():
        try:
            return bool(parquet_files(path))
        except (OSError, SourceError):
            return True  # the reader names what it refuses
    with contextlib.suppress(OSError, SourceError), open_source(path) as f:
        return f.read(4) == b"PAR1"
    return False


class ParquetReader:
    """A Hub-style Parquet folder or file: images decoded from their PNG bytes by this tool's
    own decoder, labels as class ids, class names from the ClassLabel metadata."""

    kind = "parquet"

    def __init__(self, path: Path) -> None:
        self._pa, self._pq = pyarrow_modules()
        self.path = path
        self._root = path if path.is_dir() else path.parent
        self._files = parquet_files(path)
        if not self._files:
            raise SourceError(
                path, "holds no <split>-NNNNN-of-NNNNN.parquet file", "give a Hub dataset folder"
            )
        self._meta: dict[Path, Any] = {}
        for files in self._files.values():
            for file in files:
                self._meta[file] = self._footer(file)

    def _footer(self, file: Path) -> Any:
        """The file's footer, checked against its size before any row is read: the row
        groups' byte ranges lie inside the file, the columns are image and label."""
        with open_source(file, self._root) as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(size - 8, 0))
            tail = f.read(8)
            if size < 12 or tail[4:] != b"PAR1" or int.from_bytes(tail[:4], "little") > size - 12:
                raise SourceError(
                    file, "is not a whole Parquet file (no footer)", "give intact Parquet files"
                )
            try:
                meta = self._pq.ParquetFile(f).metadata
            except Exception as e:  # pyarrow's own error for a damaged footer
                raise SourceError(
                    file, f"has a damaged Parquet footer ({e})", "give intact Parquet files"
                ) from None
        names = meta.schema.to_arrow_schema().names
        if "image" not in names or "label" not in names:
            raise SourceError(
                file,
                f"has columns {', '.join(names)}, not image and label",
                "give a dataset with image and label columns",
            )
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                column = group.column(c)
                start = column.dictionary_page_offset or column.data_page_offset
                if start < 0 or start + column.total_compressed_size > size:
                    raise SourceError(
                        file, f"row group {g} lies past the file's end", "give intact Parquet files"
                    )
        return meta

    def close(self) -> None:
        return None

    def names(self) -> list[str]:
        return [f"{xy}_{s}" for s in self._files for xy in ("x", "y")]

    def _hf(self) -> dict[str, Any]:
        first = next(iter(self._meta.values()))
        raw = (first.metadata or {}).get(b"huggingface")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        info = data.get("info") if isinstance(data, dict) else None
        feats = info.get("features") if isinstance(info, dict) else None
        return feats if isinstance(feats, dict) else {}

    def class_names(self) -> list[str] | None:
        label = self._hf().get("label")
        names = label.get("names") if isinstance(label, dict) else None
        if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
            return [str(n) for n in names]
        return None

    def provenance(self) -> dict[str, Any] | None:
        if self.path.is_dir() and (self.path / MANIFEST).is_file():
            return read_manifest(self.path)
        first = next(iter(self._meta.values()))
        raw = (first.metadata or {}).get(b"mnist-sprite")
        with contextlib.suppress(ValueError):
            data = json.loads(raw) if raw else None
            return data if isinstance(data, dict) else None
        return None

    def _rows(self, split: str) -> int:
        return sum(self._meta[f].num_rows for f in self._files[split])

    def _groups(self, split: str, column: str) -> Iterator[tuple[Path, int, Any]]:
        """(file, first row, column values) a row group at a time."""
        for file in self._files[split]:
            with open_source(file, self._root) as f:
                reader = self._pq.ParquetFile(f)
                row = 0
                for g in range(reader.metadata.num_row_groups):
                    values = reader.read_row_group(g, columns=[column]).column(column)
                    yield file, row, values
                    row += len(values)

    def _labels(self, split: str) -> npt.NDArray[np.uint8]:
        parts = []
        for file, row, values in self._groups(split, "label"):
            ids = np.asarray(values.to_numpy(zero_copy_only=False))
            if ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() > 254)):
                bad = (
                    int(np.flatnonzero((ids < 0) | (ids > 254))[0]) if ids.dtype.kind in "iu" else 0
                )
                raise SourceError(
                    file, f"row {row + bad:,}'s label is not a class id 0 to 254", "give class ids"
                )
            parts.append(ids.astype(np.uint8))
        return np.concatenate(parts) if parts else np.empty(0, np.uint8)

    def _images(self, split: str) -> Iterator[tuple[str, npt.NDArray[np.uint8]]]:
        for file, row, values in self._groups(split, "image"):
            column = values.combine_chunks() if hasattr(values, "combine_chunks") else values
            data = column.field("bytes") if self._pa.types.is_struct(column.type) else column
            for i, png in enumerate(data.to_pylist()):
                where = f"{file} row {row + i:,}"
                if png is None:
                    raise SourceError(
                        file, f"row {row + i:,} has no image bytes", "give images as PNG bytes"
                    )
                if len(png) > MAX_IMAGE_BYTES:
                    raise SourceError(
                        file,
                        f"row {row + i:,}'s image is {len(png):,} bytes",
                        "give a dataset's images",
                    )
                yield where, decode_png(png, where, MAX_IMAGE_PIXELS)

    @contextlib.contextmanager
    def array(self, name: str) -> Iterator[tuple[Member, Iterator[npt.NDArray[Any]]]]:
        kind, split = name.split("_")
        if split not in self._files:
            raise SourceError(self.path, f"has no {split} split", "give the whole folder")
        n = self._rows(split)
        if kind == "y":
            labels = self._labels(split)
            yield Member(name, labels.shape, labels.dtype), iter([labels])
            return
        yield image_member(name, n, self._images(split), self.provenance())


def _open_sink(folder: Path, provenance: dict[str, Any], options: SinkOptions) -> ParquetSink:
    classes = options.classes or [str(i) for i in range(10)]
    return ParquetSink(folder, provenance, classes)


FORMAT = Format.of_folder("parquet", looks_like_parquet, ParquetReader, _open_sink)
