"""Redaction with fakes: faces the catalog knows are blurred even where the detector misses
them, faces to keep stay exactly as they were (their whole head), everything else found is
blurred, the input is never changed; and the searches after the blur act only on what looks
like a face: a detection on a blurred head flattens it, a faint one elsewhere is left alone."""

import numpy as np
import pytest

from regard.domain.face import Box, Detection, Landmarks
from regard.pipeline.anonymise.blur import BlurSettings, CoverRules, head_box, pixel_rect
from regard.pipeline.anonymise.redact import (
    Cover,
    KeepCanvas,
    RedactSettings,
    RGBCanvas,
    Target,
    first_look,
    keep_zone,
    overlaps,
    redact,
    redact_photo,
)
from regard.testing import SquareDetector

W, H = 480, 320
SQUARES = {"left": (40, 100), "middle": (200, 100), "right": (360, 100)}
SIDE = 48


def disc(side):
    """The pixels of a disc inscribed in a `side` square: a face is round, its box is not."""
    yy, xx = np.mgrid[0:side, 0:side] + 0.5
    return (xx - side / 2) ** 2 + (yy - side / 2) ** 2 <= (side / 2) ** 2


def photo(seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 255, np.uint8)
    inside = disc(SIDE)
    for x, y in SQUARES.values():
        patch = img[y : y + SIDE, x : x + SIDE]
        patch[inside] = rng.integers(0, 120, (int(inside.sum()), 3), dtype=np.uint8)
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
    """Whether the face in `b` keeps its detail: neighbouring pixels of the random texture
    differ by ~40 grey levels, blurred ones by one or two."""
    x0, y0, x1, y1 = pixel_rect(b)
    inside = disc(x1 - x0)
    region = img[y0:y1, x0:x1].astype(float)
    pairs = inside[:, 1:] & inside[:, :-1]
    return np.abs(np.diff(region, axis=1)).sum(axis=2)[pairs].mean() > 10


def test_every_face_found_is_blurred_and_the_input_is_untouched():
    img = photo()
    before = img.copy()
    done = redact_photo(img, SquareDetector())
    assert np.array_equal(img, before)
    assert done.faces == 3 and done.found == 3
    assert not any(textured(done.rgb, box(n)) for n in SQUARES)
    assert len(done.blurred) == 3 and done.kept == []


def test_a_known_face_the_detector_misses_is_blurred():
    # Unknown and unseen in the whole photo, the square is only caught, if at all, by the
    # search around its blurred neighbours; known, it is blurred for sure.
    detector = BlindDetector({SQUARES["middle"]})
    done = redact_photo(photo(), detector, known=[box("middle")])
    assert not textured(done.rgb, box("middle"))
    assert done.faces == 3 and done.found == 2


def test_faces_to_keep_stay_exactly_as_they_were_head_and_all():
    img = photo()
    done = redact_photo(img, SquareDetector(), known=[box("left")], keep=[box("right")])
    x0, y0, x1, y1 = pixel_rect(head_box(box("right")))
    assert np.array_equal(done.rgb[y0:y1, x0:x1], img[y0:y1, x0:x1])
    assert not textured(done.rgb, box("left")) and not textured(done.rgb, box("middle"))
    assert done.found == 1  # the middle one: the left was known, the right is kept
    assert done.kept == [Box(x0, y0, x1 - x0, y1 - y0)]


def test_a_kept_head_is_never_blurred_even_by_a_neighbour_s_blur():
    """Two faces side by side: the blurred one's head reaches into the kept one's; the kept
    head keeps every pixel but those of the other face's own box."""
    img = np.full((200, 300, 3), 255, np.uint8)
    rng = np.random.default_rng(1)
    near, kept = Box(80, 60, 60, 60), Box(150, 60, 60, 60)
    for b in (near, kept):
        img[60:120, int(b.x) : int(b.x) + 60] = rng.integers(0, 120, (60, 60, 3), np.uint8)
    done = redact_photo(img, SquareDetector(), known=[near], keep=[kept])
    zone = keep_zone(300, 200, [Target(kept)], [near], CoverRules())
    changed = (done.rgb != img).any(axis=2)
    assert zone.any() and not changed[zone].any()
    assert changed[60:120, 80:140].mean() > 0.9  # the face to hide is hidden all the same


def test_the_keep_canvas_hides_only_the_kept_faces():
    img = photo()
    inner = RGBCanvas(img, SquareDetector(), BlurSettings(), 2560)
    seen = KeepCanvas(inner, [box("middle")]).detect((0, 0, W, H))
    assert sorted(int(d.box.x) for d in seen) == [40, 360]


@pytest.mark.parametrize(
    ("other", "same"),
    [(Box(44, 104, 48, 48), True), (Box(100, 100, 48, 48), False), (Box(0, 0, 5, 5), False)],
)
def test_overlapping_boxes_are_the_same_face(other, same):
    assert overlaps(other, [box("left")]) is same


def test_the_blur_covers_the_head_not_just_the_box():
    done = redact_photo(photo(), SquareDetector())
    x0, y0, x1, y1 = pixel_rect(head_box(box("left")))
    assert x0 < SQUARES["left"][0] and y0 < SQUARES["left"][1]
    assert not np.array_equal(done.rgb[y0:y1, x0:x1], photo()[y0:y1, x0:x1])


# --- the searches, with a canvas whose detector is a script ------------------------------------


def face(x, y, side, score):
    pts = tuple((x + side * fx, y + side * fy) for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6)))
    pts += ((x + side * 0.35, y + side * 0.8), (x + side * 0.65, y + side * 0.8))
    return Detection(Box(x, y, side, side), Landmarks(pts), score)


class ScriptedCanvas:
    """A canvas whose detector reports what `script(canvas, region, scale)` says, and which
    records what was blurred."""

    def __init__(self, script, width=1000, height=800):
        self.width, self.height = width, height
        self.script = script
        self.blurred = []  # (rect, flat)

    def detect(self, region, scale=None):
        x0, y0, x1, y1 = region
        return [
            d
            for d in self.script(self, region, scale)
            if x0 <= d.box.x + d.box.w / 2 < x1 and y0 <= d.box.y + d.box.h / 2 < y1
        ]

    def blur(self, rect, flat=False, core=None, whole=False):
        self.blurred.append((rect, flat, whole))


def test_a_faint_detection_is_a_face_only_if_a_second_look_agrees():
    sleeve = face(100, 100, 40, 0.45)
    small_face = face(600, 100, 20, 0.35)

    def script(canvas, region, scale):
        if scale is None:  # the whole image, as the first look sees it
            return [sleeve, small_face]
        # Seen bigger, the face scores high and the sleeve does not.
        return [face(600, 100, 20, 0.8)] if region[0] <= 600 < region[2] else [sleeve]

    look = first_look(ScriptedCanvas(script), RedactSettings())
    assert [f.box for f in look.faces] == [small_face.box]
    assert look.faint == [sleeve]


def test_a_face_seen_again_on_a_blurred_head_flattens_it_and_nothing_grows():
    """The old cascade: each pass found a faint "face" around what was blurred and blurred it
    too. Now a detection on a blurred head flattens that head (and, seen again, fills its whole
    box); faint ones elsewhere are left alone, however many passes."""
    first = face(400, 300, 100, 0.9)

    def script(canvas, region, scale):
        if not canvas.blurred:
            return [first]
        # After any blur: the blob where the face was, and a faint "face" beside each blur.
        out = [face(400, 300, 100, 0.45)]
        for (_, y0, x1, _), *_ in canvas.blurred:
            out.append(face(x1 + 5, y0, 60, 0.45))
        return out

    canvas = ScriptedCanvas(script)
    done = redact(
        canvas, Cover(first_look(canvas, RedactSettings()).faces), RedactSettings(), CoverRules()
    )
    assert done.new == 0 and done.flattened == 1
    assert [(flat, whole) for _, flat, whole in canvas.blurred] == [
        (False, False),
        (True, False),
        (True, True),
    ]
    assert len(done.covered) == 1 and {r for r, *_ in canvas.blurred} == set(done.covered)


def test_a_confident_face_found_after_the_blur_is_covered():
    first, hidden = face(100, 100, 80, 0.9), face(210, 100, 60, 0.7)

    def script(canvas, region, scale):
        return [first] if not canvas.blurred else [hidden]

    canvas = ScriptedCanvas(script)
    done = redact(canvas, Cover([Target(first.box)]), RedactSettings(), CoverRules())
    assert done.new == 1 and len(done.covered) == 2


def test_a_detection_spanning_blurred_heads_is_not_a_new_face():
    """Several blurred heads side by side can read, together, as one big face."""
    heads = [face(100 + 90 * i, 100, 70, 0.9) for i in range(3)]

    def script(canvas, region, scale):
        return heads if not canvas.blurred else [face(90, 60, 280, 0.6)]

    canvas = ScriptedCanvas(script)
    done = redact(
        canvas, Cover(first_look(canvas, RedactSettings()).faces), RedactSettings(), CoverRules()
    )
    assert done.new == 0 and len(done.covered) == 3
