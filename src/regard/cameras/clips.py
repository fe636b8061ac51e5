"""Short clips of camera events, with pre-roll, blurred as snapshots are.

A camera with clips on keeps what it sent, still encoded (H.264, MJPEG: packets, not decoded
frames), in a ring (`ClipBuffer`): the last `pre_roll` seconds back to the key frame before
them, and no more. When a visit starts, the packets from `pre_roll` seconds before its start
are pinned for it, and the packets that come next are added to it until it ends (at most
`MAX_CLIP_SECONDS`). Packets are shared between the ring and the visits' pins (one copy of the
bytes each), so a camera holds at most its bit rate times (key-frame interval + pre-roll +
`MAX_CLIP_SECONDS` + post-roll); the visits' clips never hold more than `MAX_BYTES` (past
that a clip is cut short), the pre-roll's ring coming on top.

When the visit ends (`take`), its packets are decoded again, masked, and written as an H.264
MP4 by the anonymiser (`anonymise_frames`): every face blurred, head and all, but those the
session judged to be household members with `camera` consent at about that moment (the same
decision as the snapshot's, followed over time: a face is kept only if it lies where a
consented member's face was judged within `KEEP_NEAR` seconds, and never in the pre-roll,
before anyone was seen), at most `CLIP_FPS` frames a
second; written beside its place and renamed into it once complete. A stream that breaks
mid-event leaves the clip up to the break, or none; never half a file.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from regard.atomic import private_dirs
from regard.domain.face import Box
from regard.inference.protocols import FaceDetector
from regard.pipeline.anonymise.video import FramesIn, anonymise_frames
from regard.pipeline.camera_frames import MaskPlane
from regard.storage.repositories import Store

# Imported where they are used: a `regard` command starts without them (test_start_up.py).
if TYPE_CHECKING:
    import av
    import av.error

log = logging.getLogger("regard.cameras")

#: A clip's length after its event's start, at most (an event that goes on is cut there).
MAX_CLIP_SECONDS = 60.0
#: Seconds a clip goes on after its event's end (the watcher ends a visit after seconds of
#: quiet, so these packets are there already).
POST_ROLL = 2.0
#: Encoded bytes a camera's clips being recorded hold at most (the pre-roll ring on top).
MAX_BYTES = 48 * 2**20
#: Frames a second a clip is written with, at most (each is searched for faces).
CLIP_FPS = 10.0
#: A face in a clip's frame is a consented member's if one was judged there this close in time.
KEEP_NEAR = 0.6


@dataclass(frozen=True, slots=True)
class Packet:
    data: bytes
    pts: int | None
    dts: int | None
    key: bool
    t: float  # on the frames' clock: seconds into a file, epoch seconds for a live camera


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What the decoder needs to read the packets again."""

    codec: str
    extradata: bytes | None
    time_base: Fraction
    rate: Fraction

    @classmethod
    def of(cls, stream: Any) -> StreamInfo:
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or Fraction(10)
        return cls(
            ctx.name,
            bytes(ctx.extradata) if ctx.extradata else None,
            Fraction(stream.time_base or Fraction(1, 90000)),
            Fraction(rate),
        )


@dataclass
class Pin:
    info: StreamInfo
    packets: list[Packet]
    start: float
    until: float
    full: bool = False


@dataclass(frozen=True, slots=True)
class ClipTake:
    """A visit's packets and what the session judged, for the clip writer."""

    info: StreamInfo
    packets: tuple[Packet, ...]
    start: float  # the first moment the clip shows (the event's start less the pre-roll)
    began: float  # the event's start: before it (the pre-roll) every face is blurred
    end: float  # the last (the event's end plus the post-roll)
    keeps: tuple[tuple[float, tuple[Box, ...]], ...]  # consented members' faces over time
    masks: MaskPlane

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


class ClipBuffer:
    """One camera's recent packets and the visits' pins. The reader thread adds; the session's
    thread pins and takes."""

    def __init__(
        self, pre_roll: float, *, max_seconds: float = MAX_CLIP_SECONDS, max_bytes: int = MAX_BYTES
    ) -> None:
        self.pre_roll = pre_roll
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.info: StreamInfo | None = None
        self._ring: deque[Packet] = deque()
        self._pins: dict[str, Pin] = {}
        self._lock = threading.Lock()
        self.peak_bytes = 0
        self._base: float | None = None

    # --- the reader's side ----------------------------------------------------------------------

    def opened(self, stream: Any) -> None:
        """A (re)connection: what came before cannot be decoded with what comes now."""
        info = StreamInfo.of(stream)
        with self._lock:
            self.info = info
            self._ring.clear()
            self._base = None
            for pin in self._pins.values():
                pin.full = True  # a visit's clip ends where the stream dropped

    def add(self, packet: Any, t: float | None) -> None:
        """`packet` (PyAV's) as it came; `t` its moment on the frames' clock (None: from its
        time stamp, for a file)."""
        if packet.size == 0:
            return
        if t is None:
            at = float(packet.pts * packet.time_base) if packet.pts is not None else None
            if at is None:
                return
            if self._base is None:
                self._base = min(0.0, at)
            t = at - self._base
        p = Packet(bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe), t)
        with self._lock:
            self._ring.append(p)
            for pin in self._pins.values():
                if pin.full:
                    continue
                if p.t > pin.until or self._held() > self.max_bytes:
                    pin.full = True
                    continue
                pin.packets.append(p)
            self._trim()
            self.peak_bytes = max(self.peak_bytes, self._held())

    def _trim(self) -> None:
        """Keep from the last key frame at least `pre_roll` seconds old (decoding starts at a
        key frame); drop older groups while more than `max_bytes` are held."""
        ring = self._ring
        newest = ring[-1].t
        while len(ring) > 1:
            nxt = next((i for i in range(1, len(ring)) if ring[i].key), None)
            if nxt is None:
                break
            if ring[nxt].t <= newest - self.pre_roll or self._ring_bytes() > self.max_bytes:
                for _ in range(nxt):
                    ring.popleft()
            else:
                break
        if not ring[0].key and len(ring) > 1 and self.pre_roll < newest - ring[0].t:
            # No key frame came yet (a stream opened mid-group): nothing before one decodes.
            while ring and not ring[0].key and newest - ring[0].t > self.pre_roll:
                ring.popleft()

    def _ring_bytes(self) -> int:
        return sum(len(p.data) for p in self._ring)

    def _held(self) -> int:
        seen = {id(p): len(p.data) for p in self._ring}
        for pin in self._pins.values():
            seen.update((id(p), len(p.data)) for p in pin.packets)
        return sum(seen.values())

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return self._held()

    # --- the session's side ---------------------------------------------------------------------

    def pin(self, key: str, start: float) -> None:
        """A visit started at `start`: its clip begins `pre_roll` seconds before."""
        with self._lock:
            if self.info is None:
                return
            ring = list(self._ring)
            first = 0
            for i, p in enumerate(ring):
                if p.key and p.t <= start - self.pre_roll:
                    first = i
            self._pins[key] = Pin(
                self.info, ring[first:], start - self.pre_roll, start + self.max_seconds
            )

    def take(
        self,
        key: str,
        end: float,
        keeps: Sequence[tuple[float, tuple[Box, ...]]],
        masks: MaskPlane,
    ) -> ClipTake | None:
        """The visit ended at `end`: its packets, to the post-roll."""
        with self._lock:
            pin = self._pins.pop(key, None)
        if pin is None:
            return None
        stop = min(end + POST_ROLL, pin.until)
        packets = tuple(p for p in pin.packets if p.t <= stop)
        if not any(p.key for p in packets):
            return None
        began = pin.start + self.pre_roll
        return ClipTake(pin.info, packets, pin.start, began, stop, tuple(keeps), masks)

    def drop(self, key: str) -> None:
        with self._lock:
            self._pins.pop(key, None)


@dataclass
class ClipStats:
    written: int = 0
    failed: int = 0
    frames: int = 0
    peaks: dict[str, int] = field(default_factory=dict)


def write_clip(take: ClipTake, target: Path, detector: FaceDetector) -> int:
    """Write `take` to `target` (an .mp4), faces blurred; how many frames (0: none written)."""
    import av

    step = 1.0 / CLIP_FPS
    rate = min(Fraction(take.info.rate), Fraction(CLIP_FPS)).limit_denominator(1000) or Fraction(
        CLIP_FPS
    )
    time_base = Fraction(1, 1000)

    first: float | None = None  # the clip's first frame (before it: the source's start)

    def keep_at(t: float) -> list[Box]:
        at = (take.start if first is None else first) + t
        if at < take.began:
            return []  # nobody was known to be there yet (and a cut may lie in between)
        return [b for when, boxes in take.keeps if abs(when - at) <= KEEP_NEAR for b in boxes]

    def frames() -> Iterator[av.VideoFrame]:
        nonlocal first
        last_pts = -1
        next_t = take.start
        for frame, t in _decoded(take):
            if t + 1e-6 < take.start or t > take.end + 1e-6 or t + 1e-6 < next_t:
                continue
            next_t = t + step * 0.9
            first = t if first is None else first
            pts = max(last_pts + 1, round((t - first) / time_base))
            last_pts = pts
            if not take.masks.masks:
                out = frame
            else:
                rgb = take.masks.blank(np.asarray(frame.to_ndarray(format="rgb24"), np.uint8))
                out = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            out.pts, out.time_base = pts, time_base
            yield out

    return anonymise_frames(frames(), FramesIn(rate, time_base), target, detector, keep_at=keep_at)


def _decoded(take: ClipTake) -> Iterator[tuple[av.VideoFrame, float]]:
    """The take's frames, decoded again, each with its moment (from its packet's)."""
    import av

    ctx: Any = av.CodecContext.create(take.info.codec, "r")
    if take.info.extradata:
        ctx.extradata = take.info.extradata
    moments = {p.pts: p.t for p in take.packets if p.pts is not None}
    order = sorted(p.t for p in take.packets)
    shown = 0

    def moment(frame: av.VideoFrame) -> float:
        nonlocal shown
        t = moments.get(frame.pts) if frame.pts is not None else None
        if t is None:
            t = order[min(shown, len(order) - 1)]
        shown += 1
        return t

    for p in take.packets:
        packet = av.Packet(p.data)
        packet.pts, packet.dts, packet.time_base = p.pts, p.dts, take.info.time_base
        try:
            decoded = ctx.decode(packet)
        except av.error.FFmpegError:
            continue  # a damaged packet: its frame is skipped, as the watcher does
        for frame in decoded:
            yield frame, moment(frame)
    try:
        for frame in ctx.decode(None):
            yield frame, moment(frame)
    except av.error.FFmpegError:
        return


class ClipMaker:
    """Writes the clips: at once (`inline`: a file read with `--once`, whose events are
    printed with their clips) or on a thread of its own (live cameras: the event writer, and
    so the alerts, never wait for a clip), then names the clip in the event's row."""

    def __init__(
        self,
        *,
        root: Path,
        catalog: Store,
        hold: Callable[[], AbstractContextManager[object]],
        detector: Callable[[], FaceDetector],
        clock: Callable[[], float] = time.time,
        inline: bool = False,
        depth: int = 4,
    ) -> None:
        self.root = root
        self.catalog = catalog
        self.hold = hold
        self.detector = detector
        self.clock = clock
        self.inline = inline
        self.stats = ClipStats()
        # Each waiting clip holds its packets: a few only (more are dropped, and logged).
        self._queue: queue.Queue[tuple[str, ClipTake, Path] | None] = queue.Queue(depth)
        self._thread: threading.Thread | None = None

    def make(self, event_id: str, take: ClipTake, relative: Path) -> Path | None:
        """Write the clip now; its path relative to the library, or None (nothing decoded,
        or it failed: logged)."""
        target = self.root / relative
        try:
            private_dirs(target.parent)
            frames = write_clip(take, target, self.detector())
        except Exception:  # a clip that cannot be written never stops the cameras
            self.stats.failed += 1
            log.exception("could not write the clip of event %s", event_id)
            return None
        if frames == 0:
            return None
        target.chmod(0o600)
        self.stats.written += 1
        self.stats.frames += frames
        return relative

    def submit(self, event_id: str, take: ClipTake, relative: Path) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clips", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait((event_id, take, relative))
        except queue.Full:
            self.stats.failed += 1
            log.warning("too many clips waiting: the clip of event %s is not kept", event_id)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            event_id, take, relative = job
            done = self.make(event_id, take, relative)
            if done is None:
                continue
            with self.hold(), self.catalog.transaction():
                named = self.catalog.cameras.set_clip(event_id, done, self.clock())
            if not named:  # the event went meanwhile (retention, erasure)
                (self.root / done).unlink(missing_ok=True)

    def close(self, timeout: float = 60.0) -> None:
        """Write the clips still waiting (the watcher is stopping)."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def sweep(self) -> int:
        """Remove what a watcher killed mid-clip left (the clip's temporary file)."""
        gone = 0
        for tmp in (self.root / "cameras").glob("*/*/.*.mp4"):
            tmp.unlink(missing_ok=True)
            gone += 1
        return gone
