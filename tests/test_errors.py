"""Messages: one line on stderr (and JSON on stdout with --json) from the CLI, and Python's
words (OptionError, FetchError) from the API, each naming what to do next."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import mnist_sprite
from mnist_sprite.errors import OptionError
from tests.cli_kit import SAMPLE_LABELS, SAMPLE_SPRITE, one_line, run


def test_negative_seed(tmp_path: Path) -> None:
    """A negative seed is one line (CLI) and an OptionError in Python's words (API)."""
    out = str(tmp_path / "o.npz")
    args = ["convert", "--dataset", "sample", "--out", out, "--shuffle", "--seed", "-5"]
    code, _, stderr = run(*args)
    assert code == 2
    one_line(stderr, "--seed -5 is not a whole number from 0")
    with pytest.raises(OptionError, match=r"^seed -1 is not a whole number") as info:
        mnist_sprite.load_data("sample", shuffle=True, seed=-1)
    assert "--" not in str(info.value)


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "/nonexistent.npz", "--json"],
        ["verify", "/nonexistent.npz", "--dataset", "sample", "--json"],
        ["fetch", "--mirror", "notaurl", "--json"],
        ["convert", "--dataset", "sample", "--out", "x/", "--json"],
        ["convert", "--json", "--dtype", "int7"],
    ],
)
def test_json_failure_is_json_on_stdout(args: list[str]) -> None:
    """--json failures are JSON on stdout too."""
    code, stdout, stderr = run(*args)
    assert code in (1, 2)
    one_line(stderr)
    assert json.loads(stdout) == {"ok": False, "error": stderr[7:-1], "exit_code": code}


def test_api_errors_speak_python_and_refuse_what_the_cli_refuses() -> None:
    """The Python API."""
    with pytest.raises(OptionError) as info:
        mnist_sprite.load_data("sample", seed=1)
    assert str(info.value) == "seed without shuffle=True has no effect; add shuffle=True"
    with pytest.raises(OptionError, match="dataset and sprite/labels both given"):
        mnist_sprite.load_data(dataset="sample", sprite=SAMPLE_SPRITE, labels=SAMPLE_LABELS)
    code, _, stderr = run(
        "convert", "--dataset", "sample", "--sprite", "s", "--labels", "l", "--out", "o.npz"
    )
    assert code == 2 and "--dataset and --sprite/--labels both given" in stderr


def test_convert_offline_names_the_cache_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suggested commands carry the options that make them do what was meant."""
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run("convert", "--cache-dir", "newcache", "--offline", "--out", "x.npz")
    assert code == 1
    one_line(stderr, "run 'mnist-sprite fetch --dataset mnist --cache-dir newcache' where")
    assert "'mnist-sprite fetch --dataset mnist --cache-dir newcache --from PATH'" in stderr
    assert os.listdir(tmp_path) == []


def test_a_cache_folder_with_a_space_is_quoted_as_one_word() -> None:
    """Suggested commands carry the options that make them do what was meant."""
    from mnist_sprite.errors import command

    assert command("fetch", dataset="mnist", cache_dir="my cache") == (
        'mnist-sprite fetch --dataset mnist --cache-dir "my cache"'
    )


def test_an_unreadable_labels_file_is_exit_1_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Path checks go through the one funnel, with README's exit codes."""
    labels = tmp_path / "l_uint8"
    shutil.copy(SAMPLE_LABELS, labels)
    import builtins

    def denying(real: Any) -> Any:  # root reads any file: refuse this one as a user is refused
        def opener(path: object, *args: object, **kw: object) -> Any:
            if isinstance(path, (str, Path)) and os.fspath(path) == str(labels):
                raise PermissionError(13, "Permission denied", str(labels))
            return real(path, *args, **kw)

        return opener

    monkeypatch.setattr(builtins, "open", denying(builtins.open))
    monkeypatch.setattr(os, "open", denying(os.open))
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # what click's check would see
    code, _, stderr = run(
        "convert", "--sprite", str(SAMPLE_SPRITE), "--labels", str(labels),
        "--out", str(tmp_path / "o.npz"),
    )  # fmt: skip
    assert code == 1
    one_line(stderr, f"{labels}: ", "Permission denied")
    assert "Invalid value" not in stderr


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shuffle": 1}, "shuffle=1 is not True or False; give shuffle=True"),
        ({"train_size": "900"}, "train_size='900' is not a whole number; give train_size=900"),
        ({"train_size": 2.5}, "train_size=2.5 is not a whole number; give train_size=2"),
        ({"train_size": 800.0}, "train_size=800.0 is not a whole number; give train_size=800"),
        ({"train_size": -3.0}, "train_size=-3.0 is not a whole number; give a whole number of 0"),
        ({"train_size": [8]}, "train_size=[8] is not a whole number; give an int, not list"),
    ],
)
def test_api_messages(kwargs: dict[str, object], message: str) -> None:
    """The Python API speaks Python."""
    with pytest.raises(mnist_sprite.OptionError) as info:
        mnist_sprite.load_data("sample", **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_offline_messages_name_the_dataset_and_keep_commands_as_commands(tmp_path: Path) -> None:
    out = str(tmp_path / "o.npz")
    code, _, stderr = run(
        "convert", "--dataset", "fashion-mnist", "--offline", "--cache-dir", str(tmp_path),
        "--split", "tfjs-core", "--out", out,
    )  # fmt: skip
    assert code == 1
    fetch = f"mnist-sprite fetch --dataset fashion-mnist --cache-dir {tmp_path}"
    one_line(stderr, f"run '{fetch}' where there is a network")
    with pytest.raises(mnist_sprite.FetchError) as info:
        mnist_sprite.fetch("fashion-mnist", cache_dir=tmp_path, offline=True)
    assert f"'{fetch} --from PATH'" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"train_size": "800"},
        {"train_size": 800.0},
        {"train_size": True},
        {"shuffle": True, "seed": "1"},
        {"shuffle": "yes"},
    ],
)
def test_api_arguments_of_the_wrong_type_are_option_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(OptionError):
        mnist_sprite.load_data("sample", **kwargs)  # type: ignore[arg-type]


def test_convert_refuses_a_keyword_load_data_does_not_take(tmp_path: Path) -> None:
    """convert() takes load_data()'s keywords; a misspelt one is the package's error, naming
    it and the keyword meant, and nothing is written."""
    with pytest.raises(
        mnist_sprite.OptionError, match=r"takes no keyword dtyp; did you mean dtype"
    ):
        mnist_sprite.convert(tmp_path / "o.npz", "sample", dtyp="uint8")
    assert not (tmp_path / "o.npz").exists()
    done = mnist_sprite.convert(tmp_path / "o.npz", "sample", dtype="uint8", label_format="index")
    assert done.arrays["x_train"]["dtype"] == "uint8" and done.arrays["y_train"]["shape"] == [800]


def test_api_flags_must_be_true_or_false(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="compress='no' is not True or False"):
        mnist_sprite.convert(tmp_path / "o.npz", "sample", compress="no")  # type: ignore[arg-type]


def test_an_internal_error_is_one_line_naming_the_debug_switch_which_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mnist_sprite.inspection

    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(mnist_sprite.inspection, "inspect", broken)
    code, stdout, stderr = run("inspect", str(SAMPLE_SPRITE))
    assert (code, stdout) == (1, "")
    assert stderr == (
        "error: internal error (ZeroDivisionError: a bug); please report it with the command you "
        "ran, and what MNIST_SPRITE_DEBUG=1 prints before this line\n"
    )
    code, _, stderr = run("inspect", str(SAMPLE_SPRITE), env={"MNIST_SPRITE_DEBUG": "1"})
    assert code == 1
    assert stderr.startswith("Traceback (most recent call last):")
    assert 'raise ZeroDivisionError("a bug")' in stderr
    assert stderr.endswith("prints before this line\n")


def test_every_flag_a_message_names_is_an_option_a_python_caller_is_told_as_declared() -> None:
    """The Python words of a message come from the command line's declarations: each
    ``--flag`` the package's messages name is a declared option (or a command quoted whole),
    so none is reworded by guess; and errors.py imports nothing of the package."""
    import ast
    import re
    from pathlib import Path

    from mnist_sprite.words import option_words, python_words

    words = option_words()
    assert words["--train-size"] == "train_size" and words["--force"] == "force=True"
    assert words["--from"] == "from_path" and words["--alpha"] == "alpha"
    assert python_words("give --test-size 0; or 'mnist-sprite fetch --from PATH'") == (
        "give test_size 0; or 'mnist-sprite fetch --from PATH'"
    )
    package = Path(__file__).resolve().parent.parent / "mnist_sprite"
    named = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named |= set(re.findall(r"(?<![\w'-])--[a-z][a-z-]*[a-z]", node.value))
    assert named - set(words) <= {"--help", "--version"}, sorted(named - set(words))
    tree = ast.parse((package / "errors.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert imports == []
