"""Naming faces over HTTP (in process): any face given to a person or a new name, "not a
person", "someone else", the Who-is-this queue, hiding and covers; their answers as the
OpenAPI schema documents them, the roles that may, and errors in the web's words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.testing import FakeModels, draw_faces
from tests.e2e.test_http_api import PARAMS, Api, as_user, error_of
from tests.e2e.test_http_api import owner as owner  # the fixture

RED, BLUE, YELLOW = (200, 20, 20), (20, 20, 200), (200, 200, 20)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[EngineHost]:
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    draw_faces(folder / "d.png", [(40, 40, 40, YELLOW)])
    h = EngineHost(tmp_path / "lib", EngineConfig(workers=0, grouping=PARAMS), models=FakeModels())
    with h.use() as engine:
        engine.index([folder])
    yield h
    h.close()


def schema_fields(api: Api, name: str) -> set[str]:
    schema = create_app(api.host).openapi()["components"]["schemas"]
    return set(schema[name]["properties"])


def loose_face(api: Api) -> str:
    queue = api.get("/api/faces/unnamed").json()
    return next(g["face"] for g in queue["groups"] if g["person"] is None)


def test_a_loose_face_is_named_and_undone(owner: Api) -> None:
    face = loose_face(owner)
    r = owner.post("/api/faces/name", json={"faces": face, "name": "Great Aunt"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert set(done) == schema_fields(owner, "FacesNamed")
    assert done["name"] == "Great Aunt" and done["faces"] == [face]
    history = owner.get("/api/people/history").json()
    assert history[0]["can_undo"] and history[0]["action"] == "assign"
    assert owner.post("/api/people/undo", json={"entry": done["undo"]}).status_code == 200
    assert owner.get("/api/people/Great Aunt").status_code == 404


def test_a_taken_name_answers_with_its_person(owner: Api) -> None:
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"})
    r = owner.post("/api/faces/name", json={"faces": loose_face(owner), "name": "grandma"})
    assert r.status_code == 409
    err = error_of(r)
    assert err["person"] == red
    assert "`" not in err["message"] and "Merge with Grandma" in err["message"]
    r = owner.post("/api/faces/name", json={"faces": loose_face(owner), "person": red})
    assert r.status_code == 200 and r.json()["person"] == red


def test_bad_requests_are_refused_in_words(owner: Api) -> None:
    r = owner.post("/api/faces/name", json={"faces": "F1", "name": "A", "person": "P1"})
    assert r.status_code == 422
    r = owner.post("/api/faces/name", json={"faces": "F999999", "name": "Nobody"})
    assert r.status_code == 404 and "Reload the page" in error_of(r)["message"]
    r = owner.post(f"/api/faces/{loose_face(owner)}/someone-else")
    assert r.status_code == 409 and "in no person" in error_of(r)["message"]


def test_not_a_person_and_the_queue(owner: Api) -> None:
    queue = owner.get("/api/faces/unnamed").json()
    assert set(queue) == schema_fields(owner, "WhoIsThis")
    face = loose_face(owner)
    r = owner.post(f"/api/faces/{face}/not-a-person")
    assert r.status_code == 200 and r.json()["action"] == "not_a_person"
    after = owner.get("/api/faces/unnamed").json()
    assert face not in {g["face"] for g in after["groups"]}
    assert after["total"] == queue["total"] - 1


def test_hide_and_cover(owner: Api) -> None:
    people: list[dict[str, Any]] = owner.get("/api/people").json()
    p = people[0]
    r = owner.post(f"/api/people/{p['person']}/hide", json={"hidden": True})
    assert r.status_code == 200
    assert next(x for x in owner.get("/api/people").json() if x["person"] == p["person"])["hidden"]
    page = owner.get(f"/api/people/{p['person']}").json()
    faces = [f["face"] for ph in page["photo_list"] for f in ph["faces"]]
    r = owner.post(f"/api/people/{p['person']}/cover", json={"face": faces[-1]})
    assert r.status_code == 200 and r.json()["cover_face"] == faces[-1]


def test_viewers_may_not_name_faces(owner: Api) -> None:
    viewer = as_user(owner.host, "Vi")
    face = loose_face(owner)
    r = viewer.post("/api/faces/name", json={"faces": face, "name": "X"})
    assert r.status_code == 403
    assert viewer.get("/api/faces/unnamed").status_code == 403
    member = as_user(owner.host, "Mo")
    assert member.post("/api/faces/name", json={"faces": face, "name": "X"}).status_code == 200
