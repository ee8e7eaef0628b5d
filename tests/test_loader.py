"""The generated NAME.js (issue 22), run under node where node is installed: its arithmetic is
data.js's (each byte / 255, stored as float32), channel by channel, and nextBatch walks each
part in order. What a canvas draws is measured in Chromium (README, "The browser loader")."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mnist_sprite.loader import loader_source

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

SCRIPT = """
import {toFloats, nextBatch} from "./loader.mjs";
const rgba = new Uint8Array(256 * 4);
for (let k = 0; k < 256; k++) rgba.set([k, 255 - k, (k * 7) % 256, 200], k * 4);
const gray = new Float32Array(256), rgb = new Float32Array(256 * 3 + 5);
const end1 = toFloats(rgba, 1, gray, 0), end3 = toFloats(rgba, 3, rgb, 5);
const data = {images: new Float32Array(5 * 2), labels: new Uint8Array(5 * 3), imageHeight: 1,
  imageWidth: 2, channels: 1, classes: 3, trainImages: 3, testImages: 2};
for (let i = 0; i < 10; i++) data.images[i] = i;
for (let i = 0; i < 5; i++) data.labels[i * 3 + (i % 3)] = 1;
const batches = [nextBatch(data, "train", 2), nextBatch(data, "train", 2),
                 nextBatch(data, "test", 3)];
let refused = false;
try { nextBatch(data, "validation", 1); } catch (e) { refused = true; }
console.log(JSON.stringify({end1, end3,
  gray: Array.from(new Uint32Array(gray.buffer)), rgb: Array.from(new Uint32Array(rgb.buffer)),
  batches: batches.map((b) => ({xs: Array.from(b.xs), labels: Array.from(b.labels),
                                xsShape: b.xsShape, labelsShape: b.labelsShape})),
  refused}));
"""


@pytest.fixture
def node_result(tmp_path: Path) -> dict[str, object]:
    assert NODE is not None
    (tmp_path / "loader.mjs").write_text(loader_source("digits"), encoding="utf-8")
    (tmp_path / "main.mjs").write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [NODE, "main.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def k_over_255(k: np.ndarray) -> np.ndarray:
    """convert's values: float32(k / 255), correctly rounded."""
    return np.divide(k.astype(np.float32), np.float32(255), dtype=np.float32)


@needs_node
def test_each_channel_is_the_byte_over_255_as_convert_computes_it(
    node_result: dict[str, object],
) -> None:
    k = np.arange(256)
    gray = np.array(node_result["gray"], dtype=np.uint32).view(np.float32)
    assert node_result["end1"] == 256 and (gray == k_over_255(k)).all()
    rgb = np.array(node_result["rgb"], dtype=np.uint32).view(np.float32)
    want = k_over_255(np.stack([k, 255 - k, (k * 7) % 256], axis=1).reshape(-1))
    assert node_result["end3"] == 5 + 768 and (rgb[5:] == want).all() and (rgb[:5] == 0).all()


@needs_node
def test_next_batch_walks_each_part_in_order_and_starts_over(
    node_result: dict[str, object],
) -> None:
    batches = node_result["batches"]
    assert isinstance(batches, list)
    first, second, test = batches
    assert first["xs"] == [0, 1, 2, 3] and first["labels"] == [1, 0, 0, 0, 1, 0]
    assert second["xs"] == [4, 5, 0, 1]  # the third training row, then the first again
    assert test["xs"] == [6, 7, 8, 9, 6, 7] and test["labels"] == [1, 0, 0, 0, 1, 0, 1, 0, 0]
    assert first["xsShape"] == [2, 2] and test["labelsShape"] == [3, 3]
    assert node_result["refused"] is True


def test_the_loader_names_its_bundle() -> None:
    source = loader_source("my-set.v2")
    assert 'load(url = "./my-set.v2.json")' in source and "__NAME__" not in source
