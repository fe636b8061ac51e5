"""Faces as Regard sees them: where they are, how good they are, the vector that identifies them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
#: A region in whole pixels: x0, y0, x1, y1, with x1 and y1 exclusive.
Rect = tuple[int, int, int, int]
_Corners = TypeVar("_Corners", bound=tuple[float, float, float, float])


def merge_rects(
    rects: Iterable[_Corners], together: Callable[[_Corners, _Corners], bool]
) -> list[_Corners]:
    """`rects` (x0, y0, x1, y1) with every pair that belongs `together` replaced by the
    rectangle around both, until no pair does; in the order they came, merged ones in place
    of the first."""
    out = list(rects)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if together(a, b):
                    around = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    out[i] = cast(_Corners, around)
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return out


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned face box in pixels of the upright (EXIF-oriented) full-resolution photo."""

    x: float
    y: float
    w: float
    h: float

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Landmarks:
    """Five points in photo pixels, in YuNet's order: right eye, left eye, nose tip,
    right mouth corner, left mouth corner (the subject's right and left)."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) != 5:
            raise ValueError(f"expected 5 landmarks, got {len(self.points)}")

    def scaled(self, factor: float) -> Landmarks:
        return Landmarks(tuple((x * factor, y * factor) for x, y in self.points))

    def as_array(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.points, dtype=np.float32)

    def flat(self) -> list[float]:
        return [round(v, 2) for p in self.points for v in p]

    @classmethod
    def from_flat(cls, values: list[float]) -> Landmarks:
        return cls(tuple((values[i], values[i + 1]) for i in range(0, 10, 2)))


@dataclass(frozen=True, slots=True)
class Detection:
    """A face the detector found, before anything else is known about it."""

    box: Box
    landmarks: Landmarks
    score: float

    def scaled(self, factor: float) -> Detection:
        return Detection(self.box.scaled(factor), self.landmarks.scaled(factor), self.score)


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """How usable a face is for recognition. Low-quality faces are kept but marked."""

    size_px: float  # inter-ocular-derived face size in full-resolution pixels
    sharpness: float  # variance of the Laplacian of the aligned crop
    frontalness: float  # 1.0 = looking straight at the camera, 0.0 = profile
    score: float  # 0..1 combination of the three and the detector's confidence
    low: bool  # below the bar for seeding people and for confident matches


@dataclass(frozen=True, slots=True)
class AnalysedFace:
    """A detected face with its quality and its embedding (made by `model_id`)."""

    detection: Detection
    quality: FaceQuality
    embedding: Vector
    model_id: str
