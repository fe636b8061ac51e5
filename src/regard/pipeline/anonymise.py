"""Anonymise: make every face in an upright RGB image unrecognisable, at full resolution.

A face detector's box runs from the eyebrows to the chin; hair, ears and jaw line identify a
person too, so each box is first grown into a *cover box* (`cover_box`), and the whole cover
box is replaced by something that keeps no identity:

- ``gaussian`` (the default): a Gaussian blur whose sigma is 0.35 of the cover box's longer
  side, so a big face is blurred as much, relative to itself, as a small one, and the result
  is as unrecognisable at any display size. Done on a copy shrunk to 16 pixels across (a blur
  this wide keeps nothing the shrink loses), so it costs the same for any face size.
- ``mosaic``: the cover box averaged into square cells, 6 across, never smaller than 16 pixels.
- ``solid``: the cover box filled with its own mean colour.

Why so strong: a face detector finds a head from its coarse layout alone (a skin-coloured oval,
darker hair above). On the 44 group and camera photos of ../shared/data (135 faces), YuNet at a
0.3 score threshold still finds 21 faces behind a Gaussian blur of sigma 0.12 and 42 behind an
8-cell mosaic; at the strengths here it finds none, at 1280 pixels or at full resolution, and
SFace's embedding of the region is no closer to the original face than that of a flat grey
patch. The edge is hard on purpose: a feathered edge turns the region into a soft head-shaped
blob, which is what detectors look for (a soft edge doubled the faces found again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from regard.domain.face import Box

RGBImage = npt.NDArray[np.uint8]
BlurMethod = Literal["gaussian", "mosaic", "solid"]
BLUR_METHODS: tuple[BlurMethod, ...] = ("gaussian", "mosaic", "solid")


@dataclass(frozen=True, slots=True)
class CoverRules:
    """How much a detector box grows to cover the whole head, as shares of the box's size."""

    grow_width: float = 0.5  # half the width again, split left and right: ears and jaw
    grow_up: float = 0.45  # the forehead above the eyebrows, the hairline and some hair
    grow_down: float = 0.2  # the chin and the underside of the jaw


@dataclass(frozen=True, slots=True)
class BlurSettings:
    """How a cover box is anonymised."""

    method: BlurMethod = "gaussian"
    sigma: float = 0.35  # Gaussian sigma as a share of the cover box's longer side
    mosaic_cells: int = 6  # mosaic cells across the cover box's width, at most
    mosaic_min_cell: int = 16  # pixels; a tiny face gets fewer, larger cells (or one colour)
    cover: CoverRules = CoverRules()

    def __post_init__(self) -> None:
        if self.method not in BLUR_METHODS:
            raise ValueError(f"unknown blur method {self.method!r}; use one of {BLUR_METHODS}")
        if self.sigma <= 0 or self.mosaic_cells < 1 or self.mosaic_min_cell < 1:
            raise ValueError("sigma must be > 0, mosaic_cells and mosaic_min_cell >= 1")


#: The long side, in pixels, a region is shrunk to before the Gaussian blur: with a sigma of
#: several of these pixels, nothing the shrink drops would have survived the blur.
_BLUR_GRID = 16


def cover_box(box: Box, width: int, height: int, rules: CoverRules | None = None) -> Box:
    """`box` grown to cover hair, ears and chin, clipped to a `width` x `height` image."""
    r = rules or CoverRules()
    x0 = max(0.0, box.x - box.w * r.grow_width / 2)
    x1 = min(float(width), box.x + box.w * (1 + r.grow_width / 2))
    y0 = max(0.0, box.y - box.h * r.grow_up)
    y1 = min(float(height), box.y + box.h * (1 + r.grow_down))
    return Box(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def blur_faces(
    rgb: RGBImage,
    boxes: Iterable[Box],
    method: BlurMethod | None = None,
    *,
    settings: BlurSettings | None = None,
) -> RGBImage:
    """A copy of `rgb` with the cover box of every detector box in `boxes` anonymised.

    `boxes` are in `rgb`'s own pixels, and `rgb` should be the full-resolution image: blurring
    a downscaled copy and scaling it back up would leave the face's detail in the full-size
    one. `method`, if given, overrides `settings.method`."""
    s = settings or BlurSettings()
    if method is not None:
        s = replace(s, method=method)
    out = np.array(rgb, dtype=np.uint8, copy=True)
    blur_faces_in_place(out, boxes, s)
    return out


def blur_faces_in_place(rgb: RGBImage, boxes: Iterable[Box], settings: BlurSettings) -> None:
    """`blur_faces`, writing into `rgb` (for callers that own their image)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    for box in boxes:
        rect = pixel_rect(cover_box(box, width, height, settings.cover))
        if rect is not None:
            blur_rect_in_place(rgb, rect, settings)


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in whole pixels; x1 and y1 exclusive
Pixels = npt.NDArray[np.uint8]  # H x W (one plane) or H x W x C


def pixel_rect(box: Box) -> Rect | None:
    """The whole pixels `box` touches (rounded outwards: a pixel half on a face is on it), or
    None if it touches none."""
    x0, y0 = int(np.floor(box.x)), int(np.floor(box.y))
    x1, y1 = int(np.ceil(box.x + box.w)), int(np.ceil(box.y + box.h))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def mosaic_cells(rect: Rect, settings: BlurSettings) -> int:
    """How many mosaic cells go across `rect` (full-resolution pixels)."""
    return max(1, min(settings.mosaic_cells, (rect[2] - rect[0]) // settings.mosaic_min_cell))


def blur_rect_in_place(
    image: Pixels, rect: Rect, settings: BlurSettings, cells: int | None = None
) -> None:
    """Anonymise `rect` of `image`, an RGB image or a single plane (the video path blurs the
    Y, U and V planes of a frame separately: every method is a linear filter, so that is the
    same as blurring its RGB pixels). `cells` fixes the mosaic's cells across, so that planes
    of different resolutions get the same grid; by default it follows from `rect`."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = max(0, rect[0]), max(0, rect[1]), min(width, rect[2]), min(height, rect[3])
    if x1 <= x0 or y1 <= y0:
        return
    clipped = (x0, y0, x1, y1)
    if settings.method == "gaussian":
        _gaussian(image, clipped, settings.sigma)
    elif settings.method == "mosaic":
        _mosaic(image, clipped, cells if cells is not None else mosaic_cells(clipped, settings))
    else:
        _solid(image, clipped)


def _gaussian(image: Pixels, cover: Rect, sigma_share: float) -> None:
    height, width = image.shape[:2]
    x0, y0, x1, y1 = cover
    long_side = max(x1 - x0, y1 - y0)
    # The blur reads a margin around the cover box, so its edge is mixed with what surrounds
    # it (as a real blur would) rather than with a mirror image of the face.
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
    image[y0:y1, x0:x1] = blurred[cy0 : cy0 + (y1 - y0), cx0 : cx0 + (x1 - x0)]


def _mosaic(image: Pixels, cover: Rect, across: int) -> None:
    x0, y0, x1, y1 = cover
    region = image[y0:y1, x0:x1]
    rh, rw = region.shape[:2]
    across = max(1, min(across, rw))
    down = max(1, min(rh, round(rh * across / rw)))
    # Area averaging: each cell is the mean of the pixels it covers, nothing sharper.
    small = cv2.resize(region, (across, down), interpolation=cv2.INTER_AREA)
    region[...] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST).reshape(region.shape)


def _solid(image: Pixels, cover: Rect) -> None:
    x0, y0, x1, y1 = cover
    region = image[y0:y1, x0:x1]
    flat = region.reshape(region.shape[0] * region.shape[1], -1)
    mean = np.clip(np.round(flat.mean(axis=0)), 0, 255).astype(np.uint8)
    region[...] = mean if region.ndim == 3 else mean[0]
