"""A small synthetic set of a dataset's original IDX files, published with digests of its own,
and the table substituted so that every command takes it for the real one."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import struct
from dataclasses import dataclass

import numpy as np
import pytest

from mnist_sprite import datasets
from mnist_sprite.datasets import ORIGINAL_ROLES, Originals, SourceFile

TRAIN, TEST, SKIP = 120, 30, 20
NAMES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "test-images": "t10k-images-idx3-ubyte",
    "test-labels": "t10k-labels-idx1-ubyte",
}


def idx(values: np.ndarray) -> bytes:  # type: ignore[type-arg]
    """An IDX file of unsigned bytes, written here independently of the tool's writer."""
    return (
        bytes((0, 0, 8, values.ndim))
        + struct.pack(f">{values.ndim}I", *values.shape)
        + (values.astype(np.uint8).tobytes())
    )


@dataclass
class Published:
    dataset: Originals
    raw: dict[str, bytes]  # role -> the IDX file, decompressed
    gz: dict[str, bytes]  # role -> what the publisher serves
    x: np.ndarray  # type: ignore[type-arg]
    y: np.ndarray  # type: ignore[type-arg]


def publish(name: str = "mnist-original", seed: int = 7) -> Published:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (TRAIN + TEST, 28, 28), dtype=np.uint8)
    y = (np.arange(TRAIN + TEST) * 7 % 10).astype(np.uint8)
    raw = {
        "train-images": idx(x[:TRAIN]),
        "train-labels": idx(y[:TRAIN]),
        "test-images": idx(x[TRAIN:]),
        "test-labels": idx(y[TRAIN:]),
    }
    gz = {role: gzip.compress(data, mtime=0) for role, data in raw.items()}
    files = tuple(
        (
            role,
            SourceFile(
                NAMES[role] + ".gz",
                sha256=hashlib.sha256(gz[role]).hexdigest(),
                size=len(gz[role]),
                md5=hashlib.md5(gz[role]).hexdigest(),
            ),
        )
        for role in ORIGINAL_ROLES
    )
    real = datasets.ORIGINALS[name]
    dataset = dataclasses.replace(
        real, files=files, bases=(), train_size=TRAIN, test_size=TEST, class_counts=None,
        container=None, container_bases=(),
    )  # fmt: skip
    if real.sprite_skip:
        dataset = dataclasses.replace(dataset, sprite_skip=SKIP)
    return Published(dataset, raw, gz, x, y)


def with_container(found: Published, base: str) -> tuple[Published, bytes]:
    """``found`` with keras' container of the same arrays (an npz, as ``np.savez`` writes
    keras' mnist.npz), pinned by its own sha256 and served from ``base``."""
    buffer = io.BytesIO()
    np.savez(
        buffer, x_train=found.x[:TRAIN], y_train=found.y[:TRAIN], x_test=found.x[TRAIN:],
        y_test=found.y[TRAIN:],
    )  # fmt: skip
    data = buffer.getvalue()
    spec = SourceFile("mnist.npz", sha256=hashlib.sha256(data).hexdigest())
    dataset = dataclasses.replace(found.dataset, container=spec, container_bases=(base,))
    return dataclasses.replace(found, dataset=dataset), data


def substitute(monkeypatch: pytest.MonkeyPatch, found: Published) -> Published:
    """Put ``found`` in the table in place of the published dataset of its name."""
    monkeypatch.setitem(datasets.ALL, found.dataset.name, found.dataset)
    monkeypatch.setitem(datasets.ORIGINALS, found.dataset.name, found.dataset)
    return found
