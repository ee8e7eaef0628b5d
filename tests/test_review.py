"""What a review of the new features found from outside, each now a test."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import png
import pytest
from click.testing import CliRunner

import mnist_sprite
from mnist_sprite.cli import cli
from mnist_sprite.datasets import FASHION_MNIST
from mnist_sprite.errors import OptionError
from mnist_sprite.formats.pngdir import folder_names


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str, *parts: str) -> None:
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    for part in parts:
        assert part in stderr, stderr


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = pixels.shape[:2]
    with open(path, "wb") as f:
        png.Writer(w, h, greyscale=pixels.ndim == 2).write(f, pixels.reshape(h, -1).tolist())


def test_pack_numbers_classes_over_both_splits(tmp_path: Path) -> None:
    root = tmp_path / "split"
    write_png(root / "train" / "a" / "0.png", np.full((2, 2), 1, np.uint8))
    write_png(root / "train" / "b" / "1.png", np.full((2, 2), 2, np.uint8))
    write_png(root / "test" / "a" / "2.png", np.full((2, 2), 3, np.uint8))
    write_png(root / "test" / "c" / "3.PNG", np.full((2, 2), 4, np.uint8))  # any case
    code, stdout, _ = run("pack", str(root), "--out", str(tmp_path / "w"), "--json")
    facts = json.loads(stdout)
    assert code == 0 and facts["class_names"] == ["a", "b", "c"] and facts["images"] == 4
    labels = np.frombuffer((tmp_path / "w" / "data_labels_uint8").read_bytes(), np.uint8)
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


def test_csv_values_outside_the_dtype_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert run("convert", "--dataset", "sample", "--format", "csv", "--out", str(out), "-q")[0] == 0
    lines = (out / "train.csv").read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "300"
    lines[1] = ",".join(cells)
    (out / "train.csv").write_text("\n".join(lines) + "\n")
    code, _, stderr = run("inspect", str(out))
    assert code == 1
    one_line(stderr, "line 2 holds 300, outside 0..255 of uint8")
    code, _, stderr = run("pack", str(out), "--out", str(tmp_path / "w"))
    assert code == 1 and "outside 0..255" in stderr


def test_force_never_replaces_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, stderr = run("convert", "--dataset", "sample", "--out", str(fifo), "--force")
    assert code == 1
    one_line(stderr, "is not a regular file")
    assert fifo.is_fifo()


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


def test_verify_reads_idx_files_to_their_end(tmp_path: Path) -> None:
    out = tmp_path / "i"
    assert run("convert", "--dataset", "sample", "--format", "idx", "--out", str(out), "-q")[0] == 0
    with open(out / "t10k-labels-idx1-ubyte", "ab") as f:
        f.write(b"EXTRA")
    code, stdout, _ = run("verify", str(out))
    assert code == 1 and "header declares" in stdout
    gz = tmp_path / "g"
    run("convert", "--dataset", "sample", "--format", "idx", "--compress", "--out", str(gz), "-q")
    f = gz / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(f.read_bytes())
    data[-6] ^= 0xFF  # the gzip CRC
    f.write_bytes(bytes(data))
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(bytes(data))
    code, stdout, _ = run("verify", str(gz))
    assert code == 1 and "is damaged" in stdout


def test_verify_idx_without_a_manifest_uses_the_formats_defaults(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    run("convert", "--dataset", "sample", "--format", "idx", "--out", str(out), "-q")
    (out / "manifest.json").unlink()
    code, stdout, _ = run("verify", str(out), "--dataset", "sample")
    assert code == 0, stdout


def test_class_folders_sort_in_class_order() -> None:
    names = folder_names(FASHION_MNIST.class_names)
    assert names == sorted(names) and names[0] == "0_T-shirt-top" and names[9] == "9_Ankle boot"
    assert folder_names([str(i) for i in range(10)]) == [str(i) for i in range(10)]
    assert folder_names(["cat", "dog"]) == ["cat", "dog"]


def test_offline_messages_name_the_dataset_and_keep_commands_as_commands(tmp_path: Path) -> None:
    out = str(tmp_path / "o.npz")
    code, _, stderr = run(
        "convert", "--dataset", "fashion-mnist", "--offline", "--cache-dir", str(tmp_path),
        "--split", "tfjs-core", "--out", out,
    )  # fmt: skip
    assert code == 1
    fetch = f"mnist-sprite fetch --dataset fashion-mnist --cache-dir {tmp_path}"
    one_line(stderr, f"run '{fetch}' where there is a network")
    with pytest.raises(mnist_sprite.FetchError) as info:
        mnist_sprite.fetch("fashion-mnist", cache_dir=tmp_path, offline=True)
    assert f"'{fetch} --from PATH'" in str(info.value)


def test_pack_never_writes_into_its_input(tmp_path: Path) -> None:
    root = tmp_path / "pngs"
    write_png(root / "cat" / "0.png", np.zeros((2, 2), np.uint8))
    code, _, stderr = run("pack", str(root), "--out", str(root / "cat"))
    assert code == 2
    one_line(stderr, "is inside the input folder")
    assert sorted(p.name for p in (root / "cat").iterdir()) == ["0.png"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"train_size": "800"},
        {"train_size": 800.0},
        {"train_size": True},
        {"shuffle": True, "seed": "1"},
        {"shuffle": "yes"},
    ],
)
def test_api_arguments_of_the_wrong_type_are_option_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(OptionError):
        mnist_sprite.load_data("sample", **kwargs)  # type: ignore[arg-type]


def test_verify_checks_the_gz_copy_beside_a_raw_idx_file(tmp_path: Path) -> None:
    out = tmp_path / "tv"
    run("convert", "--dataset", "sample", "--format", "idx", "--layout", "torchvision",
        "--compress", "--out", str(out), "-q")  # fmt: skip
    assert run("verify", str(out))[0] == 0
    gz = out / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(gz.read_bytes()))
    data[20] = (data[20] + 1) % 10
    gz.write_bytes(gzip.compress(bytes(data)))
    code, stdout, _ = run("verify", str(out))
    assert code == 1 and "does not hold the same values as t10k-labels-idx1-ubyte" in stdout


def test_api_flags_must_be_true_or_false(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="compress='no' is not True or False"):
        mnist_sprite.convert(tmp_path / "o.npz", "sample", compress="no")  # type: ignore[arg-type]
