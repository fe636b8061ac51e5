"""Recaps: listed with their photos chosen, one by id, hidden or shown again; a person kept
out of recaps. Making a recap's collage or video is a job (the Memories page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.domain.recap_answers import Recap, RecapChange, RecapList
from regard.interfaces.http.api import SessionDep, allowed
from regard.interfaces.http.routes.library import JobInfo

router = APIRouter(prefix="/api")


class HideFromRecapsIn(BaseModel):
    hidden: bool = Field(default=True, description="False: let them back into recaps.")


@router.get("/recaps", tags=["recaps"], response_model=RecapList)
def recaps(
    session: SessionDep,
    request: Request,
    kind: Annotated[
        str,
        Query(
            max_length=20,
            description="today (a few for today), all, on-this-day, events, trips, people, "
            "together or years.",
        ),
    ] = "today",
    hidden: Annotated[bool, Query(description="Include the recaps the owner hid.")] = False,
) -> RecapList:
    """Recaps best first, each with `id`, `kind`, `title`, `start` and `end` (dates), `place`,
    `people` (names that may be shown) and `photos` (best first; a video's moment has `start`
    and `end` in seconds; each face's box and whether it is blurred). Recorded in the audit
    log, as exports are."""
    with allowed(request, session, Permission.VIEW, "see recaps") as engine:
        return engine.recaps.listing(kind, hidden=hidden)


@router.get("/recaps/{recap_id}", tags=["recaps"], response_model=Recap)
def recap(recap_id: str, session: SessionDep, request: Request) -> Recap:
    """One recap by id, hidden or not."""
    with allowed(request, session, Permission.VIEW, "see recaps") as engine:
        chosen = engine.recaps.get(recap_id[:80])
        engine.recaps.record("recaps", [chosen], {"id": chosen.recap.id})
        return chosen.recap


@router.post("/recaps/{recap_id}/hide", tags=["recaps"], response_model=RecapChange)
def hide(recap_id: str, session: SessionDep, request: Request) -> RecapChange:
    """Leave a recap out of the lists (it can still be opened by id)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "hide recaps") as engine:
        return engine.recaps.hide(recap_id[:80], True)


@router.post("/recaps/{recap_id}/unhide", tags=["recaps"], response_model=RecapChange)
def unhide(recap_id: str, session: SessionDep, request: Request) -> RecapChange:
    """Show a hidden recap in the lists again."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "hide recaps") as engine:
        return engine.recaps.hide(recap_id[:80], False)


@router.post("/people/{ref}/hide-from-recaps", tags=["people"], response_model=RecapChange)
def hide_person(
    ref: str, body: HideFromRecapsIn, session: SessionDep, request: Request
) -> RecapChange:
    """Keep a person out of every recap (`hidden: false` lets them back in): no recap of their
    own, no photo they are in chosen for another."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "hide people from recaps") as engine:
        return engine.recaps.hide_person(ref, body.hidden)


@router.post("/recaps/{recap_id}/collage", tags=["recaps"], response_model=JobInfo, status_code=202)
def collage_job(recap_id: str, session: SessionDep, request: Request) -> dict[str, Any]:
    """Make the recap's collage (a JPEG: no face cut by a tile's edge, every face that may not
    be shown blurred) in the background; the job is on the job list with its progress
    (photos), its file at `GET /api/jobs/{id}/result` once done, and
    `POST /api/jobs/{id}/cancel` stops it."""
    with allowed(request, session, Permission.VIEW, "make recaps") as engine:
        return engine.shares.submit_recap(recap_id[:80], "collage").as_dict()


@router.post("/recaps/{recap_id}/video", tags=["recaps"], response_model=JobInfo, status_code=202)
def video_job(recap_id: str, session: SessionDep, request: Request) -> dict[str, Any]:
    """Make the recap's slideshow (an MP4, 1080p, silent: pan and zoom toward faces,
    cross-fades, every face that may not be shown blurred) in the background, as a job
    (progress in frames; the file at `GET /api/jobs/{id}/result`)."""
    with allowed(request, session, Permission.VIEW, "make recaps") as engine:
        return engine.shares.submit_recap(recap_id[:80], "video").as_dict()
