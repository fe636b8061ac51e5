"""Who is acting, per request: the audit log names the signed-in user who did each thing, and
one request's user never signs another's entries (the server's one engine serves them all)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.pipeline.cluster import GroupingParams
from regard.privacy.acting import Acting, Actor
from regard.testing import FakeModels, draw_faces

PASSWORD = "correct horse battery staple"
RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[EngineHost]:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(album / "b.png", [(30, 30, 40, RED)])
    draw_faces(album / "c.png", [(50, 50, 40, BLUE)])
    config = EngineConfig(workers=0, grouping=PARAMS, actor="the-server")
    h = EngineHost(tmp_path / "lib", config, models=FakeModels())
    with h.use() as engine:
        engine.index([album])
    yield h
    h.close()


def signed_in(host: EngineHost, name: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(create_app(host), base_url="http://localhost")
    r = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, {"X-CSRF-Token": r.json()["csrf"]}


def test_two_users_record_their_own_names_in_the_audit_log(
    host: EngineHost, tmp_path: Path
) -> None:
    ann = TestClient(create_app(host), base_url="http://localhost")
    r = ann.post(
        "/api/setup",
        json={"token": host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    ann_csrf = {"X-CSRF-Token": r.json()["csrf"]}
    r = ann.post(
        "/api/users", json={"name": "Mo", "password": PASSWORD, "role": "member"}, headers=ann_csrf
    )
    assert r.status_code == 201, r.text
    mo, mo_csrf = signed_in(host, "Mo")
    people = ann.get("/api/people").json()
    assert len(people) == 2 and all(p["faces"] == 2 for p in people), people
    red, blue = (p["person"] for p in people)
    probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, RED)]).read_bytes()

    # Turn about: Ann, Mo, Ann, Mo, each request on the one engine the server shares.
    r = ann.post(f"/api/people/{red}/name", json={"name": "Grandma"}, headers=ann_csrf)
    assert r.status_code == 200, r.text
    r = mo.post(f"/api/people/{blue}/name", json={"name": "Grandpa"}, headers=mo_csrf)
    assert r.status_code == 200, r.text
    r = ann.post("/api/search/face", files={"photo": ("p.png", probe)}, headers=ann_csrf)
    assert r.status_code == 200, r.text
    assert mo.get("/api/search/person/Grandma").status_code == 200

    entries = ann.get("/api/audit").json()
    done = [
        (e["actor"], e["action"])
        for e in entries
        if e["action"] in ("name", "search-face", "search-person")
    ]
    assert done == [
        ("Ann", "name"),
        ("Mo", "name"),
        ("Ann", "search-face"),
        ("Mo", "search-person"),
    ]
    # After the requests, the engine acts as itself again.
    assert host.engine.context.acting.name == "the-server"


def test_who_is_acting_holds_for_one_thread_only() -> None:
    """Two blocks open at once on two threads each see their own actor, and the default is
    back after each."""
    acting = Acting(Actor("owner"))
    both_in = threading.Barrier(2)
    seen: dict[str, list[str]] = {}

    def act(name: str) -> None:
        with acting.as_(Actor(name, full_paths=False)):
            both_in.wait(timeout=5)
            seen[name] = [acting.name]
            both_in.wait(timeout=5)
            seen[name].append(acting.name)
        seen[name].append(acting.name)

    threads = [threading.Thread(target=act, args=(n,)) for n in ("Ann", "Mo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert seen == {"Ann": ["Ann", "Ann", "owner"], "Mo": ["Mo", "Mo", "owner"]}
    assert acting.actor == Actor("owner", full_paths=True)
