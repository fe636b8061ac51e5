"""The watcher with the real models on real footage (../shared/data's stage clip): who is
named and who stays unknown, what is kept of them, public space, masks.

The clip: 10 s of a stage show. Lin-Manuel Miranda sings in close-up from about 3.6 s to
8.0 s; Alex Lacamoire is seen in profile (1.8-3.4 s); the audience before and after. Both
have reference photos in ../shared/data. Lin is given a `camera` consent with his photo; Alex
a consent for grouping only (he may be named in photos, never by a camera).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regard.domain.cameras import Camera, parse_mask
from regard.domain.events import UNKNOWN
from regard.engine import Engine, EngineConfig

pytestmark = pytest.mark.slow

CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"
LIN = "photos/face_recognition/identities/lin_manuel_miranda/lin-manuel-miranda.png"
ALEX = "photos/face_recognition/identities/alex_lacamoire/alex-lacamoire.png"


@pytest.fixture
def household(tmp_path, shared_data) -> Iterator[Engine]:
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0))
    engine.privacy.grant("Lin", "camera", face_photo=shared_data / LIN, evidence_text="asked")
    engine.privacy.grant("Alex", "grouping", face_photo=shared_data / ALEX, evidence_text="asked")
    yield engine
    engine.close()


def stored_vectors(engine: Engine) -> tuple[int, ...]:
    db = engine.catalog._db  # the counts only: what the library holds of anyone's face
    return tuple(
        int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for table in ("faces", "embeddings", "templates")
    )


def test_a_consented_member_is_named_and_nobody_else_is_kept(household, shared_data):
    before = stored_vectors(household)
    report = household.cameras.watch_file(shared_data / CLIP)
    assert report.errors == []
    named = [e for e in report.events if e.who == "Lin"]
    # He is on stage in the wide shot that opens the clip (to 1.7 s), then in close-up.
    assert all(e.end <= 1.8 or e.start >= 3.3 for e in named), named
    close_up = [e for e in named if e.start >= 3.3]
    assert len(close_up) == 1, [(e.start, e.end, e.who) for e in report.events]
    assert close_up[0].start <= 4.1 and 7.6 <= close_up[0].end <= 8.3  # on screen 3.6-8.0 s
    assert not any(e.who == "Alex" for e in report.events)  # no camera consent
    assert all(e.who in (None, UNKNOWN, "Lin") for e in report.events)
    # No vector of anyone the cameras saw was kept: the same faces, embeddings and templates.
    assert stored_vectors(household) == before
    # Each recognition is audited; the one that named Lin names his person.
    entries = [a for a in household.privacy.audit_entries() if a.action == "camera-recognition"]
    assert entries
    lin_person = household.catalog.people.by_name("Lin")
    assert lin_person is not None
    assert any(a.subject == f"P{lin_person.id}" for a in entries)
    # Unknown faces' crops are kept a day, for the owner to name or discard.
    crops = household.catalog.cameras.unknown_faces()
    unknown_events = {e.id for e in report.events if e.who == UNKNOWN}
    assert {event for _id, event, _p, _exp in crops} <= unknown_events
    for _id, _event, path, _expires in crops:
        assert (household.paths.root / path).is_file()
    if crops:
        assert household.cameras.apply_retention(now=crops[-1][3] + 1)[
            "unknown_faces_deleted"
        ] == len(crops)
        assert not any((household.paths.root / p).exists() for _i, _e, p, _x in crops)


def test_someone_who_opted_out_is_never_matched_or_kept(household, shared_data):
    household.privacy.optout(shared_data / LIN, note="no cameras")
    report = household.cameras.watch_file(shared_data / CLIP)
    assert not any(e.who == "Lin" for e in report.events)
    on_stage = [e for e in report.events if e.start < 4.2 and e.end > 7.5]
    assert on_stage, [(e.start, e.end) for e in report.events]
    crops = {event for _i, event, _p, _x in household.catalog.cameras.unknown_faces()}
    assert not crops & {e.id for e in on_stage}  # no crop of him either


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        raise AssertionError("a public-space camera must not use a face model")


def test_a_public_space_camera_does_no_face_work_at_all(household, shared_data):
    cams = household.cameras
    cams.add(Camera("stage", "/dev/video9", public_space=True))
    analyser, blurrer = Counting(), Counting()
    cams.analyser, cams.blur_detector = analyser, blurrer  # type: ignore[assignment]
    report = cams.watch_file(shared_data / CLIP, camera="stage")
    assert report.events and all(e.kind.value == "person" for e in report.events)
    assert all(e.who is None for e in report.events)
    assert analyser.calls == 0 and blurrer.calls == 0
    assert not [a for a in household.privacy.audit_entries() if a.action == "camera-recognition"]


def test_masked_pixels_are_never_looked_at_or_stored(household, shared_data):
    cams = household.cameras
    cams.add(Camera("all", "/dev/video8", masks=(parse_mask("0,0,640,360"),)))
    assert cams.watch_file(shared_data / CLIP, camera="all").events == []
    cams.add(Camera("left", "/dev/video7", masks=(parse_mask("0,0,320,360"),)))
    events = cams.watch_file(shared_data / CLIP, camera="left").events
    assert events
    for event in events:
        assert event.box is not None and event.box[0] + event.box[2] > 320 * 1.25
        pixels = np.asarray(Image.open(event.snapshot).convert("L"), dtype=np.float32)
        assert pixels[:, :316].mean() < 2.0  # black, but for JPEG's ringing at the edge
        assert pixels[:, 330:].mean() > 10.0


def test_the_file_events_are_in_the_library(household, shared_data):
    report = household.cameras.watch_file(Path(shared_data / CLIP))
    listed = household.cameras.events()
    assert {e.id for e in listed} == {e.id for e in report.events}
    assert all(e.snapshot is not None and e.snapshot.is_file() for e in listed)
