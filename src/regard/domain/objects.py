"""Things other than faces that a camera alert cares about: people, pets and vehicles.

A detection names its COCO class (`label`) and the kind of alert it belongs to (`kind`).
Only the classes in `KINDS` have a kind; detectors leave the other 70 COCO classes out
unless asked for everything, and then their kind is "other".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from regard.domain.face import Box

Kind = Literal["person", "pet", "vehicle", "other"]

#: The 80 COCO classes in the order every COCO-trained detector numbers them, with the names
#: COCO itself uses (Darknet's coco.names spells a few differently: see DARKNET_SPELLING).
COCO80 = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip

#: Darknet's coco.names where it differs from COCO's own names (same index).
DARKNET_SPELLING = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}

#: The classes an alert is about, and which kind of alert each one raises.
KINDS: dict[str, Kind] = {
    "person": "person",
    "cat": "pet",
    "dog": "pet",
    "bird": "pet",
    "bicycle": "vehicle",
    "car": "vehicle",
    "motorcycle": "vehicle",
    "bus": "vehicle",
    "truck": "vehicle",
}


def kind_of(label: str) -> Kind:
    return KINDS.get(label, "other")


@dataclass(frozen=True, slots=True)
class ObjectDetection:
    """One object in an image: its COCO class, the alert kind, a score in 0..1 and a box in
    the image's pixels (x, y of the top-left corner, width, height)."""

    label: str
    kind: Kind
    score: float
    box: Box
