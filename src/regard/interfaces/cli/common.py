"""What every `regard` command shares: the global options, errors as messages, the engine."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from regard.engine import Engine, EngineConfig
from regard.errors import AmbiguousProbeError, RegardError
from regard.interfaces.cli import render
from regard.privacy.keys import KeyConfig

DEFAULT_LIBRARY = Path("~/regard-lib").expanduser()


class State:
    library: Path = DEFAULT_LIBRARY
    passphrase: str | None = None
    key_file: Path | None = None
    actor: str | None = None
    out = Console()
    err = Console(stderr=True)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def user_errors(as_json: bool) -> Iterator[None]:
    """Turn Regard's errors into a one-paragraph message (or a JSON error) and exit code 1."""
    try:
        yield
    except RegardError as exc:
        if as_json:
            payload: dict[str, Any] = {"error": {"type": type(exc).__name__, "message": str(exc)}}
            if isinstance(exc, AmbiguousProbeError):
                payload["error"]["faces"] = [f.as_dict() for f in exc.faces]
            print_json(payload)
        else:
            State.err.print(f"[bold red]error:[/] {render.escape(str(exc))}")
            if isinstance(exc, AmbiguousProbeError):
                State.err.print(render.probe_faces_table(exc.faces))
        raise typer.Exit(1) from None


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
