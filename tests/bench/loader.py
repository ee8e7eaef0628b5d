"""``make bench``'s loader rows: a pack's ``NAME.js`` ``load()`` in each engine of
the browser check (Chromium, Firefox, WebKit), its load time and memory.

- **MNIST**: the real sprite, converted to a uint8 npz and packed (``--name mnist``), loaded by
  its ``mnist.js``: ``load()`` and then ``nextBatch(data, "train", 512)``, the first batch as
  float32, as a page trains from it (both are timed). Against tfjs-examples' ``mnist/data.js``
  (``../shared/browser/upstream-data.js``, the file as published, its sha256 checked; edited
  as the shared runner edits it: the tfjs import and the two URLs) and its
  ``MnistData.load()`` of the same sprite and labels. Targets: at most 0.5x data.js's time and
  0.35x its memory.
- **1,000,000 images**: the ten 100,000-row ``.npy`` files ``pack_large`` makes, packed with
  ``--test-size 0.1 --seed 0``, loaded by ``load()``. Targets: 15 s in Chromium, and peak
  memory within 1.3x of the uint8 size (784,000,000 bytes) in every engine.

Each load runs in a page of its own (``page/bench.html``) served on 127.0.0.1, opened by
``tests/browser``'s engines. Time: ``performance.now()`` in the page around the load. Memory:
a thread here sums the VmRSS (``/proc/PID/status``) of every process descended from this one
(the engine's whole tree: the node driver and Chromium or Firefox with all their processes;
WebKitWebDriver, MiniBrowser and its WebKitWebProcess and WebKitNetworkProcess; Xvfb is left
out) every 50 ms. The engines run without the driver's network events (``Engine.run(url,
network=False)``): with them, the browser keeps every response's body for the driver, up to
20 MB a response (Chromium's DevTools Network domain, in the page's own process; Firefox's
WebDriver BiDi data collectors, in its parent process), memory that a page opened by a user
does not use; ``--network-events`` measures with them, as before. The page imports its loader
and idles 2 s before loading: the median of the samples in the last second of that idle time
is the baseline (the same engine, the same page, nothing loaded), and a load's memory is the
peak of the samples from its start to 1 s after its end, minus that baseline. Shared pages
count once per process that maps them, as VmRSS counts them. The packs are made once per
version of the package's source, in ``.bench/loader-DIGEST/``.

Run alone: ``python -m tests.bench.loader [--browsers chromium,firefox] [--runs N]
[--no-large] [--network-events]``; ``make bench`` prints the same tables (``--only loader``:
only these).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench import pack_large
from tests.browser.engines import NAMES, Broken, Engine, open_engines, parse_names
from tests.browser.install import SetupError, ensure
from tests.browser.server import Server
from tests.realdata import ADD_MNIST, real_mnist

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = ROOT / ".bench"
PAGE = Path(__file__).resolve().parent / "page"
BROWSER_FOLDER = ROOT / ".browser"
UPSTREAM = ROOT.parent / "shared" / "browser" / "upstream-data.js"
UPSTREAM_SHA256 = "c931827e43c47831d9b0eb5de395583e60817e150625231f70239c946923b83d"
GCS = "https://storage.googleapis.com/learnjs-data/model-builder/"

TIME_RATIO, MEMORY_RATIO = 0.5, 0.35  # MNIST, against data.js
GAP_MS = 50.0  # the longest the page's main thread may be held during load()
LARGE_SECONDS, LARGE_MEMORY = 15.0, 1.3  # 1,000,000 images: Chromium's time, every engine's
LARGE_IMAGES = pack_large.ROWS_PER_CLASS * pack_large.CLASSES
BATCH = 512
IDLE_MS, AFTER_MS = 2000, 1000
INTERVAL_S = 0.05
NOT_THE_ENGINE = {"Xvfb"}  # a display for MiniBrowser, not the engine's own memory
MB = 1e6


# --- the engine's memory: the summed VmRSS of a process tree --------------------------------


def parse_stat(text: str) -> tuple[int, str]:
    """(parent pid, command name) from ``/proc/PID/stat``; the name may hold spaces and ``)``."""
    head, _, rest = text.rpartition(")")
    return int(rest.split()[1]), head.partition("(")[2]


def vmrss_bytes(status: str) -> int:
    """VmRSS from ``/proc/PID/status`` in bytes; 0 when absent (a zombie, a kernel thread)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def descendants(parents: Mapping[int, int], root: int) -> set[int]:
    """Every pid below ``root`` in the tree ``parents`` (pid to parent pid), not ``root``."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in found and pid != root:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def read_proc(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:  # the process ended between the listing and the read
        return None


def tree_rss(root: int, skip_names: Iterable[str] = NOT_THE_ENGINE) -> int:
    """The summed VmRSS, in bytes, of every process below ``root`` (skipping ``skip_names``
    and everything below them)."""
    skip = set(skip_names)
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            text = read_proc(f"/proc/{entry}/stat")
            if text:
                parent, name = parse_stat(text)
                if name not in skip:
                    parents[int(entry)] = parent
    total = 0
    for pid in descendants(parents, root):
        status = read_proc(f"/proc/{pid}/status")
        total += vmrss_bytes(status) if status else 0
    return total


@dataclass
class Sampler:
    """Samples :func:`tree_rss` of this process every ``interval`` seconds, in a thread, as
    (wall-clock seconds, bytes): the page's marks are ``Date.now()``, the same clock."""

    interval: float = INTERVAL_S
    samples: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss(root)))
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Memory:
    baseline: float  # bytes
    peak: float  # bytes above the baseline
    held: float  # bytes above the baseline still held in the second half of the time after
    samples: int  # during the load


def memory_of(samples: list[tuple[float, int]], start: float, end: float, after: float) -> Memory:
    """The baseline (median of the samples in the second before ``start``), the peak above it
    from ``start`` to ``end + after``, and what is held (the median above it from ``end +
    after / 2`` to ``end + after``), in seconds on the samples' clock; ValueError when a window
    has no sample."""
    before = [v for t, v in samples if start - 1.0 <= t < start]
    during = [v for t, v in samples if start <= t <= end + after]
    late = [v for t, v in samples if end + after / 2 <= t <= end + after]
    if not before or not during or not late:
        raise ValueError(
            f"{len(before)} samples before the load, {len(during)} during it, {len(late)} after"
        )
    baseline = statistics.median(before)
    inside = sum(1 for t, _ in samples if start <= t <= end)
    return Memory(baseline, max(during) - baseline, statistics.median(late) - baseline, inside)


# --- the pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    seconds: float  # what the page timed: load(), and for ours the first batch too
    load_seconds: float
    memory: Memory
    values: int
    gap_ms: float  # the main thread's longest stretch without a timer tick during the load


class Failed(Exception):
    """A run that gave no measurement; the message says why."""


NETWORK_EVENTS = False  # --network-events: the driver's network events on, as before


def measure(engine: Engine, files: dict[str, Path | bytes], config: dict[str, Any]) -> Measured:
    """One page in ``engine``: its time and memory; Failed otherwise."""
    served: dict[str, Path | bytes] = {f"/{p.name}": p for p in PAGE.iterdir()}
    served |= files | {"/config.json": json.dumps(config).encode()}
    server = Server(served, {})
    try:
        with Sampler() as sampler:
            result = engine.run(f"{server.url}/bench.html", network=NETWORK_EVENTS)
    finally:
        server.close()
    if "error" in result:
        raise Failed(str(result["error"]))
    try:
        memory = memory_of(
            sampler.samples, result["start"] / 1000, result["end"] / 1000, AFTER_MS / 1000
        )
        seconds = (result["loadMs"] + result["batchMs"]) / 1000
        return Measured(
            seconds, result["loadMs"] / 1000, memory, int(result["values"]), result["gapMs"]
        )
    except (KeyError, TypeError, ValueError) as e:
        raise Failed(f"the page's result does not say it ({e})") from None


def data_js() -> bytes:
    """tfjs-examples' mnist/data.js with the shared runner's edits: tf from the page (it is not
    used by load()), the sprite and labels beside the page."""
    try:
        raw = UPSTREAM.read_bytes()
    except OSError as e:
        raise Failed(f"tfjs-examples' data.js: {UPSTREAM}: {e.strerror or e}") from None
    if hashlib.sha256(raw).hexdigest() != UPSTREAM_SHA256:
        raise Failed(f"{UPSTREAM} is not tfjs-examples' data.js (its sha256 differs)")
    text = raw.decode()
    for old, new in (
        ("import * as tf from '@tensorflow/tfjs';", "const tf = window.tf;"),
        (f"'{GCS}mnist_images.png'", "'mnist_images.png'"),
        (f"'{GCS}mnist_labels_uint8'", "'mnist_labels_uint8'"),
    ):
        if text.count(old) != 1:
            raise Failed(f"{UPSTREAM}: expected exactly one {old!r}")
        text = text.replace(old, new)
    return text.encode()


def pack_files(manifest: Path) -> dict[str, Path | bytes]:
    """The pack's NAME.json, NAME.js and shards, served under /pack/."""
    facts = json.loads(manifest.read_text(encoding="utf-8"))
    names = [manifest.name, facts["loader"]["name"]]
    for shard in facts["shards"]:
        names += [shard["images"]["name"], shard["labels"]["name"]]
    return {f"/pack/{name}": manifest.parent / name for name in names}


def ours_config(manifest: Path) -> dict[str, Any]:
    facts = json.loads(manifest.read_text(encoding="utf-8"))
    return {
        "kind": "ours",
        "module": f"./pack/{facts['loader']['name']}",
        "batch": BATCH,
        "idleMs": IDLE_MS,
        "afterMs": AFTER_MS,
    }


# --- the packs, made once per version of the source -----------------------------------------


def source_digest() -> str:
    """A digest of the package's files (pack's code and the NAME.js template among them)."""
    digest = hashlib.sha256()
    package = ROOT / "mnist_sprite"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def run_quiet(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise Failed(f"{' '.join(argv[:2])}: {done.stderr.strip()[-300:]}")


def packs(exe: str, cli: str, cache: Path, sprite: Path, labels: Path, large: bool) -> Path:
    """The folder holding ``mnist/mnist.json`` and (``large``) ``doodles/doodles.json``."""
    folder = cache / f"loader-{source_digest()}"
    for old in cache.glob("loader-*"):  # an earlier version's packs
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    if not (folder / "mnist" / "mnist.json").is_file():
        npz = folder / "mnist-u8.npz"
        folder.mkdir(parents=True, exist_ok=True)
        run_quiet([
            cli, "convert", "--sprite", str(sprite), "--labels", str(labels), "--dtype", "uint8",
            "--shape", "image", "--label-format", "index", "--out", str(npz), "--force", "-q",
        ])  # fmt: skip
        run_quiet([cli, "pack", str(npz), "--out", str(folder / "mnist"), "--name", "mnist", "-q"])
        npz.unlink()
    if large and not (folder / "doodles" / "doodles.json").is_file():
        classes = pack_large.classes(exe, cache, sprite, labels)
        print("  loader: packing 1,000,000 images", file=sys.stderr)
        run_quiet([
            cli, "pack", str(classes), "--out", str(folder / "doodles"), "--name", "doodles",
            "--test-size", "0.1", "--seed", "0", "--quiet",
        ])  # fmt: skip
    return folder


# --- the rows ------------------------------------------------------------------------------


@dataclass
class MnistRow:
    engine: str
    ours: list[Measured] = field(default_factory=list)
    theirs: list[Measured] = field(default_factory=list)
    error: str = ""


@dataclass
class LargeRow:
    engine: str
    run: Measured | None = None
    error: str = ""


def mnist_row(
    engine: Engine | Broken, manifest: Path, sprite: Path, labels: Path, runs: int
) -> MnistRow:
    row = MnistRow(engine.label)
    if isinstance(engine, Broken):
        row.error = engine.why
        return row
    try:
        theirs_files: dict[str, Path | bytes] = {
            "/data.js": data_js(),
            "/mnist_images.png": sprite,
            "/mnist_labels_uint8": labels,
        }
        theirs_config = {"kind": "datajs", "idleMs": IDLE_MS, "afterMs": AFTER_MS}
        for i in range(runs):  # alternating, so both see the same machine
            pair = [
                (row.ours, pack_files(manifest), ours_config(manifest)),
                (row.theirs, theirs_files, theirs_config),
            ]
            for into, files, config in pair if i % 2 == 0 else pair[::-1]:
                into.append(measure(engine, files, config))
        row.engine = engine.title
        o, t = median_of(row.ours), median_of(row.theirs)
        print(
            f"  loader: {engine.title}: MNIST {o[0]:.2f} s {o[1] / MB:.0f} MB, data.js "
            f"{t[0]:.2f} s {t[1] / MB:.0f} MB",
            file=sys.stderr,
        )
    except Failed as e:
        row.error = str(e)
    return row


def large_row(engine: Engine | Broken, manifest: Path) -> LargeRow:
    row = LargeRow(engine.label)
    if isinstance(engine, Broken):
        row.error = engine.why
        return row
    try:
        row.run = measure(engine, pack_files(manifest), ours_config(manifest))
        row.engine = engine.title
        if row.run.values != LARGE_IMAGES * 784:
            row.error = f"load() gave {row.run.values:,} values, not {LARGE_IMAGES * 784:,}"
        seconds = row.run.seconds
        print(f"  loader: {engine.title}: 1,000,000 images {seconds:.2f} s", file=sys.stderr)
    except Failed as e:
        row.error = str(e)
    return row


def median_of(runs: list[Measured]) -> tuple[float, float]:
    """(median seconds, median peak bytes above the baseline)."""
    return (
        statistics.median(m.seconds for m in runs),
        statistics.median(m.memory.peak for m in runs),
    )


def mnist_table(rows: list[MnistRow], runs: int) -> str:
    lines = [
        f"| loader: MNIST (65,000), NAME.js vs data.js, median of {runs} | ours s (load()) "
        "| data.js s | time ratio | ours MB | data.js MB | memory ratio | baselines MB "
        "| main thread held, ours / data.js ms | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    target = f"<= {TIME_RATIO}x time, <= {MEMORY_RATIO}x memory, <= {GAP_MS:.0f} ms held"
    for r in rows:
        if r.error:
            lines.append(f"| {r.engine} | ERROR: {r.error} | | | | | | | | {target} | - |")
            continue
        (o_s, o_m), (t_s, t_m) = median_of(r.ours), median_of(r.theirs)
        o_gap, t_gap = max(m.gap_ms for m in r.ours), max(m.gap_ms for m in r.theirs)
        o_load = statistics.median(m.load_seconds for m in r.ours)
        base = statistics.median(m.memory.baseline for m in r.ours + r.theirs)
        time_ratio, memory_ratio = o_s / t_s, o_m / t_m if t_m > 0 else float("nan")
        met = time_ratio <= TIME_RATIO and memory_ratio <= MEMORY_RATIO and o_gap <= GAP_MS
        lines.append(
            f"| {r.engine} | {o_s:.3f} ({o_load:.3f}) | {t_s:.3f} | {time_ratio:.2f}x "
            f"| {o_m / MB:.0f} | {t_m / MB:.0f} | {memory_ratio:.2f}x | {base / MB:.0f} "
            f"| {o_gap:.0f} / {t_gap:.0f} | {target} | {'yes' if met else 'NO'} |"
        )
    return "\n".join(lines)


def large_table(rows: list[LargeRow]) -> str:
    uint8 = LARGE_IMAGES * 784
    lines = [
        "| loader: 1,000,000 28x28 images, NAME.js load() | seconds | peak MB over baseline "
        f"| vs uint8 ({uint8 / MB:.0f} MB) | held after MB | baseline MB | samples "
        "| main thread held ms | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        chromium = r.engine.startswith("chromium")
        target = (f"<= {LARGE_SECONDS:.0f} s, " if chromium else "") + f"<= {LARGE_MEMORY}x"
        target += f", <= {GAP_MS:.0f} ms held"
        if r.error or r.run is None:
            lines.append(f"| {r.engine} | ERROR: {r.error} | | | | | | | {target} | - |")
            continue
        m = r.run
        ratio = m.memory.peak / uint8
        met = ratio <= LARGE_MEMORY and (not chromium or m.seconds <= LARGE_SECONDS)
        met = met and m.gap_ms <= GAP_MS
        lines.append(
            f"| {r.engine} | {m.seconds:.2f} | {m.memory.peak / MB:.0f} | {ratio:.2f}x "
            f"| {m.memory.held / MB:.0f} | {m.memory.baseline / MB:.0f} | {m.memory.samples} "
            f"| {m.gap_ms:.0f} | {target} | {'yes' if met else 'NO'} |"
        )
    return "\n".join(lines)


def note() -> str:
    """The line under the tables: what was measured, and how."""
    return (
        "  memory: the engine's whole process tree, summed VmRSS sampled every 50 ms, peak from "
        "the load's start to 1 s after, minus the same page's median in the second before "
        "(nothing loaded); held after: the median 0.5-1 s after the load, minus the same; MB = "
        f"10^6 bytes; the driver's network events {'on' if NETWORK_EVENTS else 'off'}. Time: "
        "performance.now() in the page; ours is load() plus "
        f"nextBatch(data, 'train', {BATCH}) (load() alone in brackets). Main thread held: the "
        "longest gap between the ticks of a 0 ms timer chain during the load (the worst run)."
    )


def tables(
    exe: str, cli: str, cache: Path, sprite: Path, labels: Path, names: list[str], runs: int,
    large: bool,
) -> str:  # fmt: skip
    """Every row in every engine; the printed tables."""
    try:
        folder = packs(exe, cli, cache, sprite, labels, large)
    except Failed as e:
        return f"loader: ERROR making the packs: {e}"
    try:
        tools = ensure(BROWSER_FOLDER)
    except SetupError as e:
        engines: list[Engine | Broken] = [Broken(n, str(e)) for n in names]
    else:
        engines = open_engines(names, tools, BROWSER_FOLDER)
    mnist_rows: list[MnistRow] = []
    large_rows: list[LargeRow] = []
    try:
        for engine in engines:
            mnist = folder / "mnist" / "mnist.json"
            mnist_rows.append(mnist_row(engine, mnist, sprite, labels, runs))
            if large:
                large_rows.append(large_row(engine, folder / "doodles" / "doodles.json"))
            if isinstance(engine, Engine):
                engine.close()  # WebKit's driver and display: not in the next engine's tree
    finally:
        for engine in engines:
            if isinstance(engine, Engine):
                engine.close()
    out = [mnist_table(mnist_rows, runs)]
    if large:
        out += ["", large_table(large_rows)]
    return "\n".join([*out, note()])


def main(only: str | None, exe: str, cli: str, cache: Path, sprite: Path, labels: Path) -> None:
    """``make bench``'s entry: print the loader's tables (skipped by ``--only`` another case)."""
    if only is None or only == "loader":
        print()
        print(tables(exe, cli, cache, sprite, labels, list(NAMES), 3, True))


def cli_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.loader",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--browsers", default=",".join(NAMES), metavar="LIST")
    parser.add_argument("--runs", type=int, default=3, help="MNIST pairs an engine (median)")
    parser.add_argument("--no-large", action="store_true", help="skip the 1,000,000 images")
    parser.add_argument(
        "--network-events",
        action="store_true",
        help="keep the driver's network events on (the browser then keeps response bodies)",
    )
    args = parser.parse_args(argv)
    global NETWORK_EVENTS
    NETWORK_EVENTS = args.network_events
    try:
        names = parse_names(args.browsers)
    except ValueError as e:
        parser.error(str(e))
    real = real_mnist()
    if real is None:
        raise SystemExit(f"bench: the benchmark reads the real MNIST: {ADD_MNIST}")
    exe = sys.executable
    cli = str(Path(exe).parent / "mnist-sprite")
    print(tables(exe, cli, CACHE, *real, names, max(args.runs, 1), not args.no_large))
    return 0


if __name__ == "__main__":
    sys.exit(cli_main())
