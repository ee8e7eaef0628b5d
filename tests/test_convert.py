"""convert and load_data: TensorFlow.js's arrays, every option, nothing lost on failure."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mnist_sprite
from mnist_sprite.api import load_data
from mnist_sprite.errors import (
    LabelError,
    OptionError,
    OutputError,
    PngFormatError,
    SpriteError,
)
from mnist_sprite.pipeline import Options, Sources, to_arrays, write_output
from mnist_sprite.reading import Output
from tests.cli_kit import SAMPLE_LABELS, SAMPLE_SPRITE, one_line, run
from tests.conftest import REAL_LABELS, REAL_SPRITE, Sprite, make_sprite, needs_real


def opts(**kw: Any) -> Options:
    """Options for the 4x4 test sprites."""
    kw.setdefault("image_size", (4, 4))
    return Options(**kw)


def provenance_of(path: Path) -> Any:
    with Output(path) as out:
        return out.provenance()


def src(s: Sprite) -> Sources:
    return Sources(s.sprite, s.labels)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_every_pixel_value_goes_to_k_over_255_and_back(dtype: str) -> None:
    """values.py owns both ways: what convert writes, nearest_k reads back as its byte."""
    from mnist_sprite.values import k_over_255, nearest_k

    k = np.arange(256, dtype=np.uint8)
    values = k_over_255(k, dtype)
    assert values.dtype == np.dtype(dtype)
    assert np.array_equal(values, (k / 255).astype(dtype))
    assert np.array_equal(nearest_k(values), k) and np.array_equal(nearest_k(k), k)


def test_float32_pixels_are_tensorflowjs_division() -> None:
    v = np.arange(256)
    tfjs = (v / 255).astype(np.float32)  # float64 division stored into a Float32Array
    assert np.array_equal(tfjs, np.float32(v) / np.float32(255))
    assert int((tfjs != v.astype(np.float32) * np.float32(1 / 255)).sum()) == 126
    from mnist_sprite.pipeline import _converter

    assert _converter("float32")(v.astype(np.uint8)).tobytes() == tfjs.tobytes()
    assert _converter("float64")(v.astype(np.uint8)).tobytes() == (v / 255).tobytes()
    assert (
        _converter("float16")(v.astype(np.uint8)).tobytes()
        == (v / 255).astype(np.float16).tobytes()
    )


def test_default_arrays_split_pixels_and_one_hot_labels(small: Sprite) -> None:
    arrays = to_arrays(src(small), opts(train_size=20))
    assert list(arrays) == ["x_train", "y_train", "x_test", "y_test"]
    expected = (small.pixels / 255).astype(np.float32)
    assert arrays["x_train"].dtype == np.float32 and arrays["x_train"].shape == (20, 16)
    assert arrays["x_train"].tobytes() == expected[:20].tobytes()
    assert arrays["x_test"].tobytes() == expected[20:].tobytes()
    assert arrays["y_train"].shape == (20, 10) and arrays["y_train"].dtype == np.uint8
    assert arrays["y_test"].argmax(1).tolist() == small.classes[20:].tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "uint8"])
@pytest.mark.parametrize(
    ("shape", "dims"), [("flat", (16,)), ("image", (4, 4)), ("channels", (4, 4, 1))]
)
def test_dtypes_and_shapes(small: Sprite, dtype: str, shape: str, dims: tuple[int, ...]) -> None:
    options = opts(dtype=dtype, shape=shape, image_size=(4, 4), train_size=25)
    arrays = to_arrays(src(small), options)
    x = arrays["x_train"]
    assert x.dtype == np.dtype(dtype) and x.shape == (25, *dims)
    want = small.pixels[:25] if dtype == "uint8" else (small.pixels[:25] / 255).astype(dtype)
    assert np.array_equal(x.reshape(25, 16), want)


def test_index_labels_are_uint8_class_ids(small: Sprite) -> None:
    arrays = to_arrays(src(small), opts(label_format="index", train_size=10))
    assert arrays["y_train"].dtype == np.uint8 and arrays["y_train"].shape == (10,)
    assert arrays["y_test"].tolist() == small.classes[10:].tolist()


def test_shuffle_permutes_each_split_keeping_pairs(small: Sprite) -> None:
    options = opts(dtype="uint8", label_format="index", train_size=20, shuffle=True, seed=3)
    a = to_arrays(src(small), options)
    assert sorted(map(bytes, a["x_train"])) == sorted(map(bytes, small.pixels[:20]))
    assert not np.array_equal(a["x_train"], small.pixels[:20])
    lookup = {bytes(p): c for p, c in zip(small.pixels, small.classes, strict=False)}
    for split in ("train", "test"):
        assert [lookup[bytes(p)] for p in a[f"x_{split}"]] == a[f"y_{split}"].tolist()
    again = to_arrays(src(small), options)
    assert all(np.array_equal(a[k], again[k]) for k in a)
    other = to_arrays(src(small), opts(**{**options.__dict__, "seed": 4}))
    assert not np.array_equal(a["x_train"], other["x_train"])


def test_same_inputs_give_byte_identical_files(small: Sprite, tmp_path: Path) -> None:
    options = opts(train_size=20)
    write_output(src(small), tmp_path / "a.npz", options=options)
    write_output(src(small), tmp_path / "b.npz", options=options)
    stream = io.BytesIO()
    write_output(src(small), "-", options=options, stdout=stream)
    data = (tmp_path / "a.npz").read_bytes()
    assert data == (tmp_path / "b.npz").read_bytes() == stream.getvalue()


def test_npz_loads_with_numpy_and_records_provenance(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "out.npz"
    write_output(src(small), out, options=opts(train_size=20, dtype="uint8"))
    with np.load(out) as z:
        assert sorted(z.files) == ["x_test", "x_train", "y_test", "y_train"]
        assert np.array_equal(z["x_train"], small.pixels[:20])
    prov = provenance_of(out)
    assert prov is not None
    assert prov["options"]["dtype"] == "uint8" and prov["options"]["train_size"] == 20
    assert prov["sources"]["sprite"]["name"] == "sprite.png"
    assert prov["version"] == mnist_sprite.__version__
    with zipfile.ZipFile(out) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_compressed_npz_is_smaller_and_equal(small: Sprite, tmp_path: Path) -> None:
    zeros = make_sprite(tmp_path, images=200, seed=5)
    zeros.pixels[:] = 0
    write_output(src(zeros), tmp_path / "plain.npz", options=opts(train_size=100))
    write_output(src(zeros), tmp_path / "small.npz", options=opts(train_size=100), compress=True)
    assert (tmp_path / "small.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size
    with np.load(tmp_path / "plain.npz") as a, np.load(tmp_path / "small.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_npy_folder_is_memory_mappable_with_manifest(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "arrays"
    write_output(src(small), out, options=opts(train_size=20), fmt="npy")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]
    x = np.load(out / "x_train.npy", mmap_mode="r")
    assert x.shape == (20, 16) and float(x[0, 0]) == np.float32(small.pixels[0, 0] / 255)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tool"] == "mnist-sprite" and provenance_of(out) == manifest


def test_existing_output_is_refused_without_force(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    with pytest.raises(OutputError, match="already exists; pass --force"):
        write_output(src(small), out, options=opts(train_size=20))
    assert out.read_bytes() == b"precious"
    write_output(src(small), out, options=opts(train_size=20), force=True)
    assert out.read_bytes()[:2] == b"PK"


def test_failure_half_way_leaves_nothing_and_keeps_existing_output(tmp_path: Path) -> None:
    s = make_sprite(tmp_path, images=5000, side=4)
    data = bytearray(s.sprite.read_bytes())
    data[-30] ^= 0xFF  # inside the last IDAT: its CRC fails after most rows are decoded
    s.sprite.write_bytes(bytes(data))
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    before = sorted(p.name for p in tmp_path.iterdir())
    for fmt, target in (("npz", out), ("npy", tmp_path / "folder")):
        with pytest.raises(PngFormatError):
            write_output(src(s), target, options=opts(train_size=10), fmt=fmt, force=True)
    stream = io.BytesIO()
    with pytest.raises(PngFormatError):
        write_output(src(s), "-", options=opts(train_size=10), stdout=stream)
    assert stream.getvalue() == b""
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_refuses_width_that_is_not_one_image(small: Sprite) -> None:
    with pytest.raises(SpriteError, match="16 pixels wide, but one 28x28 image is 784"):
        to_arrays(src(small), opts(image_size=(28, 28), train_size=1))


def test_refuses_label_count_that_differs(small: Sprite, tmp_path: Path) -> None:
    small.labels.write_bytes(small.labels.read_bytes()[:-10])
    with pytest.raises(LabelError, match="holds 29 labels but the sprite holds 30 images"):
        to_arrays(src(small), opts(image_size=(4, 4), train_size=1))


def test_split_needs_a_train_size_for_unknown_sprites(small: Sprite) -> None:
    with pytest.raises(OptionError, match="or --train-size"):
        to_arrays(src(small), opts(image_size=(4, 4)))
    with pytest.raises(OptionError, match="more than the 30 images"):
        to_arrays(src(small), opts(image_size=(4, 4), train_size=31))


def test_load_data_sample_is_800_and_200_like_keras() -> None:
    (x_train, y_train), (x_test, y_test) = load_data("sample")
    assert x_train.shape == (800, 784) and x_train.dtype == np.float32
    assert y_train.shape == (800, 10) and x_test.shape == (200, 784) and y_test.shape == (200, 10)
    (xi, yi), _ = load_data("sample", dtype="uint8", label_format="index", shape="image")
    assert xi.shape == (800, 28, 28) and yi.tolist()[:5] == [7, 3, 4, 6, 1]
    assert np.array_equal((xi.reshape(800, 784) / 255).astype(np.float32), x_train)


def test_load_data_reads_files_of_your_own(small: Sprite) -> None:
    (x, _), (xt, yt) = load_data(
        sprite=small.sprite, labels=small.labels, image_size="4x4", train_size=28, dtype="uint8"
    )
    assert (
        x.shape == (28, 16)
        and xt.shape == (2, 16)
        and yt.argmax(1).tolist() == [*small.classes[28:]]
    )


@needs_real
def test_real_sprite_gives_tensorflowjs_arrays() -> None:
    (x_train, y_train), (x_test, y_test) = load_data(sprite=REAL_SPRITE, labels=REAL_LABELS)
    assert x_train.shape == (55_000, 784) and x_test.shape == (10_000, 784)
    assert y_train.sum(0).tolist() == [5444, 6179, 5470, 5638, 5307, 4987, 5417, 5715, 5389, 5454]
    assert y_test.sum(0).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.concatenate([y_train, y_test])[:20].argmax(1).tolist() == [
        7, 3, 4, 6, 1, 8, 1, 0, 9, 8, 0, 3, 1, 2, 7, 0, 2, 9, 6, 0
    ]  # fmt: skip
    raw = np.rint(np.concatenate([x_train, x_test]) * 255).astype(np.uint8)
    assert (raw.astype(np.float32) / np.float32(255)).tobytes() == np.concatenate(
        [x_train, x_test]
    ).tobytes()
    import hashlib

    assert hashlib.sha256(raw.tobytes()).hexdigest() == (
        "3d24e455d86b0368a3aed0357241a964514ac2c876e06de3763d756f78082e2e"
    )


@pytest.mark.parametrize(
    ("fmt", "out", "message"),
    [
        ("npz", "outdir/", "ends with a slash, so it names a folder"),
        ("npy", "file.npz", "is an .npz name, but --format npy writes a folder"),
    ],
)
def test_out_that_does_not_fit_the_format(
    tmp_path: Path, fmt: str, out: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An --out that cannot be what the format writes."""
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run("convert", "--dataset", "sample", "--format", fmt, "--out", out)
    assert code == 2
    one_line(stderr, message)
    assert os.listdir(tmp_path) == []


def test_convert_and_fetch_take_what_load_data_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python API."""
    monkeypatch.chdir(tmp_path)
    result = mnist_sprite.convert("api.npz", "sample")
    assert result.arrays["x_train"]["shape"] == [800, 784]
    mnist_sprite.convert(out="b", dataset="sample", format="npy", dtype="uint8", shape="image")
    assert (tmp_path / "b" / "x_train.npy").is_file()
    sprite, labels = mnist_sprite.fetch("sample")
    assert (sprite.name, labels.name) == ("sample_images.png", "sample_labels_uint8")
    with pytest.raises(mnist_sprite.OutputError, match="already exists; pass force=True"):
        mnist_sprite.convert("api.npz", "sample")


def test_shuffled_labels_beside_a_known_sprite_are_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Convert warns when the sprite is known and the labels are not its own."""
    monkeypatch.chdir(tmp_path)
    onehot = np.fromfile(SAMPLE_LABELS, np.uint8).reshape(-1, 10)
    np.random.default_rng(0).shuffle(onehot)
    onehot.tofile("shuffled_uint8")
    args = ["convert", "--sprite", str(SAMPLE_SPRITE), "--labels", "shuffled_uint8"]
    code, _, stderr = run(*args, "--out", "a.npz", "-q")
    assert code == 0
    warning = (
        "warning: shuffled_uint8: the sprite is sample's sample_images.png, but this is not "
        "sample's sample_labels_uint8"
    )
    assert stderr.startswith(warning) and stderr.count("\n") == 1, stderr
    code, stdout, _ = run(*args, "--out", "b.npz", "--json")
    assert code == 0 and json.loads(stdout)["warnings"][0].startswith(warning[9:])
    code, _, stderr = run(
        "convert", "--sprite", str(SAMPLE_SPRITE), "--labels", str(SAMPLE_LABELS), "--out", "c.npz"
    )
    assert code == 0 and "warning" not in stderr  # its own labels: nothing to say
