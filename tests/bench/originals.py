"""``make bench``: ``convert --dataset mnist-original`` (the four IDX .gz files to a float32
npz, TensorFlow.js's values) against what a torchvision or keras user writes: ``gzip.open``,
``np.frombuffer``, ``/ 255``, one-hot, ``np.savez``.

The set is MNIST at full size: the real ``t10k`` files and ``train-labels`` from
``../shared/data``, and train images made of the real sprite's rows (its rows 0-54,999 are
``train[5000:]``; its first 5,000 rows stand in for the 5,000 the sprite leaves out). That
file is not the published one, so the command runs with its digest substituted in the table,
after ``fetch --from`` has verified the four into a cache of its own under ``.bench/``.

Targets: time <= 1.0x the loop's (median of paired runs), peak RSS <= 400 MB (the loop holds
every array whole, about 440 MB).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from mnist_sprite.datasets import MNIST_ORIGINAL
from tests.realdata import SHARED

TIME_TARGET = 1.0
RSS_TARGET_MB = 400.0

# The CLI with the stand-in's digests in place of the published ones.
SUBSTITUTED = """
import dataclasses, json, sys
from mnist_sprite import datasets
table = json.loads(sys.argv[1])
ds = datasets.MNIST_ORIGINAL
files = tuple(
    (role, dataclasses.replace(spec, sha256=table[spec.name][0], md5=table[spec.name][1]))
    for role, spec in ds.roles()
)
ds = dataclasses.replace(ds, files=files)
datasets.ALL[ds.name] = datasets.ORIGINALS[ds.name] = ds
from mnist_sprite.cli import cli
cli(sys.argv[2:], prog_name="mnist-sprite")
"""

LOOP = """
import gzip, sys, numpy as np
folder, out = sys.argv[1:3]
def read(name, offset):
    with gzip.open(f"{folder}/{name}", "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)
x = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
y = read("train-labels-idx1-ubyte.gz", 8)
xt = read("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
yt = read("t10k-labels-idx1-ubyte.gz", 8)
eye = np.eye(10, dtype=np.uint8)
f32 = lambda a: a.astype(np.float32) / np.float32(255)
np.savez(out, x_train=f32(x), y_train=eye[y], x_test=f32(xt), y_test=eye[yt])
"""


def stand_in(cache: Path, sprite: Path) -> Path | None:
    """The four files in ``.bench/mnist-original-files/``, made once; None without the real
    t10k and train-labels files."""
    folder = cache / "mnist-original-files"
    names = [spec.name for _, spec in MNIST_ORIGINAL.roles()]
    if all((folder / n).is_file() for n in names):
        return folder
    real = [n for n in names if not n.startswith("train-images")]
    if not all((SHARED / n).is_file() for n in real):
        return None
    from mnist_sprite.png import read_red

    folder.mkdir(parents=True, exist_ok=True)
    for name in real:
        (folder / name).write_bytes((SHARED / name).read_bytes())
    red = read_red(sprite)
    header = bytes((0, 0, 8, 3)) + (60_000).to_bytes(4, "big") + bytes((0, 0, 0, 28)) * 2
    with gzip.GzipFile(folder / "train-images-idx3-ubyte.gz.tmp", "wb", mtime=0) as f:
        f.write(header)
        f.write(red[:5_000].tobytes())
        f.write(red[:55_000].tobytes())
    (folder / "train-images-idx3-ubyte.gz.tmp").rename(folder / "train-images-idx3-ubyte.gz")
    return folder


def digests(folder: Path) -> str:
    table = {}
    for _, spec in MNIST_ORIGINAL.roles():
        data = (folder / spec.name).read_bytes()
        table[spec.name] = (hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest())
    return json.dumps(table)


def main(only: str | None, exe: str, cache: Path, sprite: Path, runs: int) -> None:
    """``make bench``'s entry: print this case's rows (skipped by ``--only`` another case)."""
    if only is not None and only != "originals":
        return
    from tests.bench.__main__ import paired, timed

    files = stand_in(cache, sprite)
    print()
    if files is None:
        print("convert --dataset mnist-original: skipped (needs ../shared/data's t10k files)")
        return
    table = digests(files)
    with tempfile.TemporaryDirectory(prefix="originals-", dir=cache) as tmp:
        cli = [exe, "-c", SUBSTITUTED, table]
        timed([*cli, "fetch", "--dataset", "mnist-original", "--from", str(files), "--cache-dir",
               tmp, "-q"])  # fmt: skip
        out = Path(tmp) / "ours.npz"
        ours = [*cli, "convert", "--dataset", "mnist-original", "--cache-dir", tmp, "--offline",
                "--out", str(out), "--force", "-q"]  # fmt: skip
        theirs = [exe, "-c", LOOP, str(files), str(Path(tmp) / "loop.npz")]
        seconds, loop, ratio, cpu = paired(ours, theirs, runs)
        _, peak = timed(ours)
        with np.load(out) as a, np.load(Path(tmp) / "loop.npz") as b:
            same = all(
                np.array_equal(a[k], b[k]) for k in ("x_train", "y_train", "x_test", "y_test")
            )
    met = ratio <= TIME_TARGET and peak <= RSS_TARGET_MB
    print(
        "convert --dataset mnist-original (4 IDX .gz files, 70,000 images) to a float32 npz, "
        "vs a gzip + numpy loop (gzip.open, frombuffer, / 255, one-hot, np.savez)\n"
        f"  mnist-sprite convert: {seconds:.2f} s (median of {runs}), peak RSS {peak:.0f} MB "
        f"(target {RSS_TARGET_MB:.0f})\n"
        f"  gzip + numpy loop: {loop:.2f} s\n"
        f"  ratio {ratio:.2f} (target <= {TIME_TARGET}); CPU ratio {cpu:.2f}; arrays "
        f"{'equal' if same else 'DIFFER'}\n"
        f"  {'met' if met and same else 'NOT MET'}"
    )
    print(f"  mnist-original: {seconds:.2f} s vs loop {loop:.2f} s", file=sys.stderr)
