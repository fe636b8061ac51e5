"""Home cameras, as the skins use them: set them up, watch them, read what they saw.

`CameraService` is `Engine.cameras`. Setting up cameras and reading events are quick catalog
calls made under the engine's lock like any other. Watching builds a `Watcher` whose event
writer takes the lock only around each event it writes, so the web app (and an index run)
go on meanwhile.

A camera that is not public-space looks for faces only if the library's biometric data is
unlocked: the household's references are sealed, and each recognition must be audited. A
locked library's cameras alert on objects only, and say so once (`WatchStarted.faces`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from regard.cameras.clips import ClipMaker
from regard.cameras.session import CameraSession
from regard.cameras.sources import Backoff
from regard.cameras.watcher import FileReport, Watcher
from regard.cameras.writer import EventWriter
from regard.context import LibraryContext
from regard.domain.cameras import (
    MAX_PRE_ROLL,
    Camera,
    UnknownFace,
    WatchOptions,
    check_name,
    check_source,
)
from regard.domain.events import CameraEvent, EventSink
from regard.errors import CameraExistsError, CameraNotFoundError, InvalidRequestError
from regard.inference.objects import NanoDetDetector, ObjectDetector
from regard.inference.protocols import FaceDetector
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.models import ModelLoader
from regard.privacy.camera_faces import CameraFaces
from regard.privacy.gate import Gate

log = logging.getLogger("regard.cameras")

Hold = Callable[[], AbstractContextManager[object]]


class CameraService:
    def __init__(
        self,
        c: LibraryContext,
        *,
        root: Path,
        gate: Gate,
        models: ModelLoader,
        hold: Hold,
        detector: Callable[[], ObjectDetector] | None = None,
    ) -> None:
        self.c = c
        self.root = root
        self.gate = gate
        self.models = models
        self.hold = hold
        self.detector_factory = detector or (lambda: NanoDetDetector())
        self.analyser: Callable[[], Analyser] = cache(lambda: models(AnalysisSettings()))
        self._models_lock = threading.Lock()
        # The writer's own copy of the anonymiser's detector: a model is never used by two
        # threads at once, and the web app's copy is used under the engine's lock.
        self.blur_detector: Callable[[], FaceDetector] = cache(
            lambda: models.sensitive_detector(ANONYMISE_SCORE_THRESHOLD)
        )
        # ... and the clip writer's, on its own thread.
        self.clip_detector: Callable[[], FaceDetector] = cache(
            lambda: models.sensitive_detector(ANONYMISE_SCORE_THRESHOLD)
        )

    # --- set-up --------------------------------------------------------------------------------

    def add(self, camera: Camera) -> Camera:
        check_name(camera.name)
        check_source(camera.source)
        if "://" not in camera.source and not camera.source.startswith("/dev/"):
            path = Path(camera.source).expanduser()
            if not path.exists():
                raise InvalidRequestError(
                    f"{camera.source}: no such file or folder (a camera's source is an rtsp:// "
                    "or http:// address, a device like /dev/video0, a video file or a folder)."
                )
            camera = replace(camera, source=str(path.absolute()))
        if camera.transport not in ("tcp", "udp"):
            raise InvalidRequestError(
                f"--transport is tcp or udp, not {camera.transport!r}.",
                web=f"A camera's transport is TCP or UDP, not {camera.transport!r}.",
            )
        if not 0.2 <= camera.detect_fps <= 30:
            raise InvalidRequestError(
                "--fps is between 0.2 and 30 detection frames a second.",
                web="A camera is looked at 0.2 to 30 times a second.",
            )
        if camera.retention_days < 1:
            raise InvalidRequestError(
                "--keep-days is at least 1.", web="A camera's events are kept 1 day at least."
            )
        check_clips(camera)
        with self.c.catalog.transaction():
            if self.c.catalog.cameras.get(camera.name) is not None:
                raise CameraExistsError(camera.name)
            self.c.catalog.cameras.add(camera, time.time())
        return camera

    def all(self) -> list[Camera]:
        return self.c.catalog.cameras.all()

    def get(self, name: str) -> Camera:
        camera = self.c.catalog.cameras.get(name)
        if camera is None:
            raise CameraNotFoundError(name)
        return camera

    def change(self, name: str, **changes: object) -> Camera:
        """Change a camera's settings (masks, alerts, enabled, ...)."""
        with self.c.catalog.transaction():
            camera = replace(self.get(name), **changes)  # type: ignore[arg-type]
            check_clips(camera)
            self.c.catalog.cameras.save(camera)
        return camera

    def remove(self, name: str) -> Camera:
        """Forget the camera; its events stay until their retention ends."""
        with self.c.catalog.transaction():
            camera = self.get(name)
            self.c.catalog.cameras.remove(name)
        return camera

    # --- events --------------------------------------------------------------------------------

    def events(
        self, since: str | None = None, camera: str | None = None, limit: int | None = 500
    ) -> list[CameraEvent]:
        start = None if since is None else parse_since(since, datetime.now())
        rows = self.c.catalog.cameras.events(since=start, camera=camera, limit=limit)
        return [self.shown(event) for event, _alert, _at in rows]

    def shown(self, event: CameraEvent) -> CameraEvent:
        """`event` with its files' paths in full (they are stored relative to the library)."""
        return replace(
            event,
            snapshot=None if event.snapshot is None else self.root / event.snapshot,
            clip=None if event.clip is None else self.root / event.clip,
        )

    def unknown_faces(self) -> list[UnknownFace]:
        """Unknown faces' crops still kept, oldest first."""
        return [
            UnknownFace(face_id, event, str(self.root / path), expires)
            for face_id, event, path, expires in self.c.catalog.cameras.unknown_faces()
        ]

    def discard_unknown(self, face_id: int) -> UnknownFace:
        """Delete an unknown face's crop now (the owner does not want it named)."""
        found = next((f for f in self.unknown_faces() if f.id == face_id), None)
        if found is None:
            raise InvalidRequestError(
                f"No unknown face #{face_id}: `regard events unknown` lists those kept.",
                web=f"No unknown face #{face_id}: it was named or discarded, or is past its day.",
            )
        with self.c.catalog.transaction():
            self.c.catalog.cameras.delete_unknown_face(face_id)
        Path(found.path).unlink(missing_ok=True)
        return found

    def apply_retention(self, now: float | None = None) -> dict[str, int]:
        """Delete events (and their snapshots) past their camera's retention, and unknown
        faces' crops past their day. A camera removed keeps the default retention."""
        now = time.time() if now is None else now
        kept = {c.name: c.retention_days for c in self.c.catalog.cameras.all()}
        deleted = crops = 0
        with self.hold():
            for name in self.c.catalog.cameras.event_cameras():
                days = kept.get(name, Camera(name, "-").retention_days)
                old = self.c.catalog.cameras.expired_events(name, now - days * 86400)
                if not old:
                    continue
                ids = [e.id for e in old]
                files = [e.snapshot for e in old if e.snapshot] + [e.clip for e in old if e.clip]
                files += [Path(p) for p in self.c.catalog.cameras.unknown_face_paths(ids)]
                with self.c.catalog.transaction():
                    self.c.catalog.cameras.delete_events(ids)
                for f in files:
                    (self.root / f).unlink(missing_ok=True)
                deleted += len(ids)
            for face_id, _event, path, _exp in self.c.catalog.cameras.unknown_faces(expired_by=now):
                with self.c.catalog.transaction():
                    self.c.catalog.cameras.delete_unknown_face(face_id)
                (self.root / path).unlink(missing_ok=True)
                crops += 1
        return {"events_deleted": deleted, "unknown_faces_deleted": crops}

    # --- watching ------------------------------------------------------------------------------

    def faces_allowed(self) -> bool:
        return self.c.audit.keyed

    def watcher(
        self,
        sinks: Sequence[EventSink] = (),
        options: WatchOptions | None = None,
        hold: Hold | None = None,
    ) -> Watcher:
        o = options or WatchOptions()
        detector = self.detector_factory()
        faces_on = self.faces_allowed()
        writer = EventWriter(
            catalog=self.c.catalog,
            root=self.root,
            audit=self.c.audit if faces_on else None,
            actor=self.c.acting.name,
            hold=hold or self.hold,
            sinks=sinks,
            night=o.night,
            face_detector=self.blur_detector,
            clips=ClipMaker(
                root=self.root,
                catalog=self.c.catalog,
                hold=hold or self.hold,
                detector=self.clip_detector,
            ),
        )

        def session(camera: Camera, live: bool) -> CameraSession:
            return CameraSession(
                camera,
                detector,
                self.analyser if faces_on else None,
                watcher.current_faces,
                live=live,
                gating=o.gating,
                lock=self._models_lock,
                min_hits=o.min_hits,
                quiet=o.quiet,
                sure=o.sure if live else 1.1,
            )

        def build_faces() -> CameraFaces:
            if not faces_on:
                return CameraFaces.nobody()
            with (hold or self.hold)():
                return CameraFaces.build(self.gate, self.c.policy, self.c.calibration)

        watcher = Watcher(
            writer,
            session,
            build_faces,
            retention=self.apply_retention,
            backoff=lambda: Backoff(o.backoff_first, o.backoff_most),
        )
        return watcher

    def watch_file(
        self,
        path: Path,
        camera: str | None = None,
        sinks: Sequence[EventSink] = (),
        options: WatchOptions | None = None,
        clips: float | None = None,
    ) -> FileReport:
        """Read a video file or a folder of clips once, as camera `camera` (its masks, alerts
        and public-space flag) or as a camera named after the file that alerts on everything.
        `clips`: keep a clip of each event with this many seconds of pre-roll."""
        watcher = self.watcher(sinks, options)
        return watcher.run_file(self.adhoc(path, camera, clips), path)

    def adhoc(self, path: Path, camera: str | None = None, clips: float | None = None) -> Camera:
        """A file or folder read as camera `camera` (its settings, this source), or as a
        camera named after it that alerts on everything; with clips if `clips` (pre-roll)."""
        if not path.exists():
            raise InvalidRequestError(f"{path}: no such file or folder.")
        if camera is not None:
            chosen = replace(self.get(camera), source=str(path.absolute()))
        else:
            name = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem if path.is_file() else path.name)
            chosen = Camera(name.strip("-")[:40] or "clip", str(path.absolute()))
        if clips is not None:
            chosen = replace(chosen, clips=True, pre_roll=clips)
            check_clips(chosen)
        return chosen

    def watch(
        self,
        stop: threading.Event,
        sinks: Sequence[EventSink] = (),
        options: WatchOptions | None = None,
        hold: Hold | None = None,
        cameras: Sequence[Camera] | None = None,
    ) -> Watcher:
        """Watch every enabled camera (or `cameras`) until `stop` is set, on this thread."""
        chosen = [c for c in self.all() if c.enabled] if cameras is None else list(cameras)
        watcher = self.watcher(sinks, options, hold)
        watcher.run(chosen, stop)
        return watcher

    def start(
        self, sinks: Sequence[EventSink] = (), options: WatchOptions | None = None
    ) -> Watching:
        """Watch the enabled cameras on a thread of their own (what `regard serve` does)."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._watch_quietly, args=(stop, sinks, options), name="watcher", daemon=True
        )
        thread.start()
        return Watching(stop, thread)

    def _watch_quietly(
        self, stop: threading.Event, sinks: Sequence[EventSink], options: WatchOptions | None
    ) -> None:
        try:
            self.watch(stop, sinks, options)
        except Exception:
            log.exception("the camera watcher stopped")


@dataclass(frozen=True, slots=True)
class Watching:
    stop_event: threading.Event
    thread: threading.Thread

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def check_clips(camera: Camera) -> None:
    if not 0 <= camera.pre_roll <= MAX_PRE_ROLL:
        raise InvalidRequestError(
            f"--pre-roll is 0 to {MAX_PRE_ROLL:g} seconds (they are held in memory).",
            web=f"A clip starts 0 to {MAX_PRE_ROLL:g} seconds before its event.",
        )
    if camera.clips and camera.public_space:
        raise InvalidRequestError(
            "A public-space camera keeps no clips: its faces could not be blurred in every "
            "frame without a face model, which it never runs. Leave out --clips.",
            web="A public-space camera keeps no clips (it never runs a face model to blur them).",
        )


def parse_since(text: str, now: datetime) -> float:
    """`today`, `yesterday`, `2h` / `30m` / `7d` ago, or a date (and time), local time."""
    t = text.strip().lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if t == "today":
        return midnight.timestamp()
    if t == "yesterday":
        return (midnight - timedelta(days=1)).timestamp()
    m = re.fullmatch(r"(\d+)\s*([smhd])", t)
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
        return (now - timedelta(seconds=int(m[1]) * unit)).timestamp()
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise InvalidRequestError(
            f"--since {text!r}: give today, yesterday, a time ago like 2h, 30m or 7d, or a "
            "date like 2026-12-01 (or 2026-12-01T18:00).",
            web=f"{text!r} is not a time: today, yesterday, 2h, 30m, 7d or a date like 2026-12-01.",
        ) from None
