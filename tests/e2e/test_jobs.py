"""The job list is the library's, not the server's: an index run from the command line shows
in the web app with its progress, and its report once it ends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from regard.engine import Engine, EngineConfig
from regard.interfaces.cli.main import app as cli
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.jobs.ingest import FileDone, IndexEvent
from regard.testing import FakeModels, draw_faces

PASSWORD = "correct horse battery staple"
RED, BLUE = (200, 20, 20), (20, 20, 200)
JOB_KEYS = {
    "id",
    "kind",
    "state",
    "total",
    "done",
    "faces",
    "errors",
    "message",
    "started_at",
    "finished_at",
    "report",
}


def owner_client(host: EngineHost) -> TestClient:
    client = TestClient(create_app(host), base_url="http://localhost")
    r = client.post(
        "/api/setup",
        json={"token": host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return client


@pytest.fixture
def host(tmp_path: Path) -> Iterator[EngineHost]:
    h = EngineHost(tmp_path / "lib", EngineConfig(workers=0), models=FakeModels())
    yield h
    h.close()


def test_an_index_run_of_another_process_shows_in_the_servers_job_list(
    host: EngineHost, tmp_path: Path
) -> None:
    album = tmp_path / "album"
    for n, colour in enumerate((RED, BLUE, RED)):
        draw_faces(album / f"p{n}.png", [(10 + 30 * n, 10, 40, colour)])
    client = owner_client(host)
    seen: list[dict[str, Any]] = []

    def on_event(event: IndexEvent) -> None:
        if isinstance(event, FileDone) and not seen:
            r = client.get("/api/jobs")
            assert r.status_code == 200, r.text
            seen.extend(r.json())

    # What `regard index` does, in a process of its own: an engine of its own.
    with Engine(tmp_path / "lib", config=EngineConfig(workers=0), models=FakeModels()) as other:
        report = other.index([album], on_event=on_event)
    [during] = seen
    assert set(during) == JOB_KEYS
    assert (during["kind"], during["state"], during["total"]) == ("index", "running", 3)
    r = client.get("/api/jobs")
    [after] = r.json()
    assert after["id"] == during["id"]
    assert (after["state"], after["done"], after["faces"], after["errors"]) == ("done", 3, 3, 0)
    assert after["report"]["run_id"] == report.run_id
    assert after["report"]["roots"] == [str(album)]
    assert client.get(f"/api/jobs/{after['id']}").json() == after


@pytest.mark.slow
def test_regard_index_from_the_command_line_shows_in_the_web_app(
    tmp_path: Path, sample_dir: Path
) -> None:
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(sample_dir / "probe.jpg", album / "probe.jpg")
    lib = tmp_path / "lib"
    host = EngineHost(lib, EngineConfig(workers=0))
    try:
        client = owner_client(host)
        assert client.get("/api/jobs").json() == []
        result = CliRunner().invoke(
            cli, ["--library", str(lib), "index", str(album), "--json"], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        [job] = client.get("/api/jobs").json()
        assert (job["kind"], job["state"], job["total"], job["done"]) == ("index", "done", 1, 1)
        assert job["faces"] >= 1
        assert job["report"]["roots"] == [str(album)]
    finally:
        host.close()
