"""Grouping quality on lfw-dev: Regard's people against an Immich-style reference, same run.

    .venv/bin/python bench/people.py          # prints the table; writes .cache/bench/people.json

Data: every lfw-dev image (5,843 faces of 2,371 people: the 1,187 people with one image are
distractors), embedded by Regard's pipeline (the face nearest the centre), one photo each.

Regard is measured twice: the full regrouping (`regard people recluster`) and incremental
grouping (faces added one at a time in a random order, as indexing does), both with the
default parameters. The reference is Immich's rule (server `person.service`, handleRecognize-
Faces): a face whose `minFaces` nearest faces (itself included) lie within `maxDistance` is a
core face; it joins the person of one of those matches, else of its nearest face with a person
within the distance, else starts a person; other faces are deferred and only join a person.
Immich's default, maxDistance 0.5 (cosine) and minFaces 3, was set for its ArcFace model; the
distance is adapted to SFace by trying every maxDistance from 0.30 to 0.60 and keeping the
reference's best F1, so Regard is compared with the rule at its best on this very data.

A face left unassigned counts as a person of its own. Figures: pairwise precision/recall/F1
(over pairs of faces put in the same person) and BCubed precision/recall/F1 (per face), and
the number of people that mix two identities.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, lfw_images, regard_embeddings, shared_data

Labels = npt.NDArray[np.int64]
TARGET_PRECISION, TARGET_RECALL = 0.98, 0.90


def with_singletons(labels: Labels) -> Labels:
    out = labels.copy()
    free = np.flatnonzero(out == 0)
    out[free] = -(np.arange(len(free)) + 1) - 10**9
    return out


def scores(truth: npt.NDArray[np.str_], labels: Labels) -> dict[str, float]:
    pred = with_singletons(labels)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(pred.tolist()):
        clusters[c].append(i)
    true_size = Counter(truth.tolist())
    bp = br = 0.0
    tp = pred_pairs = 0
    mixed = 0
    for members in clusters.values():
        counts = Counter(truth[m] for m in members)
        if len(counts) > 1:
            mixed += 1
        pred_pairs += len(members) * (len(members) - 1) // 2
        for c in counts.values():
            tp += c * (c - 1) // 2
        for m in members:
            same = counts[truth[m]]
            bp += same / len(members)
            br += same / true_size[truth[m]]
    true_pairs = sum(c * (c - 1) // 2 for c in true_size.values())
    n = len(truth)
    p_prec = tp / pred_pairs if pred_pairs else 1.0
    p_rec = tp / true_pairs if true_pairs else 1.0
    b_prec, b_rec = bp / n, br / n
    return {
        "pairwise_precision": p_prec,
        "pairwise_recall": p_rec,
        "pairwise_f1": 2 * p_prec * p_rec / (p_prec + p_rec) if p_prec + p_rec else 0.0,
        "bcubed_precision": b_prec,
        "bcubed_recall": b_rec,
        "bcubed_f1": 2 * b_prec * b_rec / (b_prec + b_rec) if b_prec + b_rec else 0.0,
        "people": len({c for c in labels.tolist() if c}),
        "people_mixing_identities": mixed,
    }


def immich(sims: npt.NDArray[np.float32], max_distance: float, min_faces: int) -> Labels:
    """Immich's rule over exact similarities (faces processed in order, as its queue does)."""
    n = len(sims)
    person = np.zeros(n, dtype=np.int64)
    next_id = 0
    t = 1.0 - max_distance
    deferred = []

    def decide(i: int, may_create: bool) -> None:
        nonlocal next_id
        row = sims[i]
        near = np.flatnonzero(row >= t)
        matches = near[np.argsort(-row[near], kind="stable")][:min_faces]  # itself included
        if min_faces > 1 and len(matches) <= 1:
            return
        core = len(matches) >= min_faces
        if not core and may_create:
            deferred.append(i)
            return
        pid = next((int(person[j]) for j in matches if person[j]), 0)
        if not pid:
            with_person = near[person[near] > 0]
            if len(with_person):
                pid = int(person[with_person[np.argmax(row[with_person])]])
        if core and not pid and may_create:
            next_id += 1
            pid = next_id
        if pid:
            person[i] = pid

    for i in range(n):
        decide(i, True)
    for i in deferred:
        decide(i, False)
    return person


def regard_full(vectors: npt.NDArray[np.float32]) -> Labels:
    from regard.pipeline.cluster import FaceSet, regroup
    from regard.storage.vectors import ExactIndex

    n = len(vectors)
    index = ExactIndex(vectors.shape[1])
    index.add(list(range(n)), vectors)
    faces = FaceSet(
        np.arange(n), vectors, np.arange(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    )
    return regroup(faces, lambda rows, k: index.knn_graph(rows, k, floor=0.45)).person


def regard_incremental(vectors: npt.NDArray[np.float32], seed: int = 1) -> Labels:
    from regard.pipeline.grouper import IncrementalGrouper
    from regard.storage.vectors import ExactIndex

    n = len(vectors)
    index = ExactIndex(vectors.shape[1])
    ids = iter(range(1, 10**9))
    grouper = IncrementalGrouper(
        vectors.shape[1],
        lambda v, k: [(x.id, x.score) for x in index.top_k(v, k)],
        lambda: next(ids),
    )
    for i in np.random.default_rng(seed).permutation(n).tolist():
        index.add([i], vectors[i : i + 1])
        grouper.add(i, vectors[i], i, False)
    return np.array([grouper.person[grouper.row[i]] for i in range(n)], dtype=np.int64)


def main() -> None:
    root = shared_data()
    images = lfw_images(root)
    emb = regard_embeddings([p for p, _ in images], "lfw-dev")
    truth = np.array([name for _, name in images])
    vectors = emb.vectors
    sims = vectors @ vectors.T
    results: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    results["Regard, full regrouping"] = scores(truth, regard_full(vectors))
    results["Regard, full regrouping"]["seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results["Regard, incremental"] = scores(truth, regard_incremental(vectors))
    results["Regard, incremental"]["seconds"] = time.perf_counter() - t0
    grid = []
    for dist in np.round(np.arange(0.30, 0.601, 0.02), 2):
        t0 = time.perf_counter()
        r = scores(truth, immich(sims, float(dist), 3))
        r["seconds"] = time.perf_counter() - t0
        grid.append((float(dist), r))
    best_dist, best = max(grid, key=lambda g: g[1]["bcubed_f1"])
    literal = dict(grid)[0.5]
    results[f"Immich rule, maxDistance {best_dist:.2f} (its best)"] = best
    results["Immich rule, maxDistance 0.50 (default)"] = literal

    people = len(set(truth.tolist()))
    print(
        f"lfw-dev: {len(truth)} faces of {people} people "
        f"({sum(1 for c in Counter(truth.tolist()).values() if c == 1)} with one image)\n"
    )
    cols = [
        ("pairwise_precision", "pair P"),
        ("pairwise_recall", "pair R"),
        ("pairwise_f1", "pair F1"),
        ("bcubed_precision", "B3 P"),
        ("bcubed_recall", "B3 R"),
        ("bcubed_f1", "B3 F1"),
        ("people", "people"),
        ("people_mixing_identities", "mixed"),
    ]
    print(f"{'':42}" + "".join(f"{label:>9}" for _, label in cols))
    for name, r in results.items():
        cells = "".join(f"{r[k]:9d}" if isinstance(r[k], int) else f"{r[k]:9.4f}" for k, _ in cols)
        print(f"{name:42}{cells}")
    full = results["Regard, full regrouping"]
    inc = results["Regard, incremental"]
    ratio_full = full["bcubed_f1"] / best["bcubed_f1"]
    ratio_inc = inc["bcubed_f1"] / best["bcubed_f1"]
    print(
        f"\nRegard / Immich (its best) BCubed F1: full {ratio_full:.3f}x, "
        f"incremental {ratio_inc:.3f}x"
    )
    for name, r in (("full", full), ("incremental", inc)):
        met = r["bcubed_precision"] >= TARGET_PRECISION and r["bcubed_recall"] >= TARGET_RECALL
        better = r["bcubed_f1"] > best["bcubed_f1"]
        print(
            f"target ({name}): BCubed precision >= {TARGET_PRECISION} at recall >= "
            f"{TARGET_RECALL}: {'MET' if met else 'NOT MET'}; F1 above the reference's best: "
            f"{'MET' if better else 'NOT MET'}"
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / "people.json"
    out.write_text(json.dumps({"results": results, "immich_grid": grid}, indent=1) + "\n")
    print(f"wrote {out.relative_to(CACHE.parent.parent)}")


if __name__ == "__main__":
    main()
