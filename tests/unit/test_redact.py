"""Photo redaction with the fake square detector: faces the catalog knows are blurred even
where the detector misses them, faces to keep stay exactly as they were, everything else found
is blurred, and the input is never changed."""

import numpy as np
import pytest

from regard.domain.face import Box
from regard.pipeline.anonymise import BlurSettings, cover_box, pixel_rect
from regard.pipeline.redact import KeepCanvas, RGBCanvas, overlaps, redact_photo
from regard.testing import SquareDetector

W, H = 480, 320
SQUARES = {"left": (40, 100), "middle": (200, 100), "right": (360, 100)}
SIDE = 48


def photo(seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 255, np.uint8)
    for x, y in SQUARES.values():
        img[y : y + SIDE, x : x + SIDE] = rng.integers(0, 120, (SIDE, SIDE, 3), dtype=np.uint8)
    return img


def box(name):
    x, y = SQUARES[name]
    return Box(x, y, SIDE, SIDE)


class BlindDetector(SquareDetector):
    """Sees no square whose top-left corner is in `blind`."""

    def __init__(self, blind):
        self.blind = blind

    def detect(self, rgb):
        # The photo is small enough to be searched whole at its own size, so crops are the
        # only other thing seen; corners are compared in the photo's pixels only then.
        found = super().detect(rgb)
        if rgb.shape[:2] != (H, W):
            return found
        return [d for d in found if (int(d.box.x), int(d.box.y)) not in self.blind]


def textured(img, b):
    x0, y0, x1, y1 = pixel_rect(b)
    return img[y0:y1, x0:x1].astype(float).std() > 20


def test_every_face_found_is_blurred_and_the_input_is_untouched():
    img = photo()
    before = img.copy()
    done = redact_photo(img, SquareDetector())
    assert np.array_equal(img, before)
    assert done.faces == 3 and done.found == 3
    assert not any(textured(done.rgb, box(n)) for n in SQUARES)


def test_a_known_face_the_detector_misses_is_blurred():
    detector = BlindDetector({SQUARES["middle"]})
    missed = redact_photo(photo(), detector, settings=None)
    # Unknown and unseen up close, the square is only caught by the search around its
    # blurred neighbours or from afar, if at all; known, it is blurred for sure.
    done = redact_photo(photo(), detector, known=[box("middle")])
    assert not textured(done.rgb, box("middle"))
    assert done.faces == 3 and done.found == 2
    assert missed.found == 2


def test_faces_to_keep_stay_exactly_as_they_were():
    img = photo()
    done = redact_photo(img, SquareDetector(), known=[box("left")], keep=[box("right")])
    x0, y0, x1, y1 = pixel_rect(box("right"))
    assert np.array_equal(done.rgb[y0:y1, x0:x1], img[y0:y1, x0:x1])
    assert not textured(done.rgb, box("left")) and not textured(done.rgb, box("middle"))
    assert done.found == 1  # the middle one: the left was known, the right is kept


def test_the_keep_canvas_hides_only_the_kept_faces():
    img = photo()
    inner = RGBCanvas(img, SquareDetector(), BlurSettings(), 2560)
    seen = KeepCanvas(inner, [box("middle")]).detect((0, 0, W, H))
    assert sorted(int(b.x) for b, _ in seen) == [40, 360]


@pytest.mark.parametrize(
    ("other", "same"),
    [(Box(44, 104, 48, 48), True), (Box(100, 100, 48, 48), False), (Box(0, 0, 5, 5), False)],
)
def test_overlapping_boxes_are_the_same_face(other, same):
    assert overlaps(other, [box("left")]) is same


def test_the_blur_covers_the_head_not_just_the_box():
    done = redact_photo(photo(), SquareDetector())
    x0, y0, x1, y1 = pixel_rect(cover_box(box("left"), W, H))
    assert x0 < SQUARES["left"][0] and y0 < SQUARES["left"][1]
    assert not np.array_equal(done.rgb[y0:y1, x0:x1], photo()[y0:y1, x0:x1])
