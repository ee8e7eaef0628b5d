"""What a new user met again (issue 19): verify knows what it is verifying, and every message,
help text and README line is true. One test (or a few) per numbered item, as the user met it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import mnist_sprite
from mnist_sprite import download
from mnist_sprite.cli import PATH, cli
from mnist_sprite.datasets import DATA_DIR, FASHION_MNIST, SAMPLE
from mnist_sprite.download import MARKER, fetch_dataset
from mnist_sprite.errors import FetchError, IntegrityError
from mnist_sprite.formats.pngdir import folder_names
from tests import pngkit
from tests.conftest import needs_real
from tests.test_fetch import make_files
from tests.test_review import write_png

SAMPLE_SPRITE = DATA_DIR / SAMPLE.sprite.name
SAMPLE_LABELS = DATA_DIR / SAMPLE.labels.name
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def run(*args: str, cache: Path | None = None) -> tuple[int, str, str]:
    env = {"MNIST_SPRITE_CACHE": str(cache)} if cache is not None else None
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str, *parts: str) -> None:
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    for part in parts:
        assert part in stderr, stderr


def sprite_16x20(folder: Path) -> tuple[Path, Path]:
    """A sprite of 30 images of 16x20 and its labels: no known dataset's."""
    rng = np.random.default_rng(0)
    sprite, labels = folder / "s.png", folder / "l_uint8"
    sprite.write_bytes(pngkit.gray_png(rng.integers(0, 256, (30, 320), dtype=np.uint8)))
    labels.write_bytes(np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 30)].tobytes())
    return sprite, labels


# -- 1. verify identifies an output's sources from its provenance ---------------------------


def test_1_an_output_of_the_samples_files_is_verified_against_the_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--sprite", str(SAMPLE_SPRITE), "--labels", str(SAMPLE_LABELS), "--train-size", "900"]
    assert run("convert", *args, "--out", "my.npz", "-q", cache=tmp_path / "cache")[0] == 0
    code, stdout, _ = run("verify", "my.npz", cache=tmp_path / "cache")  # the cache is empty
    assert code == 0, stdout
    assert "match the pinned digest of sample" in stdout and "recorded sha256" in stdout
    assert "FAIL" not in stdout


def test_1_an_output_of_files_of_ones_own_is_verified_against_them_while_they_are_there(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
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


# -- 2. a file that is another known dataset's is refused by name --------------------------


def test_2_the_samples_files_renamed_are_not_fashion_mnist(tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    shutil.copy(SAMPLE_SPRITE, usb / FASHION_MNIST.sprite.name)
    shutil.copy(SAMPLE_LABELS, usb / FASHION_MNIST.labels.name)
    code, _, stderr = run("fetch", "--dataset", "fashion-mnist", "--from", str(usb), cache=tmp_path)
    assert code == 1
    one_line(stderr, "is sample's sample_images.png (by its sha256), not fashion_mnist_images.png")
    assert not (tmp_path / "fashion-mnist" / FASHION_MNIST.sprite.name).exists()


def test_2_a_cache_that_recorded_another_datasets_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    marker = {}
    for role, spec in FASHION_MNIST.roles():
        mine = SAMPLE_SPRITE if role == "sprite" else SAMPLE_LABELS
        target = folder / spec.name
        shutil.copy(mine, target)
        st = target.stat()
        sha = SAMPLE.sprite.sha256 if role == "sprite" else SAMPLE.labels.sha256
        marker[spec.name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
    (folder / MARKER).write_text(json.dumps(marker))  # as a fetch before this check recorded
    with pytest.raises(FetchError, match=r"is sample's sample_images\.png"):
        fetch_dataset(FASHION_MNIST, cache_dir=tmp_path, offline=True)
    code, stdout, _ = run("verify", "--dataset", "fashion-mnist", "--cache-dir", str(tmp_path))
    assert code == 1
    assert (
        "FAIL  sprite pixels: is sample's sample_images.png (by its sha256), not "
        "fashion-mnist's fashion_mnist_images.png" in stdout
    ), stdout
    assert "FAIL  labels digest: is sample's sample_labels_uint8" in stdout


# -- 3. convert warns when the sprite is known and the labels are not its own ----------------


def test_3_shuffled_labels_beside_a_known_sprite_are_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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


# -- 4. options that would be ignored, a stray .npy, a damaged manifest -----------------------


def test_4_pack_refuses_an_image_size_the_images_contradict(tmp_path: Path) -> None:
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


def test_4_verify_refuses_an_image_size_the_output_does_not_record(tmp_path: Path) -> None:
    out = str(tmp_path / "sample.npz")
    assert run("convert", "--dataset", "sample", "--out", out, "-q")[0] == 0
    code, stdout, stderr = run("verify", out, "--image-size", "14x56")
    assert code == 2 and stdout == ""
    one_line(stderr, "was made with --image-size 28x28, not 14x56; drop --image-size")
    code, _, stderr = run("verify", out, "--train-size", "700")
    one_line(stderr, "was made with --train-size 800, not 700")
    assert run("verify", out, "--image-size", "28x28")[0] == 0


def test_4_a_folder_with_a_stray_npy_is_not_an_npy_output(tmp_path: Path) -> None:
    np.save(tmp_path / "weights.npy", np.zeros(3))
    code, stdout, stderr = run("inspect", str(tmp_path))
    assert code == 1 and "npy" not in stdout
    one_line(stderr, f"{tmp_path}: is a folder that holds no output; give a sprite PNG")


def test_4_a_damaged_manifest_is_said_to_be_damaged(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert run("convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["options"]["dtype"] = "nonsense"
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, stderr = run("verify", str(out))
    assert code == 1
    one_line(stderr, f"{out}: its provenance", "is damaged: --dtype 'nonsense' is not valid")
    assert "convert it again" in stderr


# -- 5. suggested commands carry the options that make them do what was meant ----------------


def test_5_verify_names_the_dataset_and_cache_to_fetch(tmp_path: Path) -> None:
    code, _, stderr = run("verify", "--dataset", "fashion-mnist", "--cache-dir", str(tmp_path))
    assert code == 1
    one_line(stderr, f"run 'mnist-sprite fetch --dataset fashion-mnist --cache-dir {tmp_path}'")


def test_5_convert_offline_names_the_cache_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run("convert", "--cache-dir", "newcache", "--offline", "--out", "x.npz")
    assert code == 1
    one_line(stderr, "run 'mnist-sprite fetch --dataset mnist --cache-dir newcache' where")
    assert "'mnist-sprite fetch --dataset mnist --cache-dir newcache --from PATH'" in stderr
    assert os.listdir(tmp_path) == []


def test_5_a_cache_folder_with_a_space_is_quoted_as_one_word() -> None:
    from mnist_sprite.errors import command

    assert command("fetch", dataset="mnist", cache_dir="my cache") == (
        'mnist-sprite fetch --dataset mnist --cache-dir "my cache"'
    )


def test_5_a_changed_cached_file_names_the_fetch_that_repairs_it(tmp_path: Path) -> None:
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


def test_5_a_changed_file_of_ones_own_is_not_told_to_fetch_again(tmp_path: Path) -> None:
    from mnist_sprite.png import read_red

    pixels = read_red(SAMPLE_SPRITE)
    pixels[0, 0] ^= 1
    sprite = tmp_path / "mine.png"
    sprite.write_bytes(pngkit.gray_png(pixels))
    code, stdout, _ = run("verify", "--sprite", str(sprite), "--labels", str(SAMPLE_LABELS))
    assert code == 1
    line = next(ln for ln in stdout.splitlines() if ln.startswith("FAIL  sprite pixels"))
    assert "use sample's own file ('mnist-sprite fetch --dataset sample' gets it" in line, line
    assert "--force" not in line


# -- 6. a complete read-only cache needs no lock -------------------------------------------


def test_6_a_complete_cache_is_read_without_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make_files()
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / files.dataset.sprite.name).write_bytes(files.sprite)
    (usb / files.dataset.labels.name).write_bytes(files.labels)
    fetch_dataset(files.dataset, cache_dir=tmp_path, from_path=usb)

    def no_lock(folder: Path) -> object:
        raise PermissionError(13, "Permission denied", str(folder / ".lock"))

    monkeypatch.setattr(download, "_locked", no_lock)  # as a read-only shared cache is
    result = fetch_dataset(files.dataset, cache_dir=tmp_path, offline=True)
    assert result.sources == {"sprite": "cache", "labels": "cache"}
    assert download.ensure_dataset(files.dataset, cache_dir=tmp_path) == result.paths


# -- 7. fetch --from checks what it is given; a partial import is said ------------------------


def test_7_from_a_wrong_file_is_an_error_even_with_a_complete_cache(tmp_path: Path) -> None:
    files = make_files()
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / files.dataset.sprite.name).write_bytes(files.sprite)
    (usb / files.dataset.labels.name).write_bytes(files.labels)
    fetch_dataset(files.dataset, cache_dir=tmp_path, from_path=usb)
    text = tmp_path / "t.txt"
    text.write_text("hello\n")
    with pytest.raises(IntegrityError, match=r"t\.txt: sha256 .* is not the pinned"):
        fetch_dataset(files.dataset, cache_dir=tmp_path, from_path=text)
    labels = tmp_path / "tiny" / files.dataset.labels.name
    assert labels.read_bytes() == files.labels  # the cache is untouched


def test_7_from_a_folder_with_only_the_sprite_says_what_it_imported(tmp_path: Path) -> None:
    files = make_files()
    usb = tmp_path / "only_png"
    usb.mkdir()
    (usb / files.dataset.sprite.name).write_bytes(files.sprite)
    with pytest.raises(FetchError) as info:
        fetch_dataset(files.dataset, cache_dir=tmp_path / "c", from_path=usb)
    assert "holds no tiny_labels_uint8, and the cache has no good copy" in str(info.value)
    assert "(imported tiny_images.png)" in str(info.value)


# -- 8. path checks go through the one funnel, with README's exit codes ---------------------


def test_8_click_checks_no_path_the_library_checks() -> None:
    import click

    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param.type, click.Path):
                assert param.type is PATH, (name, param.name)
    assert not PATH.readable and not PATH.exists and PATH.file_okay and PATH.dir_okay


def test_8_an_unreadable_labels_file_is_exit_1_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = tmp_path / "l_uint8"
    shutil.copy(SAMPLE_LABELS, labels)
    import builtins

    def denying(real: Any) -> Any:  # root reads any file: refuse this one as a user is refused
        def opener(path: object, *args: object, **kw: object) -> Any:
            if isinstance(path, (str, Path)) and os.fspath(path) == str(labels):
                raise PermissionError(13, "Permission denied", str(labels))
            return real(path, *args, **kw)

        return opener

    monkeypatch.setattr(builtins, "open", denying(builtins.open))
    monkeypatch.setattr(os, "open", denying(os.open))
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # what click's check would see
    code, _, stderr = run(
        "convert", "--sprite", str(SAMPLE_SPRITE), "--labels", str(labels),
        "--out", str(tmp_path / "o.npz"),
    )  # fmt: skip
    assert code == 1
    one_line(stderr, f"{labels}: ", "Permission denied")
    assert "Invalid value" not in stderr


def test_8_pack_onto_its_own_input_is_a_usage_error(tmp_path: Path) -> None:
    x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "in.npz"), "-f")
    assert code == 2
    one_line(stderr, "in.npz: is an input of this command")


# -- 9. messages that point the right way --------------------------------------------------


@pytest.mark.parametrize("what", ["empty", "jpegs"])
def test_9_pack_says_what_it_reads(tmp_path: Path, what: str) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    if what == "jpegs":
        for i in range(2):
            (root / f"{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(20))
    code, _, stderr = run("pack", str(root), "--out", str(tmp_path / "w"))
    assert code == 1
    holds = "it is empty" if what == "empty" else "it holds 2 files (.jpg)"
    one_line(stderr, f"is nothing pack reads: {holds}", "PNG folders (root/<class>/*.png)")
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
def test_9_pack_values_messages(tmp_path: Path, x: object, y: object, message: str) -> None:
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "w"))
    assert code == 1
    one_line(stderr, message)


def test_9_float_labels_that_are_whole_numbers_are_class_ids(tmp_path: Path) -> None:
    x, y = np.zeros((2, 2, 2), np.uint8), np.array([0.0, 9.0], np.float32)
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    assert run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "w"), "-q")[0] == 0
    facts = json.loads((tmp_path / "w" / "data.json").read_text())
    assert facts["classes"] == 10


def test_9_a_bad_class_image_is_not_called_a_sprite(tmp_path: Path) -> None:
    root = tmp_path / "pngs"
    write_png(root / "cat" / "0.png", np.zeros((2, 2), np.uint8))
    (root / "dog").mkdir()
    (root / "dog" / "0.png").write_bytes(b"not a png at all")
    code, _, stderr = run("pack", str(root), "--out", str(tmp_path / "w"))
    assert code == 1
    one_line(stderr, "dog/0.png: not a PNG file (bad signature)")
    assert "sprite" not in stderr


def test_9_a_folder_where_the_json_goes_is_not_called_an_npz(tmp_path: Path) -> None:
    x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x_train=x, y_train=y)
    (tmp_path / "mine" / "data.json").mkdir(parents=True)
    code, _, stderr = run("pack", str(tmp_path / "in.npz"), "--out", str(tmp_path / "mine"))
    assert code == 1
    one_line(stderr, "data.json: is a folder; this output is a file")
    assert ".npz" not in stderr.split(":", 2)[2]


# -- 10. verify of a hand-edited png-dir names the file, in HxW --------------------------


def test_10_verify_names_the_png_of_another_size_in_hxw(tmp_path: Path) -> None:
    out = tmp_path / "png_a"
    assert run("convert", "--dataset", "sample", "--format", "png-dir", "--out", str(out))[0] == 0
    bad = sorted((out / "train").rglob("*.png"))[3]
    write_png(bad, np.zeros((20, 16), np.uint8))  # 20 rows of 16 columns
    code, stdout, _ = run("verify", str(out))
    assert code == 1
    line = next(ln for ln in stdout.splitlines() if ln.startswith("FAIL  x_train"))
    assert f"{bad}: is 20x16 gray where " in line and "is 28x28 gray" in line, line


# -- 11. the Python API speaks Python ------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shuffle": 1}, "shuffle=1 is not True or False; give shuffle=True"),
        ({"train_size": "900"}, "train_size='900' is not a whole number; give train_size=900"),
        ({"train_size": 2.5}, "train_size=2.5 is not a whole number; give a whole number"),
    ],
)
def test_11_api_messages(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(mnist_sprite.OptionError) as info:
        mnist_sprite.load_data("sample", **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


# -- 12-17. README and help say what the tool does -----------------------------------------


def test_12_readme_names_the_class_folders_png_dir_writes() -> None:
    names = folder_names(FASHION_MNIST.class_names)
    assert names[0] == "0_T-shirt-top" and names[-1] == "9_Ankle boot"
    for name in names:
        assert f"`{name}`" in README
    assert "becomes `0`" not in README


def test_13_the_packed_size_moves_with_the_text_chunk_only(tmp_path: Path) -> None:
    npz = tmp_path / "sample.npz"
    args = ["convert", "--dataset", "sample", "--dtype", "uint8", "--out", str(npz), "-q"]
    assert run(*args)[0] == 0
    sizes, pixels = {}, {}
    for name in ("a", "abc"):
        assert run("pack", str(npz), "--out", str(tmp_path / name), "--name", name, "-q")[0] == 0
        png_file = tmp_path / name / f"{name}_images.png"
        sizes[name] = png_file.stat().st_size
        pixels[name] = mnist_sprite.load_data(
            sprite=png_file, labels=tmp_path / name / f"{name}_labels_uint8", train_size=800
        )[0][0]
    assert sizes["abc"] - sizes["a"] == 2  # the name, in the tEXt chunk
    assert np.array_equal(pixels["a"], pixels["abc"])
    assert "moves by a few bytes with what the `tEXt` chunk records" in README


def test_14_help_lists_what_each_command_takes() -> None:
    helps = {name: CliRunner().invoke(cli, [name, "--help"]).stdout for name in cli.commands}
    flat = {name: " ".join(text.split()) for name, text in helps.items()}
    for name in ("convert", "verify"):
        param = next(p for p in cli.commands[name].params if p.name == "dataset")
        for dataset in ("mnist", "sample", "fashion-mnist", "cifar10"):
            assert dataset in str(getattr(param, "help", "")), (name, dataset)
    for name in ("inspect", "verify"):
        for kind in ("npy", "idx", "csv", "png-dir", "NAME.json"):
            assert kind in flat[name], (name, kind)
    pack_size = flat["pack"].split("--image-size HxW", 1)[1].split("--quantize", 1)[0]
    assert "flat rows" in pack_size and "cifar10" not in pack_size
    from mnist_sprite.inspection import KINDS

    for kind in ("idx", "csv", "png-dir", "NAME.json"):
        assert kind in KINDS


def test_15_pack_force_replaces_the_json_too_and_readme_says_so(tmp_path: Path) -> None:
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


def test_15_png_folders_are_packed_in_file_name_order_across_classes(tmp_path: Path) -> None:
    root = tmp_path / "pngs"
    for cls, value in (("cat", 10), ("dog", 20)):
        for i in range(2):
            write_png(root / cls / f"{i}.png", np.full((2, 2), value + i, np.uint8))
    assert run("pack", str(root), "--out", str(tmp_path / "w"), "-q")[0] == 0
    (x, y), _ = mnist_sprite.load_data(
        sprite=tmp_path / "w" / "data_images.png",
        labels=tmp_path / "w" / "data_labels_uint8",
        image_size="2x2",
        train_size=4,
        dtype="uint8",
        label_format="index",
    )
    assert x[:, 0].tolist() == [10, 20, 11, 21] and y.tolist() == [0, 1, 0, 1]
    assert "`cat/0.png`, `dog/0.png`, `cat/1.png`" in README


def test_16_readme_says_what_imagefolder_and_pandas_give() -> None:
    assert "transform=torchvision.transforms.Grayscale()" in README
    assert 'pd.read_csv("mnist_csv/train.csv", dtype="uint8")' in README


def test_17_tests_needing_the_real_files_say_how_to_make_them_run() -> None:
    reason = needs_real.kwargs["reason"]
    assert "mnist-sprite fetch" in reason
    assert "`.venv/bin/mnist-sprite fetch` once" in README
