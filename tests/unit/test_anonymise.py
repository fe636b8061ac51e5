"""Anonymise: cover boxes, and the three blur methods on synthetic images."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.domain.face import Box
from regard.pipeline.anonymise import (
    BLUR_METHODS,
    BlurSettings,
    blur_faces,
    blur_rect_in_place,
    cover_box,
    mosaic_cells,
    pixel_rect,
)


def textured(w=320, h=240, seed=0):
    """A busy image: every pixel differs from its neighbours, as a face's detail does."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def changed_mask(a, b):
    return (a != b).any(axis=2)


def test_the_cover_box_grows_to_hair_ears_and_chin():
    cover = cover_box(Box(100, 100, 40, 50), 1000, 1000)
    assert (cover.x, cover.w) == (90, 60)  # 50 % wider, split left and right
    assert cover.y == pytest.approx(100 - 0.45 * 50)  # more upwards (hairline) ...
    assert cover.y + cover.h == pytest.approx(150 + 0.2 * 50)  # ... than down (chin)


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


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_every_pixel_of_the_cover_box_changes_and_nothing_outside(method):
    img = textured()
    box = Box(120, 80, 60, 70)
    out = blur_faces(img, [box], method)
    x0, y0, x1, y1 = pixel_rect(cover_box(box, 320, 240))
    changed = changed_mask(img, out)
    inside = np.zeros_like(changed)
    inside[y0:y1, x0:x1] = True
    assert not changed[~inside].any(), "pixels outside the cover box were changed"
    assert changed[inside].mean() > 0.97, "part of the cover box kept its original pixels"


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_the_input_image_is_never_modified(method):
    img = textured()
    before = img.copy()
    blur_faces(img, [Box(50, 50, 80, 80)], method)
    assert np.array_equal(img, before)


@pytest.mark.parametrize("method", BLUR_METHODS)
def test_no_detail_survives_in_the_cover_box(method):
    img = textured()
    box = Box(100, 60, 100, 120)
    out = blur_faces(img, [box], method)
    x0, y0, x1, y1 = pixel_rect(cover_box(box, 320, 240))
    before = img[y0:y1, x0:x1].astype(np.float64)
    after = out[y0:y1, x0:x1].astype(np.float64)
    # Pixel-to-pixel detail (what identifies a face) is gone: neighbouring pixels are equal or
    # nearly so, where the original's differ by ~100 grey levels.
    detail_before = np.abs(np.diff(before, axis=1)).mean()
    detail_after = np.abs(np.diff(after, axis=1)).mean()
    assert detail_after < detail_before / 20


def test_solid_fills_the_cover_box_with_its_mean_colour():
    img = textured()
    box = Box(100, 60, 50, 50)
    x0, y0, x1, y1 = pixel_rect(cover_box(box, 320, 240))
    mean = img[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    out = blur_faces(img, [box], "solid")
    region = out[y0:y1, x0:x1].reshape(-1, 3)
    assert (region == region[0]).all()
    np.testing.assert_allclose(region[0], mean, atol=0.51)


def test_the_mosaic_has_six_cells_across_a_large_face():
    img = textured(800, 600)
    box = Box(200, 200, 200, 220)
    out = blur_faces(img, [box], "mosaic")
    x0, y0, x1, y1 = pixel_rect(cover_box(box, 800, 600))
    row = out[(y0 + y1) // 2, x0:x1]
    cells = 1 + int((np.diff(row.astype(int), axis=0) != 0).any(axis=1).sum())
    assert cells == 6


def test_a_tiny_face_gets_one_colour_not_a_mosaic_of_its_pixels():
    """Below 16 pixels a cell, a mosaic would keep the layout a detector finds a face by."""
    box = Box(10, 10, 14, 16)
    rect = pixel_rect(cover_box(box, 100, 100))
    assert mosaic_cells(rect, BlurSettings(method="mosaic")) == 1
    out = blur_faces(textured(100, 100), [box], "mosaic")
    x0, y0, x1, y1 = rect
    assert len(np.unique(out[y0:y1, x0:x1].reshape(-1, 3), axis=0)) == 1


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
        x0, y0, x1, y1 = pixel_rect(cover_box(box, 320, 240))
        assert changed_mask(img[y0:y1, x0:x1], out[y0:y1, x0:x1]).mean() > 0.97


def test_bad_settings_and_images_are_refused():
    with pytest.raises(ValueError, match="unknown blur method 'pixelate'"):
        BlurSettings(method="pixelate")  # type: ignore[arg-type]
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
def test_only_cover_boxes_change_whatever_the_boxes(method, boxes):
    img = textured(200, 150, seed=1)
    faces = [Box(*b) for b in boxes]
    out = blur_faces(img, faces, method)
    allowed = np.zeros(img.shape[:2], bool)
    for face in faces:
        rect = pixel_rect(cover_box(face, 200, 150))
        if rect is not None:
            x0, y0, x1, y1 = rect
            allowed[y0:y1, x0:x1] = True
    assert not changed_mask(img, out)[~allowed].any()
