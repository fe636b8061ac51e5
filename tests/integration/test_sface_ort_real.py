"""SFace through onnxruntime gives the vectors OpenCV gives, on real faces."""

import cv2
import numpy as np
import pytest

from regard.inference.sessions import SFaceEmbedder
from regard.inference.sface_ort import SFaceOrtEmbedder
from regard.inference.yunet_ort import YuNetOrtDetector
from regard.pipeline.align import align_face
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.detect import detect_faces

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

PHOTOS = (
    "photos/facenet_pytorch/group/multiface.jpg",
    "camera/Issue 125.jpg",  # twelve faces, six of them thumbnails
)


def test_the_same_vectors_as_opencv(shared_data):
    cv2.setNumThreads(1)
    detector, mine, reference = YuNetOrtDetector(), SFaceOrtEmbedder(), SFaceEmbedder()
    crops = []
    for path in PHOTOS:
        opened = OpenedImage(path, (shared_data / path).read_bytes(), DecodeLimits())
        image = opened.decode_for_detection(1280)
        for d in detect_faces(detector, image):
            crops.append(align_face(image.rgb, d.landmarks, mine.template, mine.input_size))
    assert len(crops) >= 10
    batch = np.stack(crops)
    got, want = mine.embed(batch), reference.embed(batch)
    assert got.shape == want.shape == (len(crops), 128)
    np.testing.assert_allclose(got, want, atol=2e-6)
    assert np.all(np.sum(got * want, axis=1) > 1 - 1e-6)
    assert mine.embed(batch[:0]).shape == (0, 128)
