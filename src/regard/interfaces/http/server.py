"""Running the web app: uvicorn on the loopback interface by default, on a socket we bind
ourselves (so a test can ask for port 0 and learn the port)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from regard.engine import STANDARD_MODELS, EngineConfig, ModelLoader
from regard.interfaces.http.app import create_app
from regard.interfaces.http.guard import loopback_hosts
from regard.interfaces.http.host import EngineHost


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Named TCP (not protocol 0): asyncio turns Nagle's algorithm off only on connections it
    # knows are TCP. Left on, a keep-alive answer's body waits for the client's delayed
    # acknowledgement of its headers, 40 ms on every request after a connection's first.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def allowed_hosts(address: str, port: int, extra: Iterable[str] = ()) -> list[str]:
    """The Host headers the server at `address`:`port` answers to: the loopback names, the
    address it listens on, and `extra` names (with the port added when they have none)."""
    hosts = loopback_hosts(port)
    listen = f"[{address}]" if ":" in address else address
    for name in (listen, *extra):
        entry = name if re.search(r":\d+$", name) else f"{name}:{port}"
        if entry not in hosts and name not in ("0.0.0.0", "[::]"):
            hosts.append(entry)
    return hosts


def trusted_proxy_address(address: str) -> str:
    """`address` (an IP address or network) checked, as uvicorn reads it; ValueError if not."""
    return str(ipaddress.ip_network(address.strip(), strict=False))


def make_server(
    host: EngineHost,
    access_log: bool = False,
    allowed: Iterable[str] | None = None,
    trusted_proxies: Iterable[str] = (),
) -> uvicorn.Server:
    """The web app's server. A request from one of `trusted_proxies` (a reverse proxy in front
    of it) is taken to be from the client its X-Forwarded-For names, over the scheme its
    X-Forwarded-Proto names: sign-in limits then count each client, not the proxy, and the
    session cookie is Secure behind TLS. From any other address those headers are ignored."""
    app = create_app(host, list(allowed) if allowed is not None else None)
    proxies = [trusted_proxy_address(a) for a in trusted_proxies]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        # The server never says what it is, and believes forwarded headers only from the
        # proxies it was told of.
        server_header=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        lifespan="off",
        # An open Events page holds a stream (Server-Sent Events) that never ends by itself:
        # on Ctrl-C, requests get this long to finish, then their connections are closed.
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    app.state.server = server  # the Events page's streams end when it stops
    return server


@dataclass
class Running:
    url: str
    host: EngineHost
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def running(
    library: Path,
    config: EngineConfig,
    address: str = "127.0.0.1",
    port: int = 0,
    models: ModelLoader = STANDARD_MODELS,
    trusted_proxies: Iterable[str] = (),
) -> Iterator[Running]:
    """A real server on a real socket, in a background thread (for tests and embedding)."""
    host = EngineHost(library, config, models=models)
    sock = bind(address, port)
    server = make_server(
        host,
        allowed=allowed_hosts(address, sock.getsockname()[1]),
        trusted_proxies=trusted_proxies,
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True, name="regard-http"
    )
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the web server did not start")
        threading.Event().wait(0.02)
    actual = sock.getsockname()[1]
    try:
        yield Running(f"http://{address}:{actual}", host, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        host.close()
