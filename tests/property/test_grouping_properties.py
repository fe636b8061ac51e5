"""Invariants of grouping under arbitrary faces and owner actions (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.pipeline.cluster import FaceSet, GroupingParams, exact_knn, regroup
from regard.pipeline.grouper import IncrementalGrouper

DIM = 16


def synthetic(seed: int, people: int, faces: int, photos: int, noise: float):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, DIM))
    who = rng.integers(0, people, faces)
    v = centres[who] + noise * rng.normal(size=(faces, DIM))
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    photo = rng.integers(0, photos, faces)
    low = rng.random(faces) < 0.15
    return v, photo, low, who


worlds = st.tuples(
    st.integers(0, 10_000),  # seed
    st.integers(1, 6),  # people
    st.integers(1, 40),  # faces
    st.integers(1, 25),  # photos
    st.sampled_from([0.2, 0.5, 0.9]),  # noise
)
PARAMS = GroupingParams(link=0.4, local=0.4, average=0.3, pair=0.45)


def same_photo_never_shared(labels, photo):
    seen = set()
    for lab, ph in zip(labels.tolist(), photo.tolist(), strict=True):
        if lab:
            assert (lab, ph) not in seen, "two faces of one photo in one person"
            seen.add((lab, ph))


@settings(max_examples=80, deadline=None)
@given(world=worlds)
def test_regroup_keeps_faces_of_one_photo_apart_and_is_deterministic(world):
    v, photo, low, _ = synthetic(*world)
    n = len(v)
    faces = FaceSet(np.arange(n), v, photo, low, np.zeros(n, dtype=np.int64))
    first = regroup(faces, exact_knn(v), PARAMS)
    same_photo_never_shared(first.person, photo)
    assert np.array_equal(first.person, regroup(faces, exact_knn(v), PARAMS).person)
    # Low-quality faces never make up a person on their own.
    for rows in first.groups().values():
        assert not all(low[r] for r in rows)


@settings(max_examples=60, deadline=None)
@given(world=worlds, data=st.data())
def test_owner_constraints_hold_through_regrouping(world, data):
    v, photo, low, _ = synthetic(*world)
    n = len(v)
    # The owner put some faces (one per photo per person) into persons 1..3.
    owner = np.zeros(n, dtype=np.int64)
    used: set[tuple[int, int]] = set()
    for row in data.draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)):
        person = data.draw(st.integers(1, 3))
        if (person, int(photo[row])) not in used:
            owner[row] = person
            used.add((person, int(photo[row])))
    rejected: dict[int, frozenset[int]] = {}
    for row in data.draw(st.lists(st.integers(0, n - 1), max_size=5, unique=True)):
        if not owner[row]:
            rejected[row] = frozenset({data.draw(st.integers(1, 3))})
    faces = FaceSet(np.arange(n), v, photo, low, owner, rejected)
    result = regroup(faces, exact_knn(v), PARAMS).person
    for row in range(n):
        if owner[row]:
            assert result[row] == owner[row], "an owner's face moved"
        if row in rejected:
            assert result[row] not in rejected[row], "a rejected face went back"
    same_photo_never_shared(result, photo)


@settings(max_examples=60, deadline=None)
@given(
    world=worlds,
    order_seed=st.integers(0, 1000),
    rejections=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 5)), max_size=6),
)
def test_incremental_grouping_respects_the_same_rules(world, order_seed, rejections):
    v, photo, low, _ = synthetic(*world)
    n = len(v)
    order = np.random.default_rng(order_seed).permutation(n)
    added: list[int] = []
    people = iter(range(1, 10_000))

    def knn(vec, k):
        if not added:
            return []
        ids = np.array(added)
        sims = v[ids] @ vec
        best = np.argsort(-sims, kind="stable")[:k]
        return [(int(ids[b]), float(sims[b])) for b in best]

    grouper = IncrementalGrouper(DIM, knn, lambda: next(people), PARAMS)
    for step, row in enumerate(order):
        grouper.add(int(row), v[row], int(photo[row]), bool(low[row]))
        added.append(int(row))
        for face, _person in rejections:
            if face == step and grouper.person[grouper.row[int(row)]]:
                grouper.reject(int(row), grouper.person[grouper.row[int(row)]])
    labels = np.array([grouper.person[grouper.row[i]] for i in range(n)])
    same_photo_never_shared(labels, photo)
    for row, persons in grouper.rejected.items():
        assert grouper.person[row] not in persons
    # Bookkeeping agrees with the assignments.
    for person, st_ in grouper.people.items():
        members = [r for r, p in enumerate(grouper.person) if p == person]
        assert st_.members == set(members)
        assert set(st_.protos) <= st_.members
        np.testing.assert_allclose(
            st_.sum, v[[grouper.ids[r] for r in members]].sum(axis=0), atol=1e-4
        )
