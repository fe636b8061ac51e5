"""Tracking: a face the detector misses for a few frames is still covered."""

import pytest

from regard.domain.face import Box
from regard.pipeline.anonymise.tracking import FaceTracker, TrackerSettings


def moving_face(frame, speed=6.0):
    return Box(100 + speed * frame, 200, 50, 60)


def covers(boxes, face, min_overlap=0.6):
    """Some box covers at least `min_overlap` of `face`."""
    for b in boxes:
        ix = max(0.0, min(b.x + b.w, face.x + face.w) - max(b.x, face.x))
        iy = max(0.0, min(b.y + b.h, face.y + face.h) - max(b.y, face.y))
        if ix * iy >= min_overlap * face.w * face.h:
            return True
    return False


def run(tracker, detections_per_frame):
    """Boxes covered in each frame, backfill included (as the video writer applies it)."""
    covered = {}
    for frame, dets in enumerate(detections_per_frame):
        step = tracker.update(dets)
        covered[frame] = list(step.boxes)
        for f, box in step.backfill:
            covered[f].append(box)
    return covered


def test_a_face_missed_for_two_frames_stays_covered_where_it_moved_to():
    missed = {5, 6}
    dets = [[] if f in missed else [moving_face(f)] for f in range(12)]
    covered = run(FaceTracker(), dets)
    for f in range(12):
        assert covers(covered[f], moving_face(f)), f"frame {f}: the face is bare"


def test_a_coasting_box_follows_the_velocity_before_the_face_is_found_again():
    tracker = FaceTracker(TrackerSettings(backfill_frames=0, coast_growth=0.0))
    for f in range(5):
        tracker.update([moving_face(f, speed=10)])
    step = tracker.update([])  # frame 5, missed
    (box,) = step.boxes
    assert box.x == pytest.approx(moving_face(5, speed=10).x, abs=3)


def test_a_face_is_also_covered_in_the_frames_before_it_was_first_detected():
    s = TrackerSettings(backfill_frames=3)
    dets = [[] for _ in range(6)] + [[moving_face(f)] for f in range(6, 10)]
    covered = run(FaceTracker(s), dets)
    assert covered[2] == []
    for f in (3, 4, 5):
        assert covers(covered[f], moving_face(6)), f"frame {f}: not backfilled"


def test_the_gap_is_interpolated_when_the_face_is_found_again():
    s = TrackerSettings(coast_frames=6, backfill_frames=4, coast_growth=0.0)
    tracker = FaceTracker(s)
    for f in range(4):
        tracker.update([moving_face(f, speed=20)])
    for _ in range(3):  # frames 4, 5, 6 missed
        tracker.update([])
    step = tracker.update([moving_face(7, speed=20)])
    filled = dict(step.backfill)
    assert sorted(filled) == [4, 5, 6]
    for f in (4, 5, 6):
        assert filled[f].x == pytest.approx(moving_face(f, speed=20).x, abs=1)


def test_a_track_ends_after_its_coast():
    tracker = FaceTracker(TrackerSettings(coast_frames=3))
    tracker.update([moving_face(0)])
    counts = [len(tracker.update([]).boxes) for _ in range(5)]
    assert counts == [1, 1, 1, 0, 0]


def test_coasting_boxes_grow_as_the_face_may_have_moved():
    tracker = FaceTracker(TrackerSettings(coast_growth=0.1))
    tracker.update([Box(100, 100, 50, 50)])
    sizes = [tracker.update([]).boxes[0].w for _ in range(3)]
    assert sizes == pytest.approx([55, 60, 65])


def test_two_faces_passing_each_other_keep_their_tracks():
    tracker = FaceTracker()
    for f in range(20):
        a = Box(100 + 10 * f, 200, 50, 60)
        b = Box(300 - 10 * f, 210, 50, 60)
        step = tracker.update([a, b])
        assert covers(step.boxes, a) and covers(step.boxes, b)
    assert tracker.tracks_started == 2


def test_a_fast_face_with_no_overlap_between_frames_is_followed_by_its_centre():
    tracker = FaceTracker()
    for f in range(6):
        tracker.update([Box(100 + 35 * f, 100, 40, 40)])  # moves 35 px a frame, 40 px wide
    assert tracker.tracks_started == 1


def test_a_new_face_far_away_starts_a_new_track():
    tracker = FaceTracker()
    tracker.update([Box(10, 10, 40, 40)])
    tracker.update([Box(10, 10, 40, 40), Box(500, 300, 40, 40)])
    assert tracker.tracks_started == 2


def test_negative_frame_counts_are_refused():
    with pytest.raises(ValueError, match="coast_frames and backfill_frames must be >= 0"):
        TrackerSettings(coast_frames=-1)


def test_a_faint_detection_continues_a_track_but_starts_none():
    """A face turning away scores less and less: once tracked, its faint finds keep it
    covered past the coast; a faint find nobody was tracking covers nothing."""
    s = TrackerSettings(coast_frames=2, backfill_frames=0)
    tracker = FaceTracker(s)
    for f in range(5):
        tracker.update([moving_face(f)])
    for f in range(5, 15):
        step = tracker.update([], faint=[moving_face(f)])
        assert covers(step.boxes, moving_face(f)), f"frame {f}: the turning face is bare"
    assert tracker.continued_by_faint == 10
    alone = FaceTracker(s)
    assert alone.update([], faint=[moving_face(0)]).boxes == []
    assert alone.tracks_started == 0
