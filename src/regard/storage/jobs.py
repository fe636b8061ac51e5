"""The job queue's rows: what each job is, how far it got, and its report."""

from __future__ import annotations

import json
import sqlite3

from regard.domain.jobs import INTERRUPTED, QUEUED, RUNNING, Job
from regard.storage.sql import Connection

_COLUMNS = (
    "id, kind, state, args, total, done, faces, errors, message, started_at, finished_at, report"
)


class SqliteJobs:
    """`JobRepository` over the catalog's connection. Writes go inside `Catalog.transaction()`."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    def add(self, job: Job) -> None:
        """At the end of the queue."""
        self._db.execute(
            f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job.id, *self._values(job)[1:]),
        )

    def save(self, job: Job) -> None:
        """Its state, progress and report as they are now."""
        self._db.execute(
            "UPDATE jobs SET kind = ?, state = ?, args = ?, total = ?, done = ?, faces = ?,"
            " errors = ?, message = ?, started_at = ?, finished_at = ?, report = ? WHERE id = ?",
            (*self._values(job)[1:], job.id),
        )

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def all(self) -> list[Job]:
        """Every job, in the order they were submitted."""
        return [_job(r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY seq")]

    def next_queued(self) -> Job | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state = ? ORDER BY seq LIMIT 1", (QUEUED,)
        ).fetchone()
        return _job(row) if row else None

    def running(self) -> list[str]:
        return [
            str(r[0]) for r in self._db.execute("SELECT id FROM jobs WHERE state = ?", (RUNNING,))
        ]

    def interrupt(self, job_ids: list[str], message: str, at: float) -> None:
        """These jobs' process died before they finished."""
        for job_id in job_ids:
            self._db.execute(
                "UPDATE jobs SET state = ?, message = ?, finished_at = ?"
                " WHERE id = ? AND state = ?",
                (INTERRUPTED, message, at, job_id, RUNNING),
            )

    @staticmethod
    def _values(job: Job) -> tuple[object, ...]:
        return (
            job.id,
            job.kind,
            job.state,
            json.dumps(job.args),
            job.total,
            job.done,
            job.faces,
            job.errors,
            job.message,
            job.started_at,
            job.finished_at,
            None if job.report is None else json.dumps(job.report),
        )


def _job(r: sqlite3.Row) -> Job:
    return Job(
        id=r["id"],
        kind=r["kind"],
        state=r["state"],
        total=r["total"],
        done=r["done"],
        faces=r["faces"],
        errors=r["errors"],
        message=r["message"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        report=None if r["report"] is None else json.loads(r["report"]),
        args=json.loads(r["args"]),
    )
