"""`regard` on the command line: parse, call the engine, render. No logic lives here."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from regard import log_to
from regard.domain.cluster import RayCluster
from regard.errors import InvalidRequestError, RegardError
from regard.interfaces.cli import render
from regard.interfaces.cli.common import (
    DEFAULT_LIBRARY,
    Invocation,
    JsonOpt,
    print_json,
)

app = typer.Typer(
    name="regard",
    help="Face recognition for your own photos, on your own machine. Nothing leaves it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    library: Annotated[
        Path,
        typer.Option(
            "--library",
            "-L",
            envvar="REGARD_LIBRARY",
            help="The library folder (catalog and face vectors). Created by `index`.",
        ),
    ] = DEFAULT_LIBRARY,
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase", help="Ask for the library's passphrase (or set REGARD_PASSPHRASE)."
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            envvar="REGARD_KEY_FILE",
            help="The key file that opens the library's biometric data.",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            envvar="REGARD_ACTOR",
            help="Who is acting, for the audit log (default: your user name).",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="REGARD_DATABASE",
            help="Keep the catalog in this PostgreSQL database (postgresql://user@host/name), "
            "shared by several Regard processes and machines; the library folder then holds "
            "only this machine's files. Default: the catalog is in the library folder (SQLite).",
        ),
    ] = None,
) -> None:
    library = library.expanduser()
    # Image libraries' warnings, and unexpected failures' tracebacks, go to the library's log.
    log_to(library)
    ctx.obj = Invocation(
        library=library,
        # Made per invocation, so the terminal width is read when it matters; long paths are
        # not wrapped in logs and pipes.
        out=render.console(stderr=False),
        err=render.console(stderr=True),
        passphrase=typer.prompt("Passphrase", hide_input=True) if passphrase else None,
        key_file=key_file,
        actor=actor,
        database=database or None,
    )


@app.command()
def index(
    ctx: typer.Context,
    folders: Annotated[
        list[Path], typer.Argument(help="Folders (or files) of photos and videos to index.")
    ],
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove photos whose files are gone from these folders.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="Analysis processes (default: one per CPU core; 0 = in this process)."),
    ] = None,
    max_megapixels: Annotated[
        float, typer.Option(help="Refuse images with more pixels than this (decompression bombs).")
    ] = 200.0,
    max_file_mb: Annotated[float, typer.Option(help="Refuse files larger than this.")] = 1024.0,
    timeout: Annotated[
        float, typer.Option(help="Seconds one file may take before it is given up on.")
    ] = 300.0,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Look again at files that failed before, even if they did not change.",
        ),
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Analyse on a Ray cluster: `auto` (the one started on this machine, or a "
            "private one), ray://HEAD:10001 or HEAD:6379. --workers is then the number of Ray "
            "workers (default: one per CPU of the cluster). Needs regard[ray].",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the photos under FOLDERS and the faces in them. Re-running skips unchanged files
    (and files that failed, unless they changed or --retry-failed is given)."""
    from regard.engine import AnalysisSettings, DecodeLimits

    run: Invocation = ctx.obj
    with run.user_errors(as_json):
        positive("--max-megapixels", max_megapixels, "megapixels")
        positive("--max-file-mb", max_file_mb, "MiB")
        positive("--timeout", timeout, "seconds")
        limits = DecodeLimits(
            max(1, round(max_megapixels * 1e6)), max(1, round(max_file_mb * 2**20))
        )
        config: dict[str, Any] = {
            "analysis": AnalysisSettings(limits=limits),
            "task_timeout": timeout,
        }
        if ray is not None:
            config["ray"] = RayCluster(ray, workers)
        elif workers is not None:
            config["workers"] = workers
        with run.open_engine(create=True, **config) as engine:
            if as_json:
                report = engine.index(folders, prune=prune, retry_failed=retry_failed)
                print_json(report.as_dict())
                return
            with render.IndexProgress(run.out) as progress:
                report = engine.index(
                    folders, prune=prune, on_event=progress.handle, retry_failed=retry_failed
                )
            render.index_report(run.out, report)


def positive(option: str, value: float, unit: str) -> None:
    """Refuse a limit that is not a positive, finite number (nan, 0, -5, inf)."""
    if not (math.isfinite(value) and value > 0):
        raise InvalidRequestError(
            f"{option} must be a positive number of {unit}; {value:g} is not. Leave it out "
            "to use the default."
        )


@app.command()
def search(
    ctx: typer.Context,
    face: Annotated[
        Path | None, typer.Option("--face", help="A photo of the person to look for.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help="A person of the library, by name or id (P12)."),
    ] = None,
    face_index: Annotated[
        int | None,
        typer.Option("--face-index", help="Which face, if the photo has several (0 = leftmost)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="Cosine similarity a match needs (default: calibrated to the library)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Show at most this many photos.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every photo in the library with the face in --face (or of --person), best first."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json):
        if (face is None) == (person is None):
            raise RegardError("Search for one thing: --face PHOTO or --person NAME.")
        with run.open_engine() as engine:
            if person is not None:
                found = engine.search_person(person, threshold=threshold)
                if as_json:
                    print_json(found.as_dict())
                else:
                    render.person_search(run.out, found, limit)
                return
            assert face is not None
            result = engine.search_face(
                face, face_index=face_index, threshold=threshold, limit=limit
            )
            if as_json:
                print_json(result.as_dict())
            else:
                render.search_result(run.out, result)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback only, unless you mean it).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8765,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log each request's path (off by default).")
    ] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Another host name the server answers to (NAME or NAME:PORT), besides "
            "127.0.0.1, localhost, [::1] and --host. Repeat for several.",
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="The address (or network) of a reverse proxy in front of this server: the "
            "client and scheme its X-Forwarded-For and X-Forwarded-Proto name are believed, "
            "so sign-in limits count each client and cookies are Secure behind TLS. Only "
            "from these addresses. Repeat for several.",
        ),
    ] = None,
) -> None:
    """Open the local web app: library, people, search by photo, consent and rights."""
    run: Invocation = ctx.obj
    import asyncio

    from regard.interfaces.http.host import EngineHost
    from regard.interfaces.http.server import (
        allowed_hosts,
        bind,
        is_loopback,
        make_server,
        trusted_proxy_address,
    )

    proxies: list[str] = []
    for address in trusted_proxy or ():
        try:
            proxies.append(trusted_proxy_address(address))
        except ValueError:
            raise typer.BadParameter(
                f"{address!r} is not an IP address or network (like 192.168.1.10 or 10.0.0.0/8).",
                param_hint="--trusted-proxy",
            ) from None
    with run.user_errors(False):
        if not is_loopback(host):
            run.err.print(
                f"[bold yellow]warning:[/] listening on {host}: other machines can reach this "
                "server. Use it only on a network you trust, behind TLS. It answers only to "
                "the host names it knows: give the one other machines use with --allow-host."
            )
        engine_host = EngineHost(run.library, run.engine_config(), create=True)
        try:
            sock = bind(host, port)
            bound = sock.getsockname()[1]
            hosts = allowed_hosts(host, bound, allow_host or ())
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            url = f"http://{f'[{shown}]' if ':' in shown else shown}:{bound}"
            with engine_host.use():
                if engine_host.accounts.needs_setup():
                    # One link to open: the page takes the token from it (and hides it again).
                    run.out.print(
                        "First run: open this address to create the owner's account (its "
                        "one-time setup token is in it):\n\n"
                        f"    {url}/setup?token={engine_host.accounts.setup_token()}\n",
                        soft_wrap=True,
                    )
            run.out.print(
                f"Regard is serving {render.escape(str(run.library))} at {url} (Ctrl-C to stop).",
                soft_wrap=True,
            )
            server = make_server(engine_host, access_log, allowed=hosts, trusted_proxies=proxies)
            # The cameras are watched on threads of their own; their writer takes the
            # engine's lock only around each event it writes. Alerts go to the owner's sinks
            # and the Events page.
            watching = engine_host.engine.cameras.start(engine_host.open_alerts())
            try:
                asyncio.run(server.serve(sockets=[sock]))
            finally:
                watching.stop()
        finally:
            engine_host.close()


@app.command()
def faces(
    ctx: typer.Context,
    photo: Annotated[Path, typer.Argument(help="A photo to look for faces in.")],
    as_json: JsonOpt = False,
) -> None:
    """List the faces in a photo, numbered as `search --face-index` uses them."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        found = engine.probe_faces(photo)
        if as_json:
            print_json({"photo": str(photo), "faces": [f.as_dict() for f in found]})
        else:
            run.out.print(render.probe_faces_table(found))


@app.command()
def photos(
    ctx: typer.Context,
    with_faces: Annotated[
        bool, typer.Option("--with-faces", help="Only photos where a face was found.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the photos in the library with their face counts."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.photos(with_faces=with_faces)
        if as_json:
            print_json(rows)
        else:
            render.photos(run.out, rows)


@app.command()
def status(
    ctx: typer.Context,
    errors: Annotated[
        bool, typer.Option("--errors", help="List the files that could not be indexed.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the library holds: photos, faces, errors, models, size on disk."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        info = engine.status()
        failed = engine.failures() if errors else []
        if as_json:
            out = info.as_dict()
            if errors:
                out["failures"] = [
                    {"path": p.path, "code": p.error_code, "message": p.error_message}
                    for p in failed
                ]
            print_json(out)
            return
        render.status(run.out, info)
        if errors:
            render.failures(run.out, failed)
