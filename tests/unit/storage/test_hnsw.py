"""HnswIndex at the edges that matter: threshold searches miss nothing exact search finds,
and a removed vector is gone from the results and, after compaction, from the saved bytes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.storage.vectors import ExactIndex, HnswIndex


def clustered(n, dim, people, spread, seed, heavy=True):
    """Faces of `people` identities, a few with many faces (as in a family's library)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim))
    weights = 1.0 / np.arange(1, people + 1) ** (1.5 if heavy else 0.0)
    who = rng.choice(people, size=n, p=weights / weights.sum())
    v = centres[who] / np.sqrt(dim) + spread / np.sqrt(dim) * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


EDGE = 1e-5  # two float32 dot products of the same vectors differ by ~1e-7


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(200, 3000),
    people=st.integers(1, 400),
    spread=st.floats(0.3, 1.5),
    threshold=st.floats(0.2, 0.95),
    seed=st.integers(0, 2**16),
    limit=st.none() | st.integers(1, 300),
)
def test_a_threshold_search_finds_every_match_exact_search_finds(
    n, people, spread, threshold, seed, limit
):
    v = clustered(n, 32, min(people, n), spread, seed)
    ids = list(range(10, 10 + n))
    exact, hnsw = ExactIndex(32), HnswIndex(32, candidates=16, threads=1)
    exact.add(ids, v)
    hnsw.add(ids, v)
    for q in v[:: max(1, n // 8)][:8]:
        want = exact.search(q, threshold=threshold)
        got = hnsw.search(q, threshold=threshold, limit=limit)
        assert [h.score for h in got] == sorted((h.score for h in got), reverse=True)
        assert all(h.score >= threshold for h in got)
        scores = {h.id: h.score for h in want}
        for h in got:  # nothing exact search would not find, with its exact score
            assert h.id in scores or abs(h.score - threshold) < EDGE
            assert h.id not in scores or abs(h.score - scores[h.id]) < EDGE
        if limit is None:
            missed = {h.id for h in want if h.score >= threshold + EDGE} - {h.id for h in got}
            assert not missed
        else:
            assert len(got) == min(limit, len(want)) or abs(want[len(got)].score - threshold) < EDGE


def test_a_dense_cluster_with_more_matches_than_candidates_is_found_whole():
    # 2,000 faces of one person among 3,000: the graph's order inside the cluster is
    # approximate, so the search scans and finds all.
    rng = np.random.default_rng(4)
    v = np.concatenate([clustered(2000, 32, 1, 0.8, 1), clustered(1000, 32, 500, 0.5, 2)])
    v = v[rng.permutation(len(v))]
    exact, hnsw = ExactIndex(32), HnswIndex(32, candidates=16)
    exact.add(list(range(len(v))), v)
    hnsw.add(list(range(len(v))), v)
    for q in v[:20]:
        want = {h.id for h in exact.search(q, threshold=0.4)}
        assert {h.id for h in hnsw.search(q, threshold=0.4)} == want


def test_scores_are_the_exact_similarities():
    v = clustered(500, 32, 50, 0.7, 3)
    exact, hnsw = ExactIndex(32), HnswIndex(32, threads=1)
    exact.add(list(range(500)), v)
    hnsw.add(list(range(500)), v)
    for q in v[:10]:
        e = exact.top_k(q, 10)
        h = hnsw.top_k(q, 10)
        # Each score is the exact similarity of the face it names (the graph is approximate
        # about which faces come back, not about their scores).
        assert [x.score for x in h] == pytest.approx([float(v[x.id] @ q) for x in h], abs=1e-6)
        assert len({x.id for x in h} & {x.id for x in e}) >= 9


def test_saved_and_restored_it_searches_the_same_and_refuses_another_dimension():
    v = clustered(1000, 32, 100, 0.7, 5)
    hnsw = HnswIndex(32)
    hnsw.add(list(range(1000)), v)
    restored = HnswIndex.from_bytes(32, hnsw.to_bytes())
    assert restored.exact_scores
    for q in v[:10]:
        assert restored.top_k(q, 5) == hnsw.top_k(q, 5)
    with pytest.raises(ValueError, match="32 dimensions, not 64"):
        HnswIndex.from_bytes(64, hnsw.to_bytes())
    with pytest.raises(ValueError, match="not a saved vector index"):
        HnswIndex.from_bytes(32, b"not an index at all")
    from usearch.index import Index

    older = Index(ndim=32, metric="ip", dtype="f32")  # a graph saved before the float32 store
    older.add(np.arange(10, dtype=np.uint64), v[:10])
    with pytest.raises(ValueError, match="older format"):  # VectorStore rebuilds it
        HnswIndex.from_bytes(32, bytes(older.save()))


# A stretch of 64 bytes (16 float32 values, or 64 of the graph's int8 ones) identifies a vector;
# under 100 bytes Python's bytes.find skips ahead (a longer pattern is scanned byte by byte).
STRETCH = 64


def _in_bytes(blob: bytes, vectors: np.ndarray) -> int:
    return sum(blob.find(row.tobytes()[:STRETCH]) >= 0 for row in vectors)


def _copies_in(blob: bytes, copies: list[bytes]) -> int:
    return sum(blob.find(c[:STRETCH]) >= 0 for c in copies)


def test_removal_zeroes_the_exact_copy_and_compaction_the_graphs():
    v = clustered(2000, 32, 200, 0.7, 6)
    hnsw = HnswIndex(32)
    hnsw.add(list(range(2000)), v)
    gone = list(range(0, 2000, 10))
    copies = hnsw.graph_copies(gone)
    hnsw.remove(gone)
    blob = hnsw.to_bytes()
    assert _in_bytes(blob, v[gone]) == 0  # the float32 rows go at once
    assert _copies_in(blob, copies) > 0  # the graph's tombstones: what compaction is for
    hnsw.compact()
    blob = hnsw.to_bytes()
    assert _in_bytes(blob, v[gone]) == 0
    assert _copies_in(blob, copies) == 0
    live = list(range(1, 200, 10))
    assert _in_bytes(blob, v[live]) == 20  # the checks can see a vector that is there
    assert _copies_in(blob, hnsw.graph_copies(live)) == 20
    assert len(hnsw) == 1800
    for g in gone[:50]:
        assert g not in hnsw
        assert not {h.id for h in hnsw.search(v[g], threshold=-1.0)} & set(gone)


def test_an_id_added_again_replaces_its_vector_and_a_scan_is_exact_search():
    v = clustered(1500, 32, 100, 0.7, 9)
    exact, hnsw = ExactIndex(32), HnswIndex(32)
    exact.add(list(range(1000)), v[:1000])
    hnsw.add(list(range(1000)), v[:1000])
    again = list(range(0, 1000, 7))
    fresh = v[1000 : 1000 + len(again)]
    exact.add(again, fresh)
    hnsw.add(again[:1] + again, np.concatenate([v[1400:1401], fresh]))  # the last one counts
    assert len(hnsw) == 1000 and sorted(hnsw.ids().tolist()) == list(range(1000))
    assert np.array_equal(hnsw.vectors(again), fresh)
    for q in np.concatenate([fresh[:5], v[1200:1205]]):
        for limit in (None, 4):
            got = hnsw.scan(q, threshold=0.3, limit=limit)
            want = exact.search(q, threshold=0.3, limit=limit)
            assert [h.id for h in got] == [h.id for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-6)
    for q in fresh[:20]:
        assert hnsw.top_k(q, 1)[0].score == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_erasure_is_complete_at_100000_faces():
    erase_and_check(100_000)


def erase_and_check(n):
    """Remove 1,000 of n faces: none is found, none keeps a 4-bit code; after compaction none
    is in the bytes, in float32 or in the graph's quantised form. The graph is built with a
    narrow beam and few links (fast; erasure does not depend on the graph's quality: every
    result is looked up in the float32 store, where a removed row is gone)."""
    v = clustered(n, 128, 20_000, 0.75, 7)
    hnsw = HnswIndex(128, connectivity=8, expansion_add=24, expansion_search=32, candidates=32)
    for start in range(0, n, 20_000):
        hnsw.add(list(range(start, start + 20_000)), v[start : start + 20_000])
    rng = np.random.default_rng(8)
    gone = rng.choice(n, size=1000, replace=False)
    gone_set = set(gone.tolist())
    copies = hnsw.graph_copies(gone[:100].tolist())
    assert all(hnsw.coded().products(v[g])[g] != 0 for g in gone[:100])  # ids are slots here
    hnsw.remove(gone.tolist())
    assert len(hnsw) == n - 1000
    assert not any(hnsw.coded().products(v[g])[g] for g in gone)  # the 4-bit codes went too
    for g in gone[:300]:
        assert not {h.id for h in hnsw.top_k(v[g], 17)} & gone_set
        assert not {h.id for h in hnsw.search(v[g], threshold=0.3)} & gone_set
    ids, _ = hnsw.knn(v[gone], 17)
    assert not set(ids.ravel().tolist()) & gone_set
    blob = hnsw.to_bytes()
    assert _in_bytes(blob, v[gone[:100]]) == 0
    assert _copies_in(blob, copies) > 0  # tombstones until compaction
    hnsw.compact()
    blob = hnsw.to_bytes()
    assert _in_bytes(blob, v[gone[:100]]) == 0
    assert _copies_in(blob, copies) == 0
    kept = np.setdiff1d(np.arange(n), gone)[:50]
    assert _in_bytes(blob, v[kept]) == 50
    assert _copies_in(blob, hnsw.graph_copies(kept.tolist())) == 50
    restored = HnswIndex.from_bytes(128, blob, candidates=32)
    assert len(restored) == n - 1000
    assert not gone_set & set(restored.ids().tolist())
    for g in kept[:20]:  # the same graph: the same answers
        assert restored.top_k(v[g], 17) == hnsw.top_k(v[g], 17)
    for g in gone[:100]:
        assert not {h.id for h in restored.scan(v[g], threshold=0.3)} & gone_set


@pytest.mark.parametrize("opened", ["built", "restored"])
def test_a_graph_then_threshold_search_codes_in_a_fresh_process(tmp_path, opened):
    """Loading onnxruntime's library after usearch's crashed the process (a segmentation
    fault): a library whose graph is open runs its first threshold search in onnxruntime."""
    import subprocess
    import sys

    saved = tmp_path / "graph.bin"
    hnsw = HnswIndex(16)
    hnsw.add(list(range(300)), clustered(300, 16, 30, 0.7, 3))
    saved.write_bytes(hnsw.to_bytes())
    code = f"""
import numpy as np
from regard.storage.vectors import HnswIndex
if {opened!r} == "built":
    index = HnswIndex(16)
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(300, 16)).astype(np.float32)
    index.add(list(range(300)), rows / np.linalg.norm(rows, axis=1, keepdims=True))
else:
    index = HnswIndex.from_bytes(16, open({str(saved)!r}, "rb").read())
found = index.search(index._vec[0], threshold=0.5)
print(len(found))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert int(run.stdout) >= 1
