"""People: the groups of faces, naming and correcting them, and the corrections' history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.domain.people import (
    MAX_ID,
    HistoryEntry,
    PersonCorrected,
    PersonDeleted,
    PersonInfo,
    PersonPage,
    PersonSummary,
    Regrouped,
    Undone,
    parse_face_refs,
)
from regard.interfaces.http.api import (
    SessionDep,
    allowed,
    reshaped,
)

router = APIRouter(prefix="/api")


class NameIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class MergeIn(BaseModel):
    keep: str = Field(min_length=1, max_length=200)
    other: str = Field(min_length=1, max_length=200)
    keep_name: str | None = Field(
        default=None,
        max_length=200,
        description="When both are named: the name that stays (one of theirs).",
    )


class UndoIn(BaseModel):
    entry: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A history entry; none: the latest."
    )


class FacesIn(BaseModel):
    faces: str = Field(min_length=1, max_length=2000, description="F1,F7")


class FaceIn(BaseModel):
    face: str = Field(min_length=1, max_length=50, description="F9")


@router.get("/people", tags=["people"], response_model=list[PersonSummary])
def people(session: SessionDep, request: Request) -> Response:
    """People with face counts and cover faces (as `regard people`), but where the covers'
    photos are on the disk (no `cover_path`)."""
    with allowed(request, session, Permission.VIEW, "see people") as engine:
        rows = [r.as_dict() for r in engine.people.summaries()]
    for r in rows:
        r.pop("cover_path", None)
    return reshaped(rows)


@router.get("/people/history", tags=["people"])
def people_history(
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[HistoryEntry]:
    """The latest corrections, newest first, and whether each can be undone (as `regard
    people history`)."""
    with allowed(request, session, Permission.VIEW, "see people") as engine:
        return engine.people.history(limit)


@router.post("/people/undo", tags=["people"])
def undo(body: UndoIn, session: SessionDep, request: Request) -> Undone:
    """Undo a merge, split or rejection, exactly (as `regard people undo`)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        return engine.people.undo(body.entry)


@router.get("/people/{ref}", tags=["people"])
def person(ref: str, session: SessionDep, request: Request) -> PersonPage:
    """A person's photos and faces (as `regard people show`)."""
    with allowed(request, session, Permission.VIEW, "see people") as engine:
        return engine.people.show(ref)


@router.post("/people/{ref}/name", tags=["people"])
def name_person(ref: str, body: NameIn, session: SessionDep, request: Request) -> PersonInfo:
    """Name a person (confirms their faces; in organisation libraries, needs consent)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "name people") as engine:
        return engine.people.name(ref, body.name)


@router.post("/people/merge", tags=["people"])
def merge(body: MergeIn, session: SessionDep, request: Request) -> PersonCorrected:
    """The same person: `other`'s faces join `keep`; when both are named, `keep_name` says
    which name stays."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "merge people") as engine:
        return engine.people.merge(body.keep, body.other, body.keep_name)


@router.delete("/people/{ref}", tags=["people"])
def delete_person(ref: str, session: SessionDep, request: Request) -> PersonDeleted:
    """Delete a person and their name; their faces stay, in no person (not an erasure)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "delete people") as engine:
        return engine.people.delete(ref)


@router.post("/people/{ref}/split", tags=["people"])
def split(ref: str, body: FacesIn, session: SessionDep, request: Request) -> PersonCorrected:
    """These faces are someone else: they become a new person."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "split people") as engine:
        return engine.people.split(ref, parse_face_refs(body.faces))


@router.post("/people/{ref}/reject", tags=["people"])
def reject(ref: str, body: FaceIn, session: SessionDep, request: Request) -> PersonCorrected:
    """This face is not this person; it never goes back (unless undone)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        [face_id] = parse_face_refs(body.face)[:1] or [0]
        return engine.people.reject(ref, face_id)


@router.post("/people/recluster", tags=["people"])
def recluster(session: SessionDep, request: Request) -> Regrouped:
    """Regroup every face from scratch, keeping every correction."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "regroup people") as engine:
        return engine.people.recluster()
