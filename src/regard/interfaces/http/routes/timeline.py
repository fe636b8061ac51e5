"""The timeline in pages, its months for the scrubber, originals as a zip, and the trash."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.domain.people import MAX_ID
from regard.domain.timeline import (
    TimelineMonths,
    TimelinePage,
    TrashChange,
    TrashEmptied,
    TrashPage,
)
from regard.errors import InvalidRequestError
from regard.interfaces.http.api import SessionDep, allowed

router = APIRouter(prefix="/api")

#: Photos one zip of originals may hold.
MAX_ZIP = 2000


class PhotoIdsIn(BaseModel):
    photo_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=10_000)


class EmptyIn(BaseModel):
    photo_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=10_000, description="Only these (default: all of the trash)."
    )


@router.get("/timeline", tags=["library"], response_model=TimelinePage)
def timeline(
    session: SessionDep,
    request: Request,
    cursor: Annotated[
        str | None, Query(max_length=400, description="The last page's `next_cursor`.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    month: Annotated[
        str | None, Query(max_length=10, description='Only this month: "2019-05" or "undated".')
    ] = None,
) -> TimelinePage:
    """Photos and videos newest first (undated last), a page at a time: each page starts
    where the last ended, however many photos were indexed meanwhile. Sizes are as shown
    (upright)."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        return engine.pages.page(cursor=cursor, limit=limit, month=month)


@router.get("/timeline/months", tags=["library"], response_model=TimelineMonths)
def timeline_months(session: SessionDep, request: Request) -> TimelineMonths:
    """How many photos and videos each month holds, newest first, for the scrubber."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        return engine.pages.months()


@router.get(
    "/originals.zip", tags=["library"], responses={200: {"content": {"application/zip": {}}}}
)
def originals(
    session: SessionDep,
    request: Request,
    ids: Annotated[str, Query(max_length=20_000, description="Photo ids: 1,2,3")],
) -> StreamingResponse:
    """The original files of these photos and videos, as a zip streamed as it is made."""
    try:
        photo_ids = [int(x) for x in ids.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidRequestError("ids: photo numbers separated by commas, as 1,2,3.") from exc
    if not photo_ids or len(photo_ids) > MAX_ZIP:
        raise InvalidRequestError(f"ids: 1 to {MAX_ZIP} photos at a time.")
    with allowed(request, session, Permission.VIEW, "download photos") as engine:
        files = engine.pages.originals(photo_ids)
        stream = engine.pages.stream_zip(files)
    name = f"regard-{len(files)}-photos.zip"
    return StreamingResponse(
        stream,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/trash", tags=["trash"], response_model=TrashPage)
def trash(
    session: SessionDep,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TrashPage:
    """What is in the trash, the latest deleted first: when each was deleted, when it will be
    emptied, and whether emptying deletes its file (a web upload) or leaves it on disk."""
    with allowed(request, session, Permission.VIEW, "see the trash") as engine:
        return engine.trash.page(offset=offset, limit=limit)


@router.post("/trash", tags=["trash"], response_model=TrashChange)
def put_in_trash(body: PhotoIdsIn, session: SessionDep, request: Request) -> TrashChange:
    """Put photos in the trash: out of the timeline, search, people and exports at once,
    restorable as they were until the trash is emptied."""
    with allowed(request, session, Permission.UPLOAD, "delete photos") as engine:
        return engine.trash.put(body.photo_ids)


@router.post("/trash/restore", tags=["trash"], response_model=TrashChange)
def restore(body: PhotoIdsIn, session: SessionDep, request: Request) -> TrashChange:
    """Take photos out of the trash, with their faces and people as they were."""
    with allowed(request, session, Permission.UPLOAD, "restore photos") as engine:
        return engine.trash.restore(body.photo_ids)


@router.post("/trash/empty", tags=["trash"], response_model=TrashEmptied)
def empty(body: EmptyIn, session: SessionDep, request: Request) -> TrashEmptied:
    """Delete for good what is in the trash (or those of `photo_ids` in it): its faces,
    vectors and thumbnails; a web upload's file too; a file in the owner's folders stays on
    disk and is never indexed again. Owners only."""
    with allowed(request, session, Permission.ERASE, "delete photos for good") as engine:
        return engine.trash.empty(body.photo_ids)
