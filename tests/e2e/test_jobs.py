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
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

PASSWORD = "correct horse battery staple"
RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
JOB_KEYS = {
    "id",
    "kind",
    "unit",  # files (indexing) or frames (anonymising a video)
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


def test_people_read_while_a_job_indexes_come_out_as_if_nobody_looked(tmp_path: Path) -> None:
    album = tmp_path / "album"
    colours = [RED, BLUE, (20, 200, 20), (220, 220, 20)]
    for n in range(12):
        draw_faces(album / f"p{n:02}.png", [(10 + 15 * (n % 5), 10, 40, colours[n % 4])])
    config = EngineConfig(workers=0, grouping=PARAMS)
    host = EngineHost(tmp_path / "lib", config, models=FakeModels())
    try:
        client = owner_client(host)
        job = host.start_index([album])
        answers = []
        while (state := client.get(f"/api/jobs/{job.id}").json()["state"]) in (
            "queued",
            "running",
        ):
            answers.append(client.get("/api/people").status_code)
        assert state == "done" and answers and set(answers) == {200}
        with host.use() as engine:
            together = _partition(engine)
    finally:
        host.close()
    with Engine(tmp_path / "alone", create=True, config=config, models=FakeModels()) as alone:
        alone.index([album])
        assert _partition(alone) == together and len(together) >= 3


def _partition(engine: Engine) -> set[frozenset[tuple[str, int]]]:
    """Who is with whom: each person as the set of its faces (photo name, place)."""
    people: dict[int, set[tuple[str, int]]] = {}
    for face in engine.catalog.faces.rows():
        assert face["grouped"] == 1
        if face["person_id"] is not None:
            people.setdefault(face["person_id"], set()).add(
                (Path(face["path"]).name, int(face["x"]))
            )
    return {frozenset(p) for p in people.values()}


def test_the_job_list_gives_the_latest_jobs_not_every_job_ever(
    host: EngineHost, tmp_path: Path
) -> None:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED)])
    ran = [host.engine.index([album]).run_id for _ in range(25)]
    client = owner_client(host)
    listed = client.get("/api/jobs").json()
    assert len(listed) == 20
    assert [j["report"]["run_id"] for j in listed] == ran[-20:]  # oldest first
    assert len(client.get("/api/jobs", params={"limit": 500}).json()) == 25
    assert client.get("/api/jobs", params={"limit": 0}).status_code == 422
