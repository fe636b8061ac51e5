"""The fake object detectors stand in for the real ones behind the same protocol."""

from regard.domain.face import Box
from regard.domain.objects import ObjectDetection
from regard.inference.objects import ObjectDetector
from regard.testing_objects import ScriptedObjectDetector, SquareObjectDetector, draw


def test_squares_are_found_with_their_label_kind_and_place():
    detector: ObjectDetector = SquareObjectDetector()
    frame = draw((200, 100), [("person", 10, 20, 30), ("cat", 100, 50, 12), ("car", 150, 5, 4)])
    found = detector.detect(frame)
    assert [(d.label, d.kind, d.box) for d in found] == [
        ("person", "person", Box(10, 20, 30, 30)),
        ("cat", "pet", Box(100, 50, 12, 12)),
    ]  # the 4 px car is too small


def test_a_script_plays_frame_by_frame():
    dog = ObjectDetection("dog", "pet", 0.8, Box(0, 0, 5, 5))
    detector: ObjectDetector = ScriptedObjectDetector([[], [dog]])
    frame = draw((10, 10), [])
    assert [detector.detect(frame) for _ in range(3)] == [[], [dog], []]
