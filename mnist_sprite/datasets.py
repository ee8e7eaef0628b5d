"""Each known dataset: its files, where they come from and live, their digests, classes and
splits.

The one answer to "where are this dataset's files" (:meth:`Dataset.paths`), to "which
dataset is this" (:func:`identify`, by a file digest, a pixel digest or a label digest) and to
"how does it split" (:data:`SPLITS`). TensorFlow.js's model-builder demo lists three datasets
in sprite form (``tensorflow/tfjs``, ``demos/model-builder/model-builder-datasets-config.json``):
mnist, fashion-mnist and cifar10. Only mnist's digests are known; the others are verified as far
as their content allows and their digests recorded in the cache on first fetch (``cache.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import dataset_dir, read_record, recorded_sha256
from .errors import OptionError, PathLike, SourceError, command

DATA_DIR = Path(__file__).resolve().parent / "data"
OFFICIAL_BASE = "https://storage.googleapis.com/learnjs-data/model-builder/"


@dataclass(frozen=True)
class SourceFile:
    """One file of a dataset.

    ``sha256`` is the digest of the file's bytes. For a sprite, ``pixels_sha256`` is the
    digest of its decoded pixels (the ``(images, width)`` uint8 red channel, C order): a
    re-encoded PNG has other bytes but must have the same pixels.
    """

    name: str
    sha256: str | None = None  # None: not published, recorded on first fetch instead
    size: int | None = None
    pixels_sha256: str | None = None
    md5: str | None = None  # the digest its publisher gives, where that is md5 (torchvision's)

    def url(self, base: str = OFFICIAL_BASE) -> str:
        return base.rstrip("/") + "/" + self.name


@dataclass(frozen=True)
class Dataset:
    """A sprite, its label file and how they split into train and test."""

    name: str
    sprite: SourceFile
    labels: SourceFile
    images: int | None  # None: not published; the PNG header says
    train_size: int | None  # the split TensorFlow.js's own loader uses, where there is one
    image_size: tuple[int, int] = (28, 28)
    channels: str = "red"  # what --channels defaults to: red for gray sprites, rgb for colour
    class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
    bundled: bool = False
    # Images per class in the train and the test split, where they are published.
    class_counts: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    # What its test part is, where that is measured (inspect says it).
    test_part: str | None = None
    # Where its files are published, tried in order after --mirror and MNIST_SPRITE_MIRRORS.
    bases: tuple[str, ...] = (OFFICIAL_BASE,)

    @property
    def pinned(self) -> bool:
        """Are both files' digests known in advance (else they are recorded on first fetch)?"""
        return self.sprite.sha256 is not None and self.labels.sha256 is not None

    def roles(self) -> tuple[tuple[str, SourceFile], tuple[str, SourceFile]]:
        """(role, file) for the sprite and the label file, in that order."""
        return (("sprite", self.sprite), ("labels", self.labels))

    def folder(self, cache_dir: PathLike | None = None) -> Path:
        """Where its files live: inside the package when bundled, else its cache folder."""
        return DATA_DIR if self.bundled else dataset_dir(self.name, cache_dir)

    def paths(self, cache_dir: PathLike | None = None) -> dict[str, Path]:
        """``{"sprite": path, "labels": path}``: where its files are, or will be, on disk."""
        folder = self.folder(cache_dir)
        return {role: folder / spec.name for role, spec in self.roles()}


MNIST = Dataset(
    name="mnist",
    sprite=SourceFile(
        name="mnist_images.png",
        sha256="498b7f6789ef0dd5606d77d7fc7f4502f4af73d71bf5aa68c095babe137a7491",
        size=10_689_542,
        pixels_sha256="3d24e455d86b0368a3aed0357241a964514ac2c876e06de3763d756f78082e2e",
    ),
    labels=SourceFile(
        name="mnist_labels_uint8",
        sha256="54dbbc2cab00508c5ade36a807f48bc83d0ee3285bbeb8ae25377aaa12b2250c",
        size=650_000,
    ),
    images=65_000,
    train_size=55_000,
    class_counts=(
        (5444, 6179, 5470, 5638, 5307, 4987, 5417, 5715, 5389, 5454),
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
    test_part=(
        "rows 55,000-64,999 are MNIST's official test set, t10k-images-idx3-ubyte, in order "
        "(verify proves it where the cache's mnist-original/ holds the original files)"
    ),
)

# The first 1,000 digits of MNIST, shipped inside the package (made by tests/make_sample.py).
SAMPLE = Dataset(
    name="sample",
    sprite=SourceFile(
        name="sample_images.png",
        sha256="ec353292e94a1cc70a0a17dc8e5897ce271bbba40732350cfd0789cb10f70c97",
        size=164_805,
        pixels_sha256="36d74875d70599254028ab31e294bac40a80a88cced85891028b9131782ff428",
    ),
    labels=SourceFile(
        name="sample_labels_uint8",
        sha256="980fb4479403d7c8340c2f72569ae0b9169b47e2ae142ce66ca713ea84c3fb03",
        size=10_000,
    ),
    images=1_000,
    train_size=800,
    bundled=True,
)

FASHION_MNIST = Dataset(
    name="fashion-mnist",
    sprite=SourceFile("fashion_mnist_images.png"),
    labels=SourceFile("fashion_mnist_labels_uint8"),
    images=None,
    train_size=None,
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
)

CIFAR10 = Dataset(
    name="cifar10",
    sprite=SourceFile("cifar10_images.png"),
    labels=SourceFile("cifar10_labels_uint8"),
    images=None,
    train_size=None,
    image_size=(32, 32),
    channels="rgb",
    class_names=(
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (MNIST, SAMPLE, FASHION_MNIST, CIFAR10)}
DEFAULT = MNIST.name


@dataclass(frozen=True)
class Originals:
    """A dataset as its authors publish it: four gzipped IDX files, the training images and
    labels, then the test ones, each pinned by the md5 its publisher gives and by sha256.

    Fetched like a sprite dataset (mirrors, resume, the lock, verify before caching) and read
    by every command as the published train and test parts."""

    name: str
    files: tuple[tuple[str, SourceFile], ...]  # (role, file): ORIGINAL_ROLES, in that order
    bases: tuple[str, ...]
    torchvision: str  # torchvision's class, whose raw folder is DIR/<class>/raw
    class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
    # The sprite dataset that publishes the same images, and its rows' place here: the sprite
    # is these images from ``sprite_skip`` on, in order (mnist: without the first 5,000).
    sprite: str | None = None
    sprite_skip: int = 0
    image_size: tuple[int, int] = (28, 28)
    train_size: int = 60_000
    test_size: int = 10_000
    channels: str = "red"
    bundled: bool = False
    class_counts: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    test_part: str | None = None
    # The same arrays in another container, fetched when a file has no source left: keras'
    # mnist.npz (x_train, y_train, x_test, y_test), pinned by the sha256 keras publishes.
    container: SourceFile | None = None
    container_bases: tuple[str, ...] = ()

    @property
    def pinned(self) -> bool:
        return all(spec.sha256 is not None for _, spec in self.files)

    def serving(self, folder: Path) -> dict[str, Path]:
        """The file that holds each role's array in ``folder``: its own, else the container
        where that is there instead (else its own name, which is then missing)."""
        spare = folder / self.container.name if self.container else None
        return {
            role: spare
            if spare is not None and not (folder / spec.name).exists() and spare.is_file()
            else folder / spec.name
            for role, spec in self.files
        }

    @property
    def images(self) -> int:
        return self.train_size + self.test_size

    def roles(self) -> tuple[tuple[str, SourceFile], ...]:
        return self.files

    def folder(self, cache_dir: PathLike | None = None) -> Path:
        return dataset_dir(self.name, cache_dir)

    def paths(self, cache_dir: PathLike | None = None) -> dict[str, Path]:
        folder = self.folder(cache_dir)
        return {role: folder / spec.name for role, spec in self.roles()}


# The four files' roles, in the order they are fetched and listed, and the array each holds.
ORIGINAL_ROLES = ("train-images", "train-labels", "test-images", "test-labels")
ORIGINAL_ARRAYS = dict(zip(ORIGINAL_ROLES, ("x_train", "y_train", "x_test", "y_test"), strict=True))


def _originals(*files: tuple[str, str, str, int | None]) -> tuple[tuple[str, SourceFile], ...]:
    return tuple(
        (role, SourceFile(name, sha256=sha256, size=size, md5=md5))
        for role, (name, md5, sha256, size) in zip(ORIGINAL_ROLES, files, strict=True)
    )


# torchvision's resources (md5) and their sha256, which TensorFlow Datasets pins too.
MNIST_ORIGINAL = Originals(
    name="mnist-original",
    files=_originals(
        (
            "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9_912_422,
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28_881,
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1_648_877,
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4_542,
        ),
    ),
    bases=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    torchvision="MNIST",
    sprite="mnist",
    sprite_skip=5_000,
    container=SourceFile(
        "mnist.npz", sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    ),
    container_bases=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
    class_counts=(
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
    test_part="MNIST's official test set, t10k; TensorFlow.js's sprite is these 70,000 images "
    "without the first 5,000 (--split tfjs gives its 55,000 / 10,000)",
)

# Zalando's files, with the md5s its README and torchvision publish.
FASHION_MNIST_ORIGINAL = Originals(
    name="fashion-mnist-original",
    files=_originals(
        (
            "train-images-idx3-ubyte.gz",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
            None,
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "25c81989df183df01b3e8a0aad5dffbe",
            "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
            None,
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "bef4ecab320f06d8554ea6380940ec79",
            "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
            None,
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "bb300cfdad3c16e7a12a480ee83cd310",
            "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
            None,
        ),
    ),
    bases=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    torchvision="FashionMNIST",
    class_names=FASHION_MNIST.class_names,
    class_counts=((6000,) * 10, (1000,) * 10),
    test_part="Fashion-MNIST's official test set, t10k",
)

ORIGINALS: dict[str, Originals] = {d.name: d for d in (MNIST_ORIGINAL, FASHION_MNIST_ORIGINAL)}
AnyDataset = Dataset | Originals
# Every dataset a command can name with --dataset: the sprites, then the original files.
ALL: dict[str, AnyDataset] = {**DATASETS, **ORIGINALS}

# The split TensorFlow.js uses, applied to any sprite of that many images.
DEFAULT_TRAIN_SIZES: dict[int, int] = {
    d.images: d.train_size
    for d in DATASETS.values()
    if d.images is not None and d.train_size is not None
}


@dataclass(frozen=True)
class Split:
    """A named train/test split: how many of N images train, and the file it comes from."""

    name: str
    source: str
    train: Callable[[int], int | None]


# JavaScript computes these in float64, as Python does: Math.floor(5 / 6 * N) is
# math.floor(5 / 6 * n) here, to the last image.
SPLITS: dict[str, Split] = {
    s.name: s
    for s in (
        Split(
            "tfjs",
            "tfjs-examples mnist/data.js: NUM_TRAIN_ELEMENTS = 55000 of 65000 (MNIST only)",
            DEFAULT_TRAIN_SIZES.get,
        ),
        Split(
            "tfjs-core",
            "tfjs-examples mnist-core/data.js and the first mnist/data.js: "
            "Math.floor(5 / 6 * N) train, the rest test",
            lambda n: math.floor(5 / 6 * n),
        ),
        Split(
            "course-fashion",
            "a widely used course file for Fashion-MNIST: Math.floor(1 / 7 * N) train",
            lambda n: math.floor(1 / 7 * n),
        ),
    )
}


def get(name: str | None) -> Dataset:
    """The known sprite dataset called ``name`` (the default when None)."""
    found = get_any(name)
    if not isinstance(found, Dataset):
        raise OptionError(
            None,
            f"{found.name} is the original IDX files, not a sprite and label file",
            f"use one of {', '.join(DATASETS)} here",
        )
    return found


def get_any(name: str | None) -> AnyDataset:
    """The known dataset called ``name``, a sprite's or original files (the default when None)."""
    try:
        return ALL[name or DEFAULT]
    except KeyError:
        raise OptionError(
            None, f"unknown dataset {name!r}", f"use one of {', '.join(ALL)}"
        ) from None


@dataclass(frozen=True)
class Known:
    """What a pinned digest is: ``dataset``'s file in ``role`` (sprite, labels, or one of
    ORIGINAL_ROLES)."""

    dataset: AnyDataset
    role: str
    file: SourceFile


def _digests(cache_dir: PathLike | None = None, *, recorded: bool = False) -> dict[str, Known]:
    """Each known digest (of file bytes, and of a sprite's pixels) by the file it is: the pinned
    ones, or with ``recorded`` the ones the cache recorded for the datasets with none pinned."""
    table: dict[str, Known] = {}
    sets: list[AnyDataset] = [*DATASETS.values()] if recorded else [*ALL.values()]
    for ds in sets:
        found = expected_digests(ds, cache_dir) if recorded and not ds.pinned else {}
        for role, spec in ds.roles():
            for digest in (found.get(role),) if recorded else (spec.sha256, spec.pixels_sha256):
                if digest is not None:
                    table.setdefault(digest, Known(ds, role, spec))
    return table


# The one table of known digests (file bytes, and a sprite's pixels): fetch, convert and verify
# all ask it which dataset a file is.
KNOWN_DIGESTS: dict[str, Known] = _digests()


def known(*digests: str | None, table: dict[str, Known] = KNOWN_DIGESTS) -> Known | None:
    """The known file any of these digests (file bytes or decoded pixels) is, if any."""
    for digest in digests:
        if digest is not None and digest in table:
            return table[digest]
    return None


def expected_digests(
    dataset: AnyDataset, cache_dir: PathLike | None = None
) -> dict[str, str | None]:
    """Each file's digest: pinned, else recorded in the cache on first fetch, else None."""
    record = {} if dataset.bundled else read_record(dataset.folder(cache_dir))
    return {role: s.sha256 or recorded_sha256(record, s.name) for role, s in dataset.roles()}


def identify(
    *,
    sha256: str | None = None,
    sprite_sha256: str | None = None,
    pixels_sha256: str | None = None,
    labels_sha256: str | None = None,
    recorded: bool = False,
    cache_dir: PathLike | None = None,
) -> Dataset | None:
    """The known dataset a digest belongs to: a file's (in either role), a sprite's file or
    pixel digest, or a label file's. The one answer to "which dataset is this": by the pinned
    digests, then, with ``recorded``, by the digests the cache (``cache_dir``) recorded."""

    def find(table: dict[str, Known]) -> Dataset | None:
        for digest, roles in (
            (sha256, ("sprite", "labels")),
            (sprite_sha256, ("sprite",)),
            (pixels_sha256, ("sprite",)),
            (labels_sha256, ("labels",)),
        ):
            found = known(digest, table=table)
            if found is not None and found.role in roles and isinstance(found.dataset, Dataset):
                return found.dataset
        return None

    pinned = find(KNOWN_DIGESTS)  # the cache is read only when no pinned digest tells
    return pinned if pinned or not recorded else find(_digests(cache_dir, recorded=True))


def identify_pair(
    sprite_sha256: str | None, labels_sha256: str | None, cache_dir: PathLike | None = None
) -> Dataset | None:
    """The known dataset both files are, each in its role: by pinned digests, else recorded."""
    sprite = identify(sprite_sha256=sprite_sha256, recorded=True, cache_dir=cache_dir)
    labels = identify(labels_sha256=labels_sha256, recorded=True, cache_dir=cache_dir)
    return sprite if sprite is labels else None


def named_in(provenance: dict[str, Any] | None) -> AnyDataset | None:
    """The known dataset an output's provenance names, if any."""
    name = provenance.get("dataset") if provenance else None
    return ALL.get(name) if isinstance(name, str) else None


def cached_files(dataset: AnyDataset, cache_dir: PathLike | None = None) -> dict[str, Path]:
    """The files a command reads of ``dataset`` as the cache holds them, never fetched: its
    sprite and label file, or what serves each original role. The first one missing is
    refused, naming the fetch that gets it."""
    folder = dataset.folder(cache_dir)
    files = dataset.serving(folder) if isinstance(dataset, Originals) else dataset.paths(cache_dir)
    for path in files.values():
        if not (path.exists() or path.is_symlink()):
            fetch = command("fetch", dataset=dataset.name, cache_dir=cache_dir)
            raise SourceError(path, "not in the cache", f"run '{fetch}' first")
    return files


def originals_in(folder: Path) -> Originals | None:
    """The dataset whose four published IDX files ``folder`` holds, each by its pinned sha256
    (the cache's ``mnist-original/``, or a copy of it), if any."""
    from .files import file_sha256, is_regular

    for ds in ORIGINALS.values():
        paths = [(folder / spec.name, spec) for _, spec in ds.roles()]
        if all(is_regular(p) for p, _ in paths) and all(
            file_sha256(p, folder) == spec.sha256
            for p, spec in paths  # none leads out of it
        ):
            return ds
    return None
