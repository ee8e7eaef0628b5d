"""pack (issue 15): your own images -> a sprite; then convert gives the same arrays back, bit
for bit, from every input format."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import png
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mnist_sprite
from mnist_sprite.cli import cli
from mnist_sprite.errors import LabelError
from mnist_sprite.pack import pack, source_bytes
from mnist_sprite.pipeline import Options, Sources, to_arrays, write_output
from tests import pngkit


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def unpack(folder: Path, name: str = "data") -> dict[str, np.ndarray]:
    """The packed sprite read back by convert, as uint8 images and class ids."""
    facts = json.loads((folder / f"{name}.json").read_text())
    options = Options(
        dtype="uint8",
        label_format="index",
        image_size=(facts["image_height"], facts["image_width"]),
        train_size=facts["train_images"],
        channels="rgb" if facts["channels"] == 3 else "red",
        shape="image",
    )
    sources = Sources(folder / f"{name}_images.png", folder / f"{name}_labels_uint8")
    return to_arrays(sources, options)


def keras_npz(path: Path, x: np.ndarray, y: np.ndarray, train: int) -> Path:
    np.savez(path, x_train=x[:train], y_train=y[:train], x_test=x[train:], y_test=y[train:])
    return path


def png_folder(root: Path, x: np.ndarray, y: np.ndarray, train: int) -> Path:
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        split = "train" if i < train else "test"
        folder = root / split / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        h, w = image.shape[:2]
        rgb = image.ndim == 3
        with open(folder / f"{i:05d}.png", "wb") as f:
            png.Writer(w, h, greyscale=not rgb).write(f, image.reshape(h, -1).tolist())
    return root


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    side=st.sampled_from([(4, 4), (5, 3), (28, 28)]),
    channels=st.sampled_from([1, 3]),
    kind=st.sampled_from(
        ["npz-uint8", "npz-float32", "npz-float64", "png-dir", "idx", "csv", "npy-onehot"]
    ),
)
def test_pack_then_convert_gives_the_same_arrays(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    side: tuple[int, int],
    channels: int,
    kind: str,
) -> None:
    rng = np.random.default_rng(seed)
    n, train = int(rng.integers(2, 12)), 0
    train = int(rng.integers(1, n))
    h, w = side
    if kind in ("idx", "csv") and channels == 3:
        channels = 1  # MNIST-style readers: one channel (idx4 and RGB csv are written, not read)
    shape = (n, h, w) if channels == 1 else (n, h, w, 3)
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    folder = tmp_path_factory.mktemp("pack")
    if kind.startswith("npz"):
        dtype = kind.split("-")[1]
        values = x if dtype == "uint8" else np.divide(x, np.dtype(dtype).type(255), dtype=dtype)
        source = keras_npz(folder / "in.npz", values, y, train)
    elif kind == "png-dir":
        source = png_folder(folder / "pngs", x, y, train)
    else:  # a convert output of a sprite made of these images
        sprite = folder / "s.png"
        rows = x.reshape(n, -1)
        if channels == 1:
            sprite.write_bytes(pngkit.gray_png(rows))
        else:
            buf = io.BytesIO()
            png.Writer(h * w, n, greyscale=False).write(buf, rows.tolist())
            sprite.write_bytes(buf.getvalue())
        labels = folder / "l"
        labels.write_bytes(np.eye(10, dtype=np.uint8)[y].tobytes())
        fmt = {"idx": "idx", "csv": "csv", "npy-onehot": "npy"}[kind]
        options = Options(
            dtype="uint8" if fmt != "npy" else "float32",
            label_format="index" if fmt != "npy" else "onehot",
            shape="image" if fmt == "idx" else "flat",
            image_size=(h, w),
            train_size=train,
            channels="rgb" if channels == 3 else "red",
        )
        source = folder / "out"
        write_output(Sources(sprite, labels), source, options=options, fmt=fmt)
    out = folder / "packed"
    result = pack(source, out, image_size=(h, w), classes=10)
    assert result.changed == 0
    back = unpack(out)
    assert np.array_equal(back["x_train"].reshape(train, -1), x[:train].reshape(train, -1))
    assert np.array_equal(back["x_test"].reshape(n - train, -1), x[train:].reshape(n - train, -1))
    assert np.array_equal(back["y_train"], y[:train]) and np.array_equal(back["y_test"], y[train:])
    code, stdout, _ = run("verify", str(out / "data.json"), "--source", str(source))
    assert code == 0, stdout


def test_floats_that_are_not_k_over_255_are_refused_or_quantized(tmp_path: Path) -> None:
    x = np.full((3, 2, 2), 0.5, np.float32)
    x[0] = np.float32(51) / np.float32(255)
    source = keras_npz(tmp_path / "f.npz", x, np.array([0, 1, 2]), 2)
    code, stdout, stderr = run("pack", str(source), "--out", str(tmp_path / "p"))
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"error: {source}: x_train[1] element 0 is 0.5, which is not k / 255 for a whole k "
        "from 0 to 255; pass --quantize to round every value to the nearest k / 255\n"
    )
    assert not (tmp_path / "p").exists()  # nothing left behind
    code, stdout, _ = run("pack", str(source), "--out", str(tmp_path / "p"), "--quantize", "--json")
    facts = json.loads(stdout)
    assert code == 0 and facts["quantized"] == 8
    assert np.array_equal(unpack(tmp_path / "p")["x_train"][1], np.full((2, 2), 128, np.uint8))


def test_images_of_different_sizes_are_refused_naming_one_of_each(tmp_path: Path) -> None:
    root = tmp_path / "pngs"
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    for folder, (w, h) in ((root / "cat", (4, 4)), (root / "dog", (5, 4))):
        with open(folder / "a.png", "wb") as f:
            png.Writer(w, h, greyscale=True).write(f, np.zeros((h, w), np.uint8).tolist())
    code, _, stderr = run("pack", str(root), "--out", str(tmp_path / "p"))
    assert code == 1
    assert "dog/a.png: is 4x5 gray where" in stderr and "cat/a.png is 4x4 gray" in stderr  # HxW


def test_a_plain_class_folder_packs_with_its_class_names(tmp_path: Path) -> None:
    root = tmp_path / "flowers"
    for i, name in enumerate(["daisy", "rose", "tulip"]):
        (root / name).mkdir(parents=True)
        with open(root / name / "x.png", "wb") as f:
            png.Writer(3, 2, greyscale=False).write(f, np.full((2, 9), i, np.uint8).tolist())
    code, stdout, _ = run("pack", str(root), "--out", str(tmp_path / "web"), "--name", "f",
                          "--json")  # fmt: skip
    facts = json.loads(stdout)
    assert code == 0 and facts["class_names"] == ["daisy", "rose", "tulip"]
    assert facts["channels"] == 3 and facts["images"] == facts["train_images"] == 3
    labels = (tmp_path / "web" / "f_labels_uint8").read_bytes()
    assert labels == np.eye(3, dtype=np.uint8).tobytes()  # C bytes per image


def test_pack_is_deterministic_refuses_an_existing_name_and_keeps_other_files(
    tmp_path: Path,
) -> None:
    x = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    source = keras_npz(tmp_path / "k.npz", x, np.array([1, 2, 3]), 2)
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("mine")
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    first = {p.name: p.read_bytes() for p in web.iterdir()}
    code, _, stderr = run("pack", str(source), "--out", str(web))
    assert code == 1 and "already exists; pass --force" in stderr
    assert run("pack", str(source), "--out", str(web), "--force", "-q")[0] == 0
    assert {p.name: p.read_bytes() for p in web.iterdir()} == first
    assert (web / "index.html").read_text() == "mine"
    facts = json.loads((web / "data.json").read_text())
    assert facts["classes"] == 4 and facts["train_images"] == 2
    chunks = dict(pngkit.split_chunks((web / "data_images.png").read_bytes()))
    assert set(chunks) == {b"IHDR", b"tEXt", b"IDAT", b"IEND"}  # no alpha, gamma or profile
    keyword, _, text = chunks[b"tEXt"].partition(b"\0")
    assert keyword == b"mnist-sprite" and json.loads(text)["options"]["name"] == "data"
    code, stdout, _ = run("inspect", str(web / "data.json"), "--json")
    assert code == 0 and json.loads(stdout)["kind"] == "packed"
    code, stdout, _ = run("inspect", str(web / "data_images.png"), "--json")
    assert json.loads(stdout)["provenance"]["source"]["name"] == "k.npz"


def test_verify_finds_a_packed_file_changed_and_a_wrong_source(tmp_path: Path) -> None:
    x = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    source = keras_npz(tmp_path / "k.npz", x, np.array([1, 2, 3]), 2)
    web = tmp_path / "web"
    mnist_sprite.pack(source, web)
    other = keras_npz(tmp_path / "o.npz", x[::-1].copy(), np.array([1, 2, 3]), 2)
    code, stdout, _ = run("verify", str(web / "data.json"), "--source", str(other))
    assert code == 1 and "values differ from the source's" in stdout
    labels = web / "data_labels_uint8"
    labels.write_bytes(labels.read_bytes()[::-1])
    code, stdout, _ = run("verify", str(web / "data.json"))
    assert code == 1 and "is not the one packed" in stdout


def test_labels_that_are_not_classes_are_refused(tmp_path: Path) -> None:
    x = np.zeros((2, 2, 2), np.uint8)
    source = keras_npz(tmp_path / "k.npz", x, np.array([0, 300]), 1)
    with pytest.raises(LabelError, match="y_test row 0 is 300, not a class id 0 to 254"):
        pack(source, tmp_path / "p")
    source = keras_npz(tmp_path / "k.npz", x, np.array([0, 5]), 1)
    code, _, stderr = run("pack", str(source), "--out", str(tmp_path / "p"), "--classes", "3")
    assert code == 2 and "its labels use 6 classes, more than --classes 3" in stderr


def test_source_bytes_are_what_convert_gives_back(tmp_path: Path) -> None:
    x = np.random.default_rng(1).integers(0, 256, (5, 3, 3), dtype=np.uint8)
    source = keras_npz(tmp_path / "k.npz", x, np.arange(5) % 10, 3)
    want = source_bytes(source)
    assert np.array_equal(want["x_test"], x[3:].reshape(2, -1))


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("image_height", 14, "image size 14x28 is 392 pixels"),
        ("image_width", 56, "image size 28x56 is 1,568 pixels"),
        ("classes", 12, "classes is 12 for 1,000 images"),
        ("images", 900, "images is 900, but data_images.png has 1,000 rows"),
        ("train_images", 1001, "train_images 1,001 is more than images 1,000"),
        ("channels", 3, "channels is 3, but data_images.png has PNG colour type 0"),
        ("classes", "10", "classes: not whole numbers"),
        ("schema", 999, "schema is 999, not 1"),
        ("name", "../../evil", "name is '../../evil', but the record is data.json"),
        ("class_names", ["x"] * 10, "class_names is not a list of 10 different names"),
    ],
)
def test_verify_checks_every_number_of_a_packed_record(
    tmp_path: Path, field: str, value: object, says: str
) -> None:
    """Issue 18.11: data.js takes NAME.json's numbers as they are, so verify checks each."""
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    assert run("verify", str(web / "data.json"))[0] == 0
    record = web / "data.json"
    facts = json.loads(record.read_text())
    facts[field] = value
    record.write_text(json.dumps(facts))
    code, out, _ = run("verify", str(web / "data.json"))
    assert code == 1 and says in out, out
    code, _, err = run("inspect", str(web / "data.json"))  # refused, in its own words
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err


def _reshaped_record(tmp_path: Path) -> tuple[Path, Path]:
    """A pack of the sample's 28x28 images whose NAME.json then says 14x56: the same 784
    pixels a row, so every count still agrees."""
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    record = web / "data.json"
    facts = json.loads(record.read_text())
    record.write_text(json.dumps({**facts, "image_height": 14, "image_width": 56}))
    return record, source


def test_verify_and_inspect_refuse_a_record_of_another_image_size_than_the_sprite_records(
    tmp_path: Path,
) -> None:
    record, source = _reshaped_record(tmp_path)
    says = "image size 14x56, but data_images.png records 28x28 (its tEXt chunk)"
    for args in ([], ["--source", str(source)]):
        code, out, _ = run("verify", str(record), *args)
        assert code == 1 and says in out, out
    code, _, err = run("inspect", str(record))
    assert code == 1 and says in err and err.count("\n") == 1, err


def test_verify_with_source_refuses_another_image_size_in_a_pack_that_records_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packs made before the sprite recorded its image size: --source tells it."""
    pack_module = importlib.import_module("mnist_sprite.pack")  # the name is the function
    written = pack_module.write_shards

    def as_before(*args: Any, text: dict[str, str], **kwargs: Any) -> Any:
        recorded = json.loads(text["mnist-sprite"])
        del recorded["image_size"]
        return written(*args, text={"mnist-sprite": json.dumps(recorded)}, **kwargs)

    monkeypatch.setattr(pack_module, "write_shards", as_before)
    record, source = _reshaped_record(tmp_path)
    assert run("verify", str(record))[0] == 0  # nothing to tell it by
    code, out, _ = run("verify", str(record), "--source", str(source))
    assert code == 1 and "image size: is 14x56, but the source's images are 28x28" in out, out


def _onehot(ids: list[int], dtype: str) -> np.ndarray:
    return np.eye(10, dtype=dtype)[ids]


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        (
            np.array([[-255, 0, 0], [0, 1, 0]], np.int16),
            "y_train row 0 is not one-hot: [-255, 0, 0]",
        ),
        (
            np.array([[1, 0, 0.5], [0, 1, 0]], np.float32),
            "y_train row 0 is not one-hot: [1.0, 0.0, 0.5]",
        ),
        (np.array([[1, 1, 0], [0, 1, 0]], np.uint8), "y_train row 0 is not one-hot: [1, 1, 0]"),
        (np.array([1.0, np.nan]), "y_train row 1 is nan, not a class id"),
        (np.array([1.5, 2.0]), "y_train row 0 is 1.5, not a class id"),
        (np.array([-1, 2], np.int8), "y_train row 0 is -1, not a class id"),
        (np.zeros((2, 3, 1), np.uint8), "y_train has shape (2, 3, 1), not class ids (N,)"),
        (np.zeros((2, 256), np.uint8), "not class ids (N,) or one-hot rows (N, C) of at most 255"),
        (np.array(["a", "b"]), "y_train holds <U1 values, not"),
    ],
)
def test_labels_are_exactly_class_ids(tmp_path: Path, labels: np.ndarray, says: str) -> None:
    """Issue 18.10: never wrapped, rounded or guessed; the array, the row and the value named."""
    source = tmp_path / "k.npz"
    np.savez(source, x_train=np.zeros((2, 2, 2), np.uint8), y_train=labels)
    code, _, err = run("pack", str(source), "--out", str(tmp_path / "p"))
    assert code == 1 and says in err and err.count("\n") == 1, err
    assert not (tmp_path / "p").exists()


def test_whole_float_and_bool_labels_are_class_ids(tmp_path: Path) -> None:
    """keras' to_categorical gives float32 one-hot rows: whole numbers are class ids."""
    x = np.arange(3 * 4, dtype=np.uint8).reshape(3, 2, 2)
    for labels in (
        _onehot([2, 0, 9], "float32"),
        np.array([2.0, 0.0, 9.0]),
        _onehot([2, 0, 9], "bool"),
    ):
        source = tmp_path / "k.npz"
        np.savez(source, x_train=x, y_train=labels)
        assert source_bytes(source)["y_train"].tolist() == [2, 0, 9]


def test_keras_cifar_labels_of_shape_n_1_are_class_ids(tmp_path: Path) -> None:
    """keras' cifar10.load_data() gives y_train of shape (N, 1): class ids, not one-hot."""
    x = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    source = tmp_path / "k.npz"
    np.savez(source, x_train=x, y_train=np.array([[2], [0], [9]], np.uint8))
    assert source_bytes(source)["y_train"].tolist() == [2, 0, 9]
    result = pack(source, tmp_path / "p")
    assert result.facts["classes"] == 10 and result.facts["channels"] == 3
