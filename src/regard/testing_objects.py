"""Fake object detectors for fast tests of what is built on `ObjectDetector` (camera alerts).

The same idea as the face fakes in `regard.testing`: a "frame" is an image with solid coloured
squares on white, and a square's colour says what it is (`COLOURS`). `ScriptedObjectDetector`
instead returns prepared detections frame after frame, for tests of timing and debouncing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from regard.domain.face import Box
from regard.domain.models import ModelSpec
from regard.domain.objects import ObjectDetection, kind_of

FAKE_OBJECT_DETECTOR = ModelSpec(
    id="fake-coloured-squares",
    kind="objects",
    package="regard",
    package_version="0",
    resource="-",
    sha256="-",
    licence="-",
    upstream="-",
    input_spec="RGB squares on white",
)

#: Square colour (RGB) -> COCO label.
COLOURS: dict[tuple[int, int, int], str] = {
    (255, 0, 0): "person",
    (0, 255, 0): "cat",
    (0, 0, 255): "dog",
    (255, 255, 0): "car",
    (0, 255, 255): "bird",
    (255, 0, 255): "truck",
}


def draw(
    size: tuple[int, int], squares: Iterable[tuple[str, int, int, int]]
) -> npt.NDArray[np.uint8]:
    """A white frame (width, height) with a square of side s at (x, y) per (label, x, y, s)."""
    frame = np.full((size[1], size[0], 3), 255, dtype=np.uint8)
    by_label = {label: colour for colour, label in COLOURS.items()}
    for label, x, y, side in squares:
        frame[y : y + side, x : x + side] = by_label[label]
    return frame


class SquareObjectDetector:
    """Finds squares of the `COLOURS` of at least 8 px; each one's label is its colour's."""

    spec = FAKE_OBJECT_DETECTOR

    def __init__(self, score: float = 0.9, tolerance: int = 0) -> None:
        """`tolerance`: how far (per channel) a pixel may be from the colour: a video's
        encoding shifts colours a little."""
        self.score = score
        self.tolerance = tolerance

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[ObjectDetection]:
        found = []
        for colour, label in COLOURS.items():
            if self.tolerance:
                off = np.abs(rgb.astype(np.int16) - np.array(colour, dtype=np.int16))
                mask = np.all(off <= self.tolerance, axis=2).astype(np.uint8)
            else:
                mask = np.all(rgb == np.array(colour, dtype=np.uint8), axis=2).astype(np.uint8)
            n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
            for i in range(1, n):
                x, y, w, h, _area = (int(v) for v in stats[i])
                if w >= 8 and h >= 8:
                    box = Box(x, y, w, h)
                    found.append(ObjectDetection(label, kind_of(label), self.score, box))
        return sorted(found, key=lambda d: (d.box.x, d.box.y))


class ScriptedObjectDetector:
    """Returns `script[i]` for the i-th frame it is given (then nothing), and counts frames."""

    spec = FAKE_OBJECT_DETECTOR

    def __init__(self, script: Sequence[Sequence[ObjectDetection]]) -> None:
        self.script = [list(frame) for frame in script]
        self.frames = 0

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[ObjectDetection]:
        i = self.frames
        self.frames += 1
        return list(self.script[i]) if i < len(self.script) else []
