"""Recaps of real photos with real dates and GPS (../shared/data: one afternoon in Arezzo, and
camera photos spanning twenty years), through the command line and the HTTP API. The fake
models stand in for the face models: dates and places are what is tested here (faces and
consent: tests/unit/services/test_recaps.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regard.domain.recaps import Shot, dated, split_events
from regard.engine import Engine, EngineConfig
from regard.interfaces.cli.main import app
from regard.interfaces.http.host import EngineHost
from regard.testing import FakeModels
from tests.e2e.test_http_api import PASSWORD, Api, as_user, error_of

AREZZO = "EVENT-2008-10-22-1628"
#: Indexing 48 full-size photos (decoding them) takes a while on a busy machine.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def library(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("recaps") / "lib"
    with Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels()) as e:
        e.index([shared_data / "exif/jpg/gps", shared_data / "camera"])
    return lib


def regard(lib: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["--library", str(lib), *args], catch_exceptions=False)
    return r.exit_code, r.stdout


def test_one_afternoon_in_one_town_is_one_event_named_after_it(library: Path) -> None:
    code, out = regard(library, "recaps", "--kind", "events", "--json")
    assert code == 0, out
    [r] = json.loads(out)["recaps"]
    assert r["id"] == AREZZO and r["kind"] == "event"
    assert (r["start"], r["end"], r["place"]) == ("2008-10-22", "2008-10-22", "Arezzo, Italy")
    assert r["title"] == "22 October 2008 in Arezzo" and r["total"] == 9
    names = [Path(p["path"]).name for p in r["photos"]]
    assert len(names) == len(set(names)) and set(names) <= {
        p.name for p in Path(r["photos"][0]["path"]).parent.iterdir()
    }
    assert all(
        p["media"] == "photo" and p["taken_at"].startswith("2008-10-22") for p in r["photos"]
    )
    # The text form says the same.
    code, text = regard(library, "recaps", "--kind", "all")
    assert code == 0 and "22 October 2008 in Arezzo" in text and AREZZO in text
    assert "Arezzo, Italy" in text


def test_event_boundaries_in_photos_spanning_twenty_years(library: Path) -> None:
    with Engine(library, config=EngineConfig(workers=0), models=FakeModels()) as e:
        rows = e.catalog.recaps.photo_rows()
    shots = [
        Shot(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows if r[2] and "camera" in r[1]
    ]
    events = split_events(dated(shots))
    by_day = {(e.start.date(), len(e.shots)) for e in events}
    # Two photos five minutes apart one evening are one event; one morning and one evening
    # (seven hours apart) are two; no event spans two days.
    assert (date(2003, 1, 9), 2) in by_day
    assert sum(1 for e in events if e.start.date() == date(2002, 11, 23)) == 2
    assert all(e.start.date() == e.end.date() for e in events)
    # And none of them is a recap: a photo here and there is no event.
    _, out = regard(library, "recaps", "--kind", "events", "--json")
    assert [r["id"] for r in json.loads(out)["recaps"]] == [AREZZO]


def test_an_empty_kind_says_what_there_is_instead(library: Path) -> None:
    """Most days have nothing "for today": the library's other recaps are not "none"."""
    code, out = regard(library, "recaps", "--kind", "together")
    _, every = regard(library, "recaps", "--kind", "all", "--json")
    n = len(json.loads(every)["recaps"])
    assert code == 0 and n >= 1
    assert " ".join(out.split()) == (
        f"None of kind 'together'. {n} recap{'s' if n > 1 else ''} in all: "
        "`regard recaps --kind all` lists them."
    )


def test_on_this_day_from_the_camera_photos(library: Path) -> None:
    with Engine(library, config=EngineConfig(workers=0), models=FakeModels()) as e:
        [r] = e.recaps.listing("on-this-day", today=date(2026, 1, 9)).recaps
        assert r.id == "DAY-01-09" and r.title == "On this day: 2002, 2003"
        assert r.total == 3 and r.place is None  # no GPS in these
        assert e.recaps.listing("on-this-day", today=date(2026, 1, 10)).recaps == []


def test_hiding_a_recap_from_the_command_line(library: Path) -> None:
    code, out = regard(library, "recaps", "hide", AREZZO.lower())
    assert (code, out.strip()) == (0, f"{AREZZO} is hidden.")
    code, out = regard(library, "recaps", "--kind", "events")
    assert code == 0 and "22 October 2008" not in out
    assert " ".join(out.split()).endswith("1 hidden recap is left out (--hidden shows them).")
    code, out = regard(library, "recaps", "unhide", AREZZO)
    assert (code, out.strip()) == (0, f"{AREZZO} is shown.")
    code, out = regard(library, "recaps", "hide", "TRIP-1990-01-01", "--json")
    assert code == 1 and json.loads(out)["error"]["type"] == "RecapNotFoundError"
    code, out = regard(library, "recaps", "--kind", "holidays")
    assert code == 1
    code, out = regard(library, "people", "hide-from-recaps", "Nobody")
    assert code == 1


@pytest.fixture
def owner(library: Path) -> Iterator[Api]:
    host = EngineHost(library, EngineConfig(workers=0), models=FakeModels())
    api = Api(host)
    token = host.accounts.setup_token()
    if token:
        r = api.client.post(
            "/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        api.csrf = r.json()["csrf"]
        r = api.post("/api/users", json={"name": "Vi", "password": PASSWORD, "role": "viewer"})
        assert r.status_code == 201, r.text
    else:
        assert api.login("Ann").status_code == 200
    yield api
    host.close()


def test_the_api_lists_hides_and_shows_recaps(owner: Api) -> None:
    r = owner.get("/api/recaps", params={"kind": "all"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["id"] for x in body["recaps"] if x["kind"] == "event"] == [AREZZO]
    assert body["recaps"][0]["photos"][0]["faces"] is not None
    one = owner.get(f"/api/recaps/{AREZZO}")
    assert one.status_code == 200 and one.json()["place"] == "Arezzo, Italy"
    viewer = as_user(owner.host, "Vi")
    assert viewer.get("/api/recaps").status_code == 200
    assert viewer.post(f"/api/recaps/{AREZZO}/hide").status_code == 403
    r = owner.post(f"/api/recaps/{AREZZO}/hide")
    assert r.json() == {"id": AREZZO, "hidden": True, "changed": True}
    listed = owner.get("/api/recaps", params={"kind": "events"}).json()
    assert listed["recaps"] == [] and listed["hidden"] == 1
    assert owner.post(f"/api/recaps/{AREZZO}/unhide").json()["changed"]
    missing = owner.get("/api/recaps/TRIP-1990-01-01")
    assert missing.status_code == 404
    assert "Reload the page" in error_of(missing)["message"]
    bad = owner.get("/api/recaps", params={"kind": "holidays"})
    assert bad.status_code == 422 and "Unknown kind of recap" in error_of(bad)["message"]
    nobody = owner.post("/api/people/Nobody/hide-from-recaps", json={"hidden": True})
    assert nobody.status_code == 404
    audit = [e["action"] for e in owner.host.engine.privacy.audit_entries()]
    assert "recaps" in audit
