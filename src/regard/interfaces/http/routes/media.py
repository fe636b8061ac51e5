"""Media for the viewer: a photo at full resolution to zoom into, the original file to
download, and the file to play in the browser (a video), with HTTP Range requests so that a
player can seek.

Files are sent in pieces after the engine's lock is let go: a long video being watched does
not hold up the library. Which file is sent, and to whom, is the engine's answer
(`Originals`); these routes only cut it into the range asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from regard.domain.accounts import Permission
from regard.domain.library import OriginalFile
from regard.interfaces.http.api import FaceId, PhotoId, SessionDep, allowed, attachment

router = APIRouter(prefix="/api")

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_RANGE_DOC: dict[int | str, dict[str, Any]] = {
    206: {"description": "The part of the file the Range header asked for."},
    416: {"description": "The Range asked for is not in the file."},
}


@router.get(
    "/photos/{photo_id}/full",
    tags=["library"],
    responses={200: {"content": {"image/jpeg": {}}}},
)
def photo_full(photo_id: PhotoId, session: SessionDep, request: Request) -> Response:
    """The photo at full resolution to zoom into: a JPEG, upright, without metadata, with
    opted-out faces blurred (a video: its poster)."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        thumbnails, lock = engine.thumbnails, engine.lock
    data = thumbnails.full(photo_id, hold=lambda: lock)  # decoded without the lock
    return Response(data, media_type="image/jpeg")


@router.get(
    "/faces/{face_id}/still", tags=["library"], responses={200: {"content": {"image/jpeg": {}}}}
)
def moment_still(
    face_id: FaceId,
    session: SessionDep,
    request: Request,
    size: Annotated[int, Query(ge=64, le=4096)] = 256,
) -> Response:
    """The whole picture a face is in: a video's at its appearance's best moment, a photo's
    display copy (opted-out faces blurred), to show a moment among search results."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        thumbnails, lock = engine.thumbnails, engine.lock
    data = thumbnails.moment_still(face_id, size, hold=lambda: lock)  # decoded without it
    return Response(data, media_type="image/jpeg")


@router.get(
    "/photos/{photo_id}/original",
    tags=["library"],
    responses={200: {"content": {"application/octet-stream": {}}}, **_RANGE_DOC},
)
def photo_original(photo_id: PhotoId, session: SessionDep, request: Request) -> Response:
    """The photo's or video's own file, as a download under the name it is shown by. Only
    owners get a file someone in it opted out of (everyone else gets the reason)."""
    with allowed(request, session, Permission.VIEW, "download photos") as engine:
        found = engine.originals.original(photo_id)
    return ranged(request, found, attachment(found.name))


@router.get(
    "/photos/{photo_id}/media",
    tags=["library"],
    responses={200: {"content": {"video/mp4": {}, "image/jpeg": {}}}, **_RANGE_DOC},
)
def photo_media(photo_id: PhotoId, session: SessionDep, request: Request) -> Response:
    """The file itself to show in the browser (inline), any part of it (HTTP Range): what the
    viewer's player plays, and seeks in. Only owners get a file someone in it opted out of."""
    with allowed(request, session, Permission.VIEW, "see the library") as engine:
        found = engine.originals.original(photo_id)
    return ranged(request, found, "inline")


def ranged(request: Request, found: OriginalFile, disposition: str) -> Response:
    """The file, or the one range of it the request asks for (RFC 9110: a Range that is not
    `bytes=first-last`, `first-` or `-suffix`, or more than one range, gets the whole file;
    one that starts past the end, 416)."""
    size = found.size
    etag = f'"{found.size:x}-{found.mtime_ns:x}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": disposition,
    }
    wanted = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    span = parse_range(wanted, size) if wanted and if_range in (None, etag) else None
    if isinstance(span, str):  # unsatisfiable
        headers["Content-Range"] = f"bytes */{size}"
        return Response(
            status_code=416,
            headers=headers,
            media_type="application/json",
            content=(
                '{"error":{"type":"RangeNotSatisfiableError","message":'
                f'"The part asked for is not in this file of {size} bytes."}}}}'
            ),
        )
    if span is None:
        first, last, status = 0, size - 1, 200
    else:
        (first, last), status = span, 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(max(0, last - first + 1))
    return StreamingResponse(
        pieces(found.path, first, last - first + 1),
        status_code=status,
        media_type=found.media_type,
        headers=headers,
    )


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) byte of a single `bytes=` range, "unsatisfiable", or None to send the
    whole file (a header this does not read, as RFC 9110 allows)."""
    m = _RANGE.match(header.strip())
    if m is None or (not m[1] and not m[2]):
        return None
    if not m[1]:  # the last n bytes
        n = int(m[2])
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    first = int(m[1])
    last = int(m[2]) if m[2] else size - 1
    if first >= size or last < first:
        return "unsatisfiable"
    return first, min(last, size - 1)


def pieces(path: Path, first: int, length: int) -> Iterator[bytes]:
    """`length` bytes of the file from `first`, a chunk at a time (fewer if it was cut)."""
    with path.open("rb") as fh:
        fh.seek(first)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
