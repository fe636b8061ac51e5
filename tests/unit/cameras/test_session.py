"""One camera's frames into visits, with the fake detectors: masks first, motion gating,
no face work on a public-space camera."""

from __future__ import annotations

from regard.cameras.session import CameraSession
from regard.cameras.sources import Frame
from regard.domain.cameras import Camera, parse_mask
from regard.domain.events import EventKind, EventPhase
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.privacy.camera_faces import CameraFaces
from regard.testing import FakeModels
from regard.testing_objects import SquareObjectDetector, draw
from tests.camera_footage import square_walk


class CountingDetector(SquareObjectDetector):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def detect(self, rgb):
        self.calls += 1
        return super().detect(rgb)


def run(session: CameraSession, frames, fps: int = 5):
    changes = []
    for i, rgb in enumerate(frames):
        changes += session.look(Frame(i / fps, rgb.copy(), "test"))
    changes += session.finish()
    return changes


def session_for(camera: Camera, detector=None, analyser=None) -> CameraSession:
    return CameraSession(
        camera,
        detector or CountingDetector(),
        analyser,
        CameraFaces.nobody,
        live=False,
    )


def test_a_person_walking_through_is_one_visit_with_its_time_range():
    changes = run(session_for(Camera("door", "x")), square_walk(6, fps=5, enter=1, leave=3))
    phases = [(c.phase, c.event.kind) for c in changes]
    assert phases == [(EventPhase.START, EventKind.PERSON), (EventPhase.END, EventKind.PERSON)]
    end = changes[-1].event
    assert end.start == 1.0 and abs(end.end - 2.8) < 1e-9
    assert changes[-1].visit.shot is not None


def test_a_person_inside_a_mask_is_never_seen_and_masked_pixels_are_black():
    camera = Camera("door", "x", masks=(parse_mask("0,80,320,160"),))
    detector = CountingDetector()
    changes = run(session_for(camera, detector), square_walk(6, fps=5, y=100))
    assert changes == []
    # A cat outside the mask is seen, and its snapshot has the masked band black.
    # Still frames: looked at once a second while something is followed.
    frames = [draw((320, 240), [("cat", 100, 10, 40), ("person", 150, 100, 40)])] * 8
    changes = run(session_for(camera), frames)
    assert [c.event.label for c in changes] == ["cat", "cat"]
    shot = changes[-1].visit.shot
    assert shot is not None
    assert (shot.rgb[80:160] == 0).all() and (shot.rgb[10:50, 100:140] != 0).any()


def test_still_frames_are_not_looked_at():
    detector = CountingDetector()
    session = session_for(Camera("door", "x"), detector)
    empty = draw((320, 240), [])
    run(session, [empty] * 50)
    assert detector.calls == 1  # the first frame only: nothing moved after it
    ungated = CameraSession(
        Camera("door", "x"), CountingDetector(), None, CameraFaces.nobody, live=False,
        gating=False,
    )  # fmt: skip
    run(ungated, [empty] * 50)
    assert ungated.detector.calls == 50  # type: ignore[attr-defined]


def test_a_public_space_camera_never_builds_or_calls_a_face_model():
    built = []

    def analyser() -> Analyser:
        built.append(1)
        return FakeModels()(AnalysisSettings())

    street = Camera("street", "x", public_space=True)
    changes = run(session_for(street, analyser=analyser), square_walk(6, fps=5))
    assert [c.phase for c in changes] == [EventPhase.START, EventPhase.END]
    assert changes[-1].event.who is None
    assert built == []
    # Heads are blurred from the person's box instead: the top third of it.
    shot = changes[-1].visit.shot
    assert shot is not None and len(shot.heads) == 1 and shot.blur == ()


def test_a_camera_that_does_not_watch_pets_ignores_them():
    frames = [draw((320, 240), [("dog", 40 + 5 * i, 100, 40)]) for i in range(10)]
    assert run(session_for(Camera("door", "x", alerts=("person",))), frames) == []


def test_someone_standing_still_is_looked_at_once_a_second():
    detector = CountingDetector()
    session = session_for(Camera("door", "x"), detector)
    still = draw((320, 240), [("person", 150, 100, 40)])
    changes = run(session, [still] * 50)  # 10 s at 5 frames a second
    assert [c.phase for c in changes if c.news] == [EventPhase.START, EventPhase.END]
    assert 10 <= detector.calls <= 12


def test_a_part_of_a_person_found_beside_them_is_not_a_second_visit():
    from regard.domain.face import Box
    from regard.domain.objects import ObjectDetection, kind_of
    from regard.testing_objects import ScriptedObjectDetector

    whole = ObjectDetection("person", kind_of("person"), 0.8, Box(100, 50, 80, 180))
    head = ObjectDetection("person", kind_of("person"), 0.5, Box(115, 55, 50, 60))
    frames = [draw((320, 240), [("person", 20 + 10 * i, 100, 40)]) for i in range(10)]
    detector = ScriptedObjectDetector([[whole, head]] * 10)
    changes = run(session_for(Camera("door", "x"), detector), frames)
    assert [c.phase for c in changes if c.news] == [EventPhase.START, EventPhase.END]
