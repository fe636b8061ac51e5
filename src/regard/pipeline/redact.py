"""Redact: which detections to blur and how, and the search for what blurring uncovers.

Shared by photos and video frames; each supplies a `Canvas` (detect in a region, blur a
rectangle) over its own pixels (RGB for photos, YUV planes for video).

- The detector runs with a low score threshold: a missed face costs a person's privacy, a
  false one a blurred patch of background.
- Confident detections (`min_score` and up) are faces to cover (and, in video, to track);
  fainter ones down to `faint_score` are covered too, in their image only.
- A box longer than `big_size` of the image's short side that scores under `big_score` is
  blurred as it is, neither grown nor searched around: it is as often scenery (pillars,
  curtains) as a face cut by the image's edge, and growing it and searching around it, over
  and over, blurred half of a 1080p frame.
- Blurring a face changes what is around it: an ear, a coat or the back of a head beside a
  blurred face can look more like a face than before (YuNet's score for an ear went from
  0.24 to 0.48, measured, once the frame was blurred and H.264-encoded). So the surroundings
  of what was blurred are searched again, down to `recheck_score`, and what is found there is
  blurred too, up to `recheck_passes` times. The rest of the image is as the detector saw it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from regard.domain.face import Box
from regard.inference.sessions import FaceDetector, RGBImage
from regard.pipeline.anonymise import (
    BlurSettings,
    CoverRules,
    Rect,
    blur_rect_in_place,
    cover_box,
    pixel_rect,
)

#: Two boxes overlapping this much are the same face.
SAME_FACE_IOU = 0.3
#: Photos are searched at up to this many pixels on the long side.
DETECT_LONG_SIDE = 2560


@dataclass(frozen=True, slots=True)
class RedactSettings:
    min_score: float = 0.25  # a face to cover (and track)
    faint_score: float = 0.15  # covered in its image only
    big_size: float = 1 / 3  # share of the short side beyond which a box is big ...
    big_score: float = 0.5  # ... and, under this score, doubtful: blurred as it is
    recheck_passes: int = 3
    recheck_score: float = 0.1
    recheck_margin: float = 1.0  # searched around a blurred box, as a share of its long side
    doubtful_margin: float = 0.25  # ... around a doubtful one (it is big: a narrower ring)
    # ... and at least this many pixels: the detector misses a face that fills its crop.
    recheck_context: int = 128
    # Photos only: the result is looked at again from afar, at this many pixels on the long
    # side, `far_passes` times at most: a blurred head on shoulders can look like a face there.
    far_side: int = 640
    far_passes: int = 2

    @property
    def lowest_score(self) -> float:
        """The score threshold the detector must be built with, at most."""
        return min(self.min_score, self.faint_score, self.recheck_score)


#: The score threshold to build the detector with: the lowest score `RedactSettings` uses.
ANONYMISE_SCORE_THRESHOLD = RedactSettings().lowest_score


@dataclass(frozen=True, slots=True)
class Found:
    box: Box  # in image pixels
    score: float
    doubtful: bool  # big and not confident: scenery, or a face cut by the image's edge


class Canvas(Protocol):
    """An image being redacted."""

    width: int
    height: int

    def detect(self, region: Rect) -> list[tuple[Box, float]]:
        """Detections (box in image pixels, score) in `region`, at the detection scale."""
        ...

    def blur(self, rect: Rect, flat: bool = False) -> None:
        """Anonymise `rect` (clipped to the image) with the blur settings, or, if `flat`,
        fill it with its mean colour."""
        ...


@dataclass(slots=True)
class Cover:
    """What to blur in one image."""

    faces: list[Box] = field(default_factory=list)  # blurred over their cover boxes
    plain: list[Box] = field(default_factory=list)  # blurred as they are


def sort_found(canvas: Canvas, region: Rect, min_score: float, s: RedactSettings) -> list[Found]:
    """Detections in `region` scoring at least `min_score`, marked doubtful or not."""
    big = s.big_size * min(canvas.width, canvas.height)
    return [
        Found(box, score, score < s.big_score and max(box.w, box.h) > big)
        for box, score in canvas.detect(region)
        if score >= min_score
    ]


def first_look(canvas: Canvas, s: RedactSettings) -> tuple[list[Box], Cover]:
    """Detect in the whole image: (confident faces, to track or cover; the faint and doubtful
    ones, to cover in this image only)."""
    found = sort_found(canvas, (0, 0, canvas.width, canvas.height), s.faint_score, s)
    confident = [f.box for f in found if f.score >= s.min_score and not f.doubtful]
    extra = Cover(
        faces=[f.box for f in found if f.score < s.min_score and not f.doubtful],
        plain=[f.box for f in found if f.doubtful],
    )
    return confident, extra


@dataclass(slots=True)
class Redaction:
    found: int  # detections the searches around what was blurred found
    covered: list[Rect]  # every rectangle blurred (faces grown to their cover boxes)


def redact(canvas: Canvas, cover: Cover, s: RedactSettings, rules: CoverRules) -> Redaction:
    """Blur `cover` (faces grown to cover boxes by `rules`), then search around what was
    blurred and blur what turns up."""
    plain = _blur(canvas, cover.plain, rules, grow=False)
    blurred = _blur(canvas, cover.faces, rules, grow=True)
    all_plain, all_blurred = list(plain), list(blurred)
    rechecked = 0
    for _ in range(s.recheck_passes):
        regions = [_surroundings(canvas, r, s.recheck_margin, s.recheck_context) for r in blurred]
        regions += [_surroundings(canvas, r, s.doubtful_margin, s.recheck_context) for r in plain]
        found: list[Found] = []
        for region in merged(regions):
            found.extend(sort_found(canvas, region, s.recheck_score, s))
        # A big blurred patch is found again as a big doubtful box: it is blurred already.
        found = [f for f in found if not (f.doubtful and _within(f.box, all_plain))]
        if not found:
            break
        rechecked += len(found)
        # A "face" found on what is blurred already is the blur's own smooth blob, which a
        # second blur leaves a blob: it is flattened to one colour, which no detector finds.
        blobs = [f for f in found if not f.doubtful and _within(f.box, all_blurred)]
        for f in blobs:
            rect = pixel_rect(f.box)
            if rect is not None:
                canvas.blur(rect, flat=True)
        rest = [f for f in found if f not in blobs]
        plain = _blur(canvas, [f.box for f in rest if f.doubtful], rules, grow=False)
        all_plain += plain
        blurred = _blur(canvas, [f.box for f in rest if not f.doubtful], rules, grow=True)
        all_blurred += blurred
    return Redaction(rechecked, all_blurred + all_plain)


def _blur(canvas: Canvas, boxes: Iterable[Box], rules: CoverRules, grow: bool) -> list[Rect]:
    done = []
    for box in boxes:
        if grow:
            box = cover_box(box, canvas.width, canvas.height, rules)
        rect = pixel_rect(box)
        if rect is not None:
            canvas.blur(rect)
            done.append(rect)
    return done


_FLAT = BlurSettings(method="solid")


def _within(box: Box, rects: list[Rect], share: float = 0.8) -> bool:
    """At least `share` of `box` lies in one of `rects`."""
    return any(_shared(box, r) >= share for r in rects)


def _surroundings(canvas: Canvas, rect: Rect, margin: float, least: int) -> Rect:
    x0, y0, x1, y1 = rect
    m = max(least, round(max(x1 - x0, y1 - y0) * margin))
    # Even corners, so a YUV 4:2:0 canvas maps the region onto whole chroma samples.
    x0, y0 = max(0, x0 - m), max(0, y0 - m)
    x1, y1 = min(canvas.width, x1 + m), min(canvas.height, y1 + m)
    return x0 - x0 % 2, y0 - y0 % 2, min(canvas.width, x1 + x1 % 2), min(canvas.height, y1 + y1 % 2)


def merged(rects: list[Rect]) -> list[Rect]:
    """`rects` with every overlapping pair replaced by its bounding rectangle, until none
    overlap."""
    out = list(rects)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return out


class RGBCanvas:
    """A photo (upright RGB, full resolution) as a `Canvas`; blurred in place."""

    def __init__(
        self, rgb: RGBImage, detector: FaceDetector, blur: BlurSettings, detect_long_side: int
    ) -> None:
        self.rgb = rgb
        self.height, self.width = rgb.shape[:2]
        self._detector = detector
        self._blur = blur
        self._scale = min(1.0, detect_long_side / max(self.width, self.height))

    def detect(self, region: Rect) -> list[tuple[Box, float]]:
        x0, y0, x1, y1 = region
        crop: RGBImage = self.rgb[y0:y1, x0:x1]
        if self._scale < 1.0:
            size = (max(1, round((x1 - x0) * self._scale)), max(1, round((y1 - y0) * self._scale)))
            crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)
        sx, sy = (x1 - x0) / crop.shape[1], (y1 - y0) / crop.shape[0]
        return [
            (Box(x0 + d.box.x * sx, y0 + d.box.y * sy, d.box.w * sx, d.box.h * sy), d.score)
            for d in self._detector.detect(crop)
        ]

    def blur(self, rect: Rect, flat: bool = False) -> None:
        blur_rect_in_place(self.rgb, rect, _FLAT if flat else self._blur)


class KeepCanvas:
    """A `Canvas` that does not see the faces meant to stay visible: a detection overlapping
    one of `keep` by `SAME_FACE_IOU` or more is that face, neither blurred nor searched around."""

    def __init__(self, inner: Canvas, keep: Sequence[Box]) -> None:
        self.inner, self.keep = inner, list(keep)
        self.width, self.height = inner.width, inner.height

    def detect(self, region: Rect) -> list[tuple[Box, float]]:
        return [(b, s) for b, s in self.inner.detect(region) if not overlaps(b, self.keep)]

    def blur(self, rect: Rect, flat: bool = False) -> None:
        self.inner.blur(rect, flat)


def overlaps(box: Box, others: Sequence[Box]) -> bool:
    """Whether `box` is one of `others` (the same face, seen by another detection)."""
    return any(box.iou(o) >= SAME_FACE_IOU for o in others)


@dataclass(frozen=True, slots=True)
class RedactedPhoto:
    rgb: RGBImage  # a new image; the input is not changed
    faces: int  # faces covered (known, confident and faint)
    found: int  # of those, found by the detector and not among the known faces
    doubtful: int  # big, doubtful boxes blurred as they are
    rechecked: int  # found only by searching around what was blurred


def redact_photo(
    rgb: RGBImage,
    detector: FaceDetector,
    settings: RedactSettings | None = None,
    blur: BlurSettings | None = None,
    detect_long_side: int = DETECT_LONG_SIDE,
    *,
    known: Sequence[Box] = (),
    keep: Sequence[Box] = (),
) -> RedactedPhoto:
    """A copy of `rgb` (upright, full resolution) with every face blurred: the `known` ones
    (from the catalog) and every other one `detector` finds, except those in `keep`, which
    stay as they are. Build `detector` with a score threshold of `ANONYMISE_SCORE_THRESHOLD`
    or lower."""
    s, b = settings or RedactSettings(), blur or BlurSettings()
    own: RGBImage = np.array(rgb, dtype=np.uint8, copy=True)
    pixels = RGBCanvas(own, detector, b, detect_long_side)
    canvas: Canvas = KeepCanvas(pixels, keep) if keep else pixels
    confident, extra = first_look(canvas, s)
    fresh = [f for f in confident + extra.faces if not overlaps(f, known)]
    cover = Cover(list(known) + fresh, extra.plain)
    done = redact(canvas, cover, s, b.cover)
    far: Canvas = RGBCanvas(own, detector, b, s.far_side)
    far_found = _look_from_afar(KeepCanvas(far, keep) if keep else far, canvas, done.covered, s, b)
    return RedactedPhoto(
        pixels.rgb, len(cover.faces), len(fresh), len(cover.plain), done.found + far_found
    )


def _look_from_afar(
    far: Canvas, canvas: Canvas, covered: list[Rect], s: RedactSettings, b: BlurSettings
) -> int:
    """Search the whole (redacted) image at `s.far_side` pixels: a "face" on a blurred patch is
    the patch seen from afar, flattened to one colour; anything else is a face missed up
    close, redacted like the others. The number of detections found."""
    found_total = 0
    for _ in range(s.far_passes):
        found = sort_found(far, (0, 0, far.width, far.height), s.min_score, s)
        if not found:
            break
        found_total += len(found)
        missed: list[Box] = []
        for f in found:
            patch = max(covered, key=lambda r: _shared(f.box, r), default=None)
            if patch is not None and _shared(f.box, patch) >= 0.5:
                canvas.blur(patch, flat=True)
            else:
                missed.append(f.box)
        if missed:
            more = redact(canvas, Cover(faces=missed), s, b.cover)
            found_total += more.found
            covered += more.covered
    return found_total


def _shared(box: Box, rect: Rect) -> float:
    """The share of `box` inside `rect`."""
    x0, y0, x1, y1 = rect
    ix = max(0.0, min(box.x + box.w, x1) - max(box.x, x0))
    iy = max(0.0, min(box.y + box.h, y1) - max(box.y, y0))
    return ix * iy / max(box.w * box.h, 1e-9)
