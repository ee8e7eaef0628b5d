"""``make test-pythons``: the package on every Python it declares (3.10 to 3.13).

For each version found (``python3.1x`` on PATH when it runs, else pyenv's build of it), in a
fresh venv under ``.pythons/``: install the wheel with its dev extras (a failed install is a
failure), run every command and ``load_data()`` on the bundled sample from a folder outside the
project, then pytest over the project's tests importing the installed wheel, not the source.
``PYTHONS`` picks versions (space-separated; default: all four); ``PYTHONS_TESTS`` narrows
pytest (test files or options, space-separated; default: the whole suite). One line per
version, then ``N passed, N failed``; exit 1 on any failure.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.realdata import ROOT

VERSIONS = ("3.10", "3.11", "3.12", "3.13")
FOLDER = ROOT / ".pythons"

SMOKE = """
import sys
import mnist_sprite
assert "site-packages" in mnist_sprite.__file__, mnist_sprite.__file__
(x, y), (xt, yt) = mnist_sprite.load_data("sample")
assert x.shape == (800, 784) and xt.shape == (200, 784) and x.dtype == "float32"
assert y.shape == (800, 10) and float(x.max()) == 1.0
print(sys.version.split()[0], mnist_sprite.__file__)
"""


def version_of(python: str) -> str | None:
    """The X.Y of an interpreter that runs, else None (a pyenv shim of an unselected version)."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def pyenv_root() -> Path:
    pyenv = shutil.which("pyenv")
    if pyenv:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip())
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def find(version: str) -> str | None:
    """An interpreter of ``version``: on PATH if it runs, else the newest pyenv build."""
    on_path = shutil.which(f"python{version}")
    if on_path and version_of(on_path) == version:
        return on_path
    pattern = str(pyenv_root() / "versions" / f"{version}.*" / "bin" / f"python{version}")
    builds = sorted(glob.glob(pattern), key=lambda p: [int(n) for n in re.findall(r"\d+", p)])
    for build in reversed(builds):
        if version_of(build) == version:
            return build
    return None


def step(argv: list[str], log: Path, **kw: object) -> bool:
    """Run one step into the version's log, and say on stderr what it was and how long it
    took (a whole version takes minutes: each step is a line as it ends)."""
    start = time.monotonic()
    with log.open("a") as out:
        out.write(f"$ {shlex.join(argv)}\n")
        out.flush()
        done = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw
        )
    what = " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv[:4]))
    verdict = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
    seconds = time.monotonic() - start
    print(
        f"pythons: {log.stem}: {what} ... {verdict} in {seconds:.1f} s", file=sys.stderr, flush=True
    )
    return bool(done.returncode == 0)


def build_wheel(out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("mnist_sprite-*.whl")
    return wheel


def last_line(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def check(version: str, python: str, wheel: Path, tests: list[str]) -> tuple[bool, str]:
    """(passed, what happened) for one interpreter."""
    venv = FOLDER / version
    log = FOLDER / f"{version}.log"
    log.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    bin_dir = venv / "bin"
    py = str(bin_dir / "python")
    if not step([python, "-m", "venv", "--clear", str(venv)], log, env=env):
        return False, f"venv failed (see {log})"
    if not step([py, "-m", "pip", "install", "--quiet", f"{wheel}[dev]"], log, env=env):
        return False, f"the wheel or its dependencies failed to install: {last_line(log)}"
    with tempfile.TemporaryDirectory(prefix="pythons-") as tmp:
        work = Path(tmp)
        tool = [str(bin_dir / "mnist-sprite")]
        commands = [
            [*tool, "fetch", "--dataset", "sample"],
            [*tool, "convert", "--dataset", "sample", "--out", "s.npz", "-q"],
            [*tool, "convert", "--dataset", "sample", "--format", "idx", "--out", "idx", "-q"],
            [*tool, "inspect", "s.npz"],
            [*tool, "verify", "s.npz"],
            [*tool, "pack", "s.npz", "--out", "web", "--name", "digits", "-q"],
            [*tool, "verify", "web/digits.json", "--source", "s.npz"],
            [py, "-c", SMOKE],
        ]
        for argv in commands:
            if not step(argv, log, cwd=work, env=env):
                return False, f"{shlex.join(argv[1:3])} failed: {last_line(log)}"
        # pytest over the project's tests, from a folder that links to them: the rootdir on
        # sys.path is that folder, so `import mnist_sprite` is the installed wheel.
        for name in ("tests", "pyproject.toml"):
            (work / name).symlink_to(ROOT / name)
        argv = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
        passed = step(argv, log, cwd=work, env={**env, "PYTHONDONTWRITEBYTECODE": "1"})
    summary = last_line(log).strip("= ")
    return (
        passed,
        f"wheel installed; {len(commands) - 1} commands and load_data() on the sample; {summary}",
    )


def main() -> int:
    FOLDER.mkdir(exist_ok=True)
    tests = shlex.split(os.environ.get("PYTHONS_TESTS", "")) or ["tests"]
    tests = [t if t.startswith("-") or t.startswith("tests") else f"tests/{t}" for t in tests]
    wheel = build_wheel(FOLDER / "dist")
    print(f"pythons: built {wheel.name}; logs in {FOLDER}/", file=sys.stderr)
    passed = failed = 0
    chosen = os.environ.get("PYTHONS", "").split() or list(VERSIONS)
    for version in chosen:
        python = find(version)
        if python is None:
            print(f"pythons: {version} not found (not on PATH, no pyenv build): not tested")
            continue
        start = time.monotonic()
        ok, what = check(version, python, wheel, tests)
        seconds = time.monotonic() - start
        print(
            f"pythons: {version} {'ok' if ok else 'FAILED'} ({python}, {seconds:.0f} s): {what}",
            flush=True,
        )
        passed, failed = passed + ok, failed + (not ok)
    print(f"pythons: {passed} passed, {failed} failed")
    return 0 if passed and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
