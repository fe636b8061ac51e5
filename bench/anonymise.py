"""Anonymisation: Regard beside `deface` (CenterFace), on the same video and photos, in the
same run: frames per second, and the faces each tool leaves in its output.

    .venv/bin/python bench/anonymise.py             # one run of each; .cache/bench/anonymise.json
    .venv/bin/python bench/anonymise.py --repeat 3  # alternate 3 runs of each; medians

The inputs: ../shared/data/photos/facenet_pytorch/video/video.mp4 (1080p, 105 frames, a crowd
walking towards the camera) and the 10 group photos whose faces were counted by eye
(tests/data/face_counts.csv).

* Regard: bench/_regard_anonymise.py as a command of its own: `anonymise_video` (YuNet on every
  frame at full 1080p size, tracking, Gaussian blur, recheck around what was blurred, H.264
  CRF 20 "veryfast", no audio) and, for the photos, `redact_photo` + a clean JPEG (quality 90).
* deface 1.5.0 as its command-line tool with its defaults: CenterFace on the full-size frame,
  threshold 0.2, mask scale 1.3, elliptical blur ("blur"), libx264 through imageio-ffmpeg at
  its default quality (CRF 25, preset medium), no audio; onnxruntime backend (its fastest).
  For the photos it is given one folder of copies (it writes `*_anonymized.jpg` beside them).

Both are whole command-line runs, started cold (interpreter, imports, model loading); frames/s
is frames over wall time. Faces left are counted by detecting again on every frame of every
output with both detectors at full size: YuNet through Regard (score >= 0.3, half the 0.6
Regard indexes with) and CenterFace through deface's own code in its virtualenv (score >=
0.2, deface's own threshold). A detector finds some things that are not faces (and blurred
heads), so the same counts on the untouched inputs are printed for scale.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO, shared_data
from deface_peer import Deface, ensure_deface
from measure import Measured, run_measured

BENCH = Path(__file__).resolve().parent
VIDEO = "photos/facenet_pytorch/video/video.mp4"
FACE_COUNTS = REPO / "tests" / "data" / "face_counts.csv"
YUNET_SCORE = 0.3
CENTERFACE_SCORE = 0.2
OUT_JSON = CACHE / "anonymise.json"


def group_photos(root: Path) -> list[Path]:
    lines = [ln for ln in FACE_COUNTS.read_text().splitlines() if not ln.startswith("#")]
    return [root / row["path"] for row in csv.DictReader(lines)]


def run_regard_video(source: Path, out: Path) -> Measured:
    python = REPO / ".venv" / "bin" / "python"
    return _checked(
        run_measured(
            [str(python), str(BENCH / "_regard_anonymise.py"), "video", str(source), str(out)]
        )
    )


def run_deface_video(deface: Deface, source: Path, out: Path) -> Measured:
    return _checked(run_measured([str(deface.cli), str(source), "-o", str(out)]))


def run_regard_photos(photos: list[Path], out_dir: Path) -> Measured:
    python = REPO / ".venv" / "bin" / "python"
    argv = [str(python), str(BENCH / "_regard_anonymise.py"), "photos", str(out_dir)]
    return _checked(run_measured(argv + [str(p) for p in photos]))


def run_deface_photos(
    deface: Deface, photos: list[Path], work: Path
) -> tuple[Measured, list[Path]]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for p in photos:
        shutil.copyfile(p, work / p.name)
    measured = _checked(run_measured([str(deface.cli), str(work)]))
    return measured, [work / f"{p.stem}_anonymized{p.suffix}" for p in photos]


def _checked(m: Measured) -> Measured:
    if m.returncode != 0:
        sys.exit(f"{' '.join(m.argv)} exited {m.returncode}:\n{m.stderr[-3000:]}")
    return m


def yunet_faces(path: Path) -> list[list[list[float]]]:
    """YuNet's detections (x, y, w, h, score) in each frame of `path`, at full size."""
    import av

    from regard.inference.sessions import YuNetDetector
    from regard.pipeline.decode import DecodeLimits, OpenedImage

    detector = YuNetDetector(score_threshold=YUNET_SCORE)
    if path.suffix.lower() in {".mp4", ".mov", ".mkv"}:
        with av.open(str(path)) as c:
            images = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    else:
        opened = OpenedImage(str(path), path.read_bytes(), DecodeLimits())
        images = [opened.decode_at_least(1.0).rgb]
    return [[[*d.box.as_list(), round(d.score, 3)] for d in detector.detect(img)] for img in images]


def centerface_faces(deface: Deface, paths: list[Path]) -> dict[str, list[list[list[float]]]]:
    argv = [str(deface.python), str(BENCH / "_centerface_count.py"), str(CENTERFACE_SCORE)]
    out = subprocess.run(argv + [str(p) for p in paths], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"CenterFace counting failed:\n{out.stderr[-3000:]}")
    # deface's CenterFace prints which ONNX provider it runs on before our JSON line.
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def video_shape(path: Path) -> tuple[int, int, int]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return s.codec_context.width, s.codec_context.height, n


def summary(per_frame: list[list[list[float]]]) -> dict[str, int]:
    return {
        "faces": sum(len(f) for f in per_frame),
        "frames_with_faces": sum(1 for f in per_frame if f),
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each tool (alternating)")
    args = ap.parse_args()
    root = shared_data()
    deface = ensure_deface()
    video = root / VIDEO
    photos = group_photos(root)
    work = CACHE / "anonymise"
    shutil.rmtree(work, ignore_errors=True)
    (work / "regard-photos").mkdir(parents=True)

    runs: dict[str, list[Measured]] = {"regard": [], "deface": []}
    outputs = {"regard": work / "regard.mp4", "deface": work / "deface.mp4"}
    for r in range(args.repeat):
        order = ["regard", "deface"] if r % 2 == 0 else ["deface", "regard"]
        for tool in order:
            print(f"video, run {r + 1}/{args.repeat}: {tool} ...", file=sys.stderr, flush=True)
            if tool == "regard":
                runs[tool].append(run_regard_video(video, outputs[tool]))
            else:
                runs[tool].append(run_deface_video(deface, video, outputs[tool]))
    photo_runs: dict[str, list[Measured]] = {"regard": [], "deface": []}
    photo_outputs: dict[str, list[Path]] = {}
    for r in range(args.repeat):
        order = ["regard", "deface"] if r % 2 == 0 else ["deface", "regard"]
        for tool in order:
            print(f"photos, run {r + 1}/{args.repeat}: {tool} ...", file=sys.stderr, flush=True)
            if tool == "regard":
                photo_runs[tool].append(run_regard_photos(photos, work / "regard-photos"))
                photo_outputs[tool] = [work / "regard-photos" / p.name for p in photos]
            else:
                m, outs = run_deface_photos(deface, photos, work / "deface-photos")
                photo_runs[tool].append(m)
                photo_outputs[tool] = outs

    print("counting faces left with YuNet and CenterFace ...", file=sys.stderr, flush=True)
    counted = [video, outputs["regard"], outputs["deface"], *photos]
    counted += photo_outputs["regard"] + photo_outputs["deface"]
    cf = centerface_faces(deface, counted)
    yn = {str(p): yunet_faces(p) for p in counted}

    def faces(detections: dict[str, Any], paths: list[Path]) -> dict[str, int]:
        frames = [f for p in paths for f in detections[str(p)]]
        return summary(frames)

    shapes = {t: video_shape(outputs[t]) for t in outputs}
    source_shape = video_shape(video)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "deface": deface.versions,
        "settings": {
            "regard": "YuNet full 1080p, tracking, gaussian 0.35, recheck, x264 crf 20 veryfast",
            "deface": "CenterFace full size, thresh 0.2, mask 1.3, ellipse blur, x264 crf 25",
            "count_yunet_score": YUNET_SCORE,
            "count_centerface_score": CENTERFACE_SCORE,
        },
        "video": {"source": VIDEO, "source_shape": source_shape},
        "photos": {"sources": [str(p.relative_to(root)) for p in photos]},
    }
    for tool in ("regard", "deface"):
        secs = statistics.median(m.seconds for m in runs[tool])
        psecs = statistics.median(m.seconds for m in photo_runs[tool])
        result["video"][tool] = {
            "runs": [m.summary() for m in runs[tool]],
            "seconds": secs,
            "frames_per_second": shapes[tool][2] / secs,
            "cpu_seconds": statistics.median(m.cpu_seconds for m in runs[tool]),
            "peak_rss_mib": statistics.median(m.peak_rss_mib for m in runs[tool]),
            "output_shape": shapes[tool],
            "left_yunet": faces(yn, [outputs[tool]]),
            "left_centerface": faces(cf, [outputs[tool]]),
            "left_yunet_per_frame": {i: f for i, f in enumerate(yn[str(outputs[tool])]) if f},
            "tool_said": runs[tool][-1].stdout.strip().splitlines()[-1:],
        }
        result["photos"][tool] = {
            "seconds": psecs,
            "photos_per_second": len(photos) / psecs,
            "left_yunet": faces(yn, photo_outputs[tool]),
            "left_centerface": faces(cf, photo_outputs[tool]),
            "left_yunet_per_photo": {p.name: yn[str(p)] for p in photo_outputs[tool] if yn[str(p)]},
        }
    result["video"]["in_source"] = {"yunet": faces(yn, [video]), "centerface": faces(cf, [video])}
    result["photos"]["in_source"] = {"yunet": faces(yn, photos), "centerface": faces(cf, photos)}
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(result, indent=1) + "\n")
    report(result)


def report(r: dict[str, Any]) -> None:
    v, p = r["video"], r["photos"]
    rg, df = v["regard"], v["deface"]
    w, h, n = v["source_shape"]
    print(f"\nVideo: {v['source']} ({w}x{h}, {n} frames); runs: {len(rg['runs'])} of each")
    print(f"{'':44}{'Regard':>10}{'deface':>10}{'Regard/deface':>15}")
    rows = [
        ("frames/s", rg["frames_per_second"], df["frames_per_second"], "{:.2f}"),
        ("wall time (s)", rg["seconds"], df["seconds"], "{:.1f}"),
        ("CPU time (s)", rg["cpu_seconds"], df["cpu_seconds"], "{:.1f}"),
        ("peak RSS (MiB)", rg["peak_rss_mib"], df["peak_rss_mib"], "{:.0f}"),
    ]
    for key, label in (
        ("left_yunet", f"YuNet >= {YUNET_SCORE}"),
        ("left_centerface", f"CenterFace >= {CENTERFACE_SCORE}"),
    ):
        for what, field in (
            (f"faces left, {label}", "faces"),
            ("  frames with a face left", "frames_with_faces"),
        ):
            rows.append((what, rg[key][field], df[key][field], "{}"))
    for name, a, b, fmt in rows:
        print(f"{name:44}{fmt.format(a):>10}{fmt.format(b):>10}{ratio(a, b):>15}")
    print(
        f"{'output size, frames':44}{'{}x{} {}'.format(*rg['output_shape']):>16}"
        f"{'{}x{} {}'.format(*df['output_shape']):>16}"
    )
    src = v["in_source"]
    print(
        f"in the source: YuNet {src['yunet']['faces']} faces "
        f"({src['yunet']['frames_with_faces']} frames), CenterFace {src['centerface']['faces']} "
        f"({src['centerface']['frames_with_faces']} frames)"
    )
    rp, dp = p["regard"], p["deface"]
    print(f"\nPhotos: {len(p['sources'])} group photos (tests/data/face_counts.csv)")
    print(f"{'':44}{'Regard':>10}{'deface':>10}{'Regard/deface':>15}")
    rows = [
        ("photos/s", rp["photos_per_second"], dp["photos_per_second"], "{:.2f}"),
        ("wall time (s)", rp["seconds"], dp["seconds"], "{:.1f}"),
        (
            f"faces left, YuNet >= {YUNET_SCORE}",
            rp["left_yunet"]["faces"],
            dp["left_yunet"]["faces"],
            "{}",
        ),
        (
            f"faces left, CenterFace >= {CENTERFACE_SCORE}",
            rp["left_centerface"]["faces"],
            dp["left_centerface"]["faces"],
            "{}",
        ),
    ]
    for name, a, b, fmt in rows:
        print(f"{name:44}{fmt.format(a):>10}{fmt.format(b):>10}{ratio(a, b):>15}")
    src = p["in_source"]
    print(
        f"in the sources: YuNet {src['yunet']['faces']} faces, CenterFace "
        f"{src['centerface']['faces']} (face_counts.csv: 49 faces by eye)"
    )
    print(f"\nwritten to {OUT_JSON}")


if __name__ == "__main__":
    main()
