"""The event writer: the one place camera events reach the disk, the catalog and the sinks.

One writer serves every camera (SQLite has one writer at a time), on the thread that runs the
watcher's loop; it holds the library's engine lock (`hold`) only around each event's write.

* START: the snapshot so far is saved and the event is committed as open, so a watcher killed
  now leaves it to be closed (where it was last seen) when it starts again.
* UPDATE: a face was named, or judged unknown (news for the sinks); or the visit goes on (the
  open row is rewritten every few seconds, so a cut-short event ends near where it did).
* END: the best snapshot is saved blurred (every face but those of consented household
  members, every head where no face could be judged), the event is committed as ended, the
  recognition is written to the audit log in the same transaction, and an unknown face's crop
  is kept for `unknown_hours` for the owner to name or discard.

Snapshot files are written before the row that names them; a kill between the two leaves an
unnamed file, never a row without its file. Sinks hear of alerts only (`alert_wanted`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from regard.atomic import private_dirs, write_atomically
from regard.cameras.clips import ClipMaker
from regard.cameras.session import Change, Visit
from regard.domain.cameras import Camera, NightWindow, alert_wanted
from regard.domain.events import UNKNOWN, CameraEvent, EventPhase, EventSink
from regard.domain.face import Box, Detection
from regard.inference.protocols import FaceDetector
from regard.pipeline.anonymise.blur import (
    BlurSettings,
    blur_faces_in_place,
    blur_rect_in_place,
    pixel_rect,
)
from regard.privacy.audit import AuditLog
from regard.storage.repositories import Store

log = logging.getLogger("regard.cameras")

UNKNOWN_HOURS = 24.0
SNAPSHOT_QUALITY = 85


class EventWriter:
    def __init__(
        self,
        *,
        catalog: Store,
        root: Path,
        audit: AuditLog | None,
        actor: str,
        hold: Callable[[], AbstractContextManager[object]],
        sinks: Sequence[EventSink] = (),
        night: NightWindow | None = None,
        unknown_hours: float = UNKNOWN_HOURS,
        clock: Callable[[], float] = time.time,
        face_detector: Callable[[], FaceDetector] | None = None,
        clips: ClipMaker | None = None,
    ) -> None:
        """`face_detector`: finds the faces to blur in snapshots (the anonymiser's sensitive
        detector); None: only the faces the sessions judged are blurred."""
        self.catalog = catalog
        self.root = root
        self.audit = audit
        self.actor = actor
        self.hold = hold
        self.sinks = list(sinks)
        self.night = night or NightWindow()
        self.unknown_hours = unknown_hours
        self.clock = clock
        self.face_detector = face_detector
        self.clips = clips
        self.alerted: dict[str, bool] = {}
        self.written = 0

    def recover(self) -> list[str]:
        """Events a previous watcher left open end where they were last seen."""
        if self.clips is not None:
            self.clips.sweep()
        with self.hold(), self.catalog.transaction():
            return self.catalog.cameras.close_open_events()

    def last_people(self) -> None:
        """Tell the sinks each camera's last person as the catalog has it now (a person who
        withdrew their `camera` consent or was erased is named by no event any more)."""
        with self.hold():
            last = self.catalog.cameras.last_people()
        for sink in self.sinks:
            tell = getattr(sink, "last_people", None)
            if tell is None:
                continue
            try:
                tell(last)
            except Exception:  # a sink's failure never stops the cameras
                log.exception("sink %s failed", getattr(sink, "name", sink))

    def write(self, camera: Camera, change: Change) -> CameraEvent:
        event = change.event
        visit = change.visit
        alert = self._alert(camera, event)
        early = change.news and change.phase is EventPhase.START
        if early:
            # The alert goes out first: the blurred snapshot (a face search over the whole
            # frame, a JPEG) follows as an update a moment later.
            self._publish(event, EventPhase.START, alert)
        snapshot = self._snapshot(camera, event, visit)
        event = replace(event, snapshot=snapshot)
        ended = change.phase is EventPhase.END
        take, visit.clip = (visit.clip if ended else None), None
        clip_at = self._folder(camera, event) / f"{event.id}.mp4"
        if take is not None and self.clips is not None and self.clips.inline:
            event = replace(event, clip=self.clips.make(event.id, take, clip_at))
        crop = None
        if ended and event.who == UNKNOWN and visit.unknown_crop is not None and not visit.forget:
            crop = self._save(
                self._folder(camera, event) / f"{event.id}-face.jpg", visit.unknown_crop
            )
        with self.hold(), self.catalog.transaction():
            self.catalog.cameras.save_event(
                event,
                last_seen=change.last_seen,
                alert=alert or self.alerted.get(event.id, False),
                recorded_at=self.clock(),
            )
            if crop is not None:
                self.catalog.cameras.add_unknown_face(
                    event.id, crop, self.clock() + self.unknown_hours * 3600
                )
            if ended and visit.faces_looked and self.audit is not None:
                self._audit(camera, event, visit)
        self.written += 1
        if take is not None and self.clips is not None and not self.clips.inline:
            self.clips.submit(event.id, take, clip_at)
        # Sinks and callers get the files' full paths (the catalog keeps them relative).
        event = replace(
            event,
            snapshot=None if snapshot is None else self.root / snapshot,
            clip=None if event.clip is None else self.root / event.clip,
        )
        if early:
            if snapshot is not None:
                self._publish(event, EventPhase.UPDATE, alert)
        elif change.news:
            self._publish(event, change.phase, alert)
        if ended:
            self.alerted.pop(event.id, None)
            visit.shot = None  # the visit's pixels go now
            visit.unknown_crop = None
        return event

    # --- parts ----------------------------------------------------------------------------

    def _alert(self, camera: Camera, event: CameraEvent) -> bool:
        at = datetime.fromtimestamp(event.start if event.live else self.clock())
        return alert_wanted(camera, event.kind.value, event.who, self.night.contains(at.time()))

    def _publish(self, event: CameraEvent, phase: EventPhase, alert: bool) -> None:
        was = self.alerted.get(event.id, False)
        if not alert and not was:
            return
        if not was:
            self.alerted[event.id] = True
            if phase is EventPhase.UPDATE:
                phase = EventPhase.START  # the first the sinks hear of it
        for sink in self.sinks:
            try:
                sink.publish(event, phase)
            except Exception:  # a sink's failure never stops the cameras
                log.exception("sink %s failed on event %s", getattr(sink, "name", sink), event.id)

    def _folder(self, camera: Camera, event: CameraEvent) -> Path:
        day = datetime.fromtimestamp(event.start if event.live else self.clock()).strftime(
            "%Y-%m-%d"
        )
        return Path("cameras") / camera.name / day

    def _snapshot(self, camera: Camera, event: CameraEvent, visit: Visit) -> Path | None:
        shot = visit.shot
        if shot is None:
            return None
        image = shot.rgb.copy()
        # Every face in the frame but a consented member's is blurred, head and all, as the
        # anonymiser does: the faces judged in the person's box, and any other face the
        # (sensitive) detector finds in the frame. A public-space camera never runs a face
        # model: the top of every person's box is blurred instead.
        faces: list[Box | Detection] = list(shot.blur)
        if not camera.public_space and self.face_detector is not None:
            faces += [
                d
                for d in self.face_detector().detect(image)
                if not any(_same_face(d.box, k) for k in shot.keep)
            ]
        blur_faces_in_place(image, faces, BlurSettings())
        heads = BlurSettings(shape="box")
        for box in shot.heads:
            rect = pixel_rect(box)
            if rect is not None:
                blur_rect_in_place(image, rect, heads)
        return self._save(self._folder(camera, event) / f"{event.id}.jpg", image)

    def _save(self, relative: Path, rgb: npt.NDArray[np.uint8]) -> Path:
        import cv2

        ok, data = cv2.imencode(
            ".jpg",
            cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY],
        )
        if not ok:
            raise OSError(f"could not encode {relative}")
        target = self.root / relative
        private_dirs(target.parent)
        write_atomically(target, data.tobytes(), private=True)
        return relative

    def _audit(self, camera: Camera, event: CameraEvent, visit: Visit) -> None:
        assert self.audit is not None
        named = event.who not in (None, UNKNOWN)
        person = visit.person_ids.get(event.who or "") if named else None
        self.audit.record(
            "camera-recognition",
            actor=self.actor,
            purpose="camera",
            subject=f"P{person}" if person else None,
            result_count=1 if named else 0,
            detail={
                "camera": camera.name,
                "event": event.id,
                "result": "named" if named else ("unknown" if event.who else "no-face"),
            },
        )


def _same_face(a: Box, b: Box) -> bool:
    """Is detection `a` the face `b` the session judged (in the same frame)?"""
    cx, cy = a.x + a.w / 2, a.y + a.h / 2
    return b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h
