"""Videos in grouping, with fake vectors: two appearances on screen together are never one
person (as two faces of one photo), one after the other may be; a video analysed again keeps
the faces found at the same times."""

from __future__ import annotations

import numpy as np

from regard.domain.appearance import scene_keys
from regard.pipeline.cluster import FaceSet, exact_knn, regroup
from regard.pipeline.grouper import IncrementalGrouper
from regard.storage.faces import match_spans

DIM = 16


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_appearances_on_screen_together_share_a_scene_key_others_do_not():
    assert scene_keys(3, 0.0, 5.2) & scene_keys(3, 5.1, 9.0)
    assert not scene_keys(3, 0.0, 5.0) & scene_keys(3, 5.0, 9.0)
    assert not scene_keys(3, 0.0, 5.0) & scene_keys(4, 0.0, 5.0)  # another video
    assert all(k < 0 for k in scene_keys(3, 0.0, 100.0))  # never a photo's id
    assert scene_keys(3, 2.5, 2.5)  # an appearance of one frame has its moment


def test_two_appearances_on_screen_together_are_never_one_person():
    rng = np.random.default_rng(0)
    one, other = rng.standard_normal(DIM), rng.standard_normal(DIM)
    vectors = np.stack(
        [unit(look + 0.01 * rng.standard_normal(DIM)) for look in (one, one, other, other)]
    )
    # Faces 0, 1: one video, on screen together. Faces 2, 3: one video, one after the other.
    scenes = {
        0: scene_keys(1, 0.0, 4.0),
        1: scene_keys(1, 2.0, 6.0),
        2: scene_keys(2, 0.0, 4.0),
        3: scene_keys(2, 10.0, 12.0),
    }
    faces = FaceSet(
        np.arange(4),
        vectors,
        np.array([1, 1, 2, 2]),
        np.zeros(4, bool),
        np.zeros(4, np.int64),
        scenes=scenes,
    )
    person = regroup(faces, exact_knn(vectors)).person
    assert person[0] != person[1] or person[0] == 0
    assert person[2] == person[3] != 0


def test_the_incremental_grouper_keeps_them_apart_too():
    rng = np.random.default_rng(1)
    look = rng.standard_normal(DIM)
    added: list[tuple[int, np.ndarray]] = []

    def knn(v, k):
        sims = sorted(((fid, float(v @ u)) for fid, u in added), key=lambda p: -p[1])
        return sims[:k]

    people = iter(range(100, 200))
    grouper = IncrementalGrouper(DIM, knn, lambda: next(people))
    decisions = {}
    for fid, scene in (
        (1, scene_keys(7, 0, 3)),
        (2, scene_keys(7, 1, 4)),
        (3, scene_keys(7, 9, 12)),
    ):
        v = unit(look + 0.01 * rng.standard_normal(DIM))
        added.append((fid, v))
        decisions[fid] = grouper.add(fid, v, 7, False, scene)
    person = {fid: grouper.person[grouper.row[fid]] for fid in (1, 2, 3)}
    # Face 3 comes after both: it forms a person with one of them; faces 1 and 2 are on
    # screen together, so that person is never both.
    assert person[3] and person[3] in (person[1], person[2])
    assert person[1] != person[2]


def test_a_video_analysed_again_keeps_the_faces_found_at_the_same_times():
    old = {10: (0.0, 4.0), 11: (3.0, 9.0)}
    assert match_spans(old, [(3.2, 9.0), (0.1, 4.2), (20.0, 21.0)]) == {0: 11, 1: 10}
