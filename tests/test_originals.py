"""A dataset's original IDX files (mnist-original, fashion-mnist-original): fetched like the
sprites, verified before they are cached, and read by every command.

The pinned path runs on the real files in ../shared/data; the whole flow runs on a small
synthetic set served on 127.0.0.1, with its digests substituted for the published ones.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist_sprite import load_data
from mnist_sprite.datasets import MNIST_ORIGINAL, ORIGINAL_ROLES
from mnist_sprite.download import fetch_dataset
from mnist_sprite.errors import FetchError, IntegrityError
from tests.cli_kit import one_line, run
from tests.httpkit import Route, Server
from tests.originalskit import (
    NAMES,
    SKIP,
    TEST,
    TRAIN,
    Published,
    idx,
    publish,
    substitute,
    with_container,
)  # fmt: skip
from tests.realdata import SHARED


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    """mnist-original, as a small synthetic set with its own digests in the table."""
    return substitute(monkeypatch, publish())


def serve(server: Server, found: Published, prefix: str = "/mnist") -> str:
    for role, spec in found.dataset.roles():
        server.routes[f"{prefix}/{spec.name}"] = Route(found.gz[role])
    return server.url + prefix + "/"


def fetched(server: Server, found: Published, cache: Path) -> Path:
    code, _, stderr = run(
        "fetch", "--dataset", found.dataset.name, "--mirror", serve(server, found), cache=cache
    )
    assert code == 0, stderr
    return cache / found.dataset.name


# -- fetch ----------------------------------------------------------------------------------


def test_fetch_puts_the_four_files_in_the_cache_verified_and_prints_their_paths(
    server: Server, published: Published, tmp_path: Path
) -> None:
    code, stdout, stderr = run(
        "fetch", "--dataset", "mnist-original", "--mirror", serve(server, published),
        cache=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    folder = tmp_path / "mnist-original"
    assert stdout.splitlines() == [str(folder / (NAMES[r] + ".gz")) for r in ORIGINAL_ROLES]
    for role in ORIGINAL_ROLES:
        assert (folder / (NAMES[role] + ".gz")).read_bytes() == published.gz[role]
    again = run("fetch", "--dataset", "mnist-original", "--offline", cache=tmp_path)
    assert again[0] == 0 and "nothing to do" in again[2]


def test_a_mirror_holding_one_wrong_file_is_named_and_the_next_source_gives_it(
    server: Server, published: Published, tmp_path: Path
) -> None:
    """The first mirror serves another t10k-labels file: it is refused, named and never
    cached; the second mirror's good file is."""
    bad = serve(server, published, "/bad")
    server.routes["/bad/t10k-labels-idx1-ubyte.gz"] = Route(gzip.compress(b"\0" * 40, mtime=0))
    good = serve(server, published, "/good")
    code, _, stderr = run(
        "fetch", "--dataset", "mnist-original", "--mirror", bad, "--mirror", good,
        cache=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    cached = tmp_path / "mnist-original" / "t10k-labels-idx1-ubyte.gz"
    assert cached.read_bytes() == published.gz["test-labels"]
    assert server.hits["/bad/t10k-labels-idx1-ubyte.gz"] == 1
    assert server.hits["/good/t10k-labels-idx1-ubyte.gz"] == 1
    assert not list((tmp_path / "mnist-original").glob("*.part"))


def test_a_wrong_file_from_every_source_is_named_and_not_cached(
    server: Server, published: Published, tmp_path: Path
) -> None:
    base = serve(server, published)
    server.routes["/mnist/train-labels-idx1-ubyte.gz"] = Route(published.gz["test-labels"])
    code, _, stderr = run(
        "fetch", "--dataset", "mnist-original", "--mirror", base, "--retries", "0",
        cache=tmp_path,
    )  # fmt: skip
    one_line(stderr, "train-labels-idx1-ubyte.gz", "could not download from any source")
    assert code == 1
    assert not (tmp_path / "mnist-original" / "train-labels-idx1-ubyte.gz").exists()


def test_a_synthetic_file_offered_under_a_pinned_name_is_refused_and_not_cached(
    tmp_path: Path,
) -> None:
    """The real table: a file of the right name and kind but other bytes is refused by the
    published digest, with the file named, and nothing enters the cache."""
    offered = tmp_path / "usb"
    offered.mkdir()
    (offered / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx(np.zeros(10_000, np.uint8)), mtime=0)
    )
    with pytest.raises(IntegrityError) as e:
        fetch_dataset(MNIST_ORIGINAL, cache_dir=tmp_path / "cache", from_path=offered)
    assert "t10k-labels-idx1-ubyte.gz" in str(e.value) and "pinned" in e.value.problem
    assert not (tmp_path / "cache" / "mnist-original" / "t10k-labels-idx1-ubyte.gz").exists()


def test_a_file_of_another_kind_is_named_for_what_it_is(tmp_path: Path) -> None:
    offered = tmp_path / "usb"
    offered.mkdir()
    (offered / "t10k-images-idx3-ubyte.gz").write_bytes(b"<!doctype html><p>Forbidden</p>")
    with pytest.raises(IntegrityError) as e:
        fetch_dataset(MNIST_ORIGINAL, cache_dir=tmp_path / "cache", from_path=offered)
    assert "not t10k-images-idx3-ubyte.gz (a gzipped IDX file)" in e.value.problem


def test_the_real_files_pass_their_published_md5_and_sha256(tmp_path: Path) -> None:
    """The three real files in ../shared/data enter the cache by --from; the fourth is named."""
    real = [SHARED / spec.name for _, spec in MNIST_ORIGINAL.roles()]
    present = [p for p in real if p.is_file()]
    if len(present) < 3:
        pytest.skip("needs MNIST's original t10k and train-labels .gz files in ../shared/data")
    with pytest.raises(FetchError) as e:
        fetch_dataset(MNIST_ORIGINAL, cache_dir=tmp_path, from_path=SHARED, offline=True)
    folder = tmp_path / "mnist-original"
    for path in present:
        spec = dict((s.name, s) for _, s in MNIST_ORIGINAL.roles())[path.name]
        cached = folder / path.name
        assert cached.read_bytes() == path.read_bytes()
        assert hashlib.md5(cached.read_bytes()).hexdigest() == spec.md5
    if len(present) == 3:
        assert "train-images-idx3-ubyte.gz" in str(e.value)


def test_url_options_name_the_mirror_option_for_original_files(tmp_path: Path) -> None:
    code, _, stderr = run(
        "fetch", "--dataset", "mnist-original", "--url", "http://127.0.0.1:9/x.png",
        cache=tmp_path,
    )  # fmt: skip
    assert code == 2
    one_line(stderr, "--url and --labels-url", "--mirror PREFIX")


# -- every command reads them ---------------------------------------------------------------


def test_load_data_gives_the_published_split(
    server: Server, published: Published, tmp_path: Path
) -> None:
    fetched(server, published, tmp_path)
    (x_train, y_train), (x_test, y_test) = load_data(
        dataset="mnist-original", cache_dir=tmp_path, dtype="uint8", label_format="index",
        shape="image",
    )  # fmt: skip
    assert np.array_equal(x_train, published.x[:TRAIN])
    assert np.array_equal(x_test, published.x[TRAIN:])
    assert np.array_equal(y_train, published.y[:TRAIN])
    assert np.array_equal(y_test, published.y[TRAIN:])


def test_float32_values_are_v_over_255_exactly(
    server: Server, published: Published, tmp_path: Path
) -> None:
    fetched(server, published, tmp_path)
    (x_train, _), _ = load_data(dataset="mnist-original", cache_dir=tmp_path)
    want = (published.x[:TRAIN].reshape(TRAIN, -1) / 255).astype(np.float32)
    assert x_train.dtype == np.float32 and np.array_equal(x_train, want)


def test_split_tfjs_leaves_out_the_first_training_images_as_the_sprite_does(
    server: Server, published: Published, tmp_path: Path
) -> None:
    fetched(server, published, tmp_path)
    (x_train, y_train), (x_test, y_test) = load_data(
        dataset="mnist-original", cache_dir=tmp_path, split="tfjs", dtype="uint8",
        label_format="index", shape="image",
    )  # fmt: skip
    assert np.array_equal(x_train, published.x[SKIP:TRAIN])
    assert np.array_equal(y_train, published.y[SKIP:TRAIN])
    assert np.array_equal(x_test, published.x[TRAIN:])
    assert np.array_equal(y_test, published.y[TRAIN:])


@pytest.mark.parametrize("fmt", ["npz", "csv", "idx", "png-dir"])
def test_convert_writes_every_format_and_verify_proves_it(
    server: Server, published: Published, tmp_path: Path, fmt: str
) -> None:
    fetched(server, published, tmp_path)
    out = tmp_path / ("out.npz" if fmt == "npz" else "out")
    code, _, stderr = run(
        "convert", "--dataset", "mnist-original", "--format", fmt, "--out", str(out),
        cache=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    code, stdout, stderr = run("verify", str(out), cache=tmp_path)
    assert code == 0, stdout + stderr
    assert "pinned train-images-idx3-ubyte.gz" in stdout
    assert f"split {TRAIN:,} / {TEST:,}" in stdout


def test_verify_fails_an_output_that_differs_from_the_original_files(
    server: Server, published: Published, tmp_path: Path
) -> None:
    fetched(server, published, tmp_path)
    out = tmp_path / "out"
    assert run("convert", "--dataset", "mnist-original", "--format", "idx", "--split", "tfjs",
               "--out", str(out), cache=tmp_path)[0] == 0  # fmt: skip
    assert run("verify", str(out), cache=tmp_path)[0] == 0
    images = out / "t10k-images-idx3-ubyte"
    data = bytearray(images.read_bytes())
    data[-1] ^= 1
    images.write_bytes(bytes(data))
    code, stdout, _ = run("verify", str(out), cache=tmp_path)
    assert code == 1 and "FAIL" in stdout and "x_test" in stdout


def test_torchvision_layout_holds_the_published_bytes(
    server: Server, published: Published, tmp_path: Path
) -> None:
    """``--layout torchvision`` leaves DIR/MNIST/raw/ as torchvision reads it; each file is
    byte-identical to the published one, decompressed."""
    fetched(server, published, tmp_path)
    out = tmp_path / "tv"
    code, _, stderr = run(
        "convert", "--dataset", "mnist-original", "--format", "idx", "--layout", "torchvision",
        "--out", str(out), cache=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    for role in ORIGINAL_ROLES:
        assert (out / "MNIST" / "raw" / NAMES[role]).read_bytes() == published.raw[role], role


def test_fashion_original_goes_to_torchvisions_fashionmnist_folder(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = substitute(monkeypatch, publish("fashion-mnist-original", seed=8))
    fetched(server, found, tmp_path)
    out = tmp_path / "tv"
    code, _, stderr = run(
        "convert", "--dataset", "fashion-mnist-original", "--format", "idx", "--layout",
        "torchvision", "--out", str(out), cache=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    for role in ORIGINAL_ROLES:
        assert (out / "FashionMNIST" / "raw" / NAMES[role]).read_bytes() == found.raw[role]
    code, _, stderr = run(
        "convert", "--dataset", "fashion-mnist-original", "--split", "tfjs", "--out",
        str(tmp_path / "f.npz"), cache=tmp_path,
    )  # fmt: skip
    assert code == 2
    one_line(stderr, "--split tfjs is not a split of fashion-mnist-original", "drop --split")


def test_verify_of_the_dataset_names_each_file_and_its_published_digests(
    server: Server, published: Published, tmp_path: Path
) -> None:
    folder = fetched(server, published, tmp_path)
    code, stdout, stderr = run("verify", "--dataset", "mnist-original", cache=tmp_path)
    assert code == 0, stdout + stderr
    for role in ORIGINAL_ROLES:
        assert f"ok    pinned {NAMES[role]}.gz: md5 " in stdout
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b damaged")
    code, stdout, _ = run("verify", "--dataset", "mnist-original", "--json", cache=tmp_path)
    report = json.loads(stdout)
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    assert code == 1 and failed == ["pinned t10k-labels-idx1-ubyte.gz"]


def test_a_missing_file_is_named_with_the_fetch_that_gets_it(
    server: Server, published: Published, tmp_path: Path
) -> None:
    folder = fetched(server, published, tmp_path)
    (folder / "train-images-idx3-ubyte.gz").unlink()
    code, _, stderr = run("convert", "--dataset", "mnist-original", "--offline", "--out",
                          str(tmp_path / "o.npz"), cache=tmp_path)  # fmt: skip
    assert code == 1
    one_line(stderr, "train-images-idx3-ubyte.gz", "not in the cache", "fetch")


def test_pack_of_the_original_files_gives_all_seventy_thousand_to_the_browser(
    server: Server, published: Published, tmp_path: Path
) -> None:
    """pack reads the cached folder as it reads any IDX folder: a bundle of every image, the
    published split recorded."""
    folder = fetched(server, published, tmp_path)
    code, _, stderr = run("pack", str(folder), "--out", str(tmp_path / "web"), cache=tmp_path)
    assert code == 0, stderr
    bundle = json.loads((tmp_path / "web" / "data.json").read_text())
    assert bundle["images"] == TRAIN + TEST and bundle["train_images"] == TRAIN
    shutil.rmtree(tmp_path / "web")


def test_pack_of_the_dataset_fetches_it_and_names_fashions_classes(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = substitute(monkeypatch, publish("fashion-mnist-original", seed=3))
    monkeypatch.setenv("MNIST_SPRITE_MIRRORS", serve(server, found))
    web = tmp_path / "web"
    code, _, stderr = run(
        "pack", "--dataset", "fashion-mnist-original", "--out", str(web), "--name", "fashion",
        cache=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    bundle = json.loads((web / "fashion.json").read_text())
    assert bundle["class_names"][0] == "T-shirt/top" and bundle["train_images"] == TRAIN
    code, _, stderr = run("pack", str(web), "--dataset", "fashion-mnist-original", "--out",
                          str(tmp_path / "w2"), cache=tmp_path)  # fmt: skip
    assert code == 2
    one_line(stderr, "SOURCE and --dataset both given")


def test_inspect_of_the_dataset_says_what_it_is_and_its_test_part(
    server: Server, published: Published, tmp_path: Path
) -> None:
    code, _, stderr = run("inspect", "--dataset", "mnist-original", cache=tmp_path)
    assert code == 1
    one_line(stderr, "mnist-original", "not in the cache", "fetch --dataset mnist-original")
    fetched(server, published, tmp_path)
    code, stdout, stderr = run("inspect", "--dataset", "mnist-original", cache=tmp_path)
    assert code == 0, stderr
    assert f"x_train            ({TRAIN}, 28, 28) uint8" in stdout
    assert "dataset            mnist-original: its published files" in stdout
    assert "test part          MNIST's official test set, t10k" in stdout
    code, stdout, _ = run("inspect", "--dataset", "mnist-original", "--json", cache=tmp_path)
    assert json.loads(stdout)["dataset"] == "mnist-original"


def test_a_file_no_source_gives_is_named_and_the_others_are_cached_verified(
    server: Server, published: Published, tmp_path: Path
) -> None:
    """One file missing everywhere: fetch fails naming it, and keeps the three it verified,
    so the test part alone is there for verify, and a later --from completes the set."""
    base = serve(server, published)
    del server.routes["/mnist/train-images-idx3-ubyte.gz"]
    code, _, stderr = run("fetch", "--dataset", "mnist-original", "--mirror", base, cache=tmp_path)
    assert code == 1
    one_line(stderr, "train-images-idx3-ubyte.gz: could not download from any source",
             "the cache holds, verified, train-labels-idx1-ubyte.gz, t10k-images")  # fmt: skip
    folder = tmp_path / "mnist-original"
    assert sorted(p.name for p in folder.glob("*.gz")) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz",
    ]  # fmt: skip
    hand = tmp_path / "usb"
    hand.mkdir()
    (hand / "train-images-idx3-ubyte.gz").write_bytes(published.gz["train-images"])
    code, _, stderr = run("fetch", "--dataset", "mnist-original", "--from", str(hand),
                          cache=tmp_path)  # fmt: skip
    assert code == 0, stderr
    assert "imported train-images-idx3-ubyte.gz" in stderr


def test_convert_reads_the_verified_files_not_a_raw_copy_beside_them(
    server: Server, published: Published, tmp_path: Path
) -> None:
    """torchvision pointed at the cache folder leaves MNIST/raw/ there: convert, verify and
    pack still read the four files fetch verified."""
    folder = fetched(server, published, tmp_path)
    (folder / "MNIST" / "raw").mkdir(parents=True)
    for role in ("train-images", "train-labels"):
        stray = np.zeros((TRAIN, 28, 28) if role.endswith("images") else TRAIN, np.uint8)
        (folder / "MNIST" / "raw" / NAMES[role]).write_bytes(idx(stray))
    (x_train, y_train), _ = load_data(
        dataset="mnist-original", cache_dir=tmp_path, dtype="uint8", label_format="index",
        shape="image",
    )  # fmt: skip
    assert np.array_equal(x_train, published.x[:TRAIN])
    assert np.array_equal(y_train, published.y[:TRAIN])
    code, _, stderr = run("pack", "--dataset", "mnist-original", "--out", str(tmp_path / "web"),
                          "--name", "m", cache=tmp_path)  # fmt: skip
    assert code == 0, stderr
    bundle = json.loads((tmp_path / "web" / "m.json").read_text())
    assert bundle["train_images"] == TRAIN


def test_verify_of_a_tfjs_output_refuses_options_it_was_not_made_with(
    server: Server, published: Published, tmp_path: Path
) -> None:
    fetched(server, published, tmp_path)
    out = tmp_path / "tf.npz"
    assert run("convert", "--dataset", "mnist-original", "--split", "tfjs", "--out", str(out),
               cache=tmp_path)[0] == 0  # fmt: skip
    assert run("verify", str(out), "--split", "tfjs", cache=tmp_path)[0] == 0
    code, _, stderr = run("verify", str(out), "--train-size", "50", cache=tmp_path)
    assert code == 2
    one_line(stderr, f"was made with --train-size {TRAIN - SKIP}, not 50")
    code, _, stderr = run("verify", str(out), "--split", "tfjs-core", cache=tmp_path)
    assert code == 2
    one_line(stderr, "was made with --split tfjs, not tfjs-core", "drop --split")


def test_dataset_options_name_what_is_missing_and_what_to_give(
    server: Server, published: Published, tmp_path: Path
) -> None:
    code, _, stderr = run("pack", "--out", str(tmp_path / "w"), cache=tmp_path)
    assert code == 2
    one_line(stderr, "give SOURCE or --dataset", "--dataset mnist-original")
    folder = fetched(server, published, tmp_path)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    code, _, stderr = run("inspect", "--dataset", "mnist-original", cache=tmp_path)
    assert code == 1
    one_line(stderr, "train-labels-idx1-ubyte.gz: not in the cache",
             "fetch --dataset mnist-original")  # fmt: skip


def test_keras_npz_serves_what_no_other_source_gives(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No source gives train-images: fetch gets keras' mnist.npz, verified by its pinned
    sha256, and every command reads that array from it, the published values."""
    found, npz = with_container(publish(), server.url + "/keras/")
    substitute(monkeypatch, found)
    base = serve(server, found)
    del server.routes["/mnist/train-images-idx3-ubyte.gz"]
    server.routes["/keras/mnist.npz"] = Route(npz)
    code, stdout, stderr = run("fetch", "--dataset", "mnist-original", "--mirror", base,
                               cache=tmp_path)  # fmt: skip
    assert code == 0, stderr
    folder = tmp_path / "mnist-original"
    assert stdout.splitlines()[0] == str(folder / "mnist.npz")
    assert "downloaded" in stderr and "mnist.npz" in stderr
    (x_train, y_train), (x_test, _) = load_data(
        dataset="mnist-original", cache_dir=tmp_path, offline=True, dtype="uint8",
        label_format="index", shape="image",
    )  # fmt: skip
    assert np.array_equal(x_train, found.x[:TRAIN]) and np.array_equal(x_test, found.x[TRAIN:])
    assert np.array_equal(y_train, found.y[:TRAIN])
    code, stdout, _ = run("verify", "--dataset", "mnist-original", cache=tmp_path)
    assert code == 0, stdout
    assert "ok    pinned mnist.npz: sha256" in stdout and "in place of train-images" in stdout
    out = tmp_path / "tv"
    assert run("convert", "--dataset", "mnist-original", "--format", "idx", "--layout",
               "torchvision", "--out", str(out), "--offline", cache=tmp_path)[0] == 0  # fmt: skip
    for role in ORIGINAL_ROLES:
        assert (out / "MNIST" / "raw" / NAMES[role]).read_bytes() == found.raw[role], role
    code, stdout, stderr = run("inspect", "--dataset", "mnist-original", cache=tmp_path)
    assert code == 0 and f"x_train            ({TRAIN}, 28, 28) uint8" in stdout, stderr
    code, _, stderr = run("pack", "--dataset", "mnist-original", "--out", str(tmp_path / "w"),
                          cache=tmp_path)  # fmt: skip
    assert code == 0, stderr


def test_a_wrong_keras_npz_is_named_and_never_cached(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found, npz = with_container(publish(), server.url + "/keras/")
    substitute(monkeypatch, found)
    base = serve(server, found)
    del server.routes["/mnist/train-images-idx3-ubyte.gz"]
    server.routes["/keras/mnist.npz"] = Route(npz[:-1] + bytes([npz[-1] ^ 1]))
    code, _, stderr = run("fetch", "--dataset", "mnist-original", "--mirror", base,
                          "--retries", "0", cache=tmp_path)  # fmt: skip
    assert code == 1
    one_line(stderr, "train-images-idx3-ubyte.gz: could not download from any source",
             "; and mnist.npz: could not download from any source",
             "sha256")  # fmt: skip
    assert not (tmp_path / "mnist-original" / "mnist.npz").exists()
