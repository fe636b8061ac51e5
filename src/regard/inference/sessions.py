"""Model sessions: YuNet for detection, SFace for embeddings, both through OpenCV's dnn engine.

The pipeline talks to these through the `FaceDetector` and `FaceEmbedder` protocols
(`regard.inference.protocols`), so tests can pass the fakes in `regard.testing` and a
different model can replace either one.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from regard.domain.face import Box, Detection, Landmarks
from regard.inference.protocols import RGBImage
from regard.inference.registry import SFACE, YUNET, load_verified


def _quiet_opencv() -> None:
    # OpenCV 5's new graph engine logs a harmless warning about targets at every model load.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class YuNetDetector:
    """YuNet (int8, block-quantised) via cv2.FaceDetectorYN."""

    spec = YUNET

    def __init__(self, score_threshold: float = 0.6, nms_threshold: float = 0.3) -> None:
        _quiet_opencv()
        weights = np.frombuffer(load_verified(self.spec), dtype=np.uint8)
        self._net = cv2.FaceDetectorYN.create(
            "onnx",
            weights,
            np.array([], dtype=np.uint8),
            (320, 320),
            score_threshold,
            nms_threshold,
            5000,
        )

    def detect(self, rgb: RGBImage) -> list[Detection]:
        h, w = rgb.shape[:2]
        self._net.setInputSize((w, h))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        _, rows = self._net.detect(bgr)
        if rows is None:
            return []
        found = []
        for r in rows:
            pts = tuple((float(r[4 + 2 * i]), float(r[5 + 2 * i])) for i in range(5))
            found.append(
                Detection(
                    Box(float(r[0]), float(r[1]), float(r[2]), float(r[3])),
                    Landmarks(pts),
                    float(r[14]),
                )
            )
        return found


def unit_rows(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each row scaled to length 1 (an embedding as Regard stores and compares it)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class SFaceEmbedder:
    """SFace (int8, block-quantised), fed RGB as in its training (99.43 % on LFW; BGR: 99.17 %).

    `FaceRecognizerSF.feature()` fails on this file under OpenCV 5.0, so the net is driven
    directly with its input named "data".
    """

    spec = SFACE
    input_size = 112
    # The ArcFace/SFace 5-point template in a 112x112 crop, same order as YuNet's landmarks.
    template = np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ],
        dtype=np.float32,
    )

    def __init__(self) -> None:
        _quiet_opencv()
        self._net = cv2.dnn.readNetFromONNX(np.frombuffer(load_verified(self.spec), np.uint8))
        self._twin: SFaceEmbedder | None = None

    def twin(self) -> SFaceEmbedder:
        """A second session of the same model, for another thread; made once, kept."""
        if self._twin is None:
            self._twin = SFaceEmbedder()
        return self._twin

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        if len(crops) == 0:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        blob = cv2.dnn.blobFromImages(
            list(crops), 1.0, (self.input_size, self.input_size), (0, 0, 0), swapRB=False
        )
        self._net.setInput(blob, "data")
        return unit_rows(np.asarray(self._net.forward(), dtype=np.float32).reshape(len(crops), -1))
