"""The watcher: every enabled camera on its own thread, one event writer for them all.

Each live camera has a reader thread (`LiveReader`: it decodes what the camera sends and keeps
the newest frame only) and a looking thread (`CameraSession.look` at the camera's detection
rate). A camera that stalls, drops or sends garbage is reopened with back-off by its own
reader; the others never wait for it. What the sessions find goes through one bounded queue to
the thread that called `run`, which writes it (`EventWriter`). A folder of clips is read clip
by clip as new ones land; a file once.

`run_file` is the `--once` path: a file or a folder read to its end on the calling thread,
nothing dropped, and every event ended when its source ends.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from regard.cameras.session import CameraSession, Change
from regard.cameras.sources import (
    Backoff,
    FolderClips,
    LiveReader,
    is_live,
    read_file,
)
from regard.cameras.writer import EventWriter
from regard.domain.cameras import Camera, redact_text
from regard.domain.events import CameraEvent, EventPhase
from regard.errors import CameraSourceError
from regard.privacy.camera_faces import CameraFaces

log = logging.getLogger("regard.cameras")

#: Changes waiting for the writer, at most; a full queue drops updates, never starts or ends.
QUEUE_SIZE = 256
#: How often the household's references are read again (a consent granted or withdrawn
#: reaches the cameras within this many seconds), and retention applied.
REFRESH_EVERY = 30.0
RETENTION_EVERY = 3600.0

SessionFactory = Callable[[Camera, bool], CameraSession]


@dataclass
class FileReport:
    """What `run_file` did: the events that ended, and each file it could not read."""

    events: list[CameraEvent] = field(default_factory=list)
    errors: list[CameraSourceError] = field(default_factory=list)
    frames: int = 0
    looked: int = 0
    detected: int = 0


class Watcher:
    def __init__(
        self,
        writer: EventWriter,
        sessions: SessionFactory,
        build_faces: Callable[[], CameraFaces],
        *,
        retention: Callable[[], object] | None = None,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.writer = writer
        self.sessions = sessions
        self.build_faces = build_faces
        self.retention = retention
        self.backoff = backoff
        self.faces = CameraFaces.nobody()
        self.readers: dict[str, LiveReader] = {}
        # Starts first: an alert never waits behind the snapshots of visits that ended.
        self._queue: queue.PriorityQueue[tuple[int, int, Camera, Change]] = queue.PriorityQueue(
            QUEUE_SIZE
        )
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []

    def current_faces(self) -> CameraFaces:
        return self.faces

    # --- a file or folder, once -----------------------------------------------------------------

    def run_file(
        self, camera: Camera, path: Path, stop: threading.Event | None = None
    ) -> FileReport:
        self.faces = self.build_faces()
        if self.writer.clips is not None:
            self.writer.clips.inline = True  # each event is printed with its clip
        report = FileReport()
        clips = sorted(FolderClips(path, settle=0.0).pending()) if path.is_dir() else [path]
        for clip in clips:
            if stop is not None and stop.is_set():
                break
            session = self.sessions(camera, False)
            try:
                for frame in read_file(camera, clip, stop, session.clips):
                    report.frames += 1
                    self._write_all(camera, session.look(frame), report)
            except CameraSourceError as exc:
                report.errors.append(exc)
                log.warning("%s", exc)
            finally:
                self._write_all(camera, session.finish(), report)
                report.looked += session.counters.moving
                report.detected += session.counters.detected
        return report

    def _write_all(self, camera: Camera, changes: list[Change], report: FileReport) -> None:
        for change in changes:
            event = self.writer.write(camera, change)
            if change.phase is EventPhase.END:
                report.events.append(event)

    # --- every camera, until stopped ------------------------------------------------------------

    def run(self, cameras: list[Camera], stop: threading.Event) -> None:
        """Watch `cameras` until `stop` is set; this thread writes what they find."""
        self.writer.recover()
        self.faces = self.build_faces()
        if self.retention is not None:
            self.retention()
        for camera in cameras:
            target = self._live if is_live(camera.source) else self._clips
            thread = threading.Thread(
                target=self._guard, args=(target, camera, stop), name=f"watch-{camera.name}",
                daemon=True,
            )  # fmt: skip
            self._threads.append(thread)
            thread.start()
        refreshed = retained = time.monotonic()
        try:
            while not stop.is_set() or self._busy():
                try:
                    _, _, camera, change = self._queue.get(timeout=0.25)
                except queue.Empty:
                    pass
                else:
                    self._write(camera, change)
                now = time.monotonic()
                if now - refreshed >= REFRESH_EVERY:
                    refreshed = now
                    self.refresh()
                if self.retention is not None and now - retained >= RETENTION_EVERY:
                    retained = now
                    self.retention()
        finally:
            stop.set()
            for thread in self._threads:
                thread.join(timeout=20)
            self._drain()
            if self.writer.clips is not None:
                self.writer.clips.close()

    def refresh(self) -> None:
        """Read the household again (consents granted, withdrawn, people erased), and put
        right what the sinks say of the last person each camera saw."""
        self.faces = self.build_faces()
        self.writer.last_people()

    def _busy(self) -> bool:
        return any(t.is_alive() for t in self._threads) or not self._queue.empty()

    def _drain(self) -> None:
        while True:
            try:
                _, _, camera, change = self._queue.get_nowait()
            except queue.Empty:
                return
            self._write(camera, change)

    def _write(self, camera: Camera, change: Change) -> None:
        try:
            self.writer.write(camera, change)
        except Exception:  # a full disk for one snapshot must not stop the watcher
            log.exception("could not write event %s of camera %s", change.event.id, camera.name)

    def _send(self, camera: Camera, changes: list[Change], stop: threading.Event) -> None:
        for change in changes:
            while True:
                try:
                    first = 0 if change.phase is EventPhase.START else 1
                    self._queue.put((first, next(self._order), camera, change), timeout=0.5)
                    break
                except queue.Full:
                    if change.phase is EventPhase.UPDATE or stop.is_set():
                        break  # an update is dropped; a start or an end waits its turn

    def _guard(
        self,
        target: Callable[[Camera, threading.Event], None],
        camera: Camera,
        stop: threading.Event,
    ) -> None:
        try:
            target(camera, stop)
        except Exception as exc:  # one camera's bug never stops the others
            log.exception(
                "camera %s stopped: %s", camera.name, redact_text(str(exc), camera.source)
            )

    def _live(self, camera: Camera, stop: threading.Event) -> None:
        session = self.sessions(camera, True)
        reader = LiveReader(camera, self.backoff(), clips=session.clips).start()
        self.readers[camera.name] = reader
        step = 1.0 / max(0.1, camera.detect_fps)
        try:
            while not stop.is_set():
                started = time.monotonic()
                frame = reader.latest(timeout=step * 2)
                if frame is None:
                    # Nothing came: a stalled or dropped camera. Visits still end on time.
                    if session.tracker.busy:
                        self._send(camera, session.idle(time.time()), stop)
                    continue
                changes = session.look(frame, lambda early: self._send(camera, early, stop))
                self._send(camera, changes, stop)
                if session.tracker.tentative:
                    # Something was seen once: the next frame confirms it (or not) at once,
                    # not a detection step later (the alert waits for that look).
                    continue
                stop.wait(max(0.0, step - (time.monotonic() - started)))
        finally:
            reader.stop()
            self._send(camera, session.finish(), stop)

    def _clips(self, camera: Camera, stop: threading.Event) -> None:
        path = Path(camera.source.removeprefix("file://"))
        if not path.is_dir():
            for changes in self._read(camera, path, stop):
                self._send(camera, changes, stop)
            return
        folder = FolderClips(path)
        while not stop.is_set():
            for clip in folder.pending():
                folder.done.add(clip.name)
                for changes in self._read(camera, clip, stop):
                    self._send(camera, changes, stop)
                if stop.is_set():
                    return
            stop.wait(2.0)

    def _read(self, camera: Camera, clip: Path, stop: threading.Event) -> Iterator[list[Change]]:
        session = self.sessions(camera, False)
        try:
            for frame in read_file(camera, clip, stop, session.clips):
                yield session.look(frame)
        except CameraSourceError as exc:
            log.warning("%s", exc)
        yield session.finish()
