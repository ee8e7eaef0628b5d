"""One case of the browser check: convert the sprite with ``mnist-sprite convert``, load it in
each engine (``engines.py``) the way data.js does, and compare every value as raw float32 bits.
Each engine gives its own verdict line."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mnist_sprite.png import PngFile
from tests.browser.engines import Broken, Engine
from tests.browser.server import Server

PAGE = Path(__file__).resolve().parent / "page"
DATA_JS_CHUNK = 5000  # data.js's chunkSize

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


def engine_images(case: Case, chunk: int, engine: str, x: Any) -> Any:
    """convert's images (``x``, Chromium's canvas), or for another engine and a sprite whose
    values its canvas changes (alpha, 16-bit samples) ``convert --browser ENGINE``'s."""
    with PngFile(case.sprite) as png_file:
        if engine == "chromium" or not png_file.engine_dependent:
            return x
    print(f"browser: {engine}: expecting convert --browser {engine}", file=sys.stderr)
    args = [*case.source_args(), "--draw-rows", str(chunk), "--browser", engine]
    with tempfile.TemporaryDirectory(prefix="browser-check-") as tmp:
        values, _ = converted(args, Path(tmp))
    return values


def run_case(
    case: Case, engines: list[Engine | Broken], control: str | None = None, noise: bool = False
) -> int:
    """Check one case in each engine: a verdict line each on stdout, details on stderr; the
    worst of MATCH/DIFFER/ERROR. With ``noise`` the engine is expected to add noise: the case
    passes when the values DIFFER."""
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
        "/tf.min.js": engines_tfjs(engines),
        "/sprite.png": case.sprite,
        "/labels": case.labels,
        "/config.json": json.dumps(config).encode(),
    }
    codes = []
    for engine in engines:
        run = serve_page(engine, files, "index.html", x.nbytes, len(labels), case.name)
        if run is None or isinstance(engine, Broken):
            codes.append(ERROR)
            continue
        _, got_x, got_y = run
        want = engine_images(case, chunk, engine.name, x)
        problems = array_problems(want, labels, got_x, got_y, images)
        if control:
            print(
                f"browser: CONTROL={control}: the page computes v * float32(1/255); expect DIFFER",
                file=sys.stderr,
            )
        if noise:
            codes.append(noise_verdict(problems, case.name, engine))
            continue
        codes.append(verdict(problems, want, labels, case.name, engine))
    return max(codes, default=ERROR)


def engines_tfjs(engines: list[Engine | Broken]) -> Path:
    """TensorFlow.js from the npm folder every working engine shares."""
    for engine in engines:
        if isinstance(engine, Engine):
            return engine.tools.tfjs
    return Path("/nonexistent/tf.min.js")


class Titled(Protocol):
    """What a verdict line names: an engine, or node."""

    @property
    def title(self) -> str: ...


def serve_page(
    engine: Engine | Broken,
    files: dict[str, Path | bytes],
    page: str,
    image_bytes: int,
    label_bytes: int,
    name: str,
    host: str = "127.0.0.1",
) -> tuple[dict[str, Any], bytes, bytes] | None:
    """Serve ``files`` on ``host``, open ``page`` in ``engine``, and take back the arrays it
    sends: (its result, image bytes, label bytes), or None after one ERROR line."""
    if isinstance(engine, Broken):
        print(f"browser: ERROR {engine.name}: {engine.why} ({name})")
        return None
    server = Server(files, {"images": image_bytes, "labels": label_bytes}, host)
    try:
        result = engine.run(f"{server.url}/{page}")
    finally:
        server.close()
    if "error" in result:
        print(f"browser: ERROR {engine.label}: {result['error']} ({name})")
        return None
    tfjs = f", tfjs {result.get('tfjs')} ({result.get('backend')})" if result.get("tfjs") else ""
    print(
        f"browser: {engine.title}{tfjs}, loaded in {result.get('loadMs', 0) / 1000:.2f} s",
        file=sys.stderr,
    )
    got_x, got_y = (bytes(server.results.get(k, b"")) for k in ("images", "labels"))
    if any(server.received.get(k, 0) != len(server.results.get(k, b"")) for k in server.limits):
        print(f"browser: ERROR {engine.title}: the page sent its arrays incompletely ({name})")
        return None
    return result, got_x, got_y


def noise_verdict(problems: list[str], name: str, engine: Engine) -> int:
    """An engine that adds noise to what a canvas gives: it must DIFFER, and that passes."""
    if problems:
        print(f"browser: NOISE {engine.title}: DIFFER, as expected of it: {problems[0]} ({name})")
        return MATCH
    print(f"browser: DIFFER {engine.title}: expected noise, but every value matched ({name})")
    return DIFFER


def verdict(problems: list[str], x: Any, labels: bytes, name: str, engine: Titled) -> int:
    """The one line of a case in an engine: DIFFER with what differs, or MATCH with both
    digests; the engine and its version follow the verdict."""
    if problems:
        print(f"browser: DIFFER {engine.title}: {'; '.join(problems)} ({name})")
        return DIFFER
    print(
        f"browser: MATCH {engine.title}: images sha256 {sha256(x)} labels sha256 "
        f"{sha256(labels)} ({name})"
    )
    return MATCH
