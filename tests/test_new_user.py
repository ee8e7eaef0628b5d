"""What a new user hit (issue 10): each numbered case, as the user met it, and what it does now."""

from __future__ import annotations

import errno
import json
import os
import pty
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import mnist_sprite
from mnist_sprite.cli import cli
from mnist_sprite.datasets import DATA_DIR
from mnist_sprite.download import fetch_dataset
from mnist_sprite.errors import FetchError, OptionError, SourceError
from mnist_sprite.png import read_red
from tests.conftest import REAL_LABELS, REAL_SPRITE, needs_real
from tests.httpkit import Route, Server
from tests.test_fetch import Files, make_files, serve

SAMPLE_SPRITE = DATA_DIR / "sample_images.png"
SAMPLE_LABELS = DATA_DIR / "sample_labels_uint8"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str, *parts: str) -> None:
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    for part in parts:
        assert part in stderr, stderr


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# -- 1. --force never replaces a folder of the user's -----------------------------------


def test_1_force_never_replaces_a_users_folder(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "train.py").write_text("code\n")
    (proj / "sub" / "keep.txt").write_text("x\n")
    before = tree(proj)
    code, _, stderr = run(
        "convert", "--dataset", "sample", "--format", "npy", "--out", str(proj), "--force"
    )
    assert code == 1
    one_line(stderr, f"{proj}: is a folder that is not an output of mnist-sprite")
    assert tree(proj) == before


def test_1_force_replaces_an_earlier_npy_output_and_nothing_more(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q"]
    assert run(*args)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"] == ["x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]
    assert run(*args, "--dtype", "uint8", "--force")[0] == 0  # an earlier output: replaced
    (out / "notes.txt").write_text("mine\n")  # now it holds a file of the user's
    code, _, stderr = run(*args, "--force")
    assert code == 1 and "not an output of mnist-sprite" in stderr
    assert (out / "notes.txt").read_text() == "mine\n"


def test_1_an_empty_folder_can_be_filled(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    args = ["convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q"]
    assert run(*args, "--force")[0] == 0
    assert (out / "x_train.npy").is_file()


# -- 2. an output that is an input is refused, with or without --force -------------------


@pytest.mark.parametrize("which", ["labels", "sprite", "link", "spelled"])
@pytest.mark.parametrize("force", [False, True])
def test_2_output_that_is_an_input_is_refused(tmp_path: Path, which: str, force: bool) -> None:
    sprite = shutil.copy(SAMPLE_SPRITE, tmp_path / "s.png")
    labels = shutil.copy(SAMPLE_LABELS, tmp_path / "l")
    (tmp_path / "d").mkdir()
    os.symlink(labels, tmp_path / "link.npz")
    out = {
        "labels": str(labels),
        "sprite": str(sprite),
        "link": str(tmp_path / "link.npz"),
        "spelled": str(tmp_path / "d" / ".." / "l"),
    }[which]
    before = tree(tmp_path)
    args = ["convert", "--sprite", str(sprite), "--labels", str(labels), "--out", out]
    if which == "sprite":  # an npz named s.png is refused for its name; a folder of PNGs is not
        args += ["--format", "png-dir"]
    code, _, stderr = run(*args, *(["--force"] if force else []))
    assert code == 2
    one_line(stderr, "is an input of this command", "an input is never replaced")
    assert tree(tmp_path) == before


def test_2_npy_folder_holding_an_input_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    sprite = shutil.copy(SAMPLE_SPRITE, folder / "s.png")
    labels = shutil.copy(SAMPLE_LABELS, folder / "l")
    args = ["convert", "--sprite", str(sprite), "--labels", str(labels), "--train-size", "800"]
    code, _, stderr = run(*args, "--format", "npy", "--out", str(folder), "--force")
    assert code == 2 and "a folder holding an input" in stderr
    assert sorted(p.name for p in folder.iterdir()) == ["l", "s.png"]


# -- 3. a negative seed is one line (CLI) and an OptionError in Python's words (API) --------


def test_3_negative_seed(tmp_path: Path) -> None:
    out = str(tmp_path / "o.npz")
    args = ["convert", "--dataset", "sample", "--out", out, "--shuffle", "--seed", "-5"]
    code, _, stderr = run(*args)
    assert code == 2
    one_line(stderr, "--seed -5 is not a whole number from 0")
    with pytest.raises(OptionError, match=r"^seed -1 is not a whole number") as info:
        mnist_sprite.load_data("sample", shuffle=True, seed=-1)
    assert "--" not in str(info.value)


# -- 4. URLs that are not URLs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "where"),
    [
        (["--mirror", "notaurl"], {}, "--mirror 'notaurl'"),
        (["--url", "mnist_images.png"], {}, "--url 'mnist_images.png'"),
        ([], {"MNIST_SPRITE_MIRRORS": "example.org/mnist/"}, "MNIST_SPRITE_MIRRORS"),
    ],
)
def test_4_a_url_that_is_not_a_url(
    tmp_path: Path, args: list[str], env: dict[str, str], where: str
) -> None:
    code, stdout, stderr = run("fetch", "--cache-dir", str(tmp_path), *args, env=env)
    assert (code, stdout) == (2, "")
    one_line(stderr, where, "is not an http:// or https:// URL")


# -- 5. --out . ---------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_5_out_dot_is_a_users_folder(tmp_path: Path, force: bool) -> None:
    os.chdir(tmp_path)
    Path("mine.txt").write_text("mine\n")
    args = ["convert", "--dataset", "sample", "--format", "npy", "--out", "."]
    code, _, stderr = run(*args, *(["--force"] if force else []))
    assert code == 1
    one_line(stderr, "is a folder that is not an output of mnist-sprite")
    assert "pass --force" not in stderr  # it must not invite what it will refuse
    assert sorted(os.listdir(tmp_path)) == ["mine.txt"]


# -- 6, 7, 8: fetch --from, and a damaged cache -------------------------------------------


def test_6_from_into_an_empty_cache_says_it_imported(tmp_path: Path) -> None:
    files = make_files()
    source = tmp_path / "usb"
    source.mkdir()
    (source / files.dataset.sprite.name).write_bytes(files.sprite)
    (source / files.dataset.labels.name).write_bytes(files.labels)
    result = fetch_dataset(files.dataset, cache_dir=tmp_path / "cache", from_path=source)
    assert result.imported == ["tiny_images.png", "tiny_labels_uint8"]
    assert result.downloaded == []
    assert result.describe() == "imported tiny_images.png, tiny_labels_uint8"
    assert result.summary()["imported"] == ["tiny_images.png", "tiny_labels_uint8"]
    again = fetch_dataset(files.dataset, cache_dir=tmp_path / "cache")
    assert again.describe() == "nothing to do: the cache is complete and verified"


@needs_real
def test_6_cli_from_a_folder_reports_the_import(tmp_path: Path) -> None:
    code, stdout, stderr = run(
        "fetch", "--cache-dir", str(tmp_path), "--from", str(REAL_SPRITE.parent), "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["imported"] == ["mnist_images.png", "mnist_labels_uint8"]


def test_7_from_a_missing_path_is_refused_even_with_a_complete_cache(tmp_path: Path) -> None:
    files = make_files()
    source = tmp_path / "usb"
    source.mkdir()
    (source / files.dataset.sprite.name).write_bytes(files.sprite)
    (source / files.dataset.labels.name).write_bytes(files.labels)
    fetch_dataset(files.dataset, cache_dir=tmp_path / "cache", from_path=source)
    for cache in (tmp_path / "cache", tmp_path / "empty"):
        with pytest.raises(SourceError, match="/nonexistent/dir: no such file or folder"):
            fetch_dataset(files.dataset, cache_dir=cache, from_path="/nonexistent/dir")
    code, _, stderr = run("fetch", "--cache-dir", str(tmp_path), "--from", "/nonexistent/dir")
    assert code == 1
    one_line(stderr, "/nonexistent/dir: no such file or folder")


@pytest.mark.parametrize("damage", ["flipped byte", "wrong pixels"])
def test_8_offline_with_a_damaged_cached_file_says_so(tmp_path: Path, damage: str) -> None:
    from tests import pngkit

    files = make_files()
    source = tmp_path / "usb"
    source.mkdir()
    (source / files.dataset.sprite.name).write_bytes(files.sprite)
    (source / files.dataset.labels.name).write_bytes(files.labels)
    cache = tmp_path / "cache"
    fetch_dataset(files.dataset, cache_dir=cache, from_path=source)
    cached = cache / "tiny" / files.dataset.sprite.name
    if damage == "flipped byte":
        data = bytearray(files.sprite)
        data[len(data) // 2] ^= 0xFF
        cached.write_bytes(bytes(data))
    else:
        pixels = files.pixels.copy()
        pixels[0, 0] ^= 1
        cached.write_bytes(pngkit.gray_png(pixels))
    with pytest.raises(FetchError) as info:
        fetch_dataset(files.dataset, cache_dir=cache, offline=True)
    message = str(info.value)
    assert "is in the cache but fails verification" in message
    assert "--force" in message and "not in the cache" not in message


# -- 9. an --out that cannot be what the format writes ---------------------------------------


@pytest.mark.parametrize(
    ("fmt", "out", "message"),
    [
        ("npz", "outdir/", "ends with a slash, so it names a folder"),
        ("npy", "file.npz", "is an .npz name, but --format npy writes a folder"),
    ],
)
def test_9_out_that_does_not_fit_the_format(
    tmp_path: Path, fmt: str, out: str, message: str
) -> None:
    os.chdir(tmp_path)
    code, _, stderr = run("convert", "--dataset", "sample", "--format", fmt, "--out", out)
    assert code == 2
    one_line(stderr, message)
    assert os.listdir(tmp_path) == []


# -- 10. verify uses the dataset an output records ----------------------------------------


def test_10_verify_checks_against_the_recorded_dataset(tmp_path: Path) -> None:
    out = tmp_path / "sample.npz"
    assert run("convert", "--dataset", "sample", "--out", str(out), "-q")[0] == 0
    code, stdout, _ = run("verify", str(out), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["ok"], stdout
    assert any("pinned digest of sample" in c["detail"] for c in report["checks"])


# -- 11. no arguments: the help, on stdout ------------------------------------------------


def test_11_no_arguments_prints_help_on_stdout() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mnist_sprite"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: mnist-sprite") and "convert" in proc.stdout


# -- 12. a read-only folder names the output, never the temporary file ---------------------


def test_12_read_only_folder_names_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    real_touch, real_unlink = Path.touch, Path.unlink

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        if self.parent == folder:  # as a read-only mount answers both calls
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        (real_touch if args or "exist_ok" in kwargs else real_unlink)(self, *args, **kwargs)  # type: ignore[operator]

    monkeypatch.setattr(Path, "touch", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    out = folder / "ro.npz"
    code, _, stderr = run("convert", "--dataset", "sample", "--out", str(out))
    assert code == 1
    one_line(stderr, f"error: {out}: cannot write: Read-only file system")
    assert ".tmp" not in stderr


# -- 13. verify, inspect: the right message, JSON when asked, options that do not fit -------


def test_13_verify_a_missing_output_says_no_such_file(tmp_path: Path) -> None:
    code, _, stderr = run("verify", str(tmp_path / "nonexist.npz"), "--dataset", "sample")
    assert code == 1
    one_line(stderr, "nonexist.npz: no such file")


def test_13_inspect_show_json_is_json(tmp_path: Path) -> None:
    out = tmp_path / "s.npz"
    run("convert", "--dataset", "sample", "--out", str(out), "-q")
    code, stdout, _ = run("inspect", str(out), "--json", "--show", "0")
    digit = json.loads(stdout)
    assert code == 0 and digit["kind"] == "digit" and digit["label"] == 7
    assert digit["pixels"] == read_red(SAMPLE_SPRITE)[0].reshape(28, 28).tolist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(SAMPLE_SPRITE), "--count", "5"], "--count sets the size of a --grid"),
        ([str(SAMPLE_LABELS), "--train-size", "70000"], "--train-size 70,000 is more than"),
        ([str(SAMPLE_SPRITE), "--image-size", "30x30"], "is 784 pixels wide, but one 30x30"),
        ([str(SAMPLE_SPRITE), "--image-size", "30x30", "--show", "0"], "but one 30x30"),
    ],
)
def test_13_inspect_options_that_do_not_fit_exit_2(args: list[str], message: str) -> None:
    code, stdout, stderr = run("inspect", *args)
    assert (code, stdout) == (2, "")
    one_line(stderr, message)


# -- 14. --json failures are JSON on stdout too --------------------------------------------


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
def test_14_json_failure_is_json_on_stdout(args: list[str]) -> None:
    code, stdout, stderr = run(*args)
    assert code in (1, 2)
    one_line(stderr)
    assert json.loads(stdout) == {"ok": False, "error": stderr[7:-1], "exit_code": code}


# -- 15. a host that does not exist is not retried; a wait is announced ----------------------


def test_15_unknown_host_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    files = make_files()
    with pytest.raises(FetchError, match="the host name does not resolve"):
        fetch_dataset(
            files.dataset, cache_dir=tmp_path, sprite_url="http://no.such.host.invalid/x.png"
        )
    assert slept == []


def test_15_a_retry_is_announced_on_stderr(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: Files = make_files()
    base = serve(server, files)
    server.routes["/data/tiny_images.png"] = Route(files.sprite, status=[503])
    fetch_dataset(
        files.dataset, cache_dir=tmp_path, mirrors=[base], backoff=0.01, show_progress=True
    )
    assert "retrying in" in capsys.readouterr().err


# -- 16. binary data is never written to a terminal -----------------------------------------


def test_16_out_dash_refuses_a_terminal() -> None:
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


# -- 17, 18: the Python API --------------------------------------------------------------


def test_17_convert_and_fetch_take_what_load_data_takes(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    result = mnist_sprite.convert("api.npz", "sample")
    assert result.arrays["x_train"]["shape"] == [800, 784]
    mnist_sprite.convert(out="b", dataset="sample", format="npy", dtype="uint8", shape="image")
    assert (tmp_path / "b" / "x_train.npy").is_file()
    sprite, labels = mnist_sprite.fetch("sample")
    assert (sprite.name, labels.name) == ("sample_images.png", "sample_labels_uint8")
    with pytest.raises(mnist_sprite.OutputError, match="already exists; pass force=True"):
        mnist_sprite.convert("api.npz", "sample")


def test_18_api_errors_speak_python_and_refuse_what_the_cli_refuses() -> None:
    with pytest.raises(OptionError) as info:
        mnist_sprite.load_data("sample", seed=1)
    assert str(info.value) == "seed without shuffle=True has no effect; add shuffle=True"
    with pytest.raises(OptionError, match="dataset and sprite/labels both given"):
        mnist_sprite.load_data(dataset="sample", sprite=SAMPLE_SPRITE, labels=SAMPLE_LABELS)
    code, _, stderr = run(
        "convert", "--dataset", "sample", "--sprite", "s", "--labels", "l", "--out", "o.npz"
    )
    assert code == 2 and "--dataset and --sprite/--labels both given" in stderr


# -- the whole CLI with hostile option values: never a traceback ---------------------------

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
    tmp_path: Path, command: str, option: str
) -> None:
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


@needs_real
def test_real_files_are_here() -> None:
    assert REAL_SPRITE.is_file() and REAL_LABELS.is_file()


def test_public_functions_are_not_shadowed_by_submodules() -> None:
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(mnist_sprite.__path__, "mnist_sprite."):
        importlib.import_module(module.name)
    assert callable(mnist_sprite.convert) and callable(mnist_sprite.fetch)
    assert callable(mnist_sprite.load_data)
