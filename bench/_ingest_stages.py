"""Profile of `regard index`'s own stages, each measured alone on one core (run by
bench/ingest.py in a process of its own; prints one JSON document).

    .venv/bin/python bench/_ingest_stages.py FOLDER [--first-look 640] [--repeat 2]

* Per photo, in this process with one OpenCV thread (as each indexing worker runs): read and
  header, decode for detection, detection, crop decode, align + embed, hashing (thread CPU
  seconds of the real `Analyser`, timed by its `StageTimes`); the fastest of `--repeat`
  passes over the photos, each stage's total.
* Worker start-up: two analysis workers started at once until both have loaded their
  models (the wall time `AnalysisPool` takes to be ready), the fastest of three.
* Command start-up: `regard --help` (interpreter, imports), wall time.
* Catalog write: a new library indexing the photos with analysis that costs nothing (each
  photo's result computed above, handed back at once): scanning, the privacy gate, the
  catalog's writes, grouping and the vector index saved; wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cv2

from regard.domain.photo import PhotoAnalysis
from regard.inference.calibration import Calibration
from regard.inference.protocols import FaceDetector
from regard.jobs.pool import AnalysisPool
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.models import STANDARD_MODELS
from regard.pipeline.stages import STAGES, StageTimes
from regard.testing import ColourEmbedder, SquareDetector


class _Replay(Analyser):
    """Hands back the analyses computed before: analysis that costs nothing."""

    results: ClassVar[dict[str, PhotoAnalysis]] = {}

    def analyse_path(self, path: Path) -> PhotoAnalysis:
        return self.results[path.name]


@dataclass(frozen=True)
class _ReplayModels:
    detector: Any = field(default=STANDARD_MODELS.detector)
    embedder: Any = field(default=STANDARD_MODELS.embedder)

    def verify(self) -> None:
        STANDARD_MODELS.verify()

    def calibration(self) -> Calibration:
        return STANDARD_MODELS.calibration()

    def __call__(self, settings: AnalysisSettings) -> Analyser:
        # Models that cost nothing to load: the analyses come from `results`.
        return _Replay(SquareDetector(), ColourEmbedder(), settings)

    def sensitive_detector(self, score_threshold: float) -> FaceDetector:
        return STANDARD_MODELS.sensitive_detector(score_threshold)


def profile(files: list[Path], settings: AnalysisSettings, repeat: int) -> dict[str, Any]:
    analyser = STANDARD_MODELS(settings)
    best: StageTimes | None = None
    results: ClassVar[dict[str, PhotoAnalysis]] = {}
    for _ in range(repeat):
        times = StageTimes()
        analyser.times = times
        for f in files:
            result = analyser.analyse_path(f)
            results[f.name] = result
        if best is None or sum(times.cpu.values()) < sum(best.cpu.values()):
            best = times
    assert best is not None
    faces = {f.name: len(results[f.name].faces) for f in files}
    _Replay.results = results
    return {"cpu": best.cpu, "wall": best.wall, "calls": best.calls, "faces": faces}


def worker_startup(settings: AnalysisSettings) -> float:
    seconds = []
    for _ in range(3):
        t = time.perf_counter()
        with AnalysisPool(2, settings):
            seconds.append(time.perf_counter() - t)
    return min(seconds)


def command_startup() -> float:
    regard = Path(sys.executable).with_name("regard")
    seconds = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([str(regard), "--help"], check=True, capture_output=True)
        seconds.append(time.perf_counter() - t)
    return min(seconds)


def catalog_write(folder: Path) -> dict[str, float]:
    from regard.engine import Engine, EngineConfig

    with tempfile.TemporaryDirectory(prefix="regard-stages-") as tmp:
        t = time.perf_counter()
        config = EngineConfig(workers=0)
        engine = Engine(Path(tmp) / "library", create=True, config=config, models=_ReplayModels())
        opened = time.perf_counter() - t
        try:
            t, c = time.perf_counter(), time.process_time()
            engine.index([folder])
            wall, cpu = time.perf_counter() - t, time.process_time() - c
        finally:
            engine.close()
    return {"library_open_s": opened, "index_wall_s": wall, "index_cpu_s": cpu}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--first-look", type=int, default=AnalysisSettings().first_look_side)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-startup", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)  # as each indexing worker runs
    settings = AnalysisSettings(first_look_side=args.first_look)
    files = sorted(p for p in args.folder.iterdir() if p.is_file())
    doc: dict[str, Any] = {"stages": list(STAGES), "photos": len(files)}
    doc |= profile(files, settings, args.repeat)
    doc["catalog"] = catalog_write(args.folder)
    if not args.skip_startup:
        doc["worker_startup_s"] = worker_startup(settings)
        doc["command_startup_s"] = command_startup()
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
