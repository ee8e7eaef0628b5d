"""What other libraries read from our outputs is the tool's arrays, value for value: README's
"Use with" blocks run as written on the bundled sample's outputs, and each client reads each
format (``make test-clients`` installs the clients; elsewhere these skip)."""

from __future__ import annotations

import gc
import gzip
import io
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mnist_sprite
from mnist_sprite.download import fetch_dataset
from tests.cli_kit import packed
from tests.clients import client, missing, required
from tests.originalskit import TEST, TRAIN, publish, substitute

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
Arrays = tuple[np.ndarray[Any, Any], ...]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample in every format, under the names README's blocks use."""
    work = tmp_path_factory.mktemp("clients")
    common = {"dataset": "sample", "dtype": "uint8"}
    mnist_sprite.convert(work / "data", format="idx", layout="torchvision", **common)
    mnist_sprite.convert(work / "dataz", format="idx", compress=True, **common)
    mnist_sprite.convert(work / "mnist_csv", format="csv", **common)
    mnist_sprite.convert(work / "mnist_png", format="png-dir", **common)
    mnist_sprite.convert(work / "mnist_hub", format="parquet", **common)
    mnist_sprite.convert(work / "mnist_wds", format="webdataset", **common)
    mnist_sprite.convert(work / "keras.npz", shape="image", label_format="index", **common)
    mnist_sprite.pack(work / "keras.npz", work / "web", name="digits")
    return work


@pytest.fixture(scope="module")
def arrays() -> Arrays:
    """The tool's (x_train, y_train, x_test, y_test): uint8 images, class ids."""
    (x, y), (xt, yt) = mnist_sprite.load_data(
        "sample", dtype="uint8", label_format="index", shape="image"
    )
    return x, y, xt, yt


def use_with_blocks() -> list[str]:
    section = README.split("### Use with", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M)


def imports(code: str) -> set[str]:
    return {a or b for a, b in re.findall(r"^import (\w+)|^from (\w+) import", code, flags=re.M)}


def image_folder_pairs(dataset: Any, to_array: Callable[[Any], Any]) -> list[tuple[int, bytes]]:
    return sorted((int(label), to_array(image).tobytes()) for image, label in dataset)


def tool_pairs(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> list[tuple[int, bytes]]:
    return sorted((int(label), image.tobytes()) for image, label in zip(x, y, strict=True))


def check_block(module: str, ns: dict[str, Any], arrays: Arrays) -> None:
    """Compare what a README block read (names it bound in ``ns``) with the tool's arrays."""
    x, y, _, _ = arrays
    if module == "pandas":
        assert np.array_equal(ns["x"], x.reshape(len(x), -1)) and np.array_equal(ns["y"], y)
        stored = ns["train"]  # read again with dtype="uint8": the bytes as stored
        assert (stored.dtypes == np.uint8).all()
        assert np.array_equal(stored.drop(columns="label").to_numpy(), x.reshape(len(x), -1))
    elif module == "idx2numpy":
        assert ns["x"].dtype == np.uint8 and np.array_equal(ns["x"], x)
        assert np.array_equal(ns["y"], y)
    elif module == "PIL":
        assert np.array_equal(ns["pixels"], x[int(ns["first"].stem)])
    elif module == "torchvision":
        assert np.array_equal(ns["train"].data.numpy(), x)
        assert np.array_equal(ns["train"].targets.numpy(), y)
        gray = ns["images"]  # ImageFolder's loader gives RGB: each channel must be the digit
        assert all(np.ptp(np.asarray(img), axis=2).max() == 0 for img, _ in gray)
        assert image_folder_pairs(gray, lambda im: np.asarray(im)[..., 0]) == tool_pairs(x, y)
        assert image_folder_pairs(ns["gray"], np.asarray) == tool_pairs(x, y)  # Grayscale()
    elif module == "datasets":
        pairs = [(row["label"], np.asarray(row["image"]).tobytes()) for row in ns["train"]]
        assert sorted(pairs) == tool_pairs(x, y)
        hub = ns["hub"]  # Parquet in row order, with the features the metadata names
        assert type(hub.features["image"]).__name__ == "Image"
        assert hub.features["label"].names == [str(i) for i in range(10)]
        assert [r["label"] for r in hub] == y.tolist()
        assert np.array_equal(np.stack([np.asarray(r["image"]) for r in hub]), x)
        tars = ns["tars"]
        assert [r["cls"] for r in tars] == y.tolist()
        assert np.array_equal(np.stack([np.asarray(r["png"]) for r in tars]), x)
    elif module == "pyarrow":
        image = client("PIL.Image")
        pngs = [image.open(io.BytesIO(b)) for b in ns["pngs"].to_pylist()]
        assert np.array_equal(np.stack([np.asarray(im) for im in pngs]), x)
        assert ns["labels"].to_pylist() == y.tolist()
    elif module == "webdataset":
        assert np.array_equal(np.stack([img for img, _ in ns["samples"]]), x)
        assert [int(c) for _, c in ns["samples"]] == y.tolist()
    else:
        raise AssertionError(f"no comparison for a README block that imports {module}")


def test_readme_use_with_blocks_read_the_tools_arrays(
    outputs: Path, arrays: Arrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(outputs)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(outputs / "hf-cache"))
    ran = []
    for code in use_with_blocks():
        clients = imports(code) - {"pathlib", "numpy"}
        absent = missing(clients)
        assert not set(absent) & set(required()), f"make test-clients must install {absent}"
        if absent:
            continue
        ns: dict[str, Any] = {}
        with warnings.catch_warnings():  # webdataset leaves its tar files to the collector
            warnings.simplefilter("ignore", ResourceWarning)
            exec(compile(code, "README.md", "exec"), ns)
            for module in clients:
                check_block(module, ns, arrays)
            ns.clear()
            gc.collect()
        ran.append(sorted(clients))
    if not ran:
        pytest.skip("no client of README's blocks installed: run 'make test-clients' to run them")
    assert len(ran) >= len(required()) - 1  # torch itself has no block of its own


def test_pandas_reads_both_csv_splits(outputs: Path, arrays: Arrays) -> None:
    pd = client("pandas")
    x, y, xt, yt = arrays
    for name, (images, labels) in {"train": (x, y), "test": (xt, yt)}.items():
        frame = pd.read_csv(outputs / "mnist_csv" / f"{name}.csv")
        assert list(frame.columns) == ["label"] + [f"pixel{i}" for i in range(784)]
        assert np.array_equal(
            frame.drop(columns="label").to_numpy(), images.reshape(len(images), -1)
        )
        assert np.array_equal(frame["label"].to_numpy(), labels)


def test_idx2numpy_reads_raw_and_gz_files(outputs: Path, arrays: Arrays) -> None:
    idx2numpy = client("idx2numpy")
    x, y, xt, yt = arrays
    expected = {
        "train-images-idx3-ubyte": x,
        "train-labels-idx1-ubyte": y,
        "t10k-images-idx3-ubyte": xt,
        "t10k-labels-idx1-ubyte": yt,
    }
    for name, want in expected.items():
        assert np.array_equal(
            idx2numpy.convert_from_file(str(outputs / "data/MNIST/raw" / name)), want
        )
        with gzip.open(outputs / "dataz" / f"{name}.gz") as f:
            assert np.array_equal(idx2numpy.convert_from_file(f), want)


def test_pillow_reads_every_png_and_the_packed_sprite(outputs: Path, arrays: Arrays) -> None:
    image = client("PIL.Image")
    x, y, xt, yt = arrays
    for split, images, labels in (("train", x, y), ("test", xt, yt)):
        files = sorted((outputs / "mnist_png" / split).glob("*/*.png"))
        assert len(files) == len(images)
        for path in files:
            i = int(path.stem)  # the image's index in its split
            with image.open(path) as im:
                assert im.mode == "L" and np.array_equal(np.asarray(im), images[i])
            assert int(path.parent.name) == labels[i]
    with image.open(packed(outputs / "web", "digits")[0]) as im:
        sprite = np.asarray(im)
    assert np.array_equal(sprite, np.concatenate([x, xt]).reshape(-1, 784))


def test_torchvision_reads_raw_gz_and_the_packed_sprite(outputs: Path, arrays: Arrays) -> None:
    torchvision = client("torchvision")
    x, _, xt, yt = arrays
    test = torchvision.datasets.MNIST(root=str(outputs / "data"), train=False, download=False)
    assert np.array_equal(test.data.numpy(), xt) and np.array_equal(test.targets.numpy(), yt)
    with warnings.catch_warnings():  # 0.29 deprecates its image functions for torchcodec's
        warnings.simplefilter("ignore", DeprecationWarning)
        sprite = torchvision.io.read_file(str(packed(outputs / "web", "digits")[0]))
        decoded = torchvision.io.decode_png(sprite).numpy()  # (1, H, W)
    assert np.array_equal(decoded[0], np.concatenate([x, xt]).reshape(-1, 784))


def test_pandas_reads_both_parquet_splits(outputs: Path, arrays: Arrays) -> None:
    pd = client("pandas")
    image = client("PIL.Image")
    x, y, xt, yt = arrays
    for split, (images, labels) in {"train": (x, y), "test": (xt, yt)}.items():
        frame = pd.read_parquet(
            outputs / "mnist_hub" / "sample" / f"{split}-00000-of-00001.parquet"
        )
        assert list(frame.columns) == ["image", "label"] and str(frame["label"].dtype) == "int64"
        got = [np.asarray(image.open(io.BytesIO(row["bytes"]))) for row in frame["image"]]
        assert np.array_equal(np.stack(got), images)
        assert np.array_equal(frame["label"].to_numpy(), labels)


def test_a_parquet_datasets_wrote_packs_and_converts_back(tmp_path: Path, arrays: Arrays) -> None:
    """The Hub round trip with no network: a Dataset with Image and ClassLabel features,
    to_parquet(), then pack, then convert --sprite NAME.json gives it back value for value."""
    datasets = client("datasets")
    x, y, _, _ = arrays
    names = [f"digit {i}" for i in range(10)]
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=names)}
    )
    hub = datasets.Dataset.from_dict(
        {"image": list(x[:100]), "label": y[:100].tolist()}, features=features
    )
    hub.to_parquet(str(tmp_path / "train-00000-of-00001.parquet"))
    web = tmp_path / "web"
    mnist_sprite.pack(tmp_path / "train-00000-of-00001.parquet", web, name="hub")
    (bx, by), _ = mnist_sprite.load_data(
        sprite=web / "hub.json", dtype="uint8", label_format="index", shape="image"
    )
    assert np.array_equal(bx, x[:100]) and np.array_equal(by, y[:100])
    import json

    assert json.loads((web / "hub.json").read_text())["class_names"] == names


@pytest.mark.parametrize(
    ("dataset", "kind"), [("mnist-original", "MNIST"), ("fashion-mnist-original", "FashionMNIST")]
)
def test_torchvision_reads_the_original_files_layout_as_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dataset: str, kind: str
) -> None:
    """``convert --dataset mnist-original --format idx --layout torchvision`` is a drop-in for
    torchvision's download: its MNIST (FashionMNIST) class reads the folder with
    ``download=False`` and gets the published arrays (a synthetic set, its digests substituted)."""
    torchvision = client("torchvision")
    found = substitute(monkeypatch, publish(dataset, seed=9))
    published = tmp_path / "published"
    published.mkdir()
    for role, spec in found.dataset.roles():
        (published / spec.name).write_bytes(found.gz[role])
    fetch_dataset(found.dataset, cache_dir=tmp_path / "cache", from_path=published)
    out = tmp_path / "data"
    mnist_sprite.convert(
        out, dataset=dataset, format="idx", layout="torchvision", cache_dir=tmp_path / "cache"
    )
    reader = getattr(torchvision.datasets, kind)
    for train, rows in ((True, slice(0, TRAIN)), (False, slice(TRAIN, TRAIN + TEST))):
        got = reader(root=str(out), train=train, download=False)
        assert np.array_equal(got.data.numpy(), found.x[rows])
        assert np.array_equal(got.targets.numpy(), found.y[rows])
