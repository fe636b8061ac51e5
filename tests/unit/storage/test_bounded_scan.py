"""The threshold search on 4-bit codes misses nothing: every row that scores >= the threshold
exactly is a candidate (the bound is sound), so `HnswIndex.search` returns exactly what a scan
of the float32 store returns, right at the threshold too; and a removed row's codes go."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.inference.int4_products import Int4Products, quantised, query_grid
from regard.storage.bounded_scan import GATHER, BoundedScan, exact_scores, whole_groups
from regard.storage.ranked import best_first
from regard.storage.vectors import ExactIndex, HnswIndex

# Offsets from the threshold of rows placed on it: float32 resolves ~6e-8 near 0.5.
NUDGES = (0.0, 6e-8, -6e-8, 1.2e-7, -1.2e-7, 1e-6, -1e-6, 1e-5, -1e-5, 1e-3, -1e-3)


def faces(n, dim, people, spread, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim))
    v = centres[rng.integers(0, people, n)] + spread * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def on_the_threshold(q, threshold, dim, seed):
    """Unit rows whose similarity to unit `q` is the threshold plus each of NUDGES."""
    rng = np.random.default_rng(seed)
    q64 = q.astype(np.float64)
    rows = []
    for nudge in NUDGES:
        a = min(1.0, threshold + nudge)
        u = rng.normal(size=dim)
        u -= (u @ q64) * q64
        u /= np.linalg.norm(u)
        rows.append(a * q64 + np.sqrt(max(0.0, 1 - a * a)) * u)
    return np.asarray(rows, dtype=np.float32)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 1500),
    dim=st.sampled_from([8, 40, 128]),
    people=st.integers(1, 60),
    spread=st.floats(0.05, 2.0),
    threshold=st.floats(-0.2, 0.99),
    shard=st.sampled_from([64, 300, 1 << 17]),
    scale=st.sampled_from([1.0, 0.25, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_every_row_at_or_above_the_threshold_is_a_candidate(
    n, dim, people, spread, threshold, shard, scale, seed
):
    v = faces(n, dim, people, spread, seed)
    queries = np.concatenate([v[: min(n, 4)], faces(2, dim, 1, 0.0, seed + 1)])
    v = np.concatenate([v] + [on_the_threshold(q, threshold, dim, seed) for q in queries])
    scan = BoundedScan(dim, shard=shard, pending=max(1, shard // 4))
    # Coded in two goes: the rows added after the first wait, scanned exactly.
    first = len(v) // 2
    scan.sync(v, first)
    scan.sync(v, len(v))
    for q in queries * np.float32(scale):
        scores = exact_scores(v, np.arange(len(v)), q)
        must = np.flatnonzero(scores >= threshold)
        got = scan.candidates(q, threshold, len(v))
        assert np.all(np.diff(got) > 0)
        assert not set(must.tolist()) - set(got.tolist())


def test_the_coded_products_are_the_integer_products_the_bound_assumes():
    v = faces(5000, 128, 50, 0.5, 3)
    approx = quantised(v, 128)[2]
    scan = BoundedScan(128)
    scan.sync(v, len(v))
    for q in faces(20, 128, 20, 0.5, 4):
        grid = query_grid(q, 128)
        want = approx.astype(np.float64) @ grid.astype(np.float64)
        assert np.abs(scan.products(q) - want).max() < 1e-6
        # The raw query is not on the grid: MLAS would round it its own way.
        assert np.abs(grid - q).max() > 0


def test_each_row_bound_is_added_to_its_product_as_it_is_written():
    v = faces(3000, 128, 30, 0.5, 5)
    packed, scales, approx = quantised(v, 128)
    bias = np.linspace(0.0, 0.3, len(v), dtype=np.float32)
    plain = Int4Products(packed, scales, 128)
    biased = Int4Products(packed, scales, 128, bias=bias)
    for q in faces(5, 128, 5, 0.5, 6):
        grid = query_grid(q, 128)
        want = approx.astype(np.float64) @ grid.astype(np.float64) + bias
        assert np.abs(biased(grid) - want).max() < 1e-6
        assert np.abs(biased(grid) - plain(grid) - bias).max() < 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(20, 1200),
    people=st.integers(1, 40),
    spread=st.floats(0.1, 1.5),
    threshold=st.floats(0.2, 0.95),
    seed=st.integers(0, 2**16),
    gone=st.floats(0.0, 0.6),
)
def test_search_is_the_scan_of_the_float32_store_and_removed_rows_never_return(
    n, people, spread, threshold, seed, gone
):
    dim = 32
    rng = np.random.default_rng(seed)
    v = faces(n, dim, people, spread, seed)
    queries = v[:5]
    v = np.concatenate([v] + [on_the_threshold(q, threshold, dim, seed) for q in queries])
    ids = list(range(7, 7 + len(v)))
    hnsw, exact = HnswIndex(dim, candidates=16, threads=1), ExactIndex(dim)
    half = len(v) // 2
    hnsw.add(ids[:half], v[:half])
    exact.add(ids, v)
    hnsw.search(queries[0], threshold=threshold)  # codes the first half
    hnsw.add(ids[half:], v[half:])  # the rest wait, scanned exactly
    removed = [i for i in ids if rng.random() < gone]
    hnsw.remove(removed)
    exact.remove(removed)
    for q in queries:
        got = hnsw.search(q, threshold=threshold)
        assert got == hnsw.scan(q, threshold=threshold)
        assert got == exact.search(q, threshold=threshold)
        assert not {h.id for h in got} & set(removed)
    # The removed rows' codes are gone from the shard built again, not only skipped.
    slots = [i - 7 for i in removed if i - 7 < half]
    for q in queries:
        assert not np.any(hnsw.coded().products(q)[slots])


def test_a_removed_face_is_never_found_even_on_its_own_vector_and_compaction_drops_codes():
    v = faces(3000, 128, 30, 0.4, 9)
    ids = list(range(1, 3001))
    hnsw = HnswIndex(128, threads=1)
    hnsw.add(ids, v)
    assert {h.id for h in hnsw.search(v[5], threshold=0.99)} == {6}
    hnsw.remove([6, 7])
    for row in (5, 6):
        assert not hnsw.search(v[row], threshold=-1.0) or all(
            h.id not in (6, 7) for h in hnsw.search(v[row], threshold=-1.0)
        )
        assert hnsw.coded().products(v[row])[row] == 0
    hnsw.compact()
    assert hnsw.codes_bytes == 0  # the old sessions went with compaction
    assert len(hnsw.search(v[0], threshold=-1.0)) == 2998


@settings(max_examples=25, deadline=None)
@given(
    n=st.sampled_from([0, 1, 15, 16, 17, 255, 256, 257, 271, 1000, 3001]),
    dim=st.sampled_from([8, 128]),
    seed=st.integers(0, 2**16),
)
def test_rows_gathered_part_by_part_score_as_the_scan_of_the_whole_store(n, dim, seed):
    rng = np.random.default_rng(seed)
    v = faces(4000, dim, 30, 0.5, seed)
    store = np.concatenate([v, np.zeros((whole_groups(len(v)) - len(v), dim), np.float32)])
    q = v[int(rng.integers(len(v)))] * np.float32(rng.choice([1.0, 0.3]))
    scan = store @ q
    rows = np.sort(rng.choice(len(v), size=n, replace=False)).astype(np.int64)
    got = exact_scores(store, rows, q)
    # Bit for bit, in whole parts of GATHER rows, a last partial one and a tail under 16.
    assert got.dtype == np.float32 and np.array_equal(
        got.view(np.uint32), scan[rows].view(np.uint32)
    )
    assert GATHER % 16 == 0


SCORES = np.array(
    [0.5, 0.5, -0.5, 0.25, 1.0, -1.0, 0.0, -0.0, 1e-40, -1e-40, np.inf, -np.inf, 0.45],
    dtype=np.float32,
)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 3000),
    ties=st.booleans(),
    zeros=st.booleans(),
    base=st.sampled_from([0, 1, 2**32 - 5000, 2**32 - 1000, -7, 2**40]),
    seed=st.integers(0, 2**16),
)
def test_best_first_is_a_sort_by_score_then_id(n, ties, zeros, base, seed):
    rng = np.random.default_rng(seed)
    ids = (base + rng.permutation(n * 2)[:n]).astype(np.int64)
    if ties:  # scores a float32 step apart and equal ones (a search of thousands has many)
        scores = np.float32(0.45) + np.float32(6e-8) * rng.integers(0, 40, n).astype(np.float32)
        scores[: n // 3] = rng.choice(SCORES, n // 3)
    else:
        scores = rng.uniform(-1, 1, n).astype(np.float32)
    if not zeros:
        scores[scores == 0] = np.float32(0.125)
    order = np.lexsort((ids, -scores))
    got_ids, got_scores = best_first(ids, scores)
    assert np.array_equal(got_ids, ids[order])
    assert np.array_equal(got_scores.view(np.uint32), scores[order].view(np.uint32))
    assert got_ids.dtype == np.int64 and got_scores.dtype == np.float32
