"""YuNet run by onnxruntime: the same network, weights and decoding as `cv2.FaceDetectorYN`,
in about half the CPU time (bench/ingest.py measures it).

The shipped file is block-quantised: each weight is stored as int8 and turned back into
float32 by a `DequantizeLinear` node. `fold_constant_weights` does that once, at load, with
the very formula the node applies, ((q - zero point) x scale, per block), so the network
that runs is the one the file describes, with its float32 weights as constants. The input's
height and width are made free (the file fixes 640x640) so a photo of any shape is seen
whole, padded to a multiple of 32 as OpenCV pads it.

Decoding follows OpenCV 5.0's `FaceDetectorYN` (modules/objdetect/src/face_detect.cpp)
step for step: score = sqrt(clamp(cls) x clamp(obj)); box centre (col + dx, row + dy) x
stride, size exp(dw, dh) x stride; landmarks (col + kx, row + ky) x stride; non-maximum
suppression on the boxes truncated to whole pixels (its `Rect2i`), top 5,000.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import onnx
from onnx import helper, numpy_helper

from regard.domain.face import Box, Detection, Landmarks
from regard.inference.protocols import RGBImage
from regard.inference.registry import YUNET, load_verified

_STRIDES = (8, 16, 32)
_DIVISOR = 32
_TOP_K = 5000


def _dequantized(
    q: npt.NDArray[Any],
    scale: npt.NDArray[Any],
    zero: npt.NDArray[Any] | None,
    axis: int,
    block: int,
) -> npt.NDArray[np.float32]:
    """What `DequantizeLinear` (opset 21) computes for constant inputs."""
    if zero is None:
        zero = np.zeros_like(scale, dtype=q.dtype)
    # (q - z) is a small integer, exact in float32 either way round: subtracting after the
    # conversion gives the bits the int32 subtraction would, without int32 copies.
    if scale.size == 1:  # per tensor
        s, z = scale.reshape(()), zero.astype(np.float32).reshape(())
    else:
        ax = axis % q.ndim
        if block:  # per block of `block` values along `ax`: each block against its own
            last = np.moveaxis(q, ax, -1)
            size, blocks = last.shape[-1], scale.shape[ax]
            padded = np.zeros((*last.shape[:-1], blocks * block), dtype=np.float32)
            padded[..., :size] = last
            grouped = padded.reshape(*last.shape[:-1], blocks, block)
            zs = np.moveaxis(zero, ax, -1)[..., None].astype(np.float32)
            grouped -= zs
            grouped *= np.moveaxis(scale, ax, -1)[..., None].astype(np.float32)
            return np.ascontiguousarray(np.moveaxis(padded[..., :size], -1, ax))
        # per channel along `ax`
        shape = [1] * q.ndim
        shape[ax] = -1
        s, z = scale.reshape(shape), zero.astype(np.float32).reshape(shape)
    return np.asarray((q.astype(np.float32) - z) * s, dtype=np.float32)


def fold_constant_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every `DequantizeLinear` (and `Reshape`) of constants computed once into a
    float32 constant, and the graph inputs nothing reads dropped."""
    const: dict[str, npt.NDArray[Any]] = {
        i.name: numpy_helper.to_array(i) for i in model.graph.initializer
    }
    kept = []
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and all(x in const for x in node.input if x):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            zero = const[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            const[node.output[0]] = _dequantized(
                const[node.input[0]],
                const[node.input[1]],
                zero,
                int(attrs.get("axis", 1)),
                int(attrs.get("block_size", 0)),
            )
        elif node.op_type == "Reshape" and all(x in const for x in node.input):
            const[node.output[0]] = const[node.input[0]].reshape(const[node.input[1]])
        else:
            kept.append(node)
    read = {x for node in kept for x in node.input}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    del out.graph.initializer[:]
    out.graph.initializer.extend(
        numpy_helper.from_array(v, name) for name, v in const.items() if name in read
    )
    inputs = [i for i in model.graph.input if i.name in read and i.name not in const]
    del out.graph.input[:]
    out.graph.input.extend(inputs)
    return out


def _free_image_size(model: onnx.ModelProto) -> None:
    for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim, "nchw", strict=True):
        if name in "hw":
            dim.ClearField("dim_value")
            dim.dim_param = name
    for output in model.graph.output:
        for i, dim in enumerate(output.type.tensor_type.shape.dim):
            dim.ClearField("dim_value")
            dim.dim_param = f"{output.name}_{i}"


class YuNetOrtDetector:
    """YuNet (the int8 block-quantised file, weights folded to float32) via onnxruntime."""

    spec = YUNET

    def __init__(
        self, score_threshold: float = 0.6, nms_threshold: float = 0.3, threads: int = 0
    ) -> None:
        import onnxruntime as ort

        model = fold_constant_weights(onnx.load_from_string(load_verified(self.spec)))
        _free_image_size(model)
        options = ort.SessionOptions()
        # One thread, as OpenCV's (indexing workers set one; the parallelism is theirs),
        # unless told; never spinning, which burns a core that others wait for.
        options.intra_op_num_threads = threads or max(1, cv2.getNumThreads())
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
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
