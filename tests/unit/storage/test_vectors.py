import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.storage.vectors import ExactIndex


def unit_rows(n, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_returns_everything_above_the_threshold_best_first():
    v = unit_rows(200)
    index = ExactIndex(16)
    index.add(list(range(1000, 1200)), v)
    q = v[7]
    hits = index.search(q, threshold=0.3)
    expected = {1000 + i for i in np.flatnonzero(v @ q >= 0.3)}
    assert {h.id for h in hits} == expected
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].id == 1007 and hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert index.search(q, threshold=0.3, limit=3) == hits[:3]


def test_top_k_matches_a_full_sort():
    v = unit_rows(500, seed=3)
    index = ExactIndex(16)
    index.add(list(range(500)), v)
    q = unit_rows(1, seed=9)[0]
    expected = np.argsort(-(v @ q), kind="stable")[:10]
    assert [h.id for h in index.top_k(q, 10)] == list(expected)


def test_adding_an_existing_id_replaces_its_vector():
    v = unit_rows(3)
    index = ExactIndex(16)
    index.add([1, 2, 3], v)
    index.add([2], v[0:1])
    assert len(index) == 3
    assert {h.id for h in index.search(v[0], threshold=0.999)} == {1, 2}


def test_mismatched_ids_and_vectors_are_refused():
    with pytest.raises(ValueError, match="2 ids for 3 vectors"):
        ExactIndex(16).add([1, 2], unit_rows(3))


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 40)), min_size=1, max_size=80
    )
)
def test_an_inserted_vector_finds_itself_and_a_removed_one_never_returns(ops):
    vectors = unit_rows(41, seed=5)
    index = ExactIndex(16)
    live: set[int] = set()
    for op, i in ops:
        if op == "add":
            index.add([i], vectors[i : i + 1])
            live.add(i)
        else:
            index.remove([i])
            live.discard(i)
        assert len(index) == len(live)
    everything = {h.id for h in index.search(vectors[0], threshold=-1.0)}
    assert everything == live
    for i in live:
        assert i in index
        assert index.top_k(vectors[i], 1)[0].id == i
