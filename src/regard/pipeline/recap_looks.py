"""A small look at a photo for recaps (`regard.domain.recaps.Look`): a difference hash to
drop near-duplicates, sharpness and exposure. The photo is decoded small (JPEG by libjpeg's
own scaling: a 12 MP photo in a few milliseconds) and never kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from regard.domain.recaps import Look
from regard.errors import RegardError
from regard.pipeline.analyse import read_file
from regard.pipeline.decode import DecodeLimits, OpenedImage

#: The long side the look is taken at (pixels).
LOOK_SIDE = 256
#: Variance of the Laplacian at LOOK_SIDE that counts as fully sharp.
SHARP_AT = 400.0

Gray = npt.NDArray[np.uint8]


def look_at(path: Path, limits: DecodeLimits) -> Look | None:
    """The photo's look, or None if it cannot be read (it is then chosen on its faces)."""
    import cv2

    try:
        opened = OpenedImage(str(path), read_file(path, limits)[1], limits)
        rgb = opened.decode_for_detection(LOOK_SIDE).rgb
    except (OSError, RegardError):
        return None
    gray: Gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    return look_of(gray)


def look_of(gray: Gray) -> Look:
    """The look of a grey image (any size)."""
    return Look(dhash=dhash(gray), sharpness=_sharpness(gray), exposure=_exposure(gray))


def dhash(gray: Gray) -> int:
    """64-bit difference hash: each bit says whether a pixel of a 9 by 8 copy is brighter than
    its right neighbour (Krawetz's dHash); resizing, re-encoding and small edits change few
    bits."""
    import cv2

    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def _sharpness(gray: Gray) -> float:
    import cv2

    side = max(gray.shape[:2])
    if side > LOOK_SIDE:
        f = LOOK_SIDE / side
        gray = np.asarray(
            cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), np.uint8
        )
    var = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    return round(min(1.0, var / SHARP_AT), 4)


def _exposure(gray: Gray) -> float:
    """1 for a mid-toned picture with little clipped; lower for dark, blown out or flat."""
    mean = float(gray.mean()) / 255.0
    clipped = float(((gray <= 4) | (gray >= 251)).mean())
    spread = min(1.0, float(gray.std()) / 50.0)
    return round(max(0.0, 1.0 - 2.0 * abs(mean - 0.47) - clipped) * (0.5 + 0.5 * spread), 4)
