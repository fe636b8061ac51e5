"""What every request passes before the app reads a byte of its body.

* **Host.** Only the host names this server answers to (`127.0.0.1:PORT`, `localhost:PORT`,
  `[::1]:PORT`, and those given to `serve --host`/`--allow-host`): a DNS-rebinding page that
  reaches the server as `evil.example:PORT` is refused (421), whatever it carries.
* **Body size.** Each route takes at most so many bytes (64 KiB for JSON, the upload limits
  for files), checked on Content-Length before anything is read and counted while the body
  streams in (a chunked body has no length): beyond it, 413 and the rest is not read.
* **Who sends files.** A route that takes files needs a session (and its CSRF token) before
  its body is read: a stranger's 512 MiB is refused with 401 before it is spooled anywhere.
* **Sign-ins.** Each is admitted by the accounts' `SignInLimiter` (2 password checks at a
  time, 1 per address, 60 a minute per address) before anything else is done with it: a flood
  is answered 429 here, at the cost of a few microseconds each, not by the app.

A pure ASGI middleware, outside FastAPI's routing, so nothing upstream parses a body first.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from regard.errors import (
    CrossSiteRequestError,
    NotSignedInError,
    RegardError,
    TooManyAttemptsError,
    UnknownHostError,
    UploadTooLargeError,
)
from regard.interfaces.http.api import (
    COOKIE,
    MAX_EVIDENCE_BYTES,
    MAX_PROBE_BYTES,
    MAX_SHARE_BYTES,
    MAX_UPLOAD_BYTES,
)
from regard.interfaces.http.host import EngineHost

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: What a request without files may send: a JSON body of a few fields.
SMALL_BODY = 64 * 2**10
#: Room for a form's other fields and the multipart framing around the files.
_FORM = 64 * 2**10
#: Routes that take files: the most each request may send. Their sender must be signed in
#: before the body is read.
FILE_ROUTES: dict[str, int] = {
    "/api/uploads": MAX_UPLOAD_BYTES + _FORM,
    "/api/probe": MAX_PROBE_BYTES + _FORM,
    "/api/search/face": MAX_PROBE_BYTES + _FORM,
    "/api/optouts": MAX_PROBE_BYTES + _FORM,
    "/api/anonymise": MAX_PROBE_BYTES + _FORM,
    "/api/anonymise/jobs": MAX_SHARE_BYTES + _FORM,
    "/api/consents": MAX_PROBE_BYTES + MAX_EVIDENCE_BYTES + _FORM,
}
#: JSON routes that may be larger than SMALL_BODY (an export lists up to 2,000 photos and
#: 100 folders).
LARGER_JSON: dict[str, int] = {"/api/export": 1 * 2**20, "/api/export/jobs": 1 * 2**20}


SIGN_IN = "/api/login"


def body_limit(method: str, path: str) -> int:
    if method == "POST" and path in FILE_ROUTES:
        return FILE_ROUTES[path]
    return LARGER_JSON.get(path, SMALL_BODY)


def loopback_hosts(port: int) -> list[str]:
    """The Host headers a browser sends for this machine's loopback addresses at `port`."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    hosts = [f"{n}:{port}" for n in names]
    return hosts + (names if port == 80 else [])


#: Names an app not bound to a port answers to (in process: tests, embedding). A server on a
#: socket always gets its exact list (`regard.interfaces.http.server.allowed_hosts`).
UNBOUND_NAMES = ("127.0.0.1", "localhost", "[::1]", "testserver")


class Guard:
    """See the module's docstring. `allowed_hosts`: Host headers accepted, exactly (None:
    `UNBOUND_NAMES` on any port - for an app not bound to a port, as in tests)."""

    def __init__(
        self, app: ASGIApp, host: EngineHost, allowed_hosts: Collection[str] | None = None
    ) -> None:
        self.app = app
        self.host = host
        self.allowed = list(allowed_hosts) if allowed_hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        try:
            self._check_host(headers.get("host", ""))
            limit = body_limit(method, path)
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                raise _too_large(limit)
            if method == "POST" and path in FILE_ROUTES:
                await run_in_threadpool(self._check_sender, headers)
            if method == "POST" and path == SIGN_IN:
                client = scope.get("client")
                with self.host.accounts.limiter.attempt(client[0] if client else None):
                    await self._within(limit, scope, receive, send)
                return
        except RegardError as exc:
            await _refuse(send, exc)
            return
        await self._within(limit, scope, receive, send)

    def _check_host(self, host: str) -> None:
        if self.allowed is not None:
            if host not in self.allowed:
                raise UnknownHostError(host, self.allowed)
            return
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in UNBOUND_NAMES:
            raise UnknownHostError(host, UNBOUND_NAMES[:3])

    def _check_sender(self, headers: dict[str, str]) -> None:
        token = _cookie(headers.get("cookie", ""), COOKIE)
        with self.host.use():
            session = self.host.accounts.session(token)
            self.host.accounts.check_csrf(session, headers.get("x-csrf-token"))

    async def _within(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, counting the body as it arrives; past `limit`, answer 413 ourselves,
        tell the app the client left, and drop whatever it answers."""
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _refuse(send, _too_large(limit))
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not refused:
                raise


def _too_large(limit: int) -> UploadTooLargeError:
    size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 2**10} KiB"
    return UploadTooLargeError(f"The request is larger than the {size} this route takes.")


_STATUS: dict[type[RegardError], int] = {
    UnknownHostError: 421,
    UploadTooLargeError: 413,
    NotSignedInError: 401,
    TooManyAttemptsError: 429,
    CrossSiteRequestError: 403,
}


async def _refuse(send: Send, exc: RegardError) -> None:
    status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 400)
    body = json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        # The rest of the body is not read: the connection cannot carry another request.
        (b"connection", b"close"),
    ]
    if isinstance(exc, TooManyAttemptsError):
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
