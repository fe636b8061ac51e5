"""The JSON API under /api: one route per thing the command line can do.

Every route: find the session, check the role, (for changes) check the CSRF token and the
origin, call the engine under the host's lock, return JSON. No logic of its own. A photo
someone sends is read first, in a worker process and outside the lock (`EngineHost.probed`,
`EngineHost.probes`); what reaches a route was admitted by `guard` (host, size, sender).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as FastPath
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.domain.people import MAX_ID, parse_face_refs
from regard.domain.photo import display_name
from regard.domain.search import ProbeFace
from regard.engine import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    Engine,
    ExportOptions,
    Selection,
    Session,
    sniff,
)
from regard.errors import (
    CrossSiteRequestError,
    ImageError,
    JobNotFoundError,
    PrivacyRequestError,
    ProbeError,
    UnsupportedUploadError,
    UploadTooLargeError,
)
from regard.interfaces.http.host import EngineHost

router = APIRouter(prefix="/api")

COOKIE = "regard_session"
MAX_FILES = 50
#: What the upload box keeps, by kind, and how large each may be: the photos Regard indexes.
#: TIFF and BMP are often uncompressed (a scan), so they get more room. Videos and AVIF are
#: not indexed yet: they would sit in the library unseen, so they are refused (see `upload`).
UPLOAD_LIMITS = {
    "image/jpeg": 100 * 2**20,
    "image/png": 100 * 2**20,
    "image/webp": 100 * 2**20,
    "image/heic": 100 * 2**20,
    "image/gif": 100 * 2**20,
    "image/tiff": 250 * 2**20,
    "image/bmp": 250 * 2**20,
}
#: One upload request (the web app sends files in batches that fit).
MAX_UPLOAD_BYTES = 1 * 2**30
MAX_PROBE_BYTES = 50 * 2**20
MAX_EVIDENCE_BYTES = 20 * 2**20
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# --- plumbing ----------------------------------------------------------------------------------


def host_of(request: Request) -> EngineHost:
    host: EngineHost = request.app.state.host
    return host


def same_origin(request: Request) -> None:
    """Refuse a request a page of another site sent (its Origin is not this server; the Host
    it names was checked already, see `guard`)."""
    origin = request.headers.get("Origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CrossSiteRequestError("it came from a page of another site")


def session_of(request: Request) -> Session:
    """The signed-in user's session; for changes, also the CSRF token and same origin."""
    host = host_of(request)
    with host.use():
        session = host.accounts.session(request.cookies.get(COOKIE))
        if request.method in UNSAFE:
            host.accounts.check_csrf(session, request.headers.get("X-CSRF-Token"))
            same_origin(request)
    return session


SessionDep = Annotated[Session, Depends(session_of)]
#: A row id in a path: what SQLite's INTEGER holds (a bigger one would be a 500, not a 404).
PhotoId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
FaceId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
UserId = Annotated[int, FastPath(ge=1, le=MAX_ID)]


def require(request: Request, session: Session, permission: Permission, action: str) -> None:
    """Refuse the request now if the role does not allow it (before any work is done)."""
    host = host_of(request)
    with host.use():
        host.accounts.require(session.user, permission, action)


@contextmanager
def allowed(
    request: Request, session: Session, permission: Permission, action: str
) -> Iterator[Engine]:
    host = host_of(request)
    with host.use() as engine:
        host.accounts.require(session.user, permission, action)
        # The audit log names the signed-in user as the actor of what this request does, and
        # where photos are on the server's disk is for its owners; others get names.
        owner = host.accounts.can(session.user, Permission.SETTINGS)
        with engine.acting_as(session.user.name, full_paths=owner):
            yield engine


def attachment(name: str) -> str:
    """A Content-Disposition for a download named `name` (which its sender chose): an ASCII
    fallback of safe characters only, and the name itself percent-encoded (RFC 6266), so
    nothing in it can add a parameter to the header."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def sent_name(upload: UploadFile, otherwise: str) -> str:
    """The uploaded file's name as its sender gave it, made safe to keep and show."""
    return display_name(upload.filename) or otherwise


def read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLargeError(f"{what}: larger than {limit // 2**20} MiB.")
    return data


@contextmanager
def received(upload: UploadFile, limit: int, kinds: dict[str, str]) -> Iterator[Path]:
    """An uploaded photo in a private temporary file, checked by its bytes; deleted after.
    What goes wrong with it is told by the name it was sent with, not the temporary file's."""
    name = sent_name(upload, "the uploaded photo")
    data = read_limited(upload, limit, name)
    kind = sniff(data[:32])
    if kind not in kinds:
        raise UnsupportedUploadError(
            f"{name}: not a photo Regard accepts (JPEG, PNG, WebP, HEIC, TIFF)."
        )
    fd, temporary = tempfile.mkstemp(suffix=kinds[kind], prefix="regard-probe-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield Path(temporary)
    except ImageError as exc:
        raise exc.renamed(name) from None
    except ProbeError as exc:
        raise exc.renamed(name, "face_index") from None
    finally:
        os.unlink(temporary)


# --- accounts and sessions -----------------------------------------------------------------


class SetupIn(BaseModel):
    token: str = Field(max_length=200)
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: Literal["owner", "member", "viewer"] = "viewer"


class UserChange(BaseModel):
    role: Literal["owner", "member", "viewer"] | None = None
    password: str | None = Field(default=None, min_length=1, max_length=256)
    current_password: str | None = Field(
        default=None,
        max_length=256,
        description="Needed to change one's own password (not to reset someone else's).",
    )
    disabled: bool | None = None


def _signed_in(response: Response, request: Request, session: Session) -> dict[str, Any]:
    response.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    return {"user": _user(session.user), "csrf": session.csrf}


def _user(u: Any) -> dict[str, Any]:
    return {
        "id": u.id,
        "name": u.name,
        "role": u.role,
        "disabled": u.disabled,
        "created_at": u.created_at,
    }


@router.get("/setup", tags=["accounts"])
def setup_needed(request: Request) -> dict[str, bool]:
    """Whether the library still needs its first owner."""
    host = host_of(request)
    with host.use():
        return {"needed": host.accounts.needs_setup()}


@router.post("/setup", tags=["accounts"])
def setup(body: SetupIn, request: Request, response: Response) -> dict[str, Any]:
    """Create the first owner with the token `regard serve` printed; signs them in."""
    host = host_of(request)
    same_origin(request)
    with host.use():
        session = host.accounts.create_first_owner(body.token, body.name, body.password)
    return _signed_in(response, request, session)


@router.post("/login", tags=["accounts"])
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    """Sign in; sets the session cookie and returns the CSRF token for changes."""
    host = host_of(request)
    same_origin(request)
    # Not under the lock: the password check takes a while, and nobody waits for it. (The
    # guard admitted this attempt: see SignInLimiter.)
    session = host.accounts.login(body.name, body.password)
    return _signed_in(response, request, session)


@router.post("/logout", tags=["accounts"])
def logout(session: SessionDep, request: Request, response: Response) -> dict[str, bool]:
    """Sign out: the session ends on the server, not only in the browser."""
    host = host_of(request)
    with host.use():
        host.accounts.logout(session.token)
    response.delete_cookie(COOKIE, path="/")
    return {"signed_out": True}


@router.get("/session", tags=["accounts"])
def current_session(session: SessionDep, request: Request) -> dict[str, Any]:
    """Who is signed in, what they may do, and the CSRF token for changes."""
    host = host_of(request)
    with host.use():
        may = [p.value for p in Permission if host.accounts.can(session.user, p)]
    return {"user": _user(session.user), "csrf": session.csrf, "permissions": may}


@router.get("/users", tags=["accounts"])
def users(session: SessionDep, request: Request) -> list[dict[str, Any]]:
    """All accounts (owners only)."""
    host = host_of(request)
    with host.use():
        return [_user(u) for u in host.accounts.users(session.user)]


@router.post("/users", tags=["accounts"], status_code=201)
def add_user(body: UserIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """Create an account (owners only); there are no default accounts."""
    host = host_of(request)
    with host.use():
        return _user(host.accounts.add_user(session.user, body.name, body.password, body.role))


@router.patch("/users/{user_id}", tags=["accounts"])
def change_user(
    user_id: UserId, body: UserChange, session: SessionDep, request: Request
) -> dict[str, Any]:
    """Change a password (one's own, with the current one; anyone's as an owner), a role or
    disable (owners)."""
    host = host_of(request)
    with host.use():
        return _user(
            host.accounts.change_user(
                session.user,
                user_id,
                role=body.role,
                password=body.password,
                disabled=body.disabled,
                current_password=body.current_password,
            )
        )


@router.delete("/users/{user_id}", tags=["accounts"])
def delete_user(user_id: UserId, session: SessionDep, request: Request) -> dict[str, bool]:
    """Delete an account (owners only; not one's own)."""
    host = host_of(request)
    with host.use():
        host.accounts.delete_user(session.user, user_id)
    return {"deleted": True}


# --- library -------------------------------------------------------------------------------


@router.get("/status", tags=["library"])
def status(session: SessionDep, request: Request) -> dict[str, Any]:
    """What the library holds (as `regard status`)."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        info: dict[str, Any] = engine.status()
        owner = host_of(request).accounts.can(session.user, Permission.SETTINGS)
    info.pop("library", None)  # where it lives on disk is not the browser's business
    if not owner:
        # Nor, but to its owner, where the key file is or which folders were indexed.
        info["encryption"].pop("key_file", None)
        if info.get("last_run"):
            info["last_run"].pop("roots", None)
    return info


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
) -> dict[str, Any]:
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


@router.get("/photos/{photo_id}", tags=["library"])
def photo(photo_id: PhotoId, session: SessionDep, request: Request) -> dict[str, Any]:
    """One photo with its faces, who they are, and who is unassigned."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        detail = engine.photo_detail(photo_id)
    detail["error"] = detail.pop("error_web")  # in the words of a web user
    return detail


@router.get(
    "/photos/{photo_id}/image", tags=["library"], responses={200: {"content": {"image/jpeg": {}}}}
)
def photo_image(
    photo_id: PhotoId,
    session: SessionDep,
    request: Request,
    size: Annotated[int, Query(ge=64, le=4096)] = 256,
) -> Response:
    """A JPEG of the photo, upright, without metadata; opted-out faces blurred."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        engine.photo_detail(photo_id)  # 404s an unknown id
        data = engine.thumbnails.get(photo_id, size)
    return Response(data, media_type="image/jpeg")


@router.get(
    "/faces/{face_id}/crop", tags=["library"], responses={200: {"content": {"image/jpeg": {}}}}
)
def face_crop(face_id: FaceId, session: SessionDep, request: Request) -> Response:
    """A face, cut from its photo for covers and lists (never stored)."""
    with allowed(request, session, Permission.VIEW, "see faces") as engine:
        data = engine.thumbnails.face_crop(face_id)
    return Response(data, media_type="image/jpeg")


@router.post("/uploads", tags=["library"])
def upload(
    session: SessionDep,
    request: Request,
    files: Annotated[
        list[UploadFile], File(description="Photos: JPEG, PNG, WebP, HEIC, TIFF, BMP or GIF.")
    ],
) -> dict[str, Any]:
    """Keep photos in the library (once per content, under the name each was sent with) and
    index them. Each is checked first by its bytes and its decoded header (format, size,
    decoding limits); what Regard would not index is refused with the reason, and nothing of
    it is kept."""
    host = host_of(request)
    stored: list[dict[str, Any]] = []
    duplicates: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    with allowed(request, session, Permission.UPLOAD, "add photos") as engine:
        known = engine.content_hashes()
    if len(files) > MAX_FILES:
        raise UploadTooLargeError(f"At most {MAX_FILES} files per upload.")
    for f in files:
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
        try:
            checked_header(host, data, IMAGE_TYPES[kind])
        except ImageError as exc:
            advice = exc.advice if exc.web_advice is None else exc.web_advice
            refused.append({"name": name, "reason": f"{exc.problem}. {advice}".strip()})
            continue
        digest, path = host.store_upload(data, IMAGE_TYPES[kind], known, display_name(f.filename))
        known.add(digest)
        (stored if path else duplicates).append({"name": name, "sha256": digest})
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
    if kind in VIDEO_TYPES:
        return "Videos are not indexed yet, so Regard does not keep them: nothing was stored."
    if kind == "image/avif":
        return (
            "AVIF photos are not indexed yet, so Regard does not keep them: nothing was stored. "
            "Convert it to JPEG or HEIC."
        )
    return "not a photo Regard reads (JPEG, PNG, WebP, HEIC, TIFF, BMP or GIF)."


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


@router.get("/jobs", tags=["library"])
def jobs(session: SessionDep, request: Request) -> list[dict[str, Any]]:
    """Indexing jobs and their progress."""
    with allowed(request, session, Permission.VIEW, "see jobs") as engine:
        where = engine.path_namer()
        return [j.as_dict(where) for j in host_of(request).jobs.values()]


@router.get("/jobs/{job_id}", tags=["library"])
def job(
    job_id: Annotated[str, FastPath(max_length=64)], session: SessionDep, request: Request
) -> dict[str, Any]:
    """One job's live progress: files done of total, faces found, errors."""
    with allowed(request, session, Permission.VIEW, "see jobs") as engine:
        found = host_of(request).jobs.get(job_id)
        where = engine.path_namer()
    if found is None:
        raise JobNotFoundError(job_id)
    return found.as_dict(where)


# --- people ----------------------------------------------------------------------------------


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


@router.get("/people", tags=["people"])
def people(session: SessionDep, request: Request) -> list[dict[str, Any]]:
    """People with face counts and cover faces (as `regard people`)."""
    with allowed(request, session, Permission.VIEW, "see people") as engine:
        if engine.unlocked:
            engine.people.group_pending()
        rows: list[dict[str, Any]] = engine.people.summaries()
        for r in rows:
            r.pop("cover_path", None)
        return rows


@router.get("/people/history", tags=["people"])
def people_history(
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """The latest corrections, newest first, and whether each can be undone (as `regard
    people history`)."""
    with allowed(request, session, Permission.VIEW, "see people") as engine:
        return engine.people.history(limit)


@router.post("/people/undo", tags=["people"])
def undo(body: UndoIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """Undo a merge, split or rejection, exactly (as `regard people undo`)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        return engine.people.undo(body.entry)


@router.get("/people/{ref}", tags=["people"])
def person(ref: str, session: SessionDep, request: Request) -> dict[str, Any]:
    """A person's photos and faces (as `regard people show`)."""
    with allowed(request, session, Permission.VIEW, "see people") as engine:
        return engine.people.show(ref)


@router.post("/people/{ref}/name", tags=["people"])
def name_person(ref: str, body: NameIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """Name a person (confirms their faces; in organisation libraries, needs consent)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "name people") as engine:
        return engine.people.name(ref, body.name)


@router.post("/people/merge", tags=["people"])
def merge(body: MergeIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """The same person: `other`'s faces join `keep`; when both are named, `keep_name` says
    which name stays."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "merge people") as engine:
        return engine.people.merge(body.keep, body.other, body.keep_name)


@router.delete("/people/{ref}", tags=["people"])
def delete_person(ref: str, session: SessionDep, request: Request) -> dict[str, Any]:
    """Delete a person and their name; their faces stay, in no person (not an erasure)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "delete people") as engine:
        return engine.people.delete(ref)


@router.post("/people/{ref}/split", tags=["people"])
def split(ref: str, body: FacesIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """These faces are someone else: they become a new person."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "split people") as engine:
        return engine.people.split(ref, parse_face_refs(body.faces))


@router.post("/people/{ref}/reject", tags=["people"])
def reject(ref: str, body: FaceIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """This face is not this person; it never goes back (unless undone)."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "correct people") as engine:
        [face_id] = parse_face_refs(body.face)[:1] or [0]
        return engine.people.reject(ref, face_id)


@router.post("/people/recluster", tags=["people"])
def recluster(session: SessionDep, request: Request) -> dict[str, Any]:
    """Regroup every face from scratch, keeping every correction."""
    with allowed(request, session, Permission.EDIT_PEOPLE, "regroup people") as engine:
        return engine.people.recluster()


# --- search ----------------------------------------------------------------------------------


@router.post("/probe", tags=["search"])
def probe(
    session: SessionDep,
    request: Request,
    photo: Annotated[UploadFile, File(description="A photo to find faces in.")],
) -> dict[str, Any]:
    """The faces in an uploaded photo, numbered as `face_index` takes them (not stored)."""
    require(request, session, Permission.SEARCH, "search")
    with (
        received(photo, MAX_PROBE_BYTES, IMAGE_TYPES) as path,
        host_of(request).probed(path) as faces,
    ):
        return {"faces": [ProbeFace.of(i, f).as_dict() for i, f in enumerate(faces)]}


@router.post("/search/face", tags=["search"])
def search_face(
    session: SessionDep,
    request: Request,
    photo: Annotated[UploadFile, File(description="A photo of the person to look for.")],
    face_index: Annotated[int | None, Form(ge=0, le=1000)] = None,
    threshold: Annotated[float | None, Form(ge=-1.0, le=1.0)] = None,
    limit: Annotated[int | None, Form(ge=1, le=10000)] = None,
) -> dict[str, Any]:
    """Every photo with this face, best first (as `regard search --face`); the probe is not
    kept, and the search is written to the audit log."""
    require(request, session, Permission.SEARCH, "search")
    with (
        received(photo, MAX_PROBE_BYTES, IMAGE_TYPES) as path,
        host_of(request).probed(path),
        allowed(request, session, Permission.SEARCH, "search") as engine,
    ):
        result = engine.search_face(path, face_index=face_index, threshold=threshold, limit=limit)
        out = result.as_dict()
        out["probe"]["path"] = sent_name(photo, "the uploaded photo")
        return out


@router.get("/search/person/{ref}", tags=["search"])
def search_person(
    ref: str,
    session: SessionDep,
    request: Request,
    threshold: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
) -> dict[str, Any]:
    """A person's photos, then look-alikes not in them yet (as `regard search --person`)."""
    with allowed(request, session, Permission.SEARCH, "search") as engine:
        return engine.people.search(ref, threshold=threshold).as_dict()


# --- consent and rights ------------------------------------------------------------------------


@router.get("/consents", tags=["privacy"])
def consents(session: SessionDep, request: Request) -> list[dict[str, Any]]:
    """The consent ledger (as `regard consent list`)."""
    with allowed(request, session, Permission.CONSENT, "see consents") as engine:
        return engine.privacy.consents()


@router.post("/consents", tags=["privacy"], status_code=201)
def grant(
    session: SessionDep,
    request: Request,
    subject: Annotated[str, Form(min_length=1, max_length=200)],
    purposes: Annotated[str, Form(min_length=1, max_length=100)],
    evidence_text: Annotated[str | None, Form(max_length=2000)] = None,
    expires: Annotated[str | None, Form(max_length=10)] = None,
    evidence: Annotated[UploadFile | None, File()] = None,
    face: Annotated[UploadFile | None, File()] = None,
    face_index: Annotated[int | None, Form(ge=0, le=1000)] = None,
) -> dict[str, Any]:
    """Record a consent (as `regard consent grant`); the evidence file is hashed, not kept
    (the ledger notes its name as it was sent)."""
    require(request, session, Permission.CONSENT, "record consents")
    with (
        tempfile.TemporaryDirectory(prefix="regard-evidence-") as tmp,
        ExitStack() as stack,
    ):
        evidence_path = None
        if evidence is not None:
            evidence_path = Path(tmp) / sent_name(evidence, "evidence")
            evidence_path.write_bytes(
                read_limited(evidence, MAX_EVIDENCE_BYTES, evidence_path.name)
            )
        face_path = None
        if face is not None:
            face_path = stack.enter_context(received(face, MAX_PROBE_BYTES, IMAGE_TYPES))
            stack.enter_context(host_of(request).probed(face_path))
        engine = stack.enter_context(
            allowed(request, session, Permission.CONSENT, "record consents")
        )
        return engine.privacy.grant(
            subject,
            purposes,
            evidence_file=evidence_path,
            evidence_text=evidence_text,
            expires=expires,
            face_photo=face_path,
            face_index=face_index,
        )


class WithdrawIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    purposes: str | None = Field(default=None, max_length=100)


@router.post("/consents/withdraw", tags=["privacy"])
def withdraw(body: WithdrawIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """Withdraw consent, at once (as `regard consent withdraw`)."""
    with allowed(request, session, Permission.CONSENT, "withdraw consents") as engine:
        return engine.privacy.withdraw(body.subject, body.purposes)


@router.get("/optouts", tags=["privacy"])
def optouts(session: SessionDep, request: Request) -> list[dict[str, Any]]:
    """The opt-out registry (as `regard optout list`)."""
    with allowed(request, session, Permission.CONSENT, "see opt-outs") as engine:
        return engine.privacy.optout_list()


@router.post("/optouts", tags=["privacy"], status_code=201)
def optout(
    session: SessionDep,
    request: Request,
    selfie: Annotated[UploadFile, File(description="A photo of the person who opts out.")],
    face_index: Annotated[int | None, Form(ge=0, le=1000)] = None,
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> dict[str, Any]:
    """Never recognise this face again (as `regard optout add`); the selfie is not kept."""
    require(request, session, Permission.CONSENT, "record opt-outs")
    with (
        received(selfie, MAX_PROBE_BYTES, IMAGE_TYPES) as path,
        host_of(request).probed(path),
        allowed(request, session, Permission.CONSENT, "record opt-outs") as engine,
    ):
        return engine.privacy.optout(path, face_index=face_index, note=note)


class PersonRef(BaseModel):
    person: str = Field(min_length=1, max_length=200)
    with_photos: bool = False


@router.post(
    "/access-report", tags=["privacy"], responses={200: {"content": {"application/zip": {}}}}
)
def access_report(body: PersonRef, session: SessionDep, request: Request) -> Response:
    """Everything held about a person, as a zip (as `regard access-report --person`)."""
    with allowed(request, session, Permission.ACCESS_REPORT, "make access reports") as engine:
        fd, name = tempfile.mkstemp(suffix=".zip", prefix="regard-report-")
        os.close(fd)
        try:
            engine.privacy.access_report(Path(name), person=body.person)
            data = Path(name).read_bytes()
        finally:
            os.unlink(name)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="access-report.zip"'},
    )


# --- sharing safely ----------------------------------------------------------------------------

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
def export_preview(body: ExportPreviewIn, session: SessionDep, request: Request) -> dict[str, Any]:
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
        received(photo, MAX_PROBE_BYTES, IMAGE_TYPES) as source,
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


@router.post("/erase/preview", tags=["privacy"])
def erase_preview(body: PersonRef, session: SessionDep, request: Request) -> dict[str, Any]:
    """What erasing this person would remove (the confirmation step)."""
    with allowed(request, session, Permission.ERASE, "erase people") as engine:
        return engine.privacy.erasure_preview(body.person, None)


class EraseIn(PersonRef):
    confirm: str = Field(max_length=200, description="The person's name or id, typed again.")


@router.post("/erase", tags=["privacy"])
def erase(body: EraseIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """Erase a person and return the receipt (as `regard erase --person`)."""
    with allowed(request, session, Permission.ERASE, "erase people") as engine:
        target = engine.people.resolve(body.person)
        if body.confirm.strip() not in {target.name, f"P{target.id}"}:
            raise PrivacyRequestError(
                "To confirm, type the person's name (or id) exactly as shown."
            )
        return engine.privacy.erase_person(body.person, with_photos=body.with_photos)


@router.get("/audit", tags=["privacy"])
def audit(
    session: SessionDep, request: Request, since: Annotated[str | None, Query(max_length=40)] = None
) -> list[dict[str, Any]]:
    """The audit log (owners; members if the owner allows)."""
    with allowed(request, session, Permission.AUDIT, "read the audit log") as engine:
        return engine.privacy.audit_entries(since)


@router.get("/audit/verify", tags=["privacy"])
def audit_verify(session: SessionDep, request: Request) -> dict[str, Any]:
    """Check the audit log's hash chain."""
    with allowed(request, session, Permission.AUDIT, "read the audit log") as engine:
        return engine.privacy.verify_audit().as_dict()


@router.get("/records", tags=["privacy"])
def records(session: SessionDep, request: Request) -> dict[str, Any]:
    """The record of processing activities (GDPR art. 30)."""
    with allowed(request, session, Permission.RECORDS, "read the records") as engine:
        return engine.records()


class RetentionIn(BaseModel):
    unassigned_days: int | None = Field(default=None, ge=1, le=36500)


@router.get("/retention", tags=["privacy"])
def retention(session: SessionDep, request: Request) -> dict[str, Any]:
    """The retention schedule."""
    with allowed(request, session, Permission.RECORDS, "read the records") as engine:
        return engine.privacy.retention.schedule()


@router.post("/retention", tags=["privacy"])
def set_retention(body: RetentionIn, session: SessionDep, request: Request) -> dict[str, Any]:
    """Set how long face data of faces in no person is kept (owners)."""
    with allowed(request, session, Permission.SETTINGS, "change settings") as engine:
        return engine.privacy.retention.set("unassigned-days", body.unassigned_days)


@router.post("/maintain", tags=["privacy"])
def maintain(session: SessionDep, request: Request) -> dict[str, Any]:
    """Apply the retention schedule now."""
    with allowed(request, session, Permission.SETTINGS, "change settings") as engine:
        return engine.privacy.retention.apply()
