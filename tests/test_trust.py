"""Trust (issue 12): verify fails what is wrong, inspect refuses what is nothing, and the
browser's arithmetic is the reference for every PNG (alpha, 16 bits, colour chunks)."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.datasets import DATA_DIR
from mnist_sprite.png import read_red
from tests import pngkit
from tests.conftest import REAL_LABELS, REAL_SPRITE, needs_real

SAMPLE_SPRITE = DATA_DIR / "sample_images.png"
SAMPLE_LABELS = DATA_DIR / "sample_labels_uint8"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def with_chunks(png: bytes, *extra: tuple[bytes, bytes]) -> bytes:
    """``png`` with ancillary chunks inserted right after IHDR."""
    chunks = pngkit.split_chunks(png)
    return pngkit.SIGNATURE + b"".join(
        pngkit.chunk(t, d) for t, d in [chunks[0], *extra, *chunks[1:]]
    )


# -- 1. one wrong source, when the other identifies the dataset -----------------------------


@needs_real
def test_verify_fails_mnist_sprite_with_one_pixel_changed(tmp_path: Path) -> None:
    pixels = read_red(REAL_SPRITE)
    pixels[100, 400] ^= 1
    sprite = tmp_path / "s.png"
    sprite.write_bytes(pngkit.gray_png(pixels))
    code, stdout, _ = run("verify", "--sprite", str(sprite), "--labels", str(REAL_LABELS))
    assert code == 1
    assert "dataset: mnist, identified by the label file" in stdout
    assert "FAIL  sprite pixels: the sprite is not mnist's" in stdout


def test_verify_cli_names_the_wrong_sprite(tmp_path: Path) -> None:
    pixels = read_red(SAMPLE_SPRITE)
    pixels[1, 1] ^= 1
    sprite = tmp_path / "s.png"
    sprite.write_bytes(pngkit.gray_png(pixels))
    code, stdout, _ = run("verify", "--sprite", str(sprite), "--labels", str(SAMPLE_LABELS))
    assert code == 1 and "the sprite is not sample's" in stdout


# -- 2. verify fails whatever convert would refuse, with convert's message -------------------


def test_verify_refuses_a_sprite_convert_refuses(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    sprite, labels = tmp_path / "s.png", tmp_path / "l"
    sprite.write_bytes(pngkit.gray_png(rng.integers(0, 256, (200, 785), dtype=np.uint8)))
    labels.write_bytes(np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 200)].tobytes())
    args = ["--sprite", str(sprite), "--labels", str(labels)]
    code, stdout, _ = run("verify", *args)
    assert code == 1
    convert_code, _, convert_err = run("convert", *args, "--out", str(tmp_path / "o.npz"))
    message = convert_err[len("error: ") :].strip()
    assert convert_code == 2 and f"FAIL  convert accepts them: {message}" in stdout
    code, stdout, _ = run("verify", *args, "--image-size", "5x157", "--train-size", "150")
    assert code == 0, stdout


# -- 3. inspect refuses what is none of its kinds, and exits 1 for a damaged label file ------


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
    path = tmp_path / "text.png"
    path.write_bytes(content)
    code, stdout, stderr = run("inspect", str(path))
    assert (code, stdout) == (1, "")
    assert (
        stderr.startswith(f"error: {path}: {looks}, not a sprite PNG") and stderr.count("\n") == 1
    )


def test_inspect_refuses_a_zip_that_is_not_an_output(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    code, _, stderr = run("inspect", str(path))
    assert code == 1 and "is a zip file that is not an output" in stderr


def test_damaged_label_file_gets_its_facts_then_exit_1(tmp_path: Path) -> None:
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


# -- 4. colour chunks: warned where a browser changes colours, silent where it does not ------

GAMMA_1 = (b"gAMA", struct.pack(">I", 100000))


@pytest.mark.parametrize(
    ("extra", "warned"),
    [
        ([GAMMA_1], "gAMA 1"),
        ([(b"iCCP", b"linear\0\0" + bytes(20))], "iCCP (colour profile 'linear')"),
        ([(b"gAMA", struct.pack(">I", 45455))], None),
        ([(b"sRGB", b"\0"), GAMMA_1], None),  # sRGB overrides gAMA, as browsers do
        ([(b"cHRM", bytes(32))], None),
        ([], None),
    ],
)
def test_colour_chunks_warn_where_the_browser_changes_colours(
    tmp_path: Path, extra: list[tuple[bytes, bytes]], warned: str | None
) -> None:
    pixels = read_red(SAMPLE_SPRITE)
    sprite = tmp_path / "s.png"
    sprite.write_bytes(with_chunks(pngkit.gray_png(pixels), *extra))
    labels = shutil.copy(SAMPLE_LABELS, tmp_path / "l")
    out = tmp_path / "o.npz"
    code, _, stderr = run(
        "convert", "--sprite", str(sprite), "--labels", str(labels), "--train-size", "800",
        "--out", str(out), "-q",
    )  # fmt: skip
    assert code == 0
    code, stdout, _ = run("inspect", str(sprite), "--json")
    facts = json.loads(stdout)
    if warned is None:
        assert stderr == "" and facts["browser_warning"] is None
    else:
        assert stderr.startswith(f"warning: {sprite}: {warned}") and stderr.count("\n") == 1
        assert warned in facts["browser_warning"]
        assert "colour-corrects" in run("inspect", str(sprite))[1]
    with np.load(out) as z:  # the stored values, whatever the chunk says
        assert np.array_equal(z["x_train"], pixels[:800] / np.float32(255))


def test_load_data_warns_in_python(tmp_path: Path) -> None:
    import mnist_sprite

    sprite = tmp_path / "s.png"
    sprite.write_bytes(with_chunks(SAMPLE_SPRITE.read_bytes(), GAMMA_1))
    with pytest.warns(mnist_sprite.ColourWarning, match="gAMA 1"):
        mnist_sprite.load_data(sprite=sprite, labels=SAMPLE_LABELS, train_size=800)
