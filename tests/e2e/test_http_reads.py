"""Looking changes nothing: every GET route, called on a populated library, leaves the
catalog as it was. The work a read used to do (grouping pending faces, giving people whose
cover face went a new one) is done where the data changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

PASSWORD = "correct horse battery staple"
RED, BLUE, GREEN, YELLOW = (200, 20, 20), (20, 20, 200), (20, 200, 20), (220, 220, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
#: What a read may change: the audit log, and its chain's head, since what was looked at by
#: whom is logged (a search for a person is an identification, recorded in the audit log
#: whether or not it finds anything).
AUDITED = {"audit", "settings"}
AUDIT_SETTINGS = {"audit.head"}


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[EngineHost, TestClient]]:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(album / "b.png", [(30, 30, 40, RED)])
    draw_faces(album / "c.png", [(50, 50, 40, BLUE), (150, 50, 40, GREEN)])
    draw_faces(album / "e.png", [(80, 80, 40, YELLOW)])  # nobody else: in no person
    host = EngineHost(
        tmp_path / "lib", EngineConfig(workers=0, grouping=PARAMS), models=FakeModels()
    )
    client = TestClient(create_app(host), base_url="http://localhost")
    r = client.post(
        "/api/setup",
        json={"token": host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    csrf = {"X-CSRF-Token": r.json()["csrf"]}
    with host.use() as engine:
        engine.index([album])
        red = engine.catalog.people.face_person(1)
        engine.people.name(f"P{red}", "Ann")
    r = client.post("/api/uploads", files={"files": ("d.png", _png(tmp_path))}, headers=csrf)
    assert r.status_code == 200, r.text
    _wait(client, r.json()["job"]["id"])
    # What a crash between two commits leaves: a face not grouped yet, and a person whose
    # cover is not chosen yet. Reads used to put both right (writing); they are left for
    # the next change now.
    db = sqlite3.connect(host.engine.paths.catalog)
    with db:
        pending = db.execute("UPDATE faces SET grouped = 0 WHERE person_id IS NULL").rowcount
        db.execute("UPDATE people SET cover_face_id = NULL WHERE id = ?", (red,))
    db.close()
    assert pending
    yield host, client
    host.close()


#: What a GET route needs in its query to answer at all.
NEEDED_QUERY = {"/api/originals.zip": "?ids={photo_id}"}
#: What a GET route answers here when it is not 200: the library's only job indexed, and an
#: index job has no result to download (tests/e2e/test_http_share_jobs.py downloads results).
#: No camera saw anything in this library: an event's snapshot and clip are not found (404).
EXPECTED_STATUS = {
    "/api/jobs/{job_id}/result": 409,
    "/api/events/{event_id}/snapshot": 404,
    "/api/events/{event_id}/clip": 404,
    "/api/recaps/{recap_id}": 404,  # no photo of 1900 here
}
#: A stream never ends: tests/e2e/test_http_events.py reads the events' stream.
STREAMS = {"/api/events/stream"}


def test_no_get_route_changes_the_catalog(
    library: tuple[EngineHost, TestClient], tmp_path: Path
) -> None:
    host, client = library
    catalog = host.engine.paths.catalog
    before = _dump(catalog)
    # Ids read from the catalog itself: no route is called before the first dump.
    face, photo, person = _one(catalog, "SELECT id, photo_id, person_id FROM faces WHERE id = 1")
    (job,) = _one(catalog, "SELECT id FROM jobs ORDER BY seq LIMIT 1")
    values = {
        "photo_id": photo,
        "face_id": face,
        "ref": f"P{person}",
        "job_id": job,
        "event_id": "door-1",
        "recap_id": "YEAR-1900",
    }
    called = []
    for path in [p for p in _get_routes(client) if p not in STREAMS]:
        url = path.format(**{k: values[k] for k in _params(path)})
        url += NEEDED_QUERY.get(path, "").format(**values)
        r = client.get(url)
        assert r.status_code == EXPECTED_STATUS.get(path, 200), (url, r.status_code, r.text)
        called.append(path)
        after = _dump(catalog)
        changed = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
        assert changed <= AUDITED, (url, changed)
        assert after["audit"][: len(before["audit"])] == before["audit"], url  # appended only
        settings = set(after["settings"]) ^ set(before["settings"])
        assert {row[0] for row in settings} <= AUDIT_SETTINGS, (url, settings)
        before = after
    assert "/api/people" in called and "/api/photos/{photo_id}" in called and len(called) > 20


def _get_routes(client: TestClient) -> list[str]:
    app: Any = client.app
    api = [p for p, ops in app.openapi()["paths"].items() if "get" in ops]
    pages = [
        r.path
        for r in app.routes
        if isinstance(r, APIRoute) and "GET" in r.methods and r.path not in api
    ]
    return sorted(api) + sorted(pages)


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _one(catalog: Path, sql: str) -> tuple[Any, ...]:
    db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        row: tuple[Any, ...] = db.execute(sql).fetchone()
        return row
    finally:
        db.close()


def _dump(catalog: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        db.close()


def _png(tmp_path: Path) -> bytes:
    return draw_faces(tmp_path / "d.png", [(60, 60, 40, GREEN)]).read_bytes()


def _wait(client: TestClient, job: str) -> None:
    import time

    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job}").json()["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
