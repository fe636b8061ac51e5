"""Anonymisation: Regard beside `deface` (CenterFace), on the same video and photos, in the same
run, both sides of issue 9: the faces each tool leaves (recall), the blur it puts where there is
no face (precision), and its speed.

    .venv/bin/python bench/anonymise.py             # one run of each; .cache/bench/anonymise.json
    .venv/bin/python bench/anonymise.py --repeat 3  # alternate 3 runs of each; medians of speed

The inputs: ../shared/data/photos/facenet_pytorch/video/video.mp4 (1080p, 105 frames, a crowd
walking towards the camera) and the 10 counted group photos whose 49 heads were boxed by hand
(tests/data/head_boxes.csv).

* Regard: bench/_regard_anonymise.py as a command of its own: `anonymise_video` (YuNet on every
  frame at full 1080p size, tracking, Gaussian blur of each head, the searches after the blur,
  H.264 CRF 20 "veryfast", no audio) and, for the photos, `redact_photo` + a clean JPEG
  (quality 90).
* deface 1.5.0 as its command-line tool with its defaults: CenterFace on the full-size frame,
  threshold 0.2, mask scale 1.3, elliptical blur ("blur"), libx264 through imageio-ffmpeg at
  its default quality (CRF 25, preset medium), no audio; onnxruntime backend (its fastest).
  For the photos it is given one folder of copies (it writes `*_anonymized.jpg` beside them).
* Each tool also runs once with nothing blurred (Regard: the same decoding and encoding with a
  detector that finds nothing; deface: `--replacewith none`): its *plain* copy, which blurred
  pixels are measured against, so that the encoder's own changes are not counted as blur.

Both are whole command-line runs, started cold (interpreter, imports, model loading); frames/s
is frames over wall time.

Faces left (recall): every output frame and photo is searched again at full size with both
detectors, YuNet through Regard and CenterFace through deface's own code in its virtualenv. A
detection counts from a score of 0.5 (the bar of issue 9), and where the original had a face:
centred in one of its heads and at most half as big again as that head. For the photos the
heads are the labelled ones; for the video, the heads of the same detector's finds (>= 0.5) in
the source frame, grown by `HEAD_GROWTH`. The same counts at YuNet >= 0.3 and CenterFace >= 0.2
(the bar this benchmark used before) are printed for reference.

Blur outside heads (precision): the pixels of a copy that differ from the tool's plain copy by
more than `CHANGED` grey levels (in any channel), outside the heads, as a share of the photo or
frame; the mean and the largest over photos (or frames). Against the redacted image before
encoding (which only Regard's own tests can see) Regard's photos measure 0.60 % on average
here; through JPEG the same copies measure 0.71 %: the encoder spreads a change over the 8x8
blocks it touches. For the photos the heads are the labelled ones. No heads are labelled in
the video: there the heads are those of YuNet's and CenterFace's finds (>= 0.5) in the source
frame, grown by `HEAD_GROWTH` (generous, and neither tool's own rule) -- a proxy, which counts
as "outside" the blur of any face neither detector finds at 0.5 in the source.
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
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO, shared_data
from deface_peer import Deface, ensure_deface
from measure import Measured, run_measured

BENCH = Path(__file__).resolve().parent
VIDEO = "photos/facenet_pytorch/video/video.mp4"
HEAD_BOXES = REPO / "tests" / "data" / "head_boxes.csv"
JUDGE = 0.5  # a face, for both detectors (issue 9)
OLD_YUNET, OLD_CENTERFACE = 0.3, 0.2  # the bar before, for reference
CHANGED = 8  # grey levels: a pixel differing more from the plain copy was changed
#: A detector's face box grown to its head for the video's proxy heads: shares of the box's
#: width to each side, of its height up and down.
HEAD_GROWTH = (0.25, 0.5, 0.15)
OUT_JSON = CACHE / "anonymise.json"
TOOLS = ("regard", "deface")

Boxes = list[list[float]]  # [x, y, w, h, score] each


def labelled_heads(root: Path) -> dict[Path, list[list[float]]]:
    lines = [ln for ln in HEAD_BOXES.read_text().splitlines() if not ln.startswith("#")]
    heads: dict[Path, list[list[float]]] = defaultdict(list)
    for row in csv.DictReader(lines):
        heads[root / row["path"]].append([float(row[k]) for k in "xywh"])
    return dict(heads)


# --- running the tools -----------------------------------------------------------------------


def _checked(m: Measured) -> Measured:
    if m.returncode != 0:
        sys.exit(f"{' '.join(m.argv)} exited {m.returncode}:\n{m.stderr[-3000:]}")
    return m


def run_regard(mode: str, *args: Path) -> Measured:
    python = REPO / ".venv" / "bin" / "python"
    argv = [str(python), str(BENCH / "_regard_anonymise.py"), mode, *map(str, args)]
    return _checked(run_measured(argv))


def run_deface_video(deface: Deface, source: Path, out: Path, plain: bool = False) -> Measured:
    extra = ["--replacewith", "none"] if plain else []
    return _checked(run_measured([str(deface.cli), str(source), "-o", str(out), *extra]))


def run_deface_photos(
    deface: Deface, photos: list[Path], work: Path, plain: bool = False
) -> tuple[Measured, list[Path]]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for p in photos:
        shutil.copyfile(p, work / p.name)
    extra = ["--replacewith", "none"] if plain else []
    measured = _checked(run_measured([str(deface.cli), str(work), *extra]))
    return measured, [work / f"{p.stem}_anonymized{p.suffix}" for p in photos]


# --- reading and searching the copies ---------------------------------------------------------


def frames_of(path: Path) -> Iterator[np.ndarray]:
    """Every frame (a video) or the one image (a photo), upright RGB at full size, one at a
    time (a 1080p video whole would take 650 MB)."""
    import av

    from regard.pipeline.decode import DecodeLimits, OpenedImage

    if path.suffix.lower() in {".mp4", ".mov", ".mkv"}:
        with av.open(str(path)) as c:
            for f in c.decode(video=0):
                yield f.to_ndarray(format="rgb24")
        return
    opened = OpenedImage(str(path), path.read_bytes(), DecodeLimits())
    yield opened.decode_at_least(1.0).rgb


def first_frame(path: Path) -> np.ndarray:
    return next(iter(frames_of(path)))


def yunet_faces(paths: list[Path]) -> dict[str, list[Boxes]]:
    """YuNet's detections (x, y, w, h, score) from `OLD_YUNET` in each frame, at full size."""
    from regard.inference.sessions import YuNetDetector

    detector = YuNetDetector(score_threshold=OLD_YUNET)
    out = {}
    for path in paths:
        out[str(path)] = [
            [[*d.box.as_list(), round(d.score, 3)] for d in detector.detect(img)]
            for img in frames_of(path)
        ]
    return out


def centerface_faces(deface: Deface, paths: list[Path]) -> dict[str, list[Boxes]]:
    """CenterFace's detections from `OLD_CENTERFACE`, as (x, y, w, h, score)."""
    argv = [str(deface.python), str(BENCH / "_centerface_count.py"), str(OLD_CENTERFACE)]
    out = subprocess.run(argv + [str(p) for p in paths], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"CenterFace counting failed:\n{out.stderr[-3000:]}")
    # deface's CenterFace prints which ONNX provider it runs on before our JSON line.
    raw = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        k: [[[x0, y0, x1 - x0, y1 - y0, s] for x0, y0, x1, y1, s in frame] for frame in v]
        for k, v in raw.items()
    }


def grown(box: list[float]) -> list[float]:
    x, y, w, h = box[:4]
    side, up, down = HEAD_GROWTH
    return [x - side * w, y - up * h, w * (1 + 2 * side), h * (1 + up + down)]


def left_where_faces_were(found: Boxes, heads: list[list[float]], score: float) -> Boxes:
    """The detections in `found` from `score` centred in one of `heads` and at most half as
    big again: faces found again where there was one."""
    out = []
    for d in found:
        if d[4] < score:
            continue
        cx, cy = d[0] + d[2] / 2, d[1] + d[3] / 2
        for x, y, w, h in heads:
            if x <= cx <= x + w and y <= cy <= y + h and max(d[2], d[3]) <= 1.5 * max(w, h):
                out.append(d)
                break
    return out


def scaled(boxes: Boxes, sx: float, sy: float) -> Boxes:
    return [[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, *b[4:]] for b in boxes]


def outside_share(copy: np.ndarray, plain: np.ndarray, heads: list[list[float]]) -> float:
    """The share of the image changed (more than `CHANGED` from the plain copy) outside
    `heads`."""
    changed = np.abs(copy.astype(np.int16) - plain.astype(np.int16)).max(axis=2) > CHANGED
    for x, y, bw, bh in heads:
        x0, y0 = max(0, int(np.floor(x))), max(0, int(np.floor(y)))
        changed[y0 : max(y0, int(np.ceil(y + bh))), x0 : max(x0, int(np.ceil(x + bw)))] = False
    return float(changed.mean())


# --- the runs ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each tool (alternating)")
    args = ap.parse_args()
    root = shared_data()
    deface = ensure_deface()
    video = root / VIDEO
    heads = labelled_heads(root)
    photos = list(heads)
    work = CACHE / "anonymise"
    shutil.rmtree(work, ignore_errors=True)
    for d in ("regard-photos", "regard-plain-photos"):
        (work / d).mkdir(parents=True)

    runs: dict[str, list[Measured]] = {t: [] for t in TOOLS}
    outputs = {t: work / f"{t}.mp4" for t in TOOLS}
    plains = {t: work / f"{t}-plain.mp4" for t in TOOLS}
    photo_runs: dict[str, list[Measured]] = {t: [] for t in TOOLS}
    photo_outputs: dict[str, list[Path]] = {}
    for r in range(args.repeat):
        for tool in TOOLS if r % 2 == 0 else TOOLS[::-1]:
            say(f"video, run {r + 1}/{args.repeat}: {tool} ...")
            if tool == "regard":
                runs[tool].append(run_regard("video", video, outputs[tool]))
            else:
                runs[tool].append(run_deface_video(deface, video, outputs[tool]))
    for r in range(args.repeat):
        for tool in TOOLS if r % 2 == 0 else TOOLS[::-1]:
            say(f"photos, run {r + 1}/{args.repeat}: {tool} ...")
            if tool == "regard":
                photo_runs[tool].append(run_regard("photos", work / "regard-photos", *photos))
                photo_outputs[tool] = [work / "regard-photos" / p.name for p in photos]
            else:
                m, outs = run_deface_photos(deface, photos, work / "deface-photos")
                photo_runs[tool].append(m)
                photo_outputs[tool] = outs
    say("the plain copies (nothing blurred) ...")
    run_regard("plain-video", video, plains["regard"])
    run_deface_video(deface, video, plains["deface"], plain=True)
    run_regard("plain-photos", work / "regard-plain-photos", *photos)
    plain_photos = {
        "regard": [work / "regard-plain-photos" / p.name for p in photos],
        "deface": run_deface_photos(deface, photos, work / "deface-plain-photos", plain=True)[1],
    }

    say("searching the copies with YuNet and CenterFace ...")
    counted = [video, *outputs.values(), *photos, *photo_outputs["regard"]]
    counted += photo_outputs["deface"]
    cf = centerface_faces(deface, counted)
    yn = yunet_faces(counted)
    say("measuring the blur outside the heads ...")
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "deface": deface.versions,
        "settings": {
            "regard": "YuNet full 1080p, tracking, gaussian heads, searches after, x264 crf 20",
            "deface": "CenterFace full size, thresh 0.2, mask 1.3, ellipse blur, x264 crf 25",
            "judge": JUDGE,
            "reference": {"yunet": OLD_YUNET, "centerface": OLD_CENTERFACE},
            "changed_grey_levels": CHANGED,
            "video_head_growth": HEAD_GROWTH,
        },
        "video": measure_video(video, outputs, plains, runs, yn, cf),
        "photos": measure_photos(root, heads, photo_outputs, plain_photos, photo_runs, yn, cf),
    }
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(result, indent=1) + "\n")
    report(result)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measure_video(
    video: Path,
    outputs: dict[str, Path],
    plains: dict[str, Path],
    runs: dict[str, list[Measured]],
    yn: dict[str, list[Boxes]],
    cf: dict[str, list[Boxes]],
) -> dict[str, Any]:
    src = {"yunet": yn[str(video)], "centerface": cf[str(video)]}
    height, width = first_frame(video).shape[:2]
    out: dict[str, Any] = {"source": VIDEO, "source_shape": [width, height, len(src["yunet"])]}
    for tool in TOOLS:
        h, w = first_frame(outputs[tool]).shape[:2]
        frames = len(yn[str(outputs[tool])])
        sx, sy = width / w, height / h  # deface writes 1920x1088: back to the source's pixels
        left: dict[str, Any] = {}
        for name, found, judge, old in (
            ("yunet", yn, JUDGE, OLD_YUNET),
            ("centerface", cf, JUDGE, OLD_CENTERFACE),
        ):
            per_frame, per_frame_old = [], []
            for i, dets in enumerate(found[str(outputs[tool])]):
                faces = [grown(b) for b in src[name][i] if b[4] >= JUDGE]
                mine = scaled(dets, sx, sy)
                per_frame.append(left_where_faces_were(mine, faces, judge))
                any_face = [grown(b) for b in src[name][i]]
                per_frame_old.append(left_where_faces_were(mine, any_face, old))
            left[name] = {
                "faces": sum(len(f) for f in per_frame),
                "frames": sum(1 for f in per_frame if f),
                "per_frame": {i: f for i, f in enumerate(per_frame) if f},
                "faces_at_reference_bar": sum(len(f) for f in per_frame_old),
            }
        outside = []
        pairs = zip(frames_of(outputs[tool]), frames_of(plains[tool]), strict=True)
        for i, (c, p) in enumerate(pairs):
            faces = [b for b in src["yunet"][i] + src["centerface"][i] if b[4] >= JUDGE]
            outside.append(outside_share(c, p, [grown(b) for b in scaled(faces, 1 / sx, 1 / sy)]))
        secs = statistics.median(m.seconds for m in runs[tool])
        out[tool] = {
            "runs": [m.summary() for m in runs[tool]],
            "seconds": secs,
            "frames_per_second": frames / secs,
            "cpu_seconds": statistics.median(m.cpu_seconds for m in runs[tool]),
            "peak_rss_mib": statistics.median(m.peak_rss_mib for m in runs[tool]),
            "output_shape": [w, h, frames],
            "left": left,
            "outside_heads": {
                "mean": float(np.mean(outside)),
                "max": float(np.max(outside)),
                "per_frame": [round(v, 5) for v in outside],
            },
            "tool_said": runs[tool][-1].stdout.strip().splitlines()[-1:],
        }
    out["in_source"] = {
        n: {"faces": sum(sum(1 for b in f if b[4] >= JUDGE) for f in src[n])} for n in src
    }
    return out


def measure_photos(
    root: Path,
    heads: dict[Path, list[list[float]]],
    outputs: dict[str, list[Path]],
    plains: dict[str, list[Path]],
    runs: dict[str, list[Measured]],
    yn: dict[str, list[Boxes]],
    cf: dict[str, list[Boxes]],
) -> dict[str, Any]:
    photos = list(heads)
    out: dict[str, Any] = {
        "sources": [str(p.relative_to(root)) for p in photos],
        "heads": {str(p.relative_to(root)): len(h) for p, h in heads.items()},
    }
    for tool in TOOLS:
        per_photo: dict[str, Any] = {}
        for source, copy, plain in zip(photos, outputs[tool], plains[tool], strict=True):
            hs = heads[source]
            entry: dict[str, Any] = {}
            for name, found, old in (("yunet", yn, OLD_YUNET), ("centerface", cf, OLD_CENTERFACE)):
                dets = found[str(copy)][0]
                entry[name] = left_where_faces_were(dets, hs, JUDGE)
                entry[f"{name}_reference"] = len(left_where_faces_were(dets, hs, old))
            entry["outside_heads"] = outside_share(first_frame(copy), first_frame(plain), hs)
            per_photo[str(source.relative_to(root))] = entry
        outside = [e["outside_heads"] for e in per_photo.values()]
        secs = statistics.median(m.seconds for m in runs[tool])
        out[tool] = {
            "seconds": secs,
            "photos_per_second": len(photos) / secs,
            "per_photo": per_photo,
            "left_yunet": sum(len(e["yunet"]) for e in per_photo.values()),
            "left_centerface": sum(len(e["centerface"]) for e in per_photo.values()),
            "left_reference": {
                n: sum(e[f"{n}_reference"] for e in per_photo.values())
                for n in ("yunet", "centerface")
            },
            "outside_heads": {"mean": float(np.mean(outside)), "max": float(np.max(outside))},
        }
    out["in_source"] = {
        n: sum(len(left_where_faces_were(d[str(p)][0], heads[p], JUDGE)) for p in photos)
        for n, d in (("yunet", yn), ("centerface", cf))
    }
    return out


# --- the report -------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def report(r: dict[str, Any]) -> None:
    v, p = r["video"], r["photos"]
    rg, df = v["regard"], v["deface"]
    w, h, n = v["source_shape"]
    print(f"\nVideo: {v['source']} ({w}x{h}, {n} frames); runs: {len(rg['runs'])} of each")
    print(f"{'':52}{'Regard':>10}{'deface':>10}{'Regard/deface':>15}")
    rows: list[tuple[str, float, float, str]] = [
        ("frames/s", rg["frames_per_second"], df["frames_per_second"], "{:.2f}"),
        ("wall time (s)", rg["seconds"], df["seconds"], "{:.1f}"),
        ("CPU time (s)", rg["cpu_seconds"], df["cpu_seconds"], "{:.1f}"),
        ("peak RSS (MiB)", rg["peak_rss_mib"], df["peak_rss_mib"], "{:.0f}"),
    ]
    for key, label in (("yunet", "YuNet"), ("centerface", "CenterFace")):
        a, b = rg["left"][key], df["left"][key]
        rows.append((f"faces left, {label} >= {JUDGE}", a["faces"], b["faces"], "{}"))
        rows.append(("  frames with a face left", a["frames"], b["frames"], "{}"))
    for key, label, bar in (
        ("yunet", "YuNet", OLD_YUNET),
        ("centerface", "CenterFace", OLD_CENTERFACE),
    ):
        a, b = rg["left"][key], df["left"][key]
        rows.append(
            (
                f"  (reference: {label} >= {bar})",
                a["faces_at_reference_bar"],
                b["faces_at_reference_bar"],
                "{}",
            )
        )
    rows.append(
        (
            "blur outside proxy heads, mean % of a frame",
            100 * rg["outside_heads"]["mean"],
            100 * df["outside_heads"]["mean"],
            "{:.2f}",
        )
    )
    rows.append(
        (
            "  largest % of a frame",
            100 * rg["outside_heads"]["max"],
            100 * df["outside_heads"]["max"],
            "{:.2f}",
        )
    )
    for name, a, b, fmt in rows:
        print(f"{name:52}{fmt.format(a):>10}{fmt.format(b):>10}{ratio(a, b):>15}")
    print(
        f"{'output size, frames':52}{'{}x{} {}'.format(*rg['output_shape']):>16}"
        f"{'{}x{} {}'.format(*df['output_shape']):>16}"
    )
    src = v["in_source"]
    print(
        f"in the source, from {JUDGE}: YuNet {src['yunet']['faces']} faces, CenterFace "
        f"{src['centerface']['faces']} (the proxy heads are theirs, grown by {HEAD_GROWTH})"
    )

    rp, dp = p["regard"], p["deface"]
    print(f"\nPhotos: {len(p['sources'])} counted group photos, {sum(p['heads'].values())} heads")
    print(
        f"{'':34}{'heads':>6}{'Regard: left Y/CF, outside':>31}{'deface: left Y/CF, outside':>31}"
    )
    for rel in p["sources"]:
        a, b = rp["per_photo"][rel], dp["per_photo"][rel]
        print(
            f"{Path(rel).name[:33]:34}{p['heads'][rel]:>6}"
            f"{len(a['yunet']):>15} / {len(a['centerface'])}{100 * a['outside_heads']:>10.2f} %"
            f"{len(b['yunet']):>17} / {len(b['centerface'])}{100 * b['outside_heads']:>10.2f} %"
        )
    print(f"{'':52}{'Regard':>10}{'deface':>10}{'Regard/deface':>15}")
    rows = [
        ("photos/s", rp["photos_per_second"], dp["photos_per_second"], "{:.2f}"),
        ("wall time (s)", rp["seconds"], dp["seconds"], "{:.1f}"),
        (f"faces left, YuNet >= {JUDGE}", rp["left_yunet"], dp["left_yunet"], "{}"),
        (f"faces left, CenterFace >= {JUDGE}", rp["left_centerface"], dp["left_centerface"], "{}"),
        (
            f"  (reference: YuNet >= {OLD_YUNET})",
            rp["left_reference"]["yunet"],
            dp["left_reference"]["yunet"],
            "{}",
        ),
        (
            f"  (reference: CenterFace >= {OLD_CENTERFACE})",
            rp["left_reference"]["centerface"],
            dp["left_reference"]["centerface"],
            "{}",
        ),
        (
            "blur outside heads, mean % of a photo",
            100 * rp["outside_heads"]["mean"],
            100 * dp["outside_heads"]["mean"],
            "{:.2f}",
        ),
        (
            "  largest % of a photo",
            100 * rp["outside_heads"]["max"],
            100 * dp["outside_heads"]["max"],
            "{:.2f}",
        ),
    ]
    for name, a, b, fmt in rows:
        print(f"{name:52}{fmt.format(a):>10}{fmt.format(b):>10}{ratio(a, b):>15}")
    src = p["in_source"]
    print(
        f"in the originals, from {JUDGE}: YuNet finds {src['yunet']} of the heads' faces, "
        f"CenterFace {src['centerface']}"
    )
    print(f"\nwritten to {OUT_JSON}")


if __name__ == "__main__":
    main()
