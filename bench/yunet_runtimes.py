"""YuNet through onnxruntime (what indexing runs) beside OpenCV's cv2.FaceDetectorYN, on the
photos bench/ingest.py indexes, in the same run: faces found by each, the largest difference
between their boxes, landmarks and scores, and each one's CPU time (one thread).

    .venv/bin/python bench/yunet_runtimes.py [--side 1280]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data
from ingest import photo_files

from regard.domain.face import Detection
from regard.inference.sessions import YuNetDetector
from regard.inference.yunet_ort import YuNetOrtDetector
from regard.pipeline.decode import DecodeLimits, OpenedImage


def _difference(a: list[Detection], b: list[Detection]) -> float:
    def key(d: Detection) -> tuple[float, float]:
        return (d.box.x, d.box.y)

    worst = 0.0
    for x, y in zip(sorted(a, key=key), sorted(b, key=key), strict=True):
        values = [abs(x.box.x - y.box.x), abs(x.box.y - y.box.y), abs(x.box.w - y.box.w)]
        values += [abs(x.box.h - y.box.h), abs(x.score - y.score)]
        for (px, py), (qx, qy) in zip(x.landmarks.points, y.landmarks.points, strict=True):
            values += [abs(px - qx), abs(py - qy)]
        worst = max(worst, *values)
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=1280, help="long side YuNet sees")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    files = photo_files(shared_data())
    opencv, ort = YuNetDetector(), YuNetOrtDetector()
    cpu = {"opencv": 0.0, "onnxruntime": 0.0}
    found = {"opencv": 0, "onnxruntime": 0}
    differ, worst = [], 0.0
    for f in files:
        rgb = OpenedImage(str(f), f.read_bytes(), DecodeLimits()).decode_for_detection(args.side)
        rows = {}
        for name, det in (("opencv", opencv), ("onnxruntime", ort)):
            t = time.process_time()
            rows[name] = det.detect(rgb.rgb)
            cpu[name] += time.process_time() - t
            found[name] += len(rows[name])
        if len(rows["opencv"]) != len(rows["onnxruntime"]):
            differ.append(f.name)
        else:
            worst = max(worst, _difference(rows["opencv"], rows["onnxruntime"]))
    n = len(files)
    print(f"{n} photos, YuNet at {args.side} px, one thread")
    for name in cpu:
        print(
            f"  {name:12} {found[name]:4d} faces  {cpu[name]:6.2f} s CPU  "
            f"{1000 * cpu[name] / n:5.1f} ms/photo"
        )
    print(f"onnxruntime's CPU time: {cpu['opencv'] / cpu['onnxruntime']:.2f}x less than OpenCV's")
    print(f"photos with a different number of faces: {len(differ)} {differ}")
    print(f"largest difference of a box, landmark (px) or score on the others: {worst:.5f}")


if __name__ == "__main__":
    main()
