"""Search: the faces in a photo handed in, search by face and by person."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from regard.domain.accounts import Permission
from regard.domain.search import PersonSearch, ProbeFace, ProbeFaces, SearchResult
from regard.interfaces.http.api import (
    SessionDep,
    allowed,
    host_of,
    received_photo,
    require,
    sent_name,
)

router = APIRouter(prefix="/api")


@router.post("/probe", tags=["search"])
def probe(
    session: SessionDep,
    request: Request,
    photo: Annotated[UploadFile, File(description="A photo to find faces in.")],
) -> ProbeFaces:
    """The faces in an uploaded photo, numbered as `face_index` takes them (not stored)."""
    require(request, session, Permission.SEARCH, "search")
    with (
        received_photo(photo) as path,
        host_of(request).probed(path) as faces,
    ):
        return ProbeFaces([ProbeFace.of(i, f) for i, f in enumerate(faces)])


@router.post("/search/face", tags=["search"])
def search_face(
    session: SessionDep,
    request: Request,
    photo: Annotated[UploadFile, File(description="A photo of the person to look for.")],
    face_index: Annotated[int | None, Form(ge=0, le=1000)] = None,
    threshold: Annotated[float | None, Form(ge=-1.0, le=1.0)] = None,
    limit: Annotated[int | None, Form(ge=1, le=10000)] = None,
) -> SearchResult:
    """Every photo with this face, best first (as `regard search --face`); the probe is not
    kept, and the search is written to the audit log."""
    require(request, session, Permission.SEARCH, "search")
    with (
        received_photo(photo) as path,
        host_of(request).probed(path),
        allowed(request, session, Permission.SEARCH, "search") as engine,
    ):
        result = engine.search_face(path, face_index=face_index, threshold=threshold, limit=limit)
    # The probe by the name it was sent with, not its temporary file's.
    return replace(result, probe_path=sent_name(photo, "the uploaded photo"))


@router.get("/search/person/{ref}", tags=["search"])
def search_person(
    ref: str,
    session: SessionDep,
    request: Request,
    threshold: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
) -> PersonSearch:
    """A person's photos, then look-alikes not in them yet (as `regard search --person`)."""
    with allowed(request, session, Permission.SEARCH, "search") as engine:
        return engine.search_person(ref, threshold=threshold)
