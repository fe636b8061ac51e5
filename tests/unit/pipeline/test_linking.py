"""Linking faces seen in sampled frames into tracks: the rules on their own, with made-up
sightings (a face's identity is the value its crop is filled with; its embedding a unit vector
for that value)."""

import numpy as np
import pytest

from regard.domain.face import Box, Detection, FaceQuality, Landmarks
from regard.pipeline.linking import Linker, LinkSettings, Look, Sighting

GOOD = FaceQuality(size_px=80, sharpness=500, frontalness=0.95, score=0.95, low=False)
GREY = np.full(128, 1 / 128, dtype=np.float32)  # colours around a face: the same for all here
SCENE = np.eye(128, dtype=np.float32)[0]  # the whole frame's colours: one scene...
OTHER_SCENE = np.eye(128, dtype=np.float32)[1]  # ... and another, after a cut


def face(t, x, y, who, w=80, around=GREY):
    box = Box(x, y, w, w)
    pts = tuple(
        (x + w * fx, y + w * fy)
        for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))
    )
    crop = np.full((4, 4, 3), who, np.uint8)
    return Sighting(t, Detection(box, Landmarks(pts), 0.9), crop, GOOD, around)


class Embed:
    """Embeds a crop as the unit vector of its fill value; counts what it is asked."""

    def __init__(self):
        self.count = 0

    def __call__(self, sightings):
        for s in sightings:
            if s.embedding is None:
                v = np.zeros(256, np.float32)
                v[int(s.crop[0, 0, 0])] = 1.0
                s.embedding = v
                self.count += 1


def look(t, *faces, colours=SCENE, region=None):
    return Look(t, list(faces), colours, region)


def linker(**kw):
    embed = Embed()
    return Linker(LinkSettings(**kw), embed, event_px=40), embed


def test_a_face_that_stays_put_is_followed_without_embedding_it():
    lk, embed = linker()
    for k in range(3):
        lk.add(look(k * 1.0, face(k * 1.0, 100 + 5 * k, 100, who=1)))
    (track,) = lk.tracks
    assert len(track.sightings) == 3
    assert embed.count == 0


def test_two_faces_of_one_moment_are_two_tracks_however_alike():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1), face(0.0, 400, 100, who=1)))
    lk.add(look(1.0, face(1.0, 105, 100, who=1), face(1.0, 405, 100, who=1)))
    assert [len(t.sightings) for t in lk.tracks] == [2, 2]


def test_a_cut_to_someone_else_in_the_same_place_starts_a_new_track():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1)))
    after_cut = look(1.0, face(1.0, 100, 100, who=2), colours=OTHER_SCENE)
    assert lk.is_cut(after_cut)
    assert lk.changes(after_cut)  # one went, one came
    lk.add(after_cut)
    assert [[s.time for s in t.sightings] for t in lk.tracks] == [[0.0], [1.0]]
    gone, new = lk.tracks
    assert gone.gone_at == 1.0 and new.absent_before == 0.0


def test_someone_else_taking_the_place_without_a_cut_is_told_by_what_is_around_them():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1)))
    other = np.eye(128, dtype=np.float32)[5]  # another jumper, another background
    lk.add(look(1.0, face(1.0, 100, 100, who=2, around=other)))
    assert len(lk.tracks) == 2


def test_the_same_person_across_a_cut_continues_the_track():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1)))
    lk.add(look(1.0, face(1.0, 110, 100, who=1), colours=OTHER_SCENE))
    (track,) = lk.tracks
    assert len(track.sightings) == 2


def test_a_face_lost_for_a_moment_is_found_again_far_away_if_very_alike():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1)))
    lk.add(look(1.0))  # turned away
    lk.add(look(2.0, face(2.0, 900, 500, who=1)))  # far: found by likeness
    assert len(lk.tracks) == 1
    lk.add(look(5.0, face(5.0, 900, 500, who=1)))  # gone longer than max_gap: a new track
    assert len(lk.tracks) == 2


def test_a_region_look_says_nothing_about_the_faces_outside_it():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1), face(0.0, 800, 100, who=2)))
    # Only the left part searched; the face there is seen, the right one was not looked for.
    lk.add(look(0.2, face(0.2, 102, 100, who=1), region=(0, 0, 400, 400)))
    left, right = lk.tracks
    assert left.present and right.present and right.gone_at is None
    assert not lk.would_change(look(1.0, face(1.0, 104, 100, who=1), face(1.0, 800, 100, who=2)))


def test_changes_name_the_faces_that_came_and_went():
    lk, _ = linker()
    lk.add(look(0.0, face(0.0, 100, 100, who=1)))
    nxt = look(1.0, face(1.0, 600, 300, who=2))
    changed = lk.changes(nxt)
    assert sorted(b.x for b in changed) == [100, 600]
    assert len(lk.tracks) == 1 and len(lk.tracks[0].sightings) == 1  # asking changes nothing


def test_small_faces_and_long_tracks_ending_are_no_event():
    lk = Linker(LinkSettings(), Embed(), event_px=40, settled=10.0)
    lk.add(look(0.0, face(0.0, 100, 100, who=1), face(0.0, 500, 100, who=3, w=30)))
    for t in range(1, 12):
        lk.add(
            look(float(t), face(float(t), 100, 100, who=1), face(float(t), 500, 100, who=3, w=30))
        )
    assert lk.changes(look(12.0)) == []  # both gone: one small, one seen for 11 s


@pytest.mark.parametrize("verify_every", [2.0, 100.0])
def test_a_swap_followed_by_position_is_split_where_it_happened(verify_every):
    """No cut, the same surroundings: only the periodic likeness check can tell, and the
    faces followed since the last check go to whoever they were."""
    lk, _ = linker(verify_every=verify_every)
    for t in range(6):
        lk.add(look(float(t), face(float(t), 100, 100, who=1 if t < 3 else 2)))
    people = [{int(s.crop[0, 0, 0]) for s in t.sightings} for t in lk.tracks]
    if verify_every == 2.0:
        assert people == [{1}, {2}]
        assert [s.time for s in lk.tracks[1].sightings] == [3.0, 4.0, 5.0]
    else:
        assert people == [{1, 2}]  # never checked: the test has teeth


def test_expected_names_where_followed_faces_were_and_should_be_by_now():
    """What a look searching part of its frame must search: a moving face may have stopped,
    so both its last place and the one it was heading for; a track lost for longer than
    `max_gap` is not followed any more."""
    lk, _ = linker(max_gap=2.0)
    lk.add(look(0.0, face(0.0, 100, 100, who=1), face(0.0, 400, 100, who=2)))
    lk.add(look(1.0, face(1.0, 140, 100, who=1)))
    boxes = lk.expected(2.0)
    assert Box(140, 100, 80, 80) in boxes  # where it was last seen
    assert Box(172, 100, 80, 80) in boxes  # moving on, a little slower
    assert Box(400, 100, 80, 80) in boxes  # not seen at 1.0, still within reach
    later = lk.expected(2.5)  # the second face was last seen 2.5 s before: no longer
    assert later == [Box(140, 100, 80, 80), Box(188, 100, 80, 80)]
