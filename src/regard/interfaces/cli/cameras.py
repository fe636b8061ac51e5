"""`regard cameras …`, `regard watch` and `regard events`: home cameras on the command line."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from regard.domain.cameras import (
    DEFAULT_PRE_ROLL,
    Camera,
    NightWindow,
    WatchOptions,
    parse_alerts,
    parse_mask,
    parse_night_only,
)
from regard.domain.events import CameraEvent, EventPhase, EventSink
from regard.errors import InvalidRequestError
from regard.interfaces.cli import render
from regard.interfaces.cli.common import Invocation, JsonOpt, print_json

cameras_app = typer.Typer(
    help="Home cameras: where they are, what they alert on, what they must never see.",
    no_args_is_help=False,
)

NameArg = Annotated[str, typer.Argument(help="The camera's name, e.g. door.")]

ClipsOpt = Annotated[
    bool,
    typer.Option(
        "--clips",
        help="Keep a short clip of each event, faces blurred as in snapshots (memory: the "
        "camera's bit rate times about 70 s; the clips being recorded 48 MB at most).",
    ),
]
PreRollOpt = Annotated[
    float,
    typer.Option("--pre-roll", help="Seconds of a clip before its event began (0 to 10)."),
]


@cameras_app.callback(invoke_without_command=True)
def cameras(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the cameras (as `regard cameras list`)."""
    if ctx.invoked_subcommand is None:
        cameras_list(ctx, as_json)


@cameras_app.command("add")
def cameras_add(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[
        str,
        typer.Argument(
            help="rtsp://… (TCP or UDP), http://… (MJPEG), /dev/videoN, a video file or a "
            "folder of clips."
        ),
    ],
    alerts: Annotated[
        str,
        typer.Option(help="What to alert on: person, pet, car, unknown-face, known-face."),
    ] = "person,pet,car,unknown-face,known-face",
    night_only: Annotated[
        str | None,
        typer.Option("--night-only", help="Alert on these only at night (see `watch --night`)."),
    ] = None,
    public_space: Annotated[
        bool,
        typer.Option(
            "--public-space",
            help="It sees a street or a shared hall: object alerts only, never any face work.",
        ),
    ] = False,
    keep_days: Annotated[
        int, typer.Option("--keep-days", help="Days its events and snapshots are kept.")
    ] = 7,
    transport: Annotated[str, typer.Option(help="RTSP over tcp or udp.")] = "tcp",
    fps: Annotated[float, typer.Option(help="Frames looked at each second.")] = 5.0,
    clips: ClipsOpt = False,
    pre_roll: PreRollOpt = DEFAULT_PRE_ROLL,
    as_json: JsonOpt = False,
) -> None:
    """Set up a camera. Its address may hold a password: Regard never shows or logs it."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine(create=True) as engine:
        camera = engine.cameras.add(
            Camera(
                name=name,
                source=source,
                alerts=parse_alerts(alerts),
                night_only=parse_night_only(night_only) if night_only else (),
                public_space=public_space,
                retention_days=keep_days,
                transport=transport,
                detect_fps=fps,
                clips=clips,
                pre_roll=pre_roll,
            )
        )
        _show(run.out, camera, as_json, "Added")


@cameras_app.command("clips")
def cameras_clips(
    ctx: typer.Context,
    name: NameArg,
    off: Annotated[bool, typer.Option("--off", help="Keep no more clips.")] = False,
    pre_roll: PreRollOpt = DEFAULT_PRE_ROLL,
    as_json: JsonOpt = False,
) -> None:
    """Keep a short clip of each event (from --pre-roll seconds before it to 2 s after),
    faces blurred as in snapshots; kept as long as the camera's events."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        camera = engine.cameras.change(name, clips=not off, pre_roll=pre_roll)
        _show(run.out, camera, as_json, "Clips off for" if off else "Clips on for")


@cameras_app.command("list")
def cameras_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the cameras, their sources (passwords hidden) and what they alert on."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.cameras.all()
        if as_json:
            print_json(rows)
            return
        if not rows:
            run.out.print("No cameras yet: `regard cameras add NAME SOURCE` sets one up.")
            return
        table = Table(title=f"{len(rows)} cameras", title_justify="left")
        for column in ("name", "source", "alerts", "night only", "public", "masks", "keep"):
            table.add_column(column)
        for c in rows:
            table.add_row(
                render.escape(c.name) + ("" if c.enabled else " (off)"),
                render.escape(c.shown_source),
                ", ".join(c.alerts),
                ", ".join(c.night_only) or "-",
                "yes" if c.public_space else "no",
                str(len(c.masks)),
                f"{c.retention_days} d",
            )
        run.out.print(table)


@cameras_app.command("show")
def cameras_show(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Show one camera's settings."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        _show(run.out, engine.cameras.get(name), as_json, "Camera")


@cameras_app.command("mask")
def cameras_mask(
    ctx: typer.Context,
    name: NameArg,
    area: Annotated[
        str | None,
        typer.Argument(
            help="LEFT,TOP,RIGHT,BOTTOM in the camera's pixels, or a polygon X1,Y1,X2,Y2,X3,Y3…"
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every mask.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Mask an area: its pixels are blanked before anything looks at them, and never stored."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        if clear:
            camera = engine.cameras.change(name, masks=())
        elif area is None:
            raise InvalidRequestError("Give the area to mask (e.g. 0,0,320,120), or --clear.")
        else:
            mask = parse_mask(area)
            camera = engine.cameras.change(name, masks=(*engine.cameras.get(name).masks, mask))
        _show(run.out, camera, as_json, "Masked")


@cameras_app.command("enable")
def cameras_enable(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Watch this camera again."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        _show(run.out, engine.cameras.change(name, enabled=True), as_json, "Enabled")


@cameras_app.command("disable")
def cameras_disable(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Stop watching this camera (its settings and events stay)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        _show(run.out, engine.cameras.change(name, enabled=False), as_json, "Disabled")


@cameras_app.command("remove")
def cameras_remove(
    ctx: typer.Context,
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Forget a camera. Its events stay until their retention ends."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        camera = engine.cameras.get(name)
        if not yes and not typer.confirm(
            f"Remove camera {name!r} ({camera.shown_source})? Its settings and masks go; its "
            "events stay until their retention ends.",
            default=False,
        ):
            raise typer.Exit(1)
        _show(run.out, engine.cameras.remove(name), as_json, "Removed")


def _show(out: Console, camera: Camera, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(camera)
        return
    out.print(f"{verb} {render.escape(camera.name)}: {render.escape(camera.shown_source)}")
    out.print(
        f"  alerts: {', '.join(camera.alerts)}"
        + (f" (at night only: {', '.join(camera.night_only)})" if camera.night_only else "")
    )
    if camera.public_space:
        out.print("  public space: object alerts only, no face is ever looked at")
    for mask in camera.masks:
        out.print(f"  mask: {mask.as_text()}")
    if camera.clips:
        out.print(f"  clips: from {camera.pre_roll:g} s before each event to 2 s after it")
    out.print(f"  events kept {camera.retention_days} days" + ("" if camera.enabled else "; off"))


# --- watch and events --------------------------------------------------------------------------


class JsonLines:
    """A sink that prints each ended event as one JSON object on its own line."""

    name = "json-lines"

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        if phase is EventPhase.END:
            sys.stdout.write(json.dumps(event_line(event), ensure_ascii=False) + "\n")
            sys.stdout.flush()

    def close(self) -> None:
        pass


class Printed:
    """A sink that tells the terminal what the cameras see as it happens."""

    name = "terminal"

    def __init__(self, out: Console) -> None:
        self.out = out

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        who = f" ({render.escape(event.who)})" if event.who else ""
        self.out.print(f"{phase.value:>6} {render.escape(event.camera)}: {event.label}{who}")

    def close(self) -> None:
        pass


def event_line(event: CameraEvent, root: Path | None = None) -> dict[str, Any]:
    snapshot = event.snapshot if root is None or event.snapshot is None else root / event.snapshot
    return {
        "camera": event.camera,
        "kind": event.kind.value,
        "label": event.label,
        "who": event.who,
        "start": round(event.start, 3),
        "end": None if event.end is None else round(event.end, 3),
        "snapshot": None if snapshot is None else str(snapshot),
        "clip": None if event.clip is None else str(event.clip),
        "id": event.id,
        "score": event.score,
        "box": None if event.box is None else list(event.box),
    }


def watch(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(help="A video file or a folder of clips, instead of the cameras."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Read PATH to its end and stop (a folder: its clips).")
    ] = False,
    camera: Annotated[
        str | None,
        typer.Option(help="Read PATH as this camera (its masks, alerts, public space)."),
    ] = None,
    night: Annotated[
        str, typer.Option(help="The night window for --night-only alerts, local time.")
    ] = "22:00-06:00",
    no_gating: Annotated[
        bool, typer.Option("--no-gating", help="Look at every frame, moving or not.")
    ] = False,
    clips: Annotated[
        bool, typer.Option("--clips", help="Keep a clip of each event of PATH (see cameras add).")
    ] = False,
    pre_roll: PreRollOpt = DEFAULT_PRE_ROLL,
    as_json: JsonOpt = False,
) -> None:
    """Watch every enabled camera until Ctrl-C; or read a file or a folder of clips."""
    run: Invocation = ctx.obj
    options = WatchOptions(gating=not no_gating, night=NightWindow.parse(night))
    kept = pre_roll if clips else None
    with run.user_errors(as_json), run.open_engine(create=True) as engine:
        if not engine.cameras.faces_allowed():
            run.err.print(
                "[bold yellow]note:[/] the library's face data is locked (give the passphrase "
                "or key file): cameras alert on people, pets and cars, but recognise nobody."
            )
        if path is not None and (once or path.is_file()):
            sinks = [JsonLines()] if as_json else []
            report = engine.cameras.watch_file(path, camera, sinks, options, clips=kept)
            for problem in report.errors:
                run.err.print(f"[bold yellow]skipped:[/] {render.escape(str(problem))}")
            if not as_json:
                _events_table(run.out, [engine.cameras.shown(e) for e in report.events])
            if report.errors and not report.events and report.frames == 0:
                raise typer.Exit(1)
            return
        stop = threading.Event()
        live: list[EventSink] = [JsonLines()] if as_json else [Printed(run.out)]
        chosen = None if path is None else [engine.cameras.adhoc(path, camera, kept)]
        if not as_json:
            shown = [c.name for c in chosen or engine.cameras.all() if c.enabled]
            if not shown:
                run.out.print("No cameras to watch: `regard cameras add NAME SOURCE` first.")
                return
            run.out.print(f"Watching {', '.join(shown)} (Ctrl-C to stop).")
        # Alerts also go to the owner's sinks (MQTT, webhook, desktop: `regard sinks`).
        names = [c.name for c in chosen or engine.cameras.all() if c.enabled]
        alerting = engine.alerts.open_sinks(names)
        try:
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the watcher stops cleanly
                engine.cameras.watch(stop, [*live, *alerting], options, cameras=chosen)
        finally:
            for sink in alerting:
                sink.close()
        if not as_json:
            run.out.print("Stopped; every event seen so far is saved.")


events_app = typer.Typer(help="What the cameras saw.", no_args_is_help=False)


@events_app.callback(invoke_without_command=True)
def events(
    ctx: typer.Context,
    since: Annotated[
        str, typer.Option(help="today, yesterday, 2h, 30m, 7d, or a date (and time).")
    ] = "today",
    camera: Annotated[str | None, typer.Option(help="One camera's events only.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the cameras saw, newest first, with their snapshots."""
    run: Invocation = ctx.obj
    if ctx.invoked_subcommand is not None:
        return
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.cameras.events(since, camera)
        if as_json:
            for event in rows:
                sys.stdout.write(json.dumps(event_line(event), ensure_ascii=False) + "\n")
            return
        _events_table(run.out, rows)


@events_app.command("unknown")
def events_unknown(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Unknown faces' crops, kept a day for you to name or discard."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        faces = engine.cameras.unknown_faces()
        if as_json:
            print_json(faces)
            return
        if not faces:
            run.out.print("No unknown faces kept.")
            return
        for f in faces:
            run.out.print(
                f"#{f.id}  {render.escape(f.path)}  (event {f.event}, deleted "
                f"{_when(f.expires, True)})"
            )
        run.out.print(
            "Name one: `regard consent grant NAME --purpose camera --face PATH`, then discard "
            "it: `regard events discard ID`."
        )


@events_app.command("discard")
def events_discard(
    ctx: typer.Context,
    face_id: Annotated[int, typer.Argument(help="The unknown face's number (#).")],
    as_json: JsonOpt = False,
) -> None:
    """Delete an unknown face's crop now."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        gone = engine.cameras.discard_unknown(face_id)
        if as_json:
            print_json(gone)
        else:
            run.out.print(f"Discarded unknown face #{gone.id}.")


def _events_table(out: Console, rows: list[CameraEvent]) -> None:
    if not rows:
        out.print("No events.")
        return
    table = Table(title=f"{len(rows)} events", title_justify="left")
    for column in ("camera", "what", "who", "start", "end", "snapshot", "clip"):
        table.add_column(column)
    for e in rows:
        table.add_row(
            render.escape(e.camera),
            e.label,
            render.escape(e.who or "-"),
            _when(e.start, e.live),
            "-" if e.end is None else _when(e.end, e.live),
            render.escape(str(e.snapshot or "-")),
            render.escape(str(e.clip or "-")),
        )
    out.print(table)


def _when(t: float, live: bool) -> str:
    if not live:
        return f"{t:.1f} s"
    from datetime import datetime

    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def register(app: typer.Typer) -> None:
    """Put `regard cameras …`, `regard watch` and `regard events` on `app`."""
    app.add_typer(cameras_app, name="cameras")
    app.command()(watch)
    app.add_typer(events_app, name="events")
