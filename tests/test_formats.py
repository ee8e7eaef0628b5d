"""The formats other tools read: IDX, CSV and PNG folders, each read back here by an
independent reader (struct, the csv module, pypng) and compared with what npz holds."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import png
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_sprite.api import load_data
from mnist_sprite.cli import cli
from mnist_sprite.errors import OptionError
from mnist_sprite.formats import get, kind_of
from mnist_sprite.formats.idx import folder_for
from mnist_sprite.pipeline import Options, Sources, to_arrays, write_output
from mnist_sprite.registry import TABLE
from tests.cli_kit import one_line
from tests.conftest import make_sprite

SIDE = 4


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def read_idx(path: Path) -> np.ndarray:
    """An IDX file by the format's definition: magic, big-endian sizes, bytes."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and kind == 0x08
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    values = np.frombuffer(data[4 + 4 * ndim :], dtype=np.uint8)
    assert values.size == int(np.prod(dims))
    return values.reshape(dims)


def read_csv(path: Path, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header == ["label"] + [f"pixel{i}" for i in range(len(header) - 1)]
    labels = np.array([int(r[0]) for r in body], dtype=np.uint8)
    pixels = np.array([[float(v) for v in r[1:]] for r in body]).astype(dtype)
    return pixels, labels


def read_png_dir(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    classes = json.loads((root / "classes.json").read_text())
    found = []
    for label, folder in enumerate(classes["folders"]):
        for p in (root / split / folder).glob("*.png"):
            _, _, rows, info = png.Reader(bytes=p.read_bytes()).read()
            assert info["greyscale"] and info["bitdepth"] == 8 and not info["alpha"]
            found.append((p.name, np.array(list(rows), dtype=np.uint8), label))
    found.sort()
    names = [n for n, _, _ in found]
    assert names == sorted(names) and len(set(len(n) for n in names)) == 1  # zero-padded
    return np.stack([a for _, a, _ in found]), np.array([lab for *_, lab in found], np.uint8)


def reference(sources: Sources, dtype: str = "uint8") -> dict[str, np.ndarray]:
    options = Options.given("npz", dtype=dtype, label_format="index", train_size=20,
                          image_size=(SIDE, SIDE))  # fmt: skip
    return to_arrays(sources, options)


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            digest.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def sources(tmp_path: Path) -> Sources:
    s = make_sprite(tmp_path, images=30, side=SIDE, filters=[0, 1, 4])
    return Sources(s.sprite, s.labels)


def convert_to(sources: Sources, out: Path, fmt: str, **kw: object) -> None:
    dtype = kw.pop("dtype", None)
    options = Options.given(fmt, dtype=dtype, train_size=20, image_size=(SIDE, SIDE))  # type: ignore[arg-type]
    write_output(sources, out, options=options, fmt=fmt, **kw)  # type: ignore[arg-type]


def test_idx_reads_back_as_npz_holds_it(sources: Sources, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    convert_to(sources, out, "idx")
    want = reference(sources)
    assert np.array_equal(
        read_idx(out / "train-images-idx3-ubyte").reshape(20, -1), want["x_train"]
    )
    assert np.array_equal(read_idx(out / "train-labels-idx1-ubyte"), want["y_train"])
    assert np.array_equal(read_idx(out / "t10k-images-idx3-ubyte").reshape(10, -1), want["x_test"])
    assert np.array_equal(read_idx(out / "t10k-labels-idx1-ubyte"), want["y_test"])
    assert read_idx(out / "train-images-idx3-ubyte").shape == (20, SIDE, SIDE)


@pytest.mark.parametrize(
    ("dataset", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
def test_torchvision_layout_has_the_names_torchvision_checks(
    sources: Sources, tmp_path: Path, dataset: str, folder: str
) -> None:
    # torchvision.datasets.MNIST/FashionMNIST look for <root>/<class>/raw/<name> without .gz.
    assert folder_for("torchvision", dataset) == f"{folder}/raw"
    out = tmp_path / "root"
    convert_to(sources, out, "idx", layout="torchvision", compress=True)
    raw = sorted(p.name for p in (out / "MNIST" / "raw").iterdir())
    names = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
             "train-labels-idx1-ubyte"]  # fmt: skip
    assert raw == sorted(names + [n + ".gz" for n in names])
    for name in names:  # the .gz holds the same bytes, with no time stamp in its header
        gz = (out / "MNIST" / "raw" / (name + ".gz")).read_bytes()
        assert gzip.decompress(gz) == (out / "MNIST" / "raw" / name).read_bytes()
        assert gz[4:8] == b"\0\0\0\0"


def test_idx_compress_writes_gz_instead(sources: Sources, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    convert_to(sources, out, "idx", compress=True)
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".gz") == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    ]  # fmt: skip
    assert not (out / "train-images-idx3-ubyte").exists()
    want = reference(sources)
    assert np.array_equal(read_idx(out / "t10k-labels-idx1-ubyte.gz"), want["y_test"])
    assert run("verify", str(out), *(["--sprite", str(sources.sprite), "--labels",
                                     str(sources.labels)]))[0] == 0  # fmt: skip


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64", "float16"])
def test_csv_reads_back_as_npz_holds_it(sources: Sources, tmp_path: Path, dtype: str) -> None:
    out = tmp_path / "csv"
    convert_to(sources, out, "csv", dtype=dtype)
    want = reference(sources, dtype)
    for split in ("train", "test"):
        pixels, labels = read_csv(out / f"{split}.csv", dtype)
        assert np.array_equal(pixels, want[f"x_{split}"])  # every float reads back exactly
        assert np.array_equal(labels, want[f"y_{split}"])


def test_png_dir_reads_back_as_npz_holds_it(sources: Sources, tmp_path: Path) -> None:
    out = tmp_path / "pngs"
    convert_to(sources, out, "png-dir")
    want = reference(sources)
    for split in ("train", "test"):
        images, labels = read_png_dir(out, split)
        assert np.array_equal(images.reshape(len(images), -1), want[f"x_{split}"])
        assert np.array_equal(labels, want[f"y_{split}"])
    assert json.loads((out / "classes.json").read_text())["folders"] == [str(i) for i in range(10)]


@pytest.mark.parametrize("fmt", list(TABLE))
def test_each_registry_line_names_its_format_object(fmt: str) -> None:
    """The table's "module:attr" is the object the format's module declares, under its name."""
    found = get(fmt)
    assert found.name == fmt and found.info is TABLE[fmt]
    assert callable(found.sniff) and callable(found.open_reader) and callable(found.open_sink)


@pytest.mark.parametrize("fmt", list(TABLE))
def test_each_format_sniffs_what_it_writes_before_any_other_does(
    sources: Sources, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    convert_to(sources, out, fmt)
    assert kind_of(out) == fmt
    assert [name for name in TABLE if get(name).sniff(out)][:1] == [fmt]


@pytest.mark.parametrize("fmt", list(TABLE))
def test_every_format_is_byte_identical_across_runs(
    sources: Sources, tmp_path: Path, fmt: str
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    convert_to(sources, a, fmt)
    convert_to(sources, b, fmt)
    if not TABLE[fmt].rules.folder:
        assert a.read_bytes() == b.read_bytes()
    else:
        assert tree_digest(a) == tree_digest(b)
        manifest = json.loads((a / "manifest.json").read_text())
        assert manifest["format"] == fmt and manifest["tool"] == "mnist-sprite"
        files = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
        assert set(manifest["files"]) | {"manifest.json"} == files


@pytest.mark.parametrize("fmt", ["idx", "csv", "png-dir"])
def test_a_failure_half_way_leaves_nothing(
    sources: Sources, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mnist_sprite.pipeline as pipeline

    real = pipeline._converter

    def failing(dtype: str):  # type: ignore[no-untyped-def]
        convert = real(dtype)
        calls = []

        def go(block):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) > 1:
                raise OSError(28, "No space left on device")
            return convert(block)

        return go

    convert_to(sources, tmp_path / "earlier", fmt)
    earlier = tree_digest(tmp_path / "earlier")
    monkeypatch.setattr(pipeline, "_converter", failing)
    with pytest.raises(Exception, match="No space left"):
        convert_to(sources, tmp_path / "earlier", fmt, force=True)
    assert tree_digest(tmp_path / "earlier") == earlier  # an existing output is untouched
    with pytest.raises(Exception, match="No space left"):
        convert_to(sources, tmp_path / "new", fmt)
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("fmt", ["idx", "csv", "png-dir"])
def test_inspect_and_verify_understand_each_format(
    sources: Sources, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / fmt
    convert_to(sources, out, fmt)
    code, stdout, _ = run("inspect", str(out), "--json")
    facts = json.loads(stdout)
    assert code == 0 and facts["kind"] == fmt
    assert facts["arrays"]["y_train"]["shape"] == [20]
    src = ["--sprite", str(sources.sprite), "--labels", str(sources.labels)]
    code, stdout, _ = run("verify", str(out), *src)
    assert code == 0, stdout
    # One changed value is found.
    if fmt == "idx":
        f = out / "train-labels-idx1-ubyte"
        data = bytearray(f.read_bytes())
        data[8] = (data[8] + 1) % 10
        f.write_bytes(bytes(data))
    elif fmt == "csv":
        f = out / "test.csv"
        lines = f.read_text().splitlines()
        first = lines[1].split(",")
        first[3] = str((int(first[3]) + 1) % 256)
        lines[1] = ",".join(first)
        f.write_text("\n".join(lines) + "\n")
    else:
        f = sorted((out / "test").rglob("*.png"))[0]
        w, h, rows, _ = png.Reader(bytes=f.read_bytes()).read()
        image = np.array(list(rows), np.uint8)
        image[0, 0] ^= 1
        with open(f, "wb") as fh:
            png.Writer(w, h, greyscale=True).write(fh, image)
    code, stdout, _ = run("verify", str(out), *src)
    assert code == 1 and "1 of" in stdout


def test_options_a_format_cannot_hold_are_usage_errors(sources: Sources, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="--format idx cannot hold --dtype float32"):
        Options.given("idx", dtype="float32")
    with pytest.raises(OptionError, match="--format csv cannot hold --label-format onehot"):
        Options.given("csv", label_format="onehot")
    with pytest.raises(OptionError, match="--format png-dir cannot hold --shape flat"):
        Options.given("png-dir", shape="flat")
    assert Options.given("idx").dtype == "uint8" and Options.given("csv").shape == "flat"
    code, _, stderr = run("convert", "--dataset", "sample", "--format", "csv", "--compress",
                          "--out", str(tmp_path / "c"))  # fmt: skip
    assert code == 2 and "--compress applies to npz and idx" in stderr
    code, _, stderr = run("convert", "--dataset", "sample", "--layout", "torchvision",
                          "--out", str(tmp_path / "c.npz"))  # fmt: skip
    assert code == 2 and "--layout applies to --format idx only" in stderr


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), fmt=st.sampled_from(["idx", "csv", "png-dir"]))
def test_every_format_reads_back_through_the_tool_as_npz(
    tmp_path_factory: pytest.TempPathFactory, seed: int, fmt: str
) -> None:
    folder = tmp_path_factory.mktemp("p")
    s = make_sprite(folder, images=25, side=SIDE, seed=seed % 1000)
    sources = Sources(s.sprite, s.labels)
    out = folder / "out"
    convert_to(sources, out, fmt)
    from mnist_sprite.reading import Output

    want = reference(sources)
    with Output(out) as o:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            with o.array(name) as (_, pieces):
                got = np.concatenate(list(pieces))
            assert np.array_equal(got, want[name].reshape(-1)), name


def test_load_data_unchanged_by_formats() -> None:
    (x, y), _ = load_data("sample", label_format="index", dtype="uint8")
    assert x.dtype == np.uint8 and y.shape == (800,)


def test_rgb_png_dir_and_idx_layouts(tmp_path: Path) -> None:
    args = ["convert", "--dataset", "sample", "--channels", "rgb"]
    code, _, stderr = run(*args, "--format", "png-dir", "--out", str(tmp_path / "p"), "-q")
    assert code == 0, stderr
    first = sorted((tmp_path / "p" / "train").rglob("*.png"))[0]
    _, _, _, info = png.Reader(bytes=first.read_bytes()).read()
    assert not info["greyscale"]
    code, _, stderr = run(*args, "--format", "idx", "--layout", "torchvision",
                          "--out", str(tmp_path / "t"))  # fmt: skip
    assert code == 2
    one_line(stderr, "--layout torchvision is for MNIST's 3-dimensional IDX")
