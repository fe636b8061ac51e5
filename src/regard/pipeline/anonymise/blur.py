"""Anonymise: make every face in an upright RGB image unrecognisable, at full resolution.

A face detector's box runs from the eyebrows to the chin; hair, ears and jaw line identify a
person too, so each box is first grown into the head it belongs to (`head_box`), and the head
is replaced by something that keeps no identity:

- ``gaussian`` (the default): a Gaussian blur whose sigma is 0.3 of the head's longer side, so
  a big face is blurred as much, relative to itself, as a small one, and the result is as
  unrecognisable at any display size. Done on a copy shrunk to 16 pixels across (a blur this
  wide keeps nothing the shrink loses), so it costs the same for any face size.
- ``mosaic``: the head averaged into square cells, 6 across, never smaller than 16 pixels.
- ``solid``: the head filled with its own mean colour.

The head is an ellipse (`shape="ellipse"`, the default) inside the grown box, as a head is:
the box's corners are background (a wall, a neighbour's shoulder), and blurring them is what
made copies look smeared. Its edge is hard on purpose: a feathered edge turns the region into a
soft head-shaped blob, which is what detectors look for (a soft edge doubled the faces found
again).

How the box grows (`CoverRules`) was measured on 49 heads boxed by hand in the counted group
photos (tests/data/head_boxes.csv): from the detector's box, a head reaches a median of 35 %
of the box's height above it and 2 % below (the box already ends at the chin), and 20 % of its
width to each side, more behind a turned face (a profile's back of the head is up to 1.4 box
widths away). How far a face is turned is read from the landmarks: the nose's offset from
between the eyes.

Why so strong: a face detector finds a head from its coarse layout alone (a skin-coloured oval,
darker hair above). On the 44 group and camera photos of ../shared/data (135 faces), YuNet at a
0.3 score threshold still finds 21 faces behind a Gaussian blur of sigma 0.12 (of a box a
quarter larger than the head) and 42 behind an 8-cell mosaic. At the strengths here YuNet finds
no face at 0.5 in a blurred head, at 1280 pixels or at full resolution, and SFace's embedding
of a blurred face is under 0.30 from the person's (tests/integration/test_anonymise_real.py).
A stronger blur is not safer: SFace's similarity of a 24-pixel face (Issue 125.jpg) is 0.28 at
a sigma of 0.3, 0.30 at 0.35 and 0.33 at 0.4, the wider blur mixing in more of the hair
around the head.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box, Detection, Landmarks, Rect
from regard.domain.sharing import BLUR_METHODS, BlurMethod

RGBImage = npt.NDArray[np.uint8]
BlurShape = Literal["ellipse", "box"]
BLUR_SHAPES: tuple[BlurShape, ...] = ("ellipse", "box")


@dataclass(frozen=True, slots=True)
class CoverRules:
    """How a detector box grows to cover the whole head, as shares of the box's size."""

    grow_side: float = 0.15  # to each side: the ears, the hair beside the face
    grow_back: float = 3.0  # ... and behind a turned face, this much per unit of `turn`
    grow_up: float = 0.35  # the forehead above the eyebrows, the hairline and the hair
    grow_down: float = 0.05  # the underside of the chin


@dataclass(frozen=True, slots=True)
class BlurSettings:
    """How a head is anonymised."""

    method: BlurMethod = "gaussian"
    sigma: float = 0.3  # Gaussian sigma as a share of the head's longer side
    mosaic_cells: int = 6  # mosaic cells across the head's width, at most
    mosaic_min_cell: int = 16  # pixels; a tiny face gets fewer, larger cells (or one colour)
    shape: BlurShape = "ellipse"  # the ellipse inside the head's box, or the whole box
    cover: CoverRules = CoverRules()

    def __post_init__(self) -> None:
        if self.method not in BLUR_METHODS:
            raise ValueError(f"unknown blur method {self.method!r}; use one of {BLUR_METHODS}")
        if self.shape not in BLUR_SHAPES:
            raise ValueError(f"unknown blur shape {self.shape!r}; use one of {BLUR_SHAPES}")
        if self.sigma <= 0 or self.mosaic_cells < 1 or self.mosaic_min_cell < 1:
            raise ValueError("sigma must be > 0, mosaic_cells and mosaic_min_cell >= 1")


#: The long side, in pixels, a region is shrunk to before the Gaussian blur: with a sigma of
#: several of these pixels, nothing the shrink drops would have survived the blur.
_BLUR_GRID = 16
#: `turn` is capped here: a full profile (the nose at the box's edge) reads about 0.25.
_MAX_TURN = 0.3


def turn(box: Box, landmarks: Landmarks | None) -> float:
    """How far the face is turned, from the landmarks: the nose's offset from the point between
    the eyes, as a share of the box's width; > 0 when the nose points to the image's right (the
    back of the head is then on the left), 0 without landmarks."""
    if landmarks is None or box.w <= 0:
        return 0.0
    (ex0, _), (ex1, _), (nx, _) = landmarks.points[:3]
    return max(-_MAX_TURN, min(_MAX_TURN, (nx - (ex0 + ex1) / 2) / box.w))


def head_box(box: Box, landmarks: Landmarks | None = None, rules: CoverRules | None = None) -> Box:
    """The head around a detector's face `box` (not clipped to the image): grown by `rules`,
    further behind the face if the landmarks show it turned."""
    r = rules or CoverRules()
    t = turn(box, landmarks)
    left = r.grow_side + r.grow_back * max(0.0, t)
    right = r.grow_side + r.grow_back * max(0.0, -t)
    x0 = box.x - box.w * left
    y0 = box.y - box.h * r.grow_up
    return Box(x0, y0, box.w * (1 + left + right), box.h * (1 + r.grow_up + r.grow_down))


def cover_box(
    box: Box,
    width: int,
    height: int,
    rules: CoverRules | None = None,
    landmarks: Landmarks | None = None,
) -> Box:
    """`head_box`, clipped to a `width` x `height` image."""
    head = head_box(box, landmarks, rules)
    x0, y0 = max(0.0, head.x), max(0.0, head.y)
    x1, y1 = min(float(width), head.x + head.w), min(float(height), head.y + head.h)
    return Box(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def blur_faces(
    rgb: RGBImage,
    boxes: Iterable[Box | Detection],
    method: BlurMethod | None = None,
    *,
    settings: BlurSettings | None = None,
) -> RGBImage:
    """A copy of `rgb` with the head of every face in `boxes` (detector boxes, or detections:
    their landmarks say how each head is turned) anonymised.

    `boxes` are in `rgb`'s own pixels, and `rgb` should be the full-resolution image: blurring
    a downscaled copy and scaling it back up would leave the face's detail in the full-size
    one. `method`, if given, overrides `settings.method`."""
    s = settings or BlurSettings()
    if method is not None:
        s = replace(s, method=method)
    out = np.array(rgb, dtype=np.uint8, copy=True)
    blur_faces_in_place(out, boxes, s)
    return out


def blur_faces_in_place(
    rgb: RGBImage, boxes: Iterable[Box | Detection], settings: BlurSettings
) -> None:
    """`blur_faces`, writing into `rgb` (for callers that own their image)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 uint8 image, got {rgb.shape} {rgb.dtype}")
    for face in boxes:
        box, marks = (face, None) if isinstance(face, Box) else (face.box, face.landmarks)
        rect = pixel_rect(head_box(box, marks, settings.cover))
        if rect is not None:
            blur_rect_in_place(rgb, rect, settings, core=pixel_rect(box))


Pixels = npt.NDArray[np.uint8]  # H x W (one plane) or H x W x C
Mask = npt.NDArray[np.bool_]


def pixel_rect(box: Box) -> Rect | None:
    """The whole pixels `box` touches (rounded outwards: a pixel half on a face is on it), or
    None if it touches none."""
    x0, y0 = int(np.floor(box.x)), int(np.floor(box.y))
    x1, y1 = int(np.ceil(box.x + box.w)), int(np.ceil(box.y + box.h))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def clip_rect(rect: Rect, width: int, height: int) -> Rect | None:
    """`rect` inside a `width` x `height` image, or None if nothing of it is."""
    x0, y0, x1, y1 = max(0, rect[0]), max(0, rect[1]), min(width, rect[2]), min(height, rect[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def shape_mask(
    rect: Rect, shape: BlurShape, width: int, height: int, core: Rect | None = None
) -> Mask | None:
    """Which pixels of `rect` clipped to the image (`clip_rect`) the blur changes: all of them
    for a box; for an ellipse, those whose centre is in the ellipse inscribed in the whole,
    unclipped `rect` (a head cut by the image's edge is cut, not squeezed), and all of `core`
    (the detector's face box: the ellipse narrows at the chin and would leave the jaw's
    corners, enough for a detector to find a face in, measured on video)."""
    clipped = clip_rect(rect, width, height)
    if clipped is None:
        return None
    x0, y0, x1, y1 = clipped
    if shape == "box":
        return np.ones((y1 - y0, x1 - x0), dtype=bool)
    cx, cy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
    ax, ay = max((rect[2] - rect[0]) / 2, 0.5), max((rect[3] - rect[1]) / 2, 0.5)
    xs = ((np.arange(x0, x1) + 0.5 - cx) / ax) ** 2
    ys = ((np.arange(y0, y1) + 0.5 - cy) / ay) ** 2
    mask = np.asarray(ys[:, None] + xs[None, :] <= 1.0)
    inner = clip_rect(core, width, height) if core is not None else None
    if inner is not None:
        ix0, iy0 = max(inner[0], x0) - x0, max(inner[1], y0) - y0
        mask[iy0 : max(iy0, inner[3] - y0), ix0 : max(ix0, inner[2] - x0)] = True
    return mask


def mosaic_cells(rect: Rect, settings: BlurSettings) -> int:
    """How many mosaic cells go across `rect` (full-resolution pixels)."""
    return max(1, min(settings.mosaic_cells, (rect[2] - rect[0]) // settings.mosaic_min_cell))


def blur_rect_in_place(
    image: Pixels,
    rect: Rect,
    settings: BlurSettings,
    cells: int | None = None,
    core: Rect | None = None,
) -> None:
    """Anonymise the head in `rect` of `image` (the ellipse inside it and the face box `core`
    within it, or all of it, as `settings.shape` says; the part inside the image), an RGB
    image or a single plane (the video path blurs the Y, U and V planes of a frame separately:
    every method is a linear filter, so that is the same as blurring its RGB pixels). `cells`
    fixes the mosaic's cells across, so that planes of different resolutions get the same
    grid; by default it follows from `rect`."""
    height, width = image.shape[:2]
    clipped = clip_rect(rect, width, height)
    mask = shape_mask(rect, settings.shape, width, height, core)
    if clipped is None or mask is None or not mask.any():
        return
    x0, y0, x1, y1 = clipped
    region = image[y0:y1, x0:x1]
    if settings.method == "gaussian":
        done = _gaussian(image, clipped, rect, settings.sigma)
    elif settings.method == "mosaic":
        across = cells if cells is not None else mosaic_cells(clipped, settings)
        done = _mosaic(region, across)
    else:
        done = _solid(region, mask)
    region[mask] = done[mask]


def _gaussian(image: Pixels, cover: Rect, whole: Rect, sigma_share: float) -> Pixels:
    import cv2

    height, width = image.shape[:2]
    x0, y0, x1, y1 = cover
    # As strong as the whole head needs, where the image's edge cuts it.
    long_side = max(x1 - x0, y1 - y0, whole[2] - whole[0], whole[3] - whole[1])
    # The blur reads a margin around the head, so its edge is mixed with what surrounds it (as
    # a real blur would) rather than with a mirror image of the face.
    reach = int(np.ceil(long_side * sigma_share))
    rx0, ry0 = max(0, x0 - reach), max(0, y0 - reach)
    rx1, ry1 = min(width, x1 + reach), min(height, y1 + reach)
    region = image[ry0:ry1, rx0:rx1]
    rh, rw = region.shape[:2]
    shrink = min(1.0, _BLUR_GRID / long_side)
    sw, sh = max(1, round(rw * shrink)), max(1, round(rh * shrink))
    small = cv2.resize(region, (sw, sh), interpolation=cv2.INTER_AREA) if shrink < 1 else region
    small = cv2.GaussianBlur(
        small, (0, 0), sigmaX=sigma_share * long_side * shrink, borderType=cv2.BORDER_REPLICATE
    )
    blurred = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR) if shrink < 1 else small
    cy0, cx0 = y0 - ry0, x0 - rx0
    return np.asarray(blurred[cy0 : cy0 + (y1 - y0), cx0 : cx0 + (x1 - x0)]).reshape(
        (y1 - y0, x1 - x0, *image.shape[2:])
    )


def _mosaic(region: Pixels, across: int) -> Pixels:
    import cv2

    rh, rw = region.shape[:2]
    across = max(1, min(across, rw))
    down = max(1, min(rh, round(rh * across / rw)))
    # Area averaging: each cell is the mean of the pixels it covers, nothing sharper.
    small = cv2.resize(region, (across, down), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST)
    return np.asarray(big, dtype=np.uint8).reshape(region.shape)


def _solid(region: Pixels, mask: Mask) -> Pixels:
    inside = region[mask].reshape(int(mask.sum()), -1)
    mean = np.clip(np.round(inside.mean(axis=0)), 0, 255).astype(np.uint8)
    out = np.empty_like(region)
    out[...] = mean if region.ndim == 3 else mean[0]
    return out
