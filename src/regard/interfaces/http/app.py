"""The HTTP API and web app: `create_app(host)` builds them over an `EngineHost`.

A thin skin: every route checks who is asking, calls the engine or the accounts service, and
serialises. Security measures of OWASP ASVS level 2 live here, at the edge: session cookie
(HttpOnly, SameSite=Strict), CSRF token on every state change, same-origin checks, a Content
Security Policy with no external origin, `Cache-Control: no-store` on everything personal,
and errors as JSON with one stable shape: `{"error": {"type": ..., "message": ...}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from regard.errors import (
    AccountError,
    AmbiguousProbeError,
    CrossSiteRequestError,
    FaceNotFoundError,
    ForbiddenError,
    ImageError,
    InvalidRequestError,
    JobNotFoundError,
    JobStateError,
    KeyProblemError,
    LibraryNotFoundError,
    LoginError,
    NameTakenError,
    NotSignedInError,
    PeopleActionError,
    PersonNotFoundError,
    PhotoNotFoundError,
    PrivacyError,
    ProbeError,
    RecapNotFoundError,
    RegardError,
    ShareError,
    TooManyAttemptsError,
    UnsupportedUploadError,
    UploadTooLargeError,
    WrongPasswordError,
)
from regard.interfaces.http.api import Json
from regard.interfaces.http.guard import Guard
from regard.interfaces.http.host import EngineHost
from regard.interfaces.http.routes import router
from regard.interfaces.http.web import mount as mount_web

log = logging.getLogger("regard.http")

CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: The first entry an error is an instance of gives its status (order matters: a
#: PrivacyRequestError is an InvalidRequestError, 422, before it is a PrivacyError, 403).
_STATUS: list[tuple[type[RegardError], int]] = [
    (NotSignedInError, 401),
    (LoginError, 401),
    (TooManyAttemptsError, 429),
    (ForbiddenError, 403),
    (CrossSiteRequestError, 403),
    (WrongPasswordError, 403),
    (UploadTooLargeError, 413),
    (UnsupportedUploadError, 415),
    (InvalidRequestError, 422),
    (ShareError, 422),
    (PrivacyError, 403),
    (KeyProblemError, 423),
    (PersonNotFoundError, 404),
    (FaceNotFoundError, 404),
    (LibraryNotFoundError, 404),
    (PhotoNotFoundError, 404),
    (RecapNotFoundError, 404),
    (JobNotFoundError, 404),
    (JobStateError, 409),
    (AmbiguousProbeError, 409),
    (NameTakenError, 409),
    (PeopleActionError, 409),
    (ProbeError, 422),
    (ImageError, 422),
    (AccountError, 400),
]


def status_for(exc: RegardError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


def create_app(host: EngineHost, allowed_hosts: Collection[str] | None = None) -> FastAPI:
    """The app over `host`. `allowed_hosts`: the Host headers it answers to (see `Guard`;
    None: the loopback names on any port)."""
    app = FastAPI(
        title="Regard",
        description="Face recognition for your own photos, on your own machine. Every "
        "operation of the `regard` command line, over HTTP, for the local web app.",
        version="0.1.0",
        docs_url=None,  # the interactive docs load scripts from a CDN: not here
        redoc_url=None,
        default_response_class=Json,
    )
    app.state.host = host

    @app.exception_handler(RegardError)
    async def regard_error(_request: Request, exc: RegardError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, AmbiguousProbeError):
            extra["faces"] = [f.as_dict() for f in exc.faces]
        if isinstance(exc, NameTakenError):
            extra["person"] = exc.holder  # the web offers to merge with them
        headers = {}
        if isinstance(exc, TooManyAttemptsError):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(
            error_body(type(exc).__name__, exc.web_text, **extra),
            status_code=status_for(exc),
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return JSONResponse(
            error_body("ValidationError", f"The request is not valid: {problems}"), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body("HTTPError", str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # The details stay in the server's log (which never holds tokens or face data).
        log.exception("unexpected error: %s", type(exc).__name__)
        return JSONResponse(
            error_body(
                "InternalError",
                "Something went wrong on the server; it is in the "
                "server's log. Nothing was changed by the failed request.",
            ),
            status_code=500,
        )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        # Everything personal is no-store, but what a route says itself (thumbnails: private,
        # checked each time by their ETag).
        if not request.url.path.startswith("/static/") and "ETag" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    app.include_router(router)
    mount_web(app)
    # Outermost: the Host, the body's size and (for files) the sender, before any body is read.
    app.add_middleware(Guard, host=host, allowed_hosts=allowed_hosts)
    return app
