"""Clip: an opened video file, read packet by packet and decoded only where asked.

The footage stage (`regard.pipeline.footage`) decides which frames are worth decoding; this
module does the PyAV work: open and check the file, state its facts, hand out its compressed
packets in order, decode a key frame on its own or a run of packets from a key frame, turn each
frame upright (phones store portrait video on its side, with a display matrix saying how to
turn it), and hold the limits.

Two decoders share the stream: one decodes key frames alone (each is a complete picture), the
other runs through the packets of one group of pictures (GOP) when frames between key frames
are wanted. Keeping them apart lets a run continue after a key frame was looked at.

Times are seconds on the container's timeline (as a player's seek bar shows them): frame
timestamps, or, where a file has none, the previous frame's time plus one frame.
"""

from __future__ import annotations

import contextlib
import heapq
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from regard.errors import (
    CorruptVideoError,
    ImageTooLargeError,
    UnreadableFileError,
    UnsupportedVideoError,
)
from regard.pipeline import yuv as yuv420

# Imported where they are used: a `regard` command starts without them (test_start_up.py).
if TYPE_CHECKING:
    import av
    import av.container
    import av.error
    import av.video.codeccontext
    import av.video.stream

VideoPacket: TypeAlias = "av.Packet[av.video.stream.VideoStream]"


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """What one video may cost, as `DecodeLimits` bounds a photo. A file over a limit is
    refused with an `ImageTooLargeError` naming the limit; the run goes on."""

    max_frame_pixels: int = 8192 * 4352  # 8K; a frame bigger than this is refused
    max_duration: float = 6 * 3600.0  # seconds, declared or met while reading
    max_decoded_bytes: int = 1 << 40  # raw pixels decoded for one file (1 TiB: about 3 h
    # of 1080p decoded in full; sampling decodes a fraction of that)


@dataclass(frozen=True, slots=True)
class ClipFacts:
    container: str
    codec: str
    coded_width: int  # as stored, before turning upright
    coded_height: int
    frame_rate: Fraction  # the average rate the container states (or guesses)
    declared_duration: float | None  # what the header says, if anything
    start: float  # container timeline time of the first packet


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame, upright, as YUV 4:2:0 (I420) in full resolution."""

    time: float
    yuv: yuv420.I420
    width: int
    height: int
    rotation: int  # degrees it was turned by to be upright
    #: What was worked out from it already (by name), perhaps on another thread.
    notes: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


@dataclass(slots=True)
class DecodeCounters:
    """What decoding cost so far. Key frames may be decoded on another thread than runs
    (`KeyFrames`), so updates hold the lock."""

    frames: int = 0
    bytes: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_time(self, seconds: float) -> None:
        with self.lock:
            self.seconds += seconds

    def add_frame(self, nbytes: int) -> int:
        with self.lock:
            self.frames += 1
            self.bytes += nbytes
            return self.bytes


class Clip:
    """An open video. Use `open_clip`, which closes it."""

    def __init__(self, path: Path, limits: VideoLimits) -> None:
        self.path = path
        self.limits = limits
        self.counters = DecodeCounters()
        self._container = _open(path)
        self._run_containers: list[av.container.InputContainer] = []
        try:
            self.stream = _video_stream(path, self._container)
            self.facts = self._facts()
            self._check_declared()
        except BaseException:
            self._container.close()
            raise
        # Key frames are decoded one at a time: threads can only share the slices of one
        # picture (most encoders write several), not work on the next one ahead.
        self.stream.thread_type = "SLICE"
        self._time_base = self.stream.time_base or Fraction(1, 90000)
        self._frame_step = 1.0 / float(self.facts.frame_rate)
        self._last_packet_time: float | None = None
        self._run_decoder: av.video.codeccontext.VideoCodecContext | None = None
        self._run_decoders: dict[bool, av.video.codeccontext.VideoCodecContext] = {}
        self._run_times: list[float] = []
        self._pending: tuple[VideoPacket, float] | None = None  # where `seek_key` stopped
        self.last_time = 0.0  # the latest time any packet reaches (its end)

    def close(self) -> None:
        self._container.close()
        for container in self._run_containers:
            container.close()

    # --- facts ---------------------------------------------------------------------------------

    def _facts(self) -> ClipFacts:
        import av

        s, c = self.stream, self._container
        cc = s.codec_context
        rate = s.average_rate or s.guessed_rate or s.base_rate or Fraction(30)
        declared = None
        if s.duration is not None and s.time_base is not None:
            declared = float(s.duration * s.time_base)
        elif c.duration is not None:
            declared = c.duration / av.time_base
        start = c.start_time / av.time_base if c.start_time is not None else 0.0
        return ClipFacts(
            container=c.format.name.split(",")[0],
            codec=cc.name,
            coded_width=cc.width,
            coded_height=cc.height,
            frame_rate=Fraction(rate),
            declared_duration=declared,
            start=start,
        )

    def _check_declared(self) -> None:
        f, lim = self.facts, self.limits
        if f.coded_width * f.coded_height > lim.max_frame_pixels:
            raise _too_large(
                self.path,
                f"its frames are {f.coded_width}x{f.coded_height}, over the limit of "
                f"{lim.max_frame_pixels / 1e6:.1f} MP a frame",
            )
        if f.declared_duration is not None and f.declared_duration > lim.max_duration:
            raise _too_large(self.path, _duration_problem(f.declared_duration, lim))

    # --- packets -------------------------------------------------------------------------------

    def seek_key(self, t: float) -> float | None:
        """Move the packets to the key frame at or before `t` seconds (a time range of the
        video analysed on its own starts there) and return that key frame's time; None if
        the file cannot be sought (then nothing moved: read it from the start)."""
        import av

        target = int((t + self.facts.start) / self._time_base)
        try:
            self._container.seek(target, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            return None
        for packet in self._container.demux(self.stream):
            if not packet.size:
                break
            if packet.is_keyframe:
                t = self.packet_time(packet)
                self._pending = (packet, t)
                return t
        return None

    def packets(self, until: float | None = None) -> Iterator[tuple[VideoPacket, float]]:
        """The video stream's packets in file order, with their times (after `seek_key`,
        from that key frame; with `until`, up to and including the first key frame at or
        after it). A read error ends the iteration with a `CorruptVideoError`, which the
        caller may treat as the end of what can be used."""
        import av

        pending, self._pending = self._pending, None
        if pending is not None:
            self.last_time = max(self.last_time, pending[1] + self._frame_step)
            yield pending
        it = self._container.demux(self.stream)
        while True:
            try:
                packet = next(it)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                raise CorruptVideoError(
                    self.path,
                    f"the video data cannot be read after {self.last_time:.1f} s ({exc})",
                    "Restore the file from a backup, or cut the damaged part off first.",
                ) from exc
            if not packet.size:
                continue  # the demuxer's end marker
            t = self.packet_time(packet)
            step = float(packet.duration * self._time_base) if packet.duration else self._frame_step
            end = t + step
            self.last_time = max(self.last_time, end)
            if t > self.limits.max_duration:
                raise _too_large(self.path, _duration_problem(t, self.limits))
            yield packet, t
            if until is not None and packet.is_keyframe and t >= until - 1e-6:
                return

    def packet_time(self, packet: VideoPacket) -> float:
        """The packet's time; with no timestamp, one frame after the packet before (call it
        once per packet, in order)."""
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None:
            t = 0.0 if self._last_packet_time is None else self._last_packet_time + self._frame_step
        else:
            t = float(ts * self._time_base) - self.facts.start
        self._last_packet_time = t
        return t

    # --- decoding ------------------------------------------------------------------------------

    def decode_key(self, packet: VideoPacket, t: float) -> Frame | None:
        """The picture of a key frame packet (at time `t`), decoded on its own; None if it
        cannot be."""
        import av

        cc = self.stream.codec_context
        started = time.perf_counter()
        try:
            cc.flush_buffers()
            frames = list(cc.decode(packet)) + list(cc.decode(None))
        except av.error.FFmpegError:
            return None
        finally:
            self.counters.add_time(time.perf_counter() - started)
        if not frames:
            return None
        f = frames[0]
        return self._upright(f, self._frame_time(f, t))

    def start_run(self, every_frame: bool = False, rough: bool = False) -> None:
        """Forget the run decoder's state: the next `run` packet must be a key frame.
        `every_frame`: decode even the pictures no other is predicted from (skipped
        otherwise). `rough`: the frames are only searched for where someone came or went
        (not kept, not shown): the loop filter is skipped, a fifth of a predicted frame's
        decoding, which blurs block edges a little (the detector sees frames at half size)."""
        decoder = self._run_decoders.get(rough)
        if decoder is None:
            container = _open(self.path)
            self._run_containers.append(container)
            stream = container.streams.video[self.stream.index]
            # A rough run is a few frames from a key frame, decoded on the thread that looks
            # at them: FFmpeg's frame threads, started and drained for so few, cost more
            # CPU than they spare (2.5 of 28 CPU seconds on the family video).
            stream.thread_type = "SLICE" if rough else "AUTO"
            if rough:
                stream.codec_context.options = {"skip_loop_filter": "all"}
            # A run is read for frames here and there (one every `refine_step`, or every
            # second), never all of them: pictures no other picture is predicted from (most
            # B-frames) need not be decoded at all.
            decoder = self._run_decoders[rough] = stream.codec_context
        self._run_decoder = decoder
        self._run_decoder.skip_frame = "DEFAULT" if every_frame else "NONREF"
        self._run_decoder.flush_buffers()
        self._run_times = []

    def run(self, packet: VideoPacket | None, t: float = 0.0) -> list[Frame]:
        """Feed one packet (at time `t`) to the run decoder (None: the run ends, give every
        frame left), and get the frames it completed, upright, in display order."""
        import av

        assert self._run_decoder is not None, "start_run() first"
        if packet is not None:
            # A frame without a timestamp takes the earliest time of the packets fed and not
            # yet given back as frames (frames come out in display order).
            heapq.heappush(self._run_times, t)
        started = time.perf_counter()
        try:
            frames = self._run_decoder.decode(packet)
        except av.error.EOFError:
            frames = []
        except av.error.FFmpegError:
            # A damaged packet: its frame is lost, the run goes on with what decodes.
            frames = []
        finally:
            self.counters.add_time(time.perf_counter() - started)
        if packet is None:
            self._run_decoder.flush_buffers()
        out = []
        for f in frames:
            guess = heapq.heappop(self._run_times) if self._run_times else self.last_time
            out.append(self._upright(f, self._frame_time(f, guess)))
        return out

    def _frame_time(self, frame: av.VideoFrame, guess: float) -> float:
        """The frame's timestamp on the container's timeline, or `guess` if it has none.
        (A frame drained from the decoder carries no time base of its own: the stream's is
        the one its timestamp is in.)"""
        if frame.pts is None:
            return guess
        return float(frame.pts * self._time_base) - self.facts.start

    def _upright(self, frame: av.VideoFrame, t: float) -> Frame:
        w, h = frame.width, frame.height
        started = time.perf_counter()
        if w * h > self.limits.max_frame_pixels:
            raise _too_large(
                self.path,
                f"a frame at {t:.1f} s is {w}x{h}, over the limit of "
                f"{self.limits.max_frame_pixels / 1e6:.1f} MP a frame",
            )
        if self.counters.add_frame(w * h * 3 // 2) > self.limits.max_decoded_bytes:
            raise _too_large(
                self.path,
                f"decoding it would take more than {_bytes(self.limits.max_decoded_bytes)} of "
                "frames (the limit for one video)",
            )
        if w % 2 or h % 2 or frame.format.name != "yuv420p":
            # The I420 helpers need even sizes; dropping a last odd row or column moves no
            # face. Other pixel formats (10-bit, 4:2:2) are converted to 8-bit 4:2:0.
            w, h = w - w % 2, h - h % 2
            frame = frame.reformat(width=w, height=h, format="yuv420p")
        yuv = np.asarray(frame.to_ndarray(format="yuv420p"), dtype=np.uint8)
        rotation = int(frame.rotation or 0) % 360
        if rotation % 90:
            raise UnsupportedVideoError(
                self.path,
                f"the video is to be shown turned by {rotation} degrees, not a quarter turn",
                "Rotate it upright first (ffmpeg applies the turn when it re-encodes).",
            )
        if rotation:
            # The display matrix turns counter-clockwise, as np.rot90 does.
            yuv, w, h = yuv420.turned(yuv, w, h, rotation // 90)
        self.counters.add_time(time.perf_counter() - started)
        return Frame(t, yuv, w, h, rotation)


@dataclass(frozen=True, slots=True)
class ClipPacket:
    """A packet of the video stream, its time, and, for a key frame, its picture."""

    packet: VideoPacket
    time: float
    key: bool
    picture: Frame | None = None  # for a key frame: None if it could not be decoded


class KeyFrames:
    """The clip's packets, with each key frame's picture decoded ahead on a thread of its
    own: decoding the next key frame overlaps looking at this one (both let go of the
    interpreter while they work). The first packet counts as a key frame, whatever its flag.

        with KeyFrames(clip) as packets:
            for p in packets: ...
    """

    _END = object()

    def __init__(
        self,
        clip: Clip,
        ahead: int = 96,
        prepare: Callable[[Frame], None] | None = None,
        until: float | None = None,
    ) -> None:
        """`prepare`: work on each key frame's picture done on the decoding thread too.
        `until`: stop after the first key frame at or after this time."""
        self.clip = clip
        self._until = until
        self._prepare = prepare
        self._queue: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="regard-key-frames", daemon=True)

    def __enter__(self) -> Iterator[ClipPacket]:
        self._thread.start()
        return self._items()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a reader waiting to put
        self._thread.join()

    def _items(self) -> Iterator[ClipPacket]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, ClipPacket)
            yield item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        first = True
        try:
            for packet, t in self.clip.packets(self._until):
                key = first or bool(packet.is_keyframe)
                first = False
                picture = self.clip.decode_key(packet, t) if key else None
                if picture is not None and self._prepare is not None:
                    self._prepare(picture)
                if not self._put(ClipPacket(packet, t, key, picture)):
                    return
        except BaseException as exc:  # handed to the reading thread, raised there
            self._put(exc)
            return
        self._put(self._END)


@contextlib.contextmanager
def open_clip(path: Path, limits: VideoLimits | None = None) -> Iterator[Clip]:
    """Open `path` as a video, or raise the per-file error that says why it cannot be."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(path, "the file does not exist", "Check the path.")
    if not path.is_file():
        raise UnreadableFileError(path, "not a regular file", "Point Regard at video files.")
    clip = Clip(path, limits or VideoLimits())
    try:
        yield clip
    finally:
        clip.close()


def _open(path: Path) -> av.container.InputContainer:
    import av

    try:
        container = av.open(str(path), "r")
    except av.error.InvalidDataError as exc:
        raise _unreadable(path) from exc
    except av.error.PermissionError as exc:
        raise UnreadableFileError(
            path, "permission denied", "Give your user read access to it, or leave it out."
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise UnreadableFileError(
            path, f"cannot be read ({exc})", "Check the disk and try again."
        ) from exc
    if container.format.name.endswith("_pipe") or container.format.name == "image2":
        container.close()
        raise UnsupportedVideoError(
            path, "this is a still image, not a video", "Index it as a photo instead."
        )
    return container


def _video_stream(
    path: Path, container: av.container.InputContainer
) -> av.video.stream.VideoStream:
    """The main picture track: not a cover image some containers carry as a video stream."""
    streams = [s for s in container.streams.video if not _is_cover(s)]
    if not streams:
        raise UnsupportedVideoError(
            path, "the file has no video track", "Choose a video file with pictures in it."
        )
    stream = streams[0]
    if not stream.codec_context.codec or not stream.codec_context.width:
        raise UnsupportedVideoError(
            path,
            f"its pictures are in a format FFmpeg cannot decode ({stream.codec_context.name})",
            "Convert it to H.264 MP4 with another program first.",
        )
    return stream


def _is_cover(stream: av.video.stream.VideoStream) -> bool:
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _unreadable(path: Path) -> Exception:
    with path.open("rb") as fh:
        head = fh.read(12)
    if not head:
        return CorruptVideoError(path, "the file is empty", "Restore it from a backup.")
    if head[4:8] == b"ftyp":
        return CorruptVideoError(
            path,
            "the MP4/MOV file is incomplete or damaged (its index cannot be read; this happens "
            "when a recording or a copy was cut off)",
            "Restore the file from a backup or copy it from the camera again.",
        )
    return UnsupportedVideoError(
        path,
        "not a video format Regard can read, or a damaged file",
        "Regard reads the videos FFmpeg reads (MP4, MOV, M4V, MKV, WebM, AVI, 3GP); "
        "convert it to MP4.",
    )


def _duration_problem(seconds: float, limits: VideoLimits) -> str:
    return (
        f"it lasts {_span(seconds)} or more, over the limit of {_span(limits.max_duration)} "
        "for one video"
    )


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _too_large(path: Path, problem: str) -> ImageTooLargeError:
    return ImageTooLargeError(
        path, problem, "Cut it into shorter parts, or raise the limit if it is genuine."
    )


def frames_between(clip: Clip, first: float, last: float) -> Iterator[Frame]:
    """The frames from just before `first` to just after `last`, in order: decoding starts at
    the key frame before `first` (the packets before it are read, not decoded)."""
    gop: list[tuple[VideoPacket, float]] = []
    running = False
    try:
        for packet, t in clip.packets():
            if not running:
                if packet.is_keyframe:
                    gop = []
                if gop or packet.is_keyframe:
                    gop.append((packet, t))
                if t <= first or not gop:
                    continue
                running = True
                clip.start_run(every_frame=True)
                for p, pt in gop:
                    yield from clip.run(p, pt)
            else:
                yield from clip.run(packet, t)
            if t > last + 0.5:
                break
    except CorruptVideoError:
        pass  # cut off: what decoded is what there is
    if not running and gop:  # the moment is in the last group of pictures
        running = True
        clip.start_run(every_frame=True)
        for p, pt in gop:
            yield from clip.run(p, pt)
    if running:
        yield from clip.run(None)
