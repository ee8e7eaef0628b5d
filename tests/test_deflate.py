"""The one deflate engine and the wrappers around it: gzip members (IDX ``.gz``) and npz zip
members read back by zlib, gzip, ``gzip -t``, zipfile and numpy.load, with the same bytes for
any number of workers and any way the input is cut into calls."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from mnist_sprite.deflate import AUTO, SAMPLE_BYTES, Deflater, deflate
from mnist_sprite.formats.idx import GzipMember, IdxSink
from mnist_sprite.formats.npz import NpzSink


def digits_like(n: int, seed: int = 0) -> bytes:
    """Mostly zeros with strokes of repeated values, as MNIST's pixels are."""
    rng = np.random.default_rng(seed)
    a = np.zeros(n, np.uint8)
    starts = rng.integers(0, n, n // 50)
    for s in starts:
        a[s : s + 12] = rng.integers(0, 256)
    return a.tobytes()


def run_deflater(data: bytes, cut: int, **kwargs: int) -> bytes:
    d = Deflater(**kwargs)
    out = [d.compress(data[i : i + cut]) for i in range(0, len(data), cut)]
    return b"".join(out) + d.flush()


@pytest.mark.parametrize("piece_bytes", [1000, 1 << 15, 100_000])
def test_stream_inflates_and_is_the_same_for_any_workers_and_cuts(piece_bytes: int) -> None:
    data = digits_like(300_000)
    outputs = {
        run_deflater(data, cut, workers=w, piece_bytes=piece_bytes)
        for w in (1, 2, 3)
        for cut in (7, 4096, 300_000)
    }
    assert len(outputs) == 1
    (out,) = outputs
    assert zlib.decompress(out, -15) == data
    # Pieces see the 32 KiB before them: long pieces come within a little of one zlib stream.
    whole = zlib.compressobj(6, zlib.DEFLATED, -15)
    if piece_bytes >= 1 << 15:
        assert len(out) < 1.05 * len(whole.compress(data) + whole.flush())


def blank_with_strokes(n: int) -> bytes:
    """Long runs of zeros and of stroke values, nothing else repeating: what Z_RLE is for."""
    rng = np.random.default_rng(2)
    a = np.zeros(n, np.uint8)
    for s in rng.integers(0, n, n // 200):
        a[s : s + rng.integers(5, 40)] = rng.integers(1, 256)
    return a.tobytes()


def smooth_floats(n: int) -> bytes:
    """float32 values that change a little from one to the next: Z_RLE finds nothing here."""
    walk = np.cumsum(np.random.default_rng(1).integers(-2, 3, n // 4)).astype(np.float32) / 255
    return walk.tobytes()


@pytest.mark.parametrize(
    ("make", "expected"), [(blank_with_strokes, zlib.Z_RLE), (smooth_floats, 0)]
)
def test_auto_deflates_each_piece_as_its_sample_chooses(make: object, expected: int) -> None:
    data = make(5 * SAMPLE_BYTES + 123)  # type: ignore[operator]
    outs = {
        run_deflater(data, cut, workers=w, piece_bytes=2 * SAMPLE_BYTES, strategy=AUTO)
        for w in (1, 2)
        for cut in (1000, len(data))
    }
    assert len(outs) == 1
    (out,) = outs
    assert zlib.decompress(out, -15) == data
    chosen = run_deflater(data, len(data), piece_bytes=2 * SAMPLE_BYTES, strategy=expected)
    assert out == chosen
    other = zlib.Z_RLE if expected == 0 else 0
    other_out = run_deflater(data, len(data), piece_bytes=2 * SAMPLE_BYTES, strategy=other)
    assert out != other_out


def test_auto_chooses_piece_by_piece() -> None:
    # A first piece of noise is no worse either way; the pieces after it repeat it, which only
    # the default strategy (matches at any distance) can use, and each piece sees that itself.
    row = np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    data = row * 400
    auto = run_deflater(data, len(data), piece_bytes=1000, strategy=AUTO)
    default = run_deflater(data, len(data), piece_bytes=1000)
    assert zlib.decompress(auto, -15) == data
    assert len(auto) < len(default) + 2 * len(row)


def test_empty_and_tiny_streams() -> None:
    assert zlib.decompress(deflate(b""), -15) == b""
    assert zlib.decompress(deflate(b"x", workers=2), -15) == b"x"


def test_refuses_a_finished_stream_and_bad_arguments() -> None:
    d = Deflater(workers=2)
    d.flush()
    with pytest.raises(ValueError, match="finished"):
        d.compress(b"more")
    with pytest.raises(ValueError, match="level"):
        Deflater(10)
    with pytest.raises(ValueError, match="workers"):
        Deflater(workers=0)
    with pytest.raises(ValueError, match="strategy"):
        Deflater(strategy=99)


def gzip_of(data: bytes, workers: int) -> bytes:
    buf = io.BytesIO()
    g = GzipMember(buf, workers=workers)
    for i in range(0, len(data), 65_537):
        g.write(np.frombuffer(data[i : i + 65_537], np.uint8))
    g.close()
    return buf.getvalue()


def test_gzip_member_reads_back_and_is_worker_invariant(tmp_path: Path) -> None:
    data = digits_like(2_500_000, seed=1)  # more than two pieces of 1 MiB
    one, two = gzip_of(data, 1), gzip_of(data, 2)
    assert one == two
    assert gzip.decompress(one) == data
    # Python's gzip header with mtime 0 and no name: same inputs, same bytes.
    assert one[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    path = tmp_path / "x.gz"
    path.write_bytes(one)
    if shutil.which("gzip"):
        subprocess.run(["gzip", "-t", str(path)], check=True)


def test_idx_sink_gz_files_pass_gzip_t(tmp_path: Path) -> None:
    images = np.frombuffer(digits_like(300 * 784, 2), np.uint8).reshape(300, 28, 28)
    labels = np.arange(300, dtype=np.uint8) % 10
    outs = []
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        sink = IdxSink(folder, {"tool": "mnist-sprite"}, compress=True, workers=workers)
        sink.begin_split("train", images.shape, images.dtype, labels)
        sink.write(images[:100])
        sink.write(images[100:])
        sink.end_split()
        sink.close()
        outs.append({p.name: p.read_bytes() for p in folder.glob("*.gz")})
        for p in folder.glob("*.gz"):
            if shutil.which("gzip"):
                subprocess.run(["gzip", "-t", str(p)], check=True)
    assert outs[0] == outs[1]
    raw = gzip.decompress(outs[0]["train-images-idx3-ubyte.gz"])
    assert raw[:4] == b"\0\0\x08\x03" and raw[16:] == images.tobytes()
    assert gzip.decompress(outs[0]["train-labels-idx1-ubyte.gz"])[8:] == labels.tobytes()


def npz_of(arrays: dict[str, np.ndarray], compress: bool, workers: int) -> bytes:  # type: ignore[type-arg]
    buf = io.BytesIO()
    sink = NpzSink(buf, compress=compress, comment=b'{"tool": "x"}', workers=workers)
    for name, a in arrays.items():
        sink.begin_array(name, a.shape, a.dtype)
        for i in range(0, len(a), 333):
            sink.write(a[i : i + 333])
        sink.end_array()
    sink.close()
    return buf.getvalue()


@pytest.mark.parametrize("compress", [False, True])
def test_npz_members_read_by_zipfile_and_numpy(compress: bool) -> None:
    x = np.frombuffer(digits_like(1000 * 784 * 4, 3), np.float32).reshape(1000, 784).copy()
    y = (np.arange(1000) % 10).astype(np.uint8)
    arrays = {"x_train": x, "y_train": y, "x_test": x[:0], "y_test": y[:0]}
    one, two = npz_of(arrays, compress, 1), npz_of(arrays, compress, 2)
    assert one == two
    with zipfile.ZipFile(io.BytesIO(one)) as z:
        assert z.testzip() is None
        assert z.comment == b'{"tool": "x"}'
        kinds = {i.compress_type for i in z.infolist()}
        assert kinds == {zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED}
    with np.load(io.BytesIO(one)) as d:
        assert sorted(d.files) == sorted(arrays)
        for name, a in arrays.items():
            np.testing.assert_array_equal(d[name], a)


def test_npz_compressed_within_a_percent_of_savez_compressed() -> None:
    x = np.frombuffer(digits_like(3000 * 784, 4), np.uint8).reshape(3000, 784)
    ours = npz_of({"x_train": x}, True, 2)
    theirs = io.BytesIO()
    np.savez_compressed(theirs, x_train=x)
    assert len(ours) <= 1.01 * len(theirs.getvalue())


def test_npz_zip64_descriptor_for_a_member_that_may_pass_2_gib() -> None:
    """A member declared near 2 GiB gets zipfile's zip64 local header and descriptor; zipfile
    still reads the archive (here the data is small, so the central directory needs none)."""
    from mnist_sprite.formats.npz import _ZipStream

    buf = io.BytesIO()
    z = _ZipStream(buf, b"")
    entry = z.begin("a.npy", 0, 1 << 31)
    data = b"hello"
    z.write(data)
    entry.crc, entry.size, entry.compressed = zlib.crc32(data), 5, 5
    z.end(entry)
    z.close()
    raw = buf.getvalue()
    assert raw[4:6] == (45).to_bytes(2, "little")  # version needed: zip64
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert zf.read("a.npy") == data
