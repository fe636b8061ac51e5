"""Where a camera's frames come from: an RTSP stream, HTTP MJPEG, a local device, a video file
or a folder of clips, all read with PyAV (FFmpeg).

A live source is read on its own thread (`LiveReader`), which decodes everything the camera
sends and keeps only the newest frame: a slow detector drops frames instead of growing memory,
and a camera that stalls (timeouts on open and on every read) or drops is reopened with
exponential back-off without touching the other cameras. A file is read to the end, frame by
frame, at the pace it can be processed (`read_file`); a folder's clips are read one after the
other in name order, each once (`FolderClips`), and new ones are picked up as they land.

A packet the decoder cannot read is skipped (counted); a file whose container cannot be opened
at all raises `CameraSourceError`, which names the file and says what is wrong with it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from regard.domain.cameras import Camera, redact_text
from regard.errors import CameraSourceError

if TYPE_CHECKING:
    from regard.cameras.clips import ClipBuffer

log = logging.getLogger("regard.cameras")

RGBImage = npt.NDArray[np.uint8]

#: Seconds to wait for a camera to answer when opening it, and for each read after that.
OPEN_TIMEOUT = 10.0
READ_TIMEOUT = 5.0
#: Packets in a row that fail to decode before the source is taken for broken.
MAX_BAD_PACKETS = 200
CLIP_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".ts", ".m4v", ".webm", ".mjpeg"})


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: `t` is seconds into the source (files) or epoch seconds (live)."""

    t: float
    rgb: RGBImage
    source: str  # the file a frame of a folder came from; the camera's shown source otherwise


def is_live(source: str) -> bool:
    return ("://" in source and not source.startswith("file://")) or source.startswith("/dev/")


def _options(camera: Camera) -> tuple[dict[str, str], str | None]:
    source = camera.source
    if source.startswith("/dev/"):
        return {}, "v4l2"
    if source.lower().startswith(("rtsp://", "rtsps://")):
        return {
            "rtsp_transport": camera.transport,
            "timeout": str(int(READ_TIMEOUT * 1e6)),  # microseconds, for each socket read
            "fflags": "nobuffer",
        }, None
    if source.lower().startswith(("http://", "https://")):
        return {"rw_timeout": str(int(READ_TIMEOUT * 1e6)), "reconnect": "0"}, None
    return {}, None


def open_container(camera: Camera, source: str | None = None) -> Any:
    """The source opened by PyAV, or a `CameraSourceError` that says why not."""
    import av

    target = source or camera.source
    options, fmt = _options(camera) if source is None else ({}, None)
    try:
        container = av.open(
            target,
            mode="r",
            format=fmt,
            options=options,
            timeout=(OPEN_TIMEOUT, READ_TIMEOUT),
        )
    except FileNotFoundError:
        raise CameraSourceError(camera.name, _shown(camera, target), "no such file") from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise CameraSourceError(
            camera.name, _shown(camera, target), _problem(camera, exc)
        ) from None
    if not container.streams.video:
        container.close()
        raise CameraSourceError(
            camera.name, _shown(camera, target), "it has no video track (is it a video?)"
        )
    return container


def _shown(camera: Camera, target: str) -> str:
    return camera.shown_source if target == camera.source else target


def _problem(camera: Camera, exc: BaseException) -> str:
    import av

    text = redact_text(str(exc), camera.source)
    if isinstance(exc, av.error.InvalidDataError):
        return (
            "it is not a video FFmpeg can read (truncated or damaged, or not a video at all). "
            f"({text})"
        )
    if isinstance(exc, TimeoutError | av.error.ExitError) or "timed out" in text.lower():
        return f"it did not answer in time ({text})"
    return text


def decoded_frames(
    container: Any,
    camera: Camera,
    stop: threading.Event | None = None,
    clips: ClipBuffer | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[tuple[Any, float]]:
    """(av frame, seconds into the stream) for every frame that decodes; bad packets skipped.
    `clips` is handed every packet as it came (stamped by `clock`, or its time in the file)."""
    import av

    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    if clips is not None:
        clips.opened(stream)
    bad = 0
    base: float | None = None
    try:
        for packet in container.demux(stream):
            if stop is not None and stop.is_set():
                return
            if clips is not None:
                clips.add(packet, None if clock is None else clock())
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                bad += 1
                log.debug("camera %s: skipped a packet: %s", camera.name, exc)
                if bad >= MAX_BAD_PACKETS:
                    raise CameraSourceError(
                        camera.name, camera.shown_source, f"{bad} packets in a row are damaged"
                    ) from None
                continue
            for frame in frames:
                bad = 0
                t = float(frame.time) if frame.time is not None else None
                if t is None:
                    continue
                if base is None:
                    base = min(0.0, t)
                yield frame, t - base
    except av.error.FFmpegError as exc:
        raise CameraSourceError(camera.name, camera.shown_source, _problem(camera, exc)) from None


def read_file(
    camera: Camera,
    path: Path,
    stop: threading.Event | None = None,
    clips: ClipBuffer | None = None,
) -> Iterator[Frame]:
    """Every `1 / camera.detect_fps` seconds of a video file, as RGB frames (the frames in
    between are decoded, not converted)."""
    step = 1.0 / max(0.1, camera.detect_fps)
    container = open_container(camera, os.fspath(path))
    try:
        next_t = 0.0
        for frame, t in decoded_frames(container, camera, stop, clips):
            if t + 1e-6 < next_t:
                continue
            next_t = t + step
            yield Frame(t, frame.to_ndarray(format="rgb24"), os.fspath(path))
    finally:
        container.close()


class FolderClips:
    """The clips of a folder in name order (NVRs name them by time), each read once."""

    def __init__(self, folder: Path, settle: float = 2.0) -> None:
        self.folder = folder
        self.settle = settle  # a clip changed this recently may still be being written
        self.done: set[str] = set()

    def pending(self) -> list[Path]:
        try:
            entries = sorted(self.folder.iterdir(), key=lambda p: p.name)
        except OSError:
            return []
        now = time.time()
        out = []
        for p in entries:
            if p.suffix.lower() not in CLIP_SUFFIXES or p.name in self.done or not p.is_file():
                continue
            try:
                if now - p.stat().st_mtime < self.settle:
                    continue
            except OSError:
                continue
            out.append(p)
        return out


@dataclass
class Backoff:
    """Seconds to wait before reconnecting: doubling from `first` up to `most`."""

    first: float = 1.0
    most: float = 60.0
    _next: float = 0.0

    def wait(self) -> float:
        delay = self._next or self.first
        self._next = min(self.most, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = 0.0


class LiveReader:
    """Reads a live camera on its own thread; `latest()` hands out the newest frame only.

    `attempts` counts the times the source was opened (or tried), `failures` the problems
    met, newest last (redacted); a reconnect waits as `backoff` says."""

    def __init__(
        self,
        camera: Camera,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        clips: ClipBuffer | None = None,
    ) -> None:
        self.camera = camera
        self.clips = clips
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.attempts = 0
        self.frames = 0
        self.failures: list[str] = []
        self.connected = False
        self._stop = threading.Event()
        self._fresh = threading.Condition()
        self._frame: tuple[Any, float] | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.name}", daemon=True)

    def start(self) -> LiveReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._fresh:
            self._fresh.notify_all()
        self._thread.join(timeout=OPEN_TIMEOUT + READ_TIMEOUT + 1)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def latest(self, timeout: float) -> Frame | None:
        """The newest frame not handed out yet (older ones were dropped), or None."""
        import av

        with self._fresh:
            if self._frame is None:
                self._fresh.wait(timeout)
            got, self._frame = self._frame, None
        if got is None:
            return None
        frame, t = got
        try:
            rgb = frame.to_ndarray(format="rgb24")
        except (av.error.FFmpegError, ValueError):
            return None  # a broken frame is skipped
        return Frame(t, rgb, self.camera.shown_source)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.attempts += 1
            try:
                container = open_container(self.camera)
                try:
                    self.connected = True
                    for frame, _t in decoded_frames(
                        container, self.camera, self._stop, self.clips, self.clock
                    ):
                        self.frames += 1
                        self.backoff.reset()
                        with self._fresh:
                            self._frame = (frame, self.clock())
                            self._fresh.notify()
                finally:
                    self.connected = False
                    container.close()
                if not self._stop.is_set():
                    self.failures.append("the stream ended")
            except CameraSourceError as exc:
                self.failures.append(exc.problem)
                log.warning("%s", exc)
            except Exception as exc:  # one camera's surprise never stops the watcher
                self.failures.append(
                    redact_text(f"{type(exc).__name__}: {exc}", self.camera.source)
                )
                log.warning("camera %s failed: %s", self.camera.name, self.failures[-1])
            del self.failures[:-20]
            if self._stop.is_set():
                break
            delay = self.backoff.wait()
            log.info("camera %s: reconnecting in %.0f s", self.camera.name, delay)
            self._stop.wait(delay)
