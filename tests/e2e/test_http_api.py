"""The HTTP API in process (ASGI): every route, signed out, as each role, across users."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sqlite3
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from PIL import Image

import regard.interfaces.http.api as api_module
from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces
from tests.cli_commands import cli_commands

PASSWORD = "correct horse battery staple"
RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


class Api:
    """A signed-in (or not) client of the in-process app."""

    def __init__(self, host: EngineHost) -> None:
        self.host = host
        # Starlette's TestClient drives the ASGI app in process, synchronously.
        self.client = TestClient(create_app(host), base_url="http://localhost")
        self.csrf = ""

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        r = self.client.post("/api/login", json={"name": name, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf"]
        return r

    def get(self, url: str, **kw: object) -> httpx.Response:
        return self.client.get(url, **kw)  # type: ignore[arg-type]

    def send(self, method: str, url: str, **kw: object) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **dict(kw.pop("headers", {}) or {})}  # type: ignore[call-overload]
        return self.client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]

    def post(self, url: str, **kw: object) -> httpx.Response:
        return self.send("POST", url, **kw)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[EngineHost]:
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    config = EngineConfig(workers=0, grouping=PARAMS)
    h = EngineHost(tmp_path / "lib", config, models=FakeModels())
    with h.use() as engine:
        engine.index([folder])
    yield h
    h.close()


@pytest.fixture
def owner(host: EngineHost) -> Api:
    api = Api(host)
    token = host.accounts.setup_token()
    r = api.client.post("/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    api.csrf = r.json()["csrf"]
    for name, role in (("Mo", "member"), ("Vi", "viewer")):
        assert (
            api.post(
                "/api/users", json={"name": name, "password": PASSWORD, "role": role}
            ).status_code
            == 201
        )
    return api


def as_user(host: EngineHost, name: str) -> Api:
    api = Api(host)
    assert api.login(name).status_code == 200
    return api


def error_of(r: httpx.Response) -> dict[str, str]:
    body = r.json()
    assert set(body) == {"error"} and {"type", "message"} <= set(body["error"]), body
    return body["error"]  # type: ignore[no-any-return]


def api_routes(host: EngineHost) -> list[tuple[str, str]]:
    """Every API operation, as the OpenAPI schema lists them."""
    paths = create_app(host).openapi()["paths"]
    return sorted((m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/api/"))


def test_first_owner_needs_the_printed_token(host: EngineHost) -> None:
    api = Api(host)
    assert api.get("/api/setup").json() == {"needed": True}
    host.accounts.setup_token()
    r = api.client.post("/api/setup", json={"token": "guess", "name": "Eve", "password": PASSWORD})
    assert r.status_code == 400 and "setup token is wrong" in error_of(r)["message"]
    r = api.client.post(
        "/api/setup",
        json={"token": host.accounts.setup_token(), "name": "Ann", "password": "short"},
    )
    assert r.status_code == 400 and "12 to 128 characters" in error_of(r)["message"]
    token = host.accounts.setup_token()
    assert (
        api.client.post(
            "/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD}
        ).status_code
        == 200
    )
    again = Api(host).client.post(
        "/api/setup", json={"token": token, "name": "Eve", "password": PASSWORD}
    )
    assert again.status_code == 400 and "already has an owner" in error_of(again)["message"]


def test_every_route_refuses_the_signed_out(host: EngineHost, owner: Api) -> None:
    stranger = Api(host)
    open_routes = {("GET", "/api/setup"), ("POST", "/api/setup"), ("POST", "/api/login")}
    checked = 0
    for method, path in api_routes(host):
        if (method, path) in open_routes:
            continue
        url = (
            path.replace("{ref}", "P1")
            .replace("{photo_id}", "1")
            .replace("{face_id}", "1")
            .replace("{user_id}", "1")
            .replace("{job_id}", "x")
        )
        r = stranger.send(method, url)
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} signed out"
        assert error_of(r)["type"] == "NotSignedInError"
        checked += 1
    assert checked >= 35


def test_changes_need_the_csrf_token_and_the_same_origin(owner: Api) -> None:
    r = owner.client.post("/api/people/recluster")
    assert r.status_code == 403 and "CSRF token" in error_of(r)["message"]
    r = owner.post("/api/people/recluster", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "another site" in error_of(r)["message"]
    assert owner.post("/api/people/recluster").status_code == 200


def test_roles_are_enforced_on_every_kind_of_route(host: EngineHost, owner: Api) -> None:
    viewer, member = as_user(host, "Vi"), as_user(host, "Mo")
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    # Everyone signed in may look and search.
    for api in (viewer, member, owner):
        assert api.get("/api/photos").status_code == 200
        assert api.get(f"/api/search/person/{red}").status_code == 200
    # Viewers may not change anything.
    for method, url, body in (
        ("POST", f"/api/people/{red}/name", {"name": "Grandma"}),
        ("POST", "/api/people/recluster", None),
        ("POST", "/api/consents/withdraw", {"subject": "Grandma"}),
        ("POST", "/api/erase", {"person": red, "confirm": red}),
        ("POST", "/api/users", {"name": "Zed", "password": PASSWORD, "role": "owner"}),
    ):
        r = viewer.send(method, url, json=body)
        assert r.status_code == 403, (url, r.text)
        assert error_of(r)["type"] == "ForbiddenError"
    # Members correct people but may not erase, report, read the audit log or manage users.
    assert member.post(f"/api/people/{red}/name", json={"name": "Grandma"}).status_code == 200
    for method, url, body in (
        ("POST", "/api/erase", {"person": "Grandma", "confirm": "Grandma"}),
        ("POST", "/api/access-report", {"person": "Grandma"}),
        ("GET", "/api/audit", None),
        ("GET", "/api/users", None),
        ("POST", "/api/retention", {"unassigned_days": 5}),
    ):
        r = member.send(method, url, json=body)
        # Refused for the role, not at the door (a missing CSRF token is a 403 too).
        assert r.status_code == 403 and error_of(r)["type"] == "ForbiddenError", (url, r.text)
    # ...until the owner lets members read the audit log.
    with host.use() as engine, engine.catalog.transaction():
        engine.catalog.runs.set_setting("web.members_read_audit", "1")
    assert member.get("/api/audit").status_code == 200
    # The owner may do everything, and the audit log names who did what.
    entries = owner.get("/api/audit").json()
    assert any(e["action"] == "name" and e["actor"] == "Mo" for e in entries)
    report = owner.post("/api/access-report", json={"person": "Grandma"})
    assert report.status_code == 200 and report.headers["content-type"] == "application/zip"
    preview = owner.post("/api/erase/preview", json={"person": "Grandma"}).json()
    assert preview["faces"] == 2
    wrong = owner.post("/api/erase", json={"person": "Grandma", "confirm": "Grandpa"})
    assert wrong.status_code == 422 and "type the person's name" in error_of(wrong)["message"]
    # The name exactly as shown: "grandma" is not it.
    wrong = owner.post("/api/erase", json={"person": "Grandma", "confirm": "grandma"})
    assert wrong.status_code == 422 and "exactly as shown" in error_of(wrong)["message"]
    receipt = owner.post("/api/erase", json={"person": "Grandma", "confirm": "Grandma"}).json()
    assert receipt["removed"]["people"] == 1 and receipt["verification"]["clean"]
    assert owner.get("/api/people/Grandma").status_code == 404


def test_users_cannot_reach_each_others_accounts(host: EngineHost, owner: Api) -> None:
    viewer, member = as_user(host, "Vi"), as_user(host, "Mo")
    users = {u["name"]: u["id"] for u in owner.get("/api/users").json()}
    # Another user's account, by id: refused (no IDOR), whatever the field.
    for api, target in ((member, users["Ann"]), (viewer, users["Mo"]), (member, users["Vi"])):
        for body in ({"password": "a brand new password 1"}, {"role": "owner"}, {"disabled": True}):
            r = api.send("PATCH", f"/api/users/{target}", json=body)
            # Refused for whose account it is, not at the door (a CSRF refusal is a 403 too).
            assert r.status_code == 403 and error_of(r)["type"] == "ForbiddenError", (body, r.text)
        r = api.send("DELETE", f"/api/users/{target}")
        assert r.status_code == 403 and error_of(r)["type"] == "ForbiddenError", r.text
    # One's own role cannot be raised, but one's own password can be changed.
    r = viewer.send("PATCH", f"/api/users/{users['Vi']}", json={"role": "owner"})
    assert r.status_code == 403 and error_of(r)["type"] == "ForbiddenError", r.text
    r = viewer.send(
        "PATCH",
        f"/api/users/{users['Vi']}",
        json={"password": "another good passphrase", "current_password": PASSWORD},
    )
    assert r.status_code == 200
    # Changing the password ended every session of that user.
    assert viewer.get("/api/session").status_code == 401
    assert Api(host).login("Vi", "another good passphrase").status_code == 200
    # The last owner cannot be demoted, nor delete themself.
    r = owner.send("PATCH", f"/api/users/{users['Ann']}", json={"role": "viewer"})
    assert r.status_code == 400 and "last owner" in error_of(r)["message"]
    assert owner.send("DELETE", f"/api/users/{users['Ann']}").status_code == 400


def test_sign_in_is_rate_limited_and_sessions_end(host: EngineHost, owner: Api) -> None:
    api = Api(host)
    for _ in range(5):
        r = api.login("Mo", "wrong password here")
        assert r.status_code == 401 and error_of(r)["message"] == "Wrong name or password."
    r = api.login("Mo")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900
    unknown = api.login("Nobody", "whatever password")
    assert unknown.status_code == 401  # same answer as a wrong password
    # Logout ends the session on the server.
    vi = as_user(host, "Vi")
    cookie = vi.client.cookies.get("regard_session")
    assert vi.post("/api/logout").status_code == 200
    replay = Api(host)
    replay.client.cookies.set("regard_session", cookie or "")
    assert replay.get("/api/session").status_code == 401
    # An idle session expires.
    vi = as_user(host, "Vi")
    with sqlite3.connect(host.library / "catalog.sqlite") as db:
        db.execute("UPDATE sessions SET last_seen = '2020-01-01T00:00:00+00:00'")
    assert vi.get("/api/session").status_code == 401


def test_cookie_and_headers(owner: Api) -> None:
    r = owner.login("Ann")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    token = owner.client.cookies.get("regard_session") or ""
    assert len(token) >= 43  # 32 random bytes, urlsafe base64
    r = owner.get("/api/photos")
    assert r.headers["cache-control"] == "no-store"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp.replace("'self'", "")
    assert r.headers["x-frame-options"] == "DENY"
    assert owner.get("/static/app.css").headers.get("cache-control") != "no-store"


def test_library_routes(host: EngineHost, owner: Api) -> None:
    page = owner.get("/api/photos?limit=2").json()
    assert page["total"] == 3 and len(page["photos"]) == 2
    photo = owner.get(f"/api/photos/{page['photos'][0]['id']}").json()
    assert photo["faces"] and {"face", "box", "person", "name"} <= set(photo["faces"][0])
    image = owner.get(f"/api/photos/{photo['id']}/image?size=256")
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
    missing = owner.get("/api/photos/999")
    assert missing.status_code == 404 and error_of(missing)["type"] == "PhotoNotFoundError"
    bad = owner.get("/api/photos?limit=0")
    assert bad.status_code == 422 and error_of(bad)["type"] == "ValidationError"
    crop = owner.get(f"/api/faces/{photo['faces'][0]['face_id']}/crop")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    status = owner.get("/api/status").json()
    assert "library" not in status and status["photos"] == 3


def test_uploads_are_checked_by_their_bytes_and_deduplicated(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    photo = draw_faces(tmp_path / "new.png", [(20, 20, 40, (20, 160, 20))])
    files = [
        ("files", ("new.png", photo.read_bytes(), "image/png")),
        ("files", ("evil.jpg", b"<script>alert(1)</script>" * 10, "image/jpeg")),
    ]
    r = owner.post("/api/uploads", files=files).json()
    assert [s["name"] for s in r["stored"]] == ["new.png"]
    assert r["refused"] == [
        {
            "name": "evil.jpg",
            "reason": "not a photo or video Regard reads (JPEG, PNG, WebP, HEIC, TIFF, BMP, "
            "GIF; MP4, MOV, WebM).",
        }
    ]
    job_id = r["job"]["id"]
    for _ in range(200):
        job = owner.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done" and job["done"] == 1 and job["faces"] == 1
    again = owner.post(
        "/api/uploads", files=[("files", ("copy.png", photo.read_bytes(), "image/png"))]
    ).json()
    assert again["stored"] == [] and len(again["duplicates"]) == 1 and again["job"] is None
    assert owner.get("/api/status").json()["photos"] == 4


def test_search_by_photo_keeps_nothing_of_the_probe(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, RED)])
    before = owner.get("/api/status").json()
    faces = owner.post("/api/probe", files={"photo": ("p.png", probe.read_bytes())}).json()
    assert len(faces["faces"]) == 1
    r = owner.post("/api/search/face", files={"photo": ("p.png", probe.read_bytes())})
    result = r.json()
    assert r.status_code == 200 and result["photos"] == 2
    assert result["probe"]["path"] == "p.png"
    after = owner.get("/api/status").json()
    assert (after["photos"], after["faces"]) == (before["photos"], before["faces"])
    assert owner.get("/api/audit").json()[-1]["action"] == "search-face"
    two = draw_faces(tmp_path / "two.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    ambiguous = owner.post("/api/search/face", files={"photo": ("t.png", two.read_bytes())})
    assert ambiguous.status_code == 409 and len(error_of(ambiguous)["faces"]) == 2  # type: ignore[arg-type]
    text = owner.post("/api/search/face", files={"photo": ("x.jpg", b"not an image at all")})
    assert text.status_code == 415
    assert error_of(text)["message"] == (
        "x.jpg: not a photo Regard accepts (JPEG, PNG, WebP, HEIC, TIFF)."
    )


def test_consent_given_again_brings_their_faces_back_by_a_job(owner: Api) -> None:
    """Grandma withdrew everything (her faces lost their data), then agrees again: her photos
    are looked at again at once, as a job on the library's list, and her faces are back."""
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    r = owner.post("/api/consents/withdraw", json={"subject": "Grandma"})
    assert r.status_code == 200 and r.json()["removed"]["embeddings"] == 2
    before = {j["id"] for j in owner.get("/api/jobs").json()}
    r = owner.post("/api/consents", data={"subject": "Grandma", "purposes": "grouping,search"})
    assert r.status_code == 201 and r.json()["photos_to_recheck"] == 2
    [job] = [j for j in owner.get("/api/jobs").json() if j["id"] not in before]
    for _ in range(200):
        job = owner.get(f"/api/jobs/{job['id']}").json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["kind"] == "index" and job["state"] == "done" and job["faces"] == 3
    people = owner.get("/api/people").json()
    assert sorted(p["faces"] for p in people) == [2, 2]  # hers back (grouped), and blue's


def test_consent_and_optout_routes(host: EngineHost, owner: Api, tmp_path: Path) -> None:
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    r = owner.post(
        "/api/consents",
        data={"subject": "Grandma", "purposes": "grouping,search", "evidence_text": "said yes"},
    )
    assert r.status_code == 201 and r.json()["purposes"] == ["grouping", "search"]
    assert (
        owner.post(
            "/api/consents/withdraw", json={"subject": "Grandma", "purposes": "search"}
        ).status_code
        == 200
    )
    found = owner.get("/api/search/person/Grandma").json()
    assert found["photos"] == 0 and found["refused"]
    ledger = owner.get("/api/consents").json()
    assert ledger[0]["allowed"] == ["grouping", "recaps"]  # recaps: the owner's word
    selfie = draw_faces(tmp_path / "me.png", [(20, 20, 40, BLUE)])
    r = owner.post(
        "/api/optouts", files={"selfie": ("me.png", selfie.read_bytes())}, data={"note": "asked"}
    )
    assert r.status_code == 201 and r.json()["faces_excluded"] == 2
    assert owner.get("/api/optouts").json()[0]["faces_excluded"] == 2
    assert owner.get("/api/audit/verify").json()["ok"]
    assert owner.get("/api/records").json()["policy"] == "household"
    assert (
        owner.post("/api/retention", json={"unassigned_days": 30}).json()["unassigned-days"] == 30
    )


# What each command of the CLI (read from the Typer app: `cli_commands`) does over HTTP. The
# pairing is by meaning, so it is written here; which commands there are is not: a new command
# fails the test below until it is given its routes here or is added to CLI_ONLY.
ROUTES_OF_COMMAND: dict[str, set[tuple[str, str]]] = {
    "index": {("POST", "/api/uploads")},
    "search": {("POST", "/api/search/face"), ("GET", "/api/search/person/{ref}")},
    "faces": {("POST", "/api/probe")},
    "photos": {("GET", "/api/photos")},
    "status": {("GET", "/api/status")},
    "people": {("GET", "/api/people")},
    "people name": {("POST", "/api/people/{ref}/name")},
    "people merge": {("POST", "/api/people/merge")},
    "people split": {("POST", "/api/people/{ref}/split")},
    "people reject": {("POST", "/api/people/{ref}/reject")},
    "people show": {("GET", "/api/people/{ref}")},
    "people recluster": {("POST", "/api/people/recluster")},
    "people history": {("GET", "/api/people/history")},
    "people undo": {("POST", "/api/people/undo")},
    "people delete": {("DELETE", "/api/people/{ref}")},
    "people hide": {("POST", "/api/people/{ref}/hide")},
    "people cover": {("POST", "/api/people/{ref}/cover")},
    "people name-face": {("POST", "/api/faces/name")},
    "people not-a-person": {("POST", "/api/faces/{face}/not-a-person")},
    "people someone-else": {("POST", "/api/faces/{face}/someone-else")},
    "people who": {("GET", "/api/faces/unnamed")},
    "consent grant": {("POST", "/api/consents")},
    "consent withdraw": {("POST", "/api/consents/withdraw")},
    "consent list": {("GET", "/api/consents")},
    "optout add": {("POST", "/api/optouts")},
    "optout list": {("GET", "/api/optouts")},
    "access-report": {("POST", "/api/access-report")},
    "export": {("POST", "/api/export")},
    "anonymise": {("POST", "/api/anonymise")},
    "erase": {("POST", "/api/erase")},
    "audit": {("GET", "/api/audit")},
    "audit verify": {("GET", "/api/audit/verify")},
    "records": {("GET", "/api/records")},
    "retention": {("GET", "/api/retention"), ("POST", "/api/retention")},
    "maintain": {("POST", "/api/maintain")},
    "trash list": {("GET", "/api/trash")},
    "trash restore": {("POST", "/api/trash/restore")},
    "trash empty": {("POST", "/api/trash/empty")},
    "events": {("GET", "/api/events")},
    "people confirm": {("POST", "/api/faces/{face}/confirm")},
    "people hide-from-recaps": {("POST", "/api/people/{ref}/hide-from-recaps")},
    "recaps": {("GET", "/api/recaps")},
    "recaps hide": {("POST", "/api/recaps/{recap_id}/hide")},
    "recaps unhide": {("POST", "/api/recaps/{recap_id}/unhide")},
    "recaps make": {
        ("POST", "/api/recaps/{recap_id}/collage"),
        ("POST", "/api/recaps/{recap_id}/video"),
    },
}
# Commands with no route, each named where the README says what the API does not cover.
CLI_ONLY = {
    "init", "rekey", "serve", "xmp write", "xmp import", "watch", "cameras",
    "cameras add", "cameras list", "cameras show", "cameras mask", "cameras enable",
    "cameras disable", "cameras remove", "cameras clips", "events unknown", "events discard",
    "sinks", "sinks add", "sinks test", "sinks remove",
}  # fmt: skip
# Commands whose route does part of what they do, and the README's words for the part left out.
CLI_ONLY_PARTS = {"anonymise": "video"}


def readme_on_what_the_api_leaves_out() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = " ".join(readme.split())
    found = re.search(
        r"The HTTP API under `/api` .*? covers every command above but (.*?); errors", text
    )
    assert found, "the README no longer says which commands the HTTP API leaves out"
    return found.group(1)


def test_every_cli_operation_has_a_route_or_is_said_to_have_none(host: EngineHost) -> None:
    operations = {c.name for c in cli_commands() if c.runs}
    assert {"index", "people name", "xmp import"} <= operations  # the walk reaches sub-commands
    unpaired = operations - ROUTES_OF_COMMAND.keys() - CLI_ONLY
    assert not unpaired, (
        f"{sorted(unpaired)}: no HTTP route. Give each its route in ROUTES_OF_COMMAND, or put it "
        "in CLI_ONLY and say so where the README lists what the API leaves out"
    )
    gone = (ROUTES_OF_COMMAND.keys() | CLI_ONLY) - operations
    assert not gone, f"{sorted(gone)}: no such command any more"
    assert not ROUTES_OF_COMMAND.keys() & CLI_ONLY
    paths = create_app(host).openapi()["paths"]
    for command, routes in ROUTES_OF_COMMAND.items():
        for method, path in routes:
            assert method.lower() in paths.get(path, {}), (
                f"`regard {command}` has no HTTP route ({method} {path})"
            )
    said = readme_on_what_the_api_leaves_out()
    for command in CLI_ONLY:
        group = command.split()[0]
        assert f"`{command}`" in said or f"`{group}`" in said, (
            f"the README does not say the HTTP API leaves out `regard {command}`: {said!r}"
        )
    helps = {c.name: " ".join((c.command.help or "").split()) for c in cli_commands()}
    for command, part in CLI_ONLY_PARTS.items():
        assert part in said, f"the README does not say `{command}` of a {part} is CLI-only"
        assert part in helps[command], f"`regard {command}` no longer takes a {part}: {helps}"


def app_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every route of the app, inside included routers too."""

    def walk(routes: Iterable[object]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            # FastAPI from 0.16x keeps an included router whole, behind a wrapper.
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None:
                yield from walk(inner.routes)

    return walk(app.routes)


def test_every_api_route_is_in_the_openapi_schema_with_a_description(host: EngineHost) -> None:
    app = create_app(host)
    schema = Api(host).get("/openapi.json").json()
    routes = {
        (method, r.path): r
        for r in app_routes(app)
        for method in r.methods
        if r.path.startswith("/api/")
    }
    assert len(routes) >= 45, sorted(routes)  # the walk found the API router's routes
    listed = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert set(routes) == listed, set(routes) ^ listed
    for method, path in routes:
        op = schema["paths"][path][method.lower()]
        assert op.get("description") or op.get("summary"), f"{method} {path} is undocumented"
    # What the schema leaves out is the web app's pages: GET, HTML, outside /api.
    for r in app_routes(app):
        if not r.include_in_schema:
            assert not r.path.startswith("/api") and r.methods == {"GET"}, r.path


def finished(api: Api, job: dict[str, object]) -> dict[str, object]:
    """The job once it has ended."""
    for _ in range(200):
        job = api.get(f"/api/jobs/{job['id']}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job['id']} did not end: {job}")


def dated(path: Path, taken: str) -> Path:
    """The photo at `path`, given an EXIF capture time like "2019:06:01 12:00:00"."""
    with Image.open(path) as img:
        img.load()
        exif = img.getexif()
        exif[0x0132] = taken  # DateTime
        img.save(path, exif=exif)
    return path


def test_uploads_keep_the_names_they_were_sent_with(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    green = draw_faces(tmp_path / "green.png", [(20, 20, 40, (20, 160, 20))])
    data = green.read_bytes()
    # Sent with a path, and a right-to-left override that would make the name read backwards.
    sent = "../../Pictures/Grandma\u202e at 90.png"
    r = owner.post("/api/uploads", files=[("files", (sent, data, "image/png"))]).json()
    assert [s["name"] for s in r["stored"]] == ["Grandma at 90.png"]
    assert finished(owner, r["job"])["state"] == "done"
    again = owner.post("/api/uploads", files=[("files", ("other name.png", data, "image/png"))])
    assert again.json()["duplicates"][0]["name"] == "other name.png"

    photos = owner.get("/api/photos").json()["photos"]
    names = {p["name"]: p for p in photos}
    assert set(names) == {"a.png", "b.png", "c.png", "Grandma at 90.png"}  # the first name stays
    upload = names["Grandma at 90.png"]
    # Where and how the file is kept does not change: named by its content, under uploads/.
    stored = Path(upload["path"])
    assert stored.name == hashlib.sha256(data).hexdigest()[:20] + ".png"
    assert stored.is_relative_to((host.library / "uploads").resolve())
    detail = owner.get(f"/api/photos/{upload['id']}").json()
    assert (detail["name"], detail["path"]) == ("Grandma at 90.png", upload["path"])
    # The viewer's File line: its folder in the library, and the name it was sent with.
    assert detail["file"] == f"uploads/{time.strftime('%Y/%m')}/Grandma at 90.png"
    assert owner.get(f"/api/photos/{names['a.png']['id']}").json()["name"] == "a.png"
    folders = {f["name"] for f in owner.get("/api/photos").json()["folders"]}
    assert folders == {"album", "uploads/" + time.strftime("%Y/%m")}  # within the library: so
    found = owner.post("/api/search/face", files={"photo": ("probe.png", data)}).json()
    assert [m["name"] for m in found["matches"]] == ["Grandma at 90.png"]

    # A long name is cut, its suffix kept; a name of nothing but a path falls back.
    blue = draw_faces(tmp_path / "blue.png", [(60, 60, 40, BLUE)]).read_bytes()
    other = draw_faces(tmp_path / "other.png", [(90, 30, 40, BLUE)]).read_bytes()
    broken = data[:8] + b"not the rest of a PNG"
    r = owner.post(
        "/api/uploads",
        files=[
            ("files", ("x" * 300 + ".png", blue, "image/png")),
            ("files", ("../..", other, "image/png")),
            ("files", ("holiday/broken.png", broken, "image/png")),
        ],
    ).json()
    assert [len(s["name"]) for s in r["stored"]] == [200, len("upload")]
    # A file that could not be used is refused by its name, and nothing of it is kept.
    assert r["refused"] == [
        {
            "name": "broken.png",
            "reason": "the image header cannot be read (the file starts like an image Regard "
            "reads, but what follows is damaged). Restore the file from a backup or re-export it.",
        }
    ]
    assert finished(owner, r["job"])["report"]["failures"] == []  # type: ignore[index]
    long_name = next(
        p["name"] for p in owner.get("/api/photos").json()["photos"] if "x" * 9 in p["name"]
    )
    assert len(long_name) == 200 and long_name.endswith("….png")

    # The name goes with its photo: erased with it, it leaves nothing behind.
    with host.use() as engine, engine.catalog.transaction():
        engine.catalog.photos.delete([upload["id"]])
    with sqlite3.connect(host.library / "catalog.sqlite") as db:
        left = [r[0] for r in db.execute("SELECT name FROM upload_names")]
    assert "Grandma at 90.png" not in left and len(left) == 1


def test_search_results_carry_sizes_and_who_may_be_shown(host: EngineHost, owner: Api) -> None:
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    probe = draw_faces(host.library.parent / "probe.png", [(20, 20, 40, RED)]).read_bytes()

    def search() -> tuple[dict[str, object], dict[str, object]]:
        by_face = owner.post("/api/search/face", files={"photo": ("p.png", probe)})
        by_person = owner.get("/api/search/person/Grandma")
        assert by_face.status_code == by_person.status_code == 200, (by_face.text, by_person.text)
        return by_face.json(), by_person.json()

    for result in search():
        assert len(result["matches"]) == 2  # type: ignore[arg-type]
        for m in result["matches"]:  # type: ignore[attr-defined]
            detail = owner.get(f"/api/photos/{m['photo_id']}").json()
            assert (m["width"], m["height"]) == (320, 240)
            assert (m["width"], m["height"]) == (
                detail["metadata"]["width"],
                detail["metadata"]["height"],
            )
            assert m["name"] in {"a.png", "b.png"}
            assert [(f["person"], f["name"]) for f in m["faces"]] == [(red, "Grandma")]

    # In an organisation library, consent to be searched for is not consent to be named.
    with host.use() as engine, engine.catalog.transaction():
        engine.catalog.runs.set_setting("policy", "organisation")
    r = owner.post(
        "/api/consents",
        data={"subject": "Grandma", "purposes": "search", "evidence_text": "form 12"},
    )
    assert r.status_code == 201, r.text
    for result in search():
        assert len(result["matches"]) == 2  # type: ignore[arg-type]
        for m in result["matches"]:  # type: ignore[attr-defined]
            assert [(f["person"], f["name"]) for f in m["faces"]] == [(None, None)]
    # Naming someone without consent is refused in words for the web, not a command to type.
    r = owner.post(f"/api/people/{red}/name", json={"name": "Grandpa"})
    assert r.status_code == 403, r.text
    message = r.json()["error"]["message"]
    assert "no active consent" in message and "Consent & rights page" in message
    assert "regard consent grant" not in message


def test_the_timeline_lists_folders_and_filters_undated_photos(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    album = tmp_path / "album"
    summer = dated(draw_faces(album / "2019" / "d.png", [(20, 20, 40, RED)]), "2019:06:01 12:00:00")
    sibling = draw_faces(tmp_path / "album2" / "e.png", [(40, 40, 40, BLUE)])
    with host.use() as engine:
        engine.index([album, sibling.parent])
    page = owner.get("/api/photos").json()
    assert (page["total"], page["undated"]) == (5, 4)
    assert page["years"] == [{"year": "2019", "photos": 1}]
    assert page["folders"] == [
        {"folder": str(album), "name": "album", "photos": 3},
        {"folder": str(summer.parent), "name": "album/2019", "photos": 1},
        {"folder": str(sibling.parent), "name": "album2", "photos": 1},
    ]
    undated = owner.get("/api/photos", params={"undated": "true"}).json()
    assert undated["total"] == 4 and all(p["taken_at"] is None for p in undated["photos"])
    assert owner.get("/api/photos", params={"undated": "true", "year": 2019}).json()["total"] == 0
    # A folder is that folder and the ones under it, not every folder whose name starts so.
    in_album = owner.get("/api/photos", params={"folder": str(album)}).json()
    assert sorted(p["name"] for p in in_album["photos"]) == ["a.png", "b.png", "c.png", "d.png"]
    assert owner.get("/api/photos", params={"folder": str(summer.parent)}).json()["total"] == 1
    assert owner.get("/api/photos", params={"folder": str(album)[:-1]}).json()["total"] == 0


def test_probe_errors_name_the_upload_and_speak_of_clicking(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    two = draw_faces(tmp_path / "two.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)]).read_bytes()
    blank = draw_faces(tmp_path / "blank.png", []).read_bytes()
    cases = [
        (
            "/api/search/face",
            {"photo": ("two.png", two)},
            {"face_index": "5"},
            422,
            "two.png: the photo has 2 faces, and the one chosen is not among them: click one of "
            "its faces.",
        ),
        (
            "/api/search/face",
            {"photo": ("two.png", two)},
            {},
            409,
            "two.png: 2 faces found. Click the face you mean on the photo.",
        ),
        (
            "/api/optouts",
            {"selfie": ("me/blank.png", blank)},
            {},
            422,
            "blank.png: no face found. Use a photo where the face is clearly visible, at least "
            "about 40 pixels wide.",
        ),
        (
            "/api/probe",
            {"photo": ("bad.png", two[:8] + b"not the rest of a PNG")},
            {},
            422,
            "bad.png: the image header cannot be read (the file starts like an image Regard "
            "reads, but what follows is damaged). Restore the file from a backup or re-export it.",
        ),
    ]
    for url, files, data, status, message in cases:
        r = owner.post(url, files=files, data=data)
        assert r.status_code == status, (url, r.text)
        text = error_of(r)["message"]
        assert text == message
        assert "regard-probe" not in text and "/tmp" not in text and "--" not in text
        assert "face_index" not in text


def test_bad_requests_have_the_status_codes_they_should(
    host: EngineHost, owner: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(api_module, "MAX_PROBE_BYTES", 2**20)
    big = owner.post("/api/probe", files={"photo": ("big.png", b"\x89PNG" + b"0" * 2**20)})
    assert big.status_code == 413
    assert error_of(big) == {
        "type": "UploadTooLargeError",
        "message": "big.png: larger than 1 MiB.",
    }
    many = [("files", (f"{i}.png", b"x", "image/png")) for i in range(51)]
    r = owner.post("/api/uploads", files=many)
    assert r.status_code == 413 and error_of(r)["message"] == "At most 50 files per upload."
    # Not what a photo is, whatever the name says.
    text = owner.post("/api/optouts", files={"selfie": ("me.jpg", b"just some words")})
    assert text.status_code == 415 and error_of(text)["type"] == "UnsupportedUploadError"
    # Values that are not valid are 422, not 403: nothing forbids them.
    for data, message in (
        (
            {"purposes": "sports"},
            "'sports' is not a purpose. Purposes are: grouping, search, camera, recaps (or all).",
        ),
        ({"purposes": "search", "expires": "soon"}, "The expiry date 'soon' is not a date"),
    ):
        r = owner.post("/api/consents", data={"subject": "Grandma", **data})
        assert r.status_code == 422, r.text
        assert error_of(r)["message"].startswith(message)
        assert error_of(r)["type"] == "PrivacyRequestError"
    r = owner.get("/api/audit", params={"since": "notadate"})
    assert r.status_code == 422
    assert error_of(r)["message"] == (
        "'notadate' is not a date like 2025-06-01 (or a time like 2025-06-01T14:30)."
    )
    r = owner.get("/api/jobs/nosuchjob")
    assert r.status_code == 404 and error_of(r)["type"] == "JobNotFoundError"
    # The evidence of a consent is hashed; the ledger names it as it was sent.
    form = tmp_path / "form.txt"
    form.write_text("I agree.")
    r = owner.post(
        "/api/consents",
        data={"subject": "Grandma", "purposes": "search"},
        files={"evidence": ("scans/consent form 12.txt", form.read_bytes())},
    )
    assert r.status_code == 201, r.text
    [record] = owner.get("/api/consents").json()[0]["records"]
    assert record["evidence_name"] == "consent form 12.txt"
    # A name too long for a file name is cut to one (the evidence is kept a moment as a file).
    r = owner.post(
        "/api/consents",
        data={"subject": "Grandma", "purposes": "grouping"},
        files={"evidence": ("é" * 300 + ".txt", form.read_bytes())},
    )
    assert r.status_code == 201, r.text
    longest = owner.get("/api/consents").json()[0]["records"][-1]["evidence_name"]
    assert longest.endswith("….txt") and len(longest.encode()) <= 255
    assert owner.get("/api/audit", params={"since": "2000-01-01"}).json()
    assert owner.get("/api/audit", params={"since": "2999-01-01T00:00+02:00"}).json() == []


def test_changing_ones_own_password_needs_the_current_one(host: EngineHost, owner: Api) -> None:
    users = {u["name"]: u["id"] for u in owner.get("/api/users").json()}
    viewer = as_user(host, "Vi")
    mine = f"/api/users/{users['Vi']}"
    new = "a fresh and long passphrase"
    r = viewer.send("PATCH", mine, json={"password": new})
    assert r.status_code == 422 and error_of(r)["message"] == (
        "To change your own password, give your current one too (current_password)."
    )
    r = viewer.send("PATCH", mine, json={"password": new, "current_password": "a wrong guess"})
    assert r.status_code == 403 and error_of(r) == {
        "type": "WrongPasswordError",
        "message": "Your current password is not right, so the password was not changed.",
    }
    assert viewer.get("/api/session").status_code == 200  # still signed in, password unchanged
    # Owners too, for their own password...
    r = owner.send("PATCH", f"/api/users/{users['Ann']}", json={"password": new})
    assert r.status_code == 422
    # ...but not to reset someone else's.
    r = owner.send("PATCH", f"/api/users/{users['Mo']}", json={"password": new})
    assert r.status_code == 200
    assert Api(host).login("Mo", new).status_code == 200
    # Guessing is limited as signing in is: the account locks.
    for _ in range(4):
        r = viewer.send("PATCH", mine, json={"password": new, "current_password": "guess"})
        assert r.status_code == 403
    r = viewer.send("PATCH", mine, json={"password": new, "current_password": PASSWORD})
    assert r.status_code == 429
    assert Api(host).login("Vi").status_code == 429


def test_refusals_tell_a_browser_what_to_do_and_status_hides_paths(
    host: EngineHost, owner: Api
) -> None:
    r = owner.client.post("/api/people/recluster")
    assert r.status_code == 403 and error_of(r)["message"] == (
        "This change was refused: it came without the CSRF token of this session's page (the "
        "page may be from an earlier session). If you made it on Regard's own page, reload the "
        "page and try again."
    )
    r = owner.post("/api/people/recluster", headers={"Origin": "http://evil.example"})
    assert "owner" not in error_of(r)["message"] and "reload the page" in error_of(r)["message"]
    mine = owner.get("/api/status").json()
    assert "key_file" in mine["encryption"] and mine["last_run"]["roots"]
    for name in ("Vi", "Mo"):
        theirs = as_user(host, name).get("/api/status").json()
        assert "key_file" not in theirs["encryption"] and "roots" not in theirs["last_run"]
        assert str(host.library) not in json.dumps(theirs)
        assert theirs["photos"] == mine["photos"]


def texture(img: np.ndarray, x: int, y: int, side: int = 40) -> float:
    """How much fine detail is left inside a drawn face: the mean step between neighbouring
    pixels (its texture changes pixel to pixel; a blur, a mosaic or a fill takes that away)."""
    patch = img[y + 4 : y + side - 4, x + 4 : x + side - 4].astype(float)
    return float(np.abs(np.diff(patch, axis=1)).mean())


def test_export_gives_a_zip_of_copies_blurred_by_consent(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    album = str(tmp_path / "album")

    def export(api: Api, **body: object) -> dict[str, np.ndarray]:
        r = api.post("/api/export", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            report = json.loads(z.read("report.json"))
            copies = {
                n: np.asarray(Image.open(io.BytesIO(z.read(n))).convert("RGB"))
                for n in z.namelist()
                if n != "report.json"
            }
        assert report["photos"] == len(copies) and report["output"] == "the zip"
        assert {f["output"] for f in report["files"]} == set(copies)
        return copies

    # Nobody has agreed: every face is blurred.
    copies = export(owner, folders=[album])
    assert sorted(copies) == ["a.png", "b.png", "c.png"]
    assert texture(copies["a.png"], 10, 10) < 2 and texture(copies["a.png"], 100, 10) < 2
    # Grandma agrees: her face stays, the other is blurred; chosen by her name, as a viewer.
    owner.post("/api/consents", data={"subject": "Grandma", "purposes": "search"})
    viewer = as_user(host, "Vi")
    copies = export(viewer, people=["Grandma"], rename=True)
    assert sorted(copies) == ["photo-0001.png", "photo-0002.png"]
    a = copies["photo-0001.png"]
    assert texture(a, 10, 10) > 5 and texture(a, 100, 10) < 2
    audit = owner.get("/api/audit").json()
    assert any(e["action"] == "export" and e["actor"] == "Vi" for e in audit)
    # One photo by id, everything blurred; what cannot be done is said.
    photos = owner.get("/api/photos").json()
    first = next(p for p in photos["photos"] if p["path"].endswith("c.png"))
    assert list(export(owner, photos=[first["id"]], blur="all")) == ["c.png"]
    r = owner.post("/api/export", json={"photos": [987654]})
    assert r.status_code == 404 and "No photo #987654" in error_of(r)["message"]
    r = owner.post("/api/export", json={"folders": [album], "keep": ["GPSLatitude"]})
    assert r.status_code == 422, r.text
    r = owner.post("/api/export", json={})
    assert r.status_code == 422 and "Say what to export" in error_of(r)["message"]


def test_export_preview_warns_and_shows_what_will_be_blurred(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    """Before exporting: Grandma, chosen by name, has no consent record, so the default mode
    would blur her; the preview says so, lists the heads blurred and kept in each photo, and
    shows the first copies as small images (made by the export's own code, kept nowhere)."""
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    r = owner.post("/api/export/preview", json={"people": ["Grandma"], "images": 1})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["warnings"] == [
        "Grandma has no consent record, so Grandma will be blurred in every copy."
    ]
    (grandma,) = [p for p in preview["people"] if p["chosen"]]
    assert grandma == {
        "person": red,
        "name": "Grandma",
        "faces": 2,
        "chosen": True,
        "visible": False,
        "reason": "has no consent record",
        "can_stay_visible": True,
        "warning": preview["warnings"][0],
    }
    assert preview["photos"] == preview["searched"] == 2
    first, second = preview["files"]
    assert [len(first["blurred"]), len(first["visible"])] == [2, 0]
    assert first["image"].startswith("data:image/jpeg;base64,") and "image" not in second
    shown = Image.open(io.BytesIO(base64.b64decode(first["image"].split(",", 1)[1])))
    assert shown.format == "JPEG" and shown.size == (first["width"], first["height"])
    assert texture(np.asarray(shown.convert("RGB")), 10, 10) < 2  # blurred, as exported
    # Keeping her visible (she may be, under this library's policy): no warning, her head kept.
    r = owner.post(
        "/api/export/preview",
        json={"people": ["Grandma"], "blur": "all-but", "visible": ["Grandma"]},
    )
    preview = r.json()
    assert preview["warnings"] == [] and preview["people"][0]["visible"] is True
    first = preview["files"][0]
    assert [len(first["blurred"]), len(first["visible"])] == [1, 1]
    (x, y, w, h) = first["visible"][0]
    assert x <= 30 <= x + w and y <= 30 <= y + h  # the red face at (10, 10), 40 px
    # Nothing was written or exported; the preview is in the audit log.
    audit = owner.get("/api/audit").json()
    assert [e["action"] for e in audit].count("export-preview") == 2
    assert "export" not in [e["action"] for e in audit]
    r = owner.post("/api/export/preview", json={})
    assert r.status_code == 422 and "Say what to export" in error_of(r)["message"]


def test_anonymise_returns_a_blurred_copy_and_keeps_nothing(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    photo = tmp_path / "album" / "a.png"
    before = len(owner.get("/api/photos").json()["photos"])
    r = owner.post(
        "/api/anonymise",
        files={"photo": ("party.png", photo.read_bytes(), "image/png")},
        data={"method": "solid"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert 'filename="party-anonymised.png"' in r.headers["content-disposition"]
    copy = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    assert texture(copy, 10, 10) < 1 and texture(copy, 100, 10) < 1
    assert len(owner.get("/api/photos").json()["photos"]) == before
    r = owner.post("/api/anonymise", files={"photo": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 415 and "notes.txt" in error_of(r)["message"]


def test_a_sent_name_cannot_add_to_the_download_header(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    """The security review's D15: a name sent with the photo made its way into the
    Content-Disposition header as it was, so it could add a `filename*` of its own."""
    from urllib.parse import unquote

    photo = tmp_path / "album" / "a.png"
    sent = "a\"; filename*=UTF-8''evil.html; x=\".png"
    r = owner.post("/api/anonymise", files={"photo": (sent, photo.read_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    header = r.headers["content-disposition"]
    kind, fallback, named = header.split("; ")
    assert kind == "attachment" and named.startswith("filename*=UTF-8''"), header
    assert re.fullmatch(r'filename="[A-Za-z0-9._ -]+"', fallback), header
    encoded = header.split("filename*=UTF-8''", 1)[1]
    # The whole name (its quotes as the client encoded them) is inside the encoded value.
    assert unquote(encoded) == "a%22; filename*=UTF-8''evil.html; x=%22-anonymised.png"


COMMAND_WORDS = ("`", "--", "regard ", "face_index")


GREEN = (20, 160, 20)


def green_person(host: EngineHost, tmp_path: Path) -> str:
    """A third person, in two photos of their own (never with red or blue)."""
    folder = tmp_path / "more"
    draw_faces(folder / "d.png", [(60, 20, 40, GREEN)])
    draw_faces(folder / "e.png", [(20, 60, 40, GREEN)])
    with host.use() as engine:
        engine.index([folder])
        [green] = [
            p["person"]
            for p in engine.people.summaries()
            if "d.png" in str(engine.people.show(p["person"])["photo_list"])
        ]
    return green


def test_merge_asks_which_name_stays_and_undo_puts_everything_back(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    blue = green_person(host, tmp_path)
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    assert owner.post(f"/api/people/{red}/name", json={"name": "Ann"}).status_code == 200
    assert owner.post(f"/api/people/{blue}/name", json={"name": "Bea"}).status_code == 200
    before = owner.get("/api/people").json()
    r = owner.post("/api/people/merge", json={"keep": red, "other": blue})
    assert r.status_code == 409 and error_of(r)["message"] == (
        f"Ann ({red}) and Bea ({blue}) both have a name: choose which one to keep."
    )
    assert owner.get("/api/people").json() == before  # nothing happened
    r = owner.post("/api/people/merge", json={"keep": red, "other": blue, "keep_name": "Bea"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert (merged["person"], merged["name"], merged["faces"]) == (red, "Bea", 4)
    [latest, *_] = owner.get("/api/people/history").json()
    assert latest == {
        "entry": merged["undo"],
        "at": latest["at"],
        "action": "merge",
        "text": f"Bea ({blue}) joined Ann ({red}): 2 faces; the name 'Ann' was dropped.",
        "undone": False,
        "can_undo": True,
        "why_not": None,
    }
    # A viewer sees the history but may not undo.
    viewer = as_user(host, "Vi")
    assert viewer.get("/api/people/history").status_code == 200
    assert viewer.post("/api/people/undo", json={}).status_code == 403
    r = owner.post("/api/people/undo", json={"entry": merged["undo"]})
    assert r.status_code == 200 and r.json()["undone"] == merged["undo"]
    assert owner.get("/api/people").json() == before
    again = owner.post("/api/people/undo", json={"entry": merged["undo"]})
    assert again.status_code == 409 and "was undone already" in error_of(again)["message"]
    assert owner.get("/api/people/history").json()[0]["action"] == "undo"
    audit = [e["action"] for e in owner.get("/api/audit").json()]
    assert audit[-2:] == ["merge", "undo"]


def test_reject_and_split_are_undone_and_a_person_can_be_deleted(
    host: EngineHost, owner: Api
) -> None:
    red = owner.get("/api/people").json()[0]["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    faces = [
        f["face"]
        for ph in owner.get(f"/api/people/{red}").json()["photo_list"]
        for f in ph["faces"]
    ]
    before = owner.get(f"/api/people/{red}").json()
    r = owner.post(f"/api/people/{red}/reject", json={"face": faces[0]})
    assert r.status_code == 200 and r.json()["faces"] == 1
    owner.post("/api/people/undo", json={"entry": r.json()["undo"]})
    assert owner.get(f"/api/people/{red}").json() == before
    r = owner.post(f"/api/people/{red}/split", json={"faces": faces[1]})
    made = r.json()["person"]
    owner.post("/api/people/undo", json={})  # the latest: this split
    assert owner.get(f"/api/people/{red}").json() == before
    assert owner.get(f"/api/people/{made}").status_code == 404
    # Deleting: the person and the name go, the faces stay, in no person.
    r = owner.send("DELETE", f"/api/people/{red}")
    assert r.status_code == 200 and r.json()["faces_unassigned"] == 2
    assert owner.get("/api/people/Grandma").status_code == 404
    assert all(p["name"] != "Grandma" for p in owner.get("/api/people").json())
    photo = owner.get("/api/photos").json()["photos"][0]["id"]
    assert owner.get(f"/api/photos/{photo}").json()["unassigned"] >= 1
    history = owner.get("/api/people/history").json()
    assert "Grandma" not in json.dumps(history)
    assert owner.send("DELETE", f"/api/people/{red}").status_code == 404


def test_an_opted_out_person_leaves_no_empty_card_or_broken_cover(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    blue = green_person(host, tmp_path)
    owner.post(f"/api/people/{blue}/name", json={"name": "Kit"})
    selfie = draw_faces(tmp_path / "me.png", [(20, 20, 40, GREEN)])
    r = owner.post("/api/optouts", files={"selfie": ("me.png", selfie.read_bytes())})
    assert r.status_code == 201 and r.json()["faces_excluded"] == 2, r.text
    for rows in (
        owner.get("/api/people").json(),
        owner.post("/api/people/recluster") and owner.get("/api/people").json(),
    ):
        assert all(p["name"] != "Kit" and p["faces"] > 0 for p in rows), rows
        for p in rows:
            crop = owner.get(f"/api/faces/{p['cover_face_id']}/crop")
            assert crop.status_code == 200, p
    assert owner.get("/api/people/Kit").status_code == 404
    assert owner.get("/api/status").json()["people"] == len(owner.get("/api/people").json())


def test_web_errors_name_pages_and_buttons_not_commands(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    red, blue = (p["person"] for p in owner.get("/api/people").json())
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    all_red = ",".join(
        f["face"]
        for ph in owner.get(f"/api/people/{red}").json()["photo_list"]
        for f in ph["faces"]
    )
    two = draw_faces(tmp_path / "two.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    refusals = [
        owner.post(f"/api/people/{blue}/name", json={"name": "grandma"}),
        owner.get("/api/people/Laura"),
        owner.get("/api/search/person/Laura"),
        owner.post("/api/people/merge", json={"keep": red, "other": blue}),
        owner.post(f"/api/people/{red}/split", json={"faces": all_red}),
        owner.post(f"/api/people/{red}/split", json={"faces": "F999"}),
        owner.post(f"/api/people/{red}/reject", json={"face": "F999"}),
        owner.post("/api/people/undo", json={"entry": 999}),
        owner.post(
            "/api/consents",
            data={"subject": "Grandma", "purposes": "search"},
            files={"face": ("two.png", two.read_bytes())},
        ),
        owner.post("/api/optouts", files={"selfie": ("two.png", two.read_bytes())}),
        owner.post(
            "/api/optouts",
            files={"selfie": ("two.png", two.read_bytes())},
            data={"face_index": "7"},
        ),
        owner.get("/api/faces/999/crop"),
    ]
    for r in refusals:
        assert r.status_code >= 400, r.text
        message = error_of(r)["message"]
        assert not any(w in message for w in COMMAND_WORDS), message
    taken = error_of(refusals[0])
    assert taken["message"] == (
        f"'grandma' is already the name of {red}. If they are the same person, merge them: "
        "choose “Merge with Grandma…”."
    )
    assert taken["person"] == red  # the web app offers that merge
    assert error_of(refusals[1])["message"] == (
        "No person 'Laura'. The People page lists everyone, by name or by a number like P12."
    )
    assert error_of(refusals[8])["message"] == (
        "two.png: 2 faces found. Click the face you mean on the photo."
    )


def test_a_failed_photo_is_explained_in_web_words(tmp_path: Path) -> None:
    """A photo refused at indexing (over the pixel limit) tells a web user what to do without
    naming a command-line option, while the command line keeps its option."""
    from regard.pipeline.analyse import AnalysisSettings
    from regard.pipeline.decode import DecodeLimits

    folder = tmp_path / "album"
    draw_faces(folder / "big.png", [(10, 10, 40, RED)], size=(400, 400))
    limits = DecodeLimits(max_pixels=100_000)
    config = EngineConfig(workers=0, analysis=AnalysisSettings(limits=limits))
    h = EngineHost(tmp_path / "lib", config, models=FakeModels())
    try:
        with h.use() as engine:
            engine.index([folder])
            [failed] = engine.failures()
        assert "--max-megapixels" in (failed.error_message or "")
        api = Api(h)
        token = h.accounts.setup_token()
        r = api.client.post(
            "/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD}
        )
        api.csrf = r.json()["csrf"]
        detail = api.get(f"/api/photos/{failed.id}").json()
        assert detail["status"] == "error"
        assert "--" not in detail["error"] and "error_web" not in detail
        assert "whoever runs the server can raise the limit" in detail["error"]
    finally:
        h.close()


def test_a_folder_is_exported_by_the_name_the_library_shows(host: EngineHost, owner: Api) -> None:
    """The first-use review's Share page: the folder name the Library lists was refused, and
    only an absolute path on the server worked (which nobody but the owner is shown)."""
    viewer = as_user(host, "Vi")
    [folder] = viewer.get("/api/photos").json()["folders"]
    assert not folder["folder"].startswith("/")
    r = viewer.post("/api/export", json={"folders": [folder["folder"]], "blur": "all"})
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        report = json.loads(z.read("report.json"))
    assert len(report["files"]) == folder["photos"] == 3
    r = viewer.post("/api/export", json={"folders": ["/etc"], "blur": "all"})
    assert r.status_code == 422 and "/etc: no indexed photo is there" in error_of(r)["message"]
