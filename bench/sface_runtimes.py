"""SFace through onnxruntime (what indexing runs) beside OpenCV's dnn engine, on the faces of
the photos bench/ingest.py indexes, in the same run: the largest difference between their
vectors, the lowest cosine similarity of a face's two vectors, and each one's CPU time a face
(one thread, the faces in the batches a photo gives, runs taking turns photo by photo).

    .venv/bin/python bench/sface_runtimes.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data
from ingest import photo_files

from regard.inference.sessions import SFaceEmbedder
from regard.inference.sface_ort import SFaceOrtEmbedder
from regard.inference.yunet_ort import YuNetOrtDetector
from regard.pipeline.align import align_face
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.detect import detect_faces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="passes over the faces (best kept)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    detector = YuNetOrtDetector()
    runtimes = {"opencv": SFaceEmbedder(), "onnxruntime": SFaceOrtEmbedder()}
    batches = []
    for f in photo_files(shared_data()):
        image = OpenedImage(str(f), f.read_bytes(), DecodeLimits()).decode_for_detection(1280)
        crops = [
            align_face(image.rgb, d.landmarks, SFaceEmbedder.template, SFaceEmbedder.input_size)
            for d in detect_faces(detector, image)
        ]
        if crops:
            batches.append(np.stack(crops))
    faces = sum(len(b) for b in batches)
    best = {name: float("inf") for name in runtimes}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in runtimes}
    for _ in range(args.repeat):
        cpu = dict.fromkeys(runtimes, 0.0)
        for name in runtimes:
            vectors[name] = []
        for batch in batches:
            for name, embedder in runtimes.items():
                t = time.thread_time()
                vectors[name].append(embedder.embed(batch))
                cpu[name] += time.thread_time() - t
        best = {name: min(best[name], cpu[name]) for name in runtimes}
    a, b = np.concatenate(vectors["opencv"]), np.concatenate(vectors["onnxruntime"])
    print(f"{faces} faces of {len(batches)} photos, one thread, best of {args.repeat} passes")
    for name, seconds in best.items():
        print(f"  {name:12} {seconds:6.2f} s CPU  {1000 * seconds / faces:5.1f} ms a face")
    print(f"onnxruntime's CPU time: {best['opencv'] / best['onnxruntime']:.2f}x less than OpenCV's")
    print(
        f"largest difference of a vector's value: {float(np.abs(a - b).max()):.2e}; "
        f"lowest cosine similarity of a face's two vectors: {float(np.sum(a * b, 1).min()):.7f}"
    )


if __name__ == "__main__":
    main()
