"""Whole-library search quality: precision and recall of `regard search --face` as users run it.

    .venv/bin/python bench/search.py

The library is every lfw-dev image (5,843 faces). Every image of a person with two or more
images is used as a probe; a search returns every other library face at or above the
threshold. To keep the threshold honest, it is calibrated on one half of the identities and
measured on searches of the other half (and the other way round), against the whole library.

Two rules are compared in the same run:
  * Regard: the library-size-aware threshold (expected strangers per search = 0.05);
  * the peer rule: one fixed threshold that is right for comparing two photos — the best
    accuracy threshold on the LFW pairs (what a verification benchmark would choose).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    best_accuracy,
    lfw_images,
    read_pairs,
    regard_embeddings,
    shared_data,
)

Array = npt.NDArray[np.float64]


def impostor_table(sims: Array, ids: npt.NDArray[np.str_], rows: npt.NDArray[np.bool_]) -> Array:
    """Sorted impostor scores among the images selected by `rows`."""
    sub = sims[np.ix_(rows, rows)]
    sid = ids[rows]
    iu = np.triu_indices(len(sub), 1)
    return np.sort(sub[iu][sid[iu[0]] != sid[iu[1]]])


def threshold_for(impostor: Array, library: int, expected: float) -> float:
    fmr = expected / library
    k = int(np.floor(fmr * len(impostor)))
    return float(impostor[len(impostor) - 1 - k]) + 1e-6 if k < len(impostor) else -1.0


def evaluate(sims: Array, ids: npt.NDArray[np.str_], probes: npt.NDArray[np.int64], t: float):
    retrieved = sims[probes] >= t
    retrieved[np.arange(len(probes)), probes] = False  # the probe itself is not a result
    same = ids[probes][:, None] == ids[None, :]
    same[np.arange(len(probes)), probes] = False
    tp = (retrieved & same).sum(axis=1)
    fp = (retrieved & ~same).sum(axis=1)
    return {
        "precision": tp.sum() / max(1, (tp + fp).sum()),
        "recall": tp.sum() / same.sum(),
        "strangers_per_search": fp.mean(),
        "searches_with_a_stranger": (fp > 0).mean(),
        "searches": len(probes),
    }


def main() -> None:
    root = shared_data()
    images = lfw_images(root)
    emb = regard_embeddings([p for p, _ in images], "lfw-dev")
    ids = np.array([n for _, n in images])
    sims = (emb.vectors @ emb.vectors.T).astype(np.float64)
    library = len(images)
    counts = {n: int((ids == n).sum()) for n in set(ids)}
    names = sorted(counts)
    half = np.array([hash_half(n) for n in ids])
    multi = np.array([counts[n] > 1 for n in ids])

    pairs = read_pairs(root)
    index = emb.index()
    pair_scores = np.array(
        [emb.vectors[index[str(a)]] @ emb.vectors[index[str(b)]] for a, b, _ in pairs]
    )
    pair_same = np.array([s for *_, s in pairs])
    _, fixed = best_accuracy(pair_scores, pair_same)

    regard_rows, fixed_rows = [], []
    for calib_half in (0, 1):
        calib = half == calib_half
        probes = np.flatnonzero(~calib & multi)
        t = threshold_for(impostor_table(sims, ids, calib), library, 0.05)
        regard_rows.append((t, evaluate(sims, ids, probes, t)))
        fixed_rows.append((fixed, evaluate(sims, ids, probes, fixed)))

    print(
        f"library: {library} lfw-dev faces of {len(names)} people; "
        f"probes: {int(multi.sum())} images of people with 2+ images"
    )
    print(
        f"{'rule':<44} {'threshold':>9} {'precision':>9} {'recall':>7} "
        f"{'strangers/search':>16} {'searches w/ stranger':>20}"
    )
    summary = {}
    for label, rows in (
        ("Regard (library-aware, 0.05 strangers)", regard_rows),
        ("fixed 1:1 threshold (best pair accuracy)", fixed_rows),
    ):
        agg = {k: float(np.mean([r[1][k] for r in rows])) for k in rows[0][1]}
        t = float(np.mean([r[0] for r in rows]))
        summary[label] = agg
        print(
            f"{label:<44} {t:9.3f} {agg['precision']:9.4f} {agg['recall']:7.4f} "
            f"{agg['strangers_per_search']:16.3f} {agg['searches_with_a_stranger']:20.3f}"
        )
    a, b = summary.values()
    strangers = a["strangers_per_search"] / max(b["strangers_per_search"], 1e-9)
    print(
        f"ratio Regard / fixed: strangers per search {strangers:.3f}x, "
        f"precision {a['precision'] / b['precision']:.3f}x, recall {a['recall'] / b['recall']:.3f}x"
    )


def hash_half(name: str) -> int:
    """A stable split of identities into two halves (not Python's salted hash())."""
    return sum(name.encode()) % 2


if __name__ == "__main__":
    main()
