"""Videos through the CLI and the HTTP API, real models on a video made from photos of known
people: search by a reference photo finds the moment (path, start, end, best time, box)
beside photo matches; a person's page lists their moments; both typed in the schema."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from regard.engine import EngineConfig
from regard.interfaces.cli.main import app
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from tests.footage_maker import TWO_PEOPLE, photo_faces, write_video

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

PASSWORD = "correct horse battery staple"
OBAMA = "photos/face_recognition/identities/obama/obama.jpg"
OBAMA_AGAIN = "photos/face_recognition/identities/obama/obama2.jpg"


@pytest.fixture(scope="module")
def folder(shared_data, analyser, tmp_path_factory) -> tuple[Path, dict[str, tuple[float, float]]]:
    """A birthday video (Obama, then Kit Harington beside him) and a photo of Obama."""
    out = tmp_path_factory.mktemp("pictures")
    truth = write_video(
        out / "birthday.mp4", TWO_PEOPLE, photo_faces(shared_data, analyser), shared_data
    )
    shutil.copy(shared_data / OBAMA_AGAIN, out / "obama.jpg")
    visible = {person: (start, end) for _t, person, start, end in truth.visible(40.0, 1.0)}
    return out, visible


@pytest.fixture
def host(folder, tmp_path: Path) -> Iterator[EngineHost]:
    h = EngineHost(tmp_path / "lib", EngineConfig(workers=0))
    with h.use() as engine:
        engine.index([folder[0]])
    yield h
    h.close()


def signed_in(host: EngineHost) -> TestClient:
    client = TestClient(create_app(host), base_url="http://localhost")
    token = host.accounts.setup_token()
    r = client.post("/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf"]
    return client


def test_search_by_a_reference_photo_finds_the_moment(host, folder, shared_data) -> None:
    pictures, visible = folder
    client = signed_in(host)
    probe = (shared_data / OBAMA).read_bytes()
    r = client.post("/api/search/face", files={"photo": ("grandpa.jpg", probe)})
    assert r.status_code == 200, r.text
    result = r.json()
    # The photo of him, and his moment in the video, beside it.
    assert [m["name"] for m in result["matches"]] == ["obama.jpg"]
    assert result["videos"] == 1
    (moment,) = result["moments"]
    start, end = visible["obama"]
    assert moment["path"] == str(pictures / "birthday.mp4")
    assert moment["name"] == "birthday.mp4"
    assert moment["start"] == pytest.approx(start, abs=0.5)
    assert moment["end"] == pytest.approx(end, abs=0.5)
    assert moment["start"] <= moment["best_time"] <= moment["end"]
    assert len(moment["box"]) == 4 and moment["box"][2] >= 40
    assert (moment["width"], moment["height"]) == (640, 360)
    assert moment["duration"] == pytest.approx(8.0, abs=0.1)
    assert moment["score"] >= result["threshold"] and moment["person"]
    # The audit log counts the moment as a result.
    assert client.get("/api/audit").json()[-1]["result_count"] == 2

    # A person's page: their photo, and their moment in the video.
    page = client.get(f"/api/people/{moment['person']}").json()
    assert [p["path"] for p in page["photo_list"]] == [str(pictures / "obama.jpg")]
    (theirs,) = page["moment_list"]
    assert theirs["face_id"] == moment["face_id"] and theirs["face"] == f"F{moment['face_id']}"
    assert (theirs["start"], theirs["end"], theirs["box"]) == (
        moment["start"],
        moment["end"],
        moment["box"],
    )

    # Typed in the schema: the moments of a search and of a person.
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"start", "end", "best_time", "box", "path"} <= set(schemas["MomentMatch"]["properties"])
    assert "moment_list" in schemas["PersonPage"]["properties"]


def test_the_command_line_lists_moments_beside_photos(host, folder, shared_data) -> None:
    runner = CliRunner()
    lib = ["--library", str(host.library)]
    host.close()  # the command line opens the library itself
    probe = str(shared_data / OBAMA)
    shown = runner.invoke(app, [*lib, "search", "--face", probe])
    assert shown.exit_code == 0, shown.output
    assert "1 photos and 1 moment in videos with this face" in shown.output
    assert "birthday.mp4" in shown.output and "00:00:0" in shown.output
    searched = runner.invoke(app, [*lib, "search", "--face", probe, "--json"])
    assert searched.exit_code == 0, searched.output
    found = json.loads(searched.output)
    (moment,) = found["moments"]
    assert {"path", "start", "end", "best_time", "box"} <= set(moment)
    person = moment["person"]
    shown_page = runner.invoke(app, [*lib, "people", "show", person, "--json"])
    assert shown_page.exit_code == 0, shown_page.output
    page = json.loads(shown_page.output)
    assert [m["face_id"] for m in page["moment_list"]] == [moment["face_id"]]
    text = runner.invoke(app, [*lib, "people", "show", person]).output
    assert "Moments in videos" in text and "birthday.mp4" in text
