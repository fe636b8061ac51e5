"""Masks blank pixels first; the motion gate sees change and ignores noise."""

from __future__ import annotations

import numpy as np

from regard.domain.cameras import parse_mask
from regard.domain.face import Box
from regard.pipeline.camera_frames import MaskPlane, MotionGate, head_region, sharpness


def test_masked_pixels_are_black_and_the_rest_untouched():
    rgb = np.full((240, 320, 3), 200, np.uint8)
    masks = MaskPlane([parse_mask("0,0,100,50"), parse_mask("200,200,300,200,300,239")])
    out = masks.blank(rgb)
    assert out is rgb
    assert (rgb[:50, :100] == 0).all()
    assert (rgb[60:, 110:190] == 200).all()
    assert masks.share(Box(0, 0, 100, 50), 240, 320) > 0.95
    assert masks.share(Box(120, 100, 50, 50), 240, 320) == 0.0


def test_the_motion_gate():
    gate = MotionGate()
    rng = np.random.default_rng(1)
    still = rng.integers(90, 110, (720, 1280, 3), dtype=np.uint8)
    assert gate.moved(still)  # the first frame: nothing to compare with
    noisy = np.clip(still.astype(int) + rng.integers(-4, 5, still.shape), 0, 255).astype(np.uint8)
    assert not gate.moved(noisy)
    walker = noisy.copy()
    walker[300:600, 500:620] = 20  # someone dark walks in
    assert gate.moved(walker)
    assert not gate.moved(walker)


def test_head_region_is_the_top_of_the_box_and_sharpness_sees_detail():
    assert head_region(Box(10, 20, 60, 150)) == Box(10, 20, 60, 150 * 0.34)
    flat = np.full((100, 100, 3), 128, np.uint8)
    busy = np.random.default_rng(2).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    assert sharpness(busy, Box(0, 0, 100, 100)) > sharpness(flat, Box(0, 0, 100, 100))
