"""The job queue, kept in the catalog: order, reports kept, and jobs whose process died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from regard.domain.jobs import INTERRUPTED_MESSAGE, Job
from regard.engine import Engine, EngineConfig
from regard.testing import FakeModels, draw_faces

RED, BLUE = (200, 20, 20), (20, 20, 200)


def engine(lib: Path) -> Engine:
    return Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels())


def test_jobs_run_in_the_order_they_were_submitted(tmp_path: Path) -> None:
    albums = []
    for n in range(3):
        album = tmp_path / f"album{n}"
        draw_faces(album / f"p{n}.png", [(10 + 20 * n, 10, 40, RED)])
        albums.append(album)
    with engine(tmp_path / "lib") as e:
        jobs = [e.submit_index([a]) for a in albums]
        assert [j.state for j in e.jobs.all()] == ["queued"] * 3
        ran: list[str] = []
        while (job := e.jobs.claim()) is not None:
            ran.append(job.id)
            e.run_job(job)
        assert ran == [j.id for j in jobs]
        listed = e.jobs.all()
    assert [j.id for j in listed] == ran
    assert [j.state for j in listed] == ["done"] * 3
    assert [j.report["roots"] for j in listed if j.report] == [[str(a)] for a in albums]


def test_a_finished_job_keeps_its_report_after_the_library_is_reopened(tmp_path: Path) -> None:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    (album / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    with engine(tmp_path / "lib") as e:
        report = e.index([album])
    with engine(tmp_path / "lib") as e:
        [job] = e.jobs.all()
    assert (job.kind, job.state, job.total, job.done, job.faces, job.errors) == (
        "index",
        "done",
        2,
        2,
        2,
        1,
    )
    assert job.report is not None
    assert job.report["run_id"] == report.run_id
    assert job.report["counts"] == report.as_dict()["counts"]
    [failure] = job.report["failures"]
    assert failure["name"] == "broken.jpg" and failure["path"] == str(album / "broken.jpg")


def test_a_job_whose_process_was_killed_shows_as_interrupted_after_a_restart(
    tmp_path: Path,
) -> None:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED)])
    draw_faces(album / "hang.png", [(10, 10, 40, BLUE)])  # the fakes never finish this one
    lib = tmp_path / "lib"
    engine(lib).close()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from regard.engine import Engine, EngineConfig
        from regard.testing import FakeModels
        config = EngineConfig(workers=0)
        with Engine(Path({str(lib)!r}), config=config, models=FakeModels(misbehave=True)) as e:
            e.index([Path({str(album)!r})])
        """
    )
    indexer = subprocess.Popen([sys.executable, "-c", script])
    try:
        running = _wait_for_running(lib)
        # While its process lives, opening the library leaves the job running.
        with engine(lib) as e:
            job = e.jobs.get(running.id)
            assert job is not None and job.state == "running"
    finally:
        os.kill(indexer.pid, signal.SIGKILL)
        indexer.wait()
    with engine(lib) as e:
        job = e.jobs.get(running.id)
    assert job is not None
    assert (job.state, job.message, job.total) == ("interrupted", INTERRUPTED_MESSAGE, 2)
    assert job.finished_at is not None


def test_uploads_whose_indexing_was_cut_short_are_indexed_when_the_server_starts(
    tmp_path: Path,
) -> None:
    lib = tmp_path / "lib"
    with engine(lib) as e:
        uploads = e.uploads.folder
        draw_faces(uploads / "2026" / "a.png", [(10, 10, 40, RED)])
        cut_short = e.jobs.begin("index", {"folders": [str(uploads)]})  # never ended: a crash
    # Shared across threads, as the web server's engine is (its jobs run in a thread).
    config = EngineConfig(workers=0)
    with Engine(lib, config=config, models=FakeModels(), shared=True) as e:
        assert e.jobs.get(cut_short.id).state == "interrupted"  # type: ignore[union-attr]
        e.run_jobs()  # as the web server does when it starts
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = e.jobs.all()
            if len(jobs) == 2 and jobs[1].state == "done":
                break
            time.sleep(0.1)
        assert [(j.state, j.args["folders"]) for j in jobs] == [
            ("interrupted", [str(uploads)]),
            ("done", [str(uploads)]),
        ]
        assert e.status().photos == 1
    # Once done, a restart starts nothing more.
    with Engine(lib, config=config, models=FakeModels(), shared=True) as e:
        e.run_jobs()
        assert len(e.jobs.all()) == 2


def test_an_index_run_interrupted_from_the_command_line_is_not_run_again_by_itself(
    tmp_path: Path,
) -> None:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED)])
    lib = tmp_path / "lib"
    with engine(lib) as e:
        e.jobs.begin("index", {"folders": [str(album)]})
    with Engine(lib, config=EngineConfig(workers=0), models=FakeModels(), shared=True) as e:
        e.run_jobs()
        assert [j.state for j in e.jobs.all()] == ["interrupted"]


def _wait_for_running(lib: Path) -> Job:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine(lib) as e:
            running = [j for j in e.jobs.all() if j.state == "running" and j.total]
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("the indexer never started its job")
