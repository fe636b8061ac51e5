"""The JSON API under /api: one route per thing the command line can do, one module per area.

Every route: find the session, check the role, (for changes) check the CSRF token and the
origin, call the engine under the host's lock, return JSON. No logic of its own. What they
share is `regard.interfaces.http.api`.
"""

from __future__ import annotations

from fastapi import APIRouter

from regard.interfaces.http.routes import (
    accounts,
    events,
    faces,
    library,
    media,
    people,
    privacy,
    recaps,
    search,
    sharing,
    timeline,
)

#: Every route of the API. It holds the areas' routes themselves, each with its full path,
#: not the areas' routers (which FastAPI would keep whole, behind a wrapper).
router = APIRouter()
for area in (
    accounts,
    library,
    timeline,
    media,
    people,
    faces,
    search,
    privacy,
    sharing,
    events,
    recaps,
):
    router.routes.extend(area.router.routes)
