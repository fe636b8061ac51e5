"""Indexing a folder of videos into a library, the way a user does (`regard index`), beside a
straightforward baseline in the same run: speed as a multiple of real time, and what storing
and grouping add to the analysis.

    .venv/bin/python bench/video_library.py

The folder: the two 1080p30 H.264 videos of `bench/video_index.py` made from photos of known
people and encoded as phones write video (the 5-minute "family" video and the 3-minute
"montage"; made once, cached) and the two real clips of ../shared/data. The contenders, one
after the other on the same machine:

* **library**: `Engine.index` on a fresh library with two analysis workers (one per core, as
  `regard index` runs): hashing, `analyse_video` in the workers, the privacy gate, one
  transaction per video, grouping the appearances into people.
* **analysis only**: `analyse_video` on each video in this process, nothing stored: the part
  of the library's time that is the footage pipeline.
* **baseline**: decode every frame, look at one a second, link the looks
  (`bench/video_index.py`'s baseline), in this process.

Recall: every person visible for at least 1 s with a face of at least 40 px has an appearance
covering 90 % of that time, read back from the library (start, end and path of each stored
appearance). Results go to .cache/bench/video_library.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import CACHE, shared_data
from video_index import REAL, baseline, made_video

from tests.footage_scoring import read_truth, score_made, score_real


def stored_appearances(engine: Any, path: Path) -> tuple[Any, ...]:
    """The library's appearances of the video at `path`, as the scorers take them."""
    from regard.domain.appearance import Appearance, FrameFace
    from regard.domain.face import AnalysedFace, Detection, FaceQuality, Landmarks

    photo = engine.catalog.photos.by_path(str(path))
    out = []
    for m in engine.catalog.appearances.of_video(photo.id):
        marks = Landmarks(tuple((m.box.x, m.box.y) for _ in range(5)))
        face = AnalysedFace(
            Detection(m.box, marks, 1.0), FaceQuality(0, 0, 0, 0, False), np.zeros(1), ""
        )
        out.append(Appearance(m.start, m.end, (FrameFace(m.best_time, face),), m.path))
    return tuple(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="length of the montage")
    ap.add_argument("--family-minutes", type=float, default=5.0, help="length of the family video")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    root = shared_data()

    from regard.engine import Engine, EngineConfig
    from regard.inference.sessions import SFaceEmbedder, YuNetDetector
    from regard.pipeline.analyse import Analyser
    from regard.pipeline.footage import analyse_video

    def factory() -> Analyser:
        return Analyser(YuNetDetector(), SFaceEmbedder())

    family, family_truth = made_video(root, "family", args.family_minutes, factory)
    montage, montage_truth = made_video(root, "montage", args.minutes, factory)
    truths = {"family.mp4": family_truth, "montage.mp4": montage_truth}
    rows = read_truth()
    videos = {"family.mp4": family, "montage.mp4": montage}
    videos |= {f"{k}.mp4": root / v for k, v in REAL.items()}
    with tempfile.TemporaryDirectory(prefix="regard-bench-") as tmp:
        folder = Path(tmp) / "videos"
        folder.mkdir()
        for name, src in videos.items():
            (folder / name).symlink_to(src)
        engine = Engine(Path(tmp) / "lib", create=True, config=EngineConfig(workers=args.workers))
        try:
            started = time.perf_counter()
            report = engine.index([folder])
            library_s = time.perf_counter() - started
            assert not report.failures, report.failures
            scores = {}
            durations = {}
            for name in videos:
                photo = engine.catalog.photos.by_path(str(folder / name))
                durations[name] = photo.metadata.duration
                apps = stored_appearances(engine, folder / name)
                if name in truths:
                    scores[name] = score_made(apps, truths[name]).line()
                else:
                    video = REAL[name.removesuffix(".mp4")]
                    scores[name] = score_real(apps, rows[video]).line()
            people = engine.catalog.people.counts()
        finally:
            engine.close()

    detector, embedder = YuNetDetector(), SFaceEmbedder()
    started = time.perf_counter()
    for src in videos.values():
        analyse_video(src, detector, embedder)
    analysis_s = time.perf_counter() - started
    started = time.perf_counter()
    for src in videos.values():
        baseline(src, detector, embedder)
    baseline_s = time.perf_counter() - started

    total = sum(durations.values())
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
        "videos": {k: round(v, 2) for k, v in durations.items()},
        "seconds": {
            "library": round(library_s, 2),
            "analysis_only": round(analysis_s, 2),
            "baseline": round(baseline_s, 2),
        },
        "realtime": {
            "library": round(total / library_s, 2),
            "analysis_only": round(total / analysis_s, 2),
            "baseline": round(total / baseline_s, 2),
        },
        "library_vs_baseline": round(baseline_s / library_s, 2),
        "library_vs_analysis_only": round(analysis_s / library_s, 2),
        "appearances_stored": report.counts.faces_found,
        "people": people,
        "recall_from_library": scores,
    }
    print(json.dumps(result, indent=2))
    out = CACHE / "video_library.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
