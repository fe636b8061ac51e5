"""Visits from detections: a stray detection never alerts, a visit ends after a quiet spell."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.domain.events import EventKind
from regard.domain.face import Box
from regard.domain.objects import ObjectDetection, kind_of
from regard.pipeline.object_tracker import ObjectTracker


def det(label: str, x: float, y: float = 50, w: float = 60, h: float = 120) -> ObjectDetection:
    return ObjectDetection(label, kind_of(label), 0.8, Box(x, y, w, h))


def test_a_visit_starts_after_two_looks_and_ends_when_it_was_last_seen():
    tracker = ObjectTracker(min_hits=2, quiet=2.0)
    assert tracker.update(0.0, [det("person", 10)]).started == ()
    step = tracker.update(0.2, [det("person", 16)])
    assert [t.kind for t in step.started] == [EventKind.PERSON]
    for i in range(3, 10):
        assert tracker.update(i * 0.2, [det("person", 10 + i * 6)]).ended == ()
    assert tracker.update(2.0, []).ended == ()
    ended = tracker.update(4.0, []).ended
    assert len(ended) == 1 and ended[0].start == 0.0
    assert ended[0].last_seen == pytest.approx(1.8)


def test_a_stray_detection_is_no_visit():
    tracker = ObjectTracker(min_hits=2, quiet=1.0)
    tracker.update(0.0, [det("cat", 100)])
    assert tracker.update(0.2, []).started == ()
    assert tracker.update(0.4, [det("cat", 300)]).started == ()
    assert tracker.close() == ()


def test_two_people_are_two_visits_and_kinds_never_mix():
    tracker = ObjectTracker(min_hits=2, quiet=1.0)
    frame = [det("person", 10), det("person", 300), det("dog", 12)]
    tracker.update(0.0, frame)
    step = tracker.update(0.2, frame)
    assert sorted(t.kind.value for t in step.started) == ["person", "person", "pet"]


def test_things_no_alert_is_about_are_not_followed():
    tracker = ObjectTracker(min_hits=1)
    assert tracker.update(0.0, [det("bicycle", 10), det("chair", 100)]).started == ()


@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_every_started_visit_ends_once(seen):
    tracker = ObjectTracker(min_hits=2, quiet=1.0)
    started = ended = 0
    for i, here in enumerate(seen):
        step = tracker.update(i * 0.2, [det("person", 40)] if here else [])
        started += len(step.started)
        ended += len(step.ended)
    ended += len(tracker.close())
    assert started == ended
