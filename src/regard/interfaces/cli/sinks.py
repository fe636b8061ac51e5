"""`regard sinks`: where camera alerts go besides the web app — MQTT (Home Assistant), a
webhook on your network, the desktop. Passwords are kept sealed and never printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regard.interfaces.cli import render
from regard.interfaces.cli.common import Invocation, JsonOpt, print_json

sinks_app = typer.Typer(
    help="Where camera alerts go: MQTT (Home Assistant), a webhook, the desktop.",
    no_args_is_help=False,
)
NameArg = Annotated[str, typer.Argument(help="The sink's name, as `regard sinks` lists it.")]


def _table(rows: list[Any]) -> Table:
    table = Table(title="Alert sinks (the web app's Events page gets every alert too)")
    for column in ("name", "kind", "address", "options"):
        table.add_column(column)
    for s in rows:
        options = ", ".join(f"{k}={v}" for k, v in sorted(s.options.items()))
        table.add_row(
            render.escape(s.name), s.kind, render.escape(s.address), render.escape(options)
        )
    return table


@sinks_app.callback(invoke_without_command=True)
def sinks(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the alert sinks (addresses without passwords)."""
    run: Invocation = ctx.obj
    if ctx.invoked_subcommand is not None:
        return
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.alerts.sinks()
    if as_json:
        print_json(rows)
    elif rows:
        run.out.print(_table(rows))
    else:
        run.out.print(
            "No alert sinks: alerts show on the web app's Events page only. Add one with "
            "`regard sinks add mqtt mqtt://user:password@192.168.1.5:1883`."
        )


@sinks_app.command("add")
def sinks_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="mqtt, webhook or desktop.")],
    address: Annotated[
        str | None,
        typer.Argument(
            help="mqtt://[user:password@]host[:port] (mqtts:// for TLS), or the webhook's "
            "http(s):// address. Not for desktop."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="A name for it (default: its kind).")
    ] = None,
    allow_public: Annotated[
        bool,
        typer.Option(
            "--allow-public",
            help="Allow an address on the internet. Without it, only addresses on your own "
            "network (private, loopback, link-local) are accepted.",
        ),
    ] = False,
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="Webhook: send the snapshot (JPEG, base64) too.")
    ] = False,
    discovery: Annotated[
        bool,
        typer.Option(
            "--discovery/--no-discovery", help="MQTT: announce entities to Home Assistant."
        ),
    ] = True,
    prefix: Annotated[str, typer.Option("--prefix", help="MQTT: the topics' prefix.")] = "regard",
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="MQTT over TLS: the authority that signed the broker."),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="MQTT over TLS: do not check the broker's host name."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add an alert sink. Its address must be on your own network unless --allow-public;
    its password is kept sealed with the library's key and never shown."""
    run: Invocation = ctx.obj
    options: dict[str, Any] = {}
    if kind == "mqtt":
        options = {"discovery": discovery, "prefix": prefix, "insecure": insecure}
        if ca_file is not None:
            options["ca_file"] = str(ca_file.expanduser().resolve())
    elif kind == "webhook":
        options = {"snapshot": snapshot}
    with run.user_errors(as_json), run.open_engine() as engine:
        added = engine.alerts.add(
            kind, address, name=name, allow_public=allow_public, options=options
        )
    if as_json:
        print_json(added)
    else:
        run.out.print(
            f"Added {added.kind} sink [bold]{render.escape(added.name)}[/] "
            f"({render.escape(added.address)}). Check it with `regard sinks test {added.name}`."
        )


@sinks_app.command("test")
def sinks_test(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Send a test alert (a person at camera `test`, started and ended) to one sink."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.alerts.test(name)
    if as_json:
        print_json(result)
    elif result.delivered:
        run.out.print(f"Sink {render.escape(name)}: the test alert was delivered.")
    else:
        run.err.print(
            f"[bold red]error:[/] sink {render.escape(name)}: the test alert was not "
            f"delivered: {render.escape(result.error or 'no answer')}."
        )
    if not result.delivered:
        raise typer.Exit(1)


@sinks_app.command("remove")
def sinks_remove(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Stop sending alerts to a sink and forget its settings and password."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        removed = engine.alerts.remove(name)
    if as_json:
        print_json(removed)
    else:
        run.out.print(
            f"Removed sink [bold]{render.escape(removed.name)}[/] ({render.escape(removed.address)}"
            "). To undo, add it again (with its password)."
        )


def register(app: typer.Typer) -> None:
    """Put `regard sinks` on `app`."""
    app.add_typer(sinks_app, name="sinks")
