"""verify: real files and fresh outputs pass; each single-point tampering fails, located."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.datasets import DATA_DIR
from mnist_sprite.pipeline import Options, Sources, write_output
from mnist_sprite.png import read_red
from mnist_sprite.verify import verify
from tests import pngkit
from tests.conftest import REAL_LABELS, REAL_SPRITE, needs_real

SAMPLE = DATA_DIR / "sample_images.png"
SAMPLE_LABELS = DATA_DIR / "sample_labels_uint8"


@pytest.fixture
def copies(tmp_path: Path) -> Sources:
    sprite, labels = tmp_path / "s.png", tmp_path / "l"
    sprite.write_bytes(SAMPLE.read_bytes())
    labels.write_bytes(SAMPLE_LABELS.read_bytes())
    return Sources(sprite, labels)


def failed(report: object) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.ok}  # type: ignore[attr-defined]


def test_bundled_sample_and_a_fresh_output_pass(copies: Sources, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    write_output(copies, out, options=Options(train_size=800, shape="image", dtype="float64"))
    report = verify(out, sprite=copies.sprite, labels=copies.labels)
    assert report.ok, report.render()
    assert verify(dataset="sample").ok
    assert "verified: all" in report.render()


def test_one_changed_source_fails_when_the_other_identifies_the_dataset(copies: Sources) -> None:
    # The label file is the sample's pinned one, so the pair can only be the sample: a sprite
    # with one pixel changed is not the sample's sprite, and the report names the sprite.
    pixels = read_red(copies.sprite)
    pixels[123, 456] ^= 0x40
    copies.sprite.write_bytes(pngkit.gray_png(pixels))
    report = verify(sprite=copies.sprite, labels=copies.labels)
    assert not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == ["sprite pixels"]
    assert "the sprite is not sample's" in failed[0].detail
    assert "identified by the label file" in report.render()


def test_one_changed_label_row_fails_when_the_sprite_identifies_the_dataset(
    copies: Sources,
) -> None:
    onehot = bytearray(copies.labels.read_bytes())
    onehot[0:20] = onehot[10:20] + onehot[0:10]  # two rows swapped: still one-hot
    copies.labels.write_bytes(bytes(onehot))
    report = verify(sprite=copies.sprite, labels=copies.labels)
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == ["labels digest"]
    assert "the label file is not sample's" in failed[0].detail


def test_explicit_files_without_a_pinned_digest_are_reported_not_failed(copies: Sources) -> None:
    pixels = read_red(copies.sprite)
    pixels[123, 456] ^= 0x40
    copies.sprite.write_bytes(pngkit.gray_png(pixels))
    onehot = bytearray(copies.labels.read_bytes())
    onehot[0:20] = onehot[10:20] + onehot[0:10]
    copies.labels.write_bytes(bytes(onehot))
    report = verify(sprite=copies.sprite, labels=copies.labels)
    assert report.ok and "no pinned digest" in report.render()


def test_verify_fails_what_convert_refuses(tmp_path: Path) -> None:
    # 785 pixels wide (not one 28x28 image per row), 200 rows, 200 matching labels.
    rng = np.random.default_rng(3)
    sprite, labels = tmp_path / "s.png", tmp_path / "l"
    sprite.write_bytes(pngkit.gray_png(rng.integers(0, 256, (200, 785), dtype=np.uint8)))
    labels.write_bytes(np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 200)].tobytes())
    report = verify(sprite=sprite, labels=labels)
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == ["convert accepts them"]
    assert "is 785 pixels wide, but one 28x28 image is 784 pixels" in failed[0].detail
    report = verify(sprite=sprite, labels=labels, image_size=(5, 157))
    assert [c.detail for c in report.checks if not c.ok] == [
        f"{sprite}: holds 200 images, with no known train/test split; "
        "give --split (tfjs, tfjs-core, course-fashion) or --train-size"
    ]
    assert verify(sprite=sprite, labels=labels, image_size=(5, 157), train_size=150).ok
    labels.write_bytes(labels.read_bytes()[:-10])
    report = verify(sprite=sprite, labels=labels, image_size=(5, 157), train_size=150)
    assert any(
        "holds 199 labels but the sprite holds 200 images" in c.detail for c in report.checks
    )


def test_changed_pixel_fails_against_the_pinned_digest(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = cache / "mnist"
    folder.mkdir(parents=True)
    pixels = read_red(SAMPLE)
    pixels[3, 300] ^= 1
    (folder / "mnist_images.png").write_bytes(pngkit.gray_png(pixels))
    (folder / "mnist_labels_uint8").write_bytes(SAMPLE_LABELS.read_bytes())
    report = verify(dataset="mnist", cache_dir=cache)
    assert "is not the pinned" in failed(report)["sprite pixels"]


def test_one_relabelled_digit_fails_with_the_output(copies: Sources, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    write_output(copies, out, options=Options(train_size=800))
    labels = np.frombuffer(copies.labels.read_bytes(), np.uint8).reshape(-1, 10).copy()
    labels[42] = np.roll(labels[42], 1)  # still one-hot, another class
    copies.labels.write_bytes(labels.tobytes())
    problems = failed(verify(out, sprite=copies.sprite, labels=copies.labels))
    assert "is not this file's" in problems["output made from this label file"]
    assert "first at index 42" in problems["y_train"] and "row 42" in problems["y_train"]
    # The sprite's pixels are the sample's, so the labels are held to the sample's digest.
    sources_only = failed(verify(sprite=copies.sprite, labels=copies.labels))
    assert list(sources_only) == ["labels digest"]


def test_one_changed_value_in_an_output_is_located(copies: Sources, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    write_output(copies, out, options=Options(train_size=800))
    with np.load(out) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["x_test"][17, 300] = 0.5
    with zipfile.ZipFile(out) as zf:
        comment = zf.comment
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = comment
    out.write_bytes(buf.getvalue())
    problems = failed(verify(out, sprite=copies.sprite, labels=copies.labels))
    assert list(problems) == ["x_test"]
    assert problems["x_test"].startswith(
        "1 of 156,800 values differ; first at index 13,628 (row 17, element 300): expected"
    )
    assert problems["x_test"].endswith("found 0.5")


def test_output_without_provenance_is_checked_against_defaults(
    copies: Sources, tmp_path: Path
) -> None:
    out = tmp_path / "plain.npz"
    write_output(copies, out, options=Options(train_size=800))
    with np.load(out) as z:
        np.savez(tmp_path / "bare.npz", **{k: z[k] for k in z.files})
    report = verify(
        tmp_path / "bare.npz",
        sprite=copies.sprite,
        labels=copies.labels,
        options=Options(train_size=800),
    )
    assert report.ok and "none recorded" in report.render()


def test_npy_folder_and_a_wrong_shape(copies: Sources, tmp_path: Path) -> None:
    out = tmp_path / "npy"
    write_output(copies, out, fmt="npy", options=Options(train_size=800, dtype="uint8"))
    assert verify(out, sprite=copies.sprite, labels=copies.labels).ok
    np.save(out / "y_test.npy", np.zeros(200, np.uint8))
    assert (
        "expected (200, 10) uint8"
        in failed(verify(out, sprite=copies.sprite, labels=copies.labels))["y_test"]
    )


def test_broken_sprite_is_a_failed_check_not_a_crash(copies: Sources) -> None:
    data = bytearray(copies.sprite.read_bytes())
    data[100] ^= 0xFF
    copies.sprite.write_bytes(bytes(data))
    problems = failed(verify(sprite=copies.sprite, labels=copies.labels))
    assert "CRC mismatch" in problems["sprite intact"]


def test_cli_verify_exit_codes_and_json(copies: Sources, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    write_output(copies, out, options=Options(train_size=800))
    runner = CliRunner()
    args = ["verify", str(out), "--sprite", str(copies.sprite), "--labels", str(copies.labels)]
    r = runner.invoke(cli, [*args, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True
    r = runner.invoke(cli, ["verify", "--dataset", "sample"])
    assert r.exit_code == 0 and r.stdout.endswith("checks pass\n")
    copies.labels.write_bytes(copies.labels.read_bytes()[:-10])
    r = runner.invoke(cli, args)
    assert r.exit_code == 1 and "FAIL  labels one-hot" in r.stdout
    r = runner.invoke(cli, ["verify", "--sprite", "x.png"])
    assert r.exit_code == 2
    r = runner.invoke(cli, ["verify", "--cache-dir", str(tmp_path / "empty")])
    assert r.exit_code == 1 and "not in the cache" in r.stderr


@needs_real
def test_real_files_and_a_fresh_output_pass(tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    write_output(Sources(REAL_SPRITE, REAL_LABELS), out, options=Options(dtype="uint8"))
    report = verify(out, sprite=REAL_SPRITE, labels=REAL_LABELS)
    assert report.ok, report.render()
    assert any(c.name == "class counts" and c.ok for c in report.checks)
