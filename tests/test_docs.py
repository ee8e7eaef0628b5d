"""README is the manual: every command and option is in it, and every one has help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mnist_sprite.cli import cli
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
