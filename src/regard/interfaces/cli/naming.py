"""`regard people name-face | not-a-person | someone-else | who`: name any face where it is
seen (in no person, rejected by mistake, in one photo only, a video's appearance), say it is
not a person or someone else, and go through the unnamed faces, largest groups first, with
the person each most looks like."""

from __future__ import annotations

from typing import Annotated

import typer

from regard.domain.naming import FacesNamed
from regard.domain.people import parse_face_refs
from regard.errors import PersonNotFoundError
from regard.interfaces.cli import render
from regard.interfaces.cli.common import Invocation, JsonOpt, print_json

FacesArg = Annotated[str, typer.Argument(help="Faces: F7, or F1,F7 (`regard people who`).")]
FaceArg = Annotated[str, typer.Argument(help="A face: F7.")]


def _done(run: Invocation, out: FacesNamed, as_json: bool) -> None:
    if as_json:
        print_json(out)
    else:
        run.out.print(f"{render.escape(out.text)} (`regard people undo {out.undo}` takes it back)")


def faces_name(
    ctx: typer.Context,
    faces: FacesArg,
    name: Annotated[str, typer.Argument(help="Who they are: a new name, or P12 or a name.")],
    as_json: JsonOpt = False,
) -> None:
    """Say who faces are: an existing person (P12 or their name) or someone new. A name
    someone has already is theirs: the faces join that person."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        ids = parse_face_refs(faces)
        try:
            existing = engine.people.resolve(name)
        except PersonNotFoundError:
            existing = None
        if existing is not None:
            _done(run, engine.faces.assign(ids, person=f"P{existing.id}"), as_json)
        else:
            _done(run, engine.faces.assign(ids, name=name), as_json)


def faces_confirm(
    ctx: typer.Context,
    face: FaceArg,
    person: Annotated[str, typer.Argument(help="Who it is: P12 or their name.")],
    as_json: JsonOpt = False,
) -> None:
    """Confirm a possible match of a search: the face is this person (the owner's link,
    kept by grouping; undoable)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        [face_id] = parse_face_refs(face)[:1] or [0]
        _done(run, engine.faces.confirm(face_id, person), as_json)


def faces_not_a_person(ctx: typer.Context, face: FaceArg, as_json: JsonOpt = False) -> None:
    """Say a detection is no face: left out of people, grouping and counts (undoable)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        [face_id] = parse_face_refs(face)[:1] or [0]
        _done(run, engine.faces.not_a_person(face_id), as_json)


def faces_someone_else(ctx: typer.Context, face: FaceArg, as_json: JsonOpt = False) -> None:
    """Say a face is not the person it is in: it leaves them for good (undoable)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        [face_id] = parse_face_refs(face)[:1] or [0]
        _done(run, engine.faces.someone_else(face_id), as_json)


def faces_who(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="How many groups to list.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Unnamed faces, largest groups first, with the person each most looks like (each look
    is written to the audit log, as a search is)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        queue = engine.faces.who_is_this(limit=limit)
        if as_json:
            print_json(queue)
            return
        groups = render.count(queue.total, "group")
        run.out.print(f"{groups} of unnamed faces; the first {len(queue.groups)}:")
        for g in queue.groups:
            faces = ",".join(f"F{f}" for f in g.face_ids[:6]) + ("…" if g.faces > 6 else "")
            hint = f" — {render.escape(g.suggestion.text)}" if g.suggestion else ""
            seen = f"{render.count(g.faces, 'face')} in {render.count(g.photos, 'photo')}"
            run.out.print(f"  {g.key}: {seen} ({faces}){hint}")


def register(people_app: typer.Typer) -> None:
    """Put the commands that name faces on `regard people`."""
    people_app.command("name-face")(faces_name)
    people_app.command("confirm")(faces_confirm)
    people_app.command("not-a-person")(faces_not_a_person)
    people_app.command("someone-else")(faces_someone_else)
    people_app.command("who")(faces_who)
