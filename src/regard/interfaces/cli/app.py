"""`regard` on the command line: parse, call the engine, render. No logic lives here."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from regard.domain.people import parse_face_refs
from regard.engine import Engine, EngineConfig
from regard.errors import AmbiguousProbeError, RegardError
from regard.interfaces.cli import render
from regard.pipeline.analyse import AnalysisSettings
from regard.pipeline.decode import DecodeLimits

DEFAULT_LIBRARY = Path("~/regard-lib").expanduser()

app = typer.Typer(
    name="regard",
    help="Face recognition for your own photos, on your own machine. Nothing leaves it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class State:
    library: Path = DEFAULT_LIBRARY
    out = Console()
    err = Console(stderr=True)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def main_options(
    library: Annotated[
        Path,
        typer.Option(
            "--library",
            "-L",
            envvar="REGARD_LIBRARY",
            help="The library folder (catalog and face vectors). Created by `index`.",
        ),
    ] = DEFAULT_LIBRARY,
) -> None:
    State.library = library.expanduser()
    # Made per invocation, not at import, so the terminal width is read when it matters;
    # long paths are not wrapped in logs and pipes.
    State.out = render.console(stderr=False)
    State.err = render.console(stderr=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def _user_errors(as_json: bool) -> Iterator[None]:
    """Turn Regard's errors into a one-paragraph message (or a JSON error) and exit code 1."""
    try:
        yield
    except RegardError as exc:
        if as_json:
            payload: dict[str, Any] = {"error": {"type": type(exc).__name__, "message": str(exc)}}
            if isinstance(exc, AmbiguousProbeError):
                payload["error"]["faces"] = [f.as_dict() for f in exc.faces]
            _print_json(payload)
        else:
            State.err.print(f"[bold red]error:[/] {render.escape(str(exc))}")
            if isinstance(exc, AmbiguousProbeError):
                State.err.print(render.probe_faces_table(exc.faces))
        raise typer.Exit(1) from None


def _engine(create: bool = False, **config: Any) -> Engine:
    base = EngineConfig()
    return Engine(State.library, create=create, config=replace(base, **config) if config else base)


@app.command()
def index(
    folders: Annotated[list[Path], typer.Argument(help="Folders (or files) of photos to index.")],
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
    as_json: JsonOpt = False,
) -> None:
    """Find the photos under FOLDERS and the faces in them. Re-running skips unchanged files."""
    with _user_errors(as_json):
        limits = DecodeLimits(int(max_megapixels * 1e6), int(max_file_mb * 2**20))
        config: dict[str, Any] = {
            "analysis": AnalysisSettings(limits=limits),
            "task_timeout": timeout,
        }
        if workers is not None:
            config["workers"] = workers
        with _engine(create=True, **config) as engine:
            if as_json:
                report = engine.index(folders, prune=prune)
                _print_json(report.as_dict())
                return
            with render.IndexProgress(State.out) as progress:
                report = engine.index(folders, prune=prune, on_event=progress.handle)
            render.index_report(State.out, report)


@app.command()
def search(
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
    with _user_errors(as_json):
        if (face is None) == (person is None):
            raise RegardError("Search for one thing: --face PHOTO or --person NAME.")
        with _engine() as engine:
            if person is not None:
                found = engine.people.search(person, threshold=threshold)
                if as_json:
                    _print_json(found.as_dict())
                else:
                    render.person_search(State.out, found, limit)
                return
            assert face is not None
            result = engine.search_face(
                face, face_index=face_index, threshold=threshold, limit=limit
            )
            if as_json:
                _print_json(result.as_dict())
            else:
                render.search_result(State.out, result)


people_app = typer.Typer(
    help="People: faces grouped into persons, and your corrections to the grouping.",
    no_args_is_help=False,
)
app.add_typer(people_app, name="people")


@people_app.callback(invoke_without_command=True)
def people(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List people with their face counts and cover face; unnamed ones too."""
    if ctx.invoked_subcommand is not None:
        return
    with _user_errors(as_json), _engine() as engine:
        engine.people.group_pending()
        rows = engine.people.summaries()
        if as_json:
            _print_json(rows)
        else:
            render.people(State.out, rows)


PersonArg = Annotated[str, typer.Argument(help="A person: P12, or a name.")]


@people_app.command("name")
def people_name(
    person: PersonArg,
    name: Annotated[str, typer.Argument(help="The name to give them.")],
    as_json: JsonOpt = False,
) -> None:
    """Name a person. Naming confirms their faces: regrouping never moves them."""
    with _user_errors(as_json), _engine() as engine:
        _show_person(engine.people.name(person, name), as_json, "Named")


@people_app.command("merge")
def people_merge(
    keep: PersonArg,
    other: Annotated[str, typer.Argument(help="The person to merge into KEEP.")],
    as_json: JsonOpt = False,
) -> None:
    """Say two people are the same person: OTHER's faces move to KEEP, for good."""
    with _user_errors(as_json), _engine() as engine:
        _show_person(engine.people.merge(keep, other), as_json, "Merged into")


@people_app.command("split")
def people_split(
    person: PersonArg,
    faces: Annotated[str, typer.Option("--faces", help="The faces that are someone else: F1,F7.")],
    as_json: JsonOpt = False,
) -> None:
    """Say some faces of a person are someone else: they become a new person."""
    with _user_errors(as_json), _engine() as engine:
        made = engine.people.split(person, parse_face_refs(faces))
        _show_person(made, as_json, "Split off as")


@people_app.command("reject")
def people_reject(
    person: PersonArg,
    face: Annotated[str, typer.Option("--face", help="The face that is not them: F9.")],
    as_json: JsonOpt = False,
) -> None:
    """Say a face is not this person; it is never put back with them."""
    with _user_errors(as_json), _engine() as engine:
        [face_id] = parse_face_refs(face)[:1] or [0]
        _show_person(engine.people.reject(person, face_id), as_json, "Rejected the face from")


@people_app.command("show")
def people_show(person: PersonArg, as_json: JsonOpt = False) -> None:
    """A person's photos, with the face ids that `split` and `reject` take."""
    with _user_errors(as_json), _engine() as engine:
        info = engine.people.show(person)
        if as_json:
            _print_json(info)
        else:
            render.person_detail(State.out, info)


@people_app.command("recluster")
def people_recluster(as_json: JsonOpt = False) -> None:
    """Group every face again from scratch, keeping every name and correction you made."""
    with _user_errors(as_json), _engine() as engine:
        summary = engine.people.recluster()
        if as_json:
            _print_json(summary)
        else:
            State.out.print(
                f"Regrouped {summary['faces']} faces: {summary['people']} people, "
                f"{summary['faces_in_people']} faces in them, {summary['unassigned']} on their own."
            )


def _show_person(info: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        _print_json(info)
    else:
        name = f" ({render.escape(info['name'])})" if info["name"] else ""
        State.out.print(
            f"{verb} {info['person']}{name}: {info['faces']} faces in {info['photos']} photos."
        )


@app.command()
def faces(
    photo: Annotated[Path, typer.Argument(help="A photo to look for faces in.")],
    as_json: JsonOpt = False,
) -> None:
    """List the faces in a photo, numbered as `search --face-index` uses them."""
    with _user_errors(as_json), _engine() as engine:
        found = engine.probe_faces(photo)
        if as_json:
            _print_json({"photo": str(photo), "faces": [f.as_dict() for f in found]})
        else:
            State.out.print(render.probe_faces_table(found))


@app.command()
def photos(
    with_faces: Annotated[
        bool, typer.Option("--with-faces", help="Only photos where a face was found.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the photos in the library with their face counts."""
    with _user_errors(as_json), _engine() as engine:
        rows = engine.photos(with_faces=with_faces)
        if as_json:
            _print_json(rows)
        else:
            render.photos(State.out, rows)


@app.command()
def status(
    errors: Annotated[
        bool, typer.Option("--errors", help="List the files that could not be indexed.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the library holds: photos, faces, errors, models, size on disk."""
    with _user_errors(as_json), _engine() as engine:
        info = engine.status()
        failed = engine.failures() if errors else []
        if as_json:
            if errors:
                info["failures"] = [
                    {"path": p.path, "code": p.error_code, "message": p.error_message}
                    for p in failed
                ]
            _print_json(info)
            return
        render.status(State.out, info)
        if errors:
            render.failures(State.out, failed)


def main() -> None:
    app()
