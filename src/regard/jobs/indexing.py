"""An index run as the library's job: the ingestor over the catalog, the job's progress kept
on the queue, each batch's writes and grouping holding the library, and what the run leaves
for the next one (the settings its failures depend on)."""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from regard.domain.cluster import RayCluster
from regard.domain.jobs import DONE, FAILED, INTERRUPTED, INTERRUPTED_MESSAGE, Job
from regard.domain.photo import PhotoAnalysis
from regard.domain.privacy import FaceVerdict
from regard.jobs.ingest import EventSink, IndexEvent, IndexReport, Ingestor
from regard.jobs.pool import AnalysisPool, Result, analyse_in_process
from regard.jobs.queue import Hold, JobQueue
from regard.pipeline.analyse import Analyser, AnalysisSettings, pipeline_id
from regard.pipeline.footage_record import video_pipeline_id
from regard.pipeline.models import ModelLoader
from regard.storage.library import LibraryPaths, writer_lock
from regard.storage.repositories import Store

#: The catalog setting that remembers what decided the last run's failures.
FAILURE_SETTINGS = "index.failure_settings"


class Grouped(Protocol):
    """What grouping one batch's new faces did."""

    @property
    def faces(self) -> int: ...
    @property
    def joined(self) -> int: ...
    @property
    def new_people(self) -> int: ...
    @property
    def unassigned(self) -> int: ...


class Indexer:
    """Index runs over one library. The engine plugs in what `jobs` does not know: the
    privacy gate (`screen`), grouping (`group`, after each commit) and what follows a run
    (`after`: covers chosen again, the vector index saved)."""

    def __init__(
        self,
        *,
        catalog: Store,
        paths: LibraryPaths,
        models: ModelLoader,
        analysis: AnalysisSettings,
        workers: int,
        task_timeout: float,
        jobs: JobQueue,
        ray: RayCluster | None = None,
        hold: Hold,
        analyser: Callable[[], Analyser],
        screen: Callable[[PhotoAnalysis], Sequence[FaceVerdict]],
        group: Callable[[], Grouped],
        after: Callable[[], None],
    ) -> None:
        self.catalog = catalog
        self.paths = paths
        self.models = models
        self.analysis = analysis
        self.workers = workers
        self.task_timeout = task_timeout
        self.ray = ray
        self.jobs = jobs
        self.hold = hold
        self.analyser = analyser
        self.screen = screen
        self.group = group
        self.after = after

    def run(
        self,
        roots: list[Path],
        *,
        prune: bool,
        on_event: EventSink | None,
        retry_failed: bool,
        job: Job | None,
    ) -> IndexReport:
        """One run, as `job` (a new one if None), holding the library's writer lock."""
        if self.ray is not None:
            from regard.jobs.ray_pool import require_ray

            require_ray(self.ray)  # before any work: a missing Ray is said at once
        with writer_lock(self.paths):
            # Nothing else indexes this library now: a job still marked running is dead.
            self.jobs.recover()
            if job is None:
                folders = [os.path.abspath(r) for r in roots]
                job = self.jobs.begin("index", {"folders": folders})
            try:
                report = self._run(roots, prune, on_event, retry_failed, job)
            except KeyboardInterrupt:
                self.jobs.end(job, INTERRUPTED, message=INTERRUPTED_MESSAGE)
                raise
            except Exception as exc:
                self.jobs.end(job, FAILED, message=str(exc))
                raise
            with self.hold():
                self.jobs.end(job, DONE, report=self._job_report(report))
        return report

    def _run(
        self,
        roots: list[Path],
        prune: bool,
        on_event: EventSink | None,
        retry_failed: bool,
        job: Job,
    ) -> IndexReport:
        pipeline = pipeline_id(self.models.detector, self.models.embedder)
        failure_settings = self._failure_settings(pipeline)
        with self.hold():
            self.catalog.runs.register_models((self.models.detector, self.models.embedder))
            settings_changed = self.catalog.runs.setting(FAILURE_SETTINGS) != failure_settings
        grouped: list[Grouped] = []

        def group_new_faces() -> None:
            # New faces join people as each batch of photos is committed (holding the lock).
            grouped.append(self.group())
            self.jobs.save(job)

        track = self.jobs.track(job)

        def events(event: IndexEvent) -> None:
            track(event)
            if on_event is not None:
                on_event(event)

        ingest = Ingestor(
            self.catalog,
            pipeline,
            self._analyse,
            events,
            group_new_faces,
            screen=self.screen,
            retry_failed=retry_failed,
            settings_changed=settings_changed,
            hold=self.hold,
            video_pipeline=video_pipeline_id(self.models.detector, self.models.embedder),
        )
        report = ingest.run(roots, prune=prune, exclude=[self.paths.root])
        with self.hold():
            with self.catalog.transaction():
                self.catalog.runs.set_setting(FAILURE_SETTINGS, failure_settings)
            group_new_faces()
            report.grouping = {
                "faces": sum(g.faces for g in grouped),
                "joined_people": sum(g.joined for g in grouped),
                "new_people": sum(g.new_people for g in grouped),
                "unassigned": sum(g.unassigned for g in grouped),
            }
            self.after()
        return report

    def _job_report(self, report: IndexReport) -> dict[str, Any]:
        """An index run's report as its job keeps it: each file that could not be used told
        in a web user's words, by the name it was sent with (if it was uploaded)."""
        failures = [asdict(f) for f in report.failures]
        for failure in failures:
            path = failure["path"]
            message = failure.pop("web_message") or failure["message"]
            failure["message"] = message
            name = self.catalog.photos.upload_name(path)
            failure["name"] = name or os.path.basename(path)
            if name and message.startswith(path):
                failure["message"] = name + message[len(path) :]
        return {**report.as_dict(), "failures": failures}

    def _failure_settings(self, pipeline: str) -> str:
        """What decides whether a file fails: when it changes, failed files are retried."""
        return json.dumps(
            {
                "limits": asdict(self.analysis.limits),
                "timeout": self.task_timeout,
                "pipeline": pipeline,
                "version": _version(),
            },
            sort_keys=True,
        )

    def _analyse(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
        """Analysis for the ingestor; workers only start once there is something to analyse."""
        if self.ray is not None:
            # The same seam on a Ray cluster: only where files are analysed changes.
            from regard.jobs.ray_pool import RayAnalysis

            with RayAnalysis(self.ray, self.analysis, self.models, self.task_timeout) as ray:
                yield from ray.map_unordered(paths)
            return
        if self.workers <= 0:
            yield from analyse_in_process(self.analyser(), paths)
            return
        with AnalysisPool(
            self.workers, self.analysis, self.models, task_timeout=self.task_timeout
        ) as pool:
            yield from pool.map_unordered(paths)


def _version() -> str:
    try:
        return importlib.metadata.version("regard")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
