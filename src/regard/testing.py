"""Small fakes for the seams, for fast tests of everything around the models.

Real tests use the real models on real photos; these exist so that ingestion, storage and
search logic can be tested in milliseconds, the way httpx's MockTransport stands in for a
network. A "photo" for the fakes is an image with solid coloured squares on white: each square
is a face, and its colour is who it is.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from regard.domain.face import AnalysedFace, Box, Detection, Landmarks
from regard.domain.models import ModelSpec
from regard.domain.photo import PhotoAnalysis
from regard.inference.calibration import Calibration
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.decode import OpenedImage

FAKE_DETECTOR = ModelSpec(
    id="fake-squares",
    kind="detector",
    package="regard",
    package_version="0",
    resource="-",
    sha256="-",
    licence="-",
    upstream="-",
    input_spec="RGB squares on white",
)
FAKE_EMBEDDER = ModelSpec(
    id="fake-colour",
    kind="embedder",
    package="regard",
    package_version="0",
    resource="-",
    sha256="-",
    licence="-",
    upstream="-",
    input_spec="mean colour",
    dim=8,
)
FAKE_CALIBRATION = Calibration(
    model_id=FAKE_EMBEDDER.id,
    source="fake",
    thresholds=(0.5, 0.9, 0.99),
    fmr=(1e-2, 1e-4, 1e-6),
    tmr=(1.0, 1.0, 0.9),
    min_threshold=0.9,
    max_threshold=0.99,
    low_quality_margin=0.0,
)


class SquareDetector:
    """Finds solid, non-white squares of at least 12 px; a square is a face."""

    spec = FAKE_DETECTOR

    def twin(self) -> SquareDetector:
        """Another of it, for another thread (as the real sessions give one)."""
        return SquareDetector()

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Detection]:
        # Channel by channel: numpy's min over the last axis is 25 times slower.
        darkest = np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])
        mask = (darkest < 200).astype(np.uint8)
        n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        found = []
        for i in range(1, n):
            x, y, w, h, _area = (int(v) for v in stats[i])
            if w < 12 or h < 12:
                continue
            pts = tuple(
                (x + w * fx, y + h * fy)
                for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))
            )
            found.append(Detection(Box(x, y, w, h), Landmarks(pts), 0.99))
        return found


class ColourEmbedder:
    """Embeds a crop as its mean colour, spread over 8 dimensions: same colour, same person."""

    input_size = 32
    template = np.array(
        [[9.6, 12.8], [22.4, 12.8], [16.0, 19.2], [11.2, 25.6], [20.8, 25.6]], dtype=np.float32
    )

    def __init__(self, spec: ModelSpec = FAKE_EMBEDDER) -> None:
        self.spec = spec

    def twin(self) -> ColourEmbedder:
        return ColourEmbedder(self.spec)

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(crops), 8), dtype=np.float32)
        for i, crop in enumerate(crops):
            r, g, b = crop[8:24, 8:24].reshape(-1, 3).mean(axis=0) / 255.0
            v = np.array([r, g, b, 1 - r, 1 - g, 1 - b, r * g, g * b], dtype=np.float32)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-9)
        return out


#: Images of these sizes make the misbehaving fakes hang or crash wherever they are read (a
#: photo handed to the server is kept under a temporary name, so its name cannot say so).
HANG_SIZE, CRASH_SIZE = (666, 666), (667, 667)


class _MisbehavingAnalyser(Analyser):
    """Crashes (SIGSEGV) or hangs on files whose name (or size) says so, like a hostile file
    would."""

    def analyse_path(self, path: Path) -> PhotoAnalysis:
        if "crash" in path.name:
            os.kill(os.getpid(), signal.SIGSEGV)
        if "hang" in path.name:
            time.sleep(3600)
        return super().analyse_path(path)

    def faces_in(self, opened: OpenedImage) -> list[AnalysedFace]:
        if opened.size == CRASH_SIZE:
            os.kill(os.getpid(), signal.SIGSEGV)
        if opened.size == HANG_SIZE:
            time.sleep(3600)
        return super().faces_in(opened)


@dataclass(frozen=True, slots=True)
class FakeModels:
    """A `ModelLoader` for the fakes; picklable, so worker processes can use it too."""

    detector: ModelSpec = FAKE_DETECTOR
    embedder: ModelSpec = FAKE_EMBEDDER
    misbehave: bool = False

    def verify(self) -> None:
        return None

    def calibration(self) -> Calibration:
        return FAKE_CALIBRATION

    def __call__(self, settings: AnalysisSettings) -> Analyser:
        cls = _MisbehavingAnalyser if self.misbehave else Analyser
        return cls(SquareDetector(), ColourEmbedder(self.embedder), settings)

    def sensitive_detector(self, score_threshold: float) -> SquareDetector:
        return SquareDetector()


def draw_faces(
    path: Path,
    faces: list[tuple[int, int, int, tuple[int, int, int]]],
    size: tuple[int, int] = (320, 240),
    sharp: bool = True,
) -> Path:
    """Write a photo for the fakes: `faces` are (x, y, side, rgb colour) squares. Sharp
    squares carry a fine texture (good-quality faces); flat ones are low quality."""
    img = np.full((size[1], size[0], 3), 255, dtype=np.uint8)
    rng = np.random.default_rng(len(faces))
    for x, y, side, colour in faces:
        patch = np.broadcast_to(np.array(colour, dtype=np.int16), (side, side, 3))
        if sharp:
            patch = patch + rng.integers(-12, 13, (side, side, 1), dtype=np.int16)
        img[y : y + side, x : x + side] = np.clip(patch, 0, 199).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


#: A script (run with `python -c SCRIPT PORT`, started by a line on its stdin) that sends 40
#: sign-ins at once with made-up names to a server on 127.0.0.1:PORT and prints their raw
#: answers as JSON: the flood of the security review, for its test and its benchmark.
SIGN_IN_FLOOD = r"""
import json, socket, sys, threading, uuid
port = int(sys.argv[1])
sys.stdin.readline()
def one(i, out):
    body = json.dumps({"name": f"u{i}-{uuid.uuid4().hex[:8]}", "password": "x" * 20}).encode()
    head = ("POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (port, len(body)))
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head.encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    out[i] = data.decode()
out = [None] * 40
threads = [threading.Thread(target=one, args=(i, out)) for i in range(40)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(out))
"""
