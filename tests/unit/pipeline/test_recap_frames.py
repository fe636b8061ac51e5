"""Slideshow frames composed in I420: a moving window warped plane by plane, and fades done
on YUV, must show what the same done on RGB and then converted shows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from regard.pipeline.recap_slideshow import _darken, _i420, _planes, _warp_i420
from regard.pipeline.recap_tiles import resample


def picture(w: int, h: int) -> np.ndarray:
    """Smooth colour ramps and a few hard edges: what chroma siting gets wrong shows."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], axis=2)
    rgb = rgb.astype(np.uint8)
    cv2.rectangle(rgb, (w // 3, h // 3), (w // 2, h // 2), (250, 30, 30), -1)
    cv2.circle(rgb, (2 * w // 3, h // 2), h // 6, (20, 200, 240), -1)
    return rgb


def as_i420(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)).reshape(-1)


@pytest.mark.parametrize(
    "region",
    [
        (0.0, 0.0, 403.0, 301.0),  # the whole odd-sized canvas
        (37.3, 21.7, 37.3 + 288.0 * 1.1, 21.7 + 162.0 * 1.1),  # a window, zoomed out a little
        (120.5, 80.25, 120.5 + 144.0, 80.25 + 81.0),  # closer than one to one: enlarged
    ],
)
def test_a_window_warped_in_i420_is_the_rgb_window_converted(region: tuple) -> None:
    rgb = picture(403, 301)  # odd: the canvas is made even by repeating its edge
    src, size = _i420(rgb)
    assert size == (404, 302)
    w, h = 288, 162
    out = np.empty(w * h * 3 // 2, dtype=np.uint8)
    _warp_i420(src, size, region, w, h, out)
    want = as_i420(resample(rgb, region, w, h))
    got_y, got_u, got_v = _planes(out, w, h)
    want_y, want_u, want_v = _planes(want, w, h)
    # Inside the picture (the borders repeat edge pixels in both): luma a fraction of a
    # level apart; chroma (subsampled before the warp, not after) about a level, more only
    # along hard colour edges (under one sample in twelve here). Swapped or shifted planes are
    # tens of levels off.
    inner = (slice(4, -4), slice(4, -4))
    assert np.abs(got_y.astype(int) - want_y)[inner].mean() < 0.5
    for got, exp in ((got_u, want_u), (got_v, want_v)):
        diff = np.abs(got.astype(int) - exp)[(slice(2, -2), slice(2, -2))]
        assert diff.mean() < 1.5 and (diff > 8).mean() < 0.08


def test_fading_i420_is_fading_rgb() -> None:
    rgb = picture(64, 48)
    yuv = as_i420(rgb)
    out = np.empty_like(yuv)
    for light in (0.0, 0.3, 0.75):
        _darken(yuv, 64 * 48, light, out)
        want = as_i420(np.asarray(cv2.convertScaleAbs(rgb, alpha=light), dtype=np.uint8))
        assert np.abs(out.astype(int) - want).max() <= 2
