"""A fixed, plain face indexer: the yardstick bench/ingest.py --guard measures `regard index`
against in the same run (the `face_recognition` peer takes too long for CI).

    .venv/bin/python bench/_ingest_baseline.py FOLDER   # prints {"photos": n, "faces": n}

Two processes (as `regard index` on 2 cores); each photo decoded whole with Pillow, turned
upright, shrunk to 1280 px for YuNet, each face aligned from the whole image and embedded by
SFace one at a time. It uses the same libraries and models as Regard, so a slower machine,
or a slower OpenCV, slows both alike; its code must not change (nor be made faster), or the
figures recorded in bench/ingest_guard.json no longer compare.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

_models: dict[str, Any] = {}


def _load() -> None:
    from regard.inference.registry import SFACE, YUNET, load_verified

    cv2.setNumThreads(1)
    _models["det"] = cv2.FaceDetectorYN.create(
        "onnx",
        np.frombuffer(load_verified(YUNET), np.uint8),
        np.array([], np.uint8),
        (320, 320),
        0.6,
        0.3,
        5000,
    )
    _models["emb"] = cv2.dnn.readNetFromONNX(np.frombuffer(load_verified(SFACE), np.uint8))


TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float32,
)


def faces_in(path: str) -> int:
    with Image.open(path) as img:
        rgb = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    h, w = rgb.shape[:2]
    scale = min(1.0, 1280 / max(h, w))
    small = cv2.resize(rgb, (round(w * scale), round(h * scale))) if scale < 1 else rgb
    det = _models["det"]
    det.setInputSize((small.shape[1], small.shape[0]))
    _, rows = det.detect(np.ascontiguousarray(small[:, :, ::-1]))
    if rows is None:
        return 0
    for r in rows:
        pts = r[4:14].reshape(5, 2) / scale
        m, _ = cv2.estimateAffinePartial2D(pts, TEMPLATE)
        crop = cv2.warpAffine(rgb, m, (112, 112))
        blob = cv2.dnn.blobFromImage(crop, 1.0, (112, 112), (0, 0, 0), swapRB=False)
        _models["emb"].setInput(blob, "data")
        _models["emb"].forward()
    return len(rows)


def main() -> None:
    files = sorted(str(p) for p in Path(sys.argv[1]).iterdir() if p.is_file())
    with ProcessPoolExecutor(2, initializer=_load) as pool:
        faces = sum(pool.map(faces_in, files, chunksize=1))
    print(json.dumps({"photos": len(files), "faces": faces}))


if __name__ == "__main__":
    main()
