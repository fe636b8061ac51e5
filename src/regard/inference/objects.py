"""Object detectors for camera alerts (people, pets, vehicles): NanoDet-g and YOLOv3-tiny.

Both run through OpenCV's dnn engine from ONNX files that set-up converted and pinned
(`regard.inference.object_models`). The pipeline talks to them through the `ObjectDetector`
protocol; `regard.testing_objects` has fakes.

Each detector works in three steps, kept apart so a benchmark can time the network alone:
`prepare` letterboxes the image into the network's square input, `infer` runs the network,
`decode` turns its raw outputs into boxes in the image's pixels. `detect` does all three.

NanoDet-g 416 (recommended; people, cats and dogs). Pre-processing as upstream NanoDet:
BGR, (x - mean) / std, aspect kept and centred on black. Its six outputs are, per stride 8,
16 and 32, sigmoid class scores [1, HW, 80] and a GFL box distribution [1, HW, 44]: for each
of the four sides (left, top, right, bottom) 11 logits whose softmax, weighted by 0..10 and
multiplied by the stride, is the distance from the cell's centre ((i + 0.5) · stride) to that
side (`gfl_head.py` of RangiLyu/nanodet, legacy v0.x).

YOLOv3-tiny (fallback; best on people, weak on cats). Pre-processing as Darknet: RGB 0..1,
aspect kept and centred on grey 0.5, at 320 or 416. Its two outputs are the raw maps Darknet's
[yolo] layers read; decoding does what the layer does: x = (col + sigmoid(tx)) * stride,
w = exp(tw) * anchor, objectness sigmoid(to), class score sigmoid(to) * sigmoid(tc).

Both keep (box, class) pairs scoring at least the threshold and then suppress overlaps class
by class (greedy NMS).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box
from regard.domain.models import ModelSpec
from regard.domain.objects import COCO80, KINDS, ObjectDetection, kind_of
from regard.inference.object_models import NANODET_G_416, YOLOV3_TINY, load_converted

RGBImage = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

#: The classes the detectors report by default: those an alert is about.
ALERT_LABELS = frozenset(KINDS)


class ObjectDetector(Protocol):
    spec: ModelSpec

    def detect(self, rgb: RGBImage) -> list[ObjectDetection]:
        """Objects in `rgb` (H x W x 3, uint8), boxes in its own pixel coordinates."""
        ...


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the image sits inside the square network input: input = image · scale + offset."""

    scale_x: float
    scale_y: float
    offset_x: int
    offset_y: int
    width: int  # the image's size
    height: int

    def to_image(self, xyxy: Floats) -> Floats:
        """Boxes (x1, y1, x2, y2) in input pixels -> image pixels, clipped to the image."""
        out = np.empty_like(xyxy)
        out[:, 0::2] = (xyxy[:, 0::2] - self.offset_x) / self.scale_x
        out[:, 1::2] = (xyxy[:, 1::2] - self.offset_y) / self.scale_y
        np.clip(out[:, 0::2], 0, self.width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.height, out=out[:, 1::2])
        return out


def letterbox(rgb: RGBImage, size: int) -> tuple[RGBImage, Placement]:
    """`rgb` scaled to fit a size x size square with its aspect kept, and where it goes in the
    square (centred). Shrinking averages pixels (INTER_AREA) so a 4000 px photo does not alias."""
    import cv2

    h, w = rgb.shape[:2]
    r = min(size / w, size / h)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp) if (nw, nh) != (w, h) else rgb
    place = Placement(nw / w, nh / h, (size - nw) // 2, (size - nh) // 2, w, h)
    return np.asarray(resized, dtype=np.uint8), place


def _blob(
    resized: RGBImage,
    place: Placement,
    size: int,
    channels: tuple[int, int, int],
    scale: Floats,
    offset: Floats,
    fill: Floats,
) -> Floats:
    """A [1, 3, size, size] input: input channel c is RGB channel `channels[c]` times
    `scale[c]` plus `offset[c]` inside the image, `fill[c]` around it. (Plane by plane: numpy
    is slow on a last axis of 3.)"""
    blob = np.empty((1, 3, size, size), dtype=np.float32)
    h, w = resized.shape[:2]
    y, x = place.offset_y, place.offset_x
    for c, source in enumerate(channels):
        blob[0, c] = fill[c]
        plane = blob[0, c, y : y + h, x : x + w]
        np.multiply(resized[:, :, source], scale[c], out=plane, casting="unsafe")
        plane += offset[c]
    return blob


def nms(xyxy: Floats, scores: Floats, classes: npt.NDArray[np.intp], iou: float) -> list[int]:
    """Greedy non-maximum suppression within each class: indices kept, best first."""
    order = np.argsort(-scores, kind="stable")
    # Shifting each class to its own region makes one pass suppress within classes only
    # (boxes may reach past the input's edges, so the span is taken from both ends).
    span = float(np.max(xyxy) - np.min(xyxy)) + 1 if len(xyxy) else 1.0
    boxes = xyxy + (classes.astype(np.float32) * span)[:, None]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]),
            0,
            None,
        )
        iy = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]),
            0,
            None,
        )
        inter = ix * iy
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[overlap <= iou]
    return keep


class _CvDetector:
    """What both detectors share: the verified ONNX file in cv2.dnn, thresholds, labels."""

    spec: ModelSpec
    output_names: tuple[str, ...]

    def __init__(
        self,
        onnx: bytes,
        score_threshold: float,
        nms_threshold: float,
        labels: Collection[str] | None,
        threads: int | None,
    ) -> None:
        # OpenCV 5's new graph engine logs a harmless warning about targets at every load.
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        if threads is not None:
            cv2.setNumThreads(threads)  # process-wide: OpenCV has one thread pool
        self._net = cv2.dnn.readNetFromONNX(np.frombuffer(onnx, np.uint8))
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        unknown = set(labels or ()) - set(COCO80)
        if unknown:
            raise ValueError(f"not COCO classes: {sorted(unknown)}")
        self._wanted = None if labels is None else np.isin(COCO80, list(labels))

    def infer(self, blob: Floats) -> list[Floats]:
        self._net.setInput(blob)
        outs = self._net.forward(list(self.output_names))
        return [np.asarray(o, dtype=np.float32) for o in outs]

    def _finish(
        self, xyxy: Floats, scores: Floats, classes: npt.NDArray[np.intp], place: Placement
    ) -> list[ObjectDetection]:
        """Input-pixel candidates -> suppressed, image-pixel detections, best first."""
        if self._wanted is not None:
            mask = self._wanted[classes]
            xyxy, scores, classes = xyxy[mask], scores[mask], classes[mask]
        found = []
        boxes = place.to_image(xyxy)
        for i in nms(xyxy, scores, classes, self.nms_threshold):
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            label = COCO80[int(classes[i])]
            found.append(
                ObjectDetection(
                    label, kind_of(label), float(scores[i]), Box(x1, y1, x2 - x1, y2 - y1)
                )
            )
        return found


class NanoDetDetector(_CvDetector):
    """NanoDet-g at 416 x 416 (see the module docstring)."""

    spec = NANODET_G_416.spec
    size = 416
    strides = (8, 16, 32)
    reg_max = 10
    mean = np.array([103.53, 116.28, 123.675], dtype=np.float32)  # B, G, R
    std = np.array([57.375, 57.12, 58.395], dtype=np.float32)
    # Class scores per stride 8, 16, 32, then box distributions per stride 8, 16, 32.
    output_names = (
        "Identity",
        "Identity_1",
        "Identity_2",
        "Identity_3",
        "Identity_4",
        "Identity_5",
    )

    def __init__(
        self,
        score_threshold: float = 0.35,
        nms_threshold: float = 0.45,
        labels: Collection[str] | None = ALERT_LABELS,
        threads: int | None = None,
        model_dir: Path | None = None,
    ) -> None:
        super().__init__(
            load_converted(NANODET_G_416, model_dir),
            score_threshold,
            nms_threshold,
            labels,
            threads,
        )

    def prepare(self, rgb: RGBImage) -> tuple[Floats, Placement]:
        resized, place = letterbox(rgb, self.size)
        # BGR, (x - mean) / std as upstream trained it; the border is black before normalising.
        scale = 1.0 / self.std
        offset = -self.mean / self.std
        return _blob(resized, place, self.size, (2, 1, 0), scale, offset, offset), place

    def decode(self, outputs: Sequence[Floats], place: Placement) -> list[ObjectDetection]:
        boxes, scores, classes = [], [], []
        for stride, cls, reg in zip(self.strides, outputs[:3], outputs[3:], strict=True):
            b, s, c = decode_gfl(
                cls.reshape(-1, 80), reg.reshape(-1, 4 * (self.reg_max + 1)), stride,
                self.size, self.reg_max, self.score_threshold,
            )  # fmt: skip
            boxes.append(b)
            scores.append(s)
            classes.append(c)
        return self._finish(
            np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes), place
        )

    def detect(self, rgb: RGBImage) -> list[ObjectDetection]:
        blob, place = self.prepare(rgb)
        return self.decode(self.infer(blob), place)


def decode_gfl(
    cls: Floats, reg: Floats, stride: int, size: int, reg_max: int, threshold: float
) -> tuple[Floats, Floats, npt.NDArray[np.intp]]:
    """One stride's (box, score, class) candidates scoring at least `threshold`, boxes as
    (x1, y1, x2, y2) in input pixels. Cells are row-major over a (size / stride)² grid."""
    cells, classes = np.nonzero(cls >= threshold)
    if cells.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp)
    side = size // stride
    cy = (cells // side + 0.5) * stride
    cx = (cells % side + 0.5) * stride
    logits = reg[cells].reshape(-1, 4, reg_max + 1).astype(np.float64)
    logits -= logits.max(axis=2, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=2, keepdims=True)
    dist = (p @ np.arange(reg_max + 1, dtype=np.float64)) * stride  # left, top, right, bottom
    xyxy = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1)
    np.clip(xyxy, 0, size, out=xyxy)
    return xyxy.astype(np.float32), cls[cells, classes].astype(np.float32), classes.astype(np.intp)


@dataclass(frozen=True, slots=True)
class YoloOutput:
    output: str
    stride: int
    anchors: tuple[tuple[float, float], ...]  # (w, h) in input pixels


class YoloV3TinyDetector(_CvDetector):
    """YOLOv3-tiny at 320 or 416 (any multiple of 32; see the module docstring)."""

    spec = YOLOV3_TINY.spec
    # From the [yolo] sections of yolov3-tiny.cfg (a test checks them against the file).
    heads = (
        YoloOutput("yolo0", 32, ((81, 82), (135, 169), (344, 319))),
        YoloOutput("yolo1", 16, ((10, 14), (23, 27), (37, 58))),
    )
    output_names = ("yolo0", "yolo1")
    fill = np.array([0.5, 0.5, 0.5], dtype=np.float32)

    def __init__(
        self,
        size: int = 416,
        score_threshold: float = 0.3,
        nms_threshold: float = 0.45,
        labels: Collection[str] | None = ALERT_LABELS,
        threads: int | None = None,
        model_dir: Path | None = None,
    ) -> None:
        if size <= 0 or size % 32:
            raise ValueError(f"YOLOv3-tiny's input size must be a multiple of 32, not {size}")
        self.size = size
        super().__init__(
            load_converted(YOLOV3_TINY, model_dir), score_threshold, nms_threshold, labels, threads
        )

    def prepare(self, rgb: RGBImage) -> tuple[Floats, Placement]:
        resized, place = letterbox(rgb, self.size)
        scale = np.full(3, 1.0 / 255.0, dtype=np.float32)
        offset = np.zeros(3, dtype=np.float32)
        return _blob(resized, place, self.size, (0, 1, 2), scale, offset, self.fill), place

    def decode(self, outputs: Sequence[Floats], place: Placement) -> list[ObjectDetection]:
        parts = [
            decode_yolo(out, head.anchors, head.stride, self.score_threshold)
            for out, head in zip(outputs, self.heads, strict=True)
        ]
        xyxy = np.concatenate([p[0] for p in parts])
        return self._finish(
            xyxy,
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            place,
        )

    def detect(self, rgb: RGBImage) -> list[ObjectDetection]:
        blob, place = self.prepare(rgb)
        return self.decode(self.infer(blob), place)


def _sigmoid(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def decode_yolo(
    raw: Floats, anchors: Sequence[tuple[float, float]], stride: int, threshold: float
) -> tuple[Floats, Floats, npt.NDArray[np.intp]]:
    """One [yolo] layer's (box, score, class) candidates scoring at least `threshold`, as
    Darknet's yolo layer computes them, boxes as (x1, y1, x2, y2) in input pixels.

    `raw` is the layer's input, [1, anchors * (5 + classes), rows, cols]."""
    _, channels, rows, cols = raw.shape
    a = len(anchors)
    maps = raw.reshape(a, channels // a, rows, cols).astype(np.float64)
    objectness = _sigmoid(maps[:, 4])
    # Score = objectness * class probability <= objectness: cells below the threshold in
    # objectness cannot have a class above it.
    anchor, row, col = np.nonzero(objectness >= threshold)
    if anchor.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp)
    cell = maps[anchor, :, row, col]  # [n, 5 + classes]
    scores = objectness[anchor, row, col][:, None] * _sigmoid(cell[:, 5:])
    which, classes = np.nonzero(scores >= threshold)
    cell = cell[which]
    sizes = np.asarray(anchors, dtype=np.float64)[anchor[which]]
    cx = (col[which] + _sigmoid(cell[:, 0])) * stride
    cy = (row[which] + _sigmoid(cell[:, 1])) * stride
    w = np.exp(cell[:, 2]) * sizes[:, 0]
    h = np.exp(cell[:, 3]) * sizes[:, 1]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return (
        xyxy.astype(np.float32),
        scores[which, classes].astype(np.float32),
        classes.astype(np.intp),
    )
