"""Quality: how much a face can be trusted for recognition — size, sharpness, frontalness.

Low-quality faces are kept and searchable, but marked: they never seed a person and need a
stricter match, because blurred, tiny and profile faces all look alike to an embedder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regard.domain.face import Detection, FaceQuality


@dataclass(frozen=True, slots=True)
class QualityRules:
    full_size_px: float = 80.0  # faces this wide (full-res pixels) lose nothing to resolution
    min_size_px: float = 24.0  # below this a face is marked low quality
    sharpness_half: float = 20.0  # Laplacian variance at which the sharpness term is 0.5
    min_sharpness: float = 0.4
    min_frontalness: float = 0.4
    min_det_score: float = 0.7


def assess_quality(
    detection: Detection, crop: npt.NDArray[np.uint8], rules: QualityRules | None = None
) -> FaceQuality:
    """`detection` in full-resolution pixels; `crop` the aligned face the embedder saw."""
    r = rules or QualityRules()
    size = float(min(detection.box.w, detection.box.h))
    sharp_raw = laplacian_variance(crop)
    sharp = sharp_raw / (sharp_raw + r.sharpness_half)
    front = frontalness(detection)
    size_term = float(np.clip((size - r.min_size_px) / (r.full_size_px - r.min_size_px), 0, 1))
    det_term = float(np.clip(detection.score, 0, 1))
    score = float((max(size_term, 0.01) * sharp * front * det_term) ** 0.25)
    low = (
        size < r.min_size_px
        or sharp < r.min_sharpness
        or front < r.min_frontalness
        or detection.score < r.min_det_score
    )
    return FaceQuality(
        size_px=round(size, 1),
        sharpness=round(float(sharp_raw), 1),
        frontalness=round(front, 3),
        score=round(score, 3),
        low=low,
    )


def laplacian_variance(crop: npt.NDArray[np.uint8]) -> float:
    """Variance of the Laplacian over the inner face (eyes to mouth), a standard blur measure."""
    import cv2

    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    inner = gray[h // 4 : h - h // 8, w // 6 : w - w // 6]
    return float(cv2.Laplacian(inner, cv2.CV_64F).var())


def frontalness(detection: Detection) -> float:
    """1.0 facing the camera, 0.5 at about 45 degrees of yaw, 0.0 in full profile.

    The nose tip sits in front of the eye line by about 0.6 inter-ocular distances, so its
    offset from the eyes' midpoint, along the eye line, is about 0.6 * tan(yaw)."""
    pts = detection.landmarks.as_array().astype(np.float64)
    e1, e2, nose = pts[0], pts[1], pts[2]
    axis = e2 - e1
    denom = float(axis @ axis)
    if denom <= 1e-6:
        return 0.0
    offset = abs(float((nose - e1) @ axis / denom) - 0.5)
    yaw = float(np.degrees(np.arctan(offset / 0.6)))
    mouth_mid = (pts[3] + pts[4]) / 2
    eye_mid = (e1 + e2) / 2
    # Pitch: a nose far outside the eyes-to-mouth span means the head is tilted far up/down.
    span = float(np.linalg.norm(mouth_mid - eye_mid))
    along = float((nose - eye_mid) @ (mouth_mid - eye_mid) / (span * span)) if span > 1e-6 else 0.5
    pitch = float(np.clip((abs(along - 0.5) - 0.3) / 0.5, 0.0, 1.0)) * 90.0
    return float(np.clip(1.0 - max(yaw, pitch) / 90.0, 0.0, 1.0))
