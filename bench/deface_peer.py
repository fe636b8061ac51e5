"""The peer bench/anonymise.py measures Regard against: `deface` (CenterFace, ONNX), installed
in a virtualenv of its own under .cache/bench/deface-venv, created on first use.

deface runs CenterFace through onnxruntime when `onnx` and `onnxruntime` are importable and
through OpenCV's dnn otherwise; its README recommends onnxruntime for speed, so both are
installed: the peer is measured at its fastest. Its other dependencies are pinned too (the
imageio-ffmpeg wheel carries the ffmpeg binary that encodes its videos).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common import CACHE, ensure_venv, package_versions

VENV = CACHE / "deface-venv"
PACKAGES = [
    "deface==1.5.0",
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
    "imageio==2.38.1",
    "imageio-ffmpeg==0.8.1",
    "opencv-python==5.0.0.93",
    "scikit-image==0.26.0",
    "numpy==2.4.6",
    "tqdm==4.70.1",
]


@dataclass(frozen=True)
class Deface:
    python: Path
    cli: Path  # the `deface` command
    versions: dict[str, str]


def ensure_deface() -> Deface:
    """deface's virtualenv, created (with this interpreter's Python) if missing or stale."""
    python = ensure_venv(VENV, [PACKAGES], "deface")
    names = ["deface", "onnxruntime", "imageio-ffmpeg", "opencv-python"]
    return Deface(python, VENV / "bin" / "deface", package_versions(python, names))
