"""What the pipeline asks of a face model: `FaceDetector` and `FaceEmbedder`.

Importing the interface imports no runtime: the OpenCV sessions that implement it are in
`regard.inference.sessions`, the fakes in `regard.testing`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from regard.domain.face import Detection
from regard.domain.models import ModelSpec

RGBImage = npt.NDArray[np.uint8]


class FaceDetector(Protocol):
    spec: ModelSpec

    def detect(self, rgb: RGBImage) -> list[Detection]:
        """Faces in `rgb`, in its own pixel coordinates."""
        ...


class FaceEmbedder(Protocol):
    spec: ModelSpec
    input_size: int
    template: npt.NDArray[np.float32]  # 5 landmark positions in the aligned crop

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """One L2-normalised row per aligned RGB crop (N x size x size x 3)."""
        ...
