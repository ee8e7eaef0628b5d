"""What pack, inspect and verify read from a user's folder: the per-class options for PNG class
folders, --classes-from that must list every class, the file managers' files, and the words
for a folder that is not an output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import png
import pytest

import mnist_sprite
from mnist_sprite import sources
from mnist_sprite.errors import OptionError
from mnist_sprite.registry import SOURCE_OPTIONS, SOURCES
from mnist_sprite.sources import SourceOptions
from tests.cli_kit import run


def shapes(root: Path, per_class: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for name in ("circle", "square", "tri"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            with open(root / name / f"{i:03d}.png", "wb") as f:
                image = rng.integers(0, 256, (4, 4), dtype=np.uint8)
                png.Writer(4, 4, greyscale=True).write(f, image.tolist())
    return root


def packed(tmp_path: Path) -> dict[str, object]:
    facts: dict[str, object] = json.loads((tmp_path / "web" / "data.json").read_text())
    return facts


def test_png_class_folders_take_limit_per_class(tmp_path: Path) -> None:
    src = shapes(tmp_path / "shapes")
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--limit-per-class", "4")
    assert code == 0, err
    facts = packed(tmp_path)
    assert facts["images"] == 12 and facts["class_names"] == ["circle", "square", "tri"]
    code, report, _ = run("verify", str(tmp_path / "web/data.json"), "--source", str(src))
    assert code == 0, report


def test_png_class_folders_take_classes_from_and_seed(tmp_path: Path) -> None:
    src = shapes(tmp_path / "shapes")
    (tmp_path / "names.txt").write_text("tri\ncircle\nsquare\n")
    args = ["pack", str(src), "--out", str(tmp_path / "web"), "--classes-from",
            str(tmp_path / "names.txt"), "--seed", "5", "--test-size", "3"]  # fmt: skip
    code, _, err = run(*args)
    assert code == 0, err
    facts = packed(tmp_path)
    assert facts["class_names"] == ["tri", "circle", "square"] and facts["train_images"] == 15
    code, report, _ = run("verify", str(tmp_path / "web/data.json"), "--source", str(src))
    assert code == 0, report


def test_classes_from_leaving_a_class_out_is_refused_naming_it(tmp_path: Path) -> None:
    src = shapes(tmp_path / "shapes")
    np.save(tmp_path / "a.npy", np.zeros((3, 16), np.uint8))
    (tmp_path / "names.txt").write_text("tri\ncircle\n")
    names = str(tmp_path / "names.txt")
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--classes-from", names)
    assert code == 2 and err.count("\n") == 1
    assert "shapes/square: is class 'square', which --classes-from leaves out" in err
    assert "--only-listed" in err and not (tmp_path / "web").exists()
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--classes-from", names,
                       "--only-listed")  # fmt: skip
    assert code == 0, err
    assert packed(tmp_path)["class_names"] == ["tri", "circle"]


def test_classes_from_leaving_an_array_out_is_refused(tmp_path: Path) -> None:
    qd = tmp_path / "qd"
    qd.mkdir()
    for name in ("cat", "dog", "fish"):
        np.save(qd / f"{name}.npy", np.zeros((3, 16), np.uint8))
    (tmp_path / "names.txt").write_text("dog\ncat\n")
    names = str(tmp_path / "names.txt")
    code, _, err = run("pack", str(qd), "--out", str(tmp_path / "web"), "--classes-from", names)
    assert code == 2 and "fish.npy: is class 'fish', which --classes-from leaves out" in err
    code, _, err = run("pack", str(qd), "--out", str(tmp_path / "web"), "--classes-from", names,
                       "--only-listed")  # fmt: skip
    assert code == 0, err
    assert packed(tmp_path)["class_names"] == ["dog", "cat"]
    code, report, _ = run("verify", str(tmp_path / "web/data.json"), "--source", str(qd))
    assert code == 0, report


def test_only_listed_needs_classes_from(tmp_path: Path) -> None:
    src = shapes(tmp_path / "shapes")
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"), "--only-listed")
    assert code == 2 and "--only-listed" in err and "--classes-from" in err


def test_file_managers_files_are_skipped(tmp_path: Path) -> None:
    src = shapes(tmp_path / "shapes")
    (src / ".DS_Store").write_bytes(b"\0\1")
    (src / "circle" / "Thumbs.db").write_bytes(b"\0\1")
    code, _, err = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 0, err
    assert packed(tmp_path)["images"] == 18


@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_a_folder_that_is_no_output_is_named_as_such(tmp_path: Path, command: str) -> None:
    home = tmp_path / "home"
    shapes(home / "pictures")
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    code, _, err = run(command, str(home))
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "is not a folder of PNG images by class" in err
    assert "pack reads" not in err and "move it out" not in err


@pytest.mark.parametrize("kind", list(SOURCES))
def test_each_kind_of_source_is_one_module_that_sniffs_and_opens(kind: str) -> None:
    """registry.SOURCES names each kind's module; its SOURCE is what open_pack_source tries."""
    code = sources.get(kind)
    assert callable(code.sniff) and callable(code.open)
    assert set(SOURCES[kind].takes) <= {o.name for o in SOURCE_OPTIONS}


def test_every_source_option_is_packs_flag_and_keyword() -> None:
    """Declared once: the command line's flags and pack's keywords are the declarations'."""
    from mnist_sprite.cli import cli

    flags = {f for p in cli.commands["pack"].params for f in getattr(p, "opts", [])}
    assert {o.flag for o in SOURCE_OPTIONS} <= flags
    with pytest.raises(TypeError, match="'limit_per_clas'"):
        SourceOptions.given(limit_per_clas=3)
    assert SourceOptions.given(**{o.name: None for o in SOURCE_OPTIONS}) == SourceOptions()


@pytest.mark.parametrize("option", ["classes_from", "limit_per_class", "seed"])
def test_an_option_a_source_does_not_take_is_refused_naming_the_kinds_that_do(
    tmp_path: Path, option: str
) -> None:
    """The refusal is made from the declarations: the option's flag, and every kind taking it."""
    npz = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(npz), "-q")[0] == 0
    (tmp_path / "names.txt").write_text("a\n")
    flag = next(o.flag for o in SOURCE_OPTIONS if o.name == option)
    value = str(tmp_path / "names.txt") if option == "classes_from" else "3"
    code, out, err = run("pack", str(npz), "--out", str(tmp_path / "web"), flag, value)
    assert code == 2 and out == "" and not (tmp_path / "web").exists()
    kinds = [i.what for i in SOURCES.values() if option in i.takes]
    assert len(kinds) == 3 and all(k in err for k in kinds), err
    assert err.startswith(f"error: {npz}: {flag}") and err.count("\n") == 1
    with pytest.raises(OptionError, match=f": {option} .*applies to"):
        mnist_sprite.pack(npz, tmp_path / "web", **{option: 3 if value == "3" else value})
