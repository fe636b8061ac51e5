"""Alerts POSTed as JSON to an address on the owner's own network.

Regard opens no socket to the internet unless the owner says so: a webhook's host must resolve
to loopback, private (RFC 1918, fc00::/7) or link-local addresses only, checked when it is
added and again before every delivery (a name may resolve elsewhere tomorrow), and the
connection goes to the address that was checked, not to a second look-up. `allow_public`
(`regard sinks add webhook URL --allow-public`) is the owner's explicit exception.

The body is the event's JSON (`payload.event_json`), with `snapshot_jpeg` (base64) when
`with_snapshot`; a 2xx answer is success, anything else is tried again with back-off.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from regard.domain.events import CameraEvent, EventPhase
from regard.errors import SinkError
from regard.services.alerts.delivery import QueuedSink, Retry, redact
from regard.services.alerts.payload import event_json, snapshot_bytes

Resolver = Any  # socket.getaddrinfo's shape


def is_local(address: str) -> bool:
    """Loopback, private or link-local: an address on this machine or the owner's network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return True
    return (ip.is_private or ip.is_link_local) and not (ip.is_multicast or ip.is_unspecified)


def resolve(host: str, port: int, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise SinkError(f"Cannot find the webhook's host {host}: {e}.") from e
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_destination(
    url: str,
    *,
    allow_public: bool = False,
    resolver: Resolver = socket.getaddrinfo,
    shown: str | None = None,
) -> str:
    """The address to connect to for `url`, after checking it is on the owner's network.
    Raises SinkError (no packet is sent: this only resolves the name)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SinkError(f"{redact(url)} is not a web address (http://host[:port]/path).")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port, resolver)
    if not addresses:
        raise SinkError(f"Cannot find the webhook's host {parts.hostname}.")
    public = [a for a in addresses if not is_local(a)]
    if public and not allow_public:
        raise SinkError(
            f"{redact(shown or url)} is on the internet ({', '.join(public)}), not on your own "
            "network: Regard sends alerts only to addresses on your network. If you mean it, "
            "add it again with --allow-public.",
            web="This address is on the internet, not on your own network: Regard sends alerts "
            "only to addresses on your network.",
        )
    return addresses[0]


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str
    with_snapshot: bool = False
    allow_public: bool = False
    timeout: float = 5.0


class WebhookSink(QueuedSink):
    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        library_root: Path | None = None,
        retry: Retry | None = None,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        password = urlsplit(settings.url).password or ""
        super().__init__(address=settings.url, secrets=(password,), retry=retry)
        self.settings = settings
        self.library_root = library_root
        self._resolver = resolver

    def deliver(self, event: CameraEvent, phase: EventPhase) -> None:
        s = self.settings
        address = check_destination(s.url, allow_public=s.allow_public, resolver=self._resolver)
        body: dict[str, Any] = event_json(event, phase)
        if s.with_snapshot and phase is not EventPhase.END:
            jpeg = snapshot_bytes(event, self.library_root)
            if jpeg:
                body["snapshot_jpeg"] = base64.b64encode(jpeg).decode("ascii")
        self._post(address, json.dumps(body).encode())

    def _post(self, address: str, data: bytes) -> None:
        parts = urlsplit(self.settings.url)
        assert parts.hostname is not None
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        connection = kind(parts.hostname, port, timeout=self.settings.timeout)
        timeout = self.settings.timeout

        # Connect to the address checked, not to whatever the name resolves to now; TLS still
        # checks the certificate against the name.
        def connect(_where: tuple[str, int], *_args: Any, **_kw: Any) -> socket.socket:
            return socket.create_connection((address, port), timeout)

        connection._create_connection = connect  # type: ignore[attr-defined]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "regard-alerts",
            "Content-Length": str(len(data)),
        }
        if parts.username is not None:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=data, headers=headers)
            response = connection.getresponse()
            response.read(65536)
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            raise ConnectionError(f"the webhook answered {response.status} {response.reason}")
