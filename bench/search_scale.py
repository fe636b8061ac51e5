"""Search at scale: Regard's HNSW index against exact search, on synthetic faces.

    .venv/bin/python bench/search_scale.py                   # 1,000,000 faces
    .venv/bin/python bench/search_scale.py --size 100000     # another size
    .venv/bin/python bench/search_scale.py --threshold-only  # threshold searches alone (minutes)
    .venv/bin/python bench/search_scale.py --guard           # CI (20,000 faces): fails if worse
    .venv/bin/python bench/search_scale.py --guard --record  # record this machine class

The faces are bench/people_scale.py's (heavy-tailed identities, SFace-like similarities, same
seed). The index is `HnswIndex` with the settings `VectorStore` uses; the peer is `ExactIndex`
(one matrix-vector product a query) on the same vectors, in the same run, on one core
(OPENBLAS_NUM_THREADS=1). Measured:

1. Build: `HnswIndex.add` in batches of 20,000 (as VectorStore builds it), wall and CPU time;
   memory: the graph's own figure (links + its quantised vectors) and the exact float32
   store's, and what a graph holding float32 vectors would take instead (4 bytes a
   dimension: the exact store could then be dropped, at the cost of walking float32).
2. kNN recall, as grouping uses the index: for sampled faces, of the exact top-16 neighbours
   (self excluded) with similarity >= 0.45 (the grouping link), the fraction among the top-17
   of `HnswIndex.knn`. Target >= 0.99.
3. Threshold search completeness: for sampled faces, every face `ExactIndex.search` finds at
   >= 0.45, against `HnswIndex.search` (4-bit codes with a proven error bound, candidates
   re-scored from the float32 store): found / expected, and hits it returns that exact
   search does not (must be 0); the candidates re-scored a query; the codes' build time and
   memory.
4. Latency on one core, per query: `top_k(17)` and `search(threshold=0.45)` of HNSW, its
   scan of the whole float32 store (the peer for threshold searches, what `search` did
   before) and exact `top_k(17)` / `search`: wall and thread CPU time, p50/p99; the ratios
   HNSW / exact (`top_k`) and codes / scan (threshold search). Threshold searches are also
   split by the number of matches they return (building tens of thousands of results costs
   more than finding them); for those with more than 1,000 (--threshold-only), the CPU time
   of each step: the first pass over the codes, re-scoring from float32, ordering, making
   the answers (`Matches`: two arrays), then what a caller reading every one as a
   `Neighbour` pays (not the search's) and freeing them.
5. Erasure at scale: 1 % of the faces removed; none is returned for its own vector; none has
   a code left (its coded product is 0 for its own vector); the saved bytes still hold
   removed vectors before `compact()` (tombstones) and none after.
6. Grouping's kNN graph (every face's top-17, `knn` on all cores): timed on a sample of the
   faces, scaled to all of them (bench/people_scale.py runs the whole grouping).

--guard (run by scripts/test) uses 20,000 faces and fails when the HNSW/exact `top_k` latency
ratio or the codes/scan threshold-search ratio (p50, thread CPU; the lowest of 3 rounds a
second apart, as other processes lift a round's ratio) is more than 30 % above, or
the miss rate of kNN recall more than 30 % above, the figures recorded in
bench/search_scale_guard.json for this machine class; and when a threshold search misses a
match or returns an extra one, or a removed vector is found or keeps a code.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the exact peer on one core

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO
from people_scale import DIM, SEED, synthesize

from regard.storage.ranked import Matches, best_first
from regard.storage.vectors import (
    CANDIDATES,
    GRAPH_DTYPE,
    ExactIndex,
    HnswIndex,
)

LINK = 0.45  # GroupingParams.link
EDGE = 1e-5
K = 17  # GroupingParams.neighbours + 1
TARGET_RECALL, TARGET_P99_MS = 0.99, 10.0
GUARD_SIZE, GUARD_SLACK, GUARD_ROUNDS = 20_000, 1.30, 3
GUARD_FILE = REPO / "bench" / "search_scale_guard.json"
F32 = npt.NDArray[np.float32]


def machine_class() -> str:
    return f"{platform.machine()}-{os.cpu_count()}cpu"


def _pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99))}


def timed(fns: dict[str, Any], queries: F32) -> dict[str, Any]:
    """Per-query wall and thread CPU time of each function, taking turns query by query
    so that other processes slow each of them alike (the ratio is what the guard checks)."""
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for q in queries:
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.thread_time()
            fn(q)
            cpu[name].append(time.thread_time() - c)
            wall[name].append(time.perf_counter() - t)
    out: dict[str, Any] = {name: {"wall": _pct(wall[name]), "cpu": _pct(cpu[name])} for name in fns}
    out["cpu_seconds"] = cpu
    return out


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stage(r: dict[str, Any], name: str) -> None:
    """Print a finished stage and keep what is measured so far (a long run may be cut)."""
    print(
        f"[{time.strftime('%H:%M:%S')}] {name}: {json.dumps(r.get(name), default=str)}", flush=True
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / f"search_scale-{r['faces']}.partial.json").write_text(json.dumps(r, indent=1))


def threshold_stage(
    r: dict[str, Any], index: HnswIndex, exact: ExactIndex, vectors: F32, tq: npt.NDArray[Any]
) -> None:
    # 3. Threshold search: complete, and nothing extra.
    before = rss_mib()
    t, c = time.perf_counter(), time.process_time()
    coded = index.coded()
    r["codes"] = {
        "build_wall_s": time.perf_counter() - t,
        "build_cpu_s": time.process_time() - c,
        "bytes_a_face": coded.memory_bytes / len(vectors),
        "mib": coded.memory_bytes / 2**20,
        "rss_growth_mib": rss_mib() - before,
    }
    stage(r, "codes")
    expected = got = extra = short = 0
    for face in tq:
        # Two float32 dot products of the same vectors may differ in the last bit: a face
        # within EDGE of the threshold counts either way.
        want_set = {h.id for h in exact.search(vectors[face], threshold=LINK + EDGE)}
        maybe = {h.id for h in exact.search(vectors[face], threshold=LINK - EDGE)}
        got_set = {h.id for h in index.search(vectors[face], threshold=LINK)}
        expected += len(want_set)
        got += len(want_set & got_set)
        extra += len(got_set - maybe)
        short += int(bool(want_set - got_set))
    rescored = [len(coded.candidates(vectors[f], LINK, len(vectors))) for f in tq]
    r["threshold_search"] = {
        "rescored_p50": float(np.median(rescored)),
        "rescored_p99": float(np.percentile(rescored, 99)),
        "rescored_max": int(max(rescored)),
        "queries": len(tq),
        "expected": expected,
        "found": got,
        "recall": got / max(1, expected),
        "extra": extra,
        "queries_missing_any": short,
    }
    stage(r, "threshold_search")


def latency_stage(
    r: dict[str, Any],
    index: HnswIndex,
    exact: ExactIndex,
    lq: F32,
    top_k: bool = True,
    rounds: int = 1,
) -> None:
    """4. Latency on one core. With several `rounds` (the guard's, a second apart), each
    paired ratio is the lowest round's: another process on the machine (a test run winding
    down, the other hyperthread of the core) slows the searches more than the scans they are
    paired with and lifts a round's ratio by up to half; a slower search lifts every round."""
    taken: list[tuple[float, float]] = []
    for n in range(rounds):
        if n:
            time.sleep(1.0)
        _latency_round(r, index, exact, lq, top_k)
        lat = r["latency"]
        taken.append((lat.get("ratio_p50_cpu", 0.0), lat["search_ratio_p50_cpu"]))
    if rounds > 1:
        lat = r["latency"]
        lat["rounds"] = taken
        if top_k:
            lat["ratio_p50_cpu"] = min(t[0] for t in taken)
        lat["search_ratio_p50_cpu"] = min(t[1] for t in taken)
    stage(r, "latency")


def _latency_round(
    r: dict[str, Any], index: HnswIndex, exact: ExactIndex, lq: F32, top_k: bool
) -> None:
    matches: list[int] = []

    def searched(q: F32) -> None:
        matches.append(len(index.search(q, threshold=LINK)))

    fns: dict[str, Any] = {
        "hnsw_top_k": lambda q: index.top_k(q, K),
        "hnsw_search": searched,
        "hnsw_scan": lambda q: index.scan(q, threshold=LINK),
        "exact_top_k": lambda q: exact.top_k(q, K),
        "exact_search": lambda q: exact.search(q, threshold=LINK),
    }
    if not top_k:
        del fns["hnsw_top_k"], fns["exact_top_k"]
    r["latency"] = timed(fns, lq)
    lat = r["latency"]
    # Query by query, HNSW's CPU time over exact search's, taken in turns: the median of
    # these pairs moves least when other processes compete for the cores.
    raw = lat.pop("cpu_seconds")
    search_cpu, found_n = np.asarray(raw["hnsw_search"]), np.asarray(matches)
    scan_cpu = np.asarray(raw["hnsw_scan"])
    for name, pick in (("few", found_n <= 1000), ("many", found_n > 1000)):
        if pick.any():
            lat[f"hnsw_search_{name}"] = {
                "queries": int(pick.sum()),
                "cpu": _pct(search_cpu[pick].tolist()),
                "scan_cpu": _pct(scan_cpu[pick].tolist()),
                "matches_p50": float(np.median(found_n[pick])),
                "matches_max": int(found_n[pick].max()),
            }
    lat["search_ratio_p50_cpu"] = float(np.median(search_cpu / np.maximum(1e-9, scan_cpu)))
    r["threshold_matches"] = found_n.tolist()  # a query's, for steps_stage
    if not top_k:
        return
    paired = np.asarray(raw["hnsw_top_k"]) / np.maximum(1e-9, np.asarray(raw["exact_top_k"]))
    lat["ratio_p50_cpu"] = float(np.median(paired))
    lat["ratio_p99_cpu"] = lat["hnsw_top_k"]["cpu"]["p99_ms"] / lat["exact_top_k"]["cpu"]["p99_ms"]


# The steps of a threshold search; "reading" (every answer made a Neighbour, and freed) is
# not the search's: it is what a caller that goes through all of them pays afterwards.
STEPS = ("first_pass", "rescoring", "ordering", "answers", "reading", "freeing")


def steps_stage(r: dict[str, Any], index: HnswIndex, lq: F32) -> None:
    """Where a threshold search's CPU time goes, step by step, for the latency queries with
    more than 1,000 matches, taking turns with a scan of the float32 store (which leaves the
    caches as a search finds them after other work). The steps are `HnswIndex.search`'s own
    (checked: the same answers)."""
    many = lq[np.asarray(r["threshold_matches"]) > 1000]
    names = STEPS
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for q in many:
        want = index.scan(q, threshold=LINK)
        marks = [time.thread_time()]
        slots = index.coded().candidates(q, LINK, len(index))
        marks.append(time.thread_time())
        ids, scores = index._rescored(q, slots, LINK)
        marks.append(time.thread_time())
        ids, scores = best_first(ids, scores)
        marks.append(time.thread_time())
        got = Matches(ids, scores)
        marks.append(time.thread_time())
        read = list(got)  # every answer read as a Neighbour, as a caller going through all
        marks.append(time.thread_time())
        del read
        marks.append(time.thread_time())
        if got != want:
            raise SystemExit("the steps timed are not the search's: their answers differ")
        for name, a, b in zip(names, marks, marks[1:], strict=False):
            cpu[name].append(b - a)
    r["steps_many"] = {"queries": len(many), **{name: _pct(cpu[name]) for name in names}}
    stage(r, "steps_many")


def run(
    n: int,
    beams: list[int],
    queries: int,
    latency_queries: int,
    threshold_queries: int,
    dtype: str = GRAPH_DTYPE,
    rounds: int = 1,
) -> dict[str, Any]:
    r: dict[str, Any] = {"faces": n, "machine": machine_class(), "graph_dtype": dtype}
    d = synthesize(n, 16, SEED)
    vectors = np.ascontiguousarray(d.vectors[:n])
    ids = np.arange(1, n + 1, dtype=np.int64)
    del d
    rng = np.random.default_rng([SEED, n, 7])

    before = rss_mib()
    t, c = time.perf_counter(), time.process_time()
    index = HnswIndex(DIM, dtype=dtype)
    for start in range(0, n, 20_000):
        index.add(ids[start : start + 20_000].tolist(), vectors[start : start + 20_000])
    r["build"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    per = {"i8": 1, "f16": 2, "f32": 4}[index.dtype]
    r["memory"] = {
        "index_mib": index.memory_bytes / 2**20,
        "graph_mib": index.graph_bytes / 2**20,
        "store_mib": n * (DIM * 4 + 8) / 2**20,  # rows in use (the array may hold more)
        "rss_growth_mib": rss_mib() - before,
        "float32_vectors_mib": vectors.nbytes / 2**20,
    }
    # A graph holding float32 vectors instead (no store needed), by arithmetic: the links
    # stay, each vector takes 4 bytes a dimension instead of `per`.
    r["memory"]["f32_graph_alone_mib"] = r["memory"]["graph_mib"] + n * DIM * (4 - per) / 2**20
    stage(r, "build")
    stage(r, "memory")
    exact = ExactIndex(DIM)
    exact.add(ids.tolist(), vectors)

    # 2. kNN recall, as grouping asks.
    sample = rng.choice(n, size=min(queries, n), replace=False)
    h_ids, _ = index.knn(vectors[sample], K)
    parts = [exact.knn(vectors[sample[i : i + 64]], K + 1) for i in range(0, len(sample), 64)]
    e_ids = np.concatenate([p[0] for p in parts])
    e_sims = np.concatenate([p[1] for p in parts])
    matter = found = 0
    for row, face in enumerate(sample):
        keep = e_ids[row] != face + 1
        want, sims = e_ids[row][keep][: K - 1], e_sims[row][keep][: K - 1]
        strong = want[sims >= LINK]
        matter += len(strong)
        found += len(set(strong.tolist()) & set(h_ids[row].tolist()))
    r["knn_recall"] = {
        "queries": len(sample),
        "neighbours": matter,
        "found": found,
        "recall": found / max(1, matter),
    }
    stage(r, "knn_recall")

    # The same graph with a wider beam (more candidates), to show what recall costs.
    r["beams"] = []
    for beam in beams:
        index.candidates = beam
        t0 = time.process_time()
        b_ids, _ = index.knn(vectors[sample], K)
        cpu = (time.process_time() - t0) / len(sample)
        hit = 0
        for row, face in enumerate(sample):
            keep = e_ids[row] != face + 1
            want, sims = e_ids[row][keep][: K - 1], e_sims[row][keep][: K - 1]
            hit += len(set(want[sims >= LINK].tolist()) & set(b_ids[row].tolist()))
        one = timed({"top_k": lambda q: index.top_k(q, K)}, vectors[sample[:300]])["top_k"]
        r["beams"].append(
            {
                "candidates": beam,
                "knn_recall": hit / max(1, matter),
                "knn_cpu_ms_per_query": cpu * 1000,
                "top_k": one,
            }
        )
    index.candidates = CANDIDATES
    stage(r, "beams")

    threshold_stage(r, index, exact, vectors, sample[:threshold_queries])
    latency_stage(
        r,
        index,
        exact,
        vectors[rng.choice(n, size=min(latency_queries, n), replace=False)],
        rounds=rounds,
    )

    # 6. Grouping's kNN graph, on a sample, scaled (not in the quick guard).
    part = vectors[rng.choice(n, size=min(n, max(2_000, n // 50)), replace=False)]
    t, c = time.perf_counter(), time.process_time()
    index.knn(part, K)
    scale = n / len(part)
    r["knn_graph_estimate"] = {
        "wall_s": (time.perf_counter() - t) * scale,
        "cpu_s": (time.process_time() - c) * scale,
    }
    stage(r, "knn_graph_estimate")

    # 5. Erasure at scale.
    gone = rng.choice(n, size=max(1, n // 100), replace=False)
    # 64-byte stretches: enough to tell a vector, and bytes.find skips ahead on them.
    copies = [c[:64] for c in index.graph_copies((gone[:100] + 1).tolist())]
    index.remove((gone + 1).tolist())
    findable = 0
    for face in gone[:1000]:
        hits = {h.id for h in index.top_k(vectors[face], K)}
        hits |= {h.id for h in index.search(vectors[face], threshold=0.99)}
        findable += len(hits & set((gone + 1).tolist()))
    probe = [vectors[f].tobytes()[:64] for f in gone[:100]]
    # Every removed row's coded product with its own vector: 0 once its codes are gone.
    codes_left = sum(int(index.coded().products(vectors[f])[f] != 0) for f in gone[:200])

    def held(blob: bytes) -> dict[str, int]:
        return {"float32": sum(p in blob for p in probe), "graph": sum(c in blob for c in copies)}

    before_bytes = held(index.to_bytes())
    t, c = time.perf_counter(), time.process_time()
    index.compact()
    compact_s = (time.perf_counter() - t, time.process_time() - c)
    blob = index.to_bytes()
    after_bytes = held(blob)
    kept = np.setdiff1d(sample, gone)[:100]
    live = {
        "float32": sum(vectors[f].tobytes()[:64] in blob for f in kept),
        "graph": sum(c[:64] in blob for c in index.graph_copies((kept + 1).tolist())),
    }
    r["erasure"] = {
        "removed": len(gone),
        "findable_after_removal": findable,
        "codes_left": codes_left,
        "codes_probed": len(gone[:200]),
        "probed": len(probe),
        "in_bytes_before_compaction": before_bytes,
        "in_bytes_after_compaction": after_bytes,
        "live_in_bytes": live,
        "live_probed": len(kept),
        "compaction_wall_s": compact_s[0],
        "compaction_cpu_s": compact_s[1],
        "size_after": len(index),
    }
    stage(r, "erasure")
    return r


def run_threshold(n: int, threshold_queries: int, latency_queries: int) -> dict[str, Any]:
    """Threshold searches alone: the float32 store, its codes, completeness, latency and
    erasure, on an index whose graph is sparse (4 links, a beam of 8: built in minutes, not
    twenty; threshold searches never walk it, so its quality changes nothing here)."""
    r: dict[str, Any] = {"faces": n, "machine": machine_class(), "threshold_only": True}
    d = synthesize(n, 16, SEED)
    vectors = np.ascontiguousarray(d.vectors[:n])
    ids = np.arange(1, n + 1, dtype=np.int64)
    del d
    rng = np.random.default_rng([SEED, n, 7])
    t, c = time.perf_counter(), time.process_time()
    index = HnswIndex(DIM, connectivity=4, expansion_add=8, expansion_search=8)
    for start in range(0, n, 20_000):
        index.add(ids[start : start + 20_000].tolist(), vectors[start : start + 20_000])
    r["build"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    r["memory"] = {"store_mib": n * (DIM * 4 + 8) / 2**20}
    stage(r, "build")
    exact = ExactIndex(DIM)
    exact.add(ids.tolist(), vectors)
    sample = rng.choice(n, size=min(threshold_queries, n), replace=False)
    threshold_stage(r, index, exact, vectors, sample)
    lq = vectors[rng.choice(n, size=min(latency_queries, n), replace=False)]
    latency_stage(r, index, exact, lq, top_k=False)
    steps_stage(r, index, lq)
    gone = rng.choice(n, size=max(1, n // 100), replace=False)
    t, c = time.perf_counter(), time.process_time()
    index.remove((gone + 1).tolist())
    removal = (time.perf_counter() - t, time.process_time() - c)
    gone_ids = set((gone + 1).tolist())
    findable = sum(
        len({h.id for h in index.search(vectors[f], threshold=0.99)} & gone_ids)
        for f in gone[:1000]
    )
    codes_left = sum(int(index.coded().products(vectors[f])[f] != 0) for f in gone[:200])
    r["erasure"] = {
        "removed": len(gone),
        "findable_after_removal": findable,
        "codes_left": codes_left,
        "codes_probed": len(gone[:200]),
        "removal_wall_s": removal[0],
        "removal_cpu_s": removal[1],
    }
    stage(r, "erasure")
    return r


def report_threshold(r: dict[str, Any]) -> list[str]:
    ts, lat, co, er = r["threshold_search"], r["latency"], r["codes"], r["erasure"]
    ok = "MET" if lat["hnsw_search"]["cpu"]["p99_ms"] < TARGET_P99_MS else "NOT MET"
    lines = [
        f"{r['faces']:,} synthetic faces, {r['machine']} (threshold searches only)",
        f"  float32 store {r['memory']['store_mib']:.0f} MiB; 4-bit codes {co['bytes_a_face']:.0f} "
        f"bytes a face ({co['mib']:.0f} MiB; RSS grew {co['rss_growth_mib']:.0f} MiB), built in "
        f"{co['build_cpu_s']:.1f} s CPU",
        f"  threshold search >= {LINK}: found {ts['found']:,} of {ts['expected']:,} "
        f"({ts['recall']:.4f}); extra {ts['extra']}; queries missing any "
        f"{ts['queries_missing_any']} of {ts['queries']}; re-scored a query p50/p99/max "
        f"{ts['rescored_p50']:.0f}/{ts['rescored_p99']:.0f}/{ts['rescored_max']:,}",
    ]
    for name in ("hnsw_search", "hnsw_scan", "exact_search"):
        w, c = lat[name]["wall"], lat[name]["cpu"]
        lines.append(
            f"  {name:<12} p50/p99: wall {w['p50_ms']:.2f}/{w['p99_ms']:.2f} ms, "
            f"CPU {c['p50_ms']:.2f}/{c['p99_ms']:.2f} ms"
        )
    lines += _by_matches(lat)
    st = r["steps_many"]
    lines.append(
        f"    their steps, CPU p50/p99 ms ({st['queries']} searches): "
        + ", ".join(
            f"{name.replace('_', ' ')} {st[name]['p50_ms']:.2f}/{st[name]['p99_ms']:.2f}"
            for name in STEPS
        )
    )
    lines += [
        f"  codes / scan (CPU, paired p50): {lat['search_ratio_p50_cpu']:.3f}; threshold search "
        f"p99 (CPU) < {TARGET_P99_MS:.0f} ms: {ok}",
        f"  erasure: {er['removed']:,} removed in {er['removal_cpu_s']:.1f} s CPU, findable "
        f"{er['findable_after_removal']}, codes left {er['codes_left']} of {er['codes_probed']}",
    ]
    return lines


def _by_matches(lat: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("few", "many"):
        part = lat.get(f"hnsw_search_{name}")
        if part:
            c, sc = part["cpu"], part["scan_cpu"]
            lines.append(
                f"    threshold searches with {'<=' if name == 'few' else '>'} 1,000 matches: "
                f"{part['queries']}, CPU p50/p99 {c['p50_ms']:.2f}/{c['p99_ms']:.2f} ms (the scan "
                f"{sc['p50_ms']:.2f}/{sc['p99_ms']:.2f}), matches p50 {part['matches_p50']:.0f} "
                f"(max {part['matches_max']:,})"
            )
    return lines


def report(r: dict[str, Any]) -> list[str]:
    n, lat, kr, ts, er = (
        r["faces"],
        r["latency"],
        r["knn_recall"],
        r["threshold_search"],
        r["erasure"],
    )
    ok = lambda b: "MET" if b else "NOT MET"  # noqa: E731
    lines = [
        f"{n:,} synthetic faces, {r['machine']}",
        f"  build: {r['build']['wall_s']:.1f} s wall, {r['build']['cpu_s']:.1f} s CPU",
        f"  memory: graph ({r['graph_dtype']} vectors) {r['memory']['graph_mib']:.0f} MiB + "
        f"exact float32 store {r['memory']['store_mib']:.0f} MiB (float32 vectors alone "
        f"{r['memory']['float32_vectors_mib']:.0f} MiB); RSS grew "
        f"{r['memory']['rss_growth_mib']:.0f} MiB",
        f"  a graph of float32 vectors alone (exact by itself, no store): "
        f"{r['memory']['f32_graph_alone_mib']:.0f} MiB",
    ]
    lines += [
        f"  kNN recall of neighbours >= {LINK}: {kr['recall']:.4f} ({kr['found']:,} of "
        f"{kr['neighbours']:,}, {kr['queries']:,} faces)  target >= {TARGET_RECALL}: "
        f"{ok(kr['recall'] >= TARGET_RECALL)}",
        f"  threshold search >= {LINK}: found {ts['found']:,} of {ts['expected']:,} "
        f"({ts['recall']:.4f}); extra {ts['extra']}; "
        f"queries missing any {ts['queries_missing_any']} "
        f"of {ts['queries']}",
    ]
    co = r["codes"]
    lines.append(
        f"  threshold search's 4-bit codes: {co['bytes_a_face']:.0f} bytes a face "
        f"({co['mib']:.0f} MiB; RSS grew {co['rss_growth_mib']:.0f} MiB), built in "
        f"{co['build_cpu_s']:.1f} s CPU; re-scored a query p50/p99/max "
        f"{ts['rescored_p50']:.0f}/{ts['rescored_p99']:.0f}/{ts['rescored_max']:,}"
    )
    for name in ("hnsw_top_k", "hnsw_search", "hnsw_scan", "exact_top_k", "exact_search"):
        w, c = lat[name]["wall"], lat[name]["cpu"]
        lines.append(
            f"  {name:<12} p50/p99: wall {w['p50_ms']:.2f}/{w['p99_ms']:.2f} ms, "
            f"CPU {c['p50_ms']:.2f}/{c['p99_ms']:.2f} ms"
        )
    lines += _by_matches(lat)
    for b in r.get("beams", []):
        c = b["top_k"]["cpu"]
        lines.append(
            f"  with {b['candidates']} candidates: kNN recall {b['knn_recall']:.4f}, "
            f"knn {b['knn_cpu_ms_per_query']:.2f} ms CPU a query, "
            f"top_k p50/p99 CPU {c['p50_ms']:.2f}/{c['p99_ms']:.2f} ms"
        )
    top, thr = lat["hnsw_top_k"]["cpu"]["p99_ms"], lat["hnsw_search"]["cpu"]["p99_ms"]
    lines += [
        f"  HNSW / exact (CPU): p50 {lat['ratio_p50_cpu']:.3f}, p99 {lat['ratio_p99_cpu']:.3f}; "
        f"threshold search, codes / scan: p50 {lat['search_ratio_p50_cpu']:.3f}; "
        f"p99 (CPU) < {TARGET_P99_MS:.0f} ms: top_k {ok(top < TARGET_P99_MS)}, threshold "
        f"search {ok(thr < TARGET_P99_MS)}",
        *(
            [
                "  p50 ratios of each round (the lowest counts): "
                + ", ".join(f"{a:.3f} / {b:.3f}" for a, b in lat["rounds"])
            ]
            if "rounds" in lat
            else []
        ),
        f"  grouping's kNN graph (scaled from a sample): {r['knn_graph_estimate']['wall_s']:.0f} s "
        f"wall, {r['knn_graph_estimate']['cpu_s']:.0f} s CPU",
        f"  erasure: {er['removed']:,} removed, findable {er['findable_after_removal']}, "
        f"codes left {er['codes_left']} of {er['codes_probed']} probed; of "
        f"{er['probed']} probed (float32 / the graph's copy), in the saved bytes before "
        f"compaction {_pair(er['in_bytes_before_compaction'])}, after "
        f"{_pair(er['in_bytes_after_compaction'])} (live ones found: "
        f"{_pair(er['live_in_bytes'])}); "
        f"compaction {er['compaction_wall_s']:.1f} s wall, {er['compaction_cpu_s']:.1f} s CPU",
    ]
    return lines


def _pair(held: dict[str, int]) -> str:
    return f"{held['float32']} / {held['graph']}"


def guard(r: dict[str, Any], record: bool) -> int:
    figures = json.loads(GUARD_FILE.read_text()) if GUARD_FILE.exists() else {}
    mine = {
        "ratio_p50_cpu": r["latency"]["ratio_p50_cpu"],
        "search_ratio_p50_cpu": r["latency"]["search_ratio_p50_cpu"],
        "knn_recall": r["knn_recall"]["recall"],
        "faces": r["faces"],
    }
    if record:
        figures[r["machine"]] = mine
        GUARD_FILE.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
        print(f"recorded for {r['machine']}: {mine}")
        return 0
    base = figures.get(r["machine"])
    if base is None:
        print(f"no figures recorded for {r['machine']}: nothing to compare (--record writes them)")
        base = mine
    failed: list[str] = []
    if mine["ratio_p50_cpu"] > base["ratio_p50_cpu"] * GUARD_SLACK:
        failed.append(
            f"latency ratio {mine['ratio_p50_cpu']:.3f} > "
            f"{GUARD_SLACK} x {base['ratio_p50_cpu']:.3f}"
        )
    recorded = base.get("search_ratio_p50_cpu")
    if recorded is not None and mine["search_ratio_p50_cpu"] > recorded * GUARD_SLACK:
        failed.append(
            f"threshold search latency ratio {mine['search_ratio_p50_cpu']:.3f} > "
            f"{GUARD_SLACK} x {recorded:.3f}"
        )
    ts, er = r["threshold_search"], r["erasure"]
    if ts["found"] < ts["expected"] or ts["extra"]:
        failed.append(
            f"threshold search found {ts['found']} of {ts['expected']}, {ts['extra']} extra"
        )
    if (
        er["findable_after_removal"]
        or er["codes_left"]
        or any(er["in_bytes_after_compaction"].values())
    ):
        failed.append(f"removed vectors still there: {er}")
    if min(er["live_in_bytes"].values()) < er["live_probed"]:
        failed.append(f"the erasure check cannot see live vectors: {er['live_in_bytes']}")
    miss, base_miss = 1 - mine["knn_recall"], 1 - base["knn_recall"]
    if miss > max(base_miss * GUARD_SLACK, base_miss + 0.002):
        failed.append(f"kNN recall {mine['knn_recall']:.4f}, recorded {base['knn_recall']:.4f}")
    for line in failed:
        print(f"REGRESSION: {line}")
    return 1 if failed else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--guard", action="store_true", help="CI regression guard (20,000 faces)")
    ap.add_argument("--record", action="store_true", help="with --guard: record the figures")
    ap.add_argument("--dtype", default=GRAPH_DTYPE, help="the graph's vectors: i8, f16, f32")
    ap.add_argument(
        "--threshold-only",
        action="store_true",
        help="threshold searches alone (codes, completeness, latency, erasure; a sparse graph)",
    )
    ap.add_argument(
        "--beams", type=int, nargs="*", default=[128, 256], help="also measure these candidates"
    )
    args = ap.parse_args()
    t, c = time.perf_counter(), time.process_time()
    if args.guard:
        r = run(GUARD_SIZE, [], 1000, 1000, 50, rounds=GUARD_ROUNDS)
    elif args.threshold_only:
        r = run_threshold(args.size, 200, 1000)
        print("\n".join(report_threshold(r)))
        out = CACHE / f"search_scale-{args.size}-threshold.json"
        out.write_text(json.dumps(r, indent=1) + "\n")
        print(f"wrote {out.relative_to(REPO)}")
        return
    else:
        r = run(args.size, args.beams, 2000, 1000, 200, args.dtype)
    r["total"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    print("\n".join(report(r)))
    print(f"  total: {r['total']['wall_s']:.0f} s wall, {r['total']['cpu_s']:.0f} s CPU")
    if args.guard:
        sys.exit(guard(r, args.record))
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"search_scale-{args.size}-{args.dtype}.json"
    out.write_text(json.dumps(r, indent=1) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
