"""Faces inside a person's box: the only place a camera looks for faces.

The person's box (a little enlarged) is cut out of the frame, the face detector runs on that
crop alone, and each face found is aligned and embedded as a photo's faces are. Boxes come
back in the frame's pixels. Faces smaller than `min_face` pixels are left out: they cannot be
recognised reliably, and judging them would only make false "unknown face" alerts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.domain.face import AnalysedFace, Box, Detection
from regard.pipeline.align import align_face
from regard.pipeline.analyse import Analyser
from regard.pipeline.quality import assess_quality

RGBImage = npt.NDArray[np.uint8]

#: Face width (pixels) below which a camera does not try to recognise a face.
MIN_FACE = 40


def person_crop(
    box: Box, width: int, height: int, margin: float = 0.1
) -> tuple[int, int, int, int]:
    """The person's box enlarged by `margin` on each side, clipped: x0, y0, x1, y1."""
    mx, my = box.w * margin, box.h * margin
    x0, y0 = max(0, int(box.x - mx)), max(0, int(box.y - my))
    x1, y1 = min(width, int(box.x + box.w + mx)), min(height, int(box.y + box.h + my))
    return x0, y0, x1, y1


def faces_in_person(
    analyser: Analyser, rgb: RGBImage, person: Box, min_face: int = MIN_FACE
) -> list[AnalysedFace]:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = person_crop(person, w, h)
    if x1 - x0 < min_face or y1 - y0 < min_face:
        return []
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    found = [
        d
        for d in analyser.detector.detect(crop)
        if d.box.w >= min_face and _inside(d, x1 - x0, y1 - y0)
    ]
    if not found:
        return []
    size = analyser.embedder.input_size
    aligned = np.stack(
        [align_face(crop, d.landmarks, analyser.embedder.template, size) for d in found]
    )
    vectors = analyser.embedder.embed(aligned)
    out = []
    for d, face, vec in zip(found, aligned, vectors, strict=True):
        shifted = Detection(
            Box(d.box.x + x0, d.box.y + y0, d.box.w, d.box.h),
            type(d.landmarks)(tuple((x + x0, y + y0) for x, y in d.landmarks.points)),
            d.score,
        )
        out.append(
            AnalysedFace(
                detection=shifted,
                quality=assess_quality(d, face, analyser.settings.quality),
                embedding=vec,
                model_id=analyser.embedder.spec.id,
            )
        )
    return out


def _inside(d: Detection, width: int, height: int) -> bool:
    """A face cut by the crop's edge is someone else's, or half a face."""
    b = d.box
    return b.x >= -b.w * 0.1 and b.y >= -b.h * 0.1 and b.x + b.w <= width * 1.02 + 2
