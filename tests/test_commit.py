"""The one commit rule (issue 18): an input is never an output; without --force the final move
never replaces anything, even what appeared during the run; with --force the rule is checked
again at the moment of replacing, and whatever fails it is kept."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite import writers
from mnist_sprite.cli import cli
from mnist_sprite.errors import OutputError
from tests import pngkit
from tests.conftest import Sprite, make_sprite

TOOL = [sys.executable, "-m", "mnist_sprite"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if writers.TEMP_MARK in p.name)


# -- an input is never an output ---------------------------------------------------------


@pytest.mark.parametrize("spelling", ["s.png", "./s.png", "../work/s.png", "link.png"])
def test_grid_never_replaces_its_input(
    tmp_path: Path, spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    sprite = make_sprite(work, images=20, side=4).sprite.rename(work / "s.png")
    (work / "link.png").symlink_to("s.png")
    before = digest(sprite)
    monkeypatch.chdir(work)
    code, _, err = run("inspect", "s.png", "--image-size", "4x4", "--grid", spelling, "--force")
    assert code == 2, err
    assert err.startswith("error: ") and "an input of this command" in err
    assert "choose another --grid" in err and err.count("\n") == 1
    assert digest(sprite) == before


def test_grid_never_writes_into_an_input_folder(tmp_path: Path, small: Sprite) -> None:
    out = tmp_path / "out"
    assert (
        run(
            "convert",
            *small.args(),
            "--image-size",
            "4x4",
            "--train-size",
            "20",
            "--format",
            "npy",
            "--out",
            str(out),
        )[0]
        == 0
    )
    before = sorted(p.name for p in out.iterdir())
    code, _, err = run("inspect", str(out), "--grid", str(out / "sheet.png"))
    assert code == 2 and "is inside the input folder" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_grid_force_replaces_a_png_but_never_another_kind_of_file(
    tmp_path: Path, small: Sprite
) -> None:
    data = tmp_path / "mine.npz"
    data.write_bytes(b"PK\x03\x04 not mine to lose")
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(pngkit.gray_png(np.zeros((2, 2), dtype=np.uint8)))
    args = ["inspect", str(small.sprite), "--image-size", "4x4", "--force", "--grid"]
    code, _, err = run(*args, str(data))
    assert code == 1 and "replaces only a PNG image" in err and "a zip file" in err
    assert data.read_bytes() == b"PK\x03\x04 not mine to lose"
    assert run(*args, str(sheet))[0] == 0
    assert sheet.stat().st_size > 100


# -- without --force, nothing that appeared during the run is replaced --------------------


def test_a_file_that_appears_during_the_run_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "race.npz"
    with (
        pytest.raises(OutputError, match=r"race.npz: already exists"),
        writers.atomic_output(target, folder=False, force=False) as tmp,
    ):
        tmp.write_bytes(b"ours")
        target.write_bytes(b"the user's")
    assert target.read_bytes() == b"the user's"
    assert leftovers(tmp_path) == []


def test_a_folder_that_appears_during_the_run_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "D"
    with (
        pytest.raises(OutputError, match=r"already exists"),
        writers.atomic_output(target, folder=True, force=False) as tmp,
    ):
        (tmp / "a.png").write_bytes(b"ours")
        target.mkdir()  # even an empty folder: the move never replaces
    assert target.is_dir() and list(target.iterdir()) == []
    assert leftovers(tmp_path) == []


def test_the_no_replace_move_works_without_renameat2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "_RENAMEAT2", None)  # the fallback: link, then unlink
    target = tmp_path / "x.npz"
    with (
        pytest.raises(OutputError, match=r"already exists"),
        writers.atomic_output(target, folder=False, force=False) as tmp,
    ):
        tmp.write_bytes(b"ours")
        target.write_bytes(b"the user's")
    assert target.read_bytes() == b"the user's"
    with writers.atomic_output(tmp_path / "y.npz", folder=False, force=False) as tmp:
        tmp.write_bytes(b"ours")
    assert (tmp_path / "y.npz").read_bytes() == b"ours"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["npz", "csv", "png-dir"])
def test_two_runs_to_one_out_without_force_one_wins(
    tmp_path: Path, small: Sprite, fmt: str
) -> None:
    out = tmp_path / ("out.npz" if fmt == "npz" else "out")
    args = [*TOOL, "convert", *small.args(), "--image-size", "4x4", "--train-size", "20"]
    args += ["--format", fmt]
    runs = [
        subprocess.Popen([*args, "--out", str(out)], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=120)[1] for p in runs]
    results = [(p.returncode, err) for p, err in zip(runs, errors, strict=True)]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "already exists" in loser and loser.count("\n") == 1
    assert leftovers(tmp_path) == []


# -- with --force, the rule is checked again when replacing --------------------------------


def test_force_keeps_a_file_added_to_an_output_folder_during_the_run(tmp_path: Path) -> None:
    target = tmp_path / "D"
    target.mkdir()
    (target / "manifest.json").write_text('{"tool": "mnist-sprite", "files": ["a.png"]}')
    (target / "a.png").write_bytes(b"old output")
    with (
        pytest.raises(OutputError, match=r"not an output of mnist-sprite"),
        writers.atomic_output(target, folder=True, force=True) as tmp,
    ):
        (tmp / "a.png").write_bytes(b"new output")
        (target / "notes.txt").write_text("the user's")
    assert (target / "notes.txt").read_text() == "the user's"
    assert (target / "a.png").read_bytes() == b"old output"
    assert leftovers(tmp_path) == []


def test_force_replaces_an_earlier_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "D"
    target.mkdir()
    (target / "manifest.json").write_text('{"tool": "mnist-sprite", "files": ["a.png"]}')
    (target / "a.png").write_bytes(b"old output")
    with writers.atomic_output(target, folder=True, force=True) as tmp:
        (tmp / "b.png").write_bytes(b"new output")
    assert sorted(p.name for p in target.iterdir()) == ["b.png"]
    assert leftovers(tmp_path) == []


def test_force_png_dir_keeps_a_file_the_user_adds_while_it_runs(tmp_path: Path) -> None:
    """A real process: the file is added while png-dir is still writing its images."""
    src = tmp_path / "src"
    src.mkdir()
    sprite = make_sprite(src, images=20_000, side=8)
    out = tmp_path / "D"
    args = [*TOOL, "convert", *sprite.args(), "--image-size", "8x8", "--train-size", "15000"]
    args += ["--format", "png-dir"]
    assert subprocess.run([*args, "--out", str(out), "-q"], check=False).returncode == 0
    before = {p: digest(p) for p in out.rglob("*") if p.is_file()}
    proc = subprocess.Popen(
        [*args, "--out", str(out), "--force", "-q"], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the conversion ended before the test could add its file"
    (out / "notes.txt").write_text("the user's")
    err = proc.communicate(timeout=120)[1]
    code = proc.returncode
    assert code == 1 and "not an output of mnist-sprite" in err and err.count("\n") == 1
    assert (out / "notes.txt").read_text() == "the user's"
    assert {p: digest(p) for p in out.rglob("*") if p.is_file() and p.name != "notes.txt"} == (
        before
    )
    assert leftovers(tmp_path) == []


# -- pack --force replaces only what an earlier pack wrote ---------------------------------


def test_pack_force_never_replaces_a_users_own_json(tmp_path: Path) -> None:
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    web.mkdir()
    mine = web / "data.json"
    mine.write_text('{"my": "settings"}\n')
    code, _, err = run("pack", str(source), "--out", str(web), "--force", "-q")
    assert code == 1 and "data.json: is not a file an earlier pack wrote" in err
    assert mine.read_text() == '{"my": "settings"}\n'
    assert sorted(p.name for p in web.iterdir()) == ["data.json"]


def test_pack_says_why_a_data_js_of_its_own_matters(tmp_path: Path) -> None:
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    web.mkdir()
    (web / "data.js").write_text("// tfjs-examples' data.js\n")
    for force in ([], ["--force"]):
        code, _, err = run("pack", str(source), "--out", str(web), *force, "-q")
        assert code == 1 and "data.js: is not a file an earlier pack wrote" in err
        assert "--name mnist" in err and "tfjs-examples" in err
    assert (web / "data.js").read_text() == "// tfjs-examples' data.js\n"


def test_pack_force_replaces_an_earlier_pack(tmp_path: Path) -> None:
    source = tmp_path / "s.npz"
    assert run("convert", "--dataset", "sample", "--out", str(source), "-q")[0] == 0
    web = tmp_path / "web"
    assert run("pack", str(source), "--out", str(web), "-q")[0] == 0
    first = {p.name: digest(p) for p in web.iterdir()}
    assert run("pack", str(source), "--out", str(web), "--force", "-q")[0] == 0
    assert {p.name: digest(p) for p in web.iterdir()} == first
    (web / "data_labels_uint8").unlink()
    (web / "data_labels_uint8").write_text("the user's own file under pack's name")
    (web / "data.json").unlink()  # no record: nothing is known to be pack's
    code, _, err = run("pack", str(source), "--out", str(web), "--force", "-q")
    assert code == 1 and "is not a file an earlier pack wrote" in err
    assert (web / "data_labels_uint8").read_text() == "the user's own file under pack's name"


# -- fetch --from and closed pipes ----------------------------------------------------------


def test_fetch_from_onto_a_full_disk_leaves_nothing_and_names_the_cache_file(
    tmp_path: Path,
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    given = tmp_path / "given"
    given.mkdir()
    (given / "mnist_images.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1000))
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    part = folder / "mnist_images.png.part"
    part.symlink_to("/dev/full")  # every write to the copy fails with ENOSPC
    args = ["fetch", "--cache-dir", str(tmp_path / "cache"), "--from", str(given)]
    code, _, err = run(*args)
    assert code == 1 and err.count("\n") == 1, err
    assert "mnist_images.png: cannot write" in err and "free some space" in err
    assert str(given) not in err
    assert not part.exists() and not part.is_symlink()


def test_api_convert_to_a_closed_pipe_is_an_output_error() -> None:
    code = "import mnist_sprite; mnist_sprite.convert('-', 'sample')"
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    last = err.strip().splitlines()[-1]
    assert last.startswith("mnist_sprite.errors.StdoutClosed: -: the program reading"), err


def test_cli_convert_to_a_closed_pipe_says_nothing() -> None:
    with subprocess.Popen(
        [*TOOL, "convert", "--dataset", "sample", "--out", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "error" not in err


# -- what an outside review found (races with clean-up, signals, handles, closed streams) ----


def test_a_live_temp_of_another_namespace_is_never_cleaned(tmp_path: Path) -> None:
    """A process in another PID namespace looks dead to kill(pid, 0); its lock says alive."""
    import fcntl

    target = tmp_path / "pd"
    live = tmp_path / f".pd{writers.TEMP_MARK}999999999.tmp"  # no such pid here
    live.mkdir()
    (live / "0.png").write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        writers.clean_stale_temps(target)
        assert (live / "0.png").read_bytes() == b"being written"
    finally:
        os.close(fd)
    writers.clean_stale_temps(target)  # now nobody holds it: stale
    assert not live.exists()


def test_an_old_output_keeps_what_it_does_not_list(tmp_path: Path) -> None:
    """A file written into the moved-aside folder after its last check (through an open
    handle) is kept, never deleted with the old output."""
    target = tmp_path / "D"
    old = tmp_path / f".D{writers.TEMP_MARK}{os.getpid()}.old"
    (old / "train" / "3").mkdir(parents=True)
    (old / "manifest.json").write_text('{"tool": "mnist-sprite", "files": ["train/3/0.png"]}')
    (old / "train" / "3" / "0.png").write_bytes(b"old output")
    (old / "train" / "notes.txt").write_text("the user's")
    writers._discard_old(old, target)
    assert not old.exists()
    kept = tmp_path / f"D.kept-{os.getpid()}"
    assert (kept / "train" / "notes.txt").read_text() == "the user's"
    assert not (kept / "train" / "3").exists() and not (kept / "manifest.json").exists()


def test_signals_wait_for_the_renames() -> None:
    import signal

    before = signal.getsignal(signal.SIGINT)
    with writers.deferred_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a KeyboardInterrupt would have been raised by now
    assert signal.getsignal(signal.SIGINT) is before


def test_a_force_run_that_loses_the_race_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.npz"
    target.write_bytes(b"earlier output")
    check = writers._check_replaceable

    def another_run_writes(path: Path, **kwargs: object) -> None:
        check(path, **kwargs)  # type: ignore[arg-type]
        if path != target:  # ours moved aside: another run's output takes the name now
            target.write_bytes(b"another run's output")

    monkeypatch.setattr(writers, "_check_replaceable", another_run_writes)
    with (
        pytest.raises(OutputError, match="appeared again while this command replaced it"),
        writers.atomic_output(target, folder=False, force=True) as tmp,
    ):
        tmp.write_bytes(b"ours")
    assert target.read_bytes() == b"another run's output"
    assert (tmp_path / f"x.npz.kept-{os.getpid()}").read_bytes() == b"earlier output"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("out", "code", "says"),
    [("-", 1, "error: -: standard output is closed; give --out FILE"), ("x.npz", 0, "")],
)
def test_a_closed_stdout_is_no_traceback(tmp_path: Path, out: str, code: int, says: str) -> None:
    argv = " ".join([*TOOL, "convert", "--dataset", "sample", "--json", "--out", out])
    if out == "-":
        argv = argv.replace("--json ", "")
    proc = subprocess.run(
        ["bash", "-c", f"{argv} >&-"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == code and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(says) and proc.stderr.count("\n") == (1 if says else 0)


@pytest.mark.parametrize("delay", [0.0005, 0.002, 0.01, 0.05])
def test_ctrl_c_from_the_first_moment_is_one_line(tmp_path: Path, delay: float) -> None:
    """Issue 18.5: Ctrl-C while the command line (click, numpy) is still being imported. The
    child sends itself SIGINT after ``delay``, whatever handler is in force then; the
    package itself imports only its errors, a few milliseconds before this window."""
    child = (
        "import os, signal, sys\n"
        "def interrupt(*_):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "from mnist_sprite.__main__ import main\n"
        "signal.signal(signal.SIGALRM, interrupt)\n"
        f"signal.setitimer(signal.ITIMER_REAL, {delay})\n"
        "sys.argv = ['mnist-sprite', 'convert', '--dataset', 'sample', '--out', 'x.npz', '-q']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", child], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (
        proc.stderr == "error: interrupted; nothing was written and existing files are unchanged\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []
