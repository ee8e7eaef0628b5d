"""Every dataset TensorFlow.js publishes as a sprite: fashion-mnist and cifar10 beside
mnist, colour sprites read as the canvas gives them, digests recorded when none is published,
and the splits TensorFlow.js's examples use, by name."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import png
import pytest
from click.testing import CliRunner

import mnist_sprite
from mnist_sprite.cli import cli
from mnist_sprite.datasets import CIFAR10, DATASETS, FASHION_MNIST, SPLITS
from mnist_sprite.errors import ColourWarning
from mnist_sprite.pipeline import Options, Sources, to_arrays
from tests import pngkit
from tests.conftest import REAL_LABELS, REAL_SPRITE, needs_real
from tests.httpkit import Route, Server


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def rgb_sprite(images: int, side: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    """An RGB sprite (one side x side x 3 image per row), written by pypng, and its pixels."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (images, side * side * 3), dtype=np.uint8)
    buf = io.BytesIO()
    png.Writer(side * side, images, greyscale=False, bitdepth=8).write(buf, pixels.tolist())
    return buf.getvalue(), pixels


def labels_for(images: int, seed: int = 0) -> bytes:
    classes = np.random.default_rng(seed + 1).integers(0, 10, images)
    return np.eye(10, dtype=np.uint8)[classes].tobytes()


# -- colour sprites ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "dims"), [("flat", (32 * 32 * 3,)), ("image", (32, 32, 3)), ("channels", (32, 32, 3))]
)
def test_rgb_sprite_gives_each_channel_as_the_canvas_does(
    tmp_path: Path, shape: str, dims: tuple[int, ...]
) -> None:
    data, pixels = rgb_sprite(12, 32)
    sprite, labels = tmp_path / "c.png", tmp_path / "c_uint8"
    sprite.write_bytes(data)
    labels.write_bytes(labels_for(12))
    options = Options(channels="rgb", image_size=(32, 32), train_size=8, shape=shape)
    arrays = to_arrays(Sources(sprite, labels), options)
    # The reference, computed here: ImageData holds R, G, B (and A) of each pixel in turn, and
    # TensorFlow.js stores float32(v / 255) for each.
    want = (pixels.astype(np.float64) / 255).astype(np.float32)
    assert arrays["x_train"].shape == (8, *dims)
    assert np.array_equal(arrays["x_train"].reshape(8, -1), want[:8])
    assert np.array_equal(arrays["x_test"].reshape(4, -1), want[8:])
    with pytest.warns(ColourWarning, match="kept the red channel only"):  # dropped: said
        red = to_arrays(Sources(sprite, labels), Options(image_size=(32, 32), train_size=8))
    assert np.array_equal(red["x_train"], want[:8, 0::3])  # red: the first of each three


def test_gray_sprite_as_rgb_repeats_gray(tmp_path: Path) -> None:
    pixels = np.random.default_rng(2).integers(0, 256, (6, 16), dtype=np.uint8)
    sprite, labels = tmp_path / "g.png", tmp_path / "l"
    sprite.write_bytes(pngkit.gray_png(pixels))
    labels.write_bytes(labels_for(6))
    arrays = to_arrays(
        Sources(sprite, labels),
        Options(channels="rgb", image_size=(4, 4), train_size=6, dtype="uint8"),
    )
    assert np.array_equal(arrays["x_train"], np.repeat(pixels, 3, axis=1))


def test_rgb_of_transparent_pixels_goes_through_the_canvas(tmp_path: Path) -> None:
    from mnist_sprite.png.canvas import alpha_table

    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (4, 16, 4), dtype=np.uint8)
    sprite, labels = tmp_path / "a.png", tmp_path / "l"
    sprite.write_bytes(pngkit.write_png(rgba.reshape(4, -1), 16, 4, color="rgba"))
    labels.write_bytes(labels_for(4))
    arrays = to_arrays(
        Sources(sprite, labels),
        Options(channels="rgb", image_size=(4, 4), train_size=4, dtype="uint8"),
    )
    table = alpha_table()
    want = np.stack([table[rgba[:, :, 3], rgba[:, :, c]] for c in range(3)], axis=2)
    assert np.array_equal(arrays["x_train"], want.reshape(4, -1))


# -- fashion-mnist and cifar10: fetched, recorded, then enforced ------------------------------


@pytest.fixture
def published(tmp_path: Path) -> dict[str, tuple[bytes, bytes]]:
    fashion = pngkit.gray_png(np.random.default_rng(5).integers(0, 256, (70, 784), np.uint8))
    cifar, _ = rgb_sprite(60, 32, seed=6)
    return {"fashion-mnist": (fashion, labels_for(70)), "cifar10": (cifar, labels_for(60))}


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10"])
def test_unpinned_dataset_is_fetched_recorded_then_enforced(
    server: Server, tmp_path: Path, published: dict[str, tuple[bytes, bytes]], name: str
) -> None:
    ds = DATASETS[name]
    sprite, labels = published[name]
    # The files under the names TensorFlow.js publishes them by.
    server.routes[f"/model-builder/{ds.sprite.name}"] = Route(sprite)
    server.routes[f"/model-builder/{ds.labels.name}"] = Route(labels)
    cache = tmp_path / "cache"
    args = ["fetch", "--dataset", name, "--cache-dir", str(cache), "--json"]
    code, stdout, stderr = run(*args, "--mirror", server.url + "/model-builder/")
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["pinned"] is False and sorted(result["downloaded"]) == sorted(
        [ds.sprite.name, ds.labels.name]
    )
    assert result["recorded"][ds.labels.name] == __import__("hashlib").sha256(labels).hexdigest()
    code, stdout, stderr = run("fetch", "--dataset", name, "--cache-dir", str(cache))
    assert code == 0 and "nothing to do" in stderr and "note:" not in stderr  # said once
    # The recorded digest is now enforced, as a pinned one is.
    folder = cache / name
    changed = bytearray((folder / ds.labels.name).read_bytes())
    changed[:20] = changed[10:20] + changed[:10]  # still whole one-hot rows
    (folder / ds.labels.name).write_bytes(bytes(changed))
    code, _, stderr = run("fetch", "--dataset", name, "--cache-dir", str(cache), "--offline")
    assert code == 1 and "recorded when" in stderr and "first fetched" in stderr
    code, _, stderr = run(
        "convert", "--dataset", name, "--cache-dir", str(cache), "--offline", "--split",
        "tfjs-core", "--out", str(tmp_path / "o.npz"),
    )  # fmt: skip
    assert code == 1 and "fails verification" in stderr
    assert not (tmp_path / "o.npz").exists()


def test_first_fetch_note_is_said_on_stderr(
    server: Server, tmp_path: Path, published: dict[str, tuple[bytes, bytes]]
) -> None:
    sprite, labels = published["fashion-mnist"]
    server.routes[f"/m/{FASHION_MNIST.sprite.name}"] = Route(sprite)
    server.routes[f"/m/{FASHION_MNIST.labels.name}"] = Route(labels)
    code, _, stderr = run(
        "fetch", "--dataset", "fashion-mnist", "--cache-dir", str(tmp_path), "--mirror",
        server.url + "/m/",
    )  # fmt: skip
    assert code == 0
    assert "note: fashion-mnist has no pinned digest; recorded fashion_mnist_images.png" in stderr


def test_a_pair_that_does_not_agree_is_not_cached(
    server: Server, tmp_path: Path, published: dict[str, tuple[bytes, bytes]]
) -> None:
    sprite, _ = published["cifar10"]
    server.routes[f"/m/{CIFAR10.sprite.name}"] = Route(sprite)
    server.routes[f"/m/{CIFAR10.labels.name}"] = Route(labels_for(59))
    code, _, stderr = run(
        "fetch", "--dataset", "cifar10", "--cache-dir", str(tmp_path), "--mirror",
        server.url + "/m/",
    )  # fmt: skip
    assert code == 1 and "holds 59 labels but the sprite holds 60 images" in stderr
    assert not (tmp_path / "cifar10" / CIFAR10.sprite.name).exists()


def test_a_sprite_that_is_not_one_image_per_row_is_refused(server: Server, tmp_path: Path) -> None:
    server.routes[f"/m/{CIFAR10.sprite.name}"] = Route(
        pngkit.gray_png(np.zeros((5, 784), np.uint8))
    )
    server.routes[f"/m/{CIFAR10.labels.name}"] = Route(labels_for(5))
    code, _, stderr = run(
        "fetch", "--dataset", "cifar10", "--cache-dir", str(tmp_path), "--mirror",
        server.url + "/m/", "--retries", "0",
    )  # fmt: skip
    assert code == 1 and "is 784 pixels wide, not one 32x32 image per row" in stderr


def test_cifar10_converts_to_rgb_by_default_with_its_class_names(
    server: Server, tmp_path: Path, published: dict[str, tuple[bytes, bytes]]
) -> None:
    sprite, labels = published["cifar10"]
    server.routes[f"/m/{CIFAR10.sprite.name}"] = Route(sprite)
    server.routes[f"/m/{CIFAR10.labels.name}"] = Route(labels)
    env = {"MNIST_SPRITE_MIRRORS": server.url + "/m/", "MNIST_SPRITE_CACHE": str(tmp_path / "c")}
    out = tmp_path / "cifar.npz"
    code, _, stderr = run(
        "convert", "--dataset", "cifar10", "--split", "tfjs-core", "--out", str(out), env=env
    )
    assert code == 0, stderr
    with np.load(out) as z:
        assert z["x_train"].shape == (50, 32 * 32 * 3) and z["x_test"].shape == (10, 3072)
    code, stdout, _ = run("inspect", str(out), "--json")
    facts = json.loads(stdout)
    assert facts["classes"][0] == "airplane" and facts["classes"][9] == "truck"
    assert facts["provenance"]["options"]["channels"] == "rgb"
    assert facts["provenance"]["options"]["split"] == "tfjs-core"
    code, stdout, _ = run("verify", str(out), "--cache-dir", str(tmp_path / "c"))
    assert code == 0, stdout
    assert "match the recorded digest of cifar10" in stdout
    cached = tmp_path / "c" / "cifar10" / CIFAR10.sprite.name
    code, stdout, _ = run("inspect", str(cached), "--json", env=env)
    facts = json.loads(stdout)  # known by its recorded digest: its image size is cifar10's
    assert facts["dataset"] == "cifar10" and facts["images"] == 60
    assert facts["image_size"] == "32x32"
    (x, _), (xt, _) = mnist_sprite.load_data(
        "cifar10", cache_dir=tmp_path / "c", offline=True, split="tfjs-core", shape="image"
    )
    assert x.shape == (50, 32, 32, 3) and xt.shape == (10, 32, 32, 3)


# -- splits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("split", "images", "train"),
    [
        ("tfjs", 65_000, 55_000),
        ("tfjs", 1_000, 800),
        ("tfjs-core", 65_000, 54_166),  # Math.floor(5 / 6 * 65000)
        ("tfjs-core", 70_000, 58_333),
        ("course-fashion", 70_000, 10_000),  # Math.floor(1 / 7 * 70000)
        ("course-fashion", 60_000, 8_571),
    ],
)
def test_split_presets_give_the_documented_sizes(split: str, images: int, train: int) -> None:
    assert SPLITS[split].train(images) == train


def test_split_presets_match_javascript_float_arithmetic() -> None:
    # Math.floor(5 / 6 * n) in JavaScript is IEEE float64, as Python's float is.
    for n in (6, 12, 60, 65_000, 70_001):
        assert SPLITS["tfjs-core"].train(n) == math.floor(5 / 6 * n)


def test_split_is_recorded_and_honoured_by_verify(tmp_path: Path) -> None:
    out = tmp_path / "s.npz"
    code, _, stderr = run(
        "convert", "--dataset", "sample", "--split", "tfjs-core", "--out", str(out), "-q"
    )
    assert code == 0, stderr
    with np.load(out) as z:
        assert z["x_train"].shape[0] == 833 and z["x_test"].shape[0] == 167
    assert run("verify", str(out))[0] == 0
    code, _, stderr = run("convert", "--dataset", "sample", "--split", "tfjs", "--train-size",
                          "5", "--out", str(tmp_path / "x.npz"))  # fmt: skip
    assert code == 2 and "--split and --train-size both given" in stderr


def test_tfjs_split_is_only_for_mnist_sizes(tmp_path: Path) -> None:
    pixels = np.zeros((30, 16), np.uint8)
    sprite, labels = tmp_path / "s.png", tmp_path / "l"
    sprite.write_bytes(pngkit.gray_png(pixels))
    labels.write_bytes(labels_for(30))
    code, _, stderr = run(
        "convert", "--sprite", str(sprite), "--labels", str(labels), "--image-size", "4x4",
        "--split", "tfjs", "--out", str(tmp_path / "o.npz"),
    )  # fmt: skip
    assert code == 2 and "--split tfjs is defined for MNIST's 65,000 images, not 30" in stderr


def test_every_dataset_is_known_to_every_command() -> None:
    for command in ("fetch", "convert", "verify"):
        param = next(p for p in cli.commands[command].params if p.name == "dataset")
        assert set(param.type.choices) == {  # type: ignore[attr-defined]
            *("mnist", "sample", "fashion-mnist", "cifar10"),
            *("mnist-original", "fashion-mnist-original"),
        }


def test_inspect_draws_rgb_outputs_in_gray_at_their_recorded_size(tmp_path: Path) -> None:
    data, pixels = rgb_sprite(6, 32)
    sprite, labels = tmp_path / "c.png", tmp_path / "l"
    sprite.write_bytes(data)
    labels.write_bytes(labels_for(6))
    out = tmp_path / "rgb.npz"
    code, _, stderr = run(
        "convert", "--sprite", str(sprite), "--labels", str(labels), "--image-size", "32x32",
        "--channels", "rgb", "--train-size", "4", "--out", str(out), "-q",
    )  # fmt: skip
    assert code == 0, stderr
    code, stdout, _ = run("inspect", str(out), "--show", "5", "--json")
    digit = json.loads(stdout)
    gray = np.rint(pixels[5].reshape(32 * 32, 3).mean(axis=1)).astype(np.uint8)
    assert code == 0 and digit["pixels"] == gray.reshape(32, 32).tolist()
    code, _, stderr = run("inspect", str(out), "--grid", str(tmp_path / "g.png"))
    assert code == 0 and (tmp_path / "g.png").is_file()


@needs_real
def test_real_files_are_here() -> None:
    assert REAL_SPRITE.is_file() and REAL_LABELS.is_file()
