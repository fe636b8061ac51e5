"""YUV 4:2:0 (I420) frames as numpy arrays: plane views, regions as RGB, quarter turns.

An I420 array is (h * 3 / 2) x w bytes: the Y plane (h x w), then U and V (h/2 x w/2 each)
laid end to end. Video is decoded and encoded in this form, so working on it directly spares
the full-frame colour conversions; only what a detector looks at is converted to RGB.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.domain.face import Rect

I420 = npt.NDArray[np.uint8]
Plane = npt.NDArray[np.uint8]
RGB = npt.NDArray[np.uint8]


def planes(yuv: I420, w: int, h: int) -> tuple[Plane, Plane, Plane]:
    """Views of the Y, U and V planes. U and V follow Y end to end, so one may end mid-row of
    the array (when h/2 is odd): they are cut from the flat bytes."""
    chroma = yuv[h:].reshape(-1)
    size = (w // 2) * (h // 2)
    u = chroma[:size].reshape(h // 2, w // 2)
    v = chroma[size : 2 * size].reshape(h // 2, w // 2)
    return yuv[:h], u, v


def half(rect: Rect) -> Rect:
    """`rect` on a half-resolution (chroma) plane, rounded outwards."""
    x0, y0, x1, y1 = rect
    return x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2


def region_rgb(
    yuv: I420, w: int, h: int, rect: Rect, scale: float = 1.0, *, bgr: bool = False
) -> RGB:
    """The RGB pixels of `rect` (even corners, inside the frame), scaled by `scale`. The
    planes are scaled before the colour conversion, which then costs a fraction. `bgr`:
    in OpenCV's channel order instead."""
    import cv2

    x0, y0, x1, y1 = rect
    y, u, v = planes(yuv, w, h)
    rw, rh = x1 - x0, y1 - y0
    sw, sh = rw, rh
    if scale != 1.0:
        sw, sh = 2 * max(1, round(rw * scale / 2)), 2 * max(1, round(rh * scale / 2))
    how = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    out = np.empty((sh * 3 // 2, sw), dtype=np.uint8)
    oy, ou, ov = planes(out, sw, sh)
    for dst, src, (dw, dh) in (
        (oy, y[y0:y1, x0:x1], (sw, sh)),
        (ou, u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2], (sw // 2, sh // 2)),
        (ov, v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2], (sw // 2, sh // 2)),
    ):
        if (dw, dh) == (src.shape[1], src.shape[0]):
            dst[...] = src
        else:
            dst[...] = cv2.resize(src, (dw, dh), interpolation=how)
    code = cv2.COLOR_YUV2BGR_I420 if bgr else cv2.COLOR_YUV2RGB_I420
    return np.asarray(cv2.cvtColor(out, code), dtype=np.uint8)


def turned(yuv: I420, w: int, h: int, quarter_turns: int) -> tuple[I420, int, int]:
    """The frame turned counter-clockwise by `quarter_turns` x 90 degrees, with its new
    width and height."""
    turned_planes = [np.rot90(p, quarter_turns) for p in planes(yuv, w, h)]
    nh, nw = turned_planes[0].shape
    out = np.empty((nh * 3 // 2, nw), dtype=np.uint8)
    for dst, src in zip(planes(out, nw, nh), turned_planes, strict=True):
        dst[...] = src
    return out, nw, nh
