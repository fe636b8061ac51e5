"""What the web server holds: one engine per library, used by one thread at a time under its
lock (a SQLite connection serves one thread at a time, and the library has one writer). The
engine's job runner indexes uploads in the background through that same engine, taking the
lock for each batch it writes, so the server's other requests are answered meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from regard.domain.events import EventSink
from regard.domain.face import AnalysedFace
from regard.domain.jobs import Job
from regard.engine import STANDARD_MODELS, Engine, EngineConfig, ModelLoader

#: Photos handed in read at once (the others wait); the server's other requests never do.
PROBE_WORKERS = 2


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
        # Photos people hand in are read in worker processes of the engine's, outside the
        # lock, never in the server's own process (see `probed`).
        self.engine = Engine(
            library,
            create=create,
            config=config,
            models=models,
            shared=True,
            probe_workers=PROBE_WORKERS,
        )
        assert self.engine.probe_pool is not None
        self.probes = self.engine.probe_pool
        self.accounts = self.engine.accounts
        self.engine.run_jobs()
        self.alerting: list[EventSink] = []

    def open_alerts(self) -> list[EventSink]:
        """The owner's alert sinks and the web app's Events page, for the cameras the server
        watches (`regard serve`); closed with the host."""
        with self.use() as engine:
            names = [c.name for c in engine.cameras.all() if c.enabled]
            self.alerting = engine.alerts.open_sinks(names)
        return self.alerting

    @contextmanager
    def use(self) -> Iterator[Engine]:
        with self.engine.lock:
            yield self.engine

    def probed(self, photo: Path) -> AbstractContextManager[list[AnalysedFace]]:
        """Read the faces of a photo someone handed in, in a worker process and without the
        lock (call it before `use`), so that the engine, used inside this block, finds them
        there instead of decoding the photo under the lock where every user would wait."""
        return self.probes.held(photo)

    def close(self) -> None:
        for sink in self.alerting:
            sink.close()
        self.engine.close()

    # --- uploads and indexing ------------------------------------------------------------------

    @property
    def uploads(self) -> Path:
        return self.engine.uploads.folder

    def store_upload(
        self, data: bytes, suffix: str, known: set[str], name: str | None = None, **where: Any
    ) -> tuple[str, Path | None]:
        """Keep an uploaded file in the library (see `Engine.store_upload`)."""
        return self.engine.store_upload(data, suffix, known, name, **where)

    def start_index(self, folders: list[Path]) -> Job:
        """Index `folders` in the background; the job is on the library's list at once."""
        return self.engine.submit_index(folders)
