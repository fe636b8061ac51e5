"""The cheap stages a camera frame goes through before (and instead of) a detector.

* `MaskPlane`: the owner's masks as one boolean plane; `blank` zeroes those pixels in place,
  first of all, so no later stage (motion, detection, faces, snapshots) ever sees them.
* `MotionGate`: a grey copy a few dozen pixels across, compared with the last one; the frame
  moved if enough of it changed. Detection runs only on frames that moved, or while an event
  is open (a person standing still at the door is still there).
* `sharpness`: how much detail a crop holds (variance of its Laplacian), to choose the best
  snapshot of an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regard.domain.cameras import Mask
from regard.domain.face import Box

RGBImage = npt.NDArray[np.uint8]


class MaskPlane:
    """The masks of one camera, drawn once per frame size."""

    def __init__(self, masks: Sequence[Mask]) -> None:
        self.masks = tuple(masks)
        self._planes: dict[tuple[int, int], npt.NDArray[np.bool_]] = {}

    def plane(self, height: int, width: int) -> npt.NDArray[np.bool_]:
        import cv2

        key = (height, width)
        if key not in self._planes:
            canvas = np.zeros((height, width), np.uint8)
            for mask in self.masks:
                pts = np.array(mask.points, np.int32).reshape(-1, 1, 2)
                cv2.fillPoly(canvas, [pts], 1)
            self._planes[key] = canvas.astype(bool)
        return self._planes[key]

    def blank(self, rgb: RGBImage) -> RGBImage:
        """Masked pixels set to black, in place (the frame is the watcher's own copy)."""
        if self.masks:
            rgb[self.plane(rgb.shape[0], rgb.shape[1])] = 0
        return rgb

    def share(self, box: Box, height: int, width: int) -> float:
        """How much of `box` lies under the masks (0..1)."""
        if not self.masks:
            return 0.0
        x0, y0 = max(0, int(box.x)), max(0, int(box.y))
        x1, y1 = min(width, int(box.x + box.w)), min(height, int(box.y + box.h))
        if x1 <= x0 or y1 <= y0:
            return 1.0
        return float(self.plane(height, width)[y0:y1, x0:x1].mean())


@dataclass
class MotionGate:
    """Did the picture change since the last frame looked at?

    `width`: the grey copy's width in pixels; `change`: grey levels a pixel must move by to
    count (noise and compression shimmer stay under it); `share`: the part of the picture
    that must change for motion (0.2 % of it: a cat far away is a few hundred pixels of 720p).
    """

    width: int = 96
    change: int = 18
    share: float = 0.002
    #: Colours (hue-saturation histograms, Bhattacharyya distance) this far apart: another
    #: scene. On the stage clip its cuts measure 0.45-0.56, its moves and close-ups <= 0.22.
    cut: float = 0.35
    changed: float = 0.0  # the share that changed at the last frame
    scene_change: float = 0.0  # the histogram distance at the last frame
    _last: npt.NDArray[np.int16] | None = None
    _hist: npt.NDArray[np.float32] | None = None  # hue-saturation histogram, normalised

    @property
    def was_cut(self) -> bool:
        """Did the last frame show another scene (a clip's cut, a camera's day/night switch)?"""
        return self.scene_change >= self.cut

    def moved(self, rgb: RGBImage) -> bool:
        import cv2

        h, w = rgb.shape[:2]
        height = max(1, round(h * self.width / max(1, w)))
        small = cv2.resize(rgb, (self.width, height), interpolation=cv2.INTER_AREA)
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (3, 3), 0)
        now = grey.astype(np.int16)
        last, self._last = self._last, now
        hist = cv2.calcHist(
            [cv2.cvtColor(small, cv2.COLOR_RGB2HSV)], [0, 1], None, [16, 8], [0, 180, 0, 256]
        )
        cv2.normalize(hist, hist)
        before, self._hist = self._hist, hist.astype(np.float32)
        self.scene_change = (
            0.0
            if before is None
            else float(cv2.compareHist(before, hist, cv2.HISTCMP_BHATTACHARYYA))
        )
        if last is None or last.shape != now.shape:
            self.changed = 0.0
            return True
        self.changed = float((np.abs(now - last) > self.change).mean())
        return self.changed >= self.share

    def reset(self) -> None:
        self._last = None


def sharpness(rgb: RGBImage, box: Box) -> float:
    """Variance of the Laplacian inside `box`: blurred (moving, out of focus) crops score low."""
    import cv2

    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(rgb.shape[1], int(box.x + box.w)), min(rgb.shape[0], int(box.y + box.h))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def snapshot_score(rgb: RGBImage, box: Box, detector_score: float) -> float:
    """Which frame of an event shows it best: large, sharp and confidently detected."""
    area = max(1.0, box.w * box.h)
    return float(np.sqrt(area) * np.log1p(sharpness(rgb, box)) * (0.5 + detector_score))


def head_region(person: Box) -> Box:
    """Where a person's head may be, from their box alone: the top third, the box's whole
    width (a standing person's head is in the top fifth; a bent or seated one's lower). It is
    what is blurred where no face model may look: a public-space camera."""
    return Box(person.x, person.y, person.w, person.h * 0.34)


def iou(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def inside_share(inner: Box, outer: Box) -> float:
    """How much of `inner` lies inside `outer` (0..1)."""
    x0, y0 = max(inner.x, outer.x), max(inner.y, outer.y)
    x1, y1 = min(inner.x + inner.w, outer.x + outer.w), min(inner.y + inner.h, outer.y + outer.h)
    area = inner.w * inner.h
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / area if area > 0 else 0.0
