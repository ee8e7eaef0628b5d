"""pack: your own images -> a sprite; then convert gives the same arrays back, bit
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
from mnist_sprite.packing import pack, source_bytes
from mnist_sprite.pipeline import Options, Sources, to_arrays, write_output
from tests import pngkit
from tests.cli_kit import README, digest, one_line, packed, write_png


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
    sources = Sources(*packed(folder, name))
    return to_arrays(sources, options)


def keras_npz(path: Path, x: np.ndarray, y: np.ndarray, train: int) -> Path:
    np.savez(path, x_train=x[:train], y_train=y[:train], x_test=x[train:], y_test=y[train:])
    return path


def png_folder(root: Path, x: np.ndarray, y: np.ndarray, train: int) -> Path:
    """A folder of class folders, one for every class up to the largest label (some may stay
    empty): class ids are the folders' places in numeric order, as ImageFolder's."""
    for c in range(int(y.max()) + 1):
        (root / "train" / str(c)).mkdir(parents=True, exist_ok=True)
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
    code, _, stderr = run("pack", str(root), "--out", str(tmp_path / "p"), "--test-size", "0")
    assert code == 1
    assert "dog/a.png: is 4x5 gray where" in stderr and "cat/a.png is 4x4 gray" in stderr  # HxW


def test_a_plain_class_folder_packs_with_its_class_names(tmp_path: Path) -> None:
    root = tmp_path / "flowers"
    for i, name in enumerate(["daisy", "rose", "tulip"]):
        (root / name).mkdir(parents=True)
        with open(root / name / "x.png", "wb") as f:
            png.Writer(3, 2, greyscale=False).write(f, np.full((2, 9), i, np.uint8).tolist())
    code, stdout, _ = run("pack", str(root), "--out", str(tmp_path / "web"), "--name", "f",
                          "--json", "--test-size", "0")  # fmt: skip
    facts = json.loads(stdout)
    assert code == 0 and facts["class_names"] == ["daisy", "rose", "tulip"]
    # RGB files whose red, green and blue are equal are gray images: packed gray.
    assert facts["channels"] == 1 and facts["images"] == facts["train_images"] == 3
    labels = packed(tmp_path / "web", "f")[1].read_bytes()
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
    chunks = dict(pngkit.split_chunks(packed(web)[0].read_bytes()))
    assert set(chunks) == {b"IHDR", b"tEXt", b"IDAT", b"IEND"}  # no alpha, gamma or profile
    keyword, _, text = chunks[b"tEXt"].partition(b"\0")
    assert keyword == b"mnist-sprite" and json.loads(text)["options"]["name"] == "data"
    code, stdout, _ = run("inspect", str(web / "data.json"), "--json")
    assert code == 0 and json.loads(stdout)["kind"] == "packed"
    code, stdout, _ = run("inspect", str(packed(web)[0]), "--json")
    assert json.loads(stdout)["provenance"]["source"]["name"] == "k.npz"


def test_verify_finds_a_packed_file_changed_and_a_wrong_source(tmp_path: Path) -> None:
    x = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    source = keras_npz(tmp_path / "k.npz", x, np.array([1, 2, 3]), 2)
    web = tmp_path / "web"
    mnist_sprite.pack(source, web)
    other = keras_npz(tmp_path / "o.npz", x[::-1].copy(), np.array([1, 2, 3]), 2)
    code, stdout, _ = run("verify", str(web / "data.json"), "--source", str(other))
    assert code == 1 and "values differ from the source's" in stdout
    labels = packed(web)[1]
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
        ("images", 900, "images is 900, but {images} has 1,000 rows"),
        ("train_images", 1001, "train_images 1,001 is more than images 1,000"),
        ("channels", 3, "channels is 3, but {images} has PNG colour type 0"),
        ("classes", "10", 'its "classes" is "10", not a whole number'),  # refused, named
        ("schema", 999, "schema is 999, not 1"),
        ("name", "../../evil", "name is '../../evil', but the record is data.json"),
        ("class_names", ["x"] * 10, "class_names is not a list of 10 different names"),
    ],
)
def test_verify_checks_every_number_of_a_packed_record(
    tmp_path: Path, field: str, value: object, says: str
) -> None:
    """Data.js takes NAME.json's numbers as they are, so verify checks each."""
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    assert run("verify", str(web / "data.json"))[0] == 0
    record = web / "data.json"
    facts = json.loads(record.read_text())
    facts[field] = value
    record.write_text(json.dumps(facts))
    code, out, err = run("verify", str(web / "data.json"))
    says = says.replace("{images}", packed(web)[0].name)
    assert code == 1 and says in out + err, out + err
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
    says = f"image size 14x56, but {packed(record.parent)[0].name} records 28x28 (its tEXt chunk)"
    for args in ([], ["--source", str(source)]):
        code, out, _ = run("verify", str(record), *args)
        assert code == 1 and says in out, out
    code, _, err = run("inspect", str(record))
    assert code == 1 and says in err and err.count("\n") == 1, err


def test_verify_with_source_refuses_another_image_size_in_a_pack_that_records_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packs made before the sprite recorded its image size: --source tells it."""
    pack_module = importlib.import_module("mnist_sprite.packing")  # the name is the function
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
    """Never wrapped, rounded or guessed; the array, the row and the value named."""
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


def test_pack_force_never_replaces_a_users_own_json(tmp_path: Path) -> None:
    """Pack --force replaces only what an earlier pack wrote."""
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    web.mkdir()
    mine = web / "data.json"
    mine.write_text('{"my": "settings"}\n')
    code, _, err = run("pack", str(source), "--out", str(web), "--force", "-q")
    assert code == 1 and "data.json: is not a file an earlier pack wrote" in err
    assert mine.read_text() == '{"my": "settings"}\n'
    assert sorted(p.name for p in web.iterdir()) == ["data.json"]


def test_pack_says_why_a_data_js_of_its_own_matters(tmp_path: Path) -> None:
    """Pack --force replaces only what an earlier pack wrote."""
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    web.mkdir()
    (web / "data.js").write_text("// tfjs-examples' data.js\n")
    for force in ([], ["--force"]):
        code, _, err = run("pack", str(source), "--out", str(web), *force, "-q")
        assert code == 1 and "data.js: is not a file an earlier pack wrote" in err
        assert "--name mnist" in err and "tfjs-examples" in err
    assert (web / "data.js").read_text() == "// tfjs-examples' data.js\n"


def test_pack_force_replaces_an_earlier_pack(tmp_path: Path) -> None:
    """Pack --force replaces only what an earlier pack wrote."""
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    first = {p.name: digest(p) for p in web.iterdir()}
    assert run("pack", str(source), "--out", str(web), "--force", "-q")[0] == 0
    assert {p.name: digest(p) for p in web.iterdir()} == first
    labels = packed(web)[1]
    labels.unlink()
    labels.write_text("the user's own file under pack's name")
    (web / "data.json").unlink()  # no record: nothing is known to be pack's
    code, _, err = run("pack", str(source), "--out", str(web), "--force", "-q")
    assert code == 1 and "is not a file an earlier pack wrote" in err
    assert labels.read_text() == "the user's own file under pack's name"


def test_pack_refuses_an_image_size_the_images_contradict(tmp_path: Path) -> None:
    """Options that would be ignored, a stray .npy, a damaged manifest."""
    x, y = np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    code, _, stderr = run(
        "pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "w"), "--image-size", "14x56"
    )
    assert code == 2
    one_line(stderr, "x_train holds 28x28 images, not 14x56; drop --image-size")
    assert not (tmp_path / "w").exists()
    args = ["pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "w"), "--image-size", "28x28"]
    assert run(*args)[0] == 0  # the size it has is no contradiction


def test_pack_onto_its_own_input_is_a_usage_error(tmp_path: Path) -> None:
    """Path checks go through the one funnel, with README's exit codes."""
    x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "in.npz"), "-f")
    assert code == 2
    one_line(stderr, "in.npz: is an input of this command")


@pytest.mark.parametrize("what", ["empty", "jpegs"])
def test_pack_says_what_it_reads(tmp_path: Path, what: str) -> None:
    """Messages that point the right way."""
    root = tmp_path / "photos"
    root.mkdir()
    if what == "jpegs":
        for i in range(2):
            (root / f"{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(20))
    code, _, stderr = run("pack", str(root), "--out", str(tmp_path / "w"))
    assert code == 1
    holds = "it is empty" if what == "empty" else "it holds 2 files (.jpg)"
    one_line(stderr, f"is nothing pack reads: {holds}", "class folders of images (<class>/*.png")
    assert "give a convert output" not in stderr


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (
            np.full((2, 2, 2), 214.0, np.float32),
            np.array([0, 1]),
            "x_train[0] element 0 is 214.0, which is above 1: float pixels are k / 255, and "
            "these look like 0..255 values; divide them by 255, or store them as uint8",
        ),
        (
            np.zeros((2, 2, 2), np.uint8),
            np.array([0.5, 9.0], np.float32),
            "y_train row 0 is 0.5, not a class id 0 to 254",
        ),
        (
            np.zeros((2, 2, 2), np.uint8),
            np.array([-1, -1]),
            "y_train row 0 is -1, not a class id 0 to 254",  # not "0 to -1"
        ),
    ],
)
def test_pack_values_messages(tmp_path: Path, x: object, y: object, message: str) -> None:
    """Messages that point the right way."""
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "w"))
    assert code == 1
    one_line(stderr, message)


def test_float_labels_that_are_whole_numbers_are_class_ids(tmp_path: Path) -> None:
    """Messages that point the right way."""
    x, y = np.zeros((2, 2, 2), np.uint8), np.array([0.0, 9.0], np.float32)
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    assert run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "w"), "-q")[0] == 0
    facts = json.loads((tmp_path / "w" / "data.json").read_text())
    assert facts["classes"] == 10


def test_a_bad_class_image_is_not_called_a_sprite(tmp_path: Path) -> None:
    """Messages that point the right way."""
    root = tmp_path / "pngs"
    write_png(root / "cat" / "0.png", np.zeros((2, 2), np.uint8))
    (root / "dog").mkdir()
    (root / "dog" / "0.png").write_bytes(b"not a png at all")
    code, _, stderr = run("pack", str(root), "--out", str(tmp_path / "w"), "--test-size", "0")
    assert code == 1
    one_line(stderr, "dog/0.png: not a PNG file (bad signature)")
    assert "sprite" not in stderr


def test_a_folder_where_the_json_goes_is_not_called_an_npz(tmp_path: Path) -> None:
    """Messages that point the right way."""
    x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    (tmp_path / "mine" / "data.json").mkdir(parents=True)
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "mine"))
    assert code == 1
    one_line(stderr, "data.json: is a folder; this output is a file")
    assert ".npz" not in stderr.split(":", 2)[2]


def test_the_packed_size_moves_with_the_text_chunk_only(tmp_path: Path) -> None:
    """README and help say what the tool does."""
    npz = tmp_path / "sample.npz"
    args = ["convert", "--dataset", "sample", "--dtype", "uint8", "--out", str(npz), "-q"]
    assert run(*args)[0] == 0
    sizes, pixels = {}, {}
    for name in ("a", "abc"):
        assert run("pack", str(npz), "--out", str(tmp_path / name), "--name", name, "-q")[0] == 0
        png_file, label_file = packed(tmp_path / name, name)
        sizes[name] = png_file.stat().st_size
        pixels[name] = mnist_sprite.load_data(sprite=png_file, labels=label_file, train_size=800)[
            0
        ][0]
    assert sizes["abc"] - sizes["a"] == 2  # the name, in the tEXt chunk
    assert np.array_equal(pixels["a"], pixels["abc"])
    assert "moves by a few bytes with what the `tEXt` chunk records" in README


def test_pack_force_replaces_the_json_too_and_readme_says_so(tmp_path: Path) -> None:
    """README and help say what the tool does."""
    x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    web = tmp_path / "web"
    assert run("pack", str(tmp_path / "in.npz"), "--out", str(web), "-q")[0] == 0
    np.savez(tmp_path / "in.npz", x_train=x[:2], y_train=y[:2])
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(web))
    assert code == 1 and "already exists" in stderr
    assert run("pack", str(tmp_path / "in.npz"), "--out", str(web), "--force")[0] == 0
    assert json.loads((web / "data.json").read_text())["images"] == 2  # NAME.json too
    assert "Replace the files an earlier pack wrote: `NAME.json` and the files it lists" in README
    force = next(p for p in cli.commands["pack"].params if p.name == "force")
    assert "NAME.json" in str(getattr(force, "help", ""))


def test_png_folders_are_packed_in_file_name_order_across_classes(tmp_path: Path) -> None:
    """README and help say what the tool does."""
    root = tmp_path / "pngs"
    for cls, value in (("cat", 10), ("dog", 20)):
        for i in range(2):
            write_png(root / cls / f"{i}.png", np.full((2, 2), value + i, np.uint8))
    assert run("pack", str(root), "--out", str(tmp_path / "w"), "--test-size", "0", "-q")[0] == 0
    (x, y), _ = mnist_sprite.load_data(
        sprite=packed(tmp_path / "w")[0],
        labels=packed(tmp_path / "w")[1],
        image_size="2x2",
        train_size=4,
        dtype="uint8",
        label_format="index",
    )
    assert x[:, 0].tolist() == [10, 20, 11, 21] and y.tolist() == [0, 1, 0, 1]
    assert "`cat/0.png`, `dog/0.png`, `cat/1.png`" in README


def test_pack_numbers_classes_over_both_splits(tmp_path: Path) -> None:
    root = tmp_path / "split"
    write_png(root / "train" / "a" / "0.png", np.full((2, 2), 1, np.uint8))
    write_png(root / "train" / "b" / "1.png", np.full((2, 2), 2, np.uint8))
    write_png(root / "test" / "a" / "2.png", np.full((2, 2), 3, np.uint8))
    write_png(root / "test" / "c" / "3.PNG", np.full((2, 2), 4, np.uint8))  # any case
    code, stdout, _ = run("pack", str(root), "--out", str(tmp_path / "w"), "--json")
    facts = json.loads(stdout)
    assert code == 0 and facts["class_names"] == ["a", "b", "c"] and facts["images"] == 4
    labels = np.frombuffer(packed(tmp_path / "w")[1].read_bytes(), np.uint8)
    assert labels.reshape(4, 3).argmax(axis=1).tolist() == [0, 1, 0, 2]


def test_pack_refuses_labels_that_do_not_match_images(tmp_path: Path) -> None:
    x = np.zeros((8, 2, 2), np.uint8)
    np.savez(tmp_path / "m.npz", x_train=x, y_train=np.zeros(3, np.uint8))
    code, _, stderr = run("pack", str(tmp_path / "m.npz"), "--out", str(tmp_path / "w"))
    assert code == 1
    one_line(stderr, "y_train holds 3 labels but x_train holds 8 images")
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1.5, -0.5])
def test_quantize_refuses_values_with_no_nearest_pixel(tmp_path: Path, value: float) -> None:
    x = np.zeros((2, 2, 2), np.float32)
    x[1, 0, 1] = value
    np.savez(tmp_path / "f.npz", x_train=x, y_train=np.array([0, 1]))
    code, _, stderr = run("pack", str(tmp_path / "f.npz"), "--out", str(tmp_path / "w"),
                          "--quantize")  # fmt: skip
    assert code == 1
    one_line(stderr, "x_train[1] element 1 is", "which is not a pixel value from 0 to 1")


def test_pack_never_writes_into_its_input(tmp_path: Path) -> None:
    root = tmp_path / "pngs"
    write_png(root / "cat" / "0.png", np.zeros((2, 2), np.uint8))
    code, _, stderr = run("pack", str(root), "--out", str(root / "cat"))
    assert code == 2
    one_line(stderr, "is inside the input folder")
    assert sorted(p.name for p in (root / "cat").iterdir()) == ["0.png"]


def test_pack_refuses_a_folder_whose_package_json_is_commonjs(tmp_path: Path) -> None:
    x = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    source = keras_npz(tmp_path / "k.npz", x, np.array([1, 2, 3]), 2)
    web = tmp_path / "web"
    web.mkdir()
    (web / "package.json").write_text('{"name": "mine"}\n')
    code, stdout, stderr = run("pack", str(source), "--out", str(web))
    assert (code, stdout) == (1, "")
    one_line(stderr, f'{web / "package.json"}: has no "type": "module"', "--out web/")
    assert sorted(p.name for p in web.iterdir()) == ["package.json"]
    (web / "package.json").write_text('{"name": "mine", "type": "module"}\n')
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    assert (web / "package.json").read_text() == '{"name": "mine", "type": "module"}\n'


def _colours(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A pack of 4x4 RGB images in three classes: red, green and blue ones."""
    x = np.zeros((9, 4, 4, 3), np.uint8)
    y = np.arange(9) % 3
    x[np.arange(9), :, :, y] = 200
    web = tmp_path / "web"
    assert run("pack", str(keras_npz(tmp_path / "c.npz", x, y, 6)), "--out", str(web),
               "--name", "colours", "-q")[0] == 0  # fmt: skip
    return web, x


def test_a_packed_sprite_alone_converts_with_the_image_size_and_channels_it_records(
    tmp_path: Path,
) -> None:
    web, x = _colours(tmp_path)
    sprite, labels = packed(web, "colours")
    out = tmp_path / "o.npz"
    code, _, stderr = run("convert", "--sprite", str(sprite), "--labels", str(labels),
                          "--train-size", "6", "--dtype", "uint8", "--out", str(out))  # fmt: skip
    assert code == 0 and "warning" not in stderr, stderr
    with np.load(out) as d:
        assert np.array_equal(d["x_train"], x[:6].reshape(6, -1))
    facts = json.loads(run("inspect", str(sprite), "--json")[1])
    assert (facts["image_size"], facts["images"]) == ("4x4", 9)
    assert (
        run("verify", "--sprite", str(sprite), "--labels", str(labels), "--train-size", "6")[0] == 0
    )
    code, _, stderr = run("convert", "--sprite", str(sprite), "--labels", str(labels),
                          "--train-size", "6", "--channels", "red", "--out", str(out), "--force",
                          "--image-size", "2x8")  # fmt: skip
    assert code == 0 and "warning" not in stderr, stderr  # options given still win, in silence
    with np.load(out) as d:
        assert d["x_train"].shape == (6, 16)


def test_a_convert_that_drops_colour_warns_naming_channels_rgb(tmp_path: Path) -> None:
    x = np.zeros((10, 16, 3), np.uint8)
    x[:, :, 1] = 7  # green differs from red
    sprite, labels = tmp_path / "s.png", tmp_path / "l"
    sprite.write_bytes(pngkit.write_png(x.reshape(10, -1), 16, 10, color="rgb"))
    labels.write_bytes(np.eye(10, dtype=np.uint8).tobytes())
    args = ["convert", "--sprite", str(sprite), "--labels", str(labels), "--image-size", "4x4",
            "--train-size", "8", "--out", str(tmp_path / "o.npz"), "--force"]  # fmt: skip
    code, _, stderr = run(*args)
    assert code == 0
    assert stderr.count("warning: ") == 1 and stderr.startswith(f"warning: {sprite}: its pixels'")
    assert "give --channels rgb to keep all three" in stderr
    for quiet in (["--channels", "red"], ["--channels", "rgb"]):
        code, _, stderr = run(*args, *quiet)
        assert code == 0 and "warning" not in stderr, stderr
    x[:, :, 1] = 0  # red = green = blue: nothing is lost
    sprite.write_bytes(pngkit.write_png(x.reshape(10, -1), 16, 10, color="rgb"))
    code, _, stderr = run(*args)
    assert code == 0 and "warning" not in stderr, stderr


def test_grid_draws_colour_images_in_colour(tmp_path: Path) -> None:
    web, x = _colours(tmp_path)
    grid = tmp_path / "g.png"
    code, stdout, _ = run("inspect", str(web / "colours.json"), "--grid", str(grid), "--json")
    assert code == 0 and json.loads(stdout)["colour"] == "rgb"
    width, height, rows, info = png.Reader(bytes=grid.read_bytes()).asRGB8()
    sheet = np.array([list(r) for r in rows], np.uint8).reshape(height, width, 3)
    gap = 2
    for i in range(9):
        r, c = divmod(i, 3)
        y0, x0 = gap + r * (4 + gap), gap + c * (4 + gap)
        assert np.array_equal(sheet[y0 : y0 + 4, x0 : x0 + 4], x[i]), i
    assert not info["greyscale"]


def test_class_folders_named_1_2_3_are_classes_0_1_2_named_by_their_folders(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    root = tmp_path / "drawings"
    for folder in ("1", "2", "3", "10"):  # as numbers: 1, 2, 3, 10 (as text, 10 sorts first)
        for i in range(3):
            write_png(root / folder / f"{i}.png", rng.integers(0, 256, (4, 4), dtype=np.uint8))
    web = tmp_path / "web"
    code, _, stderr = run("pack", str(root), "--out", str(web), "--test-size", "0", "-q")
    assert code == 0, stderr
    facts = json.loads((web / "data.json").read_text())
    assert facts["class_names"] == ["1", "2", "3", "10"] and facts["classes"] == 4
    ids = unpack(web)["y_train"]
    assert sorted(ids.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
