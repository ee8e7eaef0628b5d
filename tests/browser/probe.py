"""Measures an engine's canvas with page/probe.html: PNGs made here are drawn onto a canvas and
read back with getImageData, and the bytes come back as they are.

:func:`measure` runs a list of :class:`Step` in one page load and gives each step's bytes (or
why its image did not decode)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.browser.check import PAGE
from tests.browser.engines import Engine
from tests.browser.server import Server

COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # samples per pixel -> PNG colour type


def png_bytes(pixels: np.ndarray[Any, Any]) -> bytes:
    """An 8-bit PNG of ``(h, w)`` gray or ``(h, w, c)`` pixels (c: 2 gray+alpha, 3 RGB, 4 RGBA),
    every scanline filter None."""
    rows = pixels if pixels.ndim == 3 else pixels[..., None]
    h, w, c = rows.shape
    raw = np.zeros((h, 1 + w * c), np.uint8)
    raw[:, 1:] = rows.reshape(h, w * c)
    head = np.array([w, h], ">u4").tobytes() + bytes([8, COLOR_TYPES[c], 0, 0, 0])

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    body = zlib.compress(raw.tobytes(), 6)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class Step:
    """One PNG drawn onto a ``width`` x ``height`` canvas once per ``(sx, sy, sw, sh)`` of
    ``draws``, each draw followed by a getImageData of the whole canvas."""

    name: str
    png: bytes
    width: int
    height: int
    draws: tuple[tuple[int, int, int, int], ...]

    @property
    def nbytes(self) -> int:
        return self.width * self.height * 4 * len(self.draws)


@dataclass(frozen=True)
class Read:
    """What a step gave: ``reads[i]`` is the canvas after draw ``i`` as (height, width, 4)
    RGBA bytes; or ``error`` when the image did not decode."""

    reads: np.ndarray[Any, Any] | None
    error: str | None = None
    natural: tuple[int, int] | None = None  # (naturalWidth, naturalHeight)


def measure(engine: Engine, steps: list[Step]) -> dict[str, Read] | str:
    """Each step's reads in ``engine``, or why the page did not run."""
    config = {
        "steps": [
            {"name": s.name, "url": f"{s.name}.png", "width": s.width, "height": s.height,
             "draws": [list(d) for d in s.draws]}
            for s in steps
        ]
    }  # fmt: skip
    files: dict[str, Any] = {f"/{p.name}": p for p in PAGE.iterdir()}
    files |= {f"/{s.name}.png": s.png for s in steps}
    files["/config.json"] = json.dumps(config).encode()
    server = Server(files, {s.name: s.nbytes for s in steps})
    try:
        result = engine.run(f"{server.url}/probe.html")
    finally:
        server.close()
    if "error" in result:
        return str(result["error"])
    found: dict[str, Read] = {}
    for step, facts in zip(steps, result.get("steps", []), strict=False):
        if facts.get("error"):
            found[step.name] = Read(None, str(facts["error"]))
            continue
        got = bytes(server.results.get(step.name, b""))
        if len(got) != step.nbytes:
            return f"{step.name}: the page sent {len(got)} of {step.nbytes} bytes"
        shape = (len(step.draws), step.height, step.width, 4)
        natural = (int(facts["naturalWidth"]), int(facts["naturalHeight"]))
        found[step.name] = Read(np.frombuffer(got, np.uint8).reshape(shape), None, natural)
    if len(found) != len(steps):
        return f"the page gave {len(found)} of {len(steps)} steps"
    return found
