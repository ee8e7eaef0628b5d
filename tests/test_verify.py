"""verify: real files and fresh outputs pass; each single-point tampering fails, located."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.datasets import DATA_DIR, FASHION_MNIST
from mnist_sprite.pipeline import Options, Sources, write_output
from mnist_sprite.png import read_red
from mnist_sprite.verify import verify
from tests import pngkit
from tests.cli_kit import SAMPLE_SPRITE, one_line, run, write_png
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


def test_verify_checks_against_the_recorded_dataset(tmp_path: Path) -> None:
    """Verify uses the dataset an output records."""
    out = tmp_path / "sample.npz"
    assert run("convert", "--dataset", "sample", "--out", str(out), "-q")[0] == 0
    code, stdout, _ = run("verify", str(out), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["ok"], stdout
    assert any("pinned digest of sample" in c["detail"] for c in report["checks"])


def one_pixel_changed(sprite: Path, out: Path, at: tuple[int, int]) -> Path:
    """``sprite`` written again to ``out`` with the pixel ``at`` one off: another dataset's."""
    pixels = read_red(sprite)
    pixels[at] ^= 1
    out.write_bytes(pngkit.gray_png(pixels))
    return out


def test_verify_a_missing_output_says_no_such_file(tmp_path: Path) -> None:
    """Verify, inspect: the right message, JSON when asked, options that do not fit."""
    code, _, stderr = run("verify", str(tmp_path / "nonexist.npz"), "--dataset", "sample")
    assert code == 1
    one_line(stderr, "nonexist.npz: no such file")


@needs_real
def test_verify_fails_mnist_sprite_with_one_pixel_changed(tmp_path: Path) -> None:
    """One wrong source, when the other identifies the dataset."""
    sprite = one_pixel_changed(REAL_SPRITE, tmp_path / "s.png", (100, 400))
    code, stdout, _ = run("verify", "--sprite", str(sprite), "--labels", str(REAL_LABELS))
    assert code == 1
    assert "dataset: mnist, identified by the label file" in stdout
    assert "FAIL  sprite pixels: the sprite is not mnist's" in stdout


def test_verify_cli_names_the_wrong_sprite(tmp_path: Path) -> None:
    """One wrong source, when the other identifies the dataset."""
    pixels = read_red(SAMPLE_SPRITE)
    pixels[1, 1] ^= 1
    sprite = tmp_path / "s.png"
    sprite.write_bytes(pngkit.gray_png(pixels))
    code, stdout, _ = run("verify", "--sprite", str(sprite), "--labels", str(SAMPLE_LABELS))
    assert code == 1 and "the sprite is not sample's" in stdout


def test_verify_refuses_a_sprite_convert_refuses(tmp_path: Path) -> None:
    """Verify fails whatever convert would refuse, with convert's message."""
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


def sprite_16x20(folder: Path) -> tuple[Path, Path]:
    """A sprite of 30 images of 16x20 and its labels: no known dataset's."""
    rng = np.random.default_rng(0)
    sprite, labels = folder / "s.png", folder / "l_uint8"
    sprite.write_bytes(pngkit.gray_png(rng.integers(0, 256, (30, 320), dtype=np.uint8)))
    labels.write_bytes(np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 30)].tobytes())
    return sprite, labels


def test_an_output_of_the_samples_files_is_verified_against_the_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verify identifies an output's sources from its provenance."""
    monkeypatch.chdir(tmp_path)
    args = ["--sprite", str(SAMPLE_SPRITE), "--labels", str(SAMPLE_LABELS), "--train-size", "900"]
    assert run("convert", *args, "--out", "my.npz", "-q", cache=tmp_path / "cache")[0] == 0
    code, stdout, _ = run("verify", "my.npz", cache=tmp_path / "cache")  # the cache is empty
    assert code == 0, stdout
    assert "match the pinned digest of sample" in stdout and "recorded sha256" in stdout
    assert "FAIL" not in stdout


def test_an_output_of_files_of_ones_own_is_verified_against_them_while_they_are_there(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verify identifies an output's sources from its provenance."""
    monkeypatch.chdir(tmp_path)
    sprite, labels = sprite_16x20(tmp_path)
    args = ["--sprite", str(sprite), "--labels", str(labels), "--image-size", "16x20"]
    assert run("convert", *args, "--train-size", "20", "--out", "s.npz", "-q")[0] == 0
    code, stdout, _ = run("verify", "s.npz", cache=tmp_path / "cache")
    assert code == 0 and "verified: all" in stdout, stdout
    sprite.rename(tmp_path / "moved.png")
    code, stdout, stderr = run("verify", "s.npz", cache=tmp_path / "cache")
    assert code == 2 and stdout == ""
    one_line(stderr, "s.npz: was made from files that are no known dataset's (s.png and l_uint8)")
    assert stderr.rstrip().endswith("give them with --sprite and --labels")
    code, stdout, _ = run(
        "verify", "s.npz", "--sprite", "moved.png", "--labels", str(labels), cache=tmp_path
    )
    assert code == 0, stdout


def test_verify_refuses_an_image_size_the_output_does_not_record(tmp_path: Path) -> None:
    """Options that would be ignored, a stray .npy, a damaged manifest."""
    out = str(tmp_path / "sample.npz")
    assert run("convert", "--dataset", "sample", "--out", out, "-q")[0] == 0
    code, stdout, stderr = run("verify", out, "--image-size", "14x56")
    assert code == 2 and stdout == ""
    one_line(stderr, "was made with --image-size 28x28, not 14x56; drop --image-size")
    code, _, stderr = run("verify", out, "--train-size", "700")
    one_line(stderr, "was made with --train-size 800, not 700")
    assert run("verify", out, "--image-size", "28x28")[0] == 0


def test_a_damaged_manifest_is_said_to_be_damaged(tmp_path: Path) -> None:
    """Options that would be ignored, a stray .npy, a damaged manifest."""
    out = tmp_path / "o"
    assert run("convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["options"]["dtype"] = "nonsense"
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, stderr = run("verify", str(out))
    assert code == 1
    one_line(stderr, f"{out}: its provenance", "is damaged: --dtype 'nonsense' is not valid")
    assert "convert it again" in stderr


def test_verify_names_the_dataset_and_cache_to_fetch(tmp_path: Path) -> None:
    """Suggested commands carry the options that make them do what was meant."""
    code, _, stderr = run("verify", "--dataset", "fashion-mnist", "--cache-dir", str(tmp_path))
    assert code == 1
    one_line(stderr, f"run 'mnist-sprite fetch --dataset fashion-mnist --cache-dir {tmp_path}'")


def test_a_changed_cached_file_names_the_fetch_that_repairs_it(tmp_path: Path) -> None:
    """Suggested commands carry the options that make them do what was meant."""
    usb = tmp_path / "usb"
    usb.mkdir()
    rng = np.random.default_rng(5)
    (usb / FASHION_MNIST.sprite.name).write_bytes(
        pngkit.gray_png(rng.integers(0, 256, (12, 784), dtype=np.uint8))
    )
    onehot = np.eye(10, dtype=np.uint8)[np.arange(12) % 10]
    (usb / FASHION_MNIST.labels.name).write_bytes(onehot.tobytes())
    cache = tmp_path / "my cache"
    code, _, stderr = run("fetch", "--dataset", "fashion-mnist", "--cache-dir", str(cache),
                          "--from", str(usb), "-q")  # fmt: skip
    assert code == 0, stderr
    (cache / "fashion-mnist" / FASHION_MNIST.labels.name).write_bytes(onehot[::-1].tobytes())
    code, stdout, _ = run(
        "verify", "--dataset", "fashion-mnist", "--cache-dir", str(cache), "--train-size", "10"
    )
    assert code == 1
    fetch = f'mnist-sprite fetch --dataset fashion-mnist --cache-dir "{cache}" --force'
    assert f"fetch it again: '{fetch}'" in stdout, stdout


def test_a_changed_file_of_ones_own_is_not_told_to_fetch_again(tmp_path: Path) -> None:
    """Suggested commands carry the options that make them do what was meant."""
    sprite = one_pixel_changed(SAMPLE_SPRITE, tmp_path / "mine.png", (0, 0))
    code, stdout, _ = run("verify", "--sprite", str(sprite), "--labels", str(SAMPLE_LABELS))
    assert code == 1
    line = next(ln for ln in stdout.splitlines() if ln.startswith("FAIL  sprite pixels"))
    assert "use sample's own file ('mnist-sprite fetch --dataset sample' gets it" in line, line
    assert "--force" not in line


def test_verify_names_the_png_of_another_size_in_hxw(tmp_path: Path) -> None:
    """Verify of a hand-edited png-dir names the file, in HxW."""
    out = tmp_path / "png_a"
    assert run("convert", "--dataset", "sample", "--format", "png-dir", "--out", str(out))[0] == 0
    bad = sorted((out / "train").rglob("*.png"))[3]
    write_png(bad, np.zeros((20, 16), np.uint8))  # 20 rows of 16 columns
    code, stdout, _ = run("verify", str(out))
    assert code == 1
    line = next(ln for ln in stdout.splitlines() if ln.startswith("FAIL  x_train"))
    assert f"{bad}: is 20x16 gray where " in line and "is 28x28 gray" in line, line


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


def test_verify_and_inspection_import_no_network_code() -> None:
    """Which dataset a file is comes from datasets and the cache's records: neither verify nor
    inspection imports download.py to learn a recorded digest."""
    code = (
        "import sys, mnist_sprite.verify, mnist_sprite.inspection\n"
        "sys.stdout.write(repr('mnist_sprite.download' in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False"


def test_verify_reads_each_source_once(
    copies: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts first, each file read once: the sprite hashed in the pass that decodes it, the
    label file hashed from the rows read; an output's comparison decodes the sprite again."""
    from mnist_sprite import files, labels
    from mnist_sprite.png import chunks

    reads: Counter[str] = Counter()
    for module in (chunks, files, labels):  # the readers of content (NAME.json's sniff aside)

        def counted(path: Path, *args: object, real: object = module.open_source) -> object:
            reads[Path(path).name] += 1
            return real(path, *args)  # type: ignore[operator]

        monkeypatch.setattr(module, "open_source", counted)
    assert verify(sprite=copies.sprite, labels=copies.labels).ok
    assert reads == {"s.png": 1, "l": 1}
    out = tmp_path / "o.npz"
    write_output(copies, out)
    reads.clear()
    assert verify(out, sprite=copies.sprite, labels=copies.labels).ok
    assert (reads["s.png"], reads["l"]) == (2, 1)


def test_quiet_verify_prints_nothing_when_all_pass_and_only_failures_otherwise(
    copies: Sources,
) -> None:
    code, stdout, stderr = run("verify", "--dataset", "sample", "-q")
    assert (code, stdout, stderr) == (0, "", "")
    pixels = read_red(copies.sprite)
    pixels[1, 2] ^= 0x40
    copies.sprite.write_bytes(pngkit.gray_png(pixels))
    args = ["verify", "--sprite", str(copies.sprite), "--labels", str(copies.labels)]
    code, stdout, stderr = run(*args, "--quiet")
    assert (code, stdout) == (1, "")
    assert stderr.startswith("FAIL  sprite pixels: the sprite is not sample's")
    assert "ok  " not in stderr
    assert stderr.splitlines()[-1].startswith("FAILED: 1 of ")


# -- TensorFlow.js's sprite against MNIST's original files ----------------------------------

ORIGINALS = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz")
needs_originals = pytest.mark.skipif(
    not all((REAL_SPRITE.parent / n).is_file() for n in ORIGINALS),
    reason="needs MNIST's original t10k and train-labels files beside the real sprite "
    "(../shared/data); copy them there to run this",
)


def _real_args(cache: Path) -> list[str]:
    return ["--sprite", str(REAL_SPRITE), "--labels", str(REAL_LABELS), "--cache-dir", str(cache)]


@needs_real
@needs_originals
def test_verify_proves_the_sprites_test_part_is_mnists_official_test_set(tmp_path: Path) -> None:
    """The real sprite's rows 55,000-64,999 are t10k, pixel for pixel and label for label,
    and its training labels are train-labels from the 5,001st: one line per original file."""
    folder = tmp_path / "cache" / "mnist-original"
    folder.mkdir(parents=True)
    for name in ORIGINALS:
        (folder / name).write_bytes((REAL_SPRITE.parent / name).read_bytes())
    code, out, _ = run("verify", *_real_args(tmp_path / "cache"))
    assert code == 0, out
    assert (
        "ok    original t10k-images-idx3-ubyte: equals the sprite's rows 55,000-64,999 "
        "(10,000 images), in order" in out
    )
    assert "ok    original t10k-labels-idx1-ubyte: equals the sprite's rows 55,000-64,999" in out
    assert "ok    original train-labels-idx1-ubyte: equals the sprite's rows 0-54,999" in out


@needs_real
def test_an_original_file_that_differs_fails_verify_naming_it(tmp_path: Path) -> None:
    """A t10k label file with one label changed: verify fails, naming the file and the row."""
    onehot = np.frombuffer(REAL_LABELS.read_bytes(), np.uint8).reshape(-1, 10)
    labels = onehot[55_000:].argmax(axis=1).astype(np.uint8)
    labels[123] = (labels[123] + 1) % 10
    folder = tmp_path / "cache" / "mnist-original"
    folder.mkdir(parents=True)
    header = b"\0\0\x08\x01" + (10_000).to_bytes(4, "big")
    (folder / "t10k-labels-idx1-ubyte").write_bytes(header + labels.tobytes())
    code, out, _ = run("verify", *_real_args(tmp_path / "cache"))
    assert code == 1
    assert (
        "FAIL  original t10k-labels-idx1-ubyte: 1 of 10,000 differ from the sprite's rows "
        "55,000-64,999 (10,000 labels); first: the sprite's row 55,123" in out
    ), out
