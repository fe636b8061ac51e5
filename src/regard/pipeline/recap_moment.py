"""A video moment of a recap, anonymised as an export is before any render shows it.

A video's faces move, and the library knows them only where indexing looked (about once a
second): a blur drawn from those looks lags a face that turns or walks, and a face indexing
never followed is not known at all. So a moment is first written as a short clip of its own
through the anonymiser (`regard.pipeline.anonymise.video.anonymise_frames`): every face found
in every frame blurred, followed between frames, searched again around what was blurred; the
faces that may be shown (`TileFace.keep`) left as they are where their paths put them. The
renders then show that clip, in which nothing is left to blur.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av

from regard.domain.face import Box
from regard.errors import CorruptVideoError
from regard.inference.protocols import FaceDetector
from regard.pipeline.anonymise.blur import BlurSettings
from regard.pipeline.anonymise.video import FramesIn, VideoSettings, anonymise_frames
from regard.pipeline.clip import Frame, VideoLimits, frames_between, open_clip
from regard.pipeline.recap_tiles import VIDEO_BLUR, SkippedTile, Tile, TileFace, reworked

#: The clips' timestamps: 90 kHz, as MPEG's.
_TIME_BASE = Fraction(1, 90_000)


def anonymised_moments(
    tiles: Sequence[Tile],
    detector: FaceDetector,
    folder: Path,
    limits: VideoLimits | None = None,
    blur: BlurSettings = VIDEO_BLUR,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[list[Tile], list[SkippedTile]]:
    """`tiles` with each video moment replaced by its anonymised clip (written in `folder`),
    and the moments that could not be (a damaged video: left out, with the reason).
    `progress(done, total)` counts moments; `cancel()` is asked before each."""
    return reworked(
        tiles,
        lambda t: t.is_video,
        lambda n, t: anonymised_moment(t, detector, folder / f"moment-{n}.mp4", limits, blur),
        folder.name,
        progress,
        cancel,
    )


def anonymised_moment(
    tile: Tile,
    detector: FaceDetector,
    output: Path,
    limits: VideoLimits | None = None,
    blur: BlurSettings = VIDEO_BLUR,
) -> Tile:
    """The moment written to `output` (an MP4 from the frame shown at its start to just after
    its end), every face blurred but those kept; the tile showing it, its faces kept as they
    are there (their pixels are already what may be shown)."""
    assert tile.video_start_s is not None
    assert tile.video_end_s is not None
    start, end = tile.video_start_s, tile.video_end_s
    kept = [f for f in tile.faces if f.keep]
    first: list[float] = []  # the time of the clip's first frame on the video's timeline

    def keep_at(t: float) -> list[Box]:
        # `t`: seconds from the clip's first frame.
        at = (f.at(t + first[0]) for f in kept)
        return [Box(*g.box) for g in at if g is not None]

    with open_clip(Path(tile.path), limits) as clip:
        written = anonymise_frames(
            _stamped(_shown(frames_between(clip, start, end), start), first),
            FramesIn(average_rate=clip.facts.frame_rate, time_base=_TIME_BASE),
            output,
            detector,
            settings=VideoSettings(blur=blur),
            keep_at=keep_at if kept else None,
        )
    if not written:
        raise CorruptVideoError(
            tile.path,
            f"no picture between {start:.1f} and {end:.1f} s can be decoded",
            "Restore it from a backup.",
        )
    return Tile(
        str(output),
        tuple(_shifted(f, first[0]) for f in tile.faces),
        video_start_s=start - first[0],
        video_end_s=end - first[0],
    )


def _shown(frames: Iterator[Frame], start: float) -> Iterator[Frame]:
    """From the frame on screen at `start` on (those before it are decoded only to reach it)."""
    before: Frame | None = None
    for f in frames:
        if f.time <= start + 1e-3:
            before = f
            continue
        if before is not None:
            yield before
            before = None
        yield f
    if before is not None:  # the moment starts at the last frame
        yield before


def _stamped(frames: Iterator[Frame], first: list[float]) -> Iterator[av.VideoFrame]:
    """PyAV frames stamped from the first one's time (noted in `first`)."""
    for f in frames:
        if not first:
            first.append(f.time)
        frame = av.VideoFrame.from_ndarray(f.yuv.reshape(-1, f.width), format="yuv420p")
        frame.pts = round((f.time - first[0]) / _TIME_BASE)
        frame.time_base = _TIME_BASE
        yield frame


def _shifted(face: TileFace, by: float) -> TileFace:
    """The face on the clip's timeline (`by` seconds earlier), kept: its pixels in the clip are
    what may be shown of it."""
    return replace(
        face,
        keep=True,
        path=tuple((t - by, b) for t, b in face.path),
        span=None if face.span is None else (face.span[0] - by, face.span[1] - by),
    )
