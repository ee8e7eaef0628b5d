"""README is the manual: every command and option is in it, and every one has help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.datasets import FASHION_MNIST
from mnist_sprite.formats.pngdir import folder_names
from tests.clients import required
from tests.conftest import REAL_SPRITE, needs_real
from tests.httpkit import Route, Server

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:1500]
    assert "make demo" in head and "make test" in head


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_documented_and_has_help(name: str) -> None:
    command = cli.commands[name]
    assert f"mnist-sprite {name}" in README, f"README has no example of {name}"
    assert command.help and len(command.help) > 40, f"{name} has no help"


@pytest.mark.parametrize(
    ("name", "option"),
    [
        (name, opt)
        for name in COMMANDS
        for param in cli.commands[name].params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--")
    ],
)
def test_option_is_documented_and_has_help(name: str, option: str) -> None:
    param = next(p for p in cli.commands[name].params if option in p.opts)
    assert isinstance(param, click.Option) and param.help, f"{name} {option} has no help"
    assert f"`{option}" in README, f"README does not document {name} {option}"


def readme_blocks() -> list[tuple[str, str]]:
    """README's ``sh`` and ``python`` examples, in order, as (language, code)."""
    blocks = re.findall(r"^```(sh|python)\n(.*?)^```", README, flags=re.S | re.M)
    return [(lang, code) for lang, code in blocks]


def missing_imports(code: str) -> list[str]:
    """Top-level modules a Python example imports that are not installed here."""
    import importlib.util

    names = re.findall(r"^import (\w+)|^from (\w+) import", code, flags=re.M)
    modules = {a or b for a, b in names}
    return sorted(m for m in modules if importlib.util.find_spec(m) is None)


@needs_real
def test_readme_examples_run_as_written_in_order(tmp_path: Path) -> None:
    """Every example, from a fresh folder, with the real files served on 127.0.0.1."""
    server = Server()
    try:
        for name in ("mnist_images.png", "mnist_labels_uint8"):
            server.routes[f"/m/{name}"] = Route((REAL_SPRITE.parent / name).read_bytes())
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "MNIST_SPRITE_CACHE": str(tmp_path / "cache"),
            "MNIST_SPRITE_MIRRORS": server.url + "/m/",
        }
        work = tmp_path / "work"
        work.mkdir()
        blocks = readme_blocks()
        assert len(blocks) >= 4
        for lang, code in blocks:
            if lang == "sh":  # the set-up commands are what `make test` itself runs
                code = "\n".join(ln for ln in code.splitlines() if not ln.startswith("make "))
                argv = ["bash", "-euo", "pipefail", "-c", code]
            elif missing_imports(code):  # an example for another library: run where it is
                absent = set(missing_imports(code)) & set(required())
                assert not absent, f"make test-clients must install {sorted(absent)}"
                continue
            else:
                argv = [sys.executable, "-c", code]
            proc = subprocess.run(
                argv, cwd=work, env=env, capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, f"{code}\n--- stderr:\n{proc.stderr}"
        assert server.hits["/m/mnist_images.png"] == 1  # fetched once, then the cache
    finally:
        server.close()


# -- README's tables against the code ---------------------------------------------


def _source_text() -> str:
    """The package's string literals (f-string parts each alone; no docstrings, no comments),
    and the system's words that messages quote (``e.strerror``)."""
    import ast
    import errno

    package = Path(__file__).resolve().parent.parent / "mnist_sprite"
    texts = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        texts += [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ]
    texts += [os.strerror(n) for n in (errno.ENOSPC, errno.EFBIG, errno.EACCES, errno.EROFS)]
    return "\n".join(texts)


SOURCE_TEXT = _source_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def error_rows() -> list[tuple[str, str, str]]:
    """The "When things go wrong" table: (you see, what it means, what to do)."""
    rows = []
    for line in _section("When things go wrong").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and cells[0] not in ("you see", "---"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _pieces(message: str) -> list[str]:
    """The literal runs of a README message, between its placeholders (N, W, HxW, 28x28...)."""
    text = message.replace("\\|", "|")
    parts = re.split(r"\.\.\.|\b[A-Z]{1,5}\b|\bHxW\b|\b\d[\d,x.]*\b|; ", text)
    return [p.strip(" ,;()[]") for p in parts if len(p.strip(" ,;()[]").split()) >= 2]


def _said(piece: str) -> bool:
    """Can ``piece`` be cut, at spaces, into runs the source says (a message joins f-string
    parts), most of its words in runs of two or more?"""
    words = piece.split()
    best: list[int | None] = [None] * len(words) + [0]  # words covered by multi-word runs
    for i in range(len(words) - 1, -1, -1):
        for j in range(i + 1, len(words) + 1):
            rest = best[j]
            if rest is not None and " ".join(words[i:j]) in SOURCE_TEXT:
                covered = rest + (j - i if j - i >= 2 else 0)
                best[i] = max(best[i] or 0, covered)
    if len(words) <= 3:  # a few words between placeholders: each is said
        return all(word in SOURCE_TEXT for word in words)
    return best[0] is not None and best[0] >= 0.6 * len(words)


@pytest.mark.parametrize("row", error_rows(), ids=lambda r: r[0][:40])
def test_readme_error_table_messages_are_the_codes(row: tuple[str, str, str]) -> None:
    """Each message README quotes is one the code says, word for word between placeholders."""
    for quoted in re.findall(r"`([^`]+)`", row[0]):
        for piece in _pieces(quoted):
            assert _said(piece), f"README quotes {piece!r}, which no message says"


def test_readme_exit_codes_are_the_ones_errors_have() -> None:
    import mnist_sprite.errors as errors

    table = _section("Exit codes")
    listed = {int(code) for code in re.findall(r"^\| (\d) \|", table, flags=re.M)}
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.MnistSpriteError)
    }
    assert codes | {0} == listed


def _readme_code(phrase: str) -> int:
    row = next(r for r in error_rows() if phrase in r[0])
    return 2 if "(exit 2)" in " ".join(row) else 1


@pytest.mark.parametrize(
    ("phrase", "args"),
    [
        ("is an input of this command", ["convert", "--sprite", "{s}", "--labels", "{l}",
                                         "--out", "{l}", "--train-size", "5", "--image-size",
                                         "4x4", "--force"]),
        ("is an input of this command", ["pack", "{tmp}/in.npz", "--out", "{tmp}/in.npz"]),
        ("ends with a slash", ["convert", "--dataset", "sample", "--out", "{tmp}/d/"]),
        ("is not an http:// or https:// URL", ["fetch", "--mirror", "ftp://x/", "--cache-dir",
                                               "{tmp}/c"]),
        ("cannot hold --dtype float32", ["convert", "--dataset", "sample", "--format", "idx",
                                         "--dtype", "float32", "--out", "{tmp}/i"]),
        ("is 16 pixels wide", ["convert", "--sprite", "{s}", "--labels", "{l}", "--out",
                               "{tmp}/o.npz"]),
        ("already exists; pass --force", ["convert", "--dataset", "sample", "--out", "{l}"]),
        ("no such file", ["inspect", "{tmp}/nothing"]),
        ("holds N images, with no known train/test split", ["convert", "--sprite", "{s}",
                                                            "--labels", "{l}", "--image-size",
                                                            "4x4", "--out", "{tmp}/o.npz"]),
    ],
)  # fmt: skip
def test_readme_error_table_exit_codes_are_the_tools(
    tmp_path: Path, phrase: str, args: list[str]
) -> None:
    import numpy as np

    from tests import pngkit

    sprite, labels = tmp_path / "s.png", tmp_path / "l_uint8"
    sprite.write_bytes(pngkit.gray_png(np.zeros((5, 16), np.uint8)))
    labels.write_bytes(np.eye(10, dtype=np.uint8)[[0, 1, 2, 3, 4]].tobytes())
    x = np.zeros((3, 2, 2), np.uint8)
    np.savez(tmp_path / "in.npz", x_train=x, y_train=np.array([0, 1, 2]))
    argv = [
        a.replace("{tmp}", str(tmp_path)).replace("{s}", str(sprite)).replace("{l}", str(labels))
        for a in args
    ]
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, argv)
    found = phrase.replace("holds N images", "holds 5 images")
    assert found in result.stderr, result.stderr
    assert result.exit_code == _readme_code(phrase), (phrase, result.stderr)


@pytest.mark.parametrize(
    ("name", "option"),
    [
        (name, param.opts[0])
        for name in COMMANDS
        for param in cli.commands[name].params
        if isinstance(param, click.Option) and isinstance(param.type, click.Choice)
    ],
)
def test_readme_lists_each_choice_an_option_takes(name: str, option: str) -> None:
    param = next(p for p in cli.commands[name].params if option in p.opts)
    assert isinstance(param.type, click.Choice)
    row = rf"^\| `{re.escape(option)} ([a-z0-9|\\-]+)`"
    listed = re.findall(row, _section(name), flags=re.M)
    assert listed, f"README's {name} table has no row `{option} A|B|...`"
    for text in listed:
        assert set(text.split("\\|")) == set(param.type.choices), (name, option, text)


@pytest.mark.parametrize(
    ("name", "option"),
    [
        (name, param.opts[0])
        for name in COMMANDS
        for param in cli.commands[name].params
        if isinstance(param, click.Option) and param.opts[0] != "--help"
    ],
)
def test_readme_table_of_each_command_has_a_row_per_option_as_help_spells_it(
    name: str, option: str
) -> None:
    """Each option has a row in its command's table, with the metavar --help shows."""
    param = next(p for p in cli.commands[name].params if option in p.opts)
    assert isinstance(param, click.Option)
    rows = re.findall(rf"^\|[^|\n]*`{re.escape(option)}( [^`]*)?`", _section(name), flags=re.M)
    assert rows, f"README's {name} table has no row for {option}"
    if param.metavar and not param.is_flag:
        assert any(r.strip() == param.metavar for r in rows), (name, option, rows, param.metavar)


def test_readme_starts_with_the_purpose_and_a_quick_start() -> None:
    """What the tool is for, the two set-up commands and a quick start come first; how the
    project tests itself is near the end, said once."""
    head = README[: README.index("\n## ")]
    assert "TensorFlow.js" in head[:300] and "make demo" in head and "mnist-sprite convert" in head
    assert "--dtype uint8 --label-format index --shape image" in head
    assert "test-pythons" not in head and "skip" not in head
    testing = README.index("\n## Testing the project\n")
    assert testing > README.index("\n## When things go wrong\n")
    assert README.count("they skip") + README.count("are skipped, each saying so") == 1


def test_readme_names_the_class_folders_png_dir_writes() -> None:
    """README and help say what the tool does."""
    names = folder_names(FASHION_MNIST.class_names)
    assert names[0] == "0_T-shirt-top" and names[-1] == "9_Ankle boot"
    for name in names:
        assert f"`{name}`" in README
    assert "becomes `0`" not in README


def test_help_lists_what_each_command_takes() -> None:
    """README and help say what the tool does."""
    helps = {name: CliRunner().invoke(cli, [name, "--help"]).stdout for name in cli.commands}
    flat = {name: " ".join(text.split()) for name, text in helps.items()}
    for name in ("convert", "verify"):
        param = next(p for p in cli.commands[name].params if p.name == "dataset")
        for dataset in ("mnist", "sample", "fashion-mnist", "cifar10"):
            assert dataset in str(getattr(param, "help", "")), (name, dataset)
    for name in ("inspect", "verify"):
        for kind in ("npy", "idx", "csv", "png-dir", "NAME.json"):
            assert kind in flat[name], (name, kind)
    pack_size = flat["pack"].split("--image-size HxW", 1)[1].split("--quantize", 1)[0]
    assert "flat rows" in pack_size and "cifar10" not in pack_size
    from mnist_sprite.identify import INSPECTED, words

    for kind in ("idx", "csv", "png-dir", "NAME.json"):
        assert kind in words(INSPECTED)


def test_readme_says_what_imagefolder_and_pandas_give() -> None:
    """README and help say what the tool does."""
    assert "transform=torchvision.transforms.Grayscale()" in README
    assert 'pd.read_csv("mnist_csv/train.csv", dtype="uint8")' in README


def test_tests_needing_the_real_files_say_how_to_make_them_run() -> None:
    """README and help say what the tool does."""
    reason = needs_real.kwargs["reason"]
    assert "mnist-sprite fetch" in reason
    assert "`.venv/bin/mnist-sprite fetch` once" in README


def test_readme_says_a_colour_warning_is_issued_and_the_arrays_returned() -> None:
    """load_data() warns (warnings.warn) and returns its arrays; README never says it raises."""
    text = " ".join(README.split())
    assert "raises a `mnist_sprite.ColourWarning`" not in text
    assert "issues a `mnist_sprite.ColourWarning` (a warning: the arrays are still returned" in text


def test_readme_contents_list_links_every_section_in_order() -> None:
    """The contents list at the top names every section and subsection, in order, by the
    anchors GitHub makes of their titles."""
    head = README[: README.index("\n## ")]
    listed = re.findall(r"^ *- \[(.+)\]\(#([^)]+)\)$", head, flags=re.M)
    titles = re.findall(r"^##{1,2} (.+)$", README, flags=re.M)
    assert [t for t, _ in listed] == titles
    for title, anchor in listed:
        made = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        assert anchor == made, (title, anchor)
