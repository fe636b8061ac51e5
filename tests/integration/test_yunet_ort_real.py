"""YuNet through onnxruntime finds what OpenCV's FaceDetectorYN finds, on real photos."""

import cv2
import numpy as np
import pytest

from regard.inference.registry import YUNET, load_verified
from regard.inference.yunet_ort import YuNetOrtDetector
from regard.pipeline.decode import DecodeLimits, OpenedImage

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


@pytest.fixture(scope="module")
def detectors():
    cv2.setNumThreads(1)
    weights = np.frombuffer(load_verified(YUNET), np.uint8)
    reference = cv2.FaceDetectorYN.create(
        "onnx", weights, np.array([], np.uint8), (320, 320), 0.6, 0.3, 5000
    )
    return YuNetOrtDetector(), reference


def _rows_in_order(rows):
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


@pytest.mark.parametrize(
    ("path", "side"),
    [
        ("photos/facenet_pytorch/group/multiface.jpg", 1280),
        ("camera/Issue 125.jpg", 1280),  # twelve faces, six of them thumbnails
        ("camera/Sony DCR-PC120E.jpg", 997),  # an odd size: padded to a multiple of 32
    ],
)
def test_the_same_detections_as_opencv(detectors, shared_data, path, side):
    mine, reference = detectors
    opened = OpenedImage(path, (shared_data / path).read_bytes(), DecodeLimits())
    rgb = opened.decode_for_detection(side).rgb
    reference.setInputSize((rgb.shape[1], rgb.shape[0]))
    _, want = reference.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
    got = mine.raw(rgb)
    assert want is not None and len(want) >= 2
    assert got.shape == want.shape
    np.testing.assert_allclose(_rows_in_order(got), _rows_in_order(want), atol=1e-2)


def test_nothing_in_a_blank_image(detectors):
    assert detectors[0].detect(np.full((90, 130, 3), 200, np.uint8)) == []
