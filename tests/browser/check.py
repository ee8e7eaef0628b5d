"""One case of the browser check: convert the sprite with ``mnist-sprite convert``, load it in
headless Chromium the way data.js does, and compare every value as raw float32 bits."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.browser.install import Tools
from tests.browser.server import Server

PAGE = Path(__file__).resolve().parent / "page"
DRIVER = Path(__file__).resolve().parent / "drive.cjs"
DATA_JS_CHUNK = 5000  # data.js's chunkSize
TIMEOUT_S = int(os.environ.get("BROWSER_TIMEOUT", "600"))

MATCH, DIFFER, ERROR = 0, 1, 2


@dataclass(frozen=True)
class Case:
    """A sprite and its labels, as data.js would be configured for them."""

    name: str
    sprite: Path
    labels: Path
    image_size: tuple[int, int] = (28, 28)
    train: int | None = None
    channels: str = "red"
    draw_rows: int | None = None  # data.js's chunkSize; default: 5000 or a divisor of the count

    def source_args(self) -> list[str]:
        """convert's options for this sprite, its labels and how data.js reads them."""
        h, w = self.image_size
        train = ["--train-size", str(self.train)] if self.train is not None else []
        return [
            "--sprite", str(self.sprite), "--labels", str(self.labels),
            "--image-size", f"{h}x{w}", "--channels", self.channels, *train,
        ]  # fmt: skip

    def describe(self, images: int, chunk: int) -> str:
        h, w = self.image_size
        return f"{self.name}: {images} images {h}x{w} {self.channels}, drawn {chunk} rows at a time"


def packed_case(manifest: Path) -> Case:
    """The case a ``mnist-sprite pack`` folder describes in its NAME.json."""
    facts = json.loads(manifest.read_text(encoding="utf-8"))
    if len(facts.get("shards", [])) > 1:  # each shard is a sprite of its own
        raise ValueError(f"it has {len(facts['shards'])} shards: check each with SPRITE= LABELS=")
    names = [facts["files"][role]["name"] for role in ("images", "labels")]
    if any(Path(name).name != name for name in names):
        raise ValueError("a file name in it is a path")
    sprite, labels = (manifest.parent / name for name in names)
    return Case(
        name=f"packed {manifest.name}",
        sprite=sprite,
        labels=labels,
        image_size=(facts["image_height"], facts["image_width"]),
        train=facts["train_images"],
        channels="rgb" if facts["channels"] == 3 else "red",
    )


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which a PNG must start with."""
    with path.open("rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def chunk_rows(images: int, asked: int | None) -> int:
    """data.js's loop needs the count to be a multiple of chunkSize: 5000 when it is, else the
    largest divisor below 5000."""
    if asked is not None:
        if asked <= 0 or images % asked:
            raise ValueError(f"DRAW_ROWS {asked} must divide the image count {images}")
        return asked
    return max(d for d in range(1, min(images, DATA_JS_CHUNK) + 1) if images % d == 0)


def sha256(data: bytes | np.ndarray[Any, Any]) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.tobytes()).hexdigest()


def expected_arrays(case: Case, chunk: int, work: Path) -> tuple[np.ndarray[Any, Any], bytes]:
    """What convert writes for the case, drawn ``chunk`` rows at a time as data.js draws."""
    return converted([*case.source_args(), "--draw-rows", str(chunk)], work)


def converted(args: list[str], work: Path) -> tuple[np.ndarray[Any, Any], bytes]:
    """``mnist-sprite convert ARGS`` (float32 flat images and one-hot labels, the defaults),
    as the page compares them: images as little-endian float32 rows, labels as bytes."""
    out = work / "expected.npz"
    argv = [sys.executable, "-m", "mnist_sprite", "convert", *args, "--out", str(out), "--quiet"]
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise ValueError(f"convert: {done.stderr.strip()}")
    with np.load(out) as d:
        x = np.concatenate([d["x_train"], d["x_test"]])
        y = np.concatenate([d["y_train"], d["y_test"]])
    x = np.ascontiguousarray(x.reshape(len(x), -1), dtype="<f4")
    return x, np.ascontiguousarray(y, dtype=np.uint8).tobytes()


def run_browser(tools: Tools, url: str) -> dict[str, Any]:
    argv = [str(tools.node), str(DRIVER), url, str(tools.chromium), str(TIMEOUT_S * 1000)]
    env = {"NODE_PATH": str(tools.node_modules), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT_S + 120,
    )
    noise = ("DevTools listening", "dev-shm", "willReadFrequently")  # data.js does not set it
    for line in done.stderr.splitlines()[:20]:
        if not any(n in line for n in noise):
            print(f"  {line}", file=sys.stderr)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"no result from the browser driver (exit {done.returncode})"}
    return result if isinstance(result, dict) else {"error": "the driver printed no object"}


def f32(bits: int) -> str:
    value = struct.unpack("<f", struct.pack("<I", bits))[0]
    return f"{value!r} (0x{bits:08x})"


def first_difference(
    what: str, browser: np.ndarray[Any, Any], tool: np.ndarray[Any, Any], per: int, show: Any
) -> str | None:
    """None when equal, else how many differ and the first, with both values."""
    if browser.shape != tool.shape:
        return f"{what}: the browser has {browser.size} values, convert {tool.size}"
    bad = np.flatnonzero(browser != tool)
    if bad.size == 0:
        return None
    i = int(bad[0])
    return (
        f"{what}: {bad.size} of {tool.size} values differ; first at index {i} "
        f"(image {i // per}, value {i % per}): browser {show(int(browser[i]))} "
        f"convert {show(int(tool[i]))}"
    )


def array_problems(
    x: np.ndarray[Any, Any], labels: bytes, got_x: bytes, got_y: bytes, images: int
) -> list[str]:
    """How the browser's images and label bytes differ from convert's, as raw float32 bits."""
    tool_bits = x.view("<u4").ravel()
    browser_bits = np.frombuffer(got_x[: len(got_x) // 4 * 4], "<u4")
    per = x.shape[1] if x.ndim == 2 and x.size else 1
    found = (
        first_difference("images", browser_bits, tool_bits, per, f32),
        first_difference(
            "labels",
            np.frombuffer(got_y, np.uint8),
            np.frombuffer(labels, np.uint8),
            max(len(labels) // max(images, 1), 1),
            str,
        ),
    )
    return [p for p in found if p is not None]


def run_case(case: Case, tools: Tools, control: str | None = None) -> int:
    """Check one case: print the verdict line on stdout, details on stderr; MATCH/DIFFER/ERROR."""
    try:
        _, images = png_size(case.sprite)
        chunk = chunk_rows(images, case.draw_rows)
        with tempfile.TemporaryDirectory(prefix="browser-check-") as tmp:
            x, labels = expected_arrays(case, chunk, Path(tmp))
    except (OSError, ValueError) as e:
        print(f"browser: ERROR {e} ({case.name})")
        return ERROR
    h, w = case.image_size
    channels = 3 if case.channels == "rgb" else 1
    print(f"browser: {case.describe(images, chunk)}", file=sys.stderr)
    config = {
        "imagesUrl": "sprite.png",
        "labelsUrl": "labels",
        "images": images,
        "height": h,
        "width": w,
        "channels": channels,
        "chunkSize": chunk,
        "control": control,
    }
    files: dict[str, Path | bytes] = {f"/{p.name}": p for p in PAGE.iterdir()}
    files |= {
        "/tf.min.js": tools.tfjs,
        "/sprite.png": case.sprite,
        "/labels": case.labels,
        "/config.json": json.dumps(config).encode(),
    }
    run = serve_page(tools, files, "index.html", x.nbytes, len(labels), case.name)
    if run is None:
        return ERROR
    _, got_x, got_y = run
    problems = array_problems(x, labels, got_x, got_y, images)
    if control:
        print(
            f"browser: CONTROL={control}: the page computes v * float32(1/255); expect DIFFER",
            file=sys.stderr,
        )
    return verdict(problems, x, labels, case.name)


def serve_page(
    tools: Tools,
    files: dict[str, Path | bytes],
    page: str,
    image_bytes: int,
    label_bytes: int,
    name: str,
) -> tuple[dict[str, Any], bytes, bytes] | None:
    """Serve ``files`` on 127.0.0.1, open ``page`` in Chromium, and take back the arrays it
    sends: (its result, image bytes, label bytes), or None after one ERROR line."""
    server = Server(files, {"images": image_bytes, "labels": label_bytes})
    try:
        result = run_browser(tools, f"{server.url}/{page}")
    finally:
        server.close()
    if "error" in result:
        print(f"browser: ERROR {result['error']} ({name})")
        return None
    tfjs = f", tfjs {result.get('tfjs')} ({result.get('backend')})" if result.get("tfjs") else ""
    print(
        f"browser: Chromium {result.get('chromium')}{tfjs}, loaded in "
        f"{result.get('loadMs', 0) / 1000:.2f} s",
        file=sys.stderr,
    )
    got_x, got_y = (bytes(server.results.get(k, b"")) for k in ("images", "labels"))
    if any(server.received.get(k, 0) != len(server.results.get(k, b"")) for k in server.limits):
        print(f"browser: ERROR the page sent its arrays incompletely ({name})")
        return None
    return result, got_x, got_y


def verdict(problems: list[str], x: Any, labels: bytes, name: str) -> int:
    """The one line of a case: DIFFER with what differs, or MATCH with both digests."""
    if problems:
        print(f"browser: DIFFER {'; '.join(problems)} ({name})")
        return DIFFER
    print(f"browser: MATCH images sha256 {sha256(x)} labels sha256 {sha256(labels)} ({name})")
    return MATCH
