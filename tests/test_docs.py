"""README is the manual: every command and option is in it, and every one has help."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from mnist_sprite.cli import cli

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
