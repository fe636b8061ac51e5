"""A recap's collage and video made as background jobs through the HTTP API (fake models, a
dated afternoon of drawn photos): the job is on the job list with its progress, its result
downloads as a JPEG, a faces' count says how many were blurred, a video job shows its frames
and can be cancelled (nothing kept), and an unknown recap or kind is refused plainly."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.testing import FakeModels
from tests.unit.services.test_recaps import PARAMS, album, date_photos, person_of  # noqa: F401

PASSWORD = "correct horse battery staple"
EVENT = "EVENT-2025-06-14-1400"


@pytest.fixture
def client(tmp_path: Path, album: Path) -> Iterator[TestClient]:  # noqa: F811
    host = EngineHost(
        tmp_path / "lib", EngineConfig(workers=0, grouping=PARAMS), models=FakeModels()
    )
    try:
        with host.use() as engine:
            engine.index([album])
            date_photos(engine, album)
            engine.people.name(person_of(engine, 6), "Ben")
            engine.privacy.grant("Ben", "grouping,search")
            engine.privacy.withdraw("Ben", "recaps")
        c = TestClient(create_app(host), base_url="http://localhost")
        r = c.post(
            "/api/setup",
            json={"token": host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
        yield c
    finally:
        host.close()


def wait(client: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def test_collage_and_video_jobs_download_their_files(client: TestClient) -> None:
    r = client.post(f"/api/recaps/{EVENT}/collage")
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"])
    assert job["state"] == "done", job
    assert job["kind"] == "recap"
    assert job["report"]["faces_blurred"] == 6  # Ben withdrew recaps: his six faces
    got = client.get(f"/api/jobs/{job['id']}/result")
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert f"recap-{EVENT.lower()}.jpg" in got.headers["content-disposition"]
    with Image.open(io.BytesIO(got.content)) as im:
        assert im.size == (2048, 1536)

    # The video: followed frame by frame, then cancelled (a 30-s 1080p render is minutes on a
    # busy test machine): nothing is kept.
    r = client.post(f"/api/recaps/{EVENT.lower()}/video")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        # Past the anonymising stage (Ben's photos first), counting the video's frames.
        if job["state"] == "running" and job["message"] == "video" and job["done"] > 0:
            break
        time.sleep(0.1)
    assert job["total"] == 10 * 3 * 30  # frames: 10 photos at 3 s, 30 frames a second
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    job = wait(client, job_id)
    assert job["state"] == "cancelled", job
    assert client.get(f"/api/jobs/{job_id}/result").status_code == 409


def test_unknown_recaps_and_kinds_are_refused(client: TestClient) -> None:
    r = client.post("/api/recaps/EVENT-1999-01-01-0000/collage")
    assert r.status_code == 404
    assert "No recap 'EVENT-1999-01-01-0000'" in r.json()["error"]["message"]
    assert "regard" not in r.json()["error"]["message"]  # no command for a web user
    r = client.post(f"/api/recaps/{EVENT}/gif")
    assert r.status_code in (404, 405)
    assert not [j for j in client.get("/api/jobs").json() if j["kind"] == "recap"]
