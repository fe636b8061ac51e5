"""Sharing safely: exports with faces blurred (and their preview), and anonymised copies."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
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
    SessionDep,
    allowed,
    attachment,
    host_of,
    received_photo,
    require,
    sent_name,
)

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
