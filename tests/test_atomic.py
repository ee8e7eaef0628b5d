"""Writing an output: an input is never an output; without --force the final move
never replaces anything, even what appeared during the run; with --force the rule is checked
again at the moment of replacing, and whatever fails it is kept. Closed pipes, signals and
read-only folders end in one line and leave nothing behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_sprite import atomic as writers
from mnist_sprite.errors import OutputError
from tests.cli_kit import SAMPLE_LABELS, SAMPLE_SPRITE, digest, one_line, run
from tests.conftest import Sprite, make_sprite


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_force_never_replaces_a_users_folder(tmp_path: Path) -> None:
    """--force never replaces a folder of the user's."""
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


def test_force_replaces_an_earlier_npy_output_and_nothing_more(tmp_path: Path) -> None:
    """--force never replaces a folder of the user's."""
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


def test_an_empty_folder_can_be_filled(tmp_path: Path) -> None:
    """--force never replaces a folder of the user's."""
    out = tmp_path / "empty"
    out.mkdir()
    args = ["convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q"]
    assert run(*args, "--force")[0] == 0
    assert (out / "x_train.npy").is_file()


@pytest.mark.parametrize("which", ["labels", "sprite", "link", "spelled"])
@pytest.mark.parametrize("force", [False, True])
def test_output_that_is_an_input_is_refused(tmp_path: Path, which: str, force: bool) -> None:
    """An output that is an input is refused, with or without --force."""
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


def test_npy_folder_holding_an_input_is_refused(tmp_path: Path) -> None:
    """An output that is an input is refused, with or without --force."""
    folder = tmp_path / "data"
    folder.mkdir()
    sprite = shutil.copy(SAMPLE_SPRITE, folder / "s.png")
    labels = shutil.copy(SAMPLE_LABELS, folder / "l")
    args = ["convert", "--sprite", str(sprite), "--labels", str(labels), "--train-size", "800"]
    code, _, stderr = run(*args, "--format", "npy", "--out", str(folder), "--force")
    assert code == 2 and "a folder holding an input" in stderr
    assert sorted(p.name for p in folder.iterdir()) == ["l", "s.png"]


@pytest.mark.parametrize("force", [False, True])
def test_out_dot_is_a_users_folder(
    tmp_path: Path, force: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--out .."""
    monkeypatch.chdir(tmp_path)
    Path("mine.txt").write_text("mine\n")
    args = ["convert", "--dataset", "sample", "--format", "npy", "--out", "."]
    code, _, stderr = run(*args, *(["--force"] if force else []))
    assert code == 1
    one_line(stderr, "is a folder that is not an output of mnist-sprite")
    assert "pass --force" not in stderr  # it must not invite what it will refuse
    assert sorted(os.listdir(tmp_path)) == ["mine.txt"]


def test_read_only_folder_names_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only folder names the output, never the temporary file."""
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


TOOL = [sys.executable, "-m", "mnist_sprite"]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if writers.TEMP_MARK in p.name)


def test_a_file_that_appears_during_the_run_is_kept(tmp_path: Path) -> None:
    """Without --force, nothing that appeared during the run is replaced."""
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
    """Without --force, nothing that appeared during the run is replaced."""
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
    """Without --force, nothing that appeared during the run is replaced."""
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
    """Without --force, nothing that appeared during the run is replaced."""
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


def earlier_output_folder(target: Path) -> Path:
    """A folder an earlier run wrote: its manifest and the one file it lists."""
    target.mkdir()
    (target / "manifest.json").write_text('{"tool": "mnist-sprite", "files": ["a.png"]}')
    (target / "a.png").write_bytes(b"old output")
    return target


def test_force_keeps_a_file_added_to_an_output_folder_during_the_run(tmp_path: Path) -> None:
    """With --force, the rule is checked again when replacing."""
    target = earlier_output_folder(tmp_path / "D")
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
    """With --force, the rule is checked again when replacing."""
    target = earlier_output_folder(tmp_path / "D")
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


def test_api_convert_to_a_closed_pipe_is_an_output_error() -> None:
    """Fetch --from and closed pipes."""
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
    """Fetch --from and closed pipes."""
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
    """What an outside review found (races with clean-up, signals, handles, closed
    streams)."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    with writers.deferred_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a KeyboardInterrupt would have been raised by now
    assert signal.getsignal(signal.SIGINT) is before


def test_a_force_run_that_loses_the_race_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an outside review found (races with clean-up, signals, handles, closed
    streams)."""
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
    """What an outside review found (races with clean-up, signals, handles, closed
    streams)."""
    argv = " ".join([*TOOL, "convert", "--dataset", "sample", "--json", "--out", out])
    if out == "-":
        argv = argv.replace("--json ", "")
    proc = subprocess.run(
        ["bash", "-c", f"{argv} >&-"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == code and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(says) and proc.stderr.count("\n") == (1 if says else 0)


def test_ctrl_c_that_an_import_wraps_is_still_an_interruption() -> None:
    """Ctrl-C inside a class body's ``__set_name__`` (platform's, imported by click) reaches
    the entry point as a RuntimeError caused by KeyboardInterrupt: still one line."""
    from mnist_sprite.__main__ import _interrupted

    wrapped = RuntimeError("Error calling __set_name__")
    wrapped.__cause__ = KeyboardInterrupt()
    assert _interrupted(wrapped) and _interrupted(KeyboardInterrupt())
    assert not _interrupted(RuntimeError("a bug")) and not _interrupted(None)


@pytest.mark.parametrize("delay", [0.0005, 0.002, 0.01, 0.05])
def test_ctrl_c_from_the_first_moment_is_one_line(tmp_path: Path, delay: float) -> None:
    """Ctrl-C while the command line (click, numpy) is still being imported. The
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


def test_force_never_replaces_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, stderr = run("convert", "--dataset", "sample", "--out", str(fifo), "--force")
    assert code == 1
    one_line(stderr, "is not a regular file")
    assert fifo.is_fifo()
