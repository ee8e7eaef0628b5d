"""The package as a user installs it: a wheel in a fresh venv, no dev extras, no repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what a release holds: setuptools writes build/ and *.egg-info
    beside the pyproject.toml it builds, and a test writes nothing into the project."""
    out, tree = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(
        ROOT / "mnist_sprite", tree / "mnist_sprite", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(tree)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (found,) = out.glob("mnist_sprite-*.whl")
    return found


def test_wheel_holds_every_module_and_the_sample(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "mnist_sprite").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources <= names, sorted(sources - names)


def test_wheel_installs_and_runs_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"  # not the repository: nothing of it on sys.path
    work.mkdir()

    def in_venv(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / argv[0]), *argv[1:]],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )

    run = in_venv("mnist-sprite", "convert", "--dataset", "sample", "--out", "s.npz")
    assert run.returncode == 0, run.stderr
    code = (
        "import mnist_sprite, sys\n"
        "assert 'site-packages' in mnist_sprite.__file__, mnist_sprite.__file__\n"
        "(x, y), (xt, yt) = mnist_sprite.load_data('sample')\n"
        "print(x.shape, xt.shape, mnist_sprite.__version__)\n"
    )
    run = in_venv("python", "-c", code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:4] == ["(800,", "784)", "(200,", "784)"]
    pip_list = in_venv("python", "-m", "pip", "list", "--format=freeze").stdout.lower()
    for dev_only in ("pytest", "hypothesis", "pillow", "mypy", "ruff"):
        assert f"{dev_only}==" not in pip_list


def test_each_step_of_test_pythons_says_what_it_ran_and_its_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """make test-pythons is minutes a version: each step is a line on stderr as it ends."""
    from tests.pythons import step

    assert step(["true", "--quiet"], tmp_path / "3.12.log")
    assert not step(["false"], tmp_path / "3.12.log")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("pythons: 3.12: true --quiet ... ok in ")
    assert lines[1].startswith("pythons: 3.12: false ... FAILED (exit 1) in ")
    assert all(line.endswith(" s") for line in lines)
