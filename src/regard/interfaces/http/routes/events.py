"""Camera events: the list, the live stream pushed to open browsers, snapshots and clips.

The stream is Server-Sent Events (`text/event-stream`): one `camera-event` message per event
published (its `id` is the event's sequence number, so a browser that reconnects sends
`Last-Event-ID` and gets what it missed), a comment line every `HEARTBEAT` seconds to keep
proxies and the browser from giving up, and the end of the stream when the session does.
Everything here needs the `view` permission, as photos do; snapshots are served as photos are
(their faces blurred already, but those of household members with `camera` consent).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, StreamingResponse

from regard.domain.accounts import Permission
from regard.domain.alerts import EventPage
from regard.domain.people import MAX_ID
from regard.interfaces.http.api import COOKIE, SessionDep, allowed, host_of

router = APIRouter(prefix="/api")

#: Seconds between keep-alive comments on an idle stream (and between session checks).
HEARTBEAT = 15.0
EventId = Annotated[str, FastPath(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.get("/events", tags=["cameras"], response_model=EventPage)
def events(
    session: SessionDep,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    camera: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(pattern="^(person|pet|car)$")] = None,
    since: Annotated[float | None, Query(ge=0, description="Epoch seconds.")] = None,
    until: Annotated[float | None, Query(ge=0, description="Epoch seconds.")] = None,
) -> EventPage:
    """What the cameras saw, newest first: each event's last known state, filtered by camera,
    kind and time; with the cameras to filter by."""
    with allowed(request, session, Permission.VIEW, "see camera events") as engine:
        return engine.alerts.history(
            offset=offset, limit=limit, camera=camera, kind=kind, since=since, until=until
        )


@router.get(
    "/events/stream",
    tags=["cameras"],
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream(
    session: SessionDep,
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Events as they happen, as Server-Sent Events (`camera-event` messages whose data is an
    event of `GET /api/events`); after a reconnection, from `Last-Event-ID` on."""
    with allowed(request, session, Permission.VIEW, "see camera events") as engine:
        alerts = engine.alerts
        broadcaster = alerts.broadcaster
    host = host_of(request)
    cookie = request.cookies.get(COOKIE)
    try:
        after = int(last_event_id) if last_event_id else broadcaster.last_seq
    except ValueError:
        after = broadcaster.last_seq
    after = max(0, min(after, broadcaster.last_seq))

    def signed_in() -> bool:
        try:
            with host.use():
                host.accounts.session(cookie)
        except Exception:
            return False
        return True

    server = getattr(request.app.state, "server", None)

    def stopping() -> bool:
        return bool(server is not None and server.should_exit)

    async def messages() -> AsyncIterator[str]:
        nonlocal after
        yield f"retry: 3000\n: connected, events after {after}\n\n"
        quiet_since = time.monotonic()
        while not broadcaster.closed and not stopping():
            # What a watcher in another process (`regard watch`) wrote reaches the page too:
            # the catalog is looked at once a second for all the streams.
            await asyncio.to_thread(alerts.follow)
            # Short waits: a server stopping (Ctrl-C) ends the stream within a second.
            new = await broadcaster.wait(after, min(1.0, HEARTBEAT))
            if await request.is_disconnected() or stopping():
                return
            if not new:
                if time.monotonic() - quiet_since < HEARTBEAT:
                    continue
                quiet_since = time.monotonic()
                if not signed_in():
                    yield "event: signed-out\ndata: {}\n\n"
                    return
                yield ": keep-alive\n\n"
                continue
            quiet_since = time.monotonic()
            for pushed in new:
                after = pushed.seq
                data = json.dumps(pushed.as_dict())
                yield f"id: {pushed.seq}\nevent: camera-event\ndata: {data}\n\n"

    return StreamingResponse(
        messages(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/events/{event_id}/snapshot",
    tags=["cameras"],
    responses={200: {"content": {"image/jpeg": {}}}},
)
def snapshot(event_id: EventId, session: SessionDep, request: Request) -> Response:
    """The event's best frame, as a JPEG: faces blurred but those of household members who
    consented to `camera`."""
    with allowed(request, session, Permission.VIEW, "see camera events") as engine:
        path = engine.alerts.snapshot(event_id)
    if path is None:
        raise HTTPException(
            404, f"There is no camera event {event_id}, or it has no snapshot (any more)."
        )
    return FileResponse(path, media_type="image/jpeg")


@router.get(
    "/events/{event_id}/clip",
    tags=["cameras"],
    responses={200: {"content": {"video/mp4": {}}}},
)
def clip(event_id: EventId, session: SessionDep, request: Request) -> Response:
    """The event's short clip (from a few seconds before it began), as an MP4: faces blurred
    in every frame but those of household members who consented to `camera`."""
    with allowed(request, session, Permission.VIEW, "see camera events") as engine:
        path = engine.alerts.clip(event_id)
    if path is None:
        raise HTTPException(
            404, f"There is no camera event {event_id}, or it has no clip (any more)."
        )
    return FileResponse(path, media_type="video/mp4")
