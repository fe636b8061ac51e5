"""Detect: find faces and their 5 landmarks, reported in full-resolution upright pixels."""

from __future__ import annotations

from regard.domain.face import Detection
from regard.inference.protocols import FaceDetector
from regard.pipeline.decode import DecodedImage


def detect_faces(detector: FaceDetector, image: DecodedImage) -> list[Detection]:
    """Faces in `image`, mapped back to the full-resolution photo and ordered left to right
    (then top to bottom), so a face's position in the list is stable between runs."""
    found = [d.scaled(1.0 / image.scale) for d in detector.detect(image.rgb)]
    return sorted(found, key=lambda d: (round(d.box.x + d.box.w / 2), round(d.box.y)))
