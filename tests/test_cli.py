"""The command line: data on stdout, one error line on stderr, exit codes, no leftovers."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mnist_sprite
from mnist_sprite.cli import PATH, cli
from tests.cli_kit import one_line
from tests.conftest import Sprite

SMALL = ["--image-size", "4x4", "--train-size", "20"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mnist_sprite", *args], capture_output=True, timeout=60, **kwargs
    )  # type: ignore[call-overload, no-any-return]


def test_convert_writes_npz_and_says_so_on_stderr(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "out.npz"
    code, stdout, stderr = run("convert", *small.args(), *SMALL, "--out", str(out))
    assert code == 0 and stdout == ""
    assert "wrote" in stderr and "x_train (20, 16) float32" in stderr
    with np.load(out) as z:
        assert z["x_train"].shape == (20, 16)


def test_convert_quiet_prints_nothing(small: Sprite, tmp_path: Path) -> None:
    code, stdout, stderr = run(
        "convert", *small.args(), *SMALL, "--out", str(tmp_path / "o.npz"), "--quiet"
    )
    assert (code, stdout, stderr) == (0, "", "")


def test_convert_json_summary(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    code, stdout, _ = run("convert", *small.args(), *SMALL, "--out", str(out), "--json", "-q")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["arrays"]["x_test"] == {"shape": [10, 16], "dtype": "float32"}
    import hashlib

    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert summary["options"]["train_size"] == 20 and summary["seconds"] >= 0


def test_every_option_reaches_the_output(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "npy"
    args = [*small.args(), "--image-size", "4x4", "--train-size", "25", "--dtype", "uint8"]
    args += ["--label-format", "index", "--shape", "channels", "--shuffle", "--seed", "9"]
    args += ["--format", "npy", "--decoder", "pypng", "--out", str(out), "-q"]
    assert run("convert", *args)[0] == 0
    x = np.load(out / "x_train.npy")
    y = np.load(out / "y_train.npy")
    assert x.shape == (25, 4, 4, 1) and x.dtype == np.uint8 and y.shape == (25,)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["seed"] == 9 and manifest["options"]["shuffle"] is True


def test_stdout_stream_is_the_same_npz_as_a_file(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    proc = run_process("convert", *small.args(), *SMALL, "--out", "-", "--quiet")
    assert proc.returncode == 0 and proc.stderr == b""
    run("convert", *small.args(), *SMALL, "--out", str(out), "-q")
    assert proc.stdout == out.read_bytes()
    with np.load(io.BytesIO(proc.stdout)) as z:
        assert z["y_train"].shape == (20, 10)


def test_compress_flag(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    assert run("convert", *small.args(), *SMALL, "--compress", "--out", str(out), "-q")[0] == 0
    import zipfile

    with zipfile.ZipFile(out) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}


def test_force_replaces_and_its_absence_refuses(small: Sprite, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    out.write_bytes(b"keep")
    code, stdout, stderr = run("convert", *small.args(), *SMALL, "--out", str(out))
    assert code == 1 and stdout == ""
    assert stderr == f"error: {out}: already exists; pass --force to replace it\n"
    assert out.read_bytes() == b"keep"
    assert run("convert", *small.args(), *SMALL, "--out", str(out), "--force", "-q")[0] == 0
    assert out.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--sprite", "nope.png", "--labels", "nope", "--out", "o.npz"], 1, "nope.png: no such"),
        (["--sprite", "x.png", "--out", "o.npz"], 2, "--sprite and --labels go together"),
        (["--dataset", "sample"], 2, "Missing option '--out'"),
        (["--dataset", "sample", "--out", "o", "--dtype", "int7"], 2, "'int7' is not one of"),
        (["--dataset", "sample", "--out", "o", "--image-size", "28"], 2, "not HEIGHTxWIDTH"),
        (["--dataset", "sample", "--out", "-", "--json"], 2, "both want stdout"),
        (["--dataset", "sample", "--out", "o", "--seed", "3"], 2, "--seed without --shuffle"),
        (["--dataset", "sample", "--out", "o", "--train-size", "5000"], 2, "more than the 1,000"),
        (
            ["--dataset", "sample", "--out", "o", "--format", "npy", "--compress"],
            2,
            "npz and idx, not npy",
        ),
        (["--dataset", "sample", "--out", "missing/o.npz"], 1, "does not exist; create it"),
    ],
)
def test_errors_are_one_line_with_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got, stdout, stderr = run("convert", *args)
    assert got == code, stderr
    if "--json" in args:  # a script that asked for JSON gets the failure as JSON too
        assert json.loads(stdout) == {"ok": False, "error": stderr[7:-1], "exit_code": code}
    else:
        assert stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and message in stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_broken_sprite_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "l").write_bytes(bytes(10))
    proc = run_process("convert", "--sprite", str(bad), "--labels", str(tmp_path / "l"),
                       "--out", str(tmp_path / "o.npz"))  # fmt: skip
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().startswith(f"error: {bad}: ")
    assert b"Traceback" not in proc.stderr and proc.stderr.count(b"\n") == 1


def test_sample_dataset_converts_offline(tmp_path: Path) -> None:
    out = tmp_path / "sample.npz"
    code, _, _ = run("convert", "--dataset", "sample", "--out", str(out), "-q")
    assert code == 0
    with np.load(out) as z:
        assert z["x_train"].shape == (800, 784) and z["x_test"].shape == (200, 784)


def test_help_and_version() -> None:
    code, stdout, _ = run("--help")
    assert code == 0 and "convert" in stdout
    code, stdout, _ = run("--version")
    assert code == 0 and "mnist-sprite" in stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["convert", "--help"]])
def test_help_and_version_import_no_numpy_nor_formats(args: list[str]) -> None:
    """Start-up costs what a command uses: help and version need neither numpy nor a format."""
    code = (
        "import sys\n"
        "from mnist_sprite.cli import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], prog_name='mnist-sprite')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('numpy', 'mnist_sprite.formats', 'mnist_sprite.pipeline',\n"
        "         'mnist_sprite.png', 'mnist_sprite.download', 'tqdm') if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert done.stderr == "[]", done.stderr
    assert "Usage:" in done.stdout or "version" in done.stdout


def test_convert_to_npz_imports_no_other_format(tmp_path: Path) -> None:
    """Each command imports what it uses: an npz needs neither the CSV, IDX nor PNG-folder code,
    and reading a sprite needs no PNG encoder."""
    code = (
        "import sys\n"
        "from mnist_sprite.cli import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], prog_name='mnist-sprite')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "unused = [m for m in ('mnist_sprite.formats.csv', 'mnist_sprite.formats.idx',\n"
        "          'mnist_sprite.formats.npy', 'mnist_sprite.formats.pngdir',\n"
        "          'mnist_sprite.png.encode', 'mnist_sprite.packing') if m in sys.modules]\n"
        "sys.stderr.write(repr(unused))\n"
    )
    args = ["convert", "--dataset", "sample", "--out", str(tmp_path / "s.npz"), "-q"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert done.stderr == "[]", done.stderr
    assert (tmp_path / "s.npz").is_file()


def test_the_package_imports_its_api_on_first_use() -> None:
    code = (
        "import sys, mnist_sprite\n"
        "assert 'numpy' not in sys.modules\n"
        "assert callable(mnist_sprite.load_data) and 'numpy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_no_arguments_prints_help_on_stdout() -> None:
    """No arguments: the help, on stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "mnist_sprite"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: mnist-sprite") and "convert" in proc.stdout


def test_out_dash_refuses_a_terminal() -> None:
    """Binary data is never written to a terminal."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mnist_sprite", "convert", "--dataset", "sample", "--out", "-"],
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    one_line(proc.stderr.decode(), "would write binary data to the terminal")


def test_public_functions_are_not_shadowed_by_submodules() -> None:
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(mnist_sprite.__path__, "mnist_sprite."):
        importlib.import_module(module.name)
    assert callable(mnist_sprite.convert) and callable(mnist_sprite.fetch)
    assert callable(mnist_sprite.load_data)


def test_click_checks_no_path_the_library_checks() -> None:
    """Path checks go through the one funnel, with README's exit codes."""
    import click

    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param.type, click.Path):
                assert param.type is PATH, (name, param.name)
    assert not PATH.readable and not PATH.exists and PATH.file_okay and PATH.dir_okay


@pytest.mark.parametrize(
    ("shell", "start"),
    [
        ("bash", "_mnist_sprite_completion()"),
        ("zsh", "#compdef mnist-sprite"),
        ("fish", "function"),
    ],
)
def test_shell_completion_prints_a_script_for_each_shell(shell: str, start: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mnist_sprite"],
        env={**os.environ, "_MNIST_SPRITE_COMPLETE": f"{shell}_source"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith(start) and "Usage:" not in out


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("mnist-sprite co", "1", {"convert"}),
        ("mnist-sprite convert --form", "2", {"--format"}),
        ("mnist-sprite convert --format ", "3", {"npz", "idx", "csv", "webdataset"}),
    ],
)
def test_shell_completion_completes_commands_options_and_choices(
    words: str, cword: str, expected: set[str]
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mnist_sprite"],
        env={
            **os.environ,
            "_MNIST_SPRITE_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": cword,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert expected <= {line.split(",", 1)[1] for line in out.splitlines()}
