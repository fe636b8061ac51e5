"""Recap renders: a collage JPEG and a slideshow MP4 made from a recap's tiles.

Both keep every face whole in view (a tile's crop holds every head on it: see
`regard.pipeline.recap_tiles`), blur the faces of people who did not agree with the
anonymiser's blur before anything is cropped or scaled, skip a tile that cannot be read (the
report says why) and fail plainly when none is left, and write their file whole or not at all
(a temporary file beside it, renamed into place when complete; removed on an error or a cancel).

- `make_collage`: the tiles in rows (`regard.pipeline.recap_layout`), a JPEG with no metadata.
- `make_slideshow`: one tile after another, each drifting gently toward its faces (pan and
  zoom), cross-faded, H.264 through PyAV; a video moment plays as it was filmed; silent unless
  given a sound file, which is cut to the video's length and faded out
  (`regard.pipeline.recap_slideshow`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regard.atomic import write_atomically
from regard.errors import JobCancelledError, OutputError
from regard.pipeline.anonymise.clean_encode import encode_clean
from regard.pipeline.clip import VideoLimits
from regard.pipeline.decode import DecodeLimits
from regard.pipeline.recap_layout import Cell, Shape, layout
from regard.pipeline.recap_slideshow import ShotPlacement, Slideshow
from regard.pipeline.recap_tiles import (
    Region,
    RenderReport,
    SkippedTile,
    Tile,
    TileFace,
    TilePixels,
    aspect_range,
    fit_crop,
    open_tile,
    output_scale,
    resample,
    scaled,
)

__all__ = [
    "Placement",
    "RenderReport",
    "ShotPlacement",
    "SkippedTile",
    "SlideshowReport",
    "Tile",
    "TileFace",
    "make_collage",
    "make_slideshow",
]

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

#: Collage background and the gap around its tiles (pixels at 2048 across; scaled with width).
BACKGROUND = (22, 22, 24)
GAP_SHARE = 8 / 2048
#: A tile's shape may run this far past what its faces allow before rounding could cut one.
_SAFETY = 1.02


@dataclass(frozen=True)
class Placement:
    """Where a tile went: `cell` (x, y, w, h) in the collage, showing `crop` (x0, y0, x1, y1)
    of the source's upright full-resolution pixels."""

    tile: Tile
    cell: Cell
    crop: Region


@dataclass(frozen=True)
class CollageReport(RenderReport):
    placements: tuple[Placement, ...] = ()


@dataclass(frozen=True)
class SlideshowReport(RenderReport):
    #: The photos' shots: when each was on screen and what it showed (`ShotPlacement.window`).
    shots: tuple[ShotPlacement, ...] = ()


def make_collage(
    tiles: Sequence[Tile],
    out: Path,
    *,
    width: int = 2048,
    height: int = 1536,
    progress: Progress | None = None,
    quality: int = 90,
    limits: DecodeLimits | None = None,
    video_limits: VideoLimits | None = None,
) -> CollageReport:
    """Write `out` (.jpg), the tiles laid in rows, no face cut by a tile's edge, the faces not
    kept blurred. `progress(done, total)` counts tiles. Tiles that cannot be read are left out
    (the report names them and why); none left raises `OutputError`."""
    out = Path(out)
    _check_output(out, (".jpg", ".jpeg"), "Name the collage .jpg.")
    if width < 64 or height < 64:
        raise OutputError(out, f"{width}x{height} is too small for a collage", "Use 64 or more.")
    opened, skipped = _open_all(tiles, limits, video_limits, progress=None)
    if not opened:
        raise _nothing_left(out, skipped)
    gap = max(2, round(width * GAP_SHARE))
    plan = _plan(opened, width, height, gap)
    while plan is None and len(opened) > 1:
        # No arrangement keeps every face whole (faces spread across very wide photos): the
        # last (least good) tile makes room.
        dropped = opened.pop()
        skipped.append(
            SkippedTile(dropped.tile.path, "left out: its faces would not fit beside the others")
        )
        plan = _plan(opened, width, height, gap)
    if plan is None:
        raise _nothing_left(out, skipped)
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[...] = BACKGROUND
    total = len(plan)
    done = 0

    def paste(item: tuple[TilePixels, Cell, Region]) -> int:
        pixels, (x, y, w, h), crop = item
        rgb, s = pixels.read(output_scale(crop, w, h))
        canvas[y : y + h, x : x + w] = resample(rgb, scaled(crop, s), w, h)
        return pixels.hidden

    blurred = 0
    # Two threads: decoding (Pillow, libjpeg) and resizing (OpenCV) let go of the interpreter.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="regard-collage") as pool:
        for hidden in pool.map(paste, plan):
            blurred += hidden
            done += 1
            if progress is not None:
                progress(done, total)
    write_atomically(out, encode_clean(canvas, "jpeg", quality=quality))
    return CollageReport(
        output=out,
        tiles=total,
        skipped=tuple(skipped),
        faces_blurred=blurred,
        seconds=0.0,
        placements=tuple(Placement(p.tile, cell, crop) for p, cell, crop in plan),
    )


def _plan(
    opened: list[TilePixels], width: int, height: int, gap: int
) -> list[tuple[TilePixels, Cell, Region]] | None:
    shapes = []
    for p in opened:
        lo, hi = aspect_range(p.size, p.must_show())
        lo, hi = lo * _SAFETY, hi / _SAFETY
        if lo > hi:  # the heads fill the photo: only its own shape holds them
            lo = hi = p.size[0] / p.size[1]
        own = p.size[0] / p.size[1]
        # Photos keep about their shape; a panorama or a tall crop is made calmer.
        pref = min(max(own, 0.6, lo), 2.0) if hi >= 0.6 else hi
        shapes.append(Shape(lo, hi, min(max(pref, lo), hi)))
    cells = layout(shapes, width, height, gap)
    if cells is None:
        return None
    plan = []
    for p, cell in zip(opened, cells, strict=True):
        aspect = cell[2] / max(1, cell[3])
        crop = fit_crop(p.size, aspect, p.must_show(), p.focus()) or fit_crop(
            p.size, aspect, p.must_show_faces(), p.focus()
        )
        if crop is None:
            return None
        plan.append((p, cell, crop))
    return plan


def make_slideshow(
    tiles: Sequence[Tile],
    out: Path,
    *,
    width: int = 1920,
    height: int = 1080,
    seconds_per_tile: float = 3.0,
    fps: int = 30,
    audio: Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    limits: DecodeLimits | None = None,
    video_limits: VideoLimits | None = None,
    crf: int = 21,
    # superfast: a 30-s 1080p slideshow is mostly slow pans, which it codes well at a third
    # less CPU than veryfast (measured: 11.1 against 15.4 CPU seconds for 6 s of 1080p).
    preset: str = "superfast",
) -> SlideshowReport:
    """Write `out` (.mp4), the tiles one after another (`seconds_per_tile` each; a video
    moment for as long as it lasts, up to three times that), panning and zooming gently
    toward the faces, cross-faded, H.264. Silent unless `audio` is given: its sound is cut to
    the video's length and faded out. `progress(done, total)` counts frames; `cancel()`
    returning True stops the render (`JobCancelledError`), leaving no file."""
    out = Path(out)
    _check_output(out, (".mp4", ".m4v", ".mov"), "Name the slideshow .mp4.")
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise OutputError(
            out,
            f"{width}x{height} cannot be encoded",
            "Use an even width and height of 16 or more.",
        )
    if not 1 <= fps <= 120 or not 0.5 <= seconds_per_tile <= 60:
        raise OutputError(
            out,
            f"{fps} frames a second, {seconds_per_tile} s a tile is out of range",
            "Use 1-120 frames a second and 0.5-60 s a tile.",
        )
    if audio is not None and not Path(audio).is_file():
        raise OutputError(out, f"the sound file {audio} does not exist", "Check its path.")
    opened, skipped = _open_all(tiles, limits, video_limits, progress=None)
    if not opened:
        raise _nothing_left(out, skipped)
    # Made with the umask's mode, as the collage is (mkstemp would make it its owner's only).
    tmp = out.with_name(f".{out.stem}.{secrets.token_hex(6)}{out.suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        show = Slideshow(
            opened,
            width=width,
            height=height,
            seconds_per_tile=seconds_per_tile,
            fps=fps,
            video_limits=video_limits or VideoLimits(),
        )

        def step(done: int, total: int) -> None:
            if cancel is not None and cancel():
                raise JobCancelledError(out.name)
            if progress is not None:
                progress(done, total)

        show.write(tmp, audio=Path(audio) if audio else None, step=step, crf=crf, preset=preset)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return SlideshowReport(
        output=out,
        tiles=len(opened),
        skipped=tuple(skipped) + show.skipped,
        faces_blurred=sum(p.hidden for p in opened),
        seconds=show.duration,
        shots=show.placements,
    )


def _open_all(
    tiles: Sequence[Tile],
    limits: DecodeLimits | None,
    video_limits: VideoLimits | None,
    progress: Progress | None,
) -> tuple[list[TilePixels], list[SkippedTile]]:
    opened: list[TilePixels] = []
    skipped: list[SkippedTile] = []

    def one(tile: Tile) -> TilePixels | SkippedTile:
        return open_tile(tile, limits, video_limits)

    # Two at a time: reading a header and decoding a small copy let go of the interpreter.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="regard-open") as pool:
        for i, got in enumerate(pool.map(one, tiles)):
            if isinstance(got, SkippedTile):
                skipped.append(got)
            else:
                opened.append(got)
            if progress is not None:
                progress(i + 1, len(tiles))
    return opened, skipped


def _check_output(out: Path, suffixes: tuple[str, ...], advice: str) -> None:
    if out.suffix.lower() not in suffixes:
        raise OutputError(out, f"cannot write this with the suffix {out.suffix!r}", advice)
    if not out.parent.is_dir():
        raise OutputError(out, "its folder does not exist", "Create the folder first.")
    if not os.access(out.parent, os.W_OK):
        raise OutputError(out, "its folder is not writable", "Choose a folder you can write to.")


def _nothing_left(out: Path, skipped: Sequence[SkippedTile]) -> OutputError:
    if not skipped:
        return OutputError(out, "the recap has no photos", "Choose a recap with photos in it.")
    reasons = "; ".join(s.reason for s in skipped[:3]) + ("; …" if len(skipped) > 3 else "")
    return OutputError(
        out,
        f"none of its {len(skipped)} photos can be used ({reasons})",
        "Check that the photos are still where the library found them.",
    )
