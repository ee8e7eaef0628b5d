"""``make bench``: pack of 1,000,000 28x28 images from ten 100,000-row ``.npy``
files (Quick, Draw!'s layout) with ``--test-size 0.1 --seed 0``, against Pillow.

Targets: peak RSS of the pack process <= 300 MB; its time <= 1.0x the sum of Pillow's
``Image.fromarray(shard).save()`` over the same shards (the arrays already in memory: only
the encoding is timed); each shard no larger than Pillow's file for the same rows.

The images are MNIST's digits (the real files), each class's digits repeated with small
random shifts to 100,000 a class, so they compress as drawings do (random noise would not);
made once in a child process and kept in ``.bench/classes/``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROWS_PER_CLASS = 100_000
CLASSES = 10
RSS_TARGET_MB = 300.0
TIME_TARGET = 1.0

PILLOW_SAVE = """
import sys, time, numpy as np
from PIL import Image
total, cpu, sizes = 0.0, 0.0, []
for png, out in zip(sys.argv[1::2], sys.argv[2::2]):
    image = Image.open(png)
    shard = np.asarray(image)  # decoded outside the timing: only fromarray + save is timed
    t, c = time.perf_counter(), time.process_time()
    Image.fromarray(shard).save(out)
    total += time.perf_counter() - t
    cpu += time.process_time() - c
    sizes.append(__import__("os").path.getsize(out))
print(total, cpu, *sizes)
"""


def make_classes(folder: Path, digits: Path, labels: Path, rows: int = ROWS_PER_CLASS) -> None:
    """Ten ``<class>.npy`` files of ``rows`` 28x28 uint8 digits each, shifted at random."""
    from mnist_sprite.pipeline import Options, Sources, to_arrays

    arrays = to_arrays(
        Sources(digits, labels), Options(dtype="uint8", label_format="index", train_size=65_000)
    )
    x, y = arrays["x_train"].reshape(-1, 28, 28), arrays["y_train"]
    rng = np.random.default_rng(22)
    folder.mkdir(parents=True, exist_ok=True)
    for c in range(CLASSES):
        own = x[y == c]
        out = np.lib.format.open_memmap(
            folder / f".class_{c}.npy", mode="w+", dtype=np.uint8, shape=(rows, 784)
        )
        for lo in range(0, rows, 10_000):
            n = min(10_000, rows - lo)
            pick = own[rng.integers(0, own.shape[0], n)]
            dy, dx = rng.integers(-2, 3, 2)
            out[lo : lo + n] = np.roll(pick, (int(dy), int(dx)), axis=(1, 2)).reshape(n, 784)
        out.flush()
        del out
        os.replace(folder / f".class_{c}.npy", folder / f"class_{c}.npy")


Timed = Callable[[list[str]], tuple[float, float]]


def main(only: str | None, exe: str, cli: str, cache: Path, digits: Path, labels: Path,
         timed: Timed) -> None:  # fmt: skip
    """``make bench``'s entry: print this case's table (skipped by ``--only`` another case)."""
    if only is None or only == "pack-large":
        print()
        print(run(exe, cli, cache, digits, labels, timed))


def classes(exe: str, cache: Path, digits: Path, labels: Path) -> Path:
    """``cache/classes``, the ten ``.npy`` files, made (in a child process, so that this one
    stays small) when missing."""
    folder = cache / "classes"
    if not (folder / f"class_{CLASSES - 1}.npy").is_file():
        code = (
            "import sys; from pathlib import Path; from tests.bench.pack_large import "
            "make_classes; make_classes(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))"
        )
        argv = [exe, "-c", code, str(folder), str(digits), str(labels)]
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    return folder


def run(exe: str, cli: str, cache: Path, digits: Path, labels: Path, timed: Timed) -> str:
    """Run the case; return its table (``timed(argv) -> (seconds, peak MB)``)."""
    folder = classes(exe, cache, digits, labels)
    with tempfile.TemporaryDirectory(prefix="pack-large-", dir=cache) as tmp:
        web = Path(tmp) / "web"
        argv = [
            cli, "pack", str(folder), "--out", str(web), "--name", "doodles",
            "--test-size", "0.1", "--seed", "0", "--quiet",
        ]  # fmt: skip
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, peak = timed(argv)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
        facts = json.loads((web / "doodles.json").read_text())
        shards = [web / s["images"]["name"] for s in facts["shards"]]
        args = [str(a) for p in shards for a in (p, Path(tmp) / f"pil_{p.name}")]
        found = subprocess.run(
            [exe, "-c", PILLOW_SAVE, *args], capture_output=True, text=True, check=True
        )
        pil_seconds, pil_cpu_text, *pil_sizes = found.stdout.split()
        pil, pil_cpu = float(pil_seconds), float(pil_cpu_text)
        ours_sizes = [p.stat().st_size for p in shards]
    ratio = seconds / pil
    smaller = all(o <= int(p) for o, p in zip(ours_sizes, pil_sizes, strict=True))
    met = ratio <= TIME_TARGET and peak <= RSS_TARGET_MB and smaller
    lines = [
        "pack 1,000,000 28x28 images from ten 100,000-row .npy files, --test-size 0.1 --seed 0",
        f"  mnist-sprite pack: {seconds:.2f} s, peak RSS {peak:.0f} MB "
        f"(target {RSS_TARGET_MB:.0f})",
        f"  Pillow fromarray().save() summed over the same {len(shards)} shards: {pil:.2f} s",
        f"  ratio {ratio:.2f} (target <= {TIME_TARGET})",
        f"  CPU seconds (what a loaded machine cannot hide): pack {cpu:.2f} (all of it: "
        f"reading, shuffling, hashing, deflate on {os.cpu_count()} cores), Pillow's saves "
        f"{pil_cpu:.2f}; load average {os.getloadavg()[0]:.1f}",
    ]
    for p, o, q in zip(shards, ours_sizes, pil_sizes, strict=True):
        lines.append(f"  {p.name}: {o:,} bytes; Pillow {int(q):,} bytes")
    lines.append(f"  {'met' if met else 'NOT MET'}")
    print(f"  pack 1M: {seconds:.2f} s vs Pillow {pil:.2f} s", file=sys.stderr)
    return "\n".join(lines)
