"""What every `regard` command shares: the global options, errors as messages, the engine."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console

from regard import log_file
from regard.domain.result import Result
from regard.errors import AmbiguousProbeError, RegardError
from regard.interfaces.cli import render

# The engine (and all it loads) is imported where a command runs: `--help` and a mistyped
# command answer without it (tests/unit/interfaces/test_start_up.py).
if TYPE_CHECKING:
    from regard.engine import Engine, EngineConfig, KeyConfig

#: Expanded when a command runs (`main_options`), not at import.
DEFAULT_LIBRARY = Path("~/regard-lib")
log = logging.getLogger("regard.cli")


@dataclass(frozen=True, slots=True)
class Invocation:
    """One run of `regard`: what its global options said, and where it prints. The callback
    (`app.main_options`) builds it and puts it on the context (`ctx.obj`), where each command
    takes it: nothing of it exists at import, and nothing of one run is left for the next (the
    tests run many in one process)."""

    library: Path
    out: Console
    err: Console
    passphrase: str | None = None
    key_file: Path | None = None
    actor: str | None = None
    database: str | None = None  # postgresql://...: the catalog is on that server

    def key_config(self) -> KeyConfig:
        from regard.engine import KeyConfig

        passphrase = self.passphrase or os.environ.get("REGARD_PASSPHRASE") or None
        key_file = self.key_file or (
            Path(os.environ["REGARD_KEY_FILE"]) if os.environ.get("REGARD_KEY_FILE") else None
        )
        return KeyConfig(passphrase=passphrase, key_file=key_file)

    def engine_config(self, **config: Any) -> EngineConfig:
        from regard.engine import EngineConfig

        base = EngineConfig(keys=self.key_config(), database=self.database)
        if self.actor:
            base = replace(base, actor=self.actor)
        return replace(base, **config) if config else base

    def open_engine(self, create: bool = False, **config: Any) -> Engine:
        from regard.engine import Engine

        return Engine(self.library, create=create, config=self.engine_config(**config))

    @contextmanager
    def user_errors(self, as_json: bool) -> Iterator[None]:
        """Turn Regard's errors into a one-paragraph message (or a JSON error) and exit code 1.
        Anything else that goes wrong (a bug, a full disk, a damaged catalog) is told the same
        way, with the traceback in the log instead of on the terminal: `--json` never prints
        anything but JSON."""
        try:
            yield
        except RegardError as exc:
            _report(self.err, as_json, type(exc).__name__, str(exc), exc)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:
            log.error("unexpected failure", exc_info=exc)
            where = log_file()
            message = (
                f"Regard failed unexpectedly: {type(exc).__name__}: {exc}. What was already "
                "stored is intact (every photo is written whole or not at all). "
                + (f"The details are in {where}; " if where else "")
                + "please report this."
            )
            _report(self.err, as_json, "InternalError", message, exc)
            raise typer.Exit(1) from None


def shown_database(url: str) -> str:
    """A database address fit to print: without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _json_form(value: Any) -> Any:
    """The library's answers as their JSON form; anything else (a path...) as text."""
    return value.as_dict() if isinstance(value, Result) else str(value)


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_form)
    # A path that is not valid UTF-8 holds surrogates (PEP 383): written as JSON's \\udcXX
    # escapes, the output stays valid UTF-8 and `json.loads` gives back the very path.
    sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")


def _report(err: Console, as_json: bool, kind: str, message: str, exc: Exception) -> None:
    if as_json:
        payload: dict[str, Any] = {"error": {"type": kind, "message": message}}
        if isinstance(exc, AmbiguousProbeError):
            payload["error"]["faces"] = [f.as_dict() for f in exc.faces]
        print_json(payload)
    else:
        err.print(f"[bold red]error:[/] {render.escape(message)}")
        if isinstance(exc, AmbiguousProbeError):
            err.print(render.probe_faces_table(exc.faces))
