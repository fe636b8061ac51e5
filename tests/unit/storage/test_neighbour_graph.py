"""Grouping's neighbour graph: the refinement of approximate lists only ever improves them
against exact search, scores exactly, is deterministic, never brings back a removed face,
and on small libraries gives exact search's answer."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.storage.neighbour_graph import groups, refine
from regard.storage.vectors import ExactIndex, HnswIndex

from .test_hnsw import clustered

K = 17


def exact_lists(v, k):
    sims = v @ v.T
    order = np.lexsort((np.broadcast_to(np.arange(len(v)), sims.shape), -sims), axis=1)[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


def rough_lists(v, k, keep, rng):
    """Approximate lists: each row keeps a random `keep` fraction of its exact 3k best, plus
    random rows (what a poor graph walk returns), padded with -1."""
    near, _ = exact_lists(v, 3 * k)
    out = np.full((len(v), k), -1, dtype=np.int64)
    for r in range(len(v)):
        kept = near[r][rng.random(near.shape[1]) < keep][:k]
        extra = rng.choice(len(v), size=k - len(kept))
        out[r] = np.concatenate([kept, extra])[:k]
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(30, 600),
    people=st.integers(1, 60),
    spread=st.floats(0.2, 1.2),
    keep=st.floats(0.0, 1.0),
    floor=st.floats(0.2, 0.9),
    cap=st.integers(2, 400),
    seed=st.integers(0, 2**16),
)
def test_refinement_only_improves_the_lists_and_scores_them_exactly(
    n, people, spread, keep, floor, cap, seed
):
    rng = np.random.default_rng(seed)
    v = clustered(n, 16, min(people, n), spread, seed)
    key = np.arange(100, 100 + n, dtype=np.int64)
    gone = rng.choice(n, size=n // 10, replace=False)
    key[gone] = -1  # removed rows: zeroed in the store, as HnswIndex leaves them
    v[gone] = 0.0
    live = np.flatnonzero(key >= 0)
    start = rough_lists(v, K, keep, rng)[live]
    before = np.full((len(live), K), -2.0)
    for i, (row, q) in enumerate(zip(start, live, strict=True)):
        distinct = np.unique(row[(row >= 0) & (key[np.maximum(row, 0)] >= 0)])
        before[i, : len(distinct)] = np.sort(v[distinct] @ v[q])[::-1]
    slots, scores = refine(v, key, live, start, k=K, floor=floor, cap=cap, block=64)
    assert not np.isin(slots, gone).any()
    valid = slots >= 0
    named = np.einsum("qcd,qd->qc", v[np.maximum(slots, 0)], v[live])
    assert np.allclose(scores[valid], named[valid], atol=1e-6)
    # Best first, each row's i-th score at least the i-th of the lists it started from.
    assert (np.diff(np.where(valid, scores, -2), axis=1) <= 0).all()
    got = np.where(valid, scores, -2)
    assert (got >= before - 1e-6).all()
    # Distinct neighbours, and never more than exact search's best.
    for row in slots:
        row = row[row >= 0]
        assert len(set(row.tolist())) == len(row)
    exact = np.sort(np.where(key[None, :] >= 0, v[live] @ v.T, -2), axis=1)[:, ::-1][:, :K]
    assert (got <= exact[:, : got.shape[1]] + 1e-6).all()
    # Deterministic.
    again = refine(v, key, live, start, k=K, floor=floor, cap=cap, block=64)
    assert np.array_equal(again[0], slots) and np.array_equal(again[1], scores)


def test_groups_never_exceed_the_cap_and_hold_each_row_once():
    v = clustered(900, 16, 3, 0.4, 1)  # three dense people, linked throughout
    near, sims = exact_lists(v, K)
    pos = np.arange(len(v))
    found = groups(near, sims.astype(np.float32), pos, floor=0.3, cap=100)
    assert found and all(3 <= len(g) <= 100 for g in found)
    rows = np.concatenate(found)
    assert len(rows) == len(set(rows.tolist()))


def dense_library():
    """Two people of 400 faces, all alike (>= 0.5), among 400 strangers: each face's 16 best
    are all faces of its person, in an order a narrow graph walk gets wrong."""
    rng = np.random.default_rng(3)
    dim = 32
    centres = rng.normal(size=(2, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    people = centres[np.repeat([0, 1], 400)] + 0.9 / np.sqrt(dim) * rng.normal(size=(800, dim))
    strangers = rng.normal(size=(400, dim))
    v = np.concatenate([people, strangers])
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    order = rng.permutation(len(v))
    return v[order], order < 800


def narrow(dim):
    return HnswIndex(
        dim, connectivity=4, expansion_add=8, expansion_search=8, candidates=K, threads=1
    )


def test_inside_a_dense_person_the_graph_is_exact_search_s():
    v, person = dense_library()
    ids = list(range(7, 7 + len(v)))
    exact, hnsw = ExactIndex(32), narrow(32)
    exact.add(ids, v)
    hnsw.add(ids, v)
    want, want_sims = exact.knn(v, K)
    walk, _ = hnsw.knn(v, K)
    got, got_sims = hnsw.knn_graph(ids, K, floor=0.45)
    strong = want_sims >= 0.45

    def recall(found, rows):
        pairs = zip(found[rows], want[rows], strong[rows], strict=True)
        return np.mean([w in set(f.tolist()) for f, ws, s in pairs for w in ws[s]])

    assert recall(walk, person) < 0.9  # the narrow walk misses many
    assert recall(got, person) == 1.0
    assert np.allclose(got_sims[person], want_sims[person], atol=1e-6)
    # The strangers' (random 32-D faces) close neighbours are not in groups: still better.
    assert recall(got, ~person) > recall(walk, ~person)
    assert (got_sims >= hnsw.knn(v, K)[1] - 1e-6).all()
    # Deterministic: the same index asked again answers the same.
    again = hnsw.knn_graph(ids, K, floor=0.45)
    assert np.array_equal(again[0], got) and np.array_equal(again[1], got_sims)


def test_a_small_library_gets_exact_search_s_graph():
    v = clustered(300, 32, 30, 0.7, 9)
    ids = list(range(1, 301))
    exact, hnsw = ExactIndex(32), HnswIndex(32, threads=1)
    exact.add(ids, v)
    hnsw.add(ids, v)
    want, want_sims = exact.knn_graph(ids, K, floor=0.45)
    got, got_sims = hnsw.knn_graph(ids, K, floor=0.45)
    assert np.array_equal(got, want)
    assert np.allclose(got_sims, want_sims, atol=1e-6)
    assert np.array_equal(exact.knn_graph(ids[:5], K, floor=0.45)[0], exact.knn(v[:5], K)[0])


def test_a_removed_face_never_comes_back_in_the_graph():
    v, _ = dense_library()
    ids = list(range(len(v)))
    hnsw = narrow(32)
    hnsw.add(ids, v)
    gone = set(range(0, len(v), 3))
    hnsw.remove(sorted(gone))
    left = [i for i in ids if i not in gone]
    got, sims = hnsw.knn_graph(left, K, floor=0.45)
    assert not set(got.ravel().tolist()) & gone
    assert (got >= 0).all() and np.isfinite(sims).all()
    hnsw.compact()
    again, _ = hnsw.knn_graph(left, K, floor=0.45)
    assert not set(again.ravel().tolist()) & gone


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(20, 400), people=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_grouping_a_small_library_over_the_graph_is_grouping_over_exact_search(n, people, seed):
    from regard.pipeline.cluster import FaceSet, exact_knn, regroup

    v = clustered(n, 32, min(people, n), 0.6, seed)
    ids = np.arange(1, n + 1)
    hnsw = HnswIndex(32, threads=1)
    hnsw.add(ids.tolist(), v)
    rng = np.random.default_rng(seed)
    faces = FaceSet(
        ids, v, rng.integers(0, n, size=n), rng.random(n) < 0.1, np.zeros(n, dtype=np.int64)
    )

    def graph(rows, k):
        found, sims = hnsw.knn_graph(ids[rows], k, floor=0.45)
        return np.where(found >= 0, found - 1, -1), sims

    want = regroup(faces, exact_knn(v)).person
    assert np.array_equal(regroup(faces, graph).person, want)


def test_a_second_look_for_faces_left_alone_only_improves_the_graph():
    v, _ = dense_library()
    ids = list(range(len(v)))
    plain = narrow(32)
    plain.add(ids, v)
    looked = HnswIndex.from_bytes(32, plain.to_bytes(), threads=1, candidates=K)
    looked.second_look = 256
    gone = set(range(0, len(v), 5))
    for index in (plain, looked):
        index.remove(sorted(gone))
    left = [i for i in ids if i not in gone]
    _, first_sims = plain.knn_graph(left, K, floor=0.45)
    second, second_sims = looked.knn_graph(left, K, floor=0.45)
    assert (second_sims >= first_sims - 1e-6).all()
    assert not set(second.ravel().tolist()) & gone
    alone = first_sims[:, 1] < 0.45
    assert (second_sims[alone, 1] > first_sims[alone, 1]).any()  # the wider walk found more
