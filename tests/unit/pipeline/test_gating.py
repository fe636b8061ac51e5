"""The gate: which parts of a frame a look searches, from what changed since the last look."""

import numpy as np
import pytest

from regard.domain.face import Box
from regard.pipeline.gating import (
    ChangeGate,
    GateSettings,
    changed_blocks,
    merged,
    still,
    thumbnail,
)

W, H = 640, 360


def scene(seed: int = 0) -> np.ndarray:
    """A grey picture with some texture, as a frame's Y plane."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, (H // 8, W // 8)).astype(np.uint8)
    return np.kron(small, np.ones((8, 8), np.uint8))


def with_face(luma: np.ndarray, x: int, y: int, size: int = 40) -> np.ndarray:
    out = luma.copy()
    yy, xx = np.mgrid[0:size, 0:size]
    out[y : y + size, x : x + size] = np.where((xx // 5 + yy // 5) % 2, 230, 20)
    return out


def test_a_thumbnail_is_an_eighth_of_the_frame_each_way():
    assert thumbnail(scene()).shape == (H // 8, W // 8)


def test_only_the_blocks_where_something_came_change():
    before = scene()
    after = with_face(before, 200, 100)
    changed = changed_blocks(thumbnail(before), thumbnail(after), 64, 3.0)
    assert changed.shape == (-(-H // 64), W // 64)
    rows, cols = np.nonzero(changed)
    assert set(rows) <= {1, 2} and set(cols) <= {3, 4}
    assert changed.sum() >= 1


def test_a_change_of_light_alone_is_no_change():
    before = scene()
    after = np.clip(before.astype(np.int16) + 25, 0, 255).astype(np.uint8)
    assert not changed_blocks(thumbnail(before), thumbnail(after), 64, 3.0).any()


def test_rectangles_that_touch_are_merged():
    assert merged([(0, 0, 10, 10), (11, 0, 20, 10), (50, 50, 60, 60)]) == [
        (0, 0, 20, 10),
        (50, 50, 60, 60),
    ]
    # A merge can make a rectangle reach a third.
    assert merged([(0, 0, 10, 10), (30, 0, 40, 10), (5, 0, 35, 5)]) == [(0, 0, 40, 10)]


def test_the_first_look_searches_everything_and_an_unchanged_frame_nothing():
    gate = ChangeGate(W, H)
    t0 = thumbnail(scene())
    assert gate.plan(t0, 0.0, []) is None
    gate.searched(t0, 0.0, None)
    plan = gate.plan(thumbnail(scene()), 1.0, [])
    assert plan is not None and plan.parts == [] and not plan.changed.any()


def test_a_face_coming_is_searched_with_a_block_around_it_and_may_be_new_only_there():
    gate = ChangeGate(W, H)
    assert gate.block == 16
    before = scene()
    gate.searched(thumbnail(before), 0.0, None)
    plan = gate.plan(thumbnail(with_face(before, 200, 100)), 1.0, [])
    assert plan is not None and len(plan.parts) == 1
    x0, y0, x1, y1 = plan.parts[0]
    assert x0 <= 200 - 16 and y0 <= 100 - 16 and x1 >= 240 + 16 and y1 >= 140 + 16
    assert (x1 - x0) * (y1 - y0) < 0.1 * W * H
    assert plan.new_face_possible(Box(200, 100, 40, 40))
    assert not plan.new_face_possible(Box(500, 250, 40, 40))


def test_the_faces_followed_are_searched_even_when_nothing_changed():
    gate = ChangeGate(W, H, GateSettings(margin=0.5))
    gate.searched(thumbnail(scene()), 0.0, None)
    plan = gate.plan(thumbnail(scene()), 1.0, [Box(300, 100, 40, 40)])
    assert plan is not None and plan.parts == [(280.0, 80.0, 360.0, 160.0)]


def test_a_cut_or_a_pan_searches_the_whole_frame():
    gate = ChangeGate(W, H)
    gate.searched(thumbnail(scene(0)), 0.0, None)
    assert gate.plan(thumbnail(scene(1)), 1.0, []) is None


def test_the_whole_frame_is_searched_at_least_every_full_every_seconds():
    gate = ChangeGate(W, H, GateSettings(full_every=3.0))
    thumb = thumbnail(scene())
    gate.searched(thumb, 0.0, None)
    for t in (1.0, 2.0):
        plan = gate.plan(thumb, t, [])
        assert plan is not None and plan.parts == []
        gate.searched(thumb, t, plan.parts)
    assert gate.plan(thumb, 3.0, []) is None


def test_blocks_are_a_share_of_the_frame_in_whole_thumbnail_pixels():
    assert GateSettings().block_px(1920, 1080) == 32
    assert GateSettings().block_px(1080, 1920) == 32
    assert GateSettings().block_px(3840, 2160) == 64
    assert GateSettings().block_px(640, 360) == 16
    with pytest.raises(ValueError, match="share of the frame"):
        GateSettings(block=0)


def test_a_face_is_still_while_its_picture_does_not_change():
    """Still: carried over without a search. Moved, gone or someone else: searched."""
    before = with_face(scene(), 200, 100)
    box = Box(200, 100, 40, 40)
    was = thumbnail(before)
    assert still(was, thumbnail(before), box, 2.5)
    brighter = np.clip(before.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    assert still(was, thumbnail(brighter), box, 2.5)  # a change of light is no change
    assert not still(was, thumbnail(with_face(scene(), 208, 100)), box, 2.5)  # a fifth over
    assert not still(was, thumbnail(scene()), box, 2.5)  # gone
    other = scene()
    yy, xx = np.mgrid[0:40, 0:40]
    other[100:140, 200:240] = np.where((xx // 10 + yy // 7) % 2, 200, 60)
    assert not still(was, thumbnail(other), box, 2.5)  # someone else in the same place
    # Elsewhere in the frame a face may come and go: this face is still.
    assert still(was, thumbnail(with_face(before, 500, 250)), box, 2.5)
