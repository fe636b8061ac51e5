"""A search's answers: arrays read as a sequence of `Neighbour`s, exactly what a list of
them would be."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.storage.ranked import NONE, Matches, Neighbour

PAIRS = st.lists(
    st.tuples(
        st.integers(0, 2**40),
        st.floats(-1, 1, width=32, allow_nan=False),
    ),
    max_size=30,
)


def as_arrays(pairs: list[tuple[int, float]]) -> Matches:
    ids = np.asarray([i for i, _ in pairs], dtype=np.int64)
    scores = np.asarray([s for _, s in pairs], dtype=np.float32)
    return Matches(ids, scores)


@settings(max_examples=60, deadline=None)
@given(pairs=PAIRS, start=st.integers(-35, 35), stop=st.integers(-35, 35))
def test_answers_read_as_the_list_of_neighbours_they_stand_for(pairs, start, stop) -> None:
    got = as_arrays(pairs)
    want = [Neighbour(i, float(np.float32(s))) for i, s in pairs]
    assert list(got) == want and got == want and want == got
    assert len(got) == len(want) and bool(got) == bool(want)
    assert got.ids.tolist() == [n.id for n in want]
    assert got.scores.tolist() == [n.score for n in want]
    for i in range(-len(want), len(want)):
        assert got[i] == want[i] and type(got[i]) is Neighbour
        assert type(got[i].id) is int and type(got[i].score) is float
    assert list(got[start:stop]) == want[start:stop]
    assert [n.id for n in got] == [n.id for n in want]  # iterated twice, same answers
    assert got == as_arrays(pairs)


def test_a_wrong_index_or_a_different_answer_is_said() -> None:
    got = as_arrays([(3, 0.5), (1, 0.25)])
    with pytest.raises(IndexError):
        got[2]
    assert got != [Neighbour(3, 0.5)]
    assert got != [Neighbour(3, 0.5), Neighbour(1, 0.5)]
    assert got != as_arrays([(3, 0.5), (2, 0.25)])
    assert got != "ab" and got != 3
    assert NONE == [] and not NONE and list(NONE) == []


def test_the_answers_cannot_be_changed_behind_the_caller() -> None:
    got = as_arrays([(3, 0.5)])
    with pytest.raises(ValueError, match="read-only"):
        got.ids[0] = 4
    with pytest.raises(ValueError, match="read-only"):
        got.scores[0] = 1.0
    with pytest.raises(ValueError, match="2 ids for 1 scores"):
        Matches(np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.float32))
    with pytest.raises(TypeError):
        hash(got)


def test_the_arrays_answers_are_made_from_stay_the_makers() -> None:
    ids, scores = np.asarray([3, 1], dtype=np.int64), np.asarray([0.5, 0.25], dtype=np.float32)
    got = Matches(ids, scores)
    ids[0], scores[0] = 7, 0.75  # still the maker's to change (a view is what is kept)
    assert got.ids.flags.writeable is False and ids.flags.writeable is True
