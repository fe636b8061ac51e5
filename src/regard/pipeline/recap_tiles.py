"""Recap tiles: the photos (and video moments) a recap is made of, read upright, with the
faces of people who did not agree blurred, and cropped so that no face is cut.

A tile names its file and the faces on it (boxes in the upright full-resolution pixels, as the
library stores them, each to keep or to blur). `open_tile` reads what the file says of its size
(a photo's header; a video's picture at the middle of its moment); `TilePixels.read` decodes it
at the resolution a render needs (a JPEG at a DCT-reduced size where that is enough) and blurs
with the anonymiser's blur (`regard.pipeline.anonymise.blur`), at that resolution, before any
crop or scaling: what a render shows of the tile never holds the face it blurred.

Crops (`fit_crop`): the faces' heads must stay whole in a crop. A crop of aspect `a` inside a
W x H image holds a region fw x fh iff fw / H <= a <= W / fh (`aspect_range`), so a layout knows
which shapes each tile can take, and the crop is then the largest of its shape, as near centred
on the faces as the image allows.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box
from regard.errors import ImageError, JobCancelledError, RegardError
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise.blur import BlurSettings, blur_faces_in_place, head_box
from regard.pipeline.anonymise.video import VIDEO_COVER
from regard.pipeline.clip import VideoLimits
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.video_still import still_at

RGBImage = npt.NDArray[np.uint8]
#: x0, y0, x1, y1 in pixels (floats: crops are placed at sub-pixel precision).
Region = tuple[float, float, float, float]


@dataclass(frozen=True)
class TileFace:
    """A face on a tile: `box` is x, y, w, h in the source's upright pixels (after EXIF
    orientation; for a video, its upright frame). `keep`: False blurs it. A face of a video
    moves: `path` is where it was seen (seconds on the player's timeline, box), in time order,
    and `span` when it is on screen; each frame blurs it where it is then (`at`)."""

    box: tuple[int, int, int, int]
    keep: bool
    path: tuple[tuple[float, tuple[int, int, int, int]], ...] = ()
    span: tuple[float, float] | None = None

    def at(self, time: float) -> TileFace | None:
        """The face at `time` of its video: a box holding it where it was seen just before
        and just after (it moves between those looks), or None while it is not on screen. A
        face without a path is where its box is."""
        if not self.path:
            return self
        if self.span is not None and not self.span[0] <= time <= self.span[1]:
            return None
        i = bisect.bisect_right([t for t, _ in self.path], time)
        seen = [b for _, b in self.path[max(0, i - 1) : i + 1]]
        x0, y0 = min(b[0] for b in seen), min(b[1] for b in seen)
        x1, y1 = max(b[0] + b[2] for b in seen), max(b[1] + b[3] for b in seen)
        return TileFace((x0, y0, x1 - x0, y1 - y0), self.keep)


def faces_at(faces: Sequence[TileFace], time: float) -> tuple[TileFace, ...]:
    """The faces on screen at `time` of a video, each where it is then."""
    return tuple(g for f in faces if (g := f.at(time)) is not None)


@dataclass(frozen=True)
class Tile:
    """A photo, or, with `video_start_s` and `video_end_s` (seconds on the player's timeline),
    a moment of a video."""

    path: str
    faces: tuple[TileFace, ...]
    video_start_s: float | None = None
    video_end_s: float | None = None

    @property
    def is_video(self) -> bool:
        return self.video_start_s is not None and self.video_end_s is not None

    @property
    def middle_s(self) -> float:
        assert self.video_start_s is not None
        assert self.video_end_s is not None
        return (self.video_start_s + self.video_end_s) / 2


@dataclass(frozen=True)
class SkippedTile:
    """A tile left out of a render, and why (the per-file error's message)."""

    path: str
    reason: str


def reworked(
    tiles: Sequence[Tile],
    wanted: Callable[[Tile], bool],
    work: Callable[[int, Tile], Tile],
    job: str,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[list[Tile], list[SkippedTile]]:
    """`tiles` with each `wanted` one replaced by `work(its index, it)`, and those whose work
    failed (a `RegardError`: a damaged file) left out with the reason. `progress(done,
    total)` counts the wanted tiles; `cancel()` is asked before each (`job` names what is
    cancelled)."""
    out: list[Tile] = []
    skipped: list[SkippedTile] = []
    total, done = sum(map(wanted, tiles)), 0
    for n, tile in enumerate(tiles):
        if not wanted(tile):
            out.append(tile)
            continue
        if cancel is not None and cancel():
            raise JobCancelledError(job)
        if progress is not None:
            progress(done, total)
        done += 1
        try:
            out.append(work(n, tile))
        except RegardError as exc:
            skipped.append(SkippedTile(tile.path, str(exc)))
    return out, skipped


@dataclass(frozen=True)
class RenderReport:
    """What a render used and left out."""

    output: Path
    tiles: int  # tiles shown
    skipped: tuple[SkippedTile, ...]
    faces_blurred: int  # blurred heads, counted once per tile
    seconds: float  # how long the output lasts (0 for a collage)


#: The blur of a photo's faces and of a video moment's (whose heads move: grown more).
PHOTO_BLUR = BlurSettings()
VIDEO_BLUR = BlurSettings(cover=VIDEO_COVER)


class TilePixels:
    """A tile whose size is known; `read` decodes it with its faces blurred."""

    def __init__(self, tile: Tile, limits: DecodeLimits, video_limits: VideoLimits) -> None:
        self.tile = tile
        self._still: RGBImage | None = None
        self._opened: OpenedImage | None = None
        path = Path(tile.path)
        if tile.is_video:
            # The picture at the middle of the moment stands for it (cover, collage, sizes).
            self._still = np.ascontiguousarray(still_at(path, tile.middle_s, video_limits))
            h, w = self._still.shape[:2]
            self.size = (w, h)
        else:
            self._opened = OpenedImage(str(path), read_file(path, limits)[1], limits)
            self.size = self._opened.size
            # Decoded once small (a JPEG at an eighth, from its DCT), so a file whose header
            # reads but whose data is cut off is found now, not half-way through a render.
            self._opened.decode_for_detection(64)
        w, h = self.size
        # A video moment stands as its middle picture: its faces where they are then.
        at = faces_at(tile.faces, tile.middle_s) if tile.is_video else tile.faces
        self.faces = tuple(f for f in at if _inside(f.box, w, h))

    @property
    def blur(self) -> BlurSettings:
        return VIDEO_BLUR if self.tile.is_video else PHOTO_BLUR

    @property
    def hidden(self) -> int:
        return sum(not f.keep for f in self.faces)

    def must_show(self) -> Region:
        """The region every crop must hold: the heads of the faces (blurred ones too: a face
        cut in half by an edge is a cut face, blurred or not), clipped to the image; the whole
        image's centre if it has no face."""
        w, h = self.size
        if not self.faces:
            return (w / 2, h / 2, w / 2, h / 2)
        heads = [_clip(_head(f, self.blur), w, h) for f in self.faces]
        return (
            min(r[0] for r in heads),
            min(r[1] for r in heads),
            max(r[2] for r in heads),
            max(r[3] for r in heads),
        )

    def must_show_faces(self) -> Region:
        """The faces' own boxes (what no edge may cut, when the heads do not fit)."""
        w, h = self.size
        if not self.faces:
            return (w / 2, h / 2, w / 2, h / 2)
        boxes = [_clip(_corners(f.box), w, h) for f in self.faces]
        return (
            min(r[0] for r in boxes),
            min(r[1] for r in boxes),
            max(r[2] for r in boxes),
            max(r[3] for r in boxes),
        )

    def focus(self) -> tuple[float, float]:
        """Where a crop centres: the faces' middle, weighted by size (a big face is the
        subject), or the image's centre."""
        if not self.faces:
            return (self.size[0] / 2, self.size[1] / 2)
        weights = [f.box[2] * f.box[3] for f in self.faces]
        total = sum(weights) or 1.0
        x = sum((f.box[0] + f.box[2] / 2) * wt for f, wt in zip(self.faces, weights, strict=True))
        y = sum((f.box[1] + f.box[3] / 2) * wt for f, wt in zip(self.faces, weights, strict=True))
        return (x / total, y / total)

    def read(self, scale: float) -> tuple[RGBImage, float]:
        """The upright pixels at `scale` of full resolution or more (a photo; a video still is
        what it is), with the faces not kept blurred; and the scale they are at."""
        if self._still is not None:
            rgb, got = self._still.copy(), 1.0
        else:
            assert self._opened is not None
            decoded = self._opened.decode_at_least(scale)
            rgb, got = decoded.rgb, decoded.scale
            if not rgb.flags.writeable:
                rgb = rgb.copy()
        blur_in_place(rgb, self.faces, got, self.blur)
        return rgb, got


def blur_in_place(
    rgb: RGBImage, faces: Sequence[TileFace], scale: float, settings: BlurSettings
) -> None:
    """Blur the faces not kept (boxes in full-resolution pixels) on `rgb`, at `scale`."""
    boxes = [
        Box(f.box[0] * scale, f.box[1] * scale, f.box[2] * scale, f.box[3] * scale)
        for f in faces
        if not f.keep
    ]
    if boxes:
        blur_faces_in_place(rgb, boxes, settings)


def open_tile(
    tile: Tile, limits: DecodeLimits | None = None, video_limits: VideoLimits | None = None
) -> TilePixels | SkippedTile:
    """The tile ready to read, or why it cannot be used (missing, damaged, not an image)."""
    has_moment = tile.video_start_s is not None or tile.video_end_s is not None
    if has_moment and (
        not tile.is_video or (tile.video_end_s or 0.0) <= (tile.video_start_s or 0.0)
    ):
        return SkippedTile(
            tile.path,
            f"{tile.path}: the video moment {tile.video_start_s}-{tile.video_end_s} s has no "
            "length",
        )
    if not Path(tile.path).exists():
        return SkippedTile(tile.path, f"{tile.path}: the file does not exist (moved or deleted?)")
    try:
        return TilePixels(tile, limits or DecodeLimits(), video_limits or VideoLimits())
    except ImageError as exc:
        return SkippedTile(tile.path, str(exc))


def aspect_range(size: tuple[int, int], must: Region) -> tuple[float, float]:
    """The crop aspects (width / height) that hold `must` inside a `size` image."""
    w, h = size
    fw, fh = max(1.0, must[2] - must[0]), max(1.0, must[3] - must[1])
    return (min(fw / h, w / h), max(w / fh, w / h))


def fit_crop(
    size: tuple[int, int], aspect: float, must: Region, focus: tuple[float, float]
) -> Region | None:
    """The largest crop of `aspect` inside the image that holds `must`, centred on `focus` as
    far as it can be; None if no crop of that aspect holds it."""
    w, h = size
    cw = min(float(w), h * aspect)
    ch = cw / aspect
    if cw + 1e-6 < must[2] - must[0] or ch + 1e-6 < must[3] - must[1]:
        return None
    x0 = _place(focus[0] - cw / 2, cw, must[0], must[2], w)
    y0 = _place(focus[1] - ch / 2, ch, must[1], must[3], h)
    return (x0, y0, x0 + cw, y0 + ch)


def zoomed(crop: Region, zoom: float, must: Region, focus: tuple[float, float]) -> Region:
    """`crop` shrunk by `zoom` (> 1: closer) toward `focus`, still inside `crop` and holding
    `must` where it can (the zoom is lessened until it does)."""
    cw, ch = crop[2] - crop[0], crop[3] - crop[1]
    fw, fh = must[2] - must[0], must[3] - must[1]
    zoom = max(1.0, min(zoom, cw / max(fw, 1.0), ch / max(fh, 1.0)))
    zw, zh = cw / zoom, ch / zoom
    x0 = crop[0] + _place(focus[0] - crop[0] - zw / 2, zw, must[0] - crop[0], must[2] - crop[0], cw)
    y0 = crop[1] + _place(focus[1] - crop[1] - zh / 2, zh, must[1] - crop[1], must[3] - crop[1], ch)
    return (x0, y0, x0 + zw, y0 + zh)


def _place(start: float, length: float, lo: float, hi: float, limit: float) -> float:
    """`start` moved as little as needed to cover [lo, hi] and stay within [0, limit]."""
    start = min(start, lo)
    start = max(start, hi - length)
    return max(0.0, min(start, limit - length))


def _head(face: TileFace, blur: BlurSettings) -> Region:
    x, y, w, h = face.box
    head = head_box(Box(x, y, w, h), None, blur.cover)
    return (head.x, head.y, head.x + head.w, head.y + head.h)


def _corners(box: tuple[int, int, int, int]) -> Region:
    return (float(box[0]), float(box[1]), float(box[0] + box[2]), float(box[1] + box[3]))


def _clip(r: Region, w: int, h: int) -> Region:
    return (max(0.0, r[0]), max(0.0, r[1]), min(float(w), r[2]), min(float(h), r[3]))


def _inside(box: tuple[int, int, int, int], w: int, h: int) -> bool:
    """A box with some area inside the image (a stale box from another version of the file
    is dropped rather than stretching every crop)."""
    x, y, bw, bh = box
    return bw > 0 and bh > 0 and x < w and y < h and x + bw > 0 and y + bh > 0


def output_scale(crop: Region, out_w: float, out_h: float) -> float:
    """Decoded pixels per full-resolution pixel that show `crop` at `out_w` x `out_h` without
    upscaling (capped at 1: full resolution)."""
    cw, ch = max(1.0, crop[2] - crop[0]), max(1.0, crop[3] - crop[1])
    return min(1.0, max(out_w / cw, out_h / ch))


def scaled(r: Region, s: float) -> Region:
    return (r[0] * s, r[1] * s, r[2] * s, r[3] * s)


def even(n: float) -> int:
    return max(2, 2 * math.ceil(n / 2))


def resample(
    rgb: RGBImage, region: Region, w: int, h: int, out: RGBImage | None = None
) -> RGBImage:
    """`region` of `rgb` (decoded pixels, sub-pixel corners; colour or one plane) scaled to
    exactly w x h (into `out`, if given: an array of that shape and kind)."""
    import cv2

    x0, y0, x1, y1 = region
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    if sx < 0.75 or sy < 0.75:
        # Shrink by whole-pixel area averaging first (no aliasing), then place exactly; from
        # 0.75 up, bilinear sampling loses nothing visible and costs a fraction.
        ix0, iy0 = int(x0), int(y0)
        ix1, iy1 = min(rgb.shape[1], int(np.ceil(x1))), min(rgb.shape[0], int(np.ceil(y1)))
        part = rgb[iy0:iy1, ix0:ix1]
        f = max(sx, sy)
        small = cv2.resize(
            part,
            (max(1, round(part.shape[1] * f)), max(1, round(part.shape[0] * f))),
            interpolation=cv2.INTER_AREA,
        )
        fx, fy = small.shape[1] / part.shape[1], small.shape[0] / part.shape[0]
        rgb = np.asarray(small, dtype=np.uint8)
        region = ((x0 - ix0) * fx, (y0 - iy0) * fy, (x1 - ix0) * fx, (y1 - iy0) * fy)
        x0, y0, x1, y1 = region
        sx, sy = w / (x1 - x0), h / (y1 - y0)
    m = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]], dtype=np.float64)
    warped = cv2.warpAffine(
        rgb, m, (w, h), dst=out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(warped, dtype=np.uint8)
