"""Video indexing: Regard's `analyse_video` beside a straightforward baseline, in the same run,
on the same detector and embedder: speed as a multiple of real time, and recall and purity
against the truth.

    .venv/bin/python bench/video_index.py                     # family + montage + real clips
    .venv/bin/python bench/video_index.py --family-minutes 10 # the 10-minute case (cached)
    .venv/bin/python bench/video_index.py --only editor       # long GOPs and B-frames

The videos (made ones are built once and cached in .cache/bench/video):

* **family**: a 1080p30 H.264 video made from the photos of known people in ../shared/data
  (tests/footage_maker.family_script: long shots of one to three people, a slowly drifting
  camera, someone arriving or leaving part-way, a few seconds of scenery between some shots),
  encoded the way phone cameras write video: High profile, a key frame every second, no
  B-frames, 16 Mbit/s (with a little sensor-like grain, so the bits are spent as a camera
  spends them). The case the speed target names. Its truth is exact: where every face is in
  every frame.
* **montage**: the same encoding of tests/footage_maker.long_script (a cut every 3-12 s, pans,
  zooms, people coming into and out of view, two side by side, group photos, cuts to someone
  else in the same place, stretches with nobody): the worst case.
* **editor** (with --only): the montage encoded with x264's defaults as editors and converters
  write it: a key frame at most every 250 frames (and at cuts), B-frames.
* the two real clips of ../shared/data (a 640x360 stage clip and a 1080p crowd), scored against
  the by-eye truth in tests/data/video_truth.csv.

The contenders, one after the other in one process, with the models loaded once:

* **Regard**: `regard.pipeline.footage.analyse_video` with its default settings.
* **baseline**: decode every frame (FFmpeg's threads), look at one frame a second (the same
  detector at the same size, the same crops and quality), link the looks into appearances with
  the same linker. Everything equal but what is decoded and looked at.
* **photo-way** (with --photo-way): the same, but each frame looked at is analysed the way
  Regard analyses a photo (detection at the photo pipeline's 1280 px, every face embedded):
  what indexing a frame a second with the existing photo pipeline would cost.

Recall: every person visible for at least 1 s with a face of at least 40 px must have one
appearance covering at least 90 % of that time. Purity: no appearance may hold two people.
Results go to .cache/bench/video_index.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import CACHE, shared_data

from tests.footage_maker import (
    Encoding,
    Truth,
    family_script,
    long_script,
    photo_faces,
    write_video,
)
from tests.footage_scoring import Score, read_truth, score_made, score_real

WORK = CACHE / "video"
REAL = {
    "stage": "photos/face_recognition/video/short_hamilton_clip.mp4",
    "crowd": "photos/facenet_pytorch/video/video.mp4",
}
PHONE = Encoding(keyint=30, bframes=0, scenecut=False, kbps=16000)
EDITOR = Encoding(keyint=250, bframes=3, scenecut=True, crf=21)
#: The made videos: (script, encoding, whether --minutes or --family-minutes sets its length).
MADE = {
    "family": (family_script, PHONE, "family"),
    "montage": (long_script, PHONE, "montage"),
    "editor": (long_script, EDITOR, "montage"),
}
GRAIN = 2.0


@dataclass
class Run:
    who: str
    video: str
    seconds: float  # wall
    cpu: float  # process CPU time (all threads)
    duration: float
    frames_decoded: int
    frames_looked_at: int
    times: dict[str, float]
    appearances: int
    score: dict[str, Any]

    @property
    def realtime(self) -> float:
        return self.duration / self.seconds


def made_video(root: Path, name: str, minutes: float, analyser_factory: Any) -> tuple[Path, Truth]:
    script_of, enc, _ = MADE[name]
    key = hashlib.sha256(
        json.dumps([script_of.__name__, minutes, asdict(enc), GRAIN, "v1"], sort_keys=True).encode()
    ).hexdigest()[:10]
    path = WORK / f"{name}-{minutes:g}min-{key}.mp4"
    truth_path = path.with_suffix(".truth.json")
    if path.is_file() and truth_path.is_file():
        return path, Truth.load(truth_path)
    faces = photo_faces(root, analyser_factory(), WORK / "photo_faces.json")
    print(f"making {path.name} ({minutes:g} min of 1080p30; cached after) ...", file=sys.stderr)
    started = time.perf_counter()
    tmp = path.with_suffix(".part.mp4")
    truth = write_video(
        tmp,
        script_of(minutes),
        faces,
        root,
        size=(1920, 1080),
        fps=30,
        encoding=enc,
        grain=GRAIN,
    )
    tmp.replace(path)
    truth.save(truth_path)
    print(f"  made in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path, truth


@dataclass
class BaselineResult:
    appearances: Any
    duration: float
    frames_decoded: int
    frames_looked_at: int
    times: Any


def baseline(path: Path, detector: Any, embedder: Any, photo_way: bool = False) -> BaselineResult:
    """Decode every frame, look at one a second, link the looks: the same stages as Regard's
    but for the sampling. `photo_way`: each looked-at frame is analysed as the photo pipeline
    analyses a photo (detection at its 1280 px, every face embedded)."""
    from regard.domain.appearance import StageTimes
    from regard.pipeline.analyse import AnalysisSettings
    from regard.pipeline.clip import open_clip
    from regard.pipeline.footage_settings import FootageSettings
    from regard.pipeline.linking import Linker
    from regard.pipeline.looking import Looker

    s = FootageSettings()
    if photo_way:
        s = FootageSettings(detect_long_side=AnalysisSettings().detect_max_side)
    looker = Looker(detector, embedder, s)
    linker = Linker(s.link, looker.embed, s.event_px)
    with open_clip(path, s.limits) as clip:
        clip.start_run(every_frame=True)
        next_look = 0.0
        last = None

        def take(frames: list[Any]) -> None:
            nonlocal next_look, last
            for f in frames:
                last = f
                if f.time >= next_look - 1e-6:
                    look = looker.look(f)
                    if photo_way:
                        looker.embed(look.sightings)
                    linker.add(look)
                    next_look = f.time + 1.0

        for packet, t in clip.packets():
            take(clip.run(packet, t))
        take(clip.run(None))
        duration = max(clip.last_time, linker.look_times[-1])
        return BaselineResult(
            appearances=looker.appearances(linker.tracks, duration),
            duration=duration,
            frames_decoded=clip.counters.frames,
            frames_looked_at=looker.looks,
            times=StageTimes(
                decode=clip.counters.seconds,
                detect=looker.detect_seconds,
                embed=looker.embed_seconds,
            ),
        )


def measure(who: str, video: str, fn: Any, scorer: Any) -> tuple[Run, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    score: Score = scorer(result.appearances)
    times = {
        "decode": round(result.times.decode, 2),
        "detect+crop": round(result.times.detect, 2),
        "embed": round(result.times.embed, 2),
    }
    run = Run(
        who=who,
        video=video,
        seconds=round(wall, 2),
        cpu=round(cpu, 2),
        duration=round(result.duration, 2),
        frames_decoded=result.frames_decoded,
        frames_looked_at=result.frames_looked_at,
        times=times,
        appearances=len(result.appearances),
        score={
            "recall": round(score.recall, 3),
            "required": len(score.required),
            "covered": sum(v.covered for v in score.required),
            "mixed": len(score.mixed),
            "unmatched": score.unmatched,
            "missed": [
                f"{v.person} {v.start:.2f}-{v.end:.2f}: {v.coverage:.0%}" for v in score.missed()
            ],
            "mixed_people": [people for _, people in score.mixed],
        },
    )
    return run, score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family-minutes", type=float, default=5.0, help="length of the family video")
    ap.add_argument(
        "--minutes", type=float, default=3.0, help="length of the montage (and editor) videos"
    )
    ap.add_argument("--only", choices=[*MADE, *REAL], action="append")
    ap.add_argument(
        "--photo-way", action="store_true", help="also time the photo pipeline's way (slow)"
    )
    ap.add_argument("--make-only", action="store_true", help="build the made videos and stop")
    args = ap.parse_args()
    root = shared_data()
    WORK.mkdir(parents=True, exist_ok=True)

    import numpy as np

    from regard.inference.sessions import SFaceEmbedder, YuNetDetector
    from regard.pipeline.analyse import AnalysisSettings
    from regard.pipeline.footage import analyse_video
    from regard.pipeline.models import STANDARD_MODELS

    def minutes_of(name: str) -> float:
        return args.family_minutes if MADE[name][2] == "family" else args.minutes

    wanted = args.only or ["family", "montage", "stage", "crowd"]  # editor: with --only
    if args.make_only:
        for name in wanted:
            if name in MADE:
                made_video(
                    root, name, minutes_of(name), lambda: STANDARD_MODELS(AnalysisSettings())
                )
        return
    import cv2

    # As `regard index` runs it: in a worker process with one OpenCV thread
    # (regard.jobs.pool); a video's analysis has its own second thread (key frames decoded
    # beside the looking).
    cv2.setNumThreads(1)
    detector, embedder = YuNetDetector(), SFaceEmbedder()
    detector.detect(np.zeros((540, 960, 3), np.uint8))  # first runs allocate; not timed
    embedder.embed(np.zeros((2, 112, 112, 3), np.uint8))
    truth_rows = read_truth()
    runs: list[Run] = []
    for name in wanted:
        if name in MADE:
            path, truth = made_video(
                root, name, minutes_of(name), lambda: STANDARD_MODELS(AnalysisSettings())
            )

            def scorer(apps: Any, truth: Truth = truth) -> Score:
                return score_made(apps, truth)
        else:
            path = root / REAL[name]
            rows = truth_rows[REAL[name]]

            def scorer(apps: Any, rows: Any = rows) -> Score:
                return score_real(apps, rows)

        for who in ("regard", "baseline", "photo-way")[: 3 if args.photo_way else 2]:
            print(f"{name}: {who} ...", file=sys.stderr, flush=True)
            if who == "regard":
                fn = lambda path=path: analyse_video(path, detector, embedder)  # noqa: E731
            elif who == "baseline":
                fn = lambda path=path: baseline(path, detector, embedder)  # noqa: E731
            else:
                fn = lambda path=path: baseline(path, detector, embedder, True)  # noqa: E731
            run, _ = measure(who, name, fn, scorer)
            runs.append(run)
    report(runs)
    out = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "minutes": {"family": args.family_minutes, "montage": args.minutes},
        "runs": [asdict(r) | {"realtime": round(r.realtime, 2)} for r in runs],
    }
    (CACHE / "video_index.json").write_text(json.dumps(out, indent=1))
    print(f"\nwritten to {CACHE / 'video_index.json'}", file=sys.stderr)


def report(runs: list[Run]) -> None:
    print(
        f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(other work on the machine slows both sides alike)"
    )
    videos = list(dict.fromkeys(r.video for r in runs))
    print(
        "x real time: video seconds per wall second; cpu-bound: per CPU second x 2 (what two "
        "idle cores would give at best).\nBreakdown: seconds inside each stage; Regard decodes "
        "key frames beside its looking, so they can add up to more than the wall time."
    )
    print(
        f"{'video':8} {'who':9} {'x real time':>11} {'cpu-bound':>9} {'cpu s':>6} "
        f"{'decoded':>8} {'looked':>7}  breakdown (s)"
    )
    for v in videos:
        pair = {r.who: r for r in runs if r.video == v}
        for who, r in pair.items():
            br = " ".join(f"{k} {val:.1f}" for k, val in r.times.items())
            bound = 2 * r.duration / max(r.cpu, 1e-9)
            print(
                f"{v:8} {who:9} {r.realtime:10.1f}x {bound:8.1f}x {r.cpu:6.1f} "
                f"{r.frames_decoded:8d} {r.frames_looked_at:7d}  {br}"
            )
        for peer in ("baseline", "photo-way"):
            if "regard" in pair and peer in pair:
                ratio = pair[peer].seconds / pair["regard"].seconds
                cpu_ratio = pair[peer].cpu / max(pair["regard"].cpu, 1e-9)
                print(
                    f"{v:8} {'ratio':9} {ratio:10.1f}x {cpu_ratio:8.1f}x  Regard faster than "
                    f"{peer} (wall, cpu)"
                )
        for who, r in pair.items():
            sc = r.score
            print(
                f"{'':8} {who:9} recall {sc['covered']}/{sc['required']}, appearances "
                f"{r.appearances} ({sc['mixed']} mixed, {sc['unmatched']} of nobody in the truth)"
            )
            for m in sc["missed"]:
                print(f"{'':20} missed: {m}")
            for m in sc["mixed_people"]:
                print(f"{'':20} mixed: {' + '.join(m)}")
    summary(runs)


def summary(runs: list[Run]) -> None:
    """Speed and recall side by side, Regard against the baseline, a line a video."""
    print(
        "\nSummary. Targets: >= 20x real time and >= 5x the baseline (speed); every person "
        "visible >= 1 s with a face >= 40 px covered >= 90 %, no appearance mixing two people."
    )
    print(
        f"{'video':8} {'Regard x rt':>11} {'(cpu-bound)':>11} {'baseline':>9} {'(cpu-bound)':>11}"
        f" {'ratio':>6} {'(cpu)':>6}  {'recall R':>8} {'recall B':>8} {'mixed R/B':>9}"
    )
    for v in dict.fromkeys(r.video for r in runs):
        pair = {r.who: r for r in runs if r.video == v}
        if "regard" not in pair or "baseline" not in pair:
            continue
        r, b = pair["regard"], pair["baseline"]

        def bound(x: Run) -> float:
            return 2 * x.duration / max(x.cpu, 1e-9)

        def recall(x: Run) -> str:
            return f"{x.score['covered']}/{x.score['required']}"

        print(
            f"{v:8} {r.realtime:10.1f}x {bound(r):10.1f}x {b.realtime:8.1f}x {bound(b):10.1f}x"
            f" {b.seconds / r.seconds:5.1f}x {b.cpu / max(r.cpu, 1e-9):5.1f}x  {recall(r):>8} "
            f"{recall(b):>8} {r.score['mixed']:>4}/{b.score['mixed']}"
        )


if __name__ == "__main__":
    main()
