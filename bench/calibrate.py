"""Measure SFace's impostor and genuine score distributions on lfw-dev and write the
calibration table Regard ships (src/regard/inference/calibration/<model>.json).

    .venv/bin/python bench/calibrate.py            # prints the table, writes the JSON

Every lfw-dev image is embedded with Regard's own pipeline; every pair of images of
different people is an impostor comparison (about 17 million), every pair of the same person
a genuine one. Two identities that LFW lists under two names (the same man) are excluded
from the impostor set: they are labelling errors, not look-alikes.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, lfw_images, regard_embeddings, shared_data

#: LFW gives these people two names; pairs across the two names are the same person.
ALIASES = [("Joseph_Blatter", "Sepp_Blatter"), ("Nan_Wang", "Wang_Nan")]
MIN_PAIRS_IN_TAIL = 3  # below this many impostor pairs, a rate is not a measurement


def main() -> None:
    from regard.inference.registry import SFACE

    root = shared_data()
    images = lfw_images(root)
    emb = regard_embeddings([p for p, _ in images], "lfw-dev")
    names = np.array([n for _, n in images])
    alias = {a: b for a, b in ALIASES} | {b: a for a, b in ALIASES}
    canon = np.array([min(n, alias.get(n, n)) for n in names])
    v = emb.vectors[emb.found]
    ids = canon[emb.found]
    sims = v @ v.T
    iu = np.triu_indices(len(v), 1)
    same = ids[iu[0]] == ids[iu[1]]
    scores = sims[iu]
    genuine, impostor = np.sort(scores[same]), np.sort(scores[~same])
    n_imp, n_gen = len(impostor), len(genuine)

    table = []
    max_threshold = 0.0
    for t in np.round(np.arange(0.20, 0.801, 0.01), 2):
        above_imp = n_imp - int(np.searchsorted(impostor, t, side="left"))
        above_gen = n_gen - int(np.searchsorted(genuine, t, side="left"))
        if above_imp < MIN_PAIRS_IN_TAIL:
            break
        max_threshold = float(t)
        table.append(
            {
                "threshold": float(t),
                "fmr": above_imp / n_imp,
                "tmr": above_gen / n_gen,
                "impostor_pairs_above": above_imp,
            }
        )
    fmr_1e3 = float(impostor[int(np.ceil((1 - 1e-3) * n_imp))])
    doc = {
        "model_id": SFACE.id,
        "source": (
            f"lfw-dev ({int(emb.found.sum())} images of {len(set(ids))} people): "
            f"{n_imp} impostor and {n_gen} genuine comparisons, Regard pipeline"
        ),
        "measured_on": datetime.now(UTC).date().isoformat(),
        "excluded_aliases": [list(a) for a in ALIASES],
        "min_threshold": round(fmr_1e3, 4),
        "max_threshold": max_threshold,
        "low_quality_margin": 0.0,
        "table": table,
    }
    out = REPO / "src" / "regard" / "inference" / "calibration" / f"{SFACE.id}.json"
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(
        f"{doc['source']}\nmin threshold (FMR 1e-3): {doc['min_threshold']}, "
        f"max trusted: {max_threshold}"
    )
    print(f"{'threshold':>9} {'FMR':>10} {'TMR':>7}")
    for row in table[::5]:
        print(f"{row['threshold']:9.2f} {row['fmr']:10.2e} {row['tmr']:7.4f}")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
