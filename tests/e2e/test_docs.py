"""Docs are a contract: every command explains itself."""

import typer.main
from typer.testing import CliRunner

from regard.interfaces.cli.main import app


def test_every_command_has_help_text():
    group = typer.main.get_command(app)
    assert group.commands, "no commands registered"
    for name, command in group.commands.items():
        assert command.help and len(command.help) > 20, f"`regard {name}` has no help text"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert getattr(param, "help", None), f"`regard {name} {param.opts[0]}` has no help"
        result = CliRunner().invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_the_readme_shows_every_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in typer.main.get_command(app).commands:
        assert f"regard {name}" in readme or f"`{name}`" in readme, f"README never mentions {name}"
