"""The library: what it holds, the timeline, photos and faces, uploads and indexing jobs."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as FastPath

from regard.domain.accounts import Permission
from regard.domain.library import LibraryStatus, PhotoDetail, Timeline
from regard.domain.people import MAX_ID
from regard.domain.photo import display_name
from regard.engine import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    sniff,
)
from regard.errors import (
    ImageError,
    JobNotFoundError,
    PhotoNotFoundError,
    UploadTooLargeError,
)
from regard.interfaces.http.api import (
    MAX_FILES,
    UPLOAD_LIMITS,
    FaceId,
    PhotoId,
    SessionDep,
    allowed,
    host_of,
    reshaped,
    sent_name,
)
from regard.interfaces.http.host import EngineHost

#: What an upload of each kind is kept as.
MEDIA_TYPES = {**IMAGE_TYPES, **VIDEO_TYPES}

router = APIRouter(prefix="/api")


# --- what the upload and job routes answer (the server's own, beside the engine's) -----------


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job (indexing, anonymising, an export) and its progress."""

    id: str
    kind: str  # index, anonymise or export
    unit: str  # what done and total count: files or frames
    state: str  # queued, running, done, failed, interrupted or cancelled
    total: int
    done: int
    faces: int
    errors: int
    message: str
    started_at: float  # seconds since the epoch
    finished_at: float | None
    report: dict[str, Any] | None  # the run's report, once it is done


@dataclass(frozen=True, slots=True)
class UploadedFile:
    name: str
    sha256: str
    kind: str  # "photo" or "video"


@dataclass(frozen=True, slots=True)
class RefusedFile:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Uploaded:
    stored: list[UploadedFile]
    duplicates: list[UploadedFile]  # the library holds their content already
    refused: list[RefusedFile]
    job: JobInfo | None  # the job indexing what was stored


@router.get("/status", tags=["library"], response_model=LibraryStatus)
def status(session: SessionDep, request: Request) -> Response:
    """What the library holds (as `regard status`), but where it is on the disk; where the key
    file is and which folders were indexed only for owners."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        info = engine.status().as_dict()
        owner = host_of(request).accounts.can(session.user, Permission.SETTINGS)
    info.pop("library", None)  # where it lives on disk is not the browser's business
    if not owner:
        # Nor, but to its owner, where the key file is or which folders were indexed.
        info["encryption"].pop("key_file", None)
        if info.get("last_run"):
            info["last_run"].pop("roots", None)
    return reshaped(info)


@router.get("/photos", tags=["library"])
def photos(
    session: SessionDep,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    year: Annotated[int | None, Query(ge=1800, le=2200)] = None,
    folder: Annotated[
        str | None,
        Query(max_length=4096, description="One of the `folders` listed: photos in and under it."),
    ] = None,
    undated: Annotated[bool, Query(description="Only photos without a date.")] = False,
    with_faces: bool = False,
) -> Timeline:
    """The timeline: photos newest first, filtered by year, folder or no date; with the years
    and folders (and how many photos have no date) to filter by."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        return engine.timeline(
            offset=offset,
            limit=limit,
            year=year,
            folder=folder,
            with_faces=with_faces,
            undated=undated,
        )


@router.get("/photos/{photo_id}", tags=["library"], response_model=PhotoDetail)
def photo(photo_id: PhotoId, session: SessionDep, request: Request) -> Response:
    """One photo with its faces, who they are, and who is unassigned; `error` in the words of
    a web user (there is no `error_web`)."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        detail = engine.photo_detail(photo_id).as_dict()
    detail["error"] = detail.pop("error_web")  # in the words of a web user
    return reshaped(detail)


@router.get(
    "/photos/{photo_id}/image", tags=["library"], responses={200: {"content": {"image/jpeg": {}}}}
)
def photo_image(
    photo_id: PhotoId,
    session: SessionDep,
    request: Request,
    size: Annotated[int, Query(ge=64, le=4096)] = 256,
) -> Response:
    """A JPEG of the photo, upright, without metadata; opted-out faces blurred. Made once and
    kept; sent with a strong ETag, and 304 Not Modified when the browser has it already.
    Kept by the browser only (private), and checked each time (no-cache), so a face blurred
    since (an opt-out) is never shown from its cache."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        if engine.photo(photo_id) is None:
            raise PhotoNotFoundError(photo_id)
        thumbnails, lock = engine.thumbnails, engine.lock
    # Made (once) without the lock, which it takes only to read the catalog: several at a
    # time, while the server answers everything else.
    data = thumbnails.get_held(photo_id, size, lambda: lock)
    tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    sent = request.headers.get("if-none-match", "")
    if tag in (t.strip().removeprefix("W/") for t in sent.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)


@router.get(
    "/faces/{face_id}/crop", tags=["library"], responses={200: {"content": {"image/jpeg": {}}}}
)
def face_crop(face_id: FaceId, session: SessionDep, request: Request) -> Response:
    """A face, cut from its photo for covers and lists (never stored)."""
    with allowed(request, session, Permission.VIEW, "see faces") as engine:
        thumbnails, lock = engine.thumbnails, engine.lock
    # Cut without the lock, which it takes only to read the catalog (a page of covers).
    data = thumbnails.face_crop(face_id, hold=lambda: lock)
    return Response(data, media_type="image/jpeg")


@router.post("/uploads", tags=["library"], response_model=Uploaded)
def upload(
    session: SessionDep,
    request: Request,
    files: Annotated[
        list[UploadFile],
        File(
            description="Photos (JPEG, PNG, WebP, HEIC, TIFF, BMP or GIF) and videos (MP4, "
            "MOV, M4V, 3GP, WebM, MKV)."
        ),
    ],
    modified: Annotated[
        list[int] | None,
        Form(
            description="Each file's lastModified (ms since the epoch), in the order of "
            "`files`: the date of a photo without one of its own."
        ),
    ] = None,
    folder: Annotated[
        str | None,
        Form(max_length=200, description="A folder to keep them in (a name, not a path)."),
    ] = None,
) -> dict[str, Any]:
    """Keep photos and videos in the library (once per content, under the name each was sent
    with, in `folder` or by month) and index them. Each is checked first by its bytes and its
    decoded header (format, size, decoding limits); what Regard would not index is refused
    with the reason, and nothing of it is kept."""
    host = host_of(request)
    stored: list[dict[str, Any]] = []
    duplicates: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    with allowed(request, session, Permission.UPLOAD, "add photos") as engine:
        known = engine.content_hashes()
        folder = engine.uploads.check_folder(folder)  # a bad name: nothing is kept
    if len(files) > MAX_FILES:
        raise UploadTooLargeError(f"At most {MAX_FILES} files per upload.")
    dates = list(modified or [])
    for i, f in enumerate(files):
        name = sent_name(f, "upload")
        head = f.file.read(32)
        f.file.seek(0)
        kind = sniff(head)
        problem = upload_refusal(kind)
        if problem is not None or kind is None:
            refused.append({"name": name, "reason": problem})
            continue
        limit = UPLOAD_LIMITS[kind]
        data = f.file.read(limit + 1)
        if len(data) > limit:
            refused.append({"name": name, "reason": f"over {limit // 2**20} MiB"})
            continue
        suffix = MEDIA_TYPES[kind]
        try:
            checked_header(host, data, suffix)
        except ImageError as exc:
            advice = exc.advice if exc.web_advice is None else exc.web_advice
            refused.append({"name": name, "reason": f"{exc.problem}. {advice}".strip()})
            continue
        digest, path = host.store_upload(
            data,
            suffix,
            known,
            display_name(f.filename),
            folder=folder,
            modified=dates[i] if i < len(dates) else None,
        )
        known.add(digest)
        media = "video" if kind in VIDEO_TYPES else "photo"
        (stored if path else duplicates).append({"name": name, "sha256": digest, "kind": media})
    job = host.start_index([host.uploads]) if stored else None
    return {
        "stored": stored,
        "duplicates": duplicates,
        "refused": refused,
        "job": job.as_dict() if job else None,
    }


def upload_refusal(kind: str | None) -> str | None:
    """Why an upload of this media type is not kept (None: it may be, once its header is
    checked)."""
    if kind in UPLOAD_LIMITS:
        return None
    if kind == "image/avif":
        return (
            "AVIF photos are not indexed yet, so Regard does not keep them: nothing was stored. "
            "Convert it to JPEG or HEIC."
        )
    return (
        "not a photo or video Regard reads (JPEG, PNG, WebP, HEIC, TIFF, BMP, GIF; MP4, MOV, WebM)."
    )


def checked_header(host: EngineHost, data: bytes, suffix: str) -> None:
    """Raise the `ImageError` indexing would raise for this image's header (format, pixel
    and decoded-size limits), read in a worker process: nothing is kept that would only fail
    later."""
    fd, temporary = tempfile.mkstemp(suffix=suffix, prefix="regard-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        host.probes.header(Path(temporary))
    finally:
        os.unlink(temporary)


@router.get("/jobs", tags=["library"], response_model=list[JobInfo])
def jobs(
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="the latest this many")] = 20,
) -> list[dict[str, Any]]:
    """Jobs and their progress (indexing, those run from the command line too; anonymising
    and exports, see the sharing routes): the latest `limit`, oldest first."""
    with allowed(request, session, Permission.VIEW, "see jobs") as engine:
        where = engine.path_namer()
        return [j.as_dict(where) for j in engine.jobs.all()[-limit:]]


@router.get("/jobs/{job_id}", tags=["library"], response_model=JobInfo)
def job(
    job_id: Annotated[str, FastPath(max_length=64)], session: SessionDep, request: Request
) -> dict[str, Any]:
    """One job's live progress: files (or a video's frames: `unit`) done of total, faces
    found, errors; its report once done."""
    with allowed(request, session, Permission.VIEW, "see jobs") as engine:
        found = engine.jobs.get(job_id)
        where = engine.path_namer()
    if found is None:
        raise JobNotFoundError(job_id)
    return found.as_dict(where)
