"""``make bench``'s rows for the Hugging Face Hub's formats, on the real MNIST:

- ``convert --format parquet`` against ``datasets.Dataset.from_dict(...).cast(...)
  .to_parquet()`` of the same uint8 arrays (each split), target at most 0.5x its time;
- ``datasets.load_dataset("parquet")`` of our output against ``load_dataset("imagefolder")``
  of the png-dir output, both reported (a fresh datasets cache each run);
- ``convert --format webdataset`` against ``convert --format png-dir``, target at most 0.5x.

The ``datasets`` rows need a Python with datasets: ``$BENCH_DATASETS_PYTHON``, else
``.clients/bin/python`` after ``make test-clients CLIENTS=full``; without one they say so.
Run alone: ``python -m tests.bench.hub``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

WRITE = """
import sys, numpy as np, datasets
npz, out = sys.argv[1], sys.argv[2]
features = datasets.Features({"image": datasets.Image(),
                              "label": datasets.ClassLabel(names=[str(i) for i in range(10)])})
with np.load(npz) as d:
    for split in ("train", "test"):
        x, y = d[f"x_{split}"], d[f"y_{split}"]
        ds = datasets.Dataset.from_dict({"image": list(x), "label": y.tolist()})
        ds.cast(features).to_parquet(f"{out}/{split}.parquet")
"""

LOAD = """
import sys, datasets
builder, folder = sys.argv[1], sys.argv[2]
d = datasets.load_dataset(builder, data_dir=folder, split="train")
assert len(d) == 55000, len(d)
"""

Timed = Callable[..., tuple[float, float]]


def datasets_python() -> str | None:
    """A Python that imports datasets, or None."""
    found = [os.environ.get("BENCH_DATASETS_PYTHON", ""), str(ROOT / ".clients/bin/python")]
    for python in filter(None, found):
        if not Path(python).exists():
            continue
        ok = subprocess.run([python, "-c", "import datasets"], capture_output=True)
        if ok.returncode == 0:
            return python
    return None


def best(argv: list[str], runs: int, timed: Timed, before: Callable[[], None] | None = None,
         env: dict[str, str] | None = None) -> float:  # fmt: skip
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        times.append(timed(argv, env)[0])
    return min(times)


def rows(cli: str, sprite: Path, labels: Path, tmp: Path, runs: int, timed: Timed) -> list[str]:
    """The table's lines."""
    src = ["--sprite", str(sprite), "--labels", str(labels), "--force", "--quiet"]
    out: list[str] = [
        "| case | mnist-sprite | the other | ratio | target |",
        "|---|---|---|---|---|",
    ]

    def fresh(*paths: Path) -> Callable[[], None]:
        def clear() -> None:
            for p in paths:
                shutil.rmtree(p, ignore_errors=True)
            subprocess.run(["sync"], check=False)

        return clear

    hub, wds, pngs = tmp / "hub", tmp / "wds", tmp / "png"
    parquet = best([cli, "convert", *src, "--format", "parquet", "--out", str(hub)], runs, timed,
                   fresh(hub))  # fmt: skip
    webdataset = best([cli, "convert", *src, "--format", "webdataset", "--out", str(wds)], runs,
                      timed, fresh(wds))  # fmt: skip
    png_dir = best([cli, "convert", *src, "--format", "png-dir", "--out", str(pngs)], runs, timed,
                   fresh(pngs))  # fmt: skip
    out.append(
        f"| convert --format webdataset vs --format png-dir | {webdataset:.2f} s | "
        f"{png_dir:.2f} s | {webdataset / png_dir:.2f}x | <= 0.5x |"
    )
    python = datasets_python()
    if python is None:
        out.append(
            f"| convert --format parquet | {parquet:.2f} s | datasets not installed: set "
            "BENCH_DATASETS_PYTHON or run make test-clients CLIENTS=full | - | <= 0.5x |"
        )
        return out
    npz = tmp / "u8.npz"
    subprocess.run([cli, "convert", *src, "--dtype", "uint8", "--label-format", "index",
                    "--shape", "image", "--out", str(npz)], check=True)  # fmt: skip
    theirs_out = tmp / "theirs"
    cache = tmp / "hf-cache"
    env = {**os.environ, "HF_DATASETS_CACHE": str(cache), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}  # fmt: skip

    def their_folder() -> None:
        fresh(theirs_out, cache)()
        theirs_out.mkdir()

    theirs = best([python, "-c", WRITE, str(npz), str(theirs_out)], runs, timed, their_folder, env)
    out.append(
        f"| convert --format parquet vs datasets from_dict().cast().to_parquet() | "
        f"{parquet:.2f} s | {theirs:.2f} s | {parquet / theirs:.2f}x | <= 0.5x |"
    )
    load_ours = best([python, "-c", LOAD, "parquet", str(hub)], runs, timed, fresh(cache), env)
    load_png = best([python, "-c", LOAD, "imagefolder", str(pngs)], 1, timed, fresh(cache), env)
    out.append(
        f'| load_dataset("parquet") of ours vs load_dataset("imagefolder") of png-dir | '
        f"{load_ours:.2f} s | {load_png:.2f} s | {load_ours / load_png:.2f}x | reported |"
    )
    return out


def main(only: str | None, exe: str, cli: str, cache: Path, sprite: Path, labels: Path,
         timed: Timed, runs: int = 2) -> None:  # fmt: skip
    if only and only != "hub":
        return
    with tempfile.TemporaryDirectory(prefix="bench-hub-", dir=cache.parent) as tmp:
        lines = rows(cli, sprite, labels, Path(tmp), runs, timed)
    print()
    print("The Hub's formats, best of runs, real MNIST:")
    print("\n".join(lines))


if __name__ == "__main__":
    from tests.bench.__main__ import CACHE, compile_tree, timed
    from tests.realdata import ADD_MNIST, real_mnist

    real = real_mnist()
    if real is None:
        raise SystemExit(f"bench: the benchmark reads the real MNIST: {ADD_MNIST}")
    exe = sys.executable
    compile_tree(exe, ROOT)
    main(None, exe, str(Path(exe).parent / "mnist-sprite"), CACHE, *real, timed)
