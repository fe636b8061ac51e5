"""Redact: which detections are faces to blur, and the search for what blurring leaves.

Shared by photos and video frames; each supplies a `Canvas` (detect in a region, blur a head)
over its own pixels (RGB for photos, YUV planes for video).

Two-sided: every face is covered — no detector finds a face again where there was one (YuNet
and CenterFace at a score of 0.5, the bar the copies are tested against) — and nothing else is
(blurred pixels outside the true heads: under 1 % of a photo on average and 5 % at most, on
the group photos whose heads were boxed by hand, tests/data/head_boxes.csv).

- The first look searches the whole image. From `min_score` a detection is a face. Fainter
  ones, down to `faint_score`, are mostly not: in the counted group photos every real face
  scores 0.68 or more, and the 13 detections between 0.3 and 0.5 are sleeves, hands, a
  chandelier and patches of scenery up to half the photo wide. So a faint one is a face only if
  a second look agrees: the region again, the candidate `confirm_size` pixels long, must score
  `min_score` (none of the 13 does; in the crowd video a boy looking down, at 0.45, does).
  In video, faint detections also keep a face already tracked covered (`FaceTracker`).
- Each face is blurred over its head (`regard.pipeline.anonymise.blur.head_box`: an ellipse, and
  the face box whole).
- Blurring changes what is around a face, and a blurred head can itself still read as a face
  (an oval under white hair, on shoulders). So the blurred image is searched again, whole (a
  detector scores a blurred head differently in a crop than in the whole image, and a copy is
  judged whole), then around what changed, `recheck_passes` searches in all. A detection *on*
  a blurred head (its centre in the head, its size a fifth to 2.5 times the face's), from
  `recheck_score`, means the blur left a face-like blob: that head is filled with its mean
  colour, which no detector reads as a face by its features; seen again still (a flat oval
  under hair or beside a hand keeps a head's outline), its whole box is filled. Neither
  changes a pixel outside the head. The score is low because encoding the copy raises it (a
  blob at 0.39 before H.264 scored 0.53 after, measured). A detection elsewhere is a face only
  from `min_score` (a face the first look missed) and is covered like the others; one
  spanning or centred on blurred heads is those heads, not a face. Nothing fainter is blurred
  anew: growing new blurs from faint finds around blurred patches, pass after pass, is what
  smeared two thirds of a photo.
- Faces to keep visible (`KeepCanvas`) are hidden from every search, and their heads, with a
  margin (`KEEP_MARGIN`), are a hard exclusion zone for every blur (`keep_zone`): only the face
  boxes of the people being blurred are blurred where they overlap a kept head.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box, Detection, Landmarks, Rect, merge_rects
from regard.inference.protocols import FaceDetector, RGBImage
from regard.pipeline.anonymise.blur import (
    BlurSettings,
    CoverRules,
    Mask,
    blur_rect_in_place,
    clip_rect,
    head_box,
    pixel_rect,
)

#: Two boxes overlapping this much are the same face.
SAME_FACE_IOU = 0.3
#: Photos are searched at up to this many pixels on the long side.
DETECT_LONG_SIDE = 2560
#: A kept face's head, as `head_box` grows it, is a fit, not a bound: hand-labelled heads
#: reach past it by up to a third of its size (a profile's hair, a hat). So no blur writes
#: within this share of its size around it either.
KEEP_MARGIN = 0.35


@dataclass(frozen=True, slots=True)
class RedactSettings:
    min_score: float = 0.5  # a face to cover (and track)
    faint_score: float = 0.3  # from here, a face if the second look agrees
    confirm_size: int = 112  # the second look sees the candidate this many pixels long
    recheck_score: float = 0.25  # a blurred head still seen as a face, flattened: a margin
    recheck_passes: int = 2
    recheck_margin: float = 1.0  # searched around a blurred head, as a share of its long side
    recheck_context: int = 128  # ... and at least this many pixels (a face filling its crop)
    # A detection is of a blurred head when its centre is in the head and its box is between
    # these shares of the face's box (longer sides): a blob the size of the face, or a part of
    # it (an edge of the blur against a dark background read as an eye).
    same_head_size: tuple[float, float] = (0.2, 2.5)
    # Photos only: the result is looked at again from afar, at this many pixels on the long
    # side: a blurred head on shoulders can look like a face there.
    far_side: int = 640

    @property
    def lowest_score(self) -> float:
        """The score threshold the detector must be built with, at most."""
        return min(self.min_score, self.faint_score, self.recheck_score)


#: The score threshold to build the detector with: the lowest score `RedactSettings` uses.
ANONYMISE_SCORE_THRESHOLD = RedactSettings().lowest_score


@dataclass(frozen=True, slots=True)
class Target:
    """A face to blur: its detector box and, where known, its landmarks (which say how the
    head is turned)."""

    box: Box
    landmarks: Landmarks | None = None

    @classmethod
    def of(cls, face: Box | Detection) -> Target:
        return cls(face) if isinstance(face, Box) else cls(face.box, face.landmarks)


class Canvas(Protocol):
    """An image being redacted."""

    width: int
    height: int

    def detect(self, region: Rect, scale: float | None = None) -> list[Detection]:
        """Detections (in image pixels) in `region`, at the canvas's detection scale or, if
        given, at `scale` (detector pixels per image pixel)."""
        ...

    def blur(
        self, rect: Rect, flat: bool = False, core: Rect | None = None, whole: bool = False
    ) -> None:
        """Anonymise the head in `rect` (clipped to the image), the face box `core` within it
        wholly, with the blur settings, or, if `flat`, fill it with its mean colour; all of
        `rect` if `whole`, whatever the settings' shape."""
        ...


@dataclass(slots=True)
class Cover:
    """What to blur in one image."""

    faces: list[Target] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Look:
    """What the first look found: faces, and faint detections no second look confirmed (which
    video uses to follow a face already tracked)."""

    faces: list[Target]
    faint: list[Detection]


def first_look(canvas: Canvas, s: RedactSettings) -> Look:
    """The faces in the whole image: confident detections, and faint ones a second look
    confirms."""
    found = canvas.detect((0, 0, canvas.width, canvas.height))
    sure = [d for d in found if d.score >= s.min_score]
    faint = [
        d
        for d in found
        if s.faint_score <= d.score < s.min_score and not overlaps(d.box, [f.box for f in sure])
    ]
    yes = [d for d in faint if confirmed(canvas, d.box, s)]
    return Look(
        [Target(d.box, d.landmarks) for d in sure + yes], [d for d in faint if d not in yes]
    )


def confirmed(canvas: Canvas, box: Box, s: RedactSettings) -> bool:
    """Whether the region around `box`, seen with the box `s.confirm_size` pixels long, holds
    a face there scoring `s.min_score` or more."""
    side = max(box.w, box.h, 1.0)
    rect = pixel_rect(Box(box.x - side, box.y - side, box.w + 2 * side, box.h + 2 * side))
    region = clip_rect(rect, canvas.width, canvas.height) if rect is not None else None
    if region is None:
        return False
    scale = s.confirm_size / side
    return any(
        d.score >= s.min_score and d.box.iou(box) >= SAME_FACE_IOU
        for d in canvas.detect(_even(region, canvas), scale)
    )


@dataclass(slots=True)
class Head:
    """A face blurred: its head (what was blurred) and its face box (blurred whole)."""

    target: Target
    rect: Rect  # the head, in whole pixels (not clipped)
    core: Rect | None  # the face box, in whole pixels: covered whole
    flat: int = 0  # 1: filled with its mean colour; 2: its whole box filled


@dataclass(slots=True)
class Redaction:
    heads: list[Head]  # every head blurred
    new: int = 0  # faces found only by searching what was blurred, and covered
    flattened: int = 0  # heads a detector still saw a face on, filled with their mean colour

    @property
    def covered(self) -> list[Rect]:
        """Every head blurred, in whole pixels (not clipped to the image)."""
        return [h.rect for h in self.heads]


def redact(canvas: Canvas, cover: Cover, s: RedactSettings, rules: CoverRules) -> Redaction:
    """Blur `cover` (faces grown to their heads by `rules`), then search what was blurred: a
    face still seen on a blurred head flattens it, a new face is covered."""
    done = Redaction(_blur(canvas, cover.faces, rules))
    if done.heads and s.recheck_passes > 0:
        # The whole image, not crops around the heads: the detector scores a blurred head
        # differently with more or less around it (0.38 in a crop, 0.54 in the whole frame,
        # measured), and a copy is judged whole.
        found = canvas.detect((0, 0, canvas.width, canvas.height))
        fresh = _settle(
            canvas, _dedupe([d for d in found if d.score >= s.recheck_score]), done, s, rules
        )
        recheck(canvas, done, fresh, s, rules, s.recheck_passes - 1)
    return done


def recheck(
    canvas: Canvas,
    done: Redaction,
    fresh: list[Head],
    s: RedactSettings,
    rules: CoverRules,
    passes: int,
) -> None:
    """Search around the heads in `fresh` (just blurred, or blurred again), at most `passes`
    times, and act on what is found (`_settle`)."""
    for _ in range(passes):
        if not fresh:
            return
        regions = [_surroundings(canvas, h.rect, s) for h in fresh]
        found: list[Detection] = []
        for region in merged(regions):
            found.extend(d for d in canvas.detect(region) if d.score >= s.recheck_score)
        fresh = _settle(canvas, _dedupe(found), done, s, rules)


def _settle(
    canvas: Canvas, found: list[Detection], done: Redaction, s: RedactSettings, rules: CoverRules
) -> list[Head]:
    """Act on detections made in the redacted image: flatten the heads they are on, cover the
    new faces. The heads changed."""
    changed: list[Head] = []
    new: list[Target] = []
    for d in found:
        head = on_head(d.box, done.heads, s)
        if head is not None:
            # A flat oval can still read as a head (under hair, beside a hand): then the whole
            # box is filled, which no longer has a head's outline.
            if head.flat < 2:
                head.flat += 1
                canvas.blur(head.rect, flat=True, core=head.core, whole=head.flat == 2)
                if head.flat == 1:
                    done.flattened += 1
                changed.append(head)
        elif (
            d.score >= s.min_score
            and not _over_heads(d.box, done.heads)
            and not overlaps(d.box, [t.box for t in new])
        ):
            new.append(Target(d.box, d.landmarks))
    more = _blur(canvas, new, rules)
    done.heads.extend(more)
    done.new += len(more)
    return changed + more


def on_head(box: Box, heads: Sequence[Head], s: RedactSettings) -> Head | None:
    """The blurred head `box` is a detection of: its centre is in the head and it is about
    the size of that head's face."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    lo, hi = s.same_head_size
    for h in heads:
        x0, y0, x1, y1 = h.rect
        face = max(h.target.box.w, h.target.box.h, 1.0)
        if x0 <= cx < x1 and y0 <= cy < y1 and lo <= max(box.w, box.h) / face <= hi:
            return h
    return None


def _over_heads(box: Box, heads: Sequence[Head]) -> bool:
    """Whether `box` is centred on a blurred head or holds one's centre: a detection of blurred
    patches (a face-sized one is `on_head`), not a face of its own."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    for h in heads:
        x0, y0, x1, y1 = h.rect
        hx, hy = (x0 + x1) / 2, (y0 + y1) / 2
        if x0 <= cx < x1 and y0 <= cy < y1:
            return True
        if box.x <= hx < box.x + box.w and box.y <= hy < box.y + box.h:
            return True
    return False


def _blur(canvas: Canvas, faces: Sequence[Target], rules: CoverRules) -> list[Head]:
    done = []
    for face in faces:
        rect = pixel_rect(head_box(face.box, face.landmarks, rules))
        if rect is not None and clip_rect(rect, canvas.width, canvas.height) is not None:
            core = pixel_rect(face.box)
            canvas.blur(rect, core=core)
            done.append(Head(face, rect, core))
    return done


def _dedupe(found: list[Detection]) -> list[Detection]:
    """One detection per face where overlapping regions found it twice, the best first."""
    out: list[Detection] = []
    for d in sorted(found, key=lambda d: -d.score):
        if not overlaps(d.box, [o.box for o in out]):
            out.append(d)
    return out


def _surroundings(canvas: Canvas, rect: Rect, s: RedactSettings) -> Rect:
    x0, y0, x1, y1 = rect
    m = max(s.recheck_context, round(max(x1 - x0, y1 - y0) * s.recheck_margin))
    grown = clip_rect((x0 - m, y0 - m, x1 + m, y1 + m), canvas.width, canvas.height)
    assert grown is not None  # the head is in the image (`_blur` checked)
    return _even(grown, canvas)


def _even(rect: Rect, canvas: Canvas) -> Rect:
    """`rect` with even corners, so a YUV 4:2:0 canvas maps it onto whole chroma samples."""
    x0, y0, x1, y1 = rect
    return (
        x0 - x0 % 2,
        y0 - y0 % 2,
        min(canvas.width, x1 + x1 % 2),
        min(canvas.height, y1 + y1 % 2),
    )


def merged(rects: list[Rect]) -> list[Rect]:
    """`rects` with every overlapping pair replaced by its bounding rectangle, until none
    overlap."""
    return merge_rects(
        rects, lambda a, b: a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    )


class RGBCanvas:
    """A photo (upright RGB, full resolution) as a `Canvas`; blurred in place, never inside
    `protect` (a mask of the whole image: the heads of the faces kept visible)."""

    def __init__(
        self,
        rgb: RGBImage,
        detector: FaceDetector,
        blur: BlurSettings,
        detect_long_side: int,
        protect: Mask | None = None,
    ) -> None:
        self.rgb = rgb
        self.height, self.width = rgb.shape[:2]
        self.protect = protect
        self._detector = detector
        self._blur = blur
        self._scale = min(1.0, detect_long_side / max(self.width, self.height))

    def detect(self, region: Rect, scale: float | None = None) -> list[Detection]:
        import cv2

        x0, y0, x1, y1 = region
        crop: RGBImage = self.rgb[y0:y1, x0:x1]
        f = self._scale if scale is None else scale
        if f != 1.0:
            size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
            how = cv2.INTER_AREA if f < 1.0 else cv2.INTER_LINEAR
            crop = np.asarray(cv2.resize(crop, size, interpolation=how), np.uint8)
        sx, sy = (x1 - x0) / crop.shape[1], (y1 - y0) / crop.shape[0]
        return [_placed(d, x0, y0, sx, sy) for d in self._detector.detect(crop)]

    def blur(
        self, rect: Rect, flat: bool = False, core: Rect | None = None, whole: bool = False
    ) -> None:
        clipped = clip_rect(rect, self.width, self.height)
        if clipped is None:
            return
        how = self._blur if not flat else _flat_like(self._blur)
        if whole:
            how = replace(how, shape="box")
        with protected(self.rgb, clipped, self.protect):
            blur_rect_in_place(self.rgb, rect, how, core=core)


@contextmanager
def protected(plane: npt.NDArray[np.uint8], rect: Rect, protect: Mask | None) -> Iterator[None]:
    """Whatever is written into `plane` inside `rect` in the block is undone where `protect`
    (a mask of the whole plane) is set: the heads of the faces kept visible."""
    x0, y0, x1, y1 = rect
    kept = None if protect is None else protect[y0:y1, x0:x1]
    saved = plane[y0:y1, x0:x1][kept] if kept is not None and kept.any() else None
    yield
    if saved is not None:
        plane[y0:y1, x0:x1][kept] = saved


def _flat_like(blur: BlurSettings) -> BlurSettings:
    return BlurSettings(method="solid", shape=blur.shape, cover=blur.cover)


def _placed(d: Detection, x0: int, y0: int, sx: float, sy: float) -> Detection:
    """A detection made in a crop at (x0, y0) scaled by (1/sx, 1/sy), in image pixels."""
    box = Box(x0 + d.box.x * sx, y0 + d.box.y * sy, d.box.w * sx, d.box.h * sy)
    points = tuple((x0 + x * sx, y0 + y * sy) for x, y in d.landmarks.points)
    return Detection(box, Landmarks(points), d.score)


class KeepCanvas:
    """A `Canvas` that does not see the faces meant to stay visible: a detection overlapping
    one of `keep` by `SAME_FACE_IOU` or more, or centred in it, is that face, neither blurred
    nor searched around."""

    def __init__(self, inner: Canvas, keep: Sequence[Box]) -> None:
        self.inner, self.keep = inner, list(keep)
        self.width, self.height = inner.width, inner.height

    def detect(self, region: Rect, scale: float | None = None) -> list[Detection]:
        return [
            d
            for d in self.inner.detect(region, scale)
            if not overlaps(d.box, self.keep) and not _centred_in(d.box, self.keep)
        ]

    def blur(
        self, rect: Rect, flat: bool = False, core: Rect | None = None, whole: bool = False
    ) -> None:
        self.inner.blur(rect, flat, core, whole)


def overlaps(box: Box, others: Sequence[Box]) -> bool:
    """Whether `box` is one of `others` (the same face, seen by another detection)."""
    return any(box.iou(o) >= SAME_FACE_IOU for o in others)


def _centred_in(box: Box, others: Sequence[Box]) -> bool:
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return any(o.x <= cx < o.x + o.w and o.y <= cy < o.y + o.h for o in others)


def keep_zone(
    width: int, height: int, keep: Sequence[Target], blur: Sequence[Box], rules: CoverRules
) -> Mask:
    """Where no blur may write: the heads of the faces kept visible and `KEEP_MARGIN` around
    them, but for the face boxes of the faces being blurred (where heads overlap, the face to
    hide is still hidden)."""
    zone = np.zeros((height, width), dtype=bool)
    for face in keep:
        head = head_box(face.box, face.landmarks, rules)
        mx, my = head.w * KEEP_MARGIN, head.h * KEEP_MARGIN
        rect = pixel_rect(Box(head.x - mx, head.y - my, head.w + 2 * mx, head.h + 2 * my))
        clipped = clip_rect(rect, width, height) if rect is not None else None
        if clipped is not None:
            x0, y0, x1, y1 = clipped
            zone[y0:y1, x0:x1] = True
    for box in blur:
        rect = pixel_rect(box)
        clipped = clip_rect(rect, width, height) if rect is not None else None
        if clipped is not None:
            x0, y0, x1, y1 = clipped
            zone[y0:y1, x0:x1] = False
    return zone


@dataclass(frozen=True, slots=True)
class RedactedPhoto:
    rgb: RGBImage  # a new image; the input is not changed
    faces: int  # faces covered: known, found by the first look, found by the searches after
    found: int  # of those, not among the known faces
    flattened: int  # heads a detector still saw a face on, filled with their mean colour
    blurred: list[Box]  # the heads blurred (clipped to the image), in image pixels
    kept: list[Box]  # the heads of the faces kept visible (clipped), never blurred


def redact_photo(
    rgb: RGBImage,
    detector: FaceDetector,
    settings: RedactSettings | None = None,
    blur: BlurSettings | None = None,
    detect_long_side: int = DETECT_LONG_SIDE,
    *,
    known: Sequence[Box | Detection] = (),
    keep: Sequence[Box | Detection] = (),
) -> RedactedPhoto:
    """A copy of `rgb` (upright, full resolution) with every face blurred: the `known` ones
    (from the catalog) and every other one `detector` finds, except those in `keep`, which
    stay as they are, their heads untouched. Build `detector` with a score threshold of
    `ANONYMISE_SCORE_THRESHOLD` or lower."""
    s, b = settings or RedactSettings(), blur or BlurSettings()
    own: RGBImage = np.array(rgb, dtype=np.uint8, copy=True)
    height, width = own.shape[:2]
    kept = [Target.of(k) for k in keep]
    keep_boxes = [k.box for k in kept]
    pixels = RGBCanvas(own, detector, b, detect_long_side)
    canvas: Canvas = KeepCanvas(pixels, keep_boxes) if kept else pixels
    given = [Target.of(k) for k in known]
    look = first_look(canvas, s).faces
    fresh = [f for f in look if not overlaps(f.box, [g.box for g in given])]
    faces = given + fresh
    if kept:
        pixels.protect = keep_zone(width, height, kept, [f.box for f in faces], b.cover)
    done = redact(canvas, Cover(faces), s, b.cover)
    far_pixels = RGBCanvas(own, detector, b, s.far_side, pixels.protect)
    far: Canvas = KeepCanvas(far_pixels, keep_boxes) if kept else far_pixels
    _look_from_afar(far, canvas, done, s, b.cover)
    return RedactedPhoto(
        pixels.rgb,
        faces=len(faces) + done.new,
        found=len(fresh) + done.new,
        flattened=done.flattened,
        blurred=[_clipped_box(r, width, height) for r in done.covered],
        kept=[_clipped_box(r, width, height) for r in _head_rects(kept, b.cover)],
    )


def _look_from_afar(
    far: Canvas, canvas: Canvas, done: Redaction, s: RedactSettings, rules: CoverRules
) -> None:
    """Search the whole (redacted) image at `s.far_side` pixels: a face on a blurred head is
    that head seen from afar, flattened to one colour; a confident one anywhere else is a face
    missed up close, covered like the others (and searched around)."""
    found = [d for d in far.detect((0, 0, far.width, far.height)) if d.score >= s.recheck_score]
    if found:
        fresh = _settle(canvas, _dedupe(found), done, s, rules)
        recheck(canvas, done, fresh, s, rules, s.recheck_passes)


def _box(rect: Rect) -> Box:
    return Box(rect[0], rect[1], rect[2] - rect[0], rect[3] - rect[1])


def _clipped_box(rect: Rect, width: int, height: int) -> Box:
    clipped = clip_rect(rect, width, height) or (0, 0, 0, 0)
    return _box(clipped)


def _head_rects(faces: Sequence[Target], rules: CoverRules) -> list[Rect]:
    return [r for f in faces if (r := pixel_rect(head_box(f.box, f.landmarks, rules))) is not None]
