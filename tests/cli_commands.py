"""The command line as Typer builds it, for the tests that hold the docs to it: every command
and sub-command, read from the app object rather than listed by hand."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer
import typer.main

# The CLI's entry module (it puts every command group on the app).
ENTRY_MODULES = ("regard.interfaces.cli.main",)


def cli_app() -> typer.Typer:
    for name in ENTRY_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module is there but something it imports is not
                raise
            continue
        found = getattr(module, "app", None)
        if isinstance(found, typer.Typer):
            return found
    raise AssertionError(f"no Typer `app` in any of {ENTRY_MODULES}")


@dataclass(frozen=True)
class Command:
    name: str  # as typed after `regard`: "index", "people name"
    command: Any  # the click command Typer made
    group: bool  # a command with sub-commands
    runs: bool  # it does something of its own (a leaf, or a group run without a sub-command)


def cli_commands() -> list[Command]:
    """Every command and sub-command, at any depth (the root itself left out)."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[Command]:
        # Duck-typed: recent Typer carries its own copy of click, so no isinstance on click.Group.
        subcommands = getattr(command, "commands", None) or {}
        if path:
            runs = not subcommands or bool(getattr(command, "invoke_without_command", False))
            yield Command(" ".join(path), command, bool(subcommands), runs)
        for name, sub in subcommands.items():
            yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(cli_app()), ()))
