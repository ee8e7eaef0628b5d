"""png-dir written by worker processes: the same names, order and bytes as one process (and
as pypng), and a failure in a worker stops them all."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import png
import pytest

from mnist_sprite.datasets import FASHION_MNIST
from mnist_sprite.formats.pngdir import PngDirSink, folder_names
from mnist_sprite.png.encode import small_png


def fill(folder: Path, x: np.ndarray, y: np.ndarray, **kwargs: int) -> list[str]:  # type: ignore[type-arg]
    folder.mkdir()
    sink = PngDirSink(folder, {"tool": "mnist-sprite"}, [str(i) for i in range(10)], **kwargs)
    try:
        sink.begin_split("train", x.shape, x.dtype, y)
        for start in range(0, len(x), 700):
            sink.write(x[start : start + 700])
        sink.end_split()
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_workers_write_the_same_files_and_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, (1200, 6, 5)) * (rng.random((1200, 6, 5)) < 0.3)).astype(np.uint8)
    y = rng.integers(0, 10, 1200).astype(np.uint8)
    one = fill(tmp_path / "one", x, y, workers=1)
    two = fill(tmp_path / "two", x, y, workers=2, parallel_from=0)
    assert one == two
    for rel in one:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()
    first = tmp_path / "two" / "train" / str(y[0]) / "0000.png"
    buf = io.BytesIO()
    png.Writer(5, 6, greyscale=True, bitdepth=8).write(buf, x[0])
    assert first.read_bytes() == buf.getvalue()  # pypng's bytes, at its default level


def test_small_png_reads_back_in_rgb() -> None:
    image = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 9)
    filtered = np.hstack([np.zeros((4, 1), np.uint8), image]).tobytes()
    width, height, rows, info = png.Reader(bytes=small_png(filtered, 3, 4, 3, 9)).read()
    assert (width, height, info["planes"]) == (3, 4, 3)
    np.testing.assert_array_equal(np.array([list(r) for r in rows], np.uint8), image)


def test_a_failing_worker_is_raised_and_stops_the_rest(tmp_path: Path) -> None:
    x = np.zeros((3000, 4, 4), np.uint8)
    y = np.zeros(3000, np.uint8)
    folder = tmp_path / "out"
    (folder / "train" / "0").mkdir(parents=True)
    (folder / "train" / "0" / "2500.png").write_bytes(b"mine")  # a worker meets it: refused
    with pytest.raises(FileExistsError):
        fill_existing(folder, x, y)
    assert (folder / "train" / "0" / "2500.png").read_bytes() == b"mine"


def fill_existing(folder: Path, x: np.ndarray, y: np.ndarray) -> None:  # type: ignore[type-arg]
    sink = PngDirSink(folder, {"tool": "mnist-sprite"}, ["0"], workers=2, parallel_from=0)
    try:
        sink.begin_split("train", x.shape, x.dtype, y)
        sink.write(x)
        sink.end_split()
    except BaseException:
        sink.abort()
        raise


def test_class_folders_sort_in_class_order() -> None:
    names = folder_names(FASHION_MNIST.class_names)
    assert names == sorted(names) and names[0] == "0_T-shirt-top" and names[9] == "9_Ankle boot"
    assert folder_names([str(i) for i in range(10)]) == [str(i) for i in range(10)]
    assert folder_names(["cat", "dog"]) == ["cat", "dog"]
