"""Helpers shared by the tests that drive the command line in this process: run a command,
check that it succeeded or gave a one-line error, write a PNG of one's own, and the bundled
sample's files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import png
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.datasets import DATA_DIR

SAMPLE_SPRITE = DATA_DIR / "sample_images.png"
SAMPLE_LABELS = DATA_DIR / "sample_labels_uint8"
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def run(
    *args: str, env: dict[str, str] | None = None, cache: Path | None = None
) -> tuple[int, str, str]:
    """The CLI in this process; ``cache`` sets MNIST_SPRITE_CACHE, ``env`` any variables."""
    if cache is not None:
        env = {**(env or {}), "MNIST_SPRITE_CACHE": str(cache)}
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    """The CLI's stdout, after it exited 0 (else the test fails with its stderr)."""
    code, out, err = run(*args)
    assert code == 0, err
    return out


def one_line(stderr: str, *parts: str) -> None:
    """``stderr`` is one error line, no traceback, holding each of ``parts``."""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    for part in parts:
        assert part in stderr, stderr


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = pixels.shape[:2]
    with open(path, "wb") as f:
        png.Writer(w, h, greyscale=pixels.ndim == 2).write(f, pixels.reshape(h, -1).tolist())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def packed(folder: Path, name: str = "data", shard: int = 0) -> tuple[Path, Path]:
    """A pack's sprite and label file of ``shard``, by the names its NAME.json gives them."""
    import json

    facts = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    entry = facts["shards"][shard]
    return folder / entry["images"]["name"], folder / entry["labels"]["name"]
