import numpy as np

from regard.domain.face import Box, Detection, Landmarks
from regard.pipeline.quality import assess_quality, frontalness


def face(nose_x, size=100.0, score=0.95):
    s = size / 100
    pts = (
        (30 * s, 40 * s),
        (70 * s, 40 * s),
        (nose_x * s, 60 * s),
        (35 * s, 80 * s),
        (65 * s, 80 * s),
    )
    return Detection(Box(0, 0, size, size), Landmarks(pts), score)


def test_frontal_face_scores_one_and_profile_zero_ish():
    assert frontalness(face(50)) == 1.0
    three_quarter = frontalness(face(30))  # nose under an eye: about 40 degrees of yaw
    assert 0.5 < three_quarter < 0.6
    assert frontalness(face(0)) < 0.4  # nose outside the face: near profile


def sharp_crop():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)


def test_a_good_face_is_not_low_quality():
    q = assess_quality(face(50, size=120), sharp_crop())
    assert not q.low and q.score > 0.8


def test_tiny_blurred_turned_or_doubtful_faces_are_marked_low():
    flat = np.full((112, 112, 3), 128, np.uint8)
    assert assess_quality(face(50, size=16), sharp_crop()).low
    assert assess_quality(face(50, size=120), flat).low
    assert assess_quality(face(-10, size=120), sharp_crop()).low
    assert assess_quality(face(50, size=120, score=0.5), sharp_crop()).low
