"""inspect: the facts of each kind of file, digits as text, and a contact sheet."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import png
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.datasets import DATA_DIR
from mnist_sprite.errors import SourceError
from mnist_sprite.identify import require as kind
from mnist_sprite.inspection import digits, draw, inspect, render, write_grid
from mnist_sprite.pipeline import Options, Sources, write_output
from mnist_sprite.png import read_red
from tests import pngkit
from tests.cli_kit import SAMPLE_SPRITE, digest, one_line, packed, run
from tests.conftest import REAL_LABELS, REAL_SPRITE, Sprite, make_sprite, needs_real

SAMPLE = DATA_DIR / "sample_images.png"
SAMPLE_LABELS = DATA_DIR / "sample_labels_uint8"


def test_kinds_are_recognized_by_content(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "renamed.bin"
    write_output(
        Sources(small.sprite, small.labels), out, options=Options(image_size=(4, 4), train_size=20)
    )
    folder = tmp_path / "arrays"
    write_output(
        Sources(small.sprite, small.labels),
        folder,
        fmt="npy",
        options=Options(image_size=(4, 4), train_size=20),
    )
    odd = tmp_path / "odd"
    odd.write_bytes(b"123")
    assert [kind(small.sprite), kind(small.labels), kind(out), kind(folder)] == [
        "sprite",
        "labels",
        "npz",
        "npy",
    ]
    with pytest.raises(SourceError, match="is a text file, not a sprite PNG, a label file"):
        kind(odd)


def test_sprite_facts_include_filters_and_known_dataset(tmp_path: Path) -> None:
    s = make_sprite(tmp_path, images=10, filters=[0, 1, 1, 2, 3, 4, 4, 4, 0, 2])
    facts = inspect(s.sprite, image_size=(4, 4))
    assert facts["schema"] == 1 and facts["kind"] == "sprite"
    assert (facts["width"], facts["height"], facts["images"]) == (16, 10, 10)
    assert facts["filters"] == {"none": 2, "sub": 2, "up": 2, "average": 1, "paeth": 3}
    assert facts["dataset"] is None and facts["color_type"] == "grayscale"
    assert inspect(SAMPLE)["dataset"] == "sample"
    assert "row filters" in render(facts)


def test_label_facts_list_rows_that_are_not_one_hot(small: Sprite) -> None:
    data = bytearray(small.labels.read_bytes())
    data[5 * 10 + 3] = 1 if data[5 * 10 + 3] == 0 else 0
    small.labels.write_bytes(bytes(data))
    facts = inspect(small.labels, train_size=20)
    assert facts["rows"] == 30 and facts["not_one_hot_count"] == 1
    assert facts["not_one_hot"][0]["row"] == 5
    assert sum(facts["class_counts"]["train"]) + sum(facts["class_counts"]["test"]) in (29, 31)
    assert inspect(SAMPLE_LABELS)["dataset"] == "sample"


def test_output_facts_and_provenance(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    write_output(
        Sources(small.sprite, small.labels),
        out,
        options=Options(image_size=(4, 4), train_size=20, dtype="uint8"),
    )
    facts = inspect(out)
    x = facts["arrays"]["x_train"]
    assert x["shape"] == [20, 16] and x["dtype"] == "uint8"
    assert x["min"] == small.pixels[:20].min() and x["max"] == small.pixels[:20].max()
    assert facts["provenance"]["options"]["dtype"] == "uint8"
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    assert inspect(plain)["provenance"] is None


def test_show_draws_a_digit_with_its_label(tmp_path: Path) -> None:
    images, _ = digits(SAMPLE, 0, 1)
    text = draw(images[0], 7, 0)
    lines = text.splitlines()
    assert lines[0] == "digit 0, label 7" and len(lines) == 29
    assert all(len(line) == 28 for line in lines[1:])
    out = tmp_path / "s.npz"
    write_output(Sources(SAMPLE, SAMPLE_LABELS), out, options=Options(train_size=800))
    images2, labels2 = digits(out, 801, 1)
    assert labels2 == [
        int(np.frombuffer(SAMPLE_LABELS.read_bytes(), np.uint8).reshape(-1, 10)[801].argmax())
    ]
    assert np.array_equal(images2[0], digits(SAMPLE, 801, 1)[0][0])


def test_grid_places_digits_in_a_png(tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    facts = write_grid(SAMPLE, out, count=10)
    assert facts["digits"] == 10 and facts["columns"] == 4
    with open(out, "rb") as f:
        width, height, rows, _ = png.Reader(file=f).asDirect()
        sheet = np.array([list(r) for r in rows], dtype=np.uint8)
    assert (width, height) == (4 * 30 + 2, 3 * 30 + 2)
    first = digits(SAMPLE, 5, 1)[0][0]  # digit 5 is row 1, column 1
    assert np.array_equal(sheet[32:60, 32:60], first)


def test_cli_inspect_json_show_and_grid(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["inspect", str(SAMPLE), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["images"] == 1000
    r = runner.invoke(cli, ["inspect", str(SAMPLE_LABELS), "--train-size", "500"])
    assert r.exit_code == 0 and "classes (train)" in r.stdout
    r = runner.invoke(cli, ["inspect", str(SAMPLE), "--show", "3", "--image-size", "28x28"])
    assert r.exit_code == 0 and r.stdout.startswith("digit 3")
    grid = tmp_path / "g.png"
    r = runner.invoke(cli, ["inspect", str(SAMPLE), "--grid", str(grid), "--count", "9"])
    assert r.exit_code == 0 and grid.is_file()
    r = runner.invoke(cli, ["inspect", str(SAMPLE), "--grid", str(grid)])
    assert r.exit_code == 1 and "already exists; pass --force" in r.stderr
    r = runner.invoke(cli, ["inspect", str(SAMPLE), "--grid", str(grid), "--force", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["digits"] == 100
    r = runner.invoke(cli, ["inspect", str(SAMPLE), "--show", "5000"])
    assert r.exit_code == 2 and "there is no digit 5000" in r.stderr


@needs_real
def test_real_sprite_and_labels_facts() -> None:
    facts = inspect(REAL_SPRITE)
    assert facts["filters"] == {"none": 64_808, "sub": 183, "up": 9, "average": 0, "paeth": 0}
    assert (facts["width"], facts["height"], facts["idat_count"]) == (784, 65_000, 164)
    assert facts["dataset"] == "mnist"
    assert facts["test_part"].startswith("rows 55,000-64,999 are MNIST's official test set")
    assert inspect(SAMPLE)["test_part"] is None  # said only of what was measured
    labels = inspect(REAL_LABELS)
    assert labels["class_counts"]["test"] == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert labels["dataset"] == "mnist" and labels["not_one_hot_count"] == 0


def _pack_of_three(tmp_path: Path) -> Path:
    qd = tmp_path / "qd"
    qd.mkdir()
    for i, name in enumerate(("cat", "dog", "fish")):
        np.save(qd / f"{name}.npy", np.full((4, 16), 60 * i, np.uint8))
    code = CliRunner().invoke(cli, ["pack", str(qd), "--out", str(tmp_path / "web")]).exit_code
    assert code == 0
    return tmp_path / "web"


def test_a_packs_label_file_of_three_classes_is_inspected(tmp_path: Path) -> None:
    labels = packed(_pack_of_three(tmp_path))[1]
    facts = inspect(labels)
    assert facts["kind"] == "labels" and facts["classes"] == 3
    assert facts["class_counts"]["all"] == [4, 4, 4] and facts["not_one_hot_count"] == 0


def test_a_lone_idx_file_is_inspected(tmp_path: Path) -> None:
    idx = Options.given("idx")
    write_output(Sources(SAMPLE, SAMPLE_LABELS), tmp_path / "idx", fmt="idx", options=idx)
    images = inspect(tmp_path / "idx" / "train-images-idx3-ubyte")
    assert images["kind"] == "idx" and images["arrays"]["x_train"]["shape"] == [800, 28, 28]
    labels = inspect(tmp_path / "idx" / "t10k-labels-idx1-ubyte")
    assert labels["arrays"]["y_test"]["shape"] == [200]


@pytest.mark.parametrize("flag", ["--show", "--grid"])
def test_show_and_grid_draw_a_pack(tmp_path: Path, flag: str) -> None:
    bundle = _pack_of_three(tmp_path) / "data.json"
    args = ["inspect", str(bundle)]
    args += ["--show", "5"] if flag == "--show" else ["--grid", str(tmp_path / "g.png")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    if flag == "--show":
        label = int(result.stdout.split("label ")[1].split()[0])
        assert label in (0, 1, 2) and result.stdout.startswith("digit 5, label ")
    else:
        assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


def test_inspect_show_json_is_json(tmp_path: Path) -> None:
    """Verify, inspect: the right message, JSON when asked, options that do not fit."""
    out = tmp_path / "s.npz"
    run("convert", "--dataset", "sample", "--out", str(out), "-q")
    code, stdout, _ = run("inspect", str(out), "--json", "--show", "0")
    digit = json.loads(stdout)
    assert code == 0 and digit["kind"] == "digit" and digit["label"] == 7
    assert digit["pixels"] == read_red(SAMPLE_SPRITE)[0].reshape(28, 28).tolist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(SAMPLE_SPRITE), "--count", "5"], "--count sets the size of a --grid"),
        ([str(SAMPLE_LABELS), "--train-size", "70000"], "--train-size 70,000 is more than"),
        ([str(SAMPLE_SPRITE), "--image-size", "30x30"], "is 784 pixels wide, but one 30x30"),
        ([str(SAMPLE_SPRITE), "--image-size", "30x30", "--show", "0"], "but one 30x30"),
    ],
)
def test_inspect_options_that_do_not_fit_exit_2(args: list[str], message: str) -> None:
    """Verify, inspect: the right message, JSON when asked, options that do not fit."""
    code, stdout, stderr = run("inspect", *args)
    assert (code, stdout) == (2, "")
    one_line(stderr, message)


@pytest.mark.parametrize(
    ("content", "looks"),
    [
        (b"this is not a png\n" * 18, "is a text file"),
        (b"", "is an empty file"),
        (b"<!DOCTYPE html><html>Not Found</html>", "is an HTML page"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "is a JPEG image"),
        (b"\x1f\x8b\x08" + bytes(57), "is a gzip file"),
    ],
)
def test_inspect_refuses_what_is_none_of_its_kinds(
    tmp_path: Path, content: bytes, looks: str
) -> None:
    """Inspect refuses what is none of its kinds, and exits 1 for a damaged label file."""
    path = tmp_path / "text.png"
    path.write_bytes(content)
    code, stdout, stderr = run("inspect", str(path))
    assert (code, stdout) == (1, "")
    assert (
        stderr.startswith(f"error: {path}: {looks}, not a sprite PNG") and stderr.count("\n") == 1
    )


def test_inspect_refuses_a_zip_that_is_not_an_output(tmp_path: Path) -> None:
    """Inspect refuses what is none of its kinds, and exits 1 for a damaged label file."""
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    code, _, stderr = run("inspect", str(path))
    assert code == 1 and "is a zip file that is not an output" in stderr


def test_damaged_label_file_gets_its_facts_then_exit_1(tmp_path: Path) -> None:
    """Inspect refuses what is none of its kinds, and exits 1 for a damaged label file."""
    data = bytearray(SAMPLE_LABELS.read_bytes())
    data[5], data[15] = 1, 7  # rows 0 and 1 are no longer one-hot
    path = tmp_path / "labels_uint8"
    path.write_bytes(bytes(data))
    code, stdout, stderr = run("inspect", str(path), "--json")
    facts = json.loads(stdout)
    assert code == 1 and facts["kind"] == "labels" and facts["ok"] is False
    assert facts["not_one_hot_count"] == 2 and facts["not_one_hot"][1]["values"][5] == 7
    assert stderr == f"error: {path}: 2 of 1,000 rows are not one-hot; re-download it\n"
    assert run("inspect", str(SAMPLE_LABELS))[0] == 0


@pytest.mark.parametrize("spelling", ["s.png", "./s.png", "../work/s.png", "link.png"])
def test_grid_never_replaces_its_input(
    tmp_path: Path, spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An input is never an output."""
    work = tmp_path / "work"
    work.mkdir()
    sprite = make_sprite(work, images=20, side=4).sprite.rename(work / "s.png")
    (work / "link.png").symlink_to("s.png")
    before = digest(sprite)
    monkeypatch.chdir(work)
    code, _, err = run("inspect", "s.png", "--image-size", "4x4", "--grid", spelling, "--force")
    assert code == 2, err
    assert err.startswith("error: ") and "an input of this command" in err
    assert "choose another --grid" in err and err.count("\n") == 1
    assert digest(sprite) == before


def test_grid_never_writes_into_an_input_folder(tmp_path: Path, small: Sprite) -> None:
    """An input is never an output."""
    out = tmp_path / "out"
    assert (
        run(
            "convert",
            *small.args(),
            "--image-size",
            "4x4",
            "--train-size",
            "20",
            "--format",
            "npy",
            "--out",
            str(out),
        )[0]
        == 0
    )
    before = sorted(p.name for p in out.iterdir())
    code, _, err = run("inspect", str(out), "--grid", str(out / "sheet.png"))
    assert code == 2 and "is inside the input folder" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_grid_force_replaces_a_png_but_never_another_kind_of_file(
    tmp_path: Path, small: Sprite
) -> None:
    """An input is never an output."""
    data = tmp_path / "mine"  # no suffix: its content is what is refused
    data.write_bytes(b"PK\x03\x04 not mine to lose")
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(pngkit.gray_png(np.zeros((2, 2), dtype=np.uint8)))
    args = ["inspect", str(small.sprite), "--image-size", "4x4", "--force", "--grid"]
    code, _, err = run(*args, str(data))
    assert code == 1 and "replaces only a PNG image" in err and "a zip file" in err
    assert data.read_bytes() == b"PK\x03\x04 not mine to lose"
    assert run(*args, str(sheet))[0] == 0
    assert sheet.stat().st_size > 100


def test_a_folder_with_a_stray_npy_is_not_an_npy_output(tmp_path: Path) -> None:
    """Options that would be ignored, a stray .npy, a damaged manifest."""
    np.save(tmp_path / "weights.npy", np.zeros(3))
    code, stdout, stderr = run("inspect", str(tmp_path))
    assert code == 1 and "npy" not in stdout
    one_line(stderr, f"{tmp_path}: is a folder that holds no output; give a sprite PNG")


def test_a_damaged_npz_is_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "s.npz"
    run("convert", "--dataset", "sample", "--out", str(out), "-q")
    data = bytearray(out.read_bytes())
    data[200_000] ^= 1
    out.write_bytes(bytes(data))
    code, _, stderr = run("inspect", str(out))
    assert code == 1
    one_line(stderr, "array x_train is damaged")
    code, stdout, _ = run("verify", str(out))
    assert code == 1 and "damaged" in stdout


@pytest.mark.parametrize("name", ["grid.jpg", "grid.PNG.txt", "sheet.jpeg"])
def test_grid_refuses_a_name_with_another_suffix(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    code, stdout, stderr = run("inspect", str(SAMPLE), "--grid", str(out))
    assert (code, stdout) == (2, "")
    one_line(stderr, f"{out}: is a {out.suffix} name, but --grid writes a PNG image")
    assert not out.exists()
    assert run("inspect", str(SAMPLE), "--grid", str(tmp_path / "Sheet.PNG"))[0] == 0
