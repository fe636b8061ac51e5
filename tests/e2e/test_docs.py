"""Docs are a contract: every command and sub-command explains itself, and the README names
it. The commands are read from the Typer app, so a new one is held to this without a list
to keep."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli_commands import cli_app, cli_commands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
COMMANDS = cli_commands()


def test_the_walk_reaches_the_sub_commands():
    """Guards the walk itself: it sees the groups and what is under them."""
    names = {c.name for c in COMMANDS}
    assert {"index", "people", "people name", "consent grant", "xmp import"} <= names
    assert {c.name for c in COMMANDS if c.group} >= {"people", "consent", "optout", "xmp"}
    assert sum(" " in n for n in names) >= 14


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_has_help_text(command):
    where = f"`regard {command.name}`"
    assert command.command.help and len(command.command.help) > 20, f"{where} has no help text"
    for param in command.command.params:
        if param.name == "help":
            continue
        # Typer gives arguments a help text too; click's own arguments have none.
        assert getattr(param, "help", None), f"{where} {param.opts[0]} has no help"
    result = CliRunner().invoke(cli_app(), [*command.name.split(), "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, result.output
    assert f"regard {command.name}" in " ".join(result.output.split())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_the_readme_shows_every_command(command):
    """As typed (`regard people name …`) or in a code span beginning with it
    (`people undo [N]`, `rekey`)."""
    name = command.name
    mentioned = f"regard {name}" in README or f"`{name}`" in README or f"`{name} " in README
    assert mentioned, f"README never mentions `regard {name}`"
