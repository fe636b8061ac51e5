"""What the web server holds: one engine for requests (used under a lock, since a SQLite
connection serves one thread at a time), the accounts, and a background job runner that
indexes uploads with an engine of its own, reporting progress as it goes."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from regard.atomic import private_dirs, write_atomically
from regard.domain.face import AnalysedFace
from regard.engine import Engine, EngineConfig
from regard.jobs.ingest import FileDone, IndexEvent, Outcome, ScanDone
from regard.jobs.pool import InProcessPool, ProbePool
from regard.jobs.probes import Probes
from regard.pipeline.models import STANDARD_MODELS, ModelLoader
from regard.services.accounts import Accounts

#: Seconds a photo handed in (search by photo, anonymise...) may take to read; it is one
#: photo, so this is far below indexing's per-file timeout.
PROBE_TIMEOUT = 60.0
#: Photos handed in read at once (the others wait); the server's other requests never do.
PROBE_WORKERS = 2


@dataclass
class Job:
    id: str
    kind: str
    state: str = "queued"  # queued | running | done | failed
    total: int = 0
    done: int = 0
    faces: int = 0
    errors: int = 0
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    report: dict[str, Any] | None = None

    def as_dict(self, where: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The job; with `where`, the paths in its report as that shows them."""
        report = self.report
        if report is not None and where is not None:
            report = {
                **report,
                "roots": [where(r) for r in report["roots"]],
                "failures": [{**f, "path": where(f["path"])} for f in report["failures"]],
                "missing": [where(p) for p in report["missing"]],
                "pruned": [where(p) for p in report["pruned"]],
            }
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "faces": self.faces,
            "errors": self.errors,
            "message": self.message,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "report": report,
        }


class EngineHost:
    def __init__(
        self,
        library: Path,
        config: EngineConfig,
        create: bool = True,
        models: ModelLoader = STANDARD_MODELS,
    ) -> None:
        self.library = library
        self.config = config
        self.models = models
        # Photos people hand in are read in worker processes, outside the lock, never in the
        # server's own process (see `probed`); the request engine reads them through these.
        self.probes = Probes(
            ProbePool(
                PROBE_WORKERS,
                config.analysis,
                models,
                task_timeout=min(config.task_timeout, PROBE_TIMEOUT),
            )
            if config.workers > 0
            else InProcessPool(config.analysis, models)
        )
        # The request engine is shared across the server's threads, one request at a time.
        self.engine = Engine(
            library,
            create=create,
            config=config,
            models=models,
            shared=True,
            probe_source=self.probes,
        )
        self.accounts = Accounts(self.engine.catalog, guard=self.use)
        self._lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        self._queue: list[tuple[Job, Callable[[Job], None]]] = []
        self._wake = threading.Condition()
        self._runner = threading.Thread(target=self._run_jobs, name="regard-jobs", daemon=True)
        self._stopping = False
        self._runner.start()

    @contextmanager
    def use(self) -> Iterator[Engine]:
        with self._lock:
            yield self.engine

    def probed(self, photo: Path) -> AbstractContextManager[list[AnalysedFace]]:
        """Read the faces of a photo someone handed in, in a worker process and without the
        lock (call it before `use`), so that the engine, used inside this block, finds them
        there instead of decoding the photo under the lock where every user would wait."""
        return self.probes.held(photo)

    def close(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._runner.join(timeout=5)
        self.probes.close()
        with self._lock:
            self.engine.close()

    # --- uploads and indexing ------------------------------------------------------------------

    @property
    def uploads(self) -> Path:
        return self.library / "uploads"

    def store_upload(
        self, data: bytes, suffix: str, known_hashes: set[str], name: str | None = None
    ) -> tuple[str, Path | None]:
        """Keep an uploaded file under the library's uploads folder, once per content, named
        by its content and its real type's `suffix`; `name`, the one it was sent with, is kept
        in the catalog to show."""
        digest = hashlib.sha256(data).hexdigest()
        day = time.strftime("%Y/%m")
        target = self.uploads / day / f"{digest[:20]}{suffix}"
        if digest in known_hashes or any(self.uploads.rglob(f"{digest[:20]}.*")):
            return digest, None
        private_dirs(target.parent)
        write_atomically(target, data, private=True)
        if name:
            # The path as indexing will record it (the library's path may be relative).
            with self.use() as engine, engine.catalog.transaction():
                engine.catalog.photos.add_upload_name(os.path.abspath(target), name)
        return digest, target

    def start_index(self, folders: list[Path]) -> Job:
        job = Job(uuid.uuid4().hex[:12], "index")
        self.jobs[job.id] = job

        def run(j: Job) -> None:
            def on_event(event: IndexEvent) -> None:
                if isinstance(event, ScanDone):
                    j.total = event.to_process
                elif isinstance(event, FileDone):
                    j.done += 1
                    j.faces += event.faces
                    j.errors += event.outcome == Outcome.FAILED

            with Engine(self.library, config=self.config, models=self.models) as worker:
                report = worker.index(folders, on_event=on_event)
            failures = [asdict(f) for f in report.failures]
            with self._lock:
                self.engine.refresh()
                # Files that could not be used are told by the names they were sent with.
                for failure in failures:
                    # In the words of a web user, about the file by the name it was sent as.
                    path = failure["path"]
                    message = failure.pop("web_message") or failure["message"]
                    failure["message"] = message
                    name = self.engine.catalog.photos.upload_name(path)
                    failure["name"] = name or os.path.basename(path)
                    if name and message.startswith(path):
                        failure["message"] = name + message[len(path) :]
            j.report = {**report.as_dict(), "failures": failures}

        with self._wake:
            self._queue.append((job, run))
            self._wake.notify_all()
        return job

    def _run_jobs(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                job, run = self._queue.pop(0)
            job.state = "running"
            try:
                run(job)
                job.state = "done"
            except Exception as exc:  # the job's error is reported to the user in the job
                job.state = "failed"
                job.message = str(exc)
            job.finished_at = time.time()
