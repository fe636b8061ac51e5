"""Anonymised photos with the real models: after blurring the faces Regard's analyser finds, YuNet
(at 0.5, the bar copies are judged at, at 1280 pixels and at full resolution) finds no face
inside the blurred heads, and SFace's embedding of a blurred face is far from the person's.
The whole redaction (searches included) is tested against hand-labelled heads in
test_redaction_two_sided.py."""

import cv2
import numpy as np
import pytest

from regard.domain.sharing import BLUR_METHODS
from regard.inference.sessions import YuNetDetector
from regard.pipeline.align import align_face
from regard.pipeline.anonymise.blur import blur_faces, cover_box, head_box, pixel_rect
from regard.pipeline.decode import DecodeLimits, OpenedImage

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

PHOTOS = [
    "photos/insightface_pypi/group/t1.jpg",
    "photos/facenet_pytorch/group/multiface.jpg",
    "camera/Canon PowerShot A560.jpg",
    "camera/Issue 125.jpg",
]
#: Below Regard's lowest match threshold (0.359, the 1:1 verification point) with room to
#: spare, and the bar the brief set.
FAR = 0.30
#: The score a detection must reach to count as a face found again (issue 9: YuNet >= 0.5).
JUDGE_SCORE = 0.5


@pytest.fixture(scope="module")
def judge():
    return YuNetDetector(score_threshold=JUDGE_SCORE)


@pytest.fixture(scope="module")
def photos(analyser, shared_data):
    """Each photo: full-resolution upright pixels and the faces the analyser finds."""
    out = {}
    for rel in PHOTOS:
        opened = OpenedImage(rel, (shared_data / rel).read_bytes(), DecodeLimits())
        faces = analyser.faces_in(opened)
        assert faces, f"{rel}: no face found to test with"
        out[rel] = (opened.decode_at_least(1.0).rgb, faces)
    return out


def detect(detector, rgb, long_side):
    h, w = rgb.shape[:2]
    f = min(1.0, long_side / max(h, w))
    small = rgb if f == 1.0 else cv2.resize(rgb, (round(w * f), round(h * f)), cv2.INTER_AREA)
    return [d.scaled(1.0 / f) for d in detector.detect(np.ascontiguousarray(small))]


def mostly_inside(box, rects):
    """At least half of `box` lies in one of `rects` (a detection *of* a blurred region)."""
    for x0, y0, x1, y1 in rects:
        ix = max(0.0, min(box.x + box.w, x1) - max(box.x, x0))
        iy = max(0.0, min(box.y + box.h, y1) - max(box.y, y0))
        if ix * iy >= 0.5 * box.w * box.h:
            return True
    return False


@pytest.mark.parametrize("method", BLUR_METHODS)
@pytest.mark.parametrize("rel", PHOTOS)
def test_no_face_is_found_again_in_the_blurred_regions(photos, judge, rel, method):
    rgb, faces = photos[rel]
    h, w = rgb.shape[:2]
    out = blur_faces(rgb, [f.detection for f in faces], method)
    rects = [pixel_rect(head_box(f.detection.box, f.detection.landmarks)) for f in faces]
    for side in (1280, max(h, w)):
        again = [d for d in detect(judge, out, side) if mostly_inside(d.box, rects)]
        assert not again, f"{rel}, {method}, detected at {side} px: " + ", ".join(
            f"{d.score:.2f} at {d.box.as_list()}" for d in again
        )


def embeddings(analyser, rgb, faces):
    e = analyser.embedder
    crops = np.stack([align_face(rgb, f.detection.landmarks, e.template, 112) for f in faces])
    return e.embed(crops)


@pytest.mark.parametrize("method", BLUR_METHODS)
@pytest.mark.parametrize("rel", PHOTOS)
def test_a_blurred_face_is_far_from_the_person(analyser, photos, rel, method):
    """SFace on the blurred region, aligned with the ORIGINAL landmarks, against the original
    face: cosine under 0.30. The aligned crop reaches past the cover box, so it shares
    background with the original; where even a flat grey patch in place of the face scores
    0.2 or more (a profile against a white wall, a 24-pixel face), the comparison measures
    that background more than the face, and the bar is that grey patch's score + 0.12."""
    rgb, faces = photos[rel]
    h, w = rgb.shape[:2]
    grey = rgb.copy()
    for f in faces:
        x0, y0, x1, y1 = pixel_rect(cover_box(f.detection.box, w, h))
        grey[y0:y1, x0:x1] = 128
    original = embeddings(analyser, rgb, faces)
    baseline = (original * embeddings(analyser, grey, faces)).sum(axis=1)
    blurred = embeddings(analyser, blur_faces(rgb, [f.detection for f in faces], method), faces)
    cosine = (original * blurred).sum(axis=1)
    bar = np.where(baseline < 0.2, FAR, np.maximum(FAR, baseline + 0.12))
    close = [
        f"face {i} at {faces[i].detection.box.as_list()}: {cosine[i]:.3f} (grey patch "
        f"{baseline[i]:.3f})"
        for i in range(len(faces))
        if cosine[i] >= bar[i]
    ]
    assert not close, f"{rel}, {method}: " + "; ".join(close)
    # Most faces are measured against the plain bar, so the test is not all baselines.
    assert np.median(baseline) < 0.2, np.round(baseline, 3)


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_a_blurred_photo_is_not_matched_to_another_photo_of_the_same_people(
    analyser, photos, method
):
    """t1.jpg and multiface.jpg show the same six people. Blurred in t1, none of them is
    closer than 0.30 to anyone in multiface (unblurred, the same people match at 0.34+)."""
    rgb, faces = photos["photos/insightface_pypi/group/t1.jpg"]
    ref_rgb, ref_faces = photos["photos/facenet_pytorch/group/multiface.jpg"]
    reference = embeddings(analyser, ref_rgb, ref_faces)
    clean = embeddings(analyser, rgb, faces) @ reference.T
    assert np.sort(clean.max(axis=1))[-4:].min() >= 0.34, "the reference photo stopped matching"
    blurred_rgb = blur_faces(rgb, [f.detection.box for f in faces], method)
    blurred = embeddings(analyser, blurred_rgb, faces) @ reference.T
    assert blurred.max() < FAR, np.round(blurred, 2)
