"""Hostile input and faults: one error line, exit 1, bounded time and memory, nothing lost.

Every broken file is made here from a small valid sprite; nothing binary is committed.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from tests import pngkit
from tests.cli_kit import SAMPLE_SPRITE
from tests.conftest import Sprite, make_sprite

IMAGES, SIDE = 12, 4
WIDTH = SIDE * SIDE
CONVERT = ["--image-size", f"{SIDE}x{SIDE}", "--train-size", "8"]


def valid_parts() -> tuple[bytes, bytes, bytes]:
    """(IHDR chunk, IDAT chunk, IEND chunk) of a valid 16 x 12 sprite."""
    raw = b"".join(b"\0" + bytes(range(i, i + WIDTH)) for i in range(IMAGES))
    return (
        pngkit.ihdr(WIDTH, IMAGES),
        pngkit.chunk(b"IDAT", zlib.compress(raw)),
        pngkit.chunk(b"IEND", b""),
    )


def _corrupt_crc(chunk: bytes) -> bytes:
    return chunk[:-4] + bytes(b ^ 0xFF for b in chunk[-4:])


def _bomb() -> bytes:
    """64 kB that inflate to a gigabyte, under a header that declares 12 rows."""
    z = zlib.compressobj(9)
    body = b"".join(z.compress(bytes(1 << 24)) for _ in range(64)) + z.flush()
    ihdr, _, iend = valid_parts()
    return pngkit.SIGNATURE + ihdr + pngkit.chunk(b"IDAT", body) + iend


def sprite_cases() -> dict[str, tuple[bytes, str]]:
    ihdr, idat, iend = valid_parts()
    sig = pngkit.SIGNATURE
    raw = b"".join(b"\0" + bytes(WIDTH) for _ in range(IMAGES))
    return {
        "empty": (b"", "the file is empty"),
        "not a png": (b"GIF89a not a png at all", "not a PNG file (bad signature)"),
        "signature only": (sig, "truncated: the file ends before its IEND chunk"),
        "truncated in IHDR": (sig + ihdr[:15], "truncated: the file ends inside its IHDR chunk"),
        "truncated in IDAT": (sig + ihdr + idat[:30], "the file ends inside its IDAT chunk"),
        "truncated before IEND": (sig + ihdr + idat, "the file ends before its IEND chunk"),
        "bad IHDR crc": (sig + _corrupt_crc(ihdr) + idat + iend, "IHDR chunk is corrupt (CRC"),
        "bad IDAT crc": (sig + ihdr + _corrupt_crc(idat) + iend, "IDAT chunk is corrupt (CRC"),
        "zero width": (sig + pngkit.ihdr(0, IMAGES) + idat + iend, "invalid image size 0 x 12"),
        "zero height": (sig + pngkit.ihdr(WIDTH, 0) + idat + iend, "invalid image size 16 x 0"),
        "bit depth 7": (
            sig + pngkit.ihdr(WIDTH, IMAGES, depth=7) + idat + iend,
            "invalid bit depth 7 for colour type 0",
        ),
        "colour type 1": (
            sig + pngkit.ihdr(WIDTH, IMAGES, color=1) + idat + iend,
            "invalid colour type 1",
        ),
        "unknown critical chunk": (
            sig + ihdr + pngkit.chunk(b"CRIT", b"x") + idat + iend,
            "unknown critical chunk CRIT",
        ),
        "filter byte 9": (
            sig
            + ihdr
            + pngkit.chunk(
                b"IDAT",
                zlib.compress(raw[: 3 * (WIDTH + 1)] + b"\x09" + raw[3 * (WIDTH + 1) + 1 :]),
            )
            + iend,
            "scanline 3 has invalid filter type 9",
        ),
        "too few rows": (
            sig + ihdr + pngkit.chunk(b"IDAT", zlib.compress(raw[: -WIDTH - 1])) + iend,
            "too few rows: the image data ends after 11 of 12 rows",
        ),
        "too few bytes": (
            sig + ihdr + pngkit.chunk(b"IDAT", zlib.compress(raw)[:-9]) + iend,
            "truncated image data: the zlib stream ends early",
        ),
        "broken zlib": (
            sig + ihdr + pngkit.chunk(b"IDAT", b"\x78\x9c\xff\xff\xff\xff") + iend,
            "corrupt image data (zlib",
        ),
        "extra rows": (
            sig + ihdr + pngkit.chunk(b"IDAT", zlib.compress(raw + raw[:17])) + iend,
            "extra data after the last row of the image",
        ),
        "data after IEND": (sig + ihdr + idat + iend + b"trailing", "extra data after the IEND"),
        "billions of pixels": (
            sig + pngkit.ihdr(2_000_000, 2_000_000) + idat + iend,
            "4,000,000,000,000 pixels, more than the",
        ),
        "decompression bomb": (_bomb(), "extra data after the last row of the image"),
    }


def label_cases() -> dict[str, tuple[bytes, str]]:
    good = np.eye(10, dtype=np.uint8)[np.arange(IMAGES) % 10]
    two_ones = good.copy()
    two_ones[5, 3] = 1
    value_2 = good.copy()
    value_2[4, 4] = 2
    zeros = good.copy()
    zeros[7] = 0
    return {
        "empty": (b"", "the label file is empty"),
        "short": (good[:-1].tobytes(), "holds 11 labels but the sprite holds 12 images"),
        "long": (np.vstack([good, good[:1]]).tobytes(), "holds 13 labels but the sprite holds 12"),
        "ragged": (good.tobytes()[:-3], "117 bytes is not a whole number of 10-byte one-hot rows"),
        "two ones": (two_ones.tobytes(), "row 5 is not one-hot: [0, 0, 0, 1, 0, 1, 0, 0, 0, 0]"),
        "value 2": (value_2.tobytes(), "row 4 is not one-hot: [0, 0, 0, 0, 2, 0, 0, 0, 0, 0]"),
        "row of zeros": (zeros.tobytes(), "row 7 is not one-hot: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"),
    }


SPRITES = sprite_cases()
LABELS = label_cases()


@pytest.fixture
def good(tmp_path: Path) -> Sprite:
    s = make_sprite(tmp_path, images=IMAGES, side=SIDE)
    return s


def invoke(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def assert_one_error(
    code: int, stdout: str, stderr: str, path: Path | str, message: str, exit_code: int = 1
) -> None:
    assert code == exit_code, stderr
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {path}: "), stderr
    assert message in stderr and "; " in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("case", sorted(SPRITES))
def test_broken_sprite_is_refused_in_one_line(good: Sprite, tmp_path: Path, case: str) -> None:
    data, message = SPRITES[case]
    good.sprite.write_bytes(data)
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    started = time.monotonic()
    code, stdout, stderr = invoke(["convert", *good.args(), *CONVERT, "--out", str(out), "--force"])
    assert time.monotonic() - started < 10
    assert_one_error(code, stdout, stderr, good.sprite, message)
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels_uint8", "out.npz", "sprite.png"]


@pytest.mark.parametrize("case", sorted(LABELS))
def test_broken_label_file_is_refused_in_one_line(good: Sprite, tmp_path: Path, case: str) -> None:
    data, message = LABELS[case]
    good.labels.write_bytes(data)
    out = tmp_path / "out.npz"
    code, stdout, stderr = invoke(["convert", *good.args(), *CONVERT, "--out", str(out)])
    assert_one_error(code, stdout, stderr, good.labels, message)
    assert not out.exists()


def test_width_that_is_not_the_image_size(good: Sprite, tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        ["convert", *good.args(), "--train-size", "8", "--out", str(tmp_path / "o.npz")]
    )
    # The default --image-size does not fit this sprite: an option that does not fit, exit 2.
    assert_one_error(code, stdout, stderr, good.sprite, "16 pixels wide, but one 28x28 image", 2)


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo"])
def test_inputs_that_are_not_readable_files(good: Sprite, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "input"
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    message = {
        "missing": "no such file",
        "directory": "is a directory",
        "fifo": "is not a regular file",
    }[kind]
    for args in (
        ["--sprite", str(target), "--labels", str(good.labels)],
        ["--sprite", str(good.sprite), "--labels", str(target)],
    ):
        code, stdout, stderr = invoke(["convert", *args, *CONVERT, "--out", str(tmp_path / "o")])
        assert_one_error(code, stdout, stderr, target, message)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_input(good: Sprite, tmp_path: Path) -> None:
    good.sprite.chmod(0)
    code, stdout, stderr = invoke(["convert", *good.args(), *CONVERT, "--out", str(tmp_path / "o")])
    assert_one_error(code, stdout, stderr, good.sprite, "cannot read")


def test_missing_output_folder(good: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "o.npz"
    code, stdout, stderr = invoke(["convert", *good.args(), *CONVERT, "--out", str(out)])
    assert_one_error(code, stdout, stderr, out, "the folder")
    assert "does not exist; create it first" in stderr


def test_read_only_output_folder(
    good: Sprite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    out = folder / "o.npz"
    if os.geteuid() == 0:  # root writes anywhere: refuse the write as a read-only mount would
        real_touch = Path.touch

        def refuse(self: Path, *args: object, **kwargs: object) -> None:
            if self.parent == folder:
                raise PermissionError(13, "Permission denied", str(self))
            real_touch(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "touch", refuse)
    else:
        folder.chmod(0o555)
    code, stdout, stderr = invoke(["convert", *good.args(), *CONVERT, "--out", str(out)])
    assert_one_error(code, stdout, stderr, out, "cannot write: Permission denied")
    assert list(folder.iterdir()) == []


def run_cli(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mnist_sprite", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Sprite:
    """A sprite large enough that writing it takes a moment (60,000 images of 28x28)."""
    folder = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (60_000, 784), dtype=np.uint8)
    sprite = folder / "sprite.png"
    sprite.write_bytes(pngkit.gray_png(pixels))
    labels = folder / "labels"
    labels.write_bytes(np.eye(10, dtype=np.uint8)[np.arange(60_000) % 10].tobytes())
    return Sprite(sprite, labels, pixels, np.arange(60_000) % 10)


def test_disk_full_is_one_line_and_leaves_nothing(big: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    out.write_bytes(b"precious")

    def limit() -> None:  # a 20 MB file size limit: writes fail with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (20 << 20, 20 << 20))

    proc = run_cli(
        ["convert", *big.args(), "--train-size", "50000", "--out", str(out), "--force"],
        preexec_fn=limit,
    )
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and stdout == b""
    assert stderr.decode().startswith(f"error: {out}: cannot write: File too large; free some")
    assert stderr.count(b"\n") == 1
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npz"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_write_leaves_existing_output_untouched(
    big: Sprite, tmp_path: Path, signum: int
) -> None:
    out = tmp_path / "o.npz"
    out.write_bytes(b"precious")
    proc = run_cli(
        [
            "convert",
            *big.args(),
            "--train-size",
            "50000",
            "--out",
            str(out),
            "--force",
            "--dtype",
            "float64",
        ]
    )
    wait_for_temp(tmp_path, proc)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and stdout == b""
    assert stderr.decode() == (
        "error: interrupted; nothing was written and existing files are unchanged\n"
    )
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npz"]


def wait_for_temp(folder: Path, proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        temps = [p for p in folder.iterdir() if ".mnist-sprite-" in p.name]
        if temps and temps[0].stat().st_size > 0:
            return temps[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no temporary output appeared")


def test_after_sigkill_only_a_named_temp_remains_and_the_next_run_cleans_it(
    big: Sprite, tmp_path: Path
) -> None:
    out = tmp_path / "o.npz"
    args = ["convert", *big.args(), "--train-size", "50000", "--out", str(out), "-q"]
    proc = run_cli([*args, "--dtype", "float64"])
    temp = wait_for_temp(tmp_path, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert temp.exists() and temp.name.startswith(".o.npz.mnist-sprite-")
    assert not out.exists()
    proc = run_cli(args)
    assert proc.communicate(timeout=60)[1] == b"" and proc.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npz"]


def test_closed_stdout_ends_quietly(big: Sprite) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m mnist_sprite convert {' '.join(big.args())} --train-size 50000 "
        '--out - | head -c 100 > /dev/null; echo "${PIPESTATUS[0]}" >&2',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=60,
    )
    assert proc.stderr.decode() == "1\n"


def test_stdout_failure_half_way_writes_nothing(good: Sprite) -> None:
    data = bytearray(good.sprite.read_bytes())
    data[-20] ^= 1  # the IDAT's CRC fails after the rows were decoded
    good.sprite.write_bytes(bytes(data))
    proc = run_cli(["convert", *good.args(), *CONVERT, "--out", "-"])
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and stdout == b"" and b"CRC mismatch" in stderr


def _peak_rss_mb_of(args: list[str]) -> float:
    code = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:]);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "mnist_sprite", *args],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return float(out.stdout)


def test_bomb_is_refused_in_bounded_memory(good: Sprite, tmp_path: Path) -> None:
    good.sprite.write_bytes(SPRITES["decompression bomb"][0])
    peak = _peak_rss_mb_of(["convert", *good.args(), *CONVERT, "--out", str(tmp_path / "o")])
    assert peak < 300


@pytest.mark.parametrize("case", sorted(SPRITES))
def test_broken_sprite_inspect_is_one_line_and_verify_fails(good: Sprite, case: str) -> None:
    data, message = SPRITES[case]
    good.sprite.write_bytes(data)
    started = time.monotonic()
    code, stdout, stderr = invoke(["inspect", str(good.sprite), "--image-size", "4x4"])
    if case in ("empty", "not a png"):  # not recognizable as a sprite at all
        assert code == 1 and stdout == "" and stderr.count("\n") == 1
        assert stderr.startswith(f"error: {good.sprite}: ")
    else:
        assert_one_error(code, stdout, stderr, good.sprite, message)
    result = CliRunner().invoke(cli, ["verify", *good.args()])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "FAIL  sprite intact" in result.stdout and message in result.stdout
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("case", sorted(LABELS))
def test_broken_label_file_fails_verify(good: Sprite, case: str) -> None:
    data, message = LABELS[case]
    good.labels.write_bytes(data)
    result = CliRunner().invoke(cli, ["verify", *good.args(), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert not report["ok"]
    assert any(c["name"] == "labels one-hot" and message in c["detail"] for c in report["checks"])
    code, stdout, stderr = invoke(["inspect", str(good.labels), "--json"])
    if case in ("empty", "ragged"):
        assert code == 1 and stderr.startswith(f"error: {good.labels}: ")
        assert json.loads(stdout) == {"ok": False, "error": stderr[7:-1], "exit_code": 1}
    elif case in ("long", "short"):  # whole one-hot rows: a good label file, of another sprite
        assert code == 0 and json.loads(stdout)["ok"] is True
    else:  # a damaged label file: its facts, bad rows included, and exit 1
        facts = json.loads(stdout)
        assert code == 1 and facts["kind"] == "labels" and facts["ok"] is False
        assert stderr.startswith(f"error: {good.labels}: ") and "not one-hot" in stderr


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[: len(b) // 2], "is not a readable .npz"),
        (lambda b: b"PK\x03\x04" + bytes(100), "is not a readable .npz"),
    ],
)
def test_broken_output_is_one_line_for_inspect_and_verify(
    good: Sprite, tmp_path: Path, damage: Any, message: str
) -> None:
    out = tmp_path / "o.npz"
    assert invoke(["convert", *good.args(), *CONVERT, "--out", str(out), "-q"])[0] == 0
    out.write_bytes(damage(out.read_bytes()))
    for args in (["inspect", str(out)], ["verify", str(out), *good.args()]):
        code, stdout, stderr = invoke(args)
        assert_one_error(code, stdout, stderr, out, message)


def test_truncated_npy_member_is_reported(good: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "npy"
    assert invoke(["convert", *good.args(), *CONVERT, "--format", "npy", "--out", str(out)])[0] == 0
    x = out / "x_train.npy"
    x.write_bytes(x.read_bytes()[:-7])
    code, stdout, stderr = invoke(["inspect", str(out)])
    assert_one_error(code, stdout, stderr, x, "array x_train is truncated")
    result = CliRunner().invoke(cli, ["verify", str(out), *good.args()])
    assert result.exit_code == 1
    assert f"FAIL  x_train: {x}: array x_train is truncated" in result.stdout  # names the file


HOSTILE = ["", "-1", "nan", "../..", "x" * 300, "\x00", "999999999999999999999", "-"]


BASES = {
    "convert": ["--dataset", "sample", "--out", "{tmp}/o.npz"],
    "fetch": ["--dataset", "sample", "--cache-dir", "{tmp}/c"],
    "inspect": [str(SAMPLE_SPRITE)],
    "verify": ["--dataset", "sample"],
    "pack": ["{tmp}/in.npz", "--out", "{tmp}/web"],
}


def _cases() -> list[tuple[str, str]]:
    out = []
    for name, command in sorted(cli.commands.items()):
        for param in command.params:
            opts = [o for o in param.opts if o.startswith("--")]
            if opts and not getattr(param, "is_flag", False) and opts[0] != "--help":
                out.append((name, opts[0]))
    return out


@pytest.mark.parametrize(("command", "option"), _cases())
def test_hostile_option_values_never_give_a_traceback(
    tmp_path: Path, command: str, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole CLI with hostile option values: never a traceback. A value that
    names a file (``--out -1``) lands in tmp_path, never in the working tree."""
    monkeypatch.chdir(tmp_path)
    base = [a.replace("{tmp}", str(tmp_path)) for a in BASES[command]]
    if command == "pack":  # something to pack
        import numpy as np

        x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])
        np.savez(tmp_path / "in.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    env = {"MNIST_SPRITE_CACHE": str(tmp_path / "cache")}
    for value in HOSTILE:
        result = CliRunner(env=env).invoke(cli, [command, *base, option, value])
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.stderr
        if command == "verify" and result.exit_code == 1 and "FAILED:" in result.stdout:
            continue  # a value that fails a check: the report says so, on stdout
        if result.exit_code:
            assert result.exit_code in (1, 2), (option, value, result.stderr)
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, (
                option,
                value,
                result.stderr,
            )
