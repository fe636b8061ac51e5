"""Behind a reverse proxy: the client a trusted proxy names is the one sign-in limits count,
and a proxy that is not trusted (or anyone else) cannot name one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from regard.engine import EngineConfig
from regard.interfaces.cli.main import app
from regard.interfaces.http.server import Running, running, trusted_proxy_address
from regard.testing import FakeModels

PASSWORD = "correct horse battery staple"


def _server(tmp_path: Path, trusted: tuple[str, ...]) -> Iterator[Running]:
    with running(
        tmp_path / "lib", EngineConfig(workers=1), models=FakeModels(), trusted_proxies=trusted
    ) as srv:
        with httpx.Client(base_url=srv.url) as http:
            r = http.post(
                "/api/setup",
                json={
                    "token": srv.host.accounts.setup_token(),
                    "name": "Ann",
                    "password": PASSWORD,
                },
            )
            assert r.status_code == 200, r.text
        srv.host.accounts.limiter.per_minute = 2
        yield srv


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Running]:
    yield from _server(tmp_path, ("127.0.0.0/8",))


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Running]:
    yield from _server(tmp_path, ())


def sign_in(
    srv: Running, client: str, password: str = "wrong", proto: str = "http"
) -> httpx.Response:
    headers = {"X-Forwarded-For": client, "X-Forwarded-Proto": proto}
    with httpx.Client(base_url=srv.url) as http:
        return http.post("/api/login", json={"name": "Ann", "password": password}, headers=headers)


def test_each_client_behind_a_trusted_proxy_has_its_own_limit(proxied: Running) -> None:
    assert [sign_in(proxied, "203.0.113.5").status_code for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy is not held up by the first one's attempts.
    assert sign_in(proxied, "203.0.113.9").status_code == 401
    ok = sign_in(proxied, "198.51.100.7", PASSWORD, proto="https")
    assert ok.status_code == 200
    cookie = ok.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie  # TLS at the proxy: a Secure cookie


def test_without_a_trusted_proxy_the_forwarded_client_is_ignored(direct: Running) -> None:
    assert [sign_in(direct, "203.0.113.5").status_code for _ in range(3)] == [401, 401, 429]
    # Naming another client changes nothing: everyone here is the one address it came from.
    answer = sign_in(direct, "203.0.113.9")
    assert answer.status_code == 429
    assert answer.json()["error"]["type"] == "SignInBusyError"


def test_a_trusted_proxy_is_an_address_or_a_network() -> None:
    assert trusted_proxy_address(" 192.168.1.10 ") == "192.168.1.10/32"
    assert trusted_proxy_address("10.0.0.0/8") == "10.0.0.0/8"
    assert trusted_proxy_address("::1") == "::1/128"
    for bad in ("proxy.example", "", "10.0.0.0/33"):
        with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
            trusted_proxy_address(bad)


def test_the_cli_says_which_trusted_proxy_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--library", str(tmp_path / "lib"), "serve", "--trusted-proxy", "proxy.example"]
    )
    assert result.exit_code == 2
    said = " ".join(result.output.replace("│", " ").split())  # the words, unwrapped
    assert "'proxy.example' is not an IP address or network" in said, said
    assert not (tmp_path / "lib").exists()  # refused before the library is touched
