import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.domain.face import Landmarks
from regard.pipeline.align import align_face, similarity_transform

TEMPLATE = np.array(
    [[38.29, 51.70], [73.53, 51.50], [56.03, 71.74], [41.55, 92.37], [70.73, 92.20]], np.float32
)


@given(
    angle=st.floats(-3.0, 3.0),
    scale=st.floats(0.05, 20.0),
    tx=st.floats(-500, 500),
    ty=st.floats(-500, 500),
)
def test_similarity_transform_recovers_an_exact_transform(angle, scale, tx, ty):
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = TEMPLATE.astype(np.float64)
    dst = src @ rot.T + [tx, ty]
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(src @ m[:, :2].T + m[:, 2], dst, atol=1e-6 * max(1, scale) * 500)


def test_alignment_moves_landmarks_onto_the_template():
    img = np.zeros((400, 600, 3), np.uint8)
    pts = TEMPLATE * 3 + [200, 50]  # a face three times the crop size
    for x, y in pts:
        img[int(y) - 4 : int(y) + 5, int(x) - 4 : int(x) + 5] = 255
    crop = align_face(img, Landmarks(tuple(map(tuple, pts))), TEMPLATE, 112)
    assert crop.shape == (112, 112, 3)
    for x, y in TEMPLATE:
        assert crop[round(y), round(x)].max() > 100, "a landmark dot is off its spot"


@pytest.mark.parametrize("factor", [0.5, 1.0, 4.0, 12.0])
def test_large_and_small_faces_give_the_same_crop(factor):
    """Shrinking a big face into the crop must not alias (area pre-shrink), and small faces
    are upsampled: a smooth pattern looks the same at every size."""
    yy, xx = np.mgrid[0:112, 0:112]
    pattern = (127 + 100 * np.sin(xx / 9.0) * np.cos(yy / 11.0)).astype(np.uint8)
    base = np.dstack([pattern] * 3)
    size = int(112 * factor)
    import cv2

    img = cv2.resize(
        base, (size, size), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    )
    crop = align_face(img, Landmarks(tuple(map(tuple, TEMPLATE * factor))), TEMPLATE, 112)
    diff = np.abs(crop.astype(int) - base.astype(int))[8:-8, 8:-8]
    assert diff.mean() < (12 if factor < 1 else 4)
