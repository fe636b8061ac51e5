"""YuNet run by onnxruntime: the same network, weights and decoding as `cv2.FaceDetectorYN`,
in about half the CPU time (bench/ingest.py measures it).

The shipped file is block-quantised: its weights are folded to float32 with the very formula
its `DequantizeLinear` nodes apply (`onnx_models`), once, at set-up (`prepared`). The input's
height and width are made free (the file fixes 640x640) so a photo of any shape is seen
whole, padded to a multiple of 32 as OpenCV pads it.

Decoding follows OpenCV 5.0's `FaceDetectorYN` (modules/objdetect/src/face_detect.cpp)
step for step: score = sqrt(clamp(cls) x clamp(obj)); box centre (col + dx, row + dy) x
stride, size exp(dw, dh) x stride; landmarks (col + kx, row + ky) x stride; non-maximum
suppression on the boxes truncated to whole pixels (its `Rect2i`), top 5,000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from regard.domain.face import Box, Detection, Landmarks
from regard.inference.onnx_models import cpu_session, prepared_from
from regard.inference.prepared import PreparedModel, prepared_bytes
from regard.inference.protocols import RGBImage
from regard.inference.registry import YUNET

if TYPE_CHECKING:
    import onnx

_STRIDES = (8, 16, 32)
_DIVISOR = 32
_TOP_K = 5000


def _free_image_size(model: onnx.ModelProto) -> None:
    for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim, "nchw", strict=True):
        if name in "hw":
            dim.ClearField("dim_value")
            dim.dim_param = name
    for output in model.graph.output:
        for i, dim in enumerate(output.type.tensor_type.shape.dim):
            dim.ClearField("dim_value")
            dim.dim_param = f"{output.name}_{i}"


def prepare(shipped: bytes) -> bytes:
    """The shipped file's bytes as they are run: weights folded, the image size free."""
    return prepared_from(shipped, _free_image_size)


YUNET_PREPARED = PreparedModel(
    source=YUNET,
    resource="yunet-2023mar-int8bq.prepared.onnx",
    sha256="b85d10ea6eae06b8233c7c9b5e6b2e288b17d9b67d6a007d84887f9fbca77633",
    prepare=prepare,
)


class YuNetOrtDetector:
    """YuNet (the int8 block-quantised file, weights folded to float32) via onnxruntime."""

    spec = YUNET

    def __init__(
        self, score_threshold: float = 0.6, nms_threshold: float = 0.3, threads: int = 0
    ) -> None:
        self._session = cpu_session(prepared_bytes(YUNET_PREPARED), threads)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in _STRIDES]
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold

    def twin(self) -> YuNetOrtDetector:
        """The detector for another thread: this one (an onnxruntime session may be run by
        several threads at once, and `raw` keeps nothing between calls)."""
        return self

    def raw(self, rgb: RGBImage) -> npt.NDArray[np.float32]:
        """FaceDetectorYN's rows (x, y, w, h, 5 landmarks, score) for `rgb`."""
        h, w = rgb.shape[:2]
        ph, pw = ((h - 1) // _DIVISOR + 1) * _DIVISOR, ((w - 1) // _DIVISOR + 1) * _DIVISOR
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :h, :w] = rgb[:, :, ::-1].transpose(2, 0, 1)  # BGR, as OpenCV feeds it
        outs = self._session.run(self._outputs, {self._input: blob})
        rows = []
        for i, stride in enumerate(_STRIDES):
            cols = pw // stride
            cls = np.clip(outs[i].reshape(-1), 0.0, 1.0)
            obj = np.clip(outs[i + 3].reshape(-1), 0.0, 1.0)
            score = np.sqrt(cls * obj)
            idx = np.nonzero(score >= self.score_threshold)[0]
            if not len(idx):
                continue
            bbox = outs[i + 6].reshape(-1, 4)[idx]
            kps = outs[i + 9].reshape(-1, 10)[idx]
            c = (idx % cols).astype(np.float32)
            r = (idx // cols).astype(np.float32)
            st = np.float32(stride)
            bw = np.exp(bbox[:, 2]) * st
            bh = np.exp(bbox[:, 3]) * st
            face = np.empty((len(idx), 15), np.float32)
            face[:, 0] = (c + bbox[:, 0]) * st - bw / np.float32(2)
            face[:, 1] = (r + bbox[:, 1]) * st - bh / np.float32(2)
            face[:, 2] = bw
            face[:, 3] = bh
            face[:, 4:14:2] = (kps[:, 0::2] + c[:, None]) * st
            face[:, 5:14:2] = (kps[:, 1::2] + r[:, None]) * st
            face[:, 14] = score[idx]
            rows.append(face)
        if not rows:
            return np.zeros((0, 15), np.float32)
        faces = np.concatenate(rows)
        if len(faces) == 1:
            return faces
        boxes = np.trunc(faces[:, :4]).astype(np.float64)  # OpenCV's Rect2i
        keep = cv2.dnn.NMSBoxes(
            boxes.tolist(),
            faces[:, 14].tolist(),
            self.score_threshold,
            self.nms_threshold,
            1.0,
            _TOP_K,
        )
        return faces[np.asarray(keep, dtype=np.intp).reshape(-1)]

    def detect(self, rgb: RGBImage) -> list[Detection]:
        return [
            Detection(
                Box(float(r[0]), float(r[1]), float(r[2]), float(r[3])),
                Landmarks(tuple((float(r[4 + 2 * i]), float(r[5 + 2 * i])) for i in range(5))),
                float(r[14]),
            )
            for r in self.raw(rgb)
        ]
