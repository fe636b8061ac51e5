"""The library's job queue, kept in the catalog, so every process that opens the library sees
the same jobs: an index run started from the command line shows in the web app with its
progress, and a job whose process died shows as interrupted, not as running forever.

Jobs run one at a time per library (the writer lock). The server's `JobRunner` takes queued
jobs in the order they were submitted; the command line runs its own at once (`begin`).
A queued job is cancelled at once; a running one stops at its next step (`check`), which
raises `JobCancelledError` in it, and is marked cancelled.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from regard.domain.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    INTERRUPTED_MESSAGE,
    INTERRUPTED_SHARE_MESSAGE,
    QUEUED,
    RUNNING,
    Job,
)
from regard.errors import JobCancelledError, JobNotFoundError, JobStateError
from regard.jobs.ingest import EventSink, FileDone, IndexEvent, Outcome, ScanDone
from regard.storage.repositories import Store

log = logging.getLogger(__name__)

#: Holds the library for a moment: the engine's lock, which every user of the catalog takes.
Hold = Callable[[], AbstractContextManager[Any]]


class JobQueue:
    """Submit, claim, follow and finish jobs. Every method takes `hold` itself; call them
    outside a transaction."""

    def __init__(self, store: Store, hold: Hold) -> None:
        self._store = store
        self._hold = hold
        #: Jobs this process runs: their counters move on every file, their rows at each commit.
        self._live: dict[str, Job] = {}
        #: Jobs of this process a user asked to stop.
        self._stopping: set[str] = set()
        self._submitted = threading.Condition()

    def hold(self) -> AbstractContextManager[Any]:
        """The library's lock, as every user of the catalog takes it."""
        return self._hold()

    # --- submitting and running --------------------------------------------------------------

    def submit(self, kind: str, args: dict[str, Any]) -> Job:
        """A job at the end of the queue, for a runner to take."""
        job = Job(uuid.uuid4().hex[:12], kind, args=args)
        with self._hold(), self._store.transaction():
            self._store.jobs.add(job)
        with self._submitted:
            self._submitted.notify_all()
        return job

    def begin(self, kind: str, args: dict[str, Any]) -> Job:
        """A job the caller runs now (the command line's index run), on the list as running."""
        job = Job(uuid.uuid4().hex[:12], kind, state=RUNNING, args=args)
        with self._hold(), self._store.transaction():
            self._store.jobs.add(job)
        self._live[job.id] = job
        return job

    def claim(self) -> Job | None:
        """The oldest queued job, now running here; None if none waits."""
        with self._hold():
            if self._store.jobs.next_queued() is None:
                return None  # a read only: an idle runner writes nothing
            with self._store.transaction():
                job = self._store.jobs.next_queued()
                if job is None:
                    return None
                job.state = RUNNING
                self._store.jobs.save(job)
            self._live[job.id] = job
        return job

    def track(self, job: Job) -> EventSink:
        """The events of an index run, counted in `job` (saved by `save`)."""

        def on_event(event: IndexEvent) -> None:
            if isinstance(event, ScanDone):
                job.total = event.to_process
            elif isinstance(event, FileDone):
                job.done += 1
                job.faces += event.faces
                job.errors += event.outcome == Outcome.FAILED

        return on_event

    def save(self, job: Job) -> None:
        """The job's progress, for other processes to see."""
        with self._hold(), self._store.transaction():
            self._store.jobs.save(job)

    def end(
        self,
        job: Job,
        state: str,
        *,
        report: dict[str, Any] | None = None,
        message: str = "",
    ) -> None:
        job.state = state
        job.message = message
        job.finished_at = time.time()
        if report is not None:
            job.report = report
        try:
            self.save(job)
        finally:
            self._live.pop(job.id, None)
            self._stopping.discard(job.id)

    def cancel(self, job_id: str, by: str) -> Job:
        """Stop a job: a queued one now; a running one (of this process) at its next step.
        Raises `JobStateError` for a job that has ended."""
        with self._hold():
            live = self._live.get(job_id)
            if live is not None:
                if live.kind == "index":
                    raise JobStateError(
                        "Indexing cannot be cancelled: what it does is kept file by file, so "
                        "let it finish (stopping the server stops it too)."
                    )
                self._stopping.add(job_id)
                live.message = f"Cancelling, as {by} asked…"
                return live
            job = self._store.jobs.get(job_id)
            if job is None:
                raise JobNotFoundError(job_id)
            if job.state == RUNNING:
                raise JobStateError(
                    f"Job {job_id} is run by another Regard process: stop it there."
                )
            if job.state != QUEUED:
                raise JobStateError(f"Job {job_id} has ended ({job.state}): nothing to cancel.")
            job.state, job.message, job.finished_at = CANCELLED, f"Cancelled by {by}.", time.time()
            with self._store.transaction():
                self._store.jobs.save(job)
            return job

    def check(self, job: Job) -> None:
        """Raise `JobCancelledError` in a job a user asked to stop (call it between steps)."""
        if job.id in self._stopping:
            raise JobCancelledError(job.id)

    def recover(self) -> int:
        """Mark as interrupted every job marked running that this process does not run. Call
        it holding the library's writer lock: no other process runs a job then, so those
        were left by one that died (a crash, a kill)."""
        with self._hold():
            dead = [i for i in self._store.jobs.running() if i not in self._live]
            if dead:
                kinds = {i: job.kind for i in dead if (job := self._store.jobs.get(i))}
                index = [i for i in dead if kinds.get(i, "index") == "index"]
                shares = [i for i in dead if i not in index]
                with self._store.transaction():
                    self._store.jobs.interrupt(index, INTERRUPTED_MESSAGE, time.time())
                    self._store.jobs.interrupt(shares, INTERRUPTED_SHARE_MESSAGE, time.time())
        return len(dead)

    # --- looking ---------------------------------------------------------------------------

    def all(self) -> list[Job]:
        """Every job, oldest first; this process's own as they are this moment."""
        with self._hold():
            return [self._live.get(j.id, j) for j in self._store.jobs.all()]

    def get(self, job_id: str) -> Job | None:
        if job_id in self._live:
            return self._live[job_id]
        with self._hold():
            return self._store.jobs.get(job_id)

    def wait_for_submission(self, timeout: float) -> None:
        with self._submitted:
            self._submitted.wait(timeout)

    def wake(self) -> None:
        with self._submitted:
            self._submitted.notify_all()


class JobRunner:
    """A thread that runs the queue's jobs one after another, in the order submitted."""

    def __init__(self, queue: JobQueue, run: Callable[[Job], None]) -> None:
        self._queue = queue
        self._run = run
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="regard-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._queue.wake()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping:
            job = self._queue.claim()
            if job is None:
                # Woken by a submission; the timeout only bounds how long a stop waits.
                self._queue.wait_for_submission(timeout=1.0)
                continue
            try:
                self._run(job)
            except Exception as exc:  # the job's error is reported to the user in the job
                if job.state in (QUEUED, RUNNING):
                    self._end(job, FAILED, str(exc))
            else:
                if job.state in (QUEUED, RUNNING):
                    self._end(job, DONE, "")

    def _end(self, job: Job, state: str, message: str) -> None:
        try:
            self._queue.end(job, state, message=message)
        except Exception:  # the library was closed under the job (the server stopping)
            log.exception("job %s could not be marked %s", job.id, state)
