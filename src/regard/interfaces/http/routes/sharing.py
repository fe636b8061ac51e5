"""Sharing safely: exports with faces blurred (and their preview), and anonymised copies; a
video anonymised, and an export with videos, as background jobs (their progress on the job
list, their result downloaded when done, cancellable)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.domain.people import MAX_ID
from regard.engine import (
    Engine,
    ExportOptions,
    ExportPreview,
    Selection,
)
from regard.interfaces.http.api import (
    MAX_SHARE_BYTES,
    SessionDep,
    allowed,
    attachment,
    host_of,
    received_photo,
    require,
    sent_name,
)
from regard.interfaces.http.routes.library import JobInfo

router = APIRouter(prefix="/api")


BlurModeIn = Literal["unconsented", "all", "all-but", "none"]
BlurMethodIn = Literal["gaussian", "mosaic", "solid"]
MAX_EXPORT_PHOTOS = 2000
#: What an anonymised upload is written as, by what it was sent as.
COPY_SUFFIX = {".png": ".png", ".webp": ".webp"}


class ExportIn(BaseModel):
    photos: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=MAX_EXPORT_PHOTOS
    )
    folders: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=list, max_length=100
    )
    people: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    blur: BlurModeIn = "unconsented"
    visible: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    method: BlurMethodIn = "gaussian"
    keep: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=30
    )
    quality: int = Field(90, ge=1, le=100)
    rename: bool = False


def export_request(engine: Engine, body: ExportIn) -> tuple[Selection, ExportOptions]:
    options = ExportOptions(
        blur=body.blur,
        visible=tuple(body.visible),
        method=body.method,
        keep=tuple(body.keep),
        quality=body.quality,
        rename=body.rename,
    )
    # Folders as the Library page names them (or, for owners, their paths).
    selection = engine.select_for_export(
        folders=body.folders, photo_ids=body.photos, people=body.people
    )
    return selection, options


class ExportPreviewIn(ExportIn):
    images: int = Field(3, ge=0, le=6, description="Preview images of the first photos.")


@router.post("/export/preview", tags=["sharing"])
def export_preview(body: ExportPreviewIn, session: SessionDep, request: Request) -> ExportPreview:
    """What an export would blur, before it is made: per photo the heads blurred and those
    left visible, small preview images of the first copies (not kept), and who comes out
    blurred, with a warning for each person chosen by name who has not agreed."""
    permission = Permission.SEARCH if body.people else Permission.VIEW
    with allowed(request, session, permission, "export photos") as engine:
        selection, options = export_request(engine, body)
        return engine.export_preview(selection, options, images=body.images)


@router.post("/export", tags=["sharing"], responses={200: {"content": {"application/zip": {}}}})
def export(body: ExportIn, session: SessionDep, request: Request) -> Response:
    """Anonymised copies of library photos, as a zip with `report.json` (as `regard export`):
    chosen by photo id, folder or person; faces blurred by consent, no metadata."""
    permission = Permission.SEARCH if body.people else Permission.VIEW
    with (
        allowed(request, session, permission, "export photos") as engine,
        tempfile.TemporaryDirectory(prefix="regard-export-") as tmp,
    ):
        selection, options = export_request(engine, body)
        data = engine.export_zip(selection, options, Path(tmp)).read_bytes()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="regard-export.zip"'},
    )


@router.post("/anonymise", tags=["sharing"], responses={200: {"content": {"image/*": {}}}})
def anonymise(
    session: SessionDep,
    request: Request,
    photo: Annotated[UploadFile, File(description="A photo to blur every face of.")],
    method: Annotated[BlurMethodIn, Form()] = "gaussian",
) -> Response:
    """A copy of an uploaded photo with every face blurred and no metadata (as `regard
    anonymise`); nothing is kept or added to the library."""
    name = sent_name(photo, "the uploaded photo")
    require(request, session, Permission.VIEW, "anonymise photos")
    with (
        received_photo(photo) as source,
        tempfile.TemporaryDirectory(prefix="regard-anonymise-") as tmp,
    ):
        suffix = COPY_SUFFIX.get(source.suffix, ".jpg")
        out = Path(tmp) / f"copy{suffix}"
        # In a worker process, outside the lock: nobody waits while a photo is blurred.
        host_of(request).probes.anonymise(source, out, method)
        data = out.read_bytes()
    stem = Path(name).stem or "photo"
    media = {".png": "image/png", ".webp": "image/webp"}.get(suffix, "image/jpeg")
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": attachment(f"{stem}-anonymised{suffix}")},
    )


# --- as jobs: a video anonymised, an export with videos ------------------------------------------

JobId = Annotated[str, FastPath(max_length=64)]


@router.post("/anonymise/jobs", tags=["sharing"], response_model=JobInfo, status_code=202)
def anonymise_job(
    session: SessionDep,
    request: Request,
    file: Annotated[UploadFile, File(description="A video (or a photo) to blur every face of.")],
    method: Annotated[BlurMethodIn, Form()] = "gaussian",
    keep_audio: Annotated[bool, Form(description="Keep a video's sound (a voice identifies).")] = (
        False
    ),
) -> dict[str, Any]:
    """Anonymise an uploaded video (or photo) in the background, as `regard anonymise` does:
    every face blurred in every frame, no metadata, the sound dropped unless `keep_audio`.
    The job is on the job list at once with its progress (frames); its result is at
    `GET /api/jobs/{id}/result` once it is done. The file is not kept or indexed."""
    name = sent_name(file, "the uploaded video")
    require(request, session, Permission.VIEW, "anonymise photos and videos")
    host = host_of(request)
    # Written without the lock: a large video takes a while to copy.
    source = host.engine.shares.receive(file.file, name, MAX_SHARE_BYTES)
    with allowed(request, session, Permission.VIEW, "anonymise photos and videos") as engine:
        job = engine.shares.submit_anonymise(
            source, name=name, method=method, keep_audio=keep_audio
        )
        return job.as_dict()


@router.post("/export/jobs", tags=["sharing"], response_model=JobInfo, status_code=202)
def export_job(body: ExportIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """An export (as `POST /api/export`) made in the background, videos included: each video
    of the selection copied with the people the blur mode keeps as they are and everyone else
    blurred in every frame (no sound, no metadata). Its zip is at `GET /api/jobs/{id}/result`
    once done."""
    permission = Permission.SEARCH if body.people else Permission.VIEW
    with allowed(request, session, permission, "export photos") as engine:
        selection, options = export_request(engine, body)
        return engine.shares.submit_export(selection, options).as_dict()


@router.get(
    "/jobs/{job_id}/result",
    tags=["sharing"],
    responses={200: {"content": {"video/mp4": {}, "application/zip": {}, "image/*": {}}}},
)
def job_result(job_id: JobId, session: SessionDep, request: Request) -> FileResponse:
    """The result of an anonymise or export job that is done: the anonymised copy, or the
    export's zip (409 while it runs, or once it was cancelled or failed)."""
    with allowed(request, session, Permission.VIEW, "download anonymised copies") as engine:
        path, name, media = engine.shares.result(job_id)
    return FileResponse(path, media_type=media, headers={"Content-Disposition": attachment(name)})


@router.post("/jobs/{job_id}/cancel", tags=["sharing"], response_model=JobInfo)
def cancel_job(job_id: JobId, session: SessionDep, request: Request) -> dict[str, Any]:
    """Stop an anonymise or export job: a queued one at once, a running one at its next
    frame or file; nothing of it is kept. Indexing is not cancelled this way (409)."""
    with allowed(request, session, Permission.VIEW, "cancel jobs") as engine:
        return engine.shares.cancel(job_id).as_dict(engine.path_namer())
