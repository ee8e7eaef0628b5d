"""The pack round trip as a new user walks it: pack a source, convert the pack to every format,
verify each output, inspect each one; the arrays, the class names and the class count survive.

(a default pack has no test split, which crashed npz, and NAME.json was not read as
a source by verify; class names became 0..9.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import png
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_sprite.cli import cli
from mnist_sprite.options import FORMATS
from mnist_sprite.reading import Output
from tests.cli_kit import ok, packed, run

NAMES = ("cat", "dog", "fish")  # sorted: pack's class order for a per-class folder


def per_class_npy(root: Path, x: np.ndarray, y: np.ndarray) -> Path:
    root.mkdir()
    for c, name in enumerate(NAMES):
        np.save(root / f"{name}.npy", x[y == c].reshape(-1, 16))
    return root


def png_classes(root: Path, x: np.ndarray, y: np.ndarray) -> Path:
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        folder = root / NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{i:05d}.png", "wb") as f:
            png.Writer(4, 4, greyscale=True).write(f, image.tolist())
    return root


def keras_npz(root: Path, x: np.ndarray, y: np.ndarray) -> Path:
    path = root.with_suffix(".npz")
    np.savez(path, x_train=x, y_train=y, x_test=x[:0], y_test=y[:0])
    return path


def csv_output(root: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """A CSV output folder of convert, made from a pack of the images as named classes."""
    web = root.parent / "csv_web"
    ok("pack", str(per_class_npy(root.parent / "for_csv", x, y)), "--out", str(web), "-q")
    ok("convert", "--sprite", str(web / "data.json"), "--format", "csv", "--out", str(root), "-q")
    return root


def jpeg_classes(root: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """Class folders of grayscale JPEGs; ``x`` becomes what they decode to (JPEG is lossy)."""
    from PIL import Image

    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        folder = root / NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:05d}.jpg", quality=90)
        with Image.open(folder / f"{i:05d}.jpg") as back:
            x[i] = np.asarray(back)
    return root


def zipped_classes(root: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """A .zip of PNG class folders, under one top folder as a download holds them."""
    import zipfile

    folder = png_classes(root, x, y)
    archive = root.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(folder.rglob("*.png")):
            z.write(p, "download/" + p.relative_to(folder).as_posix())
    return archive


SOURCES = {
    "npy": per_class_npy, "png": png_classes, "npz": keras_npz, "csv": csv_output,
    "jpg": jpeg_classes, "zip": zipped_classes,
}  # fmt: skip


def source_order(kind: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images in the order pack reads them: a per-class source class by class."""
    if kind in ("npy", "png", "csv", "jpg", "zip"):
        order = np.argsort(y, kind="stable")
        return x[order], y[order]
    return x, y


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(sorted(SOURCES)),
    per_class=st.integers(2, 6),
    test=st.booleans(),
    shard_rows=st.sampled_from([None, 4]),
    seed=st.integers(0, 2**16),
)
def test_pack_then_every_format_round_trips(
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    per_class: int,
    test: bool,
    shard_rows: int | None,
    seed: int,
) -> None:
    """Every format from a pack holds the pack's images and labels, verify passes on each,
    and inspect reports the pack's class names, whatever the source and split."""
    tmp = tmp_path_factory.mktemp("trip")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3, dtype=np.uint8), per_class)
    x = rng.integers(0, 256, (y.size, 4, 4), dtype=np.uint8)
    source = SOURCES[kind](tmp / "src", x, y)
    args = ["pack", str(source), "--out", str(tmp / "web"), "--name", "trip", "-q"]
    # One image of each class, or none (0: the default test part asked away).
    args += ["--test-size", "3" if test else "0"]
    if shard_rows:
        args += ["--shard-rows", str(shard_rows)]
    if kind == "npz":
        args += ["--classes", "3"]
    ok(*args)
    bundle = tmp / "web" / "trip.json"
    facts = json.loads(bundle.read_text())
    names = facts["class_names"]
    if kind != "npz":
        assert names == list(NAMES)
    xs, ys = source_order(kind, x, y)
    for fmt in FORMATS:
        out = tmp / ("back.npz" if fmt == "npz" else f"back_{fmt}")
        ok("convert", "--sprite", str(bundle), "--out", str(out), "--format", fmt,
           "--dtype", "uint8", "--label-format", "index", "-q")  # fmt: skip
        with Output(out) as got:
            arrays = {n: got.rows(n, 0, got.shape(n)[0]) for n in got.names()}
        images = np.concatenate([arrays["x_train"], arrays["x_test"]]).reshape(-1, 16)
        labels = np.concatenate([arrays["y_train"], arrays["y_test"]])
        assert arrays["x_test"].shape[0] == (3 if test else 0), fmt
        # A test part is taken out of the source's order: compare as multisets of (image, label).
        want = sorted(zip(map(bytes, xs.reshape(-1, 16)), ys.tolist(), strict=True))
        have = sorted(zip(map(bytes, images), labels.tolist(), strict=True))
        assert have == want, fmt
        code, report, err = run("verify", str(out))
        assert code == 0, (fmt, report, err)
        inspected = json.loads(ok("inspect", str(out), "--json"))
        assert inspected["classes"] == names, fmt


def doodles(tmp_path: Path, *extra: str) -> Path:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3, dtype=np.uint8), 5)
    x = rng.integers(0, 256, (y.size, 4, 4), dtype=np.uint8)
    per_class_npy(tmp_path / "qd", x, y)
    ok("pack", str(tmp_path / "qd"), "--out", str(tmp_path / "web"), "--name", "doodles", *extra)
    return tmp_path / "web" / "doodles.json"


@pytest.mark.parametrize("compress", [False, True])
def test_npz_of_a_pack_without_test_split_is_written(tmp_path: Path, compress: bool) -> None:
    bundle = doodles(tmp_path, "--test-size", "0")
    extra = ["--compress"] if compress else []
    ok("convert", "--sprite", str(bundle), "--out", str(tmp_path / "back.npz"), *extra)
    with np.load(tmp_path / "back.npz") as f:
        assert f["x_test"].shape == (0, 16) and f["y_test"].shape == (0, 3)
        assert f["x_train"].shape == (15, 16)


def test_npz_stream_of_an_empty_split_is_whole(tmp_path: Path) -> None:
    bundle = doodles(tmp_path, "--test-size", "0")
    result = CliRunner().invoke(cli, ["convert", "--sprite", str(bundle), "--out", "-"])
    assert result.exit_code == 0, result.stderr
    (tmp_path / "s.npz").write_bytes(result.stdout_bytes)
    with np.load(tmp_path / "s.npz") as f:
        assert f["x_test"].shape == (0, 16)


@pytest.mark.parametrize("size", ["0", "15"])
def test_npz_with_train_size_leaving_a_split_empty(tmp_path: Path, size: str) -> None:
    bundle = doodles(tmp_path)
    ok("convert", "--sprite", str(bundle), "--out", str(tmp_path / "b.npz"), "--train-size", size)
    with np.load(tmp_path / "b.npz") as f:
        assert f["x_train"].shape[0] + f["x_test"].shape[0] == 15


@pytest.mark.parametrize("fmt", FORMATS)
def test_verify_accepts_an_output_of_a_pack(tmp_path: Path, fmt: str) -> None:
    bundle = doodles(tmp_path)
    out = tmp_path / ("o.npz" if fmt == "npz" else "o")
    ok("convert", "--sprite", str(bundle), "--out", str(out), "--format", fmt)
    code, report, err = run("verify", str(out))
    assert code == 0, report + err
    assert "not a PNG file" not in report


def test_verify_of_a_pack_as_sprite(tmp_path: Path) -> None:
    bundle = doodles(tmp_path)
    report = ok("verify", "--sprite", str(bundle))
    assert "shard" in report and "FAIL" not in report


def test_png_dir_of_a_pack_names_its_class_folders(tmp_path: Path) -> None:
    bundle = doodles(tmp_path)
    ok("convert", "--sprite", str(bundle), "--out", str(tmp_path / "pd"), "--format", "png-dir")
    assert sorted(p.name for p in (tmp_path / "pd/train").iterdir()) == list(NAMES)
    listed = json.loads((tmp_path / "pd/classes.json").read_text())
    assert listed["classes"] == list(NAMES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_outputs_record_the_packs_class_names(tmp_path: Path, fmt: str) -> None:
    bundle = doodles(tmp_path)
    out = tmp_path / ("o.npz" if fmt == "npz" else "o")
    ok("convert", "--sprite", str(bundle), "--out", str(out), "--format", fmt)
    with Output(out) as got:
        assert (got.provenance() or {})["class_names"] == list(NAMES)
    text = ok("inspect", str(out))
    assert "cat, dog, fish" in text and "0, 1, 2, 3" not in text


def test_inspect_counts_the_classes_of_own_png_folders(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3, dtype=np.uint8), 2)
    root = tmp_path / "mine"
    for i, label in enumerate(y):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        image = rng.integers(0, 256, (4, 4), dtype=np.uint8)
        with open(folder / f"{i}.png", "wb") as f:
            png.Writer(4, 4, greyscale=True).write(f, image.tolist())
    facts = json.loads(ok("inspect", str(root), "--json"))
    assert facts["classes"] == ["0", "1", "2"]


def test_inspect_prints_uint8_ranges_as_integers(tmp_path: Path) -> None:
    ok("convert", "--dataset", "sample", "--out", str(tmp_path / "s.npz"), "--dtype", "uint8")
    text = ok("inspect", str(tmp_path / "s.npz"))
    assert "max 255 " in text and "255.0" not in text
    facts = json.loads(ok("inspect", str(tmp_path / "s.npz"), "--json"))
    assert facts["arrays"]["x_train"]["max"] == 255
    assert isinstance(facts["arrays"]["x_train"]["max"], int)


@pytest.mark.parametrize(
    ("name", "suggests"),
    [("data.csv", "--format csv"), ("x.png", "--format png-dir"), ("d.npy", "--format npy"),
     ("e.gz", "--format idx"), ("a.json", "pack"), ("b.tar", ".npz"), ("c.parquet", ".npz")],
)  # fmt: skip
def test_out_whose_extension_names_another_format_is_refused(
    tmp_path: Path, name: str, suggests: str
) -> None:
    out = tmp_path / name
    out.write_bytes(b"the user's own file")
    code, _, err = run("convert", "--dataset", "sample", "--out", str(out), "--force")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert suggests in err and f"{out}: is a {out.suffix} name" in err
    assert out.read_bytes() == b"the user's own file"


def test_inspect_of_a_damaged_pack_prints_its_facts_and_every_problem(tmp_path: Path) -> None:
    bundle = doodles(tmp_path)
    assert json.loads(ok("inspect", str(bundle), "--json"))["problems"] == []
    sprite, labels = packed(bundle.parent, "doodles")
    sprite.unlink()
    with open(labels, "ab") as f:
        f.write(b"\1")
    code, text, err = run("inspect", str(bundle))
    assert code == 1
    assert "15 of 4x4" in text and "cat, dog, fish" in text
    assert f"{sprite.name}: is missing" in err and f"{labels.name}: changed" in err
    code, text, _ = run("inspect", str(bundle), "--json")
    facts = json.loads(text)
    assert code == 1 and not facts["ok"] and len(facts["problems"]) == 2
    assert facts["images"] == 15 and facts["class_names"] == list(NAMES)
