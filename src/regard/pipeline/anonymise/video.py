"""Video: write an anonymised copy of a video file, every face blurred in every frame.

Each frame is decoded (PyAV), its faces detected (a `FaceDetector`, on a copy at most
`detect_long_side` pixels long: the whole frame up to 1080p, so the smallest faces are found),
followed by a `FaceTracker` so a face missed for a few frames stays covered, blurred at full
resolution, searched again around what was blurred (`regard.pipeline.anonymise.redact`), and encoded
again as H.264 at the source's frame rate, size and timestamps. The output is written to a
temporary file beside it and renamed into place only when complete; the source is never
written.

Frames are worked on as YUV 4:2:0, the form they are decoded in and encoded from: the blur is
applied to each plane (every blur method is linear, so that equals blurring the RGB pixels),
which spares two full-frame colour conversions per frame, about a third of the run time at
1080p. Only what the detector looks at is converted to RGB.

Nothing but the pictures (and, when asked, the audio track, copied as it is) is carried into
the copy: no container or stream metadata (creation time, location, device), no subtitle or
data tracks (some cameras record GPS in one). Phone videos stored on their side are turned
upright (their display matrix), and written upright with no rotation tag.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from regard.domain.face import Box, Detection, Landmarks, Rect
from regard.errors import CorruptVideoError, OutputError, UnreadableFileError, UnsupportedVideoError
from regard.inference.protocols import FaceDetector
from regard.pipeline import yuv as yuv420
from regard.pipeline.anonymise.blur import (
    BlurSettings,
    CoverRules,
    Mask,
    blur_rect_in_place,
    clip_rect,
    mosaic_cells,
)
from regard.pipeline.anonymise.muxer import BackgroundMuxer
from regard.pipeline.anonymise.redact import (
    Canvas,
    Cover,
    KeepCanvas,
    RedactSettings,
    Target,
    first_look,
    keep_zone,
    protected,
    redact,
)
from regard.pipeline.anonymise.tracking import FaceTracker, TrackerSettings

# Imported where they are used: a `regard` command starts without them (test_start_up.py).
if TYPE_CHECKING:
    import av
    import av.container
    import av.error
    import av.stream

#: Heads in video are grown more than in photos (where the rules were fitted to heads boxed by
#: hand): a small face looking down, or moving, puts its chin under the detector's box (or the
#: tracker's box lags it), and a head seen a little from the side shows an ear beyond the
#: box with no sign of the turn in the landmarks. A detector then finds a face in the blurred
#: oval and what sticks out of it: on the two videos of ../shared/data, CenterFace found 4
#: (at 0.5-0.6) with the photo rules, 1 grown this much (at 0.50, on a boy's hair beside a
#: blur that covers his whole face).
VIDEO_COVER = CoverRules(grow_side=0.25, grow_down=0.2)

#: Containers the copy can be written as, by file suffix.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv"})


@dataclass(frozen=True, slots=True)
class VideoSettings:
    detect_long_side: int = 1920  # the detector sees each frame at most this long (1080p: all)
    blur: BlurSettings = field(default_factory=lambda: BlurSettings(cover=VIDEO_COVER))
    redact: RedactSettings = field(default_factory=RedactSettings)
    coast_seconds: float = 0.25  # a face stays covered this long after it was last detected
    backfill_seconds: float = 0.15  # ... and this long before it was first detected
    crf: int = 20  # x264 constant rate factor: 18 looks lossless, 23 is x264's default
    preset: str = "veryfast"  # x264 speed preset


@dataclass(frozen=True, slots=True)
class VideoProgress:
    frames_done: int
    frames_total: int | None  # from the container's header; None if it does not say
    seconds: float  # since the start


@dataclass(frozen=True, slots=True)
class VideoReport:
    source: Path
    output: Path
    frames: int
    width: int
    height: int
    frame_rate: Fraction
    boxes_blurred: int  # heads blurred, summed over frames
    found_on_recheck: int  # of those, found only when the blurred frame was searched again
    flattened: int  # heads a detector still saw a face on once blurred, filled with one colour
    tracks: int  # faces followed (a face lost for longer than the coast counts again)
    audio_kept: bool
    seconds: float


Progress = Callable[[VideoProgress], None]
#: The faces to leave as they are at a moment (seconds on the player's timeline): their boxes,
#: upright pixels. A detection that is one of them is neither blurred nor searched around.
KeepAt = Callable[[float], Sequence[Box]]


def anonymise_video(
    source: Path,
    output: Path,
    detector: FaceDetector,
    *,
    settings: VideoSettings | None = None,
    keep_audio: bool = False,
    progress: Progress | None = None,
    keep_at: KeepAt | None = None,
) -> VideoReport:
    """Write `output`, a copy of the video `source` with every face blurred (but those
    `keep_at` names at each moment: a library export keeps people who agreed).

    Build `detector` with a low score threshold (`ANONYMISE_SCORE_THRESHOLD`). The audio track
    is dropped unless `keep_audio` (a voice identifies a person too). `progress` is called
    after each frame written (and may raise to stop the run: nothing is written then)."""
    import av

    s = settings or VideoSettings()
    source, output = Path(source), Path(output)
    _check_paths(source, output)
    started = time.perf_counter()
    with _open_input(source) as inp:
        if not inp.streams.video:
            raise UnsupportedVideoError(
                source, "the file has no video track", "Choose a video file with pictures in it."
            )
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if keep_audio and inp.streams.audio else None
        fd, tmp_name = tempfile.mkstemp(
            dir=output.parent, prefix=f".{output.stem}.", suffix=output.suffix
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            job = _Job(source, vin, ain, detector, s, progress, started)
            job.keep_at = keep_at
            job.start = inp.start_time / av.time_base if inp.start_time is not None else 0.0
            with av.open(tmp_name, "w") as out:
                job.run(inp, out)
            os.replace(tmp, output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return VideoReport(
        source=source,
        output=output,
        frames=job.frames_written,
        width=job.width,
        height=job.height,
        frame_rate=job.rate,
        boxes_blurred=job.boxes_blurred,
        found_on_recheck=job.rechecked,
        flattened=job.flattened,
        tracks=job.tracker.tracks_started if job.tracker else 0,
        audio_kept=ain is not None,
        seconds=time.perf_counter() - started,
    )


def _check_paths(source: Path, output: Path) -> None:
    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise OutputError(
            output,
            f"cannot write a video with the suffix {output.suffix!r}",
            f"Name it with one of {', '.join(sorted(VIDEO_SUFFIXES))}.",
        )
    if not output.parent.is_dir():
        raise OutputError(
            output, "its folder does not exist", "Create the folder or choose another one."
        )
    if not os.access(output.parent, os.W_OK):
        raise OutputError(output, "its folder is not writable", "Choose a folder you can write to.")
    if not source.exists():
        raise UnreadableFileError(source, "the file does not exist", "Check the path.")
    if not source.is_file():
        raise UnreadableFileError(source, "not a regular file", "Point Regard at a video file.")
    if not os.access(source, os.R_OK):
        raise UnreadableFileError(
            source, "permission denied", "Give your user read access to it, or leave it out."
        )
    if output.exists() and output.resolve() == source.resolve():
        raise OutputError(
            output,
            "is the source video itself",
            "Regard never changes the original; write the copy under another name.",
        )


@contextlib.contextmanager
def _open_input(source: Path) -> Iterator[av.container.InputContainer]:
    import av

    try:
        inp = av.open(str(source), "r")
    except av.error.InvalidDataError as exc:
        raise _unreadable_video(source) from exc
    except av.error.PermissionError as exc:
        raise UnreadableFileError(
            source, "permission denied", "Give your user read access to it, or leave it out."
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise UnreadableFileError(
            source, f"cannot be read ({exc})", "Check the disk and try again."
        ) from exc
    try:
        if inp.format.name.endswith("_pipe") or inp.format.name == "image2":
            raise UnsupportedVideoError(
                source,
                "this is a still image, not a video",
                "Anonymise it as a photo instead.",
            )
        yield inp
    finally:
        inp.close()


def _unreadable_video(source: Path) -> Exception:
    with source.open("rb") as fh:
        head = fh.read(12)
    if not head:
        return CorruptVideoError(source, "the file is empty", "Restore it from a backup.")
    if head[4:8] == b"ftyp":
        return CorruptVideoError(
            source,
            "the MP4/MOV file is incomplete or damaged (its index cannot be read; this happens "
            "when a recording or a copy was cut off)",
            "Restore the file from a backup or copy it from the camera again.",
        )
    return UnsupportedVideoError(
        source,
        "not a video format Regard can read, or a damaged file",
        "Regard reads the videos FFmpeg reads (MP4, MOV, MKV, WebM, AVI...); convert it to MP4.",
    )


@dataclass(slots=True)
class _Pending:
    """A decoded frame waiting for the tracker's backfill before it is blurred and written."""

    index: int
    pts: int
    time_base: Fraction
    canvas: Canvas
    cover: Cover


class _Job:
    """One run: decode, detect, track, blur, recheck, encode, mux."""

    def __init__(
        self,
        source: Path,
        vin: av.video.stream.VideoStream,
        ain: av.audio.stream.AudioStream | None,
        detector: FaceDetector,
        settings: VideoSettings,
        progress: Progress | None,
        started: float,
    ) -> None:
        self.source, self.vin, self.ain = source, vin, ain
        self.detector, self.s, self.progress, self.started = detector, settings, progress, started
        self.rate = Fraction(vin.average_rate or vin.guessed_rate or 25)
        self.frames_total = vin.frames or None
        self.width = self.height = 0
        self.scale = 1.0
        self.frames_read = self.frames_written = self.boxes_blurred = self.rechecked = 0
        self.flattened = 0
        self.tracker: FaceTracker | None = None
        self.pending: deque[_Pending] = deque()
        self.vout: av.video.stream.VideoStream | None = None
        self.aout: av.audio.stream.AudioStream | None = None
        self.audio_waiting: list[av.Packet[av.stream.Stream]] = []
        self.keep_at: KeepAt | None = None
        self.start = 0.0  # the container's start, seconds: the player's timeline starts there

    def run(self, inp: av.container.InputContainer, out: av.container.OutputContainer) -> None:
        self.out = out
        self.muxer = BackgroundMuxer(out)
        try:
            self._run(inp)
        except BaseException:
            self.muxer.abandon()
            raise
        self.muxer.close()
        self._check_complete()

    def _run(self, inp: av.container.InputContainer) -> None:
        import av

        streams = [self.vin] if self.ain is None else [self.vin, self.ain]
        try:
            for packet in inp.demux(streams):
                if packet.stream is self.ain:
                    self._audio(packet)
                    continue
                for frame in packet.decode():
                    assert isinstance(frame, av.VideoFrame)
                    self._frame(frame)
        except av.error.FFmpegError as exc:
            raise CorruptVideoError(
                self.source,
                f"the video data is damaged after frame {self.frames_read} ({exc})",
                "Restore the file from a backup, or cut the damaged part off first.",
            ) from exc
        if self.vout is None:
            raise CorruptVideoError(
                self.source, "no frame of the video can be decoded", "Restore it from a backup."
            )
        while self.pending:
            self._write(self.pending.popleft())
        self.muxer.frame(self.vout, None)

    def _check_complete(self) -> None:
        # A file cut off mid-way decodes without an error: its header still counts the frames.
        declared = self.frames_total
        if declared and self.frames_read < declared - max(2, declared // 50):
            raise CorruptVideoError(
                self.source,
                f"the video ends after {self.frames_read} of the {declared} frames its header "
                "announces (the file is truncated)",
                "Restore the file from a backup or copy it from the camera again.",
            )

    def _start(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.scale = min(1.0, self.s.detect_long_side / max(width, height))
        vout = self.out.add_stream("libx264", rate=self.rate)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        time_base = self.vin.time_base or Fraction(1, 90000)
        vout.time_base = time_base
        vout.codec_context.time_base = time_base
        vout.options = {"crf": str(self.s.crf), "preset": self.s.preset}
        self.vout = vout
        if self.ain is not None:
            self.aout = self.out.add_stream_from_template(self.ain)
        fps = float(self.rate)
        self.tracker = FaceTracker(
            TrackerSettings(
                coast_frames=math.ceil(self.s.coast_seconds * fps),
                backfill_frames=math.ceil(self.s.backfill_seconds * fps),
            )
        )
        for packet in self.audio_waiting:
            self._audio(packet)
        self.audio_waiting.clear()

    def _audio(self, packet: av.Packet[av.stream.Stream]) -> None:
        if self.aout is None:
            self.audio_waiting.append(packet)  # the output is set up at the first frame
            return
        if packet.dts is None:  # a demuxer's flush packet carries nothing
            return
        packet.stream = self.aout
        self.muxer.packet(packet)

    def _frame(self, frame: av.VideoFrame) -> None:
        if frame.width % 2 or frame.height % 2:
            raise UnsupportedVideoError(
                self.source,
                f"its frames are {frame.width}x{frame.height}; Regard writes H.264 4:2:0, "
                "which needs an even width and height",
                "Crop it by one pixel first (ffmpeg -vf crop=2*floor(iw/2):2*floor(ih/2)).",
            )
        yuv = np.asarray(frame.to_ndarray(format="yuv420p"), dtype=np.uint8)
        width, height = frame.width, frame.height
        if frame.rotation:
            yuv, width, height = self._upright(yuv, width, height, frame.rotation)
        if self.vout is None:
            self._start(width, height)
        assert self.tracker is not None
        pts = frame.pts if frame.pts is not None else self._pts_for(self.frames_read)
        tb = frame.time_base or self.vin.time_base or Fraction(1, 90000)
        canvas: Canvas = FrameCanvas(yuv, width, height, self.detector, self.s.blur, self.scale)
        keep = self.keep_at(float(pts * tb) - self.start) if self.keep_at else ()
        if keep:
            canvas = KeepCanvas(canvas, keep)
        look = first_look(canvas, self.s.redact)
        step = self.tracker.update([f.box for f in look.faces], [d.box for d in look.faint])
        # A face detected in this frame keeps its landmarks (they say how the head is turned);
        # a coasting track's box has none.
        seen = {f.box: f.landmarks for f in look.faces} | {d.box: d.landmarks for d in look.faint}
        cover = Cover([Target(b, seen.get(b)) for b in step.boxes])
        self.pending.append(_Pending(self.frames_read, pts, Fraction(tb), canvas, cover))
        self.frames_read += 1
        by_index = {p.index: p for p in self.pending}
        for index, box in step.backfill:
            if index in by_index:
                by_index[index].cover.faces.append(Target(box))
        while len(self.pending) > self.tracker.settings.backfill_frames:
            self._write(self.pending.popleft())

    def _upright(
        self, yuv: yuv420.I420, w: int, h: int, rotation: int
    ) -> tuple[yuv420.I420, int, int]:
        """The frame turned as its display matrix says (phones record portrait video on its
        side), so the detector sees faces upright; the copy is written upright, untagged."""
        if rotation % 90:
            raise UnsupportedVideoError(
                self.source,
                f"the video is to be shown turned by {rotation} degrees, not a quarter turn",
                "Rotate it upright first (ffmpeg applies the turn when it re-encodes).",
            )
        # The rotation is counter-clockwise, as np.rot90 turns.
        return yuv420.turned(yuv, w, h, (rotation // 90) % 4)

    def _pts_for(self, index: int) -> int:
        tb = self.vin.time_base or Fraction(1, 90000)
        return round(index / self.rate / tb)

    def _write(self, p: _Pending) -> None:
        import av

        assert self.vout is not None
        pixels = p.canvas.inner if isinstance(p.canvas, KeepCanvas) else p.canvas
        assert isinstance(pixels, FrameCanvas)
        if isinstance(p.canvas, KeepCanvas):  # as in a photo: no neighbour's blur on their head
            kept = [Target(box) for box in p.canvas.keep]
            blurred = [t.box for t in p.cover.faces]
            w, h, rules = pixels.width, pixels.height, self.s.blur.cover
            pixels.protect = keep_zone(w, h, kept, blurred, rules)
        done = redact(p.canvas, p.cover, self.s.redact, self.s.blur.cover)
        self.rechecked += done.new
        self.flattened += done.flattened
        self.boxes_blurred += len(done.heads)
        frame = av.VideoFrame.from_ndarray(pixels.yuv, format="yuv420p")
        frame.pts, frame.time_base = p.pts, p.time_base
        self.muxer.frame(self.vout, frame)
        self.frames_written += 1
        if self.progress is not None:
            self.progress(
                VideoProgress(
                    self.frames_written, self.frames_total, time.perf_counter() - self.started
                )
            )


class FrameCanvas:
    """A YUV 4:2:0 frame as a redaction `Canvas`: detection on RGB copies of regions, blur on
    the planes in place."""

    def __init__(
        self,
        yuv: yuv420.I420,
        width: int,
        height: int,
        detector: FaceDetector,
        blur: BlurSettings,
        scale: float,
    ) -> None:
        self.yuv, self.width, self.height = yuv, width, height
        self._detector, self._blur, self._scale = detector, blur, scale
        self.protect: Mask | None = None  # the heads of the faces kept visible, never blurred

    def detect(self, region: Rect, scale: float | None = None) -> list[Detection]:
        f = self._scale if scale is None else scale
        rgb = yuv420.region_rgb(self.yuv, self.width, self.height, region, f)
        x0, y0, x1, y1 = region
        sx, sy = (x1 - x0) / rgb.shape[1], (y1 - y0) / rgb.shape[0]
        return [
            Detection(
                Box(x0 + d.box.x * sx, y0 + d.box.y * sy, d.box.w * sx, d.box.h * sy),
                Landmarks(tuple((x0 + x * sx, y0 + y * sy) for x, y in d.landmarks.points)),
                d.score,
            )
            for d in self._detector.detect(rgb)
        ]

    def blur(
        self, rect: Rect, flat: bool = False, core: Rect | None = None, whole: bool = False
    ) -> None:
        y, u, v = yuv420.planes(self.yuv, self.width, self.height)
        how = replace(self._blur, method="solid") if flat else self._blur
        if whole:
            how = replace(how, shape="box")
        cells = mosaic_cells(rect, how)  # the same grid on every plane
        chroma, half_core = yuv420.half(rect), yuv420.half(core) if core else None
        luma_at = clip_rect(rect, self.width, self.height)
        chroma_at = clip_rect(chroma, u.shape[1], u.shape[0])
        if luma_at is None or chroma_at is None:
            return
        half_protect = None if self.protect is None else self.protect[::2, ::2]
        with protected(y, luma_at, self.protect):
            blur_rect_in_place(y, rect, how, cells, core)
        with protected(u, chroma_at, half_protect), protected(v, chroma_at, half_protect):
            blur_rect_in_place(u, chroma, how, cells, half_core)
            blur_rect_in_place(v, chroma, how, cells, half_core)


@dataclass(frozen=True, slots=True)
class FramesIn:
    """Frames that come from elsewhere than a file (a camera's clip, decoded from packets kept
    in memory): their rate and time base, standing in for the input stream."""

    average_rate: Fraction
    time_base: Fraction
    frames: int = 0
    guessed_rate: Fraction | None = None


def anonymise_frames(
    frames: Iterator[av.VideoFrame],
    stream: FramesIn,
    output: Path,
    detector: FaceDetector,
    *,
    settings: VideoSettings | None = None,
    keep_at: KeepAt | None = None,
) -> int:
    """Write `output` (an MP4) from `frames` (each with its pts in `stream.time_base`), every
    face blurred but those `keep_at` names, as `anonymise_video` does; written beside it and
    renamed into place when complete (nothing half-written is ever there). How many frames
    were written; none: nothing is written."""
    import av

    s = settings or VideoSettings()
    fd, tmp_name = tempfile.mkstemp(
        dir=output.parent, prefix=f".{output.stem}.", suffix=output.suffix
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        job = _Job(output, stream, None, detector, s, None, time.perf_counter())  # type: ignore[arg-type]
        job.keep_at = keep_at
        with av.open(tmp_name, "w", options={"movflags": "+faststart"}) as out:
            job.out = out
            job.muxer = BackgroundMuxer(out)
            try:
                for frame in frames:
                    job._frame(frame)
                if job.vout is not None:
                    while job.pending:
                        job._write(job.pending.popleft())
                    job.muxer.frame(job.vout, None)
            except BaseException:
                job.muxer.abandon()
                raise
            job.muxer.close()
        if job.frames_written == 0:
            tmp.unlink(missing_ok=True)
            return 0
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return job.frames_written
