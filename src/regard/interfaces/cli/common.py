"""What every `regard` command shares: the global options, errors as messages, the engine."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from regard import logs
from regard.engine import Engine, EngineConfig
from regard.errors import AmbiguousProbeError, RegardError
from regard.interfaces.cli import render
from regard.storage.keys import KeyConfig

DEFAULT_LIBRARY = Path("~/regard-lib").expanduser()
log = logging.getLogger("regard.cli")


class State:
    library: Path = DEFAULT_LIBRARY
    passphrase: str | None = None
    key_file: Path | None = None
    actor: str | None = None
    out = Console()
    err = Console(stderr=True)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    # A path that is not valid UTF-8 holds surrogates (PEP 383): written as JSON's \\udcXX
    # escapes, the output stays valid UTF-8 and `json.loads` gives back the very path.
    sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")


@contextmanager
def user_errors(as_json: bool) -> Iterator[None]:
    """Turn Regard's errors into a one-paragraph message (or a JSON error) and exit code 1.
    Anything else that goes wrong (a bug, a full disk, a damaged catalog) is told the same
    way, with the traceback in the log instead of on the terminal: `--json` never prints
    anything but JSON."""
    try:
        yield
    except RegardError as exc:
        _report(as_json, type(exc).__name__, str(exc), exc)
        raise typer.Exit(1) from None
    except (typer.Exit, typer.Abort, click.ClickException, KeyboardInterrupt):
        raise
    except Exception as exc:
        log.error("unexpected failure", exc_info=exc)
        where = logs.log_file()
        message = (
            f"Regard failed unexpectedly: {type(exc).__name__}: {exc}. What was already "
            "stored is intact (every photo is written whole or not at all). "
            + (f"The details are in {where}; " if where else "")
            + "please report this."
        )
        _report(as_json, "InternalError", message, exc)
        raise typer.Exit(1) from None


def _report(as_json: bool, kind: str, message: str, exc: Exception) -> None:
    if as_json:
        payload: dict[str, Any] = {"error": {"type": kind, "message": message}}
        if isinstance(exc, AmbiguousProbeError):
            payload["error"]["faces"] = [f.as_dict() for f in exc.faces]
        print_json(payload)
    else:
        State.err.print(f"[bold red]error:[/] {render.escape(message)}")
        if isinstance(exc, AmbiguousProbeError):
            State.err.print(render.probe_faces_table(exc.faces))


def key_config() -> KeyConfig:
    passphrase = State.passphrase or os.environ.get("REGARD_PASSPHRASE") or None
    key_file = State.key_file or (
        Path(os.environ["REGARD_KEY_FILE"]) if os.environ.get("REGARD_KEY_FILE") else None
    )
    return KeyConfig(passphrase=passphrase, key_file=key_file)


def engine_config(**config: Any) -> EngineConfig:
    base = EngineConfig(keys=key_config())
    if State.actor:
        base = replace(base, actor=State.actor)
    return replace(base, **config) if config else base


def open_engine(create: bool = False, **config: Any) -> Engine:
    return Engine(State.library, create=create, config=engine_config(**config))
