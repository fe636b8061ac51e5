"""`regard people …`: see and correct how faces are grouped into people."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from regard.domain.people import PersonInfo, parse_face_refs
from regard.errors import PeopleActionError
from regard.interfaces.cli import render
from regard.interfaces.cli.common import (
    Invocation,
    JsonOpt,
    print_json,
)

people_app = typer.Typer(
    help="People: faces grouped into persons, and your corrections to the grouping.",
    no_args_is_help=False,
)


@people_app.callback(invoke_without_command=True)
def people(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List people with their face counts and cover face; unnamed ones too."""
    run: Invocation = ctx.obj
    if ctx.invoked_subcommand is not None:
        return
    with run.user_errors(as_json), run.open_engine() as engine:
        engine.people.group_pending()
        rows = engine.people.summaries()
        if as_json:
            print_json(rows)
        else:
            render.people(run.out, rows)


PersonArg = Annotated[str, typer.Argument(help="A person: P12, or a name.")]


@people_app.command("name")
def people_name(
    ctx: typer.Context,
    person: PersonArg,
    name: Annotated[str, typer.Argument(help="The name to give them.")],
    as_json: JsonOpt = False,
) -> None:
    """Name a person. Naming confirms their faces: regrouping never moves them."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        _show_person(run.out, engine.people.name(person, name), as_json, "Named")


@people_app.command("merge")
def people_merge(
    ctx: typer.Context,
    keep: PersonArg,
    other: Annotated[str, typer.Argument(help="The person to merge into KEEP.")],
    keep_name: Annotated[
        str | None,
        typer.Option("--keep-name", help="When both are named: the name that stays."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Say two people are the same person: OTHER's faces move to KEEP (`people undo` takes
    it back). When both are named, say which name stays with --keep-name."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        _show_person(run.out, engine.people.merge(keep, other, keep_name), as_json, "Merged into")


@people_app.command("split")
def people_split(
    ctx: typer.Context,
    person: PersonArg,
    faces: Annotated[str, typer.Option("--faces", help="The faces that are someone else: F1,F7.")],
    as_json: JsonOpt = False,
) -> None:
    """Say some faces of a person are someone else: they become a new person."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        made = engine.people.split(person, parse_face_refs(faces))
        _show_person(run.out, made, as_json, "Split off as")


@people_app.command("reject")
def people_reject(
    ctx: typer.Context,
    person: PersonArg,
    face: Annotated[str, typer.Option("--face", help="The face that is not them: F9.")],
    as_json: JsonOpt = False,
) -> None:
    """Say a face is not this person; it is never put back with them."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        [face_id] = parse_face_refs(face)[:1] or [0]
        _show_person(
            run.out, engine.people.reject(person, face_id), as_json, "Rejected the face from"
        )


@people_app.command("delete")
def people_delete(
    ctx: typer.Context,
    person: PersonArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a person and their name. Their faces stay, in no person, with their face data:
    to remove that too, use `regard erase --person`."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        target = engine.people.show(person)
        label = f"{target['person']} ({target['name']})" if target["name"] else target["person"]
        if not yes:
            if not sys.stdin.isatty():
                raise PeopleActionError(
                    f"This deletes {label} and their name for good (their {target['faces']} "
                    "faces stay, in no person). Add --yes to confirm."
                )
            typer.confirm(
                f"Delete {label}? Their {target['faces']} faces stay, in no person.", abort=True
            )
        out = engine.people.delete(person)
        if as_json:
            print_json(out)
        else:
            run.out.print(
                f"Deleted {render.escape(label)}: {out['faces_unassigned']} faces are in no "
                "person now (their face data is kept; `regard erase` removes it)."
            )


@people_app.command("hide")
def people_hide(
    ctx: typer.Context,
    person: PersonArg,
    show: Annotated[bool, typer.Option("--show", help="Show them again instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Keep a person but out of the way (the web app lists them under Hidden)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        out = engine.faces.hide(person, not show)
        _show_person(run.out, out, as_json, "Shown again:" if show else "Hidden:")


@people_app.command("cover")
def people_cover(
    ctx: typer.Context,
    person: PersonArg,
    face: Annotated[str, typer.Argument(help="One of their faces: F9.")],
    as_json: JsonOpt = False,
) -> None:
    """Choose the face shown for a person (kept while it is theirs)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        [face_id] = parse_face_refs(face)[:1] or [0]
        _show_person(run.out, engine.faces.choose_cover(person, face_id), as_json, "Cover of")


@people_app.command("history")
def people_history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="How many corrections to show.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The latest corrections (names, merges, splits, rejections, regroupings), newest first,
    with the numbers `people undo` takes."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.people.history(limit)
        if as_json:
            print_json(rows)
        else:
            render.people_history(run.out, rows)


@people_app.command("undo")
def people_undo(
    ctx: typer.Context,
    entry: Annotated[
        int | None,
        typer.Argument(help="The correction's number in `people history` (default: the latest)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a merge, a split or a rejection exactly as it was; refused, with the reason, if a
    later correction changed the same people."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        out = engine.people.undo(entry)
        if as_json:
            print_json(out)
        else:
            run.out.print(f"Undone #{out['undone']}: {render.escape(out['text'])}")


@people_app.command("show")
def people_show(ctx: typer.Context, person: PersonArg, as_json: JsonOpt = False) -> None:
    """A person's photos, with the face ids that `split` and `reject` take."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        info = engine.people.show(person)
        if as_json:
            print_json(info)
        else:
            render.person_detail(run.out, info)


@people_app.command("recluster")
def people_recluster(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Group every face again from scratch, keeping every name and correction you made."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        summary = engine.people.recluster()
        if as_json:
            print_json(summary)
        else:
            run.out.print(
                f"Regrouped {summary['faces']} faces: {summary['people']} people, "
                f"{summary['faces_in_people']} faces in them, {summary['unassigned']} on their own."
            )


def _show_person(out: Console, info: PersonInfo, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(info)
    else:
        name = f" ({render.escape(info['name'])})" if info["name"] else ""
        out.print(
            f"{verb} {info['person']}{name}: {info['faces']} faces in {info['photos']} photos."
        )


def register(app: typer.Typer) -> None:
    """Put `regard people …` on `app`."""
    app.add_typer(people_app, name="people")
