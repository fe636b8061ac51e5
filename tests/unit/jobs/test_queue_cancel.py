"""Cancelling jobs: a queued one at once, a running one at its next step; an ended one or an
index run cannot be; the state survives reopening the library (schema: 'cancelled')."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from regard.domain.jobs import (
    CANCELLED,
    INTERRUPTED_MESSAGE,
    INTERRUPTED_SHARE_MESSAGE,
    RUNNING,
)
from regard.engine import Engine, EngineConfig
from regard.errors import JobCancelledError, JobNotFoundError, JobStateError
from regard.testing import FakeModels, draw_faces


def engine(lib: Path) -> Engine:
    return Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels())


def test_a_queued_job_is_cancelled_at_once_and_stays_so(tmp_path: Path) -> None:
    draw_faces(tmp_path / "a.png", [(10, 10, 40, (200, 20, 20))])
    with engine(tmp_path / "lib") as e:
        job = e.shares.submit_anonymise(tmp_path / "a.png")
        cancelled = e.shares.cancel(job.id)
        assert cancelled.state == CANCELLED and cancelled.finished_at is not None
        assert "Cancelled by" in cancelled.message
        assert e.jobs.claim() is None  # nothing left to run
        with pytest.raises(JobStateError, match="has ended \\(cancelled\\)"):
            e.shares.cancel(job.id)
        with pytest.raises(JobStateError, match="it is cancelled"):
            e.shares.result(job.id)
        with pytest.raises(JobNotFoundError):
            e.shares.cancel("nope")
    with engine(tmp_path / "lib") as e:
        assert e.jobs.get(job.id).state == CANCELLED
    with sqlite3.connect(tmp_path / "lib" / "catalog.sqlite") as db:
        assert db.execute("SELECT state FROM jobs").fetchall() == [("cancelled",)]


def test_a_running_job_stops_at_its_next_step(tmp_path: Path) -> None:
    with engine(tmp_path / "lib") as e:
        job = e.jobs.submit("anonymise", {"source": "x", "actor": "me", "full_paths": True})
        claimed = e.jobs.claim()
        assert claimed is not None and claimed.state == RUNNING
        e.jobs.check(claimed)  # not asked to stop: goes on
        assert e.jobs.cancel(job.id, "me").message == "Cancelling, as me asked…"
        with pytest.raises(JobCancelledError):
            e.jobs.check(claimed)
        e.jobs.end(claimed, CANCELLED, message="Cancelled: nothing was kept.")
        assert e.jobs.get(job.id).state == CANCELLED


def test_indexing_is_not_cancelled(tmp_path: Path) -> None:
    with engine(tmp_path / "lib") as e:
        job = e.submit_index([tmp_path])
        with pytest.raises(JobStateError, match="Only anonymising and exports"):
            e.shares.cancel(job.id)
        running = e.jobs.claim()
        assert running is not None
        with pytest.raises(JobStateError, match="Indexing cannot be cancelled"):
            e.jobs.cancel(running.id, "me")


def test_a_share_job_left_running_by_a_dead_process_says_nothing_was_kept(tmp_path: Path) -> None:
    with engine(tmp_path / "lib") as e:
        e.jobs.submit("anonymise", {"source": "x", "actor": "me", "full_paths": True})
        e.submit_index([tmp_path])
        with e.lock, e.catalog.transaction():  # as a process killed mid-job leaves them
            e.catalog._db.execute("UPDATE jobs SET state = 'running'")
    with engine(tmp_path / "lib") as e:
        share, index = e.jobs.all()
    assert (share.state, index.state) == ("interrupted", "interrupted")
    assert share.message == INTERRUPTED_SHARE_MESSAGE
    assert index.message == INTERRUPTED_MESSAGE
