"""The decoder gives pypng's pixels for every valid encoding: colour types, depths, filters."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import png
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_sprite.errors import PngFormatError
from mnist_sprite.png import PngFile, pixels_sha256, read_red
from tests import pngkit
from tests.conftest import REAL_SPRITE, needs_real

COLORS = {"gray": 0, "rgb": 2, "palette": 3, "gray_alpha": 4, "rgba": 6}
DEPTHS = {
    "gray": (1, 2, 4, 8, 16),
    "rgb": (8, 16),
    "palette": (1, 2, 4, 8),
    "gray_alpha": (8, 16),
    "rgba": (8, 16),
}
CHANNELS = {"gray": 1, "rgb": 3, "palette": 1, "gray_alpha": 2, "rgba": 4}


def canvas_red(r: int, a: int) -> int:
    """What Chromium's canvas gives back for red ``r`` at alpha ``a``, one pixel at a time,
    as measured (premultiply rounded half up, then float32 unpremultiply rounded to even)."""
    if a == 0:
        return 0
    f32 = np.float32
    p = (2 * r * a + 255) // 510
    v = (f32(p) * f32(1 / 255)) * (f32(1) / (f32(a) * f32(1 / 255)))
    return int(np.rint(min(max(v, f32(0)), f32(1)) * f32(255)))


def pypng_red(data: bytes) -> np.ndarray[Any, Any]:
    """The red channel as the browser's rules derive it from pypng's own rows.

    pypng's asDirect() expands palettes and turns tRNS into an alpha channel; a sample keeps
    its high byte (16 bits) or scales exactly (fewer than 8); alpha goes through the canvas.
    """
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    planes = info["planes"]
    depth = info["bitdepth"]
    out = np.zeros((height, width), np.uint8)

    def to8(v: int) -> int:
        return v >> 8 if depth == 16 else v * 255 // ((1 << depth) - 1)

    for y, row in enumerate(rows):
        values = list(row)
        for x in range(width):
            red = to8(values[x * planes])
            if info["alpha"]:
                red = canvas_red(red, to8(values[x * planes + planes - 1]))
            out[y, x] = red
    return out


@st.composite
def images(draw: st.DrawFn) -> tuple[bytes, str]:
    color = draw(st.sampled_from(sorted(COLORS)))
    depth = draw(st.sampled_from(DEPTHS[color]))
    width = draw(st.integers(1, 19))
    height = draw(st.integers(1, 19))
    top = (1 << depth) - 1
    palette = None
    transparent: Any = None
    if color == "palette":
        n = draw(st.integers(1, min(256, top + 1)))
        planes = draw(st.sampled_from([3, 4]))  # 4: a tRNS chunk of alphas
        palette = [tuple(draw(st.integers(0, 255)) for _ in range(planes)) for _ in range(n)]
        top = n - 1
    samples = width * CHANNELS[color]
    seed = draw(st.integers(0, 2**32 - 1))
    rows = np.random.default_rng(seed).integers(0, top + 1, (height, samples))
    if color in ("gray", "rgb") and draw(st.booleans()):  # a tRNS colour key that occurs
        first = rows[0, : CHANNELS[color]].tolist()
        transparent = first[0] if color == "gray" else tuple(first)
    interlace = draw(st.booleans())
    data = pngkit.write_png(
        rows,
        width,
        height,
        color=color,
        depth=depth,
        interlace=interlace,
        palette=palette,
        transparent=transparent,
    )
    filters = draw(st.lists(st.integers(0, 4), min_size=1, max_size=8))
    level = draw(st.integers(0, 9))
    idat_size = draw(st.sampled_from([1, 7, 64, 1 << 16]))
    return pngkit.refilter(data, filters, level=level, idat_size=idat_size), color


def write(tmp_path: Path, data: bytes, name: str = "x.png") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(images())
def test_every_encoding_decodes_to_pypngs_pixels(tmp_path: Path, case: tuple[bytes, str]) -> None:
    data, _color = case
    path = write(tmp_path, data)
    expected = pypng_red(data)
    assert np.array_equal(read_red(path), expected)
    assert np.array_equal(read_red(path, "pypng"), expected)


@pytest.mark.parametrize("filters", [0, 1, 2, 3, 4, "adaptive", [4, 0, 3, 3, 1, 2, 2, 4, 0]])
@pytest.mark.parametrize("interlace", [False, True])
def test_filters_equal_pypng_on_larger_images(
    tmp_path: Path, filters: Any, interlace: bool
) -> None:
    rows = np.random.default_rng(7).integers(0, 256, (300, 57))
    rows[50:90] = 0  # flat areas, as in digits
    data = pngkit.write_png(rows, 57, 300, interlace=interlace)
    path = write(tmp_path, pngkit.refilter(data, filters, level=9, idat_size=333))
    assert np.array_equal(read_red(path), rows)


def test_sixteen_bit_samples_keep_their_high_byte_as_chromium_does(tmp_path: Path) -> None:
    # Measured in headless Chromium 156 (make browser-check): all 65,536 gray values give v >> 8,
    # where rounding (v * 255 + 32767) // 65535 agrees for only 49,280 of them.
    values = np.array([[0, 128, 129, 257, 32767, 32768, 65279, 65535]])
    path = write(tmp_path, pngkit.write_png(values, 8, 1, depth=16))
    assert read_red(path).tolist() == [[0, 0, 0, 1, 127, 128, 254, 255]]


def test_low_bit_depths_scale_to_full_range(tmp_path: Path) -> None:
    for depth, scale in ((1, 255), (2, 85), (4, 17)):
        values = np.arange(1 << depth)[None, :]
        path = write(tmp_path, pngkit.write_png(values, values.shape[1], 1, depth=depth))
        assert read_red(path).tolist() == [list(np.arange(1 << depth) * scale)]


def test_palette_images_take_the_entrys_red(tmp_path: Path) -> None:
    palette = [(10, 20, 30), (200, 0, 0), (7, 255, 255)]
    path = write(tmp_path, pngkit.write_png([[0, 1, 2, 1]], 4, 1, color="palette", palette=palette))
    assert read_red(path).tolist() == [[10, 200, 7, 200]]


def test_alpha_goes_through_the_canvas(tmp_path: Path) -> None:
    # Measured in headless Chromium 156 (make browser-check): red 77 at alpha 200 comes back
    # as 76; alpha 0 as 0.
    rows = [[77, 200, 77, 255, 255, 0, 22, 6, 64, 10]]
    path = write(tmp_path, pngkit.write_png(rows, 5, 1, color="gray_alpha"))
    assert read_red(path).tolist() == [[76, 77, 0, 42, 77]]


def test_canvas_table_is_the_one_chromium_gave() -> None:
    # The 256 x 256 table of (alpha, red) -> red that headless Chromium 156's canvas returned
    # for one RGBA PNG holding every pair (the gray+alpha table was identical).
    from mnist_sprite.png.canvas import alpha_table

    table = alpha_table()
    digest = hashlib.sha256(table.tobytes()).hexdigest()
    assert digest == "5805d98ecffab5131be54d19085a2ac8d0010ac65c6b484729fe2763308b889e"
    assert [canvas_red(r, a) for a, r in ((200, 77), (6, 22), (10, 64), (1, 1), (255, 9))] == [
        int(table[a, r]) for a, r in ((200, 77), (6, 22), (10, 64), (1, 1), (255, 9))
    ]


def test_trns_palette_alpha_and_colour_key(tmp_path: Path) -> None:
    palette = [(77, 0, 0, 200), (9, 9, 9, 255), (50, 1, 1)]
    path = write(tmp_path, pngkit.write_png([[0, 1, 2]], 3, 1, color="palette", palette=palette))
    assert read_red(path).tolist() == [[76, 9, 50]]
    path = write(tmp_path, pngkit.write_png([[5, 6, 5]], 3, 1, transparent=5))
    assert read_red(path).tolist() == [[0, 6, 0]]
    rgb = [[1, 2, 3, 1, 2, 4]]
    path = write(tmp_path, pngkit.write_png(rgb, 2, 1, color="rgb", transparent=(1, 2, 3)))
    assert read_red(path).tolist() == [[0, 1]]


def test_filter_counts_are_read_from_scanlines(tmp_path: Path) -> None:
    rows = np.zeros((10, 5), np.uint8)
    path = write(tmp_path, pngkit.gray_png(rows, filters=[0, 1, 1, 2, 3, 4, 4, 4, 0, 2]))
    with PngFile(path) as p:
        survey = p.survey()
    assert survey.filters == {"none": 2, "sub": 2, "up": 2, "average": 1, "paeth": 3}
    assert survey.chunks["IDAT"] >= 1 and survey.pixels_sha256 == pixels_sha256(path)


# -- refusals ------------------------------------------------------------------------------


def raw_png(*chunks: bytes) -> bytes:
    return pngkit.SIGNATURE + b"".join(chunks)


def idat_for(width: int, height: int, extra: bytes = b"", cut: int = 0) -> bytes:
    raw = (b"\0" + bytes(width)) * height
    raw = raw[: len(raw) - cut] + extra
    return pngkit.chunk(b"IDAT", zlib.compress(raw))


IEND = pngkit.chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"hello world, not an image", "not a PNG file"),
        (b"<!DOCTYPE html><html>", "is an HTML page"),
        (pngkit.SIGNATURE, "ends before its IEND"),
        (raw_png(pngkit.ihdr(3, 2)[:10]), "truncated"),
        (raw_png(pngkit.chunk(b"IHDR", bytes(13), crc=1)), "IHDR chunk is corrupt (CRC"),
        (raw_png(pngkit.ihdr(0, 2), idat_for(0, 2), IEND), "invalid image size 0 x 2"),
        (raw_png(pngkit.ihdr(3, 2, depth=3), idat_for(3, 2), IEND), "invalid bit depth 3"),
        (raw_png(pngkit.ihdr(3, 2, color=5), idat_for(3, 2), IEND), "invalid colour type 5"),
        (
            raw_png(pngkit.ihdr(3, 2), pngkit.chunk(b"ABCD", b""), idat_for(3, 2), IEND),
            "unknown critical chunk ABCD",
        ),
        (raw_png(pngkit.ihdr(3, 2), idat_for(3, 2, cut=4), IEND), "too few rows"),
        (
            raw_png(pngkit.ihdr(3, 2), idat_for(3, 2, extra=b"\0\0\0\0"), IEND),
            "extra data after the last row",
        ),
        (
            raw_png(pngkit.ihdr(3, 2), pngkit.chunk(b"IDAT", b"\x78\x9c\xff\xff"), IEND),
            "corrupt image data",
        ),
        (raw_png(pngkit.ihdr(3, 2), idat_for(3, 2)), "ends before its IEND"),
        (raw_png(pngkit.ihdr(3, 2), idat_for(3, 2), IEND, b"junk"), "extra data after the IEND"),
        (raw_png(pngkit.ihdr(3, 2), IEND), "no IDAT chunk"),
        (raw_png(pngkit.ihdr(3, 2, color=3), idat_for(3, 2), IEND), "without a PLTE"),
        (raw_png(pngkit.ihdr(100_000, 100_000), idat_for(1, 1), IEND), "more than the"),
    ],
)
def test_refuses_broken_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(PngFormatError) as info:
        read_red(path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path) + ": ")
    assert "; " in str(info.value)


def test_refuses_filter_type_outside_0_to_4(tmp_path: Path) -> None:
    raw = b"\0\0\0\0" + b"\x05\0\0\0"
    data = raw_png(pngkit.ihdr(3, 2), pngkit.chunk(b"IDAT", zlib.compress(raw)), IEND)
    with pytest.raises(PngFormatError, match="scanline 1 has invalid filter type 5"):
        read_red(write(tmp_path, data))


def test_refuses_short_idat_stream_that_ends_cleanly(tmp_path: Path) -> None:
    # pypng alone returns one row here without complaint.
    data = raw_png(pngkit.ihdr(3, 2), idat_for(3, 1), IEND)
    for decoder in ("auto", "pypng"):
        with pytest.raises(PngFormatError, match="too few rows"):
            read_red(write(tmp_path, data), decoder)  # type: ignore[arg-type]


def test_refuses_a_bomb_without_inflating_it(tmp_path: Path) -> None:
    width, height = 784, 150_000  # 117 MB of zeros in a 100 kB file, then more
    z = zlib.compressobj(9)
    body = z.compress(bytes(1 << 20) * 120) + z.flush()
    data = raw_png(pngkit.ihdr(width, height), pngkit.chunk(b"IDAT", body), IEND)
    with pytest.raises(PngFormatError, match="extra data after the last row"):
        read_red(write(tmp_path, data))


# -- the real sprite ---------------------------------------------------------------------

SPRITE = REAL_SPRITE


@needs_real
def test_real_sprite_pixels_match_the_published_digest() -> None:
    assert pixels_sha256(SPRITE) == (
        "3d24e455d86b0368a3aed0357241a964514ac2c876e06de3763d756f78082e2e"
    )


@needs_real
def test_real_sprite_filter_histogram() -> None:
    with PngFile(SPRITE) as p:
        assert p.header.width == 784 and p.header.height == 65_000
        survey = p.survey()
    assert survey.filters == {"none": 64_808, "sub": 183, "up": 9, "average": 0, "paeth": 0}
    assert survey.chunks["IDAT"] == 164


def canvas_over(dst: tuple[int, int], r: int, a: int) -> tuple[int, int]:
    """One source-over draw of (r, a) onto a stored premultiplied (p, alpha), as measured."""
    p, da = dst
    keep = 256 - a
    return (2 * r * a + 255) // 510 + (p * keep >> 8), a + (da * keep >> 8)


def read_back(dst: tuple[int, int]) -> int:
    """getImageData's red for a stored premultiplied (p, alpha)."""
    p, a = dst
    if a == 0:
        return 0
    f32 = np.float32
    v = (f32(p) * f32(1 / 255)) * (f32(1) / (f32(a) * f32(1 / 255)))
    return int(np.rint(min(max(v, f32(0)), f32(1)) * f32(255)))


@pytest.mark.parametrize(
    ("first", "second", "browser"),
    [  # (red, alpha) drawn, then (red, alpha) over it: Chromium 156 gave (red, alpha) back
        ((27, 66), (51, 2), (23, 67)),
        ((124, 159), (149, 254), (148, 255)),
        ((2, 21), (254, 2), (23, 22)),
        ((171, 188), (80, 160), (108, 230)),
        ((198, 1), (248, 1), (255, 1)),
        ((12, 1), (95, 1), (0, 1)),
        ((49, 2), (250, 95), (247, 96)),
        ((26, 2), (226, 2), (170, 3)),
    ],
)
def test_canvas_source_over_is_what_chromium_gave(
    first: tuple[int, int], second: tuple[int, int], browser: tuple[int, int]
) -> None:
    state = canvas_over(canvas_over((0, 0), *first), *second)
    assert (read_back(state), state[1]) == browser
    from mnist_sprite.png.canvas import Canvas

    canvas = Canvas(
        1, 2, draw_rows=1
    )  # two rows drawn one at a time: the second lands on the first
    red = canvas.draw(
        np.array([[first[0]], [second[0]]], np.uint8), np.array([[first[1]], [second[1]]], np.uint8)
    )
    assert int(red[1, 0]) == browser[0]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    height=st.integers(1, 30),
    draw_rows=st.integers(1, 12),
    interlace=st.booleans(),
)
def test_transparent_sprite_rows_composite_as_data_js_draws_them(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    height: int,
    draw_rows: int,
    interlace: bool,
) -> None:
    """data.js draws draw_rows rows at a time onto one canvas it never clears."""
    rng = np.random.default_rng(seed)
    width = 5
    pixels = rng.integers(0, 256, (height, width, 2))
    pixels[:, :, 1] = rng.choice([0, 1, 2, 128, 254, 255, *range(0, 256, 37)], (height, width))
    data = pngkit.write_png(pixels.reshape(height, -1), width, height, color="gray_alpha",
                            interlace=interlace)  # fmt: skip
    path = write(tmp_path_factory.mktemp("c"), data)
    expected = np.zeros((height, width), np.uint8)
    state = [[(0, 0)] * width for _ in range(draw_rows)]
    for y in range(height):
        for x in range(width):
            state[y % draw_rows][x] = canvas_over(state[y % draw_rows][x], *pixels[y, x])
            expected[y, x] = read_back(state[y % draw_rows][x])
    for decoder in ("numpy", "pypng"):
        with PngFile(path) as p:
            got = np.concatenate(list(p.red_blocks(decoder, draw_rows=draw_rows)))
        assert np.array_equal(got, expected), decoder


def test_the_decoder_imports_nothing_above_it() -> None:
    """png/ knows PNG, not datasets nor options: it imports only the package's leaves."""
    import ast

    leaves = {"errors", "files", "deflate", "choices"}
    folder = Path(__file__).parent.parent / "mnist_sprite" / "png"
    above = []
    for module in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                if (node.module or "").split(".")[0] not in leaves:
                    above.append(f"{module.name}: {node.module}")
            elif isinstance(node, ast.Import):
                above += [f"{module.name}: {a.name}" for a in node.names if "mnist" in a.name]
    assert above == []
