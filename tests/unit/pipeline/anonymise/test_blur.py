"""Anonymise: heads (the box grown, the ellipse inside it), and the three blur methods on
synthetic images."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.domain.face import Box, Landmarks
from regard.pipeline.anonymise.blur import (
    BLUR_METHODS,
    BlurSettings,
    blur_faces,
    blur_rect_in_place,
    clip_rect,
    cover_box,
    head_box,
    mosaic_cells,
    pixel_rect,
    shape_mask,
    turn,
)


def textured(w=320, h=240, seed=0):
    """A busy image: every pixel differs from its neighbours, as a face's detail does."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def changed_mask(a, b):
    return (a != b).any(axis=2)


def head_mask(box, w, h, shape="ellipse"):
    """The pixels of a `w` x `h` image the blur of `box` may change."""
    out = np.zeros((h, w), bool)
    rect = pixel_rect(head_box(box))
    clipped = clip_rect(rect, w, h) if rect is not None else None
    if clipped is not None:
        x0, y0, x1, y1 = clipped
        out[y0:y1, x0:x1] = shape_mask(rect, shape, w, h, core=pixel_rect(box))
    return out


def marks(box, nose_at):
    """Landmarks in `box` with the nose at `nose_at` of its width (the eyes at 0.3 and 0.7)."""
    x, y, w, h = box.x, box.y, box.w, box.h
    pts = ((0.3, 0.4), (0.7, 0.4), (nose_at, 0.6), (0.35, 0.8), (0.65, 0.8))
    return Landmarks(tuple((x + w * fx, y + h * fy) for fx, fy in pts))


def test_the_head_grows_to_hair_ears_and_chin():
    cover = cover_box(Box(100, 100, 40, 50), 1000, 1000)
    assert (cover.x, cover.w) == (94, 52)  # 15 % of the width to each side
    assert cover.y == pytest.approx(100 - 0.35 * 50)  # more upwards (hairline) ...
    assert cover.y + cover.h == pytest.approx(150 + 0.05 * 50)  # ... than down (chin)


def test_a_turned_head_grows_behind_the_face():
    box = Box(100, 100, 40, 50)
    assert turn(box, marks(box, 0.5)) == 0 and turn(box, None) == 0
    right = head_box(box, marks(box, 0.75))  # the nose points right: the back is on the left
    assert turn(box, marks(box, 0.75)) == pytest.approx(0.25)
    assert right.x == pytest.approx(100 - 40 * (0.15 + 3 * 0.25))
    assert right.x + right.w == pytest.approx(140 + 40 * 0.15)
    left = head_box(box, marks(box, 0.25))
    assert left.x == pytest.approx(94) and left.x + left.w == pytest.approx(140 + 40 * 0.9)
    # A nose beyond the box does not send the head across the photo.
    assert head_box(box, marks(box, 3.0)).x == pytest.approx(100 - 40 * (0.15 + 3 * 0.3))


def test_the_cover_box_is_clipped_to_the_image():
    cover = cover_box(Box(-10, -20, 60, 60), 100, 80)
    assert (cover.x, cover.y) == (0, 0)
    cover = cover_box(Box(80, 60, 40, 40), 100, 80)
    assert cover.x + cover.w == 100 and cover.y + cover.h == 80


def test_a_box_wholly_outside_the_image_covers_nothing():
    cover = cover_box(Box(500, 500, 20, 20), 100, 80)
    assert pixel_rect(cover) is None
    img = textured(100, 80)
    assert np.array_equal(blur_faces(img, [Box(500, 500, 20, 20)]), img)


@pytest.mark.parametrize("shape", ["ellipse", "box"])
@pytest.mark.parametrize("method", BLUR_METHODS)
def test_every_pixel_of_the_head_changes_and_nothing_outside(method, shape):
    img = textured()
    box = Box(120, 80, 60, 70)
    out = blur_faces(img, [box], settings=BlurSettings(method=method, shape=shape))
    changed = changed_mask(img, out)
    inside = head_mask(box, 320, 240, shape)
    assert not changed[~inside].any(), "pixels outside the head were changed"
    assert changed[inside].mean() > 0.97, "part of the head kept its original pixels"


def test_the_ellipse_leaves_the_corners_of_the_head_box_but_covers_the_face_box():
    img = textured()
    box = Box(120, 80, 60, 70)
    changed = changed_mask(img, blur_faces(img, [box]))
    x0, y0, x1, y1 = pixel_rect(head_box(box))
    assert not changed[y0, x0] and not changed[y0, x1 - 1]
    # The ellipse narrows at the chin; the face box's lower corners are blurred all the same.
    assert changed[80:150, 120:180].all()
    share = changed[y0:y1, x0:x1].mean()
    assert np.pi / 4 < share < 0.85


def test_a_head_cut_by_the_edge_is_cut_not_squeezed():
    img = textured()
    box = Box(-30, 60, 60, 70)  # half out of the image on the left
    changed = changed_mask(img, blur_faces(img, [box]))
    assert np.array_equal(changed, head_mask(box, 320, 240))
    # The ellipse's widest row reaches the image's edge, as the head does.
    rect = pixel_rect(head_box(box))
    middle = (rect[1] + rect[3]) // 2
    assert changed[middle, 0]


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_the_input_image_is_never_modified(method):
    img = textured()
    before = img.copy()
    blur_faces(img, [Box(50, 50, 80, 80)], method)
    assert np.array_equal(img, before)


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_no_detail_survives_in_the_head(method):
    img = textured()
    box = Box(100, 60, 100, 120)
    out = blur_faces(img, [box], method)
    inside = head_mask(box, 320, 240)
    pairs = inside[:, 1:] & inside[:, :-1]  # horizontal neighbours both in the head
    before = np.abs(np.diff(img.astype(np.float64), axis=1)).sum(axis=2)[pairs]
    after = np.abs(np.diff(out.astype(np.float64), axis=1)).sum(axis=2)[pairs]
    # Pixel-to-pixel detail (what identifies a face) is gone: neighbouring pixels are equal or
    # nearly so, where the original's differ by ~100 grey levels.
    assert after.mean() < before.mean() / 20


def test_solid_fills_the_head_with_its_mean_colour():
    img = textured()
    box = Box(100, 60, 50, 50)
    inside = head_mask(box, 320, 240)
    mean = img[inside].mean(axis=0)
    out = blur_faces(img, [box], "solid")
    region = out[inside]
    assert (region == region[0]).all()
    np.testing.assert_allclose(region[0], mean, atol=0.51)


def test_the_mosaic_has_six_cells_across_a_large_face():
    img = textured(800, 600)
    box = Box(200, 200, 200, 220)
    out = blur_faces(img, [box], "mosaic")
    x0, y0, x1, y1 = pixel_rect(head_box(box))
    middle = (y0 + y1) // 2
    row = out[middle, x0:x1][head_mask(box, 800, 600)[middle, x0:x1]]
    cells = 1 + int((np.diff(row.astype(int), axis=0) != 0).any(axis=1).sum())
    assert cells == 6


def test_a_tiny_face_gets_one_colour_not_a_mosaic_of_its_pixels():
    """Below 16 pixels a cell, a mosaic would keep the layout a detector finds a face by."""
    box = Box(10, 10, 14, 16)
    rect = pixel_rect(cover_box(box, 100, 100))
    assert mosaic_cells(rect, BlurSettings(method="mosaic")) == 1
    out = blur_faces(textured(100, 100), [box], "mosaic")
    assert len(np.unique(out[head_mask(box, 100, 100)], axis=0)) == 1


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_a_plane_at_a_time_gives_the_same_result_as_the_colour_image(method):
    """Video blurs Y, U and V planes separately; each method must act per channel."""
    img = textured(200, 160, seed=3)
    s = BlurSettings(method=method)
    rect = (40, 30, 150, 140)
    whole = img.copy()
    blur_rect_in_place(whole, rect, s)
    for c in range(3):
        plane = np.ascontiguousarray(img[:, :, c])
        blur_rect_in_place(plane, rect, s)
        assert np.abs(plane.astype(int) - whole[:, :, c]).max() <= 1


def test_overlapping_faces_are_both_covered():
    img = textured()
    boxes = [Box(100, 80, 60, 60), Box(130, 90, 60, 60)]
    out = blur_faces(img, boxes, "gaussian")
    for box in boxes:
        assert changed_mask(img, out)[head_mask(box, 320, 240)].mean() > 0.97


def test_bad_settings_and_images_are_refused():
    with pytest.raises(ValueError, match="unknown blur method 'pixelate'"):
        BlurSettings(method="pixelate")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown blur shape 'circle'"):
        BlurSettings(shape="circle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sigma must be > 0"):
        BlurSettings(sigma=0)
    with pytest.raises(ValueError, match="expected an H x W x 3 uint8 image"):
        blur_faces(np.zeros((10, 10), np.uint8), [Box(1, 1, 5, 5)])


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(BLUR_METHODS),
    boxes=st.lists(
        st.tuples(st.floats(-50, 250), st.floats(-50, 200), st.floats(1, 150), st.floats(1, 150)),
        max_size=4,
    ),
)
def test_only_heads_change_whatever_the_boxes(method, boxes):
    img = textured(200, 150, seed=1)
    faces = [Box(*b) for b in boxes]
    out = blur_faces(img, faces, method)
    allowed = np.zeros(img.shape[:2], bool)
    for face in faces:
        allowed |= head_mask(face, 200, 150)
    assert not changed_mask(img, out)[~allowed].any()
