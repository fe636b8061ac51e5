"""Gating: which parts of a frame the detector need search, given the frame looked at before.

Frames are looked at a second apart, and in a family video most of the picture does not
change in a second: the same room, the same people in the same places. A part of the picture
that did not change since the last look cannot hold a face that look did not know of, so a
look searches only

- the blocks (squares a 60th of the frame's long side, 32 pixels in 1080p) whose content
  changed since the last look (their difference, its mean taken out so a change of light
  alone does not count, is over `change` grey levels on average), one block around them
  included: a face coming, going, turning or moving changes the blocks it covers;
- the places of the faces being followed, so their tracks go on;

and the whole frame when that would be most of it anyway (`most`: a pan, a cut) or when no
look has searched the whole frame for `full_every` seconds (changes too small to notice
each second could add up). The comparison is made on a grey copy an eighth the size of the
frame, which costs about a millisecond; a search of a part costs the detector that part's
share of a whole frame.

A part is not a whole frame to the detector: near a part's edge it can see half a face, or
a face in what is cut off. So a find close to a part's edge (within a quarter of its width)
is dropped, and a find where the picture did not change that continues no track is too: the
last look saw that same picture and found no face there. On the test videos the gated looks
give the same appearances as whole-frame looks (bench/video_index.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box, merge_rects

#: A part of a frame, (x0, y0, x1, y1) in upright full-resolution pixels.
Region = tuple[float, float, float, float]
Thumbnail = npt.NDArray[np.float32]

#: Thumbnails are this many times smaller than the frame each way.
SHRINK = 8


@dataclass(frozen=True, slots=True)
class GateSettings:
    block: float = 1 / 60  # a block's side, as a share of the frame's long side
    change: float = 8.0  # mean grey-level difference (its mean taken out) that is a change
    margin: float = 0.5  # face widths searched around a followed face
    most: float = 0.5  # a search of more than this share of the frame searches all of it
    full_every: float = 10.0  # seconds; at least this often the whole frame is searched
    still: float | None = 6.0  # a face whose picture changed by at most this (mean grey
    # levels, `still`; moved a little counts as unchanged) since it was last found is carried
    # over without searching; None: never

    def __post_init__(self) -> None:
        if not 0 < self.block <= 0.5:
            raise ValueError("the gate's block must be a share of the frame, 0 to 1/2")

    def block_px(self, width: int, height: int) -> int:
        """A block's side in pixels: a multiple of SHRINK, at least two thumbnail pixels."""
        side = self.block * max(width, height)
        return max(2 * SHRINK, SHRINK * round(side / SHRINK))


def thumbnail(luma: npt.NDArray[np.uint8]) -> Thumbnail:
    """A grey copy of the frame (its Y plane), SHRINK times smaller each way, by averaging."""
    import cv2

    h, w = luma.shape
    small = cv2.resize(
        luma, (max(1, w // SHRINK), max(1, h // SHRINK)), interpolation=cv2.INTER_AREA
    )
    return np.asarray(small, dtype=np.float32)


def changed_blocks(
    before: Thumbnail, after: Thumbnail, block: int, change: float
) -> npt.NDArray[np.bool_]:
    """Which blocks (rows x columns of `block` full-resolution pixels; the last row and
    column may be partial) changed between two thumbnails of the same size."""
    b = block // SHRINK
    h, w = after.shape
    rows, cols = -(-h // b), -(-w // b)
    diff = np.zeros((rows * b, cols * b), dtype=np.float32)
    count = np.zeros_like(diff)
    diff[:h, :w] = after - before
    count[:h, :w] = 1.0
    d = diff.reshape(rows, b, cols, b)
    n = np.maximum(count.reshape(rows, b, cols, b).sum(axis=(1, 3)), 1.0)
    mean = d.sum(axis=(1, 3)) / n
    # Padding is not part of the block: its difference from the mean is not counted.
    spread = (np.abs(d - mean[:, None, :, None]) * count.reshape(rows, b, cols, b)).sum(axis=(1, 3))
    return np.asarray(spread / n > change)


def merged(rects: Sequence[Region], gap: float = 2.0) -> list[Region]:
    """`rects` with those that overlap or come within `gap` of each other replaced by the
    rectangle around them, until none do."""

    def near(a: Region, b: Region) -> bool:
        return (
            a[0] <= b[2] + gap and b[0] <= a[2] + gap and a[1] <= b[3] + gap and b[1] <= a[3] + gap
        )

    return sorted(merge_rects(rects, near))


@dataclass(frozen=True, slots=True)
class Plan:
    """The parts of a frame to search, and which blocks changed: a face found outside them
    that continues no track was there, unfound, at the last look (the picture there is the
    same), and is taken for what the detector took it for then."""

    parts: list[Region]
    changed: npt.NDArray[np.bool_]  # rows x columns of blocks, dilated by one
    block: int

    def new_face_possible(self, box: Box) -> bool:
        """The centre of `box` lies in a block that changed (or one beside it)."""
        rows, cols = self.changed.shape
        r = min(rows - 1, max(0, int((box.y + box.h / 2) // self.block)))
        c = min(cols - 1, max(0, int((box.x + box.w / 2) // self.block)))
        return bool(self.changed[r, c])


def still(
    before: Thumbnail, after: Thumbnail, box: Box, threshold: float, reach: int = 2
) -> tuple[float, float] | None:
    """Where the picture of `box` (and a quarter of its width around it) went, if it is as
    it was: the shift (full-resolution pixels, in whole thumbnail pixels up to `reach`
    each way: a slowly drifting camera) after which the mean difference between the
    thumbnails there, its mean taken out (a change of light is no change), is at most
    `threshold` grey levels; None if there is none. A face that turned, spoke, moved
    further or gave its place to another changes it by more."""
    h, w = after.shape
    if before.shape != after.shape:
        return None
    m = 0.25 * box.w
    x0 = max(0, int((box.x - m) / SHRINK))
    y0 = max(0, int((box.y - m) / SHRINK))
    x1 = min(w, int(np.ceil((box.x + box.w + m) / SHRINK)))
    y1 = min(h, int(np.ceil((box.y + box.h + m) / SHRINK)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None  # too small a patch to tell
    was = before[y0:y1, x0:x1]
    # Nearest shifts first: of equally good ones, the smallest wins.
    shifts = sorted(
        ((dx, dy) for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)),
        key=lambda d: (abs(d[0]) + abs(d[1]), d),
    )
    best: tuple[float, int, int] | None = None
    for dx, dy in shifts:
        if x0 + dx < 0 or y0 + dy < 0 or x1 + dx > w or y1 + dy > h:
            continue
        d = after[y0 + dy : y1 + dy, x0 + dx : x1 + dx] - was
        v = float(np.abs(d - d.mean()).mean())
        if best is None or v < best[0]:
            best = (v, dx, dy)
    if best is None or best[0] > threshold:
        return None
    return float(best[1] * SHRINK), float(best[2] * SHRINK)


class ChangeGate:
    """Plans the parts of each frame looked at to search, from what changed since the last."""

    def __init__(self, width: int, height: int, settings: GateSettings | None = None) -> None:
        self.width, self.height = width, height
        self.s = settings or GateSettings()
        self.block = self.s.block_px(width, height)
        self._last: Thumbnail | None = None
        self._full_at = float("-inf")  # when the whole frame was last searched

    def plan(self, thumb: Thumbnail, t: float, followed: Sequence[Box]) -> Plan | None:
        """What to search in the frame at `t` (None: all of it), given its thumbnail and
        the boxes where the faces followed may be."""
        import cv2

        s = self.s
        if (
            self._last is None
            or self._last.shape != thumb.shape
            or t - self._full_at >= s.full_every - 1e-6
        ):
            return None
        block = self.block
        mask = changed_blocks(self._last, thumb, block, s.change).astype(np.uint8)
        if mask.any():
            mask = np.asarray(cv2.dilate(mask, np.ones((3, 3), np.uint8)), dtype=np.uint8)
        changed: list[Region] = []
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for k in range(1, n):
            x, y, w, h = (int(v) for v in stats[k, :4])
            changed.append(
                (
                    float(x * block),
                    float(y * block),
                    float(min(self.width, (x + w) * block)),
                    float(min(self.height, (y + h) * block)),
                )
            )
        rects = list(changed)
        for b in followed:
            m = s.margin * max(b.w, b.h)
            rects.append(
                (
                    max(0.0, b.x - m),
                    max(0.0, b.y - m),
                    min(float(self.width), b.x + b.w + m),
                    min(float(self.height), b.y + b.h + m),
                )
            )
        parts = [r for r in merged(rects) if r[2] > r[0] and r[3] > r[1]]
        area = sum((r[2] - r[0]) * (r[3] - r[1]) for r in parts)
        if area > s.most * self.width * self.height:
            return None
        return Plan(parts, mask.astype(bool), block)

    def searched(self, thumb: Thumbnail, t: float, regions: Sequence[Region] | None) -> None:
        """The frame at `t` was searched where `regions` say (None: all of it)."""
        self._last = thumb
        if regions is None:
            self._full_at = t
