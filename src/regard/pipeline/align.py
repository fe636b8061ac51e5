"""Align: warp a face so its 5 landmarks sit on the embedder's template (similarity transform)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.domain.face import Landmarks

Matrix = npt.NDArray[np.float64]


def similarity_transform(src: npt.ArrayLike, dst: npt.ArrayLike) -> Matrix:
    """The 2x3 rotation + uniform scale + translation that best maps `src` points onto `dst`
    in the least-squares sense (Umeyama 1991)."""
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    s_mean, d_mean = s.mean(axis=0), d.mean(axis=0)
    s_c, d_c = s - s_mean, d - d_mean
    cov = d_c.T @ s_c / len(s)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    var = (s_c**2).sum() / len(s)
    scale = float(np.trace(np.diag(sig) @ sign) / var) if var > 0 else 1.0
    t = d_mean - scale * rot @ s_mean
    return np.hstack([scale * rot, t[:, None]])


def align_face(
    rgb: npt.NDArray[np.uint8],
    landmarks: Landmarks,
    template: npt.NDArray[np.float32],
    size: int,
) -> npt.NDArray[np.uint8]:
    """A `size` x `size` RGB crop with the landmarks moved onto `template`.

    `landmarks` are in `rgb`'s own pixel coordinates."""
    import cv2

    m = similarity_transform(landmarks.as_array(), template)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        # A bilinear warp that shrinks more than 2x skips pixels and aliases; shrink the
        # face's neighbourhood with area averaging first, then warp at about 2x.
        rgb, m = _preshrink(rgb, m, size, 2.0 * scale)
    crop = cv2.warpAffine(
        rgb,
        m,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.asarray(crop, dtype=np.uint8)


def _preshrink(
    rgb: npt.NDArray[np.uint8], m: Matrix, size: int, factor: float
) -> tuple[npt.NDArray[np.uint8], Matrix]:
    import cv2

    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    src = corners @ inv.T
    h, w = rgb.shape[:2]
    x0 = int(max(0, np.floor(src[:, 0].min()) - 2))
    y0 = int(max(0, np.floor(src[:, 1].min()) - 2))
    x1 = int(min(w, np.ceil(src[:, 0].max()) + 2))
    y1 = int(min(h, np.ceil(src[:, 1].max()) + 2))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return rgb, m
    region = rgb[y0:y1, x0:x1]
    out_w = max(1, round((x1 - x0) * factor))
    out_h = max(1, round((y1 - y0) * factor))
    small = cv2.resize(region, (out_w, out_h), interpolation=cv2.INTER_AREA)
    fx, fy = out_w / (x1 - x0), out_h / (y1 - y0)
    # Map small-image coordinates back to the original, then apply the original transform.
    back = np.array([[1 / fx, 0, x0], [0, 1 / fy, y0], [0, 0, 1]], np.float64)
    return np.asarray(small, dtype=np.uint8), m @ back
