"""pack's steps for a user's own images (``mnist_sprite/imaging``): resize and grayscale held
against TensorFlow.js's own ops under Node, the box average against exact fractions, crop and
pad, and what pack makes of transparent drawings, photos, mixed sizes and colours."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_sprite.imaging import check, ops
from mnist_sprite.png import read_image
from mnist_sprite.png.canvas import ENGINES, keep, premultiply_table
from tests.cli_kit import packed, run

ROOT = Path(__file__).resolve().parent.parent
TFJS = ROOT / ".tfjs" / "node_modules" / "@tensorflow" / "tfjs"
OPS_JS = ROOT / "tests" / "js" / "tfjs_ops.cjs"
Image = pytest.importorskip("PIL.Image")


def tfjs(cases: list[dict[str, Any]]) -> list[np.ndarray[Any, Any]]:
    """Each case's result from @tensorflow/tfjs's CPU backend under Node, as float32."""
    node = shutil.which("node")
    if node is None or not TFJS.is_dir():
        pytest.skip("needs node and @tensorflow/tfjs in .tfjs/: run make test")
    env = {**os.environ, "TFJS_PATH": str(TFJS)}
    done = subprocess.run(
        [node, str(OPS_JS)], input=json.dumps(cases), capture_output=True, text=True, env=env,
        check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["backend"] == "cpu"
    return [np.frombuffer(base64.b64decode(r), "<f4") for r in out["results"]]


def test_bilinear_equals_tfjs_resize_bilinear_up_and_down() -> None:
    rng = np.random.default_rng(7)
    cases, ours = [], []
    for _ in range(120):
        h, w = (int(v) for v in rng.integers(1, 48, 2))
        c = int(rng.choice([1, 3]))
        image = rng.integers(0, 256, (h, w, c)).astype(np.uint8)
        size = [int(v) for v in rng.integers(1, 80, 2)]
        cases.append({"op": "resizeBilinear", "shape": [h, w, c], "values": image.ravel().tolist(),
                      "size": size})  # fmt: skip
        ours.append(ops.bilinear_float(image, *size))
    for got, mine in zip(tfjs(cases), ours, strict=True):
        assert np.array_equal(got, mine.ravel())  # every float32 bit, before rounding
        rounded = np.floor(got.astype(np.float64) + 0.5).astype(np.uint8)  # Math.round
        assert np.array_equal(rounded, ops.round_half_up(mine).ravel())


def test_gray_equals_tfjs_rgb_to_grayscale_on_a_million_colours() -> None:
    rng = np.random.default_rng(8)
    rgb = rng.integers(0, 256, (1000, 1000, 3)).astype(np.uint8)
    v = np.arange(256, dtype=np.uint8)
    rgb[0, :256] = np.stack([v, v, v], axis=-1)  # every gray: rounds back to itself
    rgb[1, :256, 0], rgb[2, :256, 1], rgb[3, :256, 2] = v, v, v
    (got,) = tfjs([{"op": "rgbToGrayscale", "shape": [1000, 1000, 3],
                    "values": rgb.ravel().tolist()}])  # fmt: skip
    assert np.array_equal(got, ops.gray_float(rgb).ravel())
    assert np.array_equal(ops.to_gray(rgb)[0, :256], v)


def _area_reference(image: np.ndarray[Any, Any], height: int, width: int) -> np.ndarray[Any, Any]:
    """The box average over each output pixel's footprint, in exact fractions."""
    old_h, old_w = image.shape
    out = np.zeros((height, width), np.uint8)
    for i in range(height):
        for j in range(width):
            total = Fraction(0)
            y0, y1 = Fraction(i * old_h, height), Fraction((i + 1) * old_h, height)
            x0, x1 = Fraction(j * old_w, width), Fraction((j + 1) * old_w, width)
            for y in range(int(y0), min(old_h, int(np.ceil(y1)))):
                cover_y = min(y1, y + 1) - max(y0, y)
                for x in range(int(x0), min(old_w, int(np.ceil(x1)))):
                    cover_x = min(x1, x + 1) - max(x0, x)
                    total += cover_y * cover_x * int(image[y, x])
            mean = total / ((y1 - y0) * (x1 - x0))
            out[i, j] = int(mean + Fraction(1, 2))  # halves up
    return out


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_area_is_the_exact_box_average(data: st.DataObject) -> None:
    h, w = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12))
    height, width = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12))
    seed = data.draw(st.integers(0, 2**32 - 1))
    image = np.random.default_rng(seed).integers(0, 256, (h, w)).astype(np.uint8)
    assert np.array_equal(ops.area(image, height, width), _area_reference(image, height, width))
    colour = np.stack([image, 255 - image, image // 2], axis=-1)
    assert np.array_equal(ops.area(colour, height, width)[..., 1],
                          _area_reference(255 - image, height, width))  # fmt: skip


def test_crop_keeps_the_centred_region_and_pad_centres_on_the_value() -> None:
    image = np.arange(6 * 10, dtype=np.uint8).reshape(6, 10)
    assert np.array_equal(ops.crop(image, (1, 1)), image[:, 2:8])
    assert np.array_equal(ops.crop(image, (3, 5)), image)
    padded = ops.pad(image, (1, 1), 200)
    assert padded.shape == (10, 10) and (padded[:2] == 200).all() and (padded[8:] == 200).all()
    assert np.array_equal(padded[2:8], image)


# -- pack of a user's own folders --------------------------------------------------------------


def drawings(root: Path, ink: tuple[int, int, int] = (0, 0, 0), n: int = 10) -> Path:
    """Canvas drawings: strokes of ``ink`` on a transparent background, anti-aliased."""
    rng = np.random.default_rng(3)
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(n):
            alpha = np.zeros((20, 20), np.uint8)
            alpha[4:16, 5 + (c == "dog") * 4 : 9 + (c == "dog") * 4] = rng.integers(1, 256, (12, 4))
            rgba = np.zeros((20, 20, 4), np.uint8)
            rgba[..., :3], rgba[..., 3] = ink, alpha
            Image.fromarray(rgba, "RGBA").save(root / c / f"{i}.png")
    return root


def sprite_of(web: Path) -> np.ndarray[Any, Any]:
    """The pack's sprite, one row per image."""
    values = read_image(packed(web)[0])
    return values.reshape(values.shape[0], -1)


def test_a_transparent_drawing_is_refused_naming_alpha_and_its_choices(tmp_path: Path) -> None:
    src = drawings(tmp_path / "draw")
    code, out, err = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 1 and out == "" and not (tmp_path / "web").exists()
    assert err.count("\n") == 1 and "not fully opaque" in err
    assert all(word in err for word in ("--alpha ink", "white", "black", "ignore"))


@pytest.mark.parametrize("rule", ["ink", "white", "black", "ignore"])
def test_alpha_rules_give_the_values_each_rule_names(tmp_path: Path, rule: str) -> None:
    src = drawings(tmp_path / "draw", ink=(0, 0, 0))
    web = tmp_path / "web"
    code, _, err = run("pack", str(src), "--out", str(web), "--alpha", rule, "--test-size", "0")
    assert code == 0, err
    sprite = sprite_of(web)
    alphas = sorted(  # every source image's alpha, as a multiset of rows
        np.asarray(Image.open(p))[..., 3].ravel().tobytes() for p in sorted(src.rglob("*.png"))
    )
    if rule == "ink":  # the value is the alpha: MNIST's white on black
        assert sorted(row.tobytes() for row in sprite) == alphas
    elif rule == "black" or rule == "ignore":  # black ink: black over black, or 0 premultiplied
        assert not sprite.any()
    else:  # black ink over white: 255 where clear, darker with more ink, exactly Skia's blend
        a = np.frombuffer(b"".join(alphas), np.uint8)
        expected = premultiply_table("chromium")[a, 0] + keep(np.full_like(a, 255), a, "chromium")
        assert sorted(row.tobytes() for row in sprite) == sorted(
            expected[i : i + 400].tobytes() for i in range(0, a.size, 400)
        )
    code, report, _ = run("verify", str(web / "data.json"), "--source", str(src))
    assert code == 0, report
    recorded = json.loads((web / "data.json").read_text())["provenance"]["options"]
    assert recorded["alpha"] == rule


def test_white_ink_keeps_its_anti_aliasing_with_alpha_ink(tmp_path: Path) -> None:
    src = drawings(tmp_path / "draw", ink=(255, 255, 255))
    web = tmp_path / "web"
    code, _, err = run("pack", str(src), "--out", str(web), "--alpha", "ink")
    assert code == 0, err
    values = np.unique(sprite_of(web))
    assert len(values) > 100  # every alpha level, not 0 and 255 only


def test_over_white_follows_each_engines_blend(tmp_path: Path) -> None:
    colour = np.arange(256, dtype=np.uint8)[None, :].repeat(256, 0)
    alpha = np.arange(256, dtype=np.uint8)[:, None].repeat(256, 1)
    from mnist_sprite.png.canvas import over_fill

    for engine in ENGINES:
        white = over_fill(colour, alpha, 255, engine)
        black = over_fill(colour, alpha, 0, engine)
        assert (white[0] == 255).all() and (black[0] == 0).all()  # clear: the fill
        assert np.array_equal(white[255], colour[255]) and np.array_equal(black[255], colour[255])
        exact_white = colour * (alpha / 255) + 255 * (1 - alpha / 255)
        assert np.abs(white - exact_white).max() <= 2  # an 8-bit blend of the same picture


def photos(root: Path, sizes: list[tuple[int, int]], gray: bool = False) -> Path:
    rng = np.random.default_rng(5)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            shape = (h, w) if gray else (h, w, 3)
            image = rng.integers(0, 256, shape).astype(np.uint8)
            Image.fromarray(image).save(root / c / f"{i}.jpg", quality=85)
    return root


def test_photos_pack_as_pillow_decodes_them(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(24, 32)] * 4)
    web = tmp_path / "web"
    code, _, err = run("pack", str(src), "--out", str(web), "--test-size", "0", "--seed", "1")
    assert code == 0, err
    sprite = sprite_of(web)
    assert sprite.shape == (8, 24 * 32 * 3)
    decoded = sorted(np.asarray(Image.open(p).convert("RGB")).tobytes() for p in src.rglob("*.jpg"))
    assert sorted(row.tobytes() for row in sprite) == decoded


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_browsers_draw_it(tmp_path: Path, orientation: int) -> None:
    from PIL import ImageOps

    rng = np.random.default_rng(orientation)
    image = Image.fromarray(rng.integers(0, 256, (12, 20, 3)).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    for c in ("a", "b"):
        (tmp_path / "src" / c).mkdir(parents=True)
        image.save(tmp_path / "src" / c / "0.jpg", exif=exif, quality=95)
    web = tmp_path / "web"
    code, _, err = run("pack", str(tmp_path / "src"), "--out", str(web), "--test-size", "0")
    assert code == 0, err
    with Image.open(tmp_path / "src/a/0.jpg") as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    facts = json.loads((web / "data.json").read_text())
    assert (facts["image_height"], facts["image_width"]) == upright.shape[:2]
    assert np.array_equal(sprite_of(web)[0], upright.ravel())


def test_without_pillow_a_jpeg_is_one_line_naming_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnist_sprite.imaging import decoders

    src = photos(tmp_path / "photos", [(8, 8)] * 2)
    monkeypatch.setattr(decoders, "pillow", lambda: None)
    code, out, err = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "pip install 'mnist-sprite[images]'" in err and ".jpg" in err


def test_images_of_different_sizes_are_refused_naming_two_and_resize(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(24, 32), (30, 40)])
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 1 and err.count("\n") == 1
    assert err.count("photos/") == 2 and "30x40" in err and "24x32" in err and "--resize" in err


@pytest.mark.parametrize("fit", ["stretch", "crop", "pad"])
@pytest.mark.parametrize("resample", ["area", "bilinear"])
def test_resize_makes_every_image_one_size(tmp_path: Path, fit: str, resample: str) -> None:
    src = photos(tmp_path / "photos", [(24, 32), (30, 40), (50, 20)])
    web = tmp_path / "web"
    args = ["--resize", "16x16", "--fit", fit, "--resample", resample, "--test-size", "0"]
    code, _, err = run("pack", str(src), "--out", str(web), *args)
    assert code == 0, err
    sprite = sprite_of(web)
    recipe = check(resize=(16, 16), fit=fit, resample=resample)
    made = []
    for p in src.rglob("*.jpg"):
        from mnist_sprite.imaging import decode

        made.append(recipe.apply(decode(p, src, "chromium"), p, (16, 16, 3), "").tobytes())
    assert sorted(row.tobytes() for row in sprite) == sorted(made)
    code, report, _ = run("verify", str(web / "data.json"), "--source", str(src))
    assert code == 0, report


def test_a_colour_image_after_gray_ones_is_refused_naming_channels(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(8, 8)] * 3, gray=True)
    Image.fromarray(np.full((8, 8, 3), (200, 10, 10), np.uint8)).save(src / "b" / "9.png")
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--test-size", "0")
    assert code == 1 and "--channels rgb" in err and "--channels gray" in err
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--channels", "gray")
    assert code == 0, err
    gray = sprite_of(tmp_path / "web")
    assert gray.shape[1] == 64
    want = ops.to_gray(np.full((8, 8, 3), (200, 10, 10), np.uint8))
    assert any(np.array_equal(row, want.ravel()) for row in gray)


def test_a_pack_has_a_stratified_test_part_by_default(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(8, 8)] * 10)
    web = tmp_path / "web"
    code, _, err = run("pack", str(src), "--out", str(web))
    assert code == 0, err
    facts = json.loads((web / "data.json").read_text())
    assert facts["images"] == 20 and facts["train_images"] == 16  # 15% of 10, rounded: 2 each
    assert facts["provenance"]["options"]["test_size"] == "default"
    assert "warning" not in err and "15% of each class" in err
    code, report, _ = run("verify", str(web / "data.json"), "--source", str(src))
    assert code == 0, report


def test_the_default_test_part_holds_one_image_of_a_small_class(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(8, 8)] * 2)
    web = tmp_path / "web"
    code, _, err = run("pack", str(src), "--out", str(web))
    assert code == 0, err
    facts = json.loads((web / "data.json").read_text())
    assert (facts["images"], facts["train_images"]) == (4, 2)
    (src / "c").mkdir()
    (src / "a" / "0.jpg").rename(src / "c" / "0.jpg")
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web2"))
    assert code == 2 and "has 1 image, too few for the default test part" in err
    assert "--test-size 0" in err


def test_test_size_0_asks_for_none_and_says_get_test_data_is_empty(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(8, 8)] * 4)
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--test-size", "0")
    assert code == 0
    assert "getTestData() is empty" in err and err.startswith("warning: ")
    facts = json.loads((tmp_path / "web" / "data.json").read_text())
    assert facts["train_images"] == facts["images"] == 8


def test_a_truncated_jpeg_is_refused_named(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(16, 16)] * 2)
    victim = src / "a" / "1.jpg"
    victim.write_bytes(victim.read_bytes()[:200])
    code, out, err = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 1 and out == "" and str(victim) in err and err.count("\n") == 1


def test_a_jpeg_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    src = photos(tmp_path / "photos", [(16, 16)] * 2)
    bomb = io.BytesIO()
    Image.new("L", (8192, 8192)).save(bomb, "JPEG", quality=1)
    (src / "a" / "1.jpg").write_bytes(bomb.getvalue())
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--resize", "8x8")
    assert code == 1 and "8192x8192" in err and "more than the 16,777,216" in err


# -- a .zip of class folders ----------------------------------------------------------------


def zipped(folder: Path, archive: Path, top: str = "") -> Path:
    import zipfile

    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, top + p.relative_to(folder).as_posix())
        z.writestr("__MACOSX/a/._0.jpg", b"resource fork")  # skipped, as a Mac's zip holds
    return archive


@pytest.mark.parametrize("top", ["", "dataset/"])
def test_a_zip_of_class_folders_packs_as_the_folder_it_holds(tmp_path: Path, top: str) -> None:
    src = photos(tmp_path / "photos", [(8, 8)] * 4)
    archive = zipped(src, tmp_path / "photos.zip", top)
    for source, web in ((src, tmp_path / "from_folder"), (archive, tmp_path / "from_zip")):
        code, _, err = run("pack", str(source), "--out", str(web), "--resize", "4x4")
        assert code == 0, err
    assert np.array_equal(sprite_of(tmp_path / "from_folder"), sprite_of(tmp_path / "from_zip"))
    code, report, _ = run("verify", str(tmp_path / "from_zip/data.json"), "--source", str(archive))
    assert code == 0, report


def _hostile_zip(tmp_path: Path, kind: str) -> Path:
    import zipfile

    archive = tmp_path / f"{kind}.zip"
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, "JPEG")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/0.jpg", jpeg.getvalue())
        z.writestr("b/0.jpg", jpeg.getvalue())
        if kind == "slip":
            z.writestr("../../evil/0.jpg", jpeg.getvalue())
        elif kind == "symlink":
            info = zipfile.ZipInfo("a/link.jpg")
            info.external_attr = (0o120777 << 16) | 0
            z.writestr(info, "/etc/passwd")
        elif kind == "bomb":
            z.writestr("a/1.jpg", b"\0" * (20 << 20))  # 20 MB of zeros in a few KB
    return archive


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("slip", "leads out of its folder"),
        ("symlink", "is a symbolic link"),
        ("bomb", "a zip bomb"),
    ],
)
def test_a_hostile_zip_is_refused_in_one_line_naming_the_member(
    tmp_path: Path, kind: str, named: str
) -> None:
    archive = _hostile_zip(tmp_path, kind)
    code, out, err = run("pack", str(archive), "--out", str(tmp_path / "web"))
    assert code == 1 and out == "" and err.count("\n") == 1 and named in err, err
    assert str(archive) in err and not (tmp_path / "web").exists()
    assert not (tmp_path.parent / "evil").exists()


def test_a_zip_declaring_an_absurd_directory_is_refused_before_parsing(tmp_path: Path) -> None:
    import struct

    archive = _hostile_zip(tmp_path, "plain")
    data = bytearray(archive.read_bytes())
    at = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HHL", data, at + 8, 60000, 60000, 1 << 31)  # entries, directory bytes
    archive.write_bytes(bytes(data))
    code, _, err = run("pack", str(archive), "--out", str(tmp_path / "web"))
    assert code == 1 and "central directory of 2,147,483,648 bytes" in err


@pytest.mark.parametrize("engine", ["chromium", "firefox", "webkit"])
def test_browser_picks_whose_canvas_alpha_follows(tmp_path: Path, engine: str) -> None:
    from mnist_sprite.imaging import decode
    from mnist_sprite.png.canvas import drawn_alone

    src = tmp_path / "src"
    rng = np.random.default_rng(9)
    for c in ("a", "b"):
        (src / c).mkdir(parents=True)
        rgba = rng.integers(0, 256, (16, 16, 4)).astype(np.uint8)
        rgba[..., 3].flat[:] = np.arange(256)
        Image.fromarray(rgba, "RGBA").save(src / c / "0.png")
    web = tmp_path / "web"
    args = ["--alpha", "ignore", "--channels", "rgb", "--browser", engine, "--test-size", "0"]
    code, _, err = run("pack", str(src), "--out", str(web), *args)
    assert code == 0, err
    image = decode(src / "a" / "0.png", src, engine)
    assert image.alpha is not None
    want = drawn_alone(image.colour, image.alpha, engine)
    assert np.array_equal(sprite_of(web)[0], want.ravel())
    others = [drawn_alone(image.colour, image.alpha, e) for e in ENGINES if e != engine]
    assert any(not np.array_equal(o, want) for o in others)  # the choice matters
    recorded = json.loads((web / "data.json").read_text())["provenance"]["options"]
    assert recorded["browser"] == engine
    code, report, _ = run("verify", str(web / "data.json"), "--source", str(src))
    assert code == 0, report
