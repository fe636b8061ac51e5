"""What every route of the JSON API under /api shares (the routes, one module per area, are
in `regard.interfaces.http.routes`): the session and the role, limits, and photos handed in.

Every route: find the session, check the role, (for changes) check the CSRF token and the
origin, call the engine under the host's lock, return JSON. No logic of its own. A photo
someone sends is read first, in a worker process and outside the lock (`EngineHost.probed`,
`EngineHost.probes`); what reaches a route was admitted by `guard` (host, size, sender).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import JSONResponse

from regard.domain.accounts import Permission
from regard.domain.people import MAX_ID
from regard.domain.photo import display_name
from regard.engine import (
    IMAGE_TYPES,
    Engine,
    Session,
    sniff,
)
from regard.errors import (
    CrossSiteRequestError,
    ImageError,
    ProbeError,
    UnsupportedUploadError,
    UploadTooLargeError,
)
from regard.interfaces.http.host import EngineHost

COOKIE = "regard_session"
MAX_FILES = 50
#: What the upload box keeps, by kind, and how large each may be: the photos and videos Regard
#: indexes. TIFF and BMP are often uncompressed (a scan), so they get more room. AVIF is not
#: indexed yet: it would sit in the library unseen, so it is refused (see `upload`).
UPLOAD_LIMITS = {
    "image/jpeg": 100 * 2**20,
    "image/png": 100 * 2**20,
    "image/webp": 100 * 2**20,
    "image/heic": 100 * 2**20,
    "image/gif": 100 * 2**20,
    "image/tiff": 250 * 2**20,
    "image/bmp": 250 * 2**20,
    # Videos are indexed like photos (read in memory as they arrive: so at most this much).
    "video/mp4": 500 * 2**20,
    "video/quicktime": 500 * 2**20,
    "video/webm": 500 * 2**20,
}
#: One upload request (the web app sends files in batches that fit).
MAX_UPLOAD_BYTES = 1 * 2**30
MAX_PROBE_BYTES = 50 * 2**20
#: A video (or photo) handed in to be anonymised in the background.
MAX_SHARE_BYTES = 1 * 2**30
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


class Json(JSONResponse):
    """JSON that is valid UTF-8 whatever it holds: a path whose bytes are not UTF-8 (Python's
    surrogate escapes, see `readable_path`) is written with JSON's \\udcXX escapes, as
    `regard --json` does, instead of failing the response."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def reshaped(content: Any) -> Json:
    """An answer the route reshaped for the web (a field left out, or in other words), sent
    as it is: the route's `response_model` documents the answer it was made from."""
    return Json(content)


def received_photo(upload: UploadFile) -> AbstractContextManager[Path]:
    """A photo handed in (to search by, to opt out with...): `received` within the limit of a
    probe."""
    return received(upload, MAX_PROBE_BYTES, IMAGE_TYPES)
