"""The facade every interface uses. One `Engine` per open library.

The CLI, the HTTP API and the web UI call these methods and render what they return; none of
them holds logic of its own.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regard.domain.face import AnalysedFace
from regard.domain.photo import Photo
from regard.domain.search import FaceMatch, PhotoMatch, ProbeFace, SearchResult
from regard.errors import AmbiguousProbeError, FaceIndexError, NoFaceInProbeError
from regard.inference.calibration import Calibration
from regard.jobs.ingest import EventSink, IndexReport, Ingestor
from regard.jobs.pool import STANDARD_MODELS, AnalysisPool, Result, analyse_in_process
from regard.pipeline.analyse import (
    Analyser,
    AnalysisSettings,
    ModelLoader,
    pipeline_id,
    read_file,
)
from regard.pipeline.cluster import GroupingParams
from regard.pipeline.decode import OpenedImage
from regard.services.people import GroupingSummary, PeopleService
from regard.storage.catalog import Catalog
from regard.storage.library import LibraryPaths, writer_lock
from regard.storage.vector_store import ANN_THRESHOLD, VectorStore


@dataclass(frozen=True, slots=True)
class EngineConfig:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # 0: analyse in-process
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    task_timeout: float = 300.0
    ann_threshold: int = ANN_THRESHOLD  # faces beyond which the vector index is HNSW
    grouping: GroupingParams = field(default_factory=GroupingParams)


class Engine:
    def __init__(
        self,
        library: Path,
        *,
        create: bool = False,
        config: EngineConfig | None = None,
        models: ModelLoader = STANDARD_MODELS,
    ) -> None:
        self.paths = LibraryPaths(Path(os.path.abspath(library)))
        if create:
            self.paths.create()
        else:
            self.paths.require()
        self.config = config or EngineConfig()
        self.models = models
        self.catalog = Catalog(self.paths.catalog)
        self._analyser: Analyser | None = None
        self._calibration: Calibration | None = None
        self.vectors = VectorStore(
            self.catalog, self.paths.vectors, models.embedder, self.config.ann_threshold
        )
        self.people = PeopleService(
            self.catalog,
            self.vectors,
            models.embedder,
            lambda: self.calibration,
            self.config.grouping,
        )

    def close(self) -> None:
        self.vectors.save()
        self.catalog.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- indexing ---------------------------------------------------------------------------

    def index(
        self,
        roots: Iterable[Path],
        *,
        prune: bool = False,
        on_event: EventSink | None = None,
    ) -> IndexReport:
        """Index image files under `roots` (folders or files) into the library."""
        self.models.verify()  # a missing or altered model fails here, before any work
        with writer_lock(self.paths):
            self.catalog.register_models((self.models.detector, self.models.embedder))
            pipeline = pipeline_id(self.models.detector, self.models.embedder)
            grouped: list[GroupingSummary] = []

            def group_new_faces() -> None:
                # New faces join people as each batch of photos is committed.
                grouped.append(self.people.group_pending())

            ingest = Ingestor(self.catalog, pipeline, self._analyse, on_event, group_new_faces)
            report = ingest.run(roots, prune=prune, exclude=[self.paths.root])
            group_new_faces()
            report.grouping = {
                "faces": sum(g.faces for g in grouped),
                "joined_people": sum(g.joined for g in grouped),
                "new_people": sum(g.new_people for g in grouped),
                "unassigned": sum(g.unassigned for g in grouped),
            }
            self.vectors.save()
        return report

    def _analyse(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
        """Analysis for the ingestor; workers only start once there is something to analyse."""
        if self.config.workers <= 0:
            yield from analyse_in_process(self.analyser, paths)
            return
        with AnalysisPool(
            self.config.workers,
            self.config.analysis,
            self.models,
            task_timeout=self.config.task_timeout,
        ) as pool:
            yield from pool.map_unordered(paths)

    @property
    def analyser(self) -> Analyser:
        """Models loaded in this process (for search probes); loaded on first use."""
        if self._analyser is None:
            self._analyser = self.models(self.config.analysis)
        return self._analyser

    # --- search -------------------------------------------------------------------------------

    def probe_faces(self, photo: Path) -> list[ProbeFace]:
        """The faces in a photo, left to right, as `search --face-index` numbers them."""
        return [self._probe_face(i, f) for i, f in enumerate(self._analyse_probe(photo))]

    def search_face(
        self,
        photo: Path,
        *,
        face_index: int | None = None,
        threshold: float | None = None,
        limit: int | None = None,
    ) -> SearchResult:
        """Every library photo with a face matching the (chosen) face in `photo`, best first."""
        faces = self._analyse_probe(photo)
        if not faces:
            raise NoFaceInProbeError(photo)
        if face_index is None:
            if len(faces) > 1:
                raise AmbiguousProbeError(
                    photo, [self._probe_face(i, f) for i, f in enumerate(faces)]
                )
            face_index = 0
        if not 0 <= face_index < len(faces):
            raise FaceIndexError(photo, face_index, len(faces))
        chosen = faces[face_index]
        index = self.vectors.index
        cal = self.calibration
        source = "given" if threshold is not None else "calibrated"
        t = threshold if threshold is not None else cal.search_threshold(len(index))
        neighbours = index.search(chosen.embedding, threshold=t)
        hits = self.catalog.face_hits([n.id for n in neighbours])
        by_photo: dict[int, list[FaceMatch]] = defaultdict(list)
        for n in neighbours:
            hit = hits.get(n.id)
            if hit is not None:
                by_photo[hit.photo_id].append(FaceMatch(n.id, hit.box, n.score, hit.low_quality))
        matches = []
        for photo_id, fm in by_photo.items():
            first = hits[fm[0].face_id]
            matches.append(
                PhotoMatch(
                    photo_id,
                    first.path,
                    max(f.score for f in fm),
                    tuple(sorted(fm, key=lambda f: -f.score)),
                    first.taken_at,
                )
            )
        matches.sort(key=lambda m: (-m.score, m.path))
        if limit is not None:
            matches = matches[:limit]
        return SearchResult(
            probe_path=str(photo),
            probe_face=self._probe_face(face_index, chosen),
            probe_faces=len(faces),
            threshold=t,
            threshold_source=source,
            library_faces=len(index),
            expected_false_matches=cal.expected_false_matches(t, len(index)),
            matches=tuple(matches),
        )

    def _analyse_probe(self, photo: Path) -> list[AnalysedFace]:
        fingerprint, data = read_file(Path(photo), self.config.analysis.limits)
        opened = OpenedImage(fingerprint.path, data, self.config.analysis.limits)
        return self.analyser.faces_in(opened)

    @staticmethod
    def _probe_face(index: int, face: AnalysedFace) -> ProbeFace:
        return ProbeFace(
            index, face.detection.box, face.detection.score, face.quality.size_px, face.quality.low
        )

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            self._calibration = self.models.calibration()
        return self._calibration

    # --- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        counts = self.catalog.counts()
        faces = counts["embeddings"]
        t = self.calibration.search_threshold(faces)
        return {
            "library": str(self.paths.root),
            "schema_version": self.catalog.schema_version,
            "photos": counts["photos"],
            "indexed": counts["indexed"],
            "errors": counts["errors"],
            "photos_with_faces": counts["photos_with_faces"],
            "faces": counts["faces"],
            "low_quality_faces": counts["low_quality_faces"],
            "embeddings": counts["embeddings"],
            "vector_index": self.vectors.kind,
            **self.catalog.people.counts(),
            "search_threshold": t,
            "expected_false_matches_per_search": round(
                self.calibration.expected_false_matches(t, faces), 4
            ),
            "models": self.catalog.models(),
            "last_run": self.catalog.last_run(),
            "size_bytes": self.paths.size_bytes(),
        }

    def photos(self, *, with_faces: bool = False) -> list[dict[str, Any]]:
        """The library's photos with how many faces (and good-quality faces) each has."""
        return self.catalog.photo_summaries(with_faces=with_faces)

    def failures(self) -> list[Photo]:
        return self.catalog.failed_photos()
