"""Grouping at scale: Regard's people grouping on 100,000 and 1,000,000 synthetic faces.

    .venv/bin/python bench/people_scale.py                  # both sizes (1M takes ~15 min)
    .venv/bin/python bench/people_scale.py --sizes 100000   # one size

Each size runs in a child process of its own (this script with a hidden flag), measured from
outside by bench/measure.py (wall time, peak RSS of the process tree, CPU time); the child
times its stages itself. Results are printed with the targets, and written to
.cache/bench/people_scale.json (each child's progress log: .cache/bench/people_scale-N.log).

Synthetic data (fixed seed; a different draw per size): identities have a heavy-tailed number
of faces — Zipf, exponent 2.2, capped at 2 % of the library (67 % of identities have one face,
about 18 % of faces are such singletons; mean ~3.7 faces an identity; the largest have
thousands, like the owner's family in a real library). Each identity is a random centre on the
128-D unit sphere; each face is normalize(centre + s * g / sqrt(128)), g standard normal, with
a per-face noise scale s = 0.72 * exp(0.25 z) (z standard normal), times 1.6 for the 10 % of
faces marked low quality. So two faces of one identity have cosine similarity 0.62 on average
(sd ~0.11; ~93 % of pairs >= 0.45, as SFace's genuine pairs on LFW: mean ~0.65, 96 % >= 0.45),
and faces of different identities ~N(0, 0.089) — lighter-tailed than SFace's impostors (whose
false-match rate at 0.45 is 2.4e-5, against ~1e-7 here), so precision here is optimistic.
Faces are shuffled over identities and cut into photos of 1-5 faces (45/25/15/10/5 %) of
different identities; a face's id is its position + 1 (the ingestion order). The data's own
similarity statistics are measured and reported. Everything is float32, made in chunks.

Measured per size, all on the HNSW path (Regard switches from its exact index to HNSW above
50,000 faces):

1. Index build: `HnswIndex.add` of all faces in batches of 20,000, as `VectorStore` builds it
   (during indexing the same cost is paid a photo batch at a time).
2. Full grouping, as `PeopleService.recluster` runs it: `regroup` with a kNN function that
   calls `index.knn_graph` for every face at once (the graph walk, both cores, then its
   exact-scored refinement, `storage/neighbour_graph.py`, timed apart) and maps face ids back
   to rows exactly as recluster does. kNN = time inside that function (its search and its id
   mapping, reported apart);
   clustering = the rest of `regroup`. The 10-minute target for 1M faces is checked against
   grouping = kNN + clustering; index build + grouping is printed too.
3. Incremental adds: `IncrementalGrouper.load` with the grouped faces (persons from the full
   grouping, knn = `index.top_k`, as `PeopleService._load_grouper` wires it), then ~2,000 new
   held-out faces (the newest photos) one at a time, each timed over `index.add` of that face
   + `grouper.add` — the order Regard runs them in. p50/p99 in ms; target p99 < 5 ms.
4. Peak RSS: of the child process tree (measure.py) and the child's VmHWM; plus the peak of
   each stage (VmHWM reset between stages through /proc/self/clear_refs).
5. Quality against the synthetic truth: BCubed (and pairwise) precision/recall/F1, a face
   left unassigned counting as a person of its own, and the people that mix identities. kNN
   recall: for 2,000 random faces, of the exact top-16 neighbours (self excluded) with
   similarity >= link (0.45), the fraction found in the top-17 of the graph grouping used
   (`index.knn_graph`, the lists regroup received). Regard claims >= 0.99. Beside it, for the
   same faces, the graph walk alone (`index.knn`, what grouping used before).
6. Peer, same run, same HNSW index: Immich's rule (server person.service handleRecognizeFaces;
   maxDistance 0.5, minFaces 3). For each face in order, its 3 nearest faces within cosine
   similarity 0.5 (itself included); only itself: skipped; 3 matches: a core face, which takes
   the person of the first match that has one, else that of its nearest face with a person
   within the distance, else starts a person; other faces are deferred and, after every core
   face, join the person of a match or of their nearest face with a person, if any. Timed
   over the whole pass (its neighbour searches are single `top_k` calls, as Immich's are one
   query a face). Its incremental latency is measured on its own ~2,000 held-out faces
   (`index.add` + the rule, a deferred face decided at once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO
from measure import run_measured

DIM = 128
SEED = 20261124
SIZES = (100_000, 1_000_000)
HELD_OUT = 2_000
RECALL_QUERIES = 2_000
BUILD_BATCH = 20_000  # regard.storage.vector_store._BATCH
ZIPF_EXPONENT, CAP_FRACTION = 2.2, 0.02
NOISE, NOISE_SPREAD, LOW_NOISE, LOW_FRACTION = 0.72, 0.25, 1.6, 0.10
PHOTO_SIZES = (0.45, 0.25, 0.15, 0.10, 0.05)  # photos of 1..5 faces
IMMICH_MAX_DISTANCE, IMMICH_MIN_FACES = 0.5, 3
TARGET_GROUPING_S, TARGET_GROUPING_AT = 600.0, 1_000_000
TARGET_P99_MS = 5.0
TARGET_RECALL = 0.99
OUT = CACHE / "people_scale.json"
SOURCES = (
    "src/regard/pipeline/cluster.py",
    "src/regard/pipeline/grouper.py",
    "src/regard/storage/vectors.py",
    "src/regard/storage/neighbour_graph.py",
    "src/regard/services/people.py",
)

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


# --- synthetic data ------------------------------------------------------------------------


@dataclass
class Data:
    vectors: F32  # (n, 128), unit rows
    identity: I64
    photo: I64
    low: npt.NDArray[np.bool_]
    base: int  # rows [0, base) are the library; the rest are held out
    regard_new: I64  # held-out rows for Regard's incremental adds
    peer_new: I64  # held-out rows for the peer's

    @property
    def ids(self) -> I64:
        return np.arange(1, len(self.identity) + 1, dtype=np.int64)


def synthesize(n: int, held_out: int, seed: int) -> Data:
    rng = np.random.default_rng([seed, n])
    total = n + 2 * held_out + 64
    cap = max(20, int(n * CAP_FRACTION))
    sizes: list[npt.NDArray[np.int64]] = []
    have = 0
    while have < total:
        draw = np.minimum(rng.zipf(ZIPF_EXPONENT, size=max(1024, (total - have) // 3)), cap)
        sizes.append(draw)
        have += int(draw.sum())
    size = np.concatenate(sizes)
    identity = rng.permutation(np.repeat(np.arange(len(size), dtype=np.int64), size)[:total])
    # Photos: consecutive faces, 1-5 of different identities; the held-out faces start a photo.
    caps = rng.choice(len(PHOTO_SIZES), size=total, p=PHOTO_SIZES) + 1
    photo = np.empty(total, dtype=np.int64)
    pid, members, room = 0, set(), int(caps[0])
    for i, ident in enumerate(identity.tolist()):
        if i == n or len(members) >= room or ident in members:
            pid += 1
            members, room = set(), int(caps[pid])
        members.add(ident)
        photo[i] = pid + 1
    low = rng.random(total) < LOW_FRACTION
    n_ident = int(identity.max()) + 1
    centres = rng.standard_normal((n_ident, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.empty((total, DIM), dtype=np.float32)
    for start in range(0, total, 100_000):
        rows = slice(start, min(total, start + 100_000))
        m = len(identity[rows])
        scale = NOISE * np.exp(NOISE_SPREAD * rng.standard_normal(m, dtype=np.float32))
        scale *= np.where(low[rows], LOW_NOISE, 1.0).astype(np.float32)
        noise = rng.standard_normal((m, DIM), dtype=np.float32)
        v = centres[identity[rows]] + (scale / np.float32(np.sqrt(DIM)))[:, None] * noise
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        vectors[rows] = v
    del centres
    # Held out: the newest photos, alternately for Regard and for the peer.
    tail = np.arange(n, total)
    parity = photo[tail] % 2 == photo[n] % 2
    regard_new, peer_new = tail[parity], tail[~parity]
    return Data(
        vectors,
        identity,
        photo,
        low,
        n,
        _whole_photos(regard_new, photo, held_out),
        _whole_photos(peer_new, photo, held_out),
    )


def _whole_photos(rows: I64, photo: I64, want: int) -> I64:
    """The first photos of `rows` holding at least `want` faces."""
    if len(rows) <= want:
        return rows
    last = photo[rows[want - 1]]
    return rows[photo[rows] <= last]


def similarity_stats(d: Data, rng: np.random.Generator, m: int = 50_000) -> dict[str, float]:
    n = d.base
    ident = d.identity[:n]
    order = np.argsort(ident, kind="stable")
    counts = np.bincount(ident)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    multi = np.flatnonzero(counts[ident] >= 2)
    a = rng.choice(multi, size=m)
    g = counts[ident[a]]
    k = rng.integers(0, g - 1)
    k += k >= pos[a] - starts[ident[a]]
    b = order[starts[ident[a]] + k]
    genuine = np.einsum("ij,ij->i", d.vectors[a], d.vectors[b])
    good = ~d.low[a] & ~d.low[b]
    x, y = rng.integers(0, n, size=(2, m))
    keep = ident[x] != ident[y]
    impostor = np.einsum("ij,ij->i", d.vectors[x[keep]], d.vectors[y[keep]])
    return {
        "genuine_mean": float(genuine.mean()),
        "genuine_sd": float(genuine.std()),
        "genuine_at_least_link": float((genuine >= 0.45).mean()),
        "genuine_at_least_0.5": float((genuine >= 0.5).mean()),
        "genuine_good_quality_mean": float(genuine[good].mean()),
        "impostor_mean": float(impostor.mean()),
        "impostor_sd": float(impostor.std()),
    }


# --- quality -------------------------------------------------------------------------------


def _pairs(counts: I64) -> float:
    c = counts.astype(np.float64)
    return float(np.sum(c * (c - 1) / 2))


def scores(truth: I64, labels: I64) -> dict[str, float | int]:
    """BCubed and pairwise precision/recall/F1; an unassigned face (label 0) is a person of
    its own. `people_mixing_identities`: people holding faces of more than one identity."""
    n = len(truth)
    pred = labels.astype(np.int64).copy()
    free = pred == 0
    pred[free] = pred.min() - 1 - np.arange(int(free.sum()))
    _, p = np.unique(pred, return_inverse=True)
    _, t = np.unique(truth, return_inverse=True)
    cell_key = p.astype(np.int64) * (int(t.max()) + 1) + t
    cells, cell, cell_n = np.unique(cell_key, return_inverse=True, return_counts=True)
    p_size, t_size = np.bincount(p), np.bincount(t)
    same = cell_n[cell].astype(np.float64)
    b_prec = float(np.mean(same / p_size[p]))
    b_rec = float(np.mean(same / t_size[t]))
    tp, pred_pairs, true_pairs = _pairs(cell_n), _pairs(p_size), _pairs(t_size)
    p_prec = tp / pred_pairs if pred_pairs else 1.0
    p_rec = tp / true_pairs if true_pairs else 1.0
    identities_in = np.bincount(cells // (int(t.max()) + 1), minlength=len(p_size))
    majority = np.zeros(len(p_size), dtype=np.int64)
    np.maximum.at(majority, cells // (int(t.max()) + 1), cell_n)
    assigned_clusters = np.unique(p[~free])

    def f1(a: float, b: float) -> float:
        return 2 * a * b / (a + b) if a + b else 0.0

    return {
        "bcubed_precision": b_prec,
        "bcubed_recall": b_rec,
        "bcubed_f1": f1(b_prec, b_rec),
        "pairwise_precision": p_prec,
        "pairwise_recall": p_rec,
        "pairwise_f1": f1(p_prec, p_rec),
        "people": len(assigned_clusters),
        "people_mixing_identities": int(np.sum(identities_in[assigned_clusters] > 1)),
        "faces_outside_majority": int(
            np.sum(p_size[assigned_clusters] - majority[assigned_clusters])
        ),
        "faces_assigned": int(np.sum(~free)),
        "faces": n,
    }


# --- the child: one size -------------------------------------------------------------------


class Stages:
    """Wall time and peak RSS (VmHWM, reset per stage) of each stage, logged as it goes."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("w", buffering=1)
        self.out: dict[str, dict[str, float]] = {}
        self.t0 = time.perf_counter()
        self._reset = True

    @staticmethod
    def _kib(field: str) -> int:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
        return 0

    def say(self, msg: str) -> None:
        self.log.write(f"[{time.perf_counter() - self.t0:8.1f} s] {msg}\n")

    def start(self, name: str) -> float:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # resets VmHWM to the current RSS
        except OSError:
            self._reset = False
        self.say(f"{name} ...")
        self._cpu = time.process_time()
        self._busy = _busy_seconds()
        return time.perf_counter()

    def end(self, name: str, t: float) -> float:
        s = time.perf_counter() - t
        cpu = time.process_time() - self._cpu
        self.out[name] = {
            "seconds": s,
            "cpu_seconds": cpu,  # this process, all threads
            "others_cpu_seconds": max(0.0, _busy_seconds() - self._busy - cpu),
            "rss_mib": self._kib("VmRSS:") / 1024,
            "peak_rss_mib": self._kib("VmHWM:") / 1024 if self._reset else float("nan"),
        }
        self.say(f"{name}: {s:.1f} s, RSS {self.out[name]['rss_mib']:.0f} MiB")
        return s


def percentiles(ns: list[int]) -> dict[str, float]:
    ms = np.asarray(ns, dtype=np.float64) / 1e6
    return {
        "n": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
    }


class Immich:
    """Immich's face-recognition rule over Regard's vector index (see the module docstring)."""

    def __init__(self, index: Any, size: int) -> None:
        self.index = index
        self.t = 1.0 - IMMICH_MAX_DISTANCE
        self.person = np.zeros(size + 1, dtype=np.int64)  # by face id
        self.next_id = 0

    def _nearest_with_person(self, vector: F32) -> int:
        k = 16
        while True:
            hits = self.index.top_k(vector, k)
            for h in hits:
                if h.score < self.t:
                    return 0
                if self.person[h.id]:
                    return int(self.person[h.id])
            if len(hits) < k or k >= len(self.index):
                return 0
            k *= 4

    def decide(self, face_id: int, vector: F32, first_pass: bool) -> bool:
        """False if the face is deferred (a non-core face in the first pass)."""
        matches = [h for h in self.index.top_k(vector, IMMICH_MIN_FACES) if h.score >= self.t]
        if len(matches) <= 1:
            return True  # only itself: skipped
        core = len(matches) >= IMMICH_MIN_FACES
        if not core and first_pass:
            return False
        pid = next((int(self.person[h.id]) for h in matches if self.person[h.id]), 0)
        if not pid:
            pid = self._nearest_with_person(vector)
        if core and not pid:
            self.next_id += 1
            pid = self.next_id
        if pid:
            self.person[face_id] = pid
        return True


def run_size(
    n: int, held_out: int, seed: int, out: Path, log: Path, second_look: int | None = None
) -> None:
    from regard.pipeline.cluster import FaceSet, GroupingParams, regroup
    from regard.pipeline.grouper import IncrementalGrouper
    from regard.storage.arrays import positions
    from regard.storage.vectors import SECOND_LOOK, HnswIndex

    if second_look is None:
        second_look = SECOND_LOOK
    st = Stages(log)
    res: dict[str, Any] = {"faces": n, "sources_sha256": _sources_digest()}
    p = GroupingParams()
    res["params"] = asdict(p)

    t = st.start("synthesize")
    d = synthesize(n, held_out, seed)
    st.end("synthesize", t)
    ids = d.ids
    truth = d.identity[:n]
    id_count = np.bincount(truth)
    id_sizes = id_count[id_count > 0]
    rng = np.random.default_rng([seed, n, 1])
    res["data"] = {
        "identities": len(id_sizes),
        "singleton_identities": int(np.sum(id_sizes == 1)),
        "faces_of_singletons": float(np.sum(id_sizes == 1) / n),
        "largest_identity": int(id_sizes.max()),
        "photos": len(np.unique(d.photo[:n])),
        "low_quality": float(d.low[:n].mean()),
        "held_out_regard": len(d.regard_new),
        "held_out_peer": len(d.peer_new),
        **similarity_stats(d, rng),
    }
    st.say(f"data: {res['data']}")

    # 1. Index build.
    t = st.start("index_build")
    index = HnswIndex(DIM, second_look=second_look)
    res["second_look"] = second_look
    for start in range(0, n, BUILD_BATCH):
        stop = min(n, start + BUILD_BATCH)
        index.add(ids[start:stop].tolist(), d.vectors[start:stop])
    st.end("index_build", t)

    # 2. Full grouping, wired as PeopleService.recluster wires it.
    faces = FaceSet(ids[:n], d.vectors[:n], d.photo[:n], d.low[:n], np.zeros(n, dtype=np.int64), {})
    knn_time = {"search": 0.0, "map": 0.0, "calls": 0, "queries": 0}

    import regard.storage.neighbour_graph as graph_module

    refine = graph_module.refine
    graph: dict[str, Any] = {}

    def timed_refine(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return refine(*args, **kwargs)
        finally:
            knn_time["refine"] += time.perf_counter() - t0
            knn_time["refine_cpu"] += time.process_time() - c0

    graph_module.refine = timed_refine  # type: ignore[assignment]  # times the stage

    def knn(rows: I64, k: int) -> tuple[I64, F32]:
        t0, c0 = time.perf_counter(), time.process_time()
        found, sims = index.knn_graph(faces.ids[rows], k, floor=p.link)
        t1, c1 = time.perf_counter(), time.process_time()
        mapped = positions(faces.ids, found)  # as the people service maps them
        knn_time["search"] += t1 - t0
        knn_time["search_cpu"] += c1 - c0
        knn_time["map"] += time.perf_counter() - t1
        knn_time["calls"] += 1
        knn_time["queries"] += len(rows)
        graph["rows"], graph["ids"] = rows, found  # what grouping used, for 5b
        return mapped, sims

    knn_time = dict.fromkeys(("search", "search_cpu", "refine", "refine_cpu", "map"), 0.0)
    knn_time |= {"calls": 0, "queries": 0}
    t = st.start("grouping")
    grouping = regroup(faces, knn, p)
    total = st.end("grouping", t)
    graph_module.refine = refine  # type: ignore[assignment]
    knn_s = knn_time["search"] + knn_time["map"]
    res["grouping"] = {
        "knn_seconds": knn_s,
        "knn_search_seconds": knn_time["search"],
        "knn_search_cpu_seconds": knn_time["search_cpu"],
        "knn_refine_seconds": knn_time["refine"],
        "knn_refine_cpu_seconds": knn_time["refine_cpu"],
        "knn_map_seconds": knn_time["map"],
        "knn_queries": knn_time["queries"],
        "clustering_seconds": total - knn_s,
        "total_seconds": total,
        "cpu_seconds": st.out["grouping"]["cpu_seconds"],
    }
    labels = grouping.person
    res["regard_quality"] = scores(truth, labels)
    st.say(f"Regard quality: {res['regard_quality']}")

    # 5b. Recall of the neighbours that matter: of the graph grouping used (`knn_graph`:
    # the graph walk's answers refined), and of the graph walk alone (`index.knn`, as
    # before), for the same faces.
    t = st.start("recall")
    k = p.neighbours + 1
    sample = rng.choice(n, size=min(RECALL_QUERIES, n), replace=False)
    assert np.array_equal(graph["rows"], np.arange(n))
    used = {"graph": graph["ids"][sample]}
    c0 = time.process_time()
    used["hnsw"], hnsw_sims = index.knn(d.vectors[sample], k)
    hnsw_cpu = time.process_time() - c0
    # c[...]: neighbours >= link (all queries / queries whose identity fits in the top-16),
    # found, and misses where HNSW's last neighbour was still >= link (displaced by another).
    c = {
        name: dict.fromkeys(
            ("matter", "found", "small", "small_found", "displaced", "any", "any_found"), 0
        )
        for name in used
    }
    base = d.vectors[:n]
    for start in range(0, len(sample), 64):
        q = sample[start : start + 64]
        sims = d.vectors[q] @ base.T
        sims[np.arange(len(q)), q] = -np.inf  # self
        part = np.argpartition(-sims, k - 2, axis=1)[:, : k - 1]
        top = np.take_along_axis(sims, part, axis=1)
        for j in range(len(q)):
            strong = top[j] >= p.link
            small = int(id_count[truth[q[j]]] <= k)
            for name, found_ids in used.items():
                cn = c[name]
                got = set(found_ids[start + j].tolist())
                hit = np.array([int(e) in got for e in ids[part[j]]])
                cn["matter"] += int(strong.sum())
                cn["found"] += int(hit[strong].sum())
                cn["small"] += int(strong.sum()) * small
                cn["small_found"] += int(hit[strong].sum()) * small
                if name == "hnsw" and hnsw_sims[start + j, -1] >= p.link:
                    cn["displaced"] += int((strong & ~hit).sum())
                cn["any"] += len(hit)
                cn["any_found"] += int(hit.sum())
    st.end("recall", t)
    for name, cn in c.items():
        missed = cn["matter"] - cn["found"]
        res["knn_recall" if name == "graph" else "hnsw_recall"] = {
            "queries": len(sample),
            "k": k,
            "neighbours_at_least_link": cn["matter"],
            "recall_at_least_link": cn["found"] / cn["matter"] if cn["matter"] else float("nan"),
            "small_identity_neighbours": cn["small"],
            "recall_small_identities": (
                cn["small_found"] / cn["small"] if cn["small"] else float("nan")
            ),
            "recall_large_identities": (
                (cn["found"] - cn["small_found"]) / (cn["matter"] - cn["small"])
                if cn["matter"] > cn["small"]
                else float("nan")
            ),
            "misses_displaced_by_link_neighbours": cn["displaced"] / missed if missed else 0.0,
            "recall_top16_any": cn["any_found"] / cn["any"],
        }
    res["hnsw_recall"]["knn_cpu_seconds"] = hnsw_cpu
    st.say(f"recall: grouping's graph {res['knn_recall']}, HNSW alone {res['hnsw_recall']}")

    # 6. Peer: the Immich rule over the same index, before any held-out face is added.
    peer = Immich(index, len(ids))
    t = st.start("peer_full")
    deferred = [i for i in range(n) if not peer.decide(int(ids[i]), d.vectors[i], True)]
    for i in deferred:
        peer.decide(int(ids[i]), d.vectors[i], False)
    peer_s = st.end("peer_full", t)
    res["peer"] = {"seconds": peer_s, "deferred": len(deferred)}
    res["peer_quality"] = scores(truth, peer.person[1 : n + 1])
    st.say(f"peer quality: {res['peer_quality']}")

    # 3. Incremental adds from the state after the full grouping.
    persons = np.where(labels < 0, -labels, labels)
    next_person = [int(persons.max())]

    def allocate() -> int:
        next_person[0] += 1
        return next_person[0]

    def top_k(v: F32, kk: int) -> list[tuple[int, float]]:
        return [(nb.id, nb.score) for nb in index.top_k(v, kk)]

    t = st.start("grouper_load")
    grouper = IncrementalGrouper(DIM, knn=top_k, allocate=allocate, params=p)
    grouper.load(
        ids[:n].tolist(),
        d.vectors[:n],
        d.photo[:n].tolist(),
        d.low[:n].tolist(),
        persons.tolist(),
    )
    st.end("grouper_load", t)
    t = st.start("incremental")
    total_ns, index_ns, grouper_ns = [], [], []
    joined = new = alone = 0
    joined_size: list[int] = []  # size of the person each face went to (0: none)
    for r in d.regard_new.tolist():
        fid, vec = int(ids[r]), d.vectors[r]
        t0 = time.perf_counter_ns()
        index.add([fid], vec[None, :])
        t1 = time.perf_counter_ns()
        decision = grouper.add(fid, vec, int(d.photo[r]), bool(d.low[r]))
        t2 = time.perf_counter_ns()
        total_ns.append(t2 - t0)
        index_ns.append(t1 - t0)
        grouper_ns.append(t2 - t1)
        joined_size.append(_person_size(grouper, decision.person))
        if not decision.person:
            alone += 1
        elif decision.new_person:
            new += 1
        else:
            joined += 1
    st.end("incremental", t)
    # Judged on the final state (a later add may move earlier faces).
    final = np.array(grouper.person, dtype=np.int64)
    final_truth = np.concatenate([truth, d.identity[d.regard_new]])
    majority = _majority(final_truth, final)
    wrong = sum(
        1
        for per, ident in zip(final[n:].tolist(), final_truth[n:].tolist(), strict=True)
        if per and majority[per] != ident
    )
    res["incremental"] = {
        **percentiles(total_ns),
        "index_add": percentiles(index_ns),
        "grouper_add": percentiles(grouper_ns),
        "grouper_add_by_person_size": _by_size(grouper_ns, joined_size),
        "joined": joined,
        "assigned_to_other_identity": wrong,
        "new_people": new,
        "unassigned": alone,
    }
    res["incremental_quality"] = scores(final_truth, final)
    st.say(f"incremental: {res['incremental']}")

    t = st.start("peer_incremental")
    peer_ns = []
    for r in d.peer_new.tolist():
        fid, vec = int(ids[r]), d.vectors[r]
        t0 = time.perf_counter_ns()
        index.add([fid], vec[None, :])
        if not peer.decide(fid, vec, True):
            peer.decide(fid, vec, False)
        peer_ns.append(time.perf_counter_ns() - t0)
    st.end("peer_incremental", t)
    res["peer"]["incremental"] = percentiles(peer_ns)

    res["stages"] = st.out
    with open("/proc/self/status") as fh:
        res["vm_hwm_mib_last_stage"] = next(
            int(x.split()[1]) / 1024 for x in fh if x.startswith("VmHWM:")
        )
    out.write_text(json.dumps(res, indent=1, default=_plain) + "\n")
    st.say("done")


def _person_size(grouper: Any, person: int) -> int:
    """Faces of a person in the grouper's state (its internals; -1 if they changed)."""
    try:
        return len(grouper.people[person].members) if person else 0
    except (AttributeError, KeyError):
        return -1


def _by_size(ns: list[int], sizes: list[int]) -> dict[str, dict[str, float]]:
    out = {}
    size = np.asarray(sizes)
    for lo, hi in ((0, 1000), (1001, 10**9)):
        pick = [t for t, keep in zip(ns, (size >= lo) & (size <= hi), strict=True) if keep]
        if pick:
            out[f"{lo}-{hi}" if hi < 10**9 else f">{lo - 1}"] = percentiles(pick)
    return out


def _plain(o: Any) -> Any:
    """numpy scalars as plain numbers, for json."""
    return o.item() if hasattr(o, "item") else str(o)


def _majority(truth: I64, persons: I64) -> dict[int, int]:
    """The true identity most of each person's faces have."""
    assigned = np.flatnonzero(persons > 0)
    key = persons[assigned] * (int(truth.max()) + 1) + truth[assigned]
    cells, counts = np.unique(key, return_counts=True)
    person, ident = cells // (int(truth.max()) + 1), cells % (int(truth.max()) + 1)
    order = np.lexsort((-counts, person))
    out: dict[int, int] = {}
    for pp, ii in zip(person[order].tolist(), ident[order].tolist(), strict=True):
        out.setdefault(pp, ii)
    return out


# --- the parent: run, print, save ----------------------------------------------------------


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _sources() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "src_changes": git("status", "--short", "src"),
        "sources_sha256": _sources_digest(),
    }


def _sources_digest() -> str:
    """Of the source files measured, as they are now (the children record theirs too)."""
    digest = hashlib.sha256()
    for rel in SOURCES:
        path = REPO / rel
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def _busy_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (/proc/stat), in seconds."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _row(label: str, seconds: float) -> str:
    return f"   {label:<58}{seconds:8.1f} s   "


def report(n: int, r: dict[str, Any]) -> list[str]:
    g, inc, rec = r["grouping"], r["incremental"], r["knn_recall"]
    hn = r["hnsw_recall"]
    q, pq, peer, data = r["regard_quality"], r["peer_quality"], r["peer"], r["data"]
    build = r["stages"]["index_build"]["seconds"]
    at_target = n == TARGET_GROUPING_AT
    grouping_check = (
        f"target < {TARGET_GROUPING_S / 60:.0f} min: {_met(g['total_seconds'] < TARGET_GROUPING_S)}"
        if at_target
        else f"(the < {TARGET_GROUPING_S / 60:.0f} min target is for 1M faces)"
    )
    lines = [
        f"== {n:,} faces: {data['identities']:,} identities (largest {data['largest_identity']:,}"
        f" faces; {data['faces_of_singletons']:.0%} of faces are singletons), "
        f"{data['photos']:,} photos, {data['low_quality']:.0%} low quality",
        f"   synthetic similarity: same identity {data['genuine_mean']:.3f} "
        f"(sd {data['genuine_sd']:.3f}, {data['genuine_at_least_link']:.1%} >= 0.45), "
        f"different {data['impostor_mean']:+.4f} (sd {data['impostor_sd']:.4f})",
        _row(f"HNSW index build ({n:,} adds, batches of {BUILD_BATCH:,})", build)
        + "(paid during indexing)",
        _row(
            f"full grouping: kNN graph (index.knn_graph, k {rec['k']}, second look "
            f"{r.get('second_look', 0)})",
            g["knn_seconds"],
        )
        + f"(search {g['knn_search_seconds']:.1f} s, {g['knn_search_cpu_seconds']:.0f} CPU s,"
        f" of which refinement {g['knn_refine_seconds']:.1f} s, "
        f"{g['knn_refine_cpu_seconds']:.0f} CPU s; + id->row mapping "
        f"{g['knn_map_seconds']:.1f} s; {g['knn_queries']:,} queries)",
        _row("               clustering (regroup)", g["clustering_seconds"]),
        _row("               grouping = kNN + clustering", g["total_seconds"])
        + f"({g['cpu_seconds']:.0f} CPU s) "
        + grouping_check,
        _row("index build + grouping", build + g["total_seconds"]),
        _row(f"grouper load ({n:,} grouped faces)", r["stages"]["grouper_load"]["seconds"]),
        f"   incremental add (index.add + grouper.add), {inc['n']:,} new faces: "
        f"p50 {inc['p50_ms']:.2f} ms, p99 {inc['p99_ms']:.2f} ms (max {inc['max_ms']:.1f})"
        f"   target p99 < {TARGET_P99_MS:.0f} ms: {_met(inc['p99_ms'] < TARGET_P99_MS)}",
        f"      of which index.add p50 {inc['index_add']['p50_ms']:.2f} / p99 "
        f"{inc['index_add']['p99_ms']:.2f} ms, grouper.add p50 {inc['grouper_add']['p50_ms']:.2f}"
        f" / p99 {inc['grouper_add']['p99_ms']:.2f} ms; joined {inc['joined']}, new people "
        f"{inc['new_people']}, unassigned {inc['unassigned']}; in the end "
        f"{inc['assigned_to_other_identity']} in a person of another identity",
        "      grouper.add by the size of the person the face went to: "
        + "; ".join(
            f"{k} faces: {v['n']:,} adds, p50 {v['p50_ms']:.2f} / p99 {v['p99_ms']:.2f} ms"
            for k, v in inc["grouper_add_by_person_size"].items()
        ),
        f"   kNN recall of exact neighbours >= {r['params']['link']} in the top-{rec['k']},"
        f" grouping's graph ({rec['queries']:,} queries, {rec['neighbours_at_least_link']:,}"
        f" neighbours): {rec['recall_at_least_link']:.4f}   target >= {TARGET_RECALL}: "
        f"{_met(rec['recall_at_least_link'] >= TARGET_RECALL)}"
        f"   (all top-16: {rec['recall_top16_any']:.4f}); identities with <= {rec['k']} "
        f"faces {rec['recall_small_identities']:.4f}, the rest "
        f"{rec['recall_large_identities']:.4f}",
        f"      HNSW alone (index.knn, the same faces, {hn['knn_cpu_seconds']:.1f} CPU s): "
        f"{hn['recall_at_least_link']:.4f} (all top-16: {hn['recall_top16_any']:.4f}); "
        f"identities with <= {hn['k']} faces (every same-identity neighbour irreplaceable): "
        f"{hn['recall_small_identities']:.4f} of {hn['small_identity_neighbours']:,}, the rest "
        f"{hn['recall_large_identities']:.4f}; of the misses, "
        f"{hn['misses_displaced_by_link_neighbours']:.0%} were displaced by other neighbours "
        f">= {r['params']['link']} (HNSW's top-{hn['k']} all >= it)",
    ]
    both = (("Regard", q), ("Regard+adds", r["incremental_quality"]), ("Immich rule", pq))
    for name, s in both:
        lines.append(
            f"   quality, {name + ':':12} BCubed P {s['bcubed_precision']:.4f} R "
            f"{s['bcubed_recall']:.4f} F1 {s['bcubed_f1']:.4f} | pairwise P "
            f"{s['pairwise_precision']:.4f} R {s['pairwise_recall']:.4f} | {s['people']:,} people,"
            f" {s['people_mixing_identities']:,} mixing identities, "
            f"{s['faces_assigned'] / s['faces']:.1%} of faces assigned"
        )
    pi = peer["incremental"]
    lines += [
        f"   peer (Immich rule, maxDistance {IMMICH_MAX_DISTANCE}, minFaces {IMMICH_MIN_FACES},"
        f" same HNSW index): full pass {peer['seconds']:.1f} s; incremental p50 "
        f"{pi['p50_ms']:.2f} ms, p99 {pi['p99_ms']:.2f} ms ({pi['n']:,} new faces)",
        f"   Regard / peer: grouping wall {g['total_seconds'] / peer['seconds']:.2f}x, "
        f"BCubed F1 {q['bcubed_f1'] / pq['bcubed_f1']:.3f}x, incremental p99 "
        f"{inc['p99_ms'] / pi['p99_ms']:.2f}x",
        f"   child process: peak RSS {r['measured']['peak_rss_mib']:,.0f} MiB (tree, sampled),"
        f" VmHWM of the heaviest stage {r['heaviest_stage'][1]:,.0f} MiB "
        f"({r['heaviest_stage'][0]}); wall {r['measured']['seconds']:.0f} s, CPU "
        f"{r['measured']['cpu_seconds']:.0f} s (other processes meanwhile: "
        f"{r['measured']['other_processes_cpu_seconds']:.0f} CPU s)",
        "   stage peaks (MiB): "
        + ", ".join(f"{k} {v['peak_rss_mib']:,.0f}" for k, v in r["stages"].items()),
        "   stage CPU (this process / other processes, CPU s): "
        + ", ".join(
            f"{k} {v['cpu_seconds']:.0f}/{v['others_cpu_seconds']:.0f}"
            for k, v in r["stages"].items()
        ),
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--held-out", type=int, default=HELD_OUT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument(
        "--second-look",
        type=int,
        default=None,
        help="candidates of knn_graph's second, wider walk for faces left without a "
        "neighbour >= link (default: the index's, regard.storage.vectors.SECOND_LOOK)",
    )
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.child:
        log = CACHE / f"people_scale-{args.child}.log"
        run_size(args.child, args.held_out, args.seed, args.child_out, log, args.second_look)
        return

    import usearch

    from regard.storage.vectors import CANDIDATES, CONNECTIVITY, EXPANSION_ADD, GRAPH_DTYPE

    meta = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "usearch": usearch.__version__,
        "cpus": os.cpu_count(),
        "seed": args.seed,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        **_sources(),
    }
    print(
        "Regard people grouping at scale: synthetic 128-D embeddings (see the docstring), HNSW "
        f"index (usearch, graph vectors {GRAPH_DTYPE}, M {CONNECTIVITY}, ef_add {EXPANSION_ADD}, "
        f"{CANDIDATES} candidates re-ranked on float32), {os.cpu_count()} cores"
    )
    results: dict[str, Any] = {}
    for n in args.sizes:
        part = CACHE / f"people_scale-{n}.part.json"
        part.unlink(missing_ok=True)
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(n)]
        argv += ["--child-out", str(part), "--held-out", str(args.held_out)]
        argv += ["--seed", str(args.seed)]
        if args.second_look is not None:
            argv += ["--second-look", str(args.second_look)]
        busy = _busy_seconds()
        measured = run_measured(argv, cwd=REPO)
        busy = _busy_seconds() - busy
        if measured.returncode != 0 or not part.exists():
            print(measured.stdout + measured.stderr, file=sys.stderr)
            sys.exit(f"the {n:,}-face run failed (exit status {measured.returncode})")
        r = json.loads(part.read_text())
        part.unlink()
        r["measured"] = measured.summary()
        # Other processes competing for the 2 cores make every timing here slower.
        r["measured"]["other_processes_cpu_seconds"] = max(0.0, busy - measured.cpu_seconds)
        heaviest = max(r["stages"].items(), key=lambda kv: kv[1]["peak_rss_mib"])
        r["heaviest_stage"] = [heaviest[0], heaviest[1]["peak_rss_mib"]]
        results[str(n)] = r
        print("\n".join(report(n, r)), flush=True)
    OUT.write_text(json.dumps({"meta": meta, "sizes": results}, indent=1) + "\n")
    print(f"\nwrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
