"""The web app: static files served by Regard itself (no CDN, no external font or script),
and one page shell for every route of the app; the pages talk to the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PAGES = (
    "/",
    "/library",
    "/photos/{photo_id}",
    "/trash",
    "/people",
    "/people/{ref}",
    "/who",
    "/search",
    "/share",
    "/rights",
    "/audit",
    "/status",
    "/login",
    "/setup",
    "/account",
    "/events",
    "/memories",
    "/memories/{recap_id}",
)


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def shell() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    for path in PAGES:
        app.add_api_route(path, shell, methods=["GET"], include_in_schema=False)
