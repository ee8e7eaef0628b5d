"""``make bench``: whole-command races of mnist-sprite against the Pillow pipeline.

The same pixels as the real ``mnist_images.png`` (where ``tests/realdata.py`` finds it) are
re-encoded with every row filter, libpng-style adaptive filters and random filters (by
``tests/pngkit.py``, cached in ``.bench/``). Each case runs ``mnist-sprite convert`` and the
Pillow pipeline (Pillow decode, red channel, float32 / 255, ``np.savez``) as fresh processes,
alternating, best of 3, and pypng's row reader once for reference. Peak RSS is the child's
``ru_maxrss``. Ratios from one run are what to quote: these machines are noisy.

Every tree the bench runs is byte-compiled first (``compileall``), as ``pip install`` does for
the user and did for numpy, Pillow and click here: with ``PYTHONDONTWRITEBYTECODE`` set, as on
these machines, an editable checkout is otherwise compiled from source on every run (about
0.1-0.3 s a command, more for a bigger tree), which no installed copy pays.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import pngkit
from tests.bench import hub, loader, originals, own_images, pack_large
from tests.cli_kit import packed
from tests.realdata import ADD_MNIST, real_mnist

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = ROOT / ".bench"

PILLOW = """
import sys, numpy as np
from PIL import Image
sprite, labels, out, dtype = sys.argv[1:5]
red = np.asarray(Image.open(sprite).getchannel(0))
x = red.astype(np.float32) / np.float32(255) if dtype == "float32" else red
y = np.fromfile(labels, dtype=np.uint8).reshape(-1, 10)
np.savez(out, x_train=x[:55000], y_train=y[:55000], x_test=x[55000:], y_test=y[55000:])
"""

PYPNG = """
import sys, numpy as np, png
with open(sys.argv[1], "rb") as f:
    w, h, rows, info = png.Reader(file=f).read()
    a = np.empty((h, w), np.uint8)
    for i, row in enumerate(rows):
        a[i] = row
"""


@dataclass(frozen=True)
class Case:
    name: str
    filters: object  # what pngkit.refilter takes; None: the real file as it is
    dtype: str
    target: float
    rss_target_mb: float | None = None


CASES = [
    Case("real sprite, float32", None, "float32", 1.0, 100.0),
    Case("real sprite, uint8", None, "uint8", 0.9),
    Case("Sub on every row", pngkit.SUB, "float32", 1.2),
    Case("Up on every row", pngkit.UP, "float32", 1.2),
    Case("Average on every row", pngkit.AVERAGE, "float32", 2.0),
    Case("Paeth on every row", pngkit.PAETH, "float32", 2.0),
    Case("adaptive (libpng-style)", "adaptive", "float32", 2.5),
    Case("random filter per row", "random", "float32", 2.5),
]


def encoded(case: Case, source: Path) -> Path:
    """The sprite re-encoded for ``case``, made once (in a child process) and kept in .bench/."""
    if case.filters is None:
        return source
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"sprite_{case.filters}.png"
    if not path.exists():
        argv = [sys.executable, "-m", "tests.bench", "--encode", str(case.filters), str(path)]
        timed(argv)
    return path


def encode(filters: str, source: Path, path: Path) -> None:
    from mnist_sprite.png import read_red

    choice: object = int(filters) if filters.isdigit() else filters
    if filters == "random":
        choice = np.random.default_rng(0).integers(0, 5, 65_000).tolist()
    # refilter expects an image written with filter None: re-encode plainly first.
    plain = pngkit.gray_png(read_red(source))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pngkit.refilter(plain, choice, level=6))  # type: ignore[arg-type]
    os.replace(tmp, path)


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``argv`` (stdout to /dev/null); return (wall seconds, peak RSS in MB)."""
    seconds, rss, _ = timed_cpu(argv, env)
    return seconds, rss


def timed_cpu(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds of the process and its threads)."""
    start = time.perf_counter()
    quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(argv[0], argv, {**os.environ, **(env or {})}, file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: command failed: {' '.join(argv)}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def members(npz: Path) -> str:
    """A digest of the arrays in an npz (not its comment, which names the source file).

    Read in pieces: this process must stay small, because a child's ``ru_maxrss`` starts
    from the RSS of the process that spawned it.
    """
    digest = hashlib.sha256()
    with zipfile.ZipFile(npz) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            digest.update(info.filename.encode())
            with zf.open(info) as member:
                for piece in iter(lambda: member.read(1 << 20), b""):
                    digest.update(piece)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pypng", action="store_true", help="skip pypng's reader")
    parser.add_argument(
        "--only",
        help="run only cases whose name contains this ('issue21', 'formats', 'more', "
        "'pack-large', 'loader', 'hub', 'own-images', 'originals': that table only)",
    )
    parser.add_argument("--encode", nargs=2, metavar=("FILTERS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    real = real_mnist()
    if real is None:
        raise SystemExit(f"bench: the benchmark reads the real MNIST: {ADD_MNIST}")
    sprite, labels = real
    if args.encode:
        if args.encode[0] == "rgb":
            rgb_sprite(Path(args.encode[1]))
        else:
            encode(args.encode[0], sprite, Path(args.encode[1]))
        return
    exe = sys.executable
    cli = str(Path(exe).parent / "mnist-sprite")
    compile_tree(exe, ROOT)
    rows = []
    reference: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mnist-sprite-bench-", dir=CACHE.parent) as tmp:
        for case in CASES:
            if args.only and (args.only not in case.name or args.only == "issue21"):
                continue
            path = encoded(case, sprite)
            ours_out = Path(tmp) / "ours.npz"
            ours = [
                cli, "convert", "--sprite", str(path), "--labels", str(labels),
                "--out", str(ours_out), "--dtype", case.dtype, "--force", "--quiet",
            ]  # fmt: skip
            pil = [exe, "-c", PILLOW, str(path), str(labels), str(Path(tmp) / "pil.npz"),
                   case.dtype]  # fmt: skip
            best_ours, best_pil, peak = float("inf"), float("inf"), 0.0
            for _ in range(args.runs):
                t, rss = timed(ours)
                best_ours, peak = min(best_ours, t), max(peak, rss)
                best_pil = min(best_pil, timed(pil)[0])
            digest = members(ours_out)
            same = reference.setdefault(case.dtype, digest) == digest
            pypng = float("nan") if args.no_pypng else timed([exe, "-c", PYPNG, str(path)])[0]
            ratio = best_ours / best_pil
            met = ratio <= case.target and (
                case.rss_target_mb is None or peak <= case.rss_target_mb
            )
            rows.append((case, best_ours, best_pil, ratio, pypng, peak, met, same))
            print(f"  {case.name}: {best_ours:.3f} s vs {best_pil:.3f} s", file=sys.stderr)
        formats = (
            []
            if args.only and args.only != "formats"
            else format_rows(cli, sprite, labels, Path(tmp), args.runs)
        )
        extra = (
            []
            if args.only and args.only != "more"
            else more_rows(cli, exe, sprite, labels, Path(tmp), args.runs)
        )
        issue = (
            issue21_rows(cli, exe, sprite, labels, Path(tmp), max(args.runs, 5))
            if not args.only or args.only == "issue21"
            else []
        )
    if rows:
        print(table(rows))
    if issue:
        print()
        print(issue21_table(issue))
    if formats:
        print()
        print(format_table(formats))
    if extra:
        print()
        print(more_table(extra))
    pack_large.main(args.only, exe, cli, CACHE, sprite, labels, timed)  # issue 22
    loader.main(args.only, exe, cli, CACHE, sprite, labels)  # issue 28: NAME.js in each engine
    hub.main(args.only, exe, cli, CACHE, sprite, labels, timed)  # issue 30: Parquet, WebDataset
    own_images.main(args.only, exe, cli, CACHE, max(args.runs, 5))  # issue 36: JPEG photos
    originals.main(args.only, exe, CACHE, sprite, max(args.runs, 5))  # issue 38: IDX files


# The formats other tools read, against the uint8 npz of the same sprite (issue 14's targets).
FORMAT_CASES = [("npz", None), ("idx", 1.2), ("csv", None), ("png-dir", None)]


def format_rows(
    cli: str, sprite: Path, labels: Path, tmp: Path, runs: int
) -> list[tuple[str, float, float, float | None, float]]:
    """(format, best seconds, ratio to uint8 npz, target, peak MB) for the real sprite."""
    out = []
    base = 0.0
    for fmt, target in FORMAT_CASES:
        argv = [
            cli, "convert", "--sprite", str(sprite), "--labels", str(labels), "--format", fmt,
            "--out", str(tmp / f"out-{fmt}"), "--dtype", "uint8", "--force", "--quiet",
        ]  # fmt: skip
        best, peak = float("inf"), 0.0
        for _ in range(1 if fmt == "png-dir" else runs):  # 65,000 files: once is enough
            t, rss = timed(argv)
            best, peak = min(best, t), max(peak, rss)
        base = base or best
        out.append((fmt, best, best / base, target, peak))
        print(f"  --format {fmt}: {best:.3f} s", file=sys.stderr)
    return out


def format_table(rows: list[tuple[str, float, float, float | None, float]]) -> str:
    lines = [
        "| format (real sprite, uint8) | seconds | vs npz | target | met | peak MB |",
        "|---|---:|---:|---|---|---:|",
    ]
    for fmt, seconds, ratio, target, peak in rows:
        goal = "reported" if target is None else f"<= {target:.1f}x"
        met = "-" if target is None else ("yes" if ratio <= target else "NO")
        lines.append(f"| {fmt} | {seconds:.3f} | {ratio:.2f}x | {goal} | {met} | {peak:.0f} |")
    return "\n".join(lines)


def table(rows: list[tuple[Case, float, float, float, float, float, bool, bool]]) -> str:
    head = "| case | ours (s) | Pillow (s) | ratio | pypng (s) | peak MB | target | met | same |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---|---|---|"]
    for case, ours, pil, ratio, pypng, peak, met, same in rows:
        target = f"<= {case.target:.1f}x" + (
            f", <= {case.rss_target_mb:.0f} MB" if case.rss_target_mb else ""
        )
        lines.append(
            f"| {case.name} | {ours:.3f} | {pil:.3f} | {ratio:.2f}x | {pypng:.2f} | {peak:.0f} "
            f"| {target} | {'yes' if met else 'NO'} | {'yes' if same else 'NO'} |"
        )
    return "\n".join(lines)


PILLOW_RGB = """
import sys, numpy as np
from PIL import Image
sprite, labels, out = sys.argv[1:4]
rgb = np.asarray(Image.open(sprite).convert("RGB"))
x = (rgb.reshape(rgb.shape[0], -1).astype(np.float32) / np.float32(255))
y = np.fromfile(labels, dtype=np.uint8).reshape(-1, 10)
np.savez(out, x_train=x[:50000], y_train=y[:50000], x_test=x[50000:], y_test=y[50000:])
"""

PILLOW_SAVE = """
import sys, numpy as np
from PIL import Image
with np.load(sys.argv[1]) as d:
    x = np.concatenate([d["x_train"], d["x_test"]]).reshape(-1, 784)
Image.fromarray(x).save(sys.argv[2])
"""


def rgb_sprite(path: Path) -> tuple[Path, Path]:
    """A synthetic 32x32x3 sprite of 60,000 images (smooth colour with noise), made once."""
    labels = path.with_name("rgb_labels_uint8")
    if not path.exists():
        from mnist_sprite.png.encode import write_png

        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:32, 0:32]

        def blocks() -> Iterator[np.ndarray]:  # type: ignore[type-arg]
            for start in range(0, 60_000, 2_000):
                i = np.arange(start, start + 2_000)[:, None, None, None]
                c = np.arange(3)[None, None, None, :]
                base = xx[None, :, :, None] * 6 + yy[None, :, :, None] * (c + 2) + i * 13
                noise = rng.integers(0, 24, (2_000, 32, 32, 3))
                yield ((base + noise) % 256).astype(np.uint8).reshape(2_000, -1)

        with open(path.with_suffix(".tmp"), "wb") as f:
            write_png(f, blocks(), 1024, 60_000, channels=3)
        os.replace(path.with_suffix(".tmp"), path)
        labels.write_bytes(np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 60_000)].tobytes())
    return path, labels


def more_rows(
    cli: str, exe: str, sprite: Path, labels: Path, tmp: Path, runs: int
) -> list[tuple[str, float, float, float, str, str]]:
    """(case, ours s, Pillow s, ratio, target, notes) for RGB convert and for pack."""
    out = []
    CACHE.mkdir(exist_ok=True)
    rgb, rgb_labels = CACHE / "sprite_rgb.png", CACHE / "rgb_labels_uint8"
    if not rgb.exists():  # made in a child: this process must stay small (ru_maxrss)
        timed([exe, "-m", "tests.bench", "--encode", "rgb", str(rgb)])
    ours = [
        cli, "convert", "--sprite", str(rgb), "--labels", str(rgb_labels), "--channels", "rgb",
        "--image-size", "32x32", "--train-size", "50000", "--out", str(tmp / "rgb.npz"),
        "--force", "--quiet",
    ]  # fmt: skip
    pil = [exe, "-c", PILLOW_RGB, str(rgb), str(rgb_labels), str(tmp / "rgb-pil.npz")]
    best_ours, best_pil = best_of(ours, pil, runs)
    name = "RGB 32x32x3 x 60,000, float32"
    out.append((name, best_ours, best_pil, best_ours / best_pil, "<= 1.2x", ""))
    npz = tmp / "mnist-u8.npz"
    timed([
        cli, "convert", "--sprite", str(sprite), "--labels", str(labels), "--dtype", "uint8",
        "--shape", "image", "--label-format", "index", "--out", str(npz), "--force", "-q",
    ])  # fmt: skip
    ours = [cli, "pack", str(npz), "--out", str(tmp / "packed"), "--name", "mnist", "--force", "-q"]
    pil = [exe, "-c", PILLOW_SAVE, str(npz), str(tmp / "pil.png")]
    best_ours, best_pil = best_of(ours, pil, runs)
    ours_bytes = packed(tmp / "packed", "mnist")[0].stat().st_size  # named by its content
    pil_bytes = (tmp / "pil.png").stat().st_size
    out.append((
        "pack MNIST (65,000) vs Image.fromarray().save()", best_ours, best_pil,
        best_ours / best_pil, "<= 0.6x, bytes <= Pillow's",
        f"{ours_bytes:,} vs {pil_bytes:,} bytes",
    ))  # fmt: skip
    return out


def best_of(ours: list[str], pil: list[str], runs: int) -> tuple[float, float]:
    best_ours, best_pil = float("inf"), float("inf")
    for _ in range(runs):  # alternating, so both see the same machine
        best_ours = min(best_ours, timed(ours)[0])
        best_pil = min(best_pil, timed(pil)[0])
    return best_ours, best_pil


def more_table(rows: list[tuple[str, float, float, float, str, str]]) -> str:
    lines = [
        "| case | ours (s) | Pillow (s) | ratio | target | notes |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, ours, pil, ratio, target, notes in rows:
        lines.append(f"| {name} | {ours:.3f} | {pil:.3f} | {ratio:.2f}x | {target} | {notes} |")
    return "\n".join(lines)


# -- issue 21: the new jobs at full speed, each a ratio of paired runs (median of the pairs) --

OLD_COMMIT = "bceb098"  # the commit before the round that cost the core its 9%

RUN_OLD = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from mnist_sprite.cli import main; main()"
)

CSV_OURS = """
import sys
from pathlib import Path
from mnist_sprite.formats.csv import CsvReader
reader = CsvReader(Path(sys.argv[1]))
for name in reader.names():
    with reader.array(name) as (member, pieces):
        for piece in pieces:
            pass
"""

CSV_NUMPY = """
import sys, numpy as np
for split in ("train", "test"):
    np.loadtxt(f"{sys.argv[1]}/{split}.csv", delimiter=",", skiprows=1, dtype=np.uint8)
"""

PILLOW_LOOP = """
import os, sys, numpy as np
from PIL import Image
out = sys.argv[2]
with np.load(sys.argv[1]) as d:
    x = np.concatenate([d["x_train"], d["x_test"]])
os.makedirs(out)
for i in range(len(x)):
    Image.fromarray(x[i]).save(f"{out}/{i:05d}.png")
"""

ZLIB6_SIZE = """
import sys, zipfile, zlib
ours = level6 = 0
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        ours += info.compress_size
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        with z.open(info) as m:
            for piece in iter(lambda: m.read(1 << 20), b""):
                level6 += len(c.compress(piece))
        level6 += len(c.flush())
print(ours, level6)
"""

BUSY = "while True: pass"

# MNIST's original .gz files, bytes per image: train 60,000 images, t10k 10,000.
MNIST_GZ = {
    "train-images-idx3-ubyte.gz": (9_912_422, 60_000),
    "train-labels-idx1-ubyte.gz": (28_881, 60_000),
    "t10k-images-idx3-ubyte.gz": (1_648_877, 10_000),
    "t10k-labels-idx1-ubyte.gz": (4_542, 10_000),
}
OUR_IMAGES = {"train": 55_000, "t10k": 10_000}


@dataclass
class Row:
    case: str
    ours: float
    theirs: float
    ratio: float
    cpu_ratio: float  # nan where a process's workers are not its children (png-dir)
    target: float
    notes: str = ""
    extra_ok: bool = True


def paired(
    ours: list[str],
    theirs: list[str],
    runs: int,
    *,
    env_ours: dict[str, str] | None = None,
    before: list[str] | None = None,
    after: list[str] | None = None,
) -> tuple[float, float, float, float]:
    """Median wall seconds of each, the median of the per-pair wall ratios and of the CPU
    ratios (steadier on a shared machine); the order alternates. ``before`` runs, untimed,
    before each timed command, ``after`` after each pair."""

    def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
        if before:
            timed(before)
        return timed_cpu(command, env)

    ratios, cpu, a, b = [], [], [], []
    for i in range(runs):
        if i % 2:
            tb, _, cb = run(theirs)
            ta, _, ca = run(ours, env_ours)
        else:
            ta, _, ca = run(ours, env_ours)
            tb, _, cb = run(theirs)
        if after:
            timed(after)
        a.append(ta)
        b.append(tb)
        ratios.append(ta / tb)
        cpu.append(ca / cb if cb else float("nan"))
    med = statistics.median
    return med(a), med(b), med(ratios), med(cpu)


def compile_tree(exe: str, tree: Path) -> None:
    """Write the package's bytecode into its ``__pycache__`` folders, as an install would."""
    subprocess.run(
        [exe, "-m", "compileall", "-q", str(tree / "mnist_sprite")], check=True, capture_output=True
    )


def old_tree() -> Path:
    """bceb098 checked out once into .bench/ (a git worktree), for the old core's timings."""
    path = CACHE / OLD_COMMIT
    if not (path / "mnist_sprite" / "cli.py").is_file():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(path), OLD_COMMIT],
            check=True,
            capture_output=True,
        )
    compile_tree(sys.executable, path)
    return path


def issue21_rows(cli: str, exe: str, sprite: Path, labels: Path, tmp: Path, runs: int) -> list[Row]:
    src = ["--sprite", str(sprite), "--labels", str(labels), "--force", "--quiet"]
    rows: list[Row] = []

    def say(row: Row) -> None:
        rows.append(row)
        print(f"  {row.case}: {row.ours:.3f} s vs {row.theirs:.3f} s", file=sys.stderr)

    # CSV read of the real sprite's csv output (all four arrays), against np.loadtxt.
    csv = tmp / "i21-csv"
    timed([cli, "convert", *src, "--format", "csv", "--out", str(csv)])
    t = paired([exe, "-c", CSV_OURS, str(csv)], [exe, "-c", CSV_NUMPY, str(csv)], runs)
    say(Row("CSV read, all four arrays, vs np.loadtxt", *t, 1.2))

    # --format idx --compress against --format idx; each .gz against MNIST's, per image.
    gz, raw = tmp / "i21-gz", tmp / "i21-idx"
    t = paired(
        [cli, "convert", *src, "--format", "idx", "--compress", "--out", str(gz)],
        [cli, "convert", *src, "--format", "idx", "--out", str(raw)],
        runs,
    )
    notes, ok = [], True
    for name, (size, images) in MNIST_GZ.items():
        ours = (gz / name).stat().st_size / OUR_IMAGES[name.split("-")[0]]
        ok &= ours <= size / images
        notes.append(f"{name.split('-idx')[0]} {ours:.2f} vs {size / images:.2f} B/image")
    say(Row("--format idx --compress, vs --format idx", *t, 3.0, "; ".join(notes), ok))

    # npz --compress float32 against uncompressed; size against zlib level 6.
    npz, plain = tmp / "i21-c.npz", tmp / "i21-p.npz"
    t = paired(
        [cli, "convert", *src, "--compress", "--out", str(npz)],
        [cli, "convert", *src, "--out", str(plain)],
        runs,
    )
    done = subprocess.run(
        [exe, "-c", ZLIB6_SIZE, str(npz)], check=True, capture_output=True, text=True
    )
    ours_bytes, level6 = (int(v) for v in done.stdout.split())
    size_ok = ours_bytes <= 1.01 * level6
    notes = f"members {ours_bytes:,} vs zlib level 6 {level6:,} bytes ({ours_bytes / level6:.4f})"
    say(Row("npz --compress float32, vs uncompressed npz", *t, 2.5, notes, size_ok))

    # png-dir against a Pillow loop saving the same 65,000 images.
    u8 = tmp / "i21-u8.npz"
    timed([cli, "convert", *src, "--dtype", "uint8", "--shape", "image", "--out", str(u8)])
    pngdir, pil_dir = tmp / "i21-pngdir", tmp / "i21-pil"
    t = paired(
        [cli, "convert", *src, "--format", "png-dir", "--out", str(pngdir)],
        [exe, "-c", PILLOW_LOOP, str(u8), str(pil_dir)],
        max(4, runs - 1),  # 65,000 files a run; the file system varies run to run, so 4 pairs
        # Each run starts from nothing and from a clean file system: the last run's 65,000
        # files removed (ours would replace its output) and everything written out (sync), so
        # no run pays for the one before it. Neither is measured.
        before=["/bin/sh", "-c", f"rm -rf '{pil_dir}' '{pngdir}' && sync"],
    )
    say(Row("--format png-dir, vs a Pillow loop (65,000 files)", *t, 0.6))

    # Start-up: --help against python -c pass (import click alone is about 2x).
    t = paired([cli, "--help"], [exe, "-c", "pass"], 15)
    click_alone = paired([exe, "-c", "import click"], [exe, "-c", "pass"], 15)[2]
    say(Row("mnist-sprite --help, vs python -c pass", *t, 3.0, f"import click: {click_alone:.2f}x"))

    # The core: uint8 against Pillow's pipeline; float32 against bceb098's convert.
    pil = [exe, "-c", PILLOW, str(sprite), str(labels), str(tmp / "i21-pil.npz"), "uint8"]
    t = paired([cli, "convert", *src, "--dtype", "uint8", "--out", str(tmp / "i21-o.npz")], pil,
               max(runs, 5))  # fmt: skip
    say(Row("convert uint8, vs Pillow's pipeline", *t, 0.9))
    old = [exe, "-c", RUN_OLD, str(old_tree()), "convert", *src, "--out", str(tmp / "i21-old.npz")]
    new = [exe, "-c", RUN_OLD, str(ROOT), "convert", *src, "--out", str(tmp / "i21-new.npz")]
    t = paired(new, old, max(runs, 5))
    say(Row(f"convert float32, vs {OLD_COMMIT}'s convert", *t, 1.0))

    # pack against Pillow's save, with one core kept busy by another process.
    pack = [cli, "pack", str(u8), "--out", str(tmp / "i21-packed"), "--name", "mnist", "--force",
            "-q"]  # fmt: skip
    save = [exe, "-c", PILLOW_SAVE, str(u8), str(tmp / "i21-pil.png")]
    busy = subprocess.Popen([exe, "-c", BUSY])
    try:
        t = paired(pack, save, max(runs, 5))
    finally:
        busy.kill()
        busy.wait()
    ours_png = packed(tmp / "i21-packed", "mnist")[0].stat().st_size
    notes = f"{ours_png:,} vs {(tmp / 'i21-pil.png').stat().st_size:,} bytes"
    say(Row("pack, vs Image.fromarray().save(), one core busy", *t, 0.6, notes))
    return rows


def issue21_table(rows: list[Row]) -> str:
    lines = [
        "| case (issue 21, paired runs, medians) | ours (s) | theirs (s) | ratio | CPU ratio "
        "| target | met | notes |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        met = "yes" if r.ratio <= r.target and r.extra_ok else "NO"
        cpu = "-" if r.cpu_ratio != r.cpu_ratio else f"{r.cpu_ratio:.2f}x"
        lines.append(
            f"| {r.case} | {r.ours:.3f} | {r.theirs:.3f} | {r.ratio:.2f}x | {cpu} "
            f"| <= {r.target:.1f}x | {met} | {r.notes} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
