"""Search at scale: Regard's HNSW index against exact search, on synthetic faces.

    .venv/bin/python bench/search_scale.py                   # 1,000,000 faces
    .venv/bin/python bench/search_scale.py --size 100000     # another size
    .venv/bin/python bench/search_scale.py --guard           # CI (20,000 faces): fails if worse
    .venv/bin/python bench/search_scale.py --guard --record  # record this machine class

The faces are bench/people_scale.py's (heavy-tailed identities, SFace-like similarities, same
seed). The index is `HnswIndex` with the settings `VectorStore` uses; the peer is `ExactIndex`
(one matrix-vector product a query) on the same vectors, in the same run, on one core
(OPENBLAS_NUM_THREADS=1). Measured:

1. Build: `HnswIndex.add` in batches of 20,000 (as VectorStore builds it), wall and CPU time;
   memory: the index's own figure (graph + float32 vectors), and what the same graph would
   take with its vectors quantised to float16 or int8 (2 or 1 bytes a dimension).
2. kNN recall, as grouping uses the index: for sampled faces, of the exact top-16 neighbours
   (self excluded) with similarity >= 0.45 (the grouping link), the fraction among the top-17
   of `HnswIndex.knn`. Target >= 0.99.
3. Threshold search completeness: for sampled faces, every face `ExactIndex.search` finds at
   >= 0.45, against `HnswIndex.search` (found / expected, and hits it returns that exact
   search does not: must be 0).
4. Latency on one core, per query: `top_k(17)` and `search(threshold=0.45)` of HNSW, and
   exact `top_k(17)`: wall and thread CPU time, p50/p99; the ratio HNSW / exact.
5. Erasure at scale: 1 % of the faces removed; none is returned for its own vector; the saved
   bytes still hold removed vectors before `compact()` (tombstones) and none after.
6. Grouping's kNN graph (every face's top-17, `knn` on all cores): timed on a sample of the
   faces, scaled to all of them (bench/people_scale.py runs the whole grouping).

--guard (run by scripts/test) uses 20,000 faces and fails when the HNSW/exact latency ratio
(p50, thread CPU) is more than 30 % above, or the miss rate of kNN recall more than 30 %
above, the figures recorded in bench/search_scale_guard.json for this machine class.
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

from regard.storage.vectors import CANDIDATES, ExactIndex, HnswIndex

LINK = 0.45  # GroupingParams.link
K = 17  # GroupingParams.neighbours + 1
TARGET_RECALL, TARGET_P99_MS = 0.99, 10.0
GUARD_SIZE, GUARD_SLACK = 20_000, 1.30
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


def run(
    n: int,
    beams: list[int],
    queries: int,
    latency_queries: int,
    threshold_queries: int,
) -> dict[str, Any]:
    r: dict[str, Any] = {"faces": n, "machine": machine_class()}
    d = synthesize(n, 16, SEED)
    vectors = np.ascontiguousarray(d.vectors[:n])
    ids = np.arange(1, n + 1, dtype=np.int64)
    del d
    rng = np.random.default_rng([SEED, n, 7])

    before = rss_mib()
    t, c = time.perf_counter(), time.process_time()
    index = HnswIndex(DIM)
    for start in range(0, n, 20_000):
        index.add(ids[start : start + 20_000].tolist(), vectors[start : start + 20_000])
    r["build"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    r["memory"] = {
        "index_mib": index.memory_bytes / 2**20,
        "rss_growth_mib": rss_mib() - before,
        "float32_vectors_mib": vectors.nbytes / 2**20,
    }
    # The same graph with its vectors quantised (usearch's f16 / i8), by arithmetic: the
    # links stay, each vector takes 2 or 1 bytes a dimension instead of 4.
    r["memory"]["f16_index_mib"] = r["memory"]["index_mib"] - n * DIM * 2 / 2**20
    r["memory"]["i8_index_mib"] = r["memory"]["index_mib"] - n * DIM * 3 / 2**20
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

    # 3. Threshold search: complete, and nothing extra.
    tq = sample[:threshold_queries]
    expected = got = extra = short = 0
    for face in tq:
        want_set = {h.id for h in exact.search(vectors[face], threshold=LINK)}
        got_set = {h.id for h in index.search(vectors[face], threshold=LINK)}
        expected += len(want_set)
        got += len(want_set & got_set)
        extra += len(got_set - want_set)
        short += int(bool(want_set - got_set))
    r["threshold_search"] = {
        "queries": len(tq),
        "expected": expected,
        "found": got,
        "recall": got / max(1, expected),
        "extra": extra,
        "queries_missing_any": short,
    }
    stage(r, "threshold_search")

    # 4. Latency on one core.
    lq = vectors[rng.choice(n, size=min(latency_queries, n), replace=False)]
    r["latency"] = timed(
        {
            "hnsw_top_k": lambda q: index.top_k(q, K),
            "hnsw_search": lambda q: index.search(q, threshold=LINK),
            "exact_top_k": lambda q: exact.top_k(q, K),
        },
        lq,
    )
    lat = r["latency"]
    # Query by query, HNSW's CPU time over exact search's, taken in turns: the median of
    # these pairs moves least when other processes compete for the cores.
    raw = lat.pop("cpu_seconds")
    paired = np.asarray(raw["hnsw_top_k"]) / np.maximum(1e-9, np.asarray(raw["exact_top_k"]))
    lat["ratio_p50_cpu"] = float(np.median(paired))
    lat["ratio_p99_cpu"] = lat["hnsw_top_k"]["cpu"]["p99_ms"] / lat["exact_top_k"]["cpu"]["p99_ms"]
    stage(r, "latency")

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
    index.remove((gone + 1).tolist())
    findable = 0
    for face in gone[:1000]:
        hits = {h.id for h in index.top_k(vectors[face], K)}
        hits |= {h.id for h in index.search(vectors[face], threshold=0.99)}
        findable += len(hits & set((gone + 1).tolist()))
    probe = [vectors[f].tobytes() for f in gone[:100]]
    before_bytes = sum(p in blob for blob in [index.to_bytes()] for p in probe)
    t, c = time.perf_counter(), time.process_time()
    index.compact()
    compact_s = (time.perf_counter() - t, time.process_time() - c)
    blob = index.to_bytes()
    after_bytes = sum(p in blob for p in probe)
    live = sum(vectors[f].tobytes() in blob for f in np.setdiff1d(sample, gone)[:100])
    r["erasure"] = {
        "removed": len(gone),
        "findable_after_removal": findable,
        "probed": len(probe),
        "in_bytes_before_compaction": before_bytes,
        "in_bytes_after_compaction": after_bytes,
        "live_in_bytes": live,
        "compaction_wall_s": compact_s[0],
        "compaction_cpu_s": compact_s[1],
        "size_after": len(index),
    }
    stage(r, "erasure")
    return r


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
        f"  memory: index {r['memory']['index_mib']:.0f} MiB (float32 vectors alone "
        f"{r['memory']['float32_vectors_mib']:.0f} MiB); "
        f"RSS grew {r['memory']['rss_growth_mib']:.0f} MiB",
    ]
    lines.append(
        f"  quantised (not used: scores would no longer be exact): float16 vectors "
        f"{r['memory']['f16_index_mib']:.0f} MiB, int8 {r['memory']['i8_index_mib']:.0f} MiB"
    )
    lines += [
        f"  kNN recall of neighbours >= {LINK}: {kr['recall']:.4f} ({kr['found']:,} of "
        f"{kr['neighbours']:,}, {kr['queries']:,} faces)  target >= {TARGET_RECALL}: "
        f"{ok(kr['recall'] >= TARGET_RECALL)}",
        f"  threshold search >= {LINK}: found {ts['found']:,} of {ts['expected']:,} "
        f"({ts['recall']:.4f}); extra {ts['extra']}; "
        f"queries missing any {ts['queries_missing_any']} "
        f"of {ts['queries']}",
    ]
    for name in ("hnsw_top_k", "hnsw_search", "exact_top_k"):
        w, c = lat[name]["wall"], lat[name]["cpu"]
        lines.append(
            f"  {name:<12} p50/p99: wall {w['p50_ms']:.2f}/{w['p99_ms']:.2f} ms, "
            f"CPU {c['p50_ms']:.2f}/{c['p99_ms']:.2f} ms"
        )
    for b in r.get("beams", []):
        c = b["top_k"]["cpu"]
        lines.append(
            f"  with {b['candidates']} candidates: kNN recall {b['knn_recall']:.4f}, "
            f"knn {b['knn_cpu_ms_per_query']:.2f} ms CPU a query, "
            f"top_k p50/p99 CPU {c['p50_ms']:.2f}/{c['p99_ms']:.2f} ms"
        )
    worst = max(lat["hnsw_top_k"]["cpu"]["p99_ms"], lat["hnsw_search"]["cpu"]["p99_ms"])
    lines += [
        f"  HNSW / exact (CPU): p50 {lat['ratio_p50_cpu']:.3f}, p99 {lat['ratio_p99_cpu']:.3f}; "
        f"HNSW p99 (CPU) < {TARGET_P99_MS:.0f} ms: {ok(worst < TARGET_P99_MS)}",
        f"  grouping's kNN graph (scaled from a sample): {r['knn_graph_estimate']['wall_s']:.0f} s "
        f"wall, {r['knn_graph_estimate']['cpu_s']:.0f} s CPU",
        f"  erasure: {er['removed']:,} removed, findable {er['findable_after_removal']}; of "
        f"{er['probed']} probed, in the saved bytes before compaction "
        f"{er['in_bytes_before_compaction']}, "
        f"after {er['in_bytes_after_compaction']} (live faces found: {er['live_in_bytes']}); "
        f"compaction {er['compaction_wall_s']:.1f} s wall, {er['compaction_cpu_s']:.1f} s CPU",
    ]
    return lines


def guard(r: dict[str, Any], record: bool) -> int:
    figures = json.loads(GUARD_FILE.read_text()) if GUARD_FILE.exists() else {}
    mine = {
        "ratio_p50_cpu": r["latency"]["ratio_p50_cpu"],
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
        return 0
    failed = []
    if mine["ratio_p50_cpu"] > base["ratio_p50_cpu"] * GUARD_SLACK:
        failed.append(
            f"latency ratio {mine['ratio_p50_cpu']:.3f} > "
            f"{GUARD_SLACK} x {base['ratio_p50_cpu']:.3f}"
        )
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
    ap.add_argument(
        "--beams", type=int, nargs="*", default=[128, 256], help="also measure these candidates"
    )
    args = ap.parse_args()
    t, c = time.perf_counter(), time.process_time()
    if args.guard:
        r = run(GUARD_SIZE, [], 1000, 1000, 50)
    else:
        r = run(args.size, args.beams, 2000, 1000, 200)
    r["total"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    print("\n".join(report(r)))
    print(f"  total: {r['total']['wall_s']:.0f} s wall, {r['total']['cpu_s']:.0f} s CPU")
    if args.guard:
        sys.exit(guard(r, args.record))
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"search_scale-{args.size}.json"
    out.write_text(json.dumps(r, indent=1) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
