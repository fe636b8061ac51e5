"""Faces named where they are seen: given to a person or a new name, said to be no person or
someone else; the "Who is this?" queue of unnamed faces with suggestions; hiding people and
choosing their cover. Each change is in the people history and undone from there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, model_validator

from regard.domain.accounts import Permission
from regard.domain.naming import FacesNamed, WhoIsThis
from regard.domain.people import PersonCorrected, parse_face_refs
from regard.interfaces.http.api import SessionDep, allowed

router = APIRouter(prefix="/api")


class NameFacesIn(BaseModel):
    faces: str = Field(min_length=1, max_length=2000, description="F1,F7")
    person: str | None = Field(
        default=None, min_length=1, max_length=200, description="An existing person: P12 or a name."
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="A new person's name."
    )

    @model_validator(mode="after")
    def one_of(self) -> NameFacesIn:
        if (self.person is None) == (self.name is None):
            raise ValueError("give either person or name")
        return self


class HideIn(BaseModel):
    hidden: bool = Field(default=True, description="False: show them again.")


class CoverIn(BaseModel):
    face: str = Field(min_length=1, max_length=50, description="F9, one of theirs")


def _face(ref: str) -> int:
    [face_id] = parse_face_refs(ref)[:1] or [0]
    return face_id


@router.post("/faces/name", tags=["faces"])
def name_faces(body: NameFacesIn, session: SessionDep, request: Request) -> FacesNamed:
    """These faces are an existing person, or someone new; a name someone already has is
    refused (409) with that person, for the web to offer them (as `regard faces name`)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "name faces") as engine:
        return engine.faces.assign(parse_face_refs(body.faces), person=body.person, name=body.name)


class ConfirmIn(BaseModel):
    person: str = Field(min_length=1, max_length=200, description="P12 or a name.")


@router.post("/faces/{face}/confirm", tags=["faces"])
def confirm(face: str, body: ConfirmIn, session: SessionDep, request: Request) -> FacesNamed:
    """A possible match of a search is this person: the owner links it to them, and grouping
    keeps it (as `regard people confirm`; undoable)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "confirm a match") as engine:
        return engine.faces.confirm(_face(face), body.person)


@router.post("/faces/{face}/not-a-person", tags=["faces"])
def not_a_person(face: str, session: SessionDep, request: Request) -> FacesNamed:
    """This detection is no face: out of people, grouping and counts (undoable)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        return engine.faces.not_a_person(_face(face))


@router.post("/faces/{face}/someone-else", tags=["faces"])
def someone_else(face: str, session: SessionDep, request: Request) -> FacesNamed:
    """This face is not the person it is in; never grouped with them again (undoable)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        return engine.faces.someone_else(_face(face))


@router.get("/faces/unnamed", tags=["faces"])
def who_is_this(
    session: SessionDep,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> WhoIsThis:
    """Unnamed faces grouped, largest first, with the photos they are in and the named person
    they most look like (suggestions are written to the audit log, as searches are)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "name faces") as engine:
        return engine.faces.who_is_this(offset=offset, limit=limit)


@router.post("/people/{ref}/hide", tags=["people"])
def hide(ref: str, body: HideIn, session: SessionDep, request: Request) -> PersonCorrected:
    """Keep a person out of the way on the People page, or show them again."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        return engine.faces.hide(ref, body.hidden)


@router.post("/people/{ref}/cover", tags=["people"])
def cover(ref: str, body: CoverIn, session: SessionDep, request: Request) -> PersonCorrected:
    """The face shown for a person: one of theirs."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        return engine.faces.choose_cover(ref, _face(body.face))
