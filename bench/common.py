"""Helpers shared by the benchmarks: where the data is, LFW protocol files, cached embeddings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench"


def shared_data() -> Path:
    """`../shared/data` beside the repo (or $REGARD_SHARED_DATA); exits clearly if missing."""
    path = Path(os.environ.get("REGARD_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "lfw-dev").is_dir():
        sys.exit(
            f"benchmark data not found at {path}: the benchmarks need ../shared/data beside the "
            "repository (or REGARD_SHARED_DATA pointing at it)."
        )
    return path


def lfw_image(root: Path, name: str, index: int) -> Path:
    return root / "lfw-dev" / name / f"{name}_{index:04d}.jpg"


def read_pairs(root: Path) -> list[tuple[Path, Path, bool]]:
    """pairsDevTrain.txt: `name i j` (same person) and `name1 i name2 j` (different)."""
    pairs = []
    lines = (root / "lfw-dev" / "meta" / "pairsDevTrain.txt").read_text().splitlines()[1:]
    for line in lines:
        p = line.split()
        if len(p) == 3:
            pairs.append((lfw_image(root, p[0], int(p[1])), lfw_image(root, p[0], int(p[2])), True))
        elif len(p) == 4:
            pairs.append(
                (lfw_image(root, p[0], int(p[1])), lfw_image(root, p[2], int(p[3])), False)
            )
    return pairs


def lfw_images(root: Path) -> list[tuple[Path, str]]:
    """Every lfw-dev image with its identity (the folder name)."""
    out = []
    for folder in sorted((root / "lfw-dev").iterdir()):
        if folder.is_dir() and folder.name != "meta":
            out.extend((img, folder.name) for img in sorted(folder.glob("*.jpg")))
    return out


@dataclass
class RegardEmbeddings:
    paths: list[str]
    vectors: npt.NDArray[np.float32]  # rows; zero rows where no face was found
    found: npt.NDArray[np.bool_]
    low_quality: npt.NDArray[np.bool_]
    quality: npt.NDArray[np.float32]
    seconds: float

    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.paths)}


def regard_embeddings(paths: list[Path], tag: str, workers: int = 2) -> RegardEmbeddings:
    """Regard's embedding of the face nearest the centre of each (LFW-style, centred) image,
    computed with the real pipeline in worker processes and cached per pipeline."""
    from regard.domain.photo import PhotoAnalysis
    from regard.inference.registry import SFACE, YUNET
    from regard.jobs.pool import AnalysisPool
    from regard.pipeline.analyse import ANALYSIS_VERSION, AnalysisSettings

    key = f"{tag}-{YUNET.id}-{SFACE.id}-a{ANALYSIS_VERSION}"
    cache = CACHE / f"{key}.npz"
    strs = [str(p) for p in paths]
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        if list(z["paths"]) == strs:
            return RegardEmbeddings(
                strs, z["vectors"], z["found"], z["low"], z["quality"], float(z["seconds"])
            )
    vectors = np.zeros((len(paths), SFACE.dim), dtype=np.float32)
    found = np.zeros(len(paths), dtype=bool)
    low = np.zeros(len(paths), dtype=bool)
    quality = np.zeros(len(paths), dtype=np.float32)
    row = {s: i for i, s in enumerate(strs)}
    t0 = time.perf_counter()
    with AnalysisPool(workers, AnalysisSettings()) as pool:
        for path, result in pool.map_unordered(paths):
            if not isinstance(result, PhotoAnalysis) or not result.faces:
                continue
            w, h = result.metadata.width, result.metadata.height
            face = min(
                result.faces,
                key=lambda f: (
                    (f.detection.box.x + f.detection.box.w / 2 - w / 2) ** 2
                    + (f.detection.box.y + f.detection.box.h / 2 - h / 2) ** 2
                ),
            )
            i = row[str(path)]
            vectors[i], found[i] = face.embedding, True
            low[i], quality[i] = face.quality.low, face.quality.score
    seconds = time.perf_counter() - t0
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        paths=np.array(strs),
        vectors=vectors,
        found=found,
        low=low,
        quality=quality,
        seconds=seconds,
    )
    return RegardEmbeddings(strs, vectors, found, low, quality, seconds)


def best_accuracy(
    scores: npt.NDArray[np.float64], same: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """(accuracy, threshold) at the threshold that classifies the most pairs right."""
    order = np.argsort(-scores)
    s, y = scores[order], same[order]
    # Predict "same" for the top k: correct = genuine in top k + impostors below.
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    correct = tp + ((~y).sum() - fp)
    k = int(np.argmax(correct))
    return float(correct[k] / len(s)), float(s[k])


def tenfold_accuracy(scores: npt.NDArray[np.float64], same: npt.NDArray[np.bool_]) -> float:
    """LFW-style: choose the threshold on 9 folds, measure on the 10th. Each fold holds a
    tenth of the same pairs and a tenth of the different pairs, as LFW's own folds do."""
    n = len(scores)
    pos, neg = np.flatnonzero(same), np.flatnonzero(~same)
    folds = [
        np.concatenate([p, q])
        for p, q in zip(np.array_split(pos, 10), np.array_split(neg, 10), strict=True)
    ]
    accs = []
    for f in folds:
        train = np.setdiff1d(np.arange(n), f)
        _, t = best_accuracy(scores[train], same[train])
        accs.append(float(((scores[f] >= t) == same[f]).mean()))
    return float(np.mean(accs))


def tar_at_far(
    genuine: npt.NDArray[np.float64], impostor: npt.NDArray[np.float64], far: float
) -> tuple[float, float]:
    """(true-accept rate, threshold) where the false-accept rate is at most `far`."""
    imp = np.sort(impostor)[::-1]
    k = int(np.floor(far * len(imp)))
    t = float(imp[k]) + 1e-9 if k < len(imp) else float(imp[-1])
    return float((genuine >= t).mean()), t


def package_versions(python: Path, names: list[str], extra: str = "") -> dict[str, str]:
    """The installed versions of `names` in the virtualenv of `python` (plus whatever the
    statements in `extra` add to the dict `v`)."""
    code = (
        "import importlib.metadata as m, json\n"
        f"v = {{n: m.version(n) for n in {names!r}}}\n{extra}"
        "print(json.dumps(v))\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def ensure_venv(venv: Path, installs: list[list[str]], label: str) -> Path:
    """A peer's virtualenv at `venv`, (re)created with this interpreter's Python when missing
    or installed from other `installs` (pip argument lists, run in order); its python."""
    python, marker = venv / "bin" / "python", venv / "regard-bench.json"
    ok = False
    if marker.exists() and python.exists():
        try:
            ok = json.loads(marker.read_text())["installs"] == installs
        except (ValueError, KeyError):
            ok = False
    if not ok:
        print(f"creating {label}'s virtualenv at {venv} ...", file=sys.stderr, flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        _setup_step([sys.executable, "-m", "venv", "--clear", str(venv)], label)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        for args in installs:
            _setup_step([*pip, *args], label)
        marker.write_text(json.dumps({"installs": installs}) + "\n")
    return python


def _setup_step(argv: list[str], label: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(
            f"could not set up {label}'s virtualenv ({' '.join(argv)} exited "
            f"{result.returncode}):\n{result.stderr.strip()[-2000:]}"
        )
