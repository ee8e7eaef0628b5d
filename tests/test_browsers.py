"""convert, inspect, verify and pack know each engine's canvas and limits: --browser, the
warning when engines disagree, the engine recorded, and Firefox's tallest image."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import png
import pytest

from mnist_sprite.bundle import BROWSER_MAX_ROWS, default_shard_rows
from mnist_sprite.options import BROWSERS
from mnist_sprite.png import read_red
from mnist_sprite.png.canvas import ENGINES, TALLEST_ROWS, alpha_table, gamma_table
from tests import pngkit
from tests.cli_kit import SAMPLE_LABELS, SAMPLE_SPRITE, run


def gray_alpha(tmp_path: Path, rows: int = 50) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (rows, 16), dtype=np.uint8)
    alpha = rng.integers(0, 256, (rows, 16), dtype=np.uint8)
    with open(tmp_path / "ga.png", "wb") as f:
        png.Writer(16, rows, greyscale=True, alpha=True).write(
            f, np.stack([gray, alpha], axis=2).reshape(rows, -1).tolist()
        )
    np.eye(10, dtype=np.uint8)[rng.integers(0, 10, rows)].tofile(tmp_path / "ga_labels")
    args = ["--sprite", str(tmp_path / "ga.png"), "--labels", str(tmp_path / "ga_labels"),
            "--image-size", "4x4", "--train-size", str(rows)]  # fmt: skip
    return args, gray, alpha


def test_engines_are_the_browser_choices() -> None:
    assert ENGINES == BROWSERS == ("chromium", "firefox", "webkit")


@pytest.mark.parametrize("browser", BROWSERS)
def test_convert_gives_each_engines_canvas(tmp_path: Path, browser: str) -> None:
    args, gray, alpha = gray_alpha(tmp_path)
    out = tmp_path / f"{browser}.npz"
    code, _, err = run(
        "convert", *args, "--out", str(out), "--dtype", "uint8", "--browser", browser
    )
    assert code == 0, err
    with np.load(out) as f:
        got = f["x_train"]
    np.testing.assert_array_equal(got, alpha_table(browser)[alpha, gray])
    comment = json.loads(__import__("zipfile").ZipFile(out).comment)
    assert comment["options"]["browser"] == browser
    code, report, _ = run("verify", str(out))
    assert code == 0 and f"as {browser}'s canvas draws them" in report


def test_convert_warns_once_when_engines_disagree(tmp_path: Path) -> None:
    args, gray, alpha = gray_alpha(tmp_path)
    code, _, err = run("convert", *args, "--out", str(tmp_path / "o.npz"))
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    firefox = int(
        np.count_nonzero(alpha_table("firefox")[alpha, gray] != alpha_table()[alpha, gray])
    )
    assert f"firefox {firefox:,}" in warnings[0] and "of 800 values" in warnings[0]
    assert "this output is chromium's" in warnings[0]


def test_an_opaque_sprite_gets_no_engine_warning(tmp_path: Path) -> None:
    code, _, err = run("convert", "--dataset", "sample", "--out", str(tmp_path / "s.npz"))
    assert code == 0 and "warning" not in err
    facts = json.loads(
        run(
            "inspect",
            str(Path(__file__).parent.parent / "mnist_sprite/data/sample_images.png"),
            "--json",
        )[1]
    )
    assert facts["browsers"]["agree"] == list(ENGINES) and facts["browsers"]["differ"] == {}


def test_inspect_says_which_engines_agree(tmp_path: Path) -> None:
    gray_alpha(tmp_path)
    code, text, _ = run("inspect", str(tmp_path / "ga.png"), "--json")
    assert code == 0
    facts = json.loads(text)
    assert facts["browsers"]["agree"] == ["chromium"]
    assert set(facts["browsers"]["differ"]) == {"firefox", "webkit"}
    assert (
        "values that differ from chromium's canvas" in run("inspect", str(tmp_path / "ga.png"))[1]
    )


def test_packs_default_shards_are_within_every_engine() -> None:
    assert BROWSER_MAX_ROWS == TALLEST_ROWS["firefox"] == 65_535
    assert default_shard_rows(28, 28) == 65_535 and default_shard_rows(32, 32) == 65_535


def test_shard_rows_past_an_engines_limit_is_warned(tmp_path: Path) -> None:
    np.savez(tmp_path / "tall.npz", x_train=np.zeros((65_536, 1, 1), np.uint8),
             y_train=np.zeros(65_536, np.uint8), x_test=np.zeros((1, 1, 1), np.uint8),
             y_test=np.zeros(1, np.uint8))  # fmt: skip
    out = tmp_path / "web"
    code, _, err = run(
        "pack", str(tmp_path / "tall.npz"), "--out", str(out), "--shard-rows", "70000"
    )
    assert code == 0, err
    assert "firefox draw(s) nothing of an image taller than 65,535 rows" in err
    code, _, err = run("pack", str(tmp_path / "tall.npz"), "--out", str(out), "--force")
    assert code == 0 and "warning" not in err
    assert len(json.loads((out / "data.json").read_text())["shards"]) == 2


def test_a_sprite_firefox_cannot_draw_is_warned(tmp_path: Path) -> None:
    rows = TALLEST_ROWS["firefox"] + 1  # type: ignore[operator]
    with open(tmp_path / "tall.png", "wb") as f:
        png.Writer(1, rows, greyscale=True).write(f, [[0]] * rows)
    np.eye(10, dtype=np.uint8)[np.zeros(rows, int)].tofile(tmp_path / "tall_labels")
    args = ["--sprite", str(tmp_path / "tall.png"), "--labels", str(tmp_path / "tall_labels"),
            "--image-size", "1x1", "--train-size", str(rows)]  # fmt: skip
    code, _, err = run("convert", *args, "--out", str(tmp_path / "t.npz"))
    assert code == 0 and "firefox draw(s) nothing of an image that tall" in err
    facts = json.loads(run("inspect", str(tmp_path / "tall.png"), "--json")[1])
    assert "firefox" in facts["browser_warning"]


def with_chunks(png: bytes, *extra: tuple[bytes, bytes]) -> bytes:
    """``png`` with ancillary chunks inserted right after IHDR."""
    chunks = pngkit.split_chunks(png)
    return pngkit.SIGNATURE + b"".join(
        pngkit.chunk(t, d) for t, d in [chunks[0], *extra, *chunks[1:]]
    )


GAMMA_1 = (b"gAMA", struct.pack(">I", 100000))


CHRM = (b"cHRM", bytes(32))


@pytest.mark.parametrize(
    ("extra", "warned", "corrected", "disagree"),
    [
        ([GAMMA_1], None, 100000, True),  # corrected as Chromium's canvas corrects it
        ([(b"gAMA", struct.pack(">I", 45000))], None, None, False),  # in every engine's window
        ([(b"gAMA", struct.pack(">I", 47800))], None, 47800, True),  # outside Chromium's alone
        ([(b"iCCP", b"linear\0\0" + bytes(20))], "iCCP (colour profile 'linear')", None, False),
        ([(b"gAMA", struct.pack(">I", 45455))], None, None, False),
        ([(b"sRGB", b"\0"), GAMMA_1], None, None, True),  # Chromium: as stored; Firefox: not
        ([CHRM], None, None, False),
        ([GAMMA_1, CHRM], "gAMA 1 and cHRM", None, True),  # Chromium: a full conversion
        ([], None, None, False),
    ],
)
def test_colour_chunks_are_drawn_as_the_engine_draws_them_or_warned(
    tmp_path: Path,
    extra: list[tuple[bytes, bytes]],
    warned: str | None,
    corrected: int | None,
    disagree: bool,
) -> None:
    """Colour chunks: a gAMA correction the engine makes is made (its table, measured value by
    value), one this tool does not reproduce is warned, engines that draw it otherwise are
    named, and the rest is silent."""
    pixels = read_red(SAMPLE_SPRITE)
    sprite = tmp_path / "s.png"
    sprite.write_bytes(with_chunks(pngkit.gray_png(pixels), *extra))
    labels = shutil.copy(SAMPLE_LABELS, tmp_path / "l")
    out = tmp_path / "o.npz"
    code, _, stderr = run(
        "convert", "--sprite", str(sprite), "--labels", str(labels), "--train-size", "800",
        "--out", str(out), "-q",
    )  # fmt: skip
    assert code == 0
    lines = stderr.splitlines()
    assert len(lines) == (warned is not None) + disagree, stderr
    if warned is not None:
        assert lines[0].startswith(f"warning: {sprite}: {warned}")
        facts = json.loads(run("inspect", str(sprite), "--json")[1])
        assert warned in facts["browser_warning"]
        assert "colour-corrects" in run("inspect", str(sprite))[1]
    if disagree:
        assert lines[-1].startswith(f"warning: {sprite}: browsers' canvases disagree")
        assert lines[-1].endswith("this output is chromium's (--browser chromium, firefox or "
                                  "webkit for another)")  # fmt: skip
    table = gamma_table("chromium", corrected) if corrected else None
    drawn = pixels if table is None else table[pixels]
    with np.load(out) as z:
        assert np.array_equal(z["x_train"], drawn[:800] / np.float32(255))


def test_each_engines_gamma_window_and_table() -> None:
    """The windows measured, and the tables' anchors: stored 1 at gamma 1.0 becomes 13 in
    Chromium and 21 in Firefox and WebKit."""
    assert gamma_table("chromium", 47727) is None and gamma_table("chromium", 47728) is not None
    assert gamma_table("firefox", 47847) is None and gamma_table("firefox", 47848) is not None
    for engine in ("chromium", "firefox", "webkit"):
        assert gamma_table(engine, 43182) is None and gamma_table(engine, 43181) is not None
    assert [int(gamma_table(e, 100000)[1]) for e in ("chromium", "firefox", "webkit")] == [
        13,
        21,
        21,
    ]  # type: ignore[index]


def test_firefox_corrects_gamma_despite_srgb_and_convert_follows_the_browser_asked_for(
    tmp_path: Path,
) -> None:
    pixels = read_red(SAMPLE_SPRITE)
    sprite = tmp_path / "s.png"
    sprite.write_bytes(with_chunks(pngkit.gray_png(pixels), (b"sRGB", b"\0"), GAMMA_1))
    (x, _), _ = __import__("mnist_sprite").load_data(
        sprite=sprite, labels=SAMPLE_LABELS, train_size=800, dtype="uint8", browser="firefox"
    )
    assert np.array_equal(x, gamma_table("firefox", 100000)[pixels[:800]])  # type: ignore[index]


def test_load_data_warns_in_python(tmp_path: Path) -> None:
    """Colour chunks: warned where a browser changes colours, silent where it does not."""
    import mnist_sprite

    sprite = tmp_path / "s.png"
    sprite.write_bytes(with_chunks(SAMPLE_SPRITE.read_bytes(), GAMMA_1, CHRM))
    with pytest.warns(mnist_sprite.ColourWarning, match="gAMA 1 and cHRM"):
        mnist_sprite.load_data(sprite=sprite, labels=SAMPLE_LABELS, train_size=800)
