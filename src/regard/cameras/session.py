"""One camera's frames turned into visits: masks, motion, objects, faces, tracks.

`CameraSession.look(frame)` is the whole per-frame path, in this order:

1. the masks blank their pixels (nothing after this sees them, a snapshot included);
2. the motion gate compares a tiny grey copy with the last one; without motion the frame goes
   no further (but once a second while objects are followed, which may stand still);
3. the object detector finds people, pets and cars; an object mostly under a mask is dropped;
4. for person boxes only, and only on a camera that is not public-space, faces are searched
   inside the box and matched against the household members with `camera` consent;
5. the tracker follows the objects, and says which visits start and end.

It returns `Visit` changes for the event writer. A visit keeps the best frame seen (one copy,
replaced when a better one comes), what its faces were judged to be, and the best crop of an
unknown face; the vectors never leave this module and go when the visit ends.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from regard.cameras.clips import ClipBuffer, ClipTake
from regard.cameras.sources import Frame
from regard.domain.cameras import MAX_PRE_ROLL, Camera
from regard.domain.events import UNKNOWN, CameraEvent, EventPhase
from regard.domain.face import Box
from regard.domain.objects import ObjectDetection
from regard.inference.objects import ObjectDetector
from regard.pipeline.analyse import Analyser
from regard.pipeline.camera_frames import (
    MaskPlane,
    MotionGate,
    head_region,
    inside_share,
    snapshot_score,
)
from regard.pipeline.object_tracker import ObjectTracker, Track, event_kind
from regard.pipeline.person_faces import faces_in_person
from regard.privacy.camera_faces import CameraFaces

RGBImage = npt.NDArray[np.uint8]

#: An object more than this share under the masks is not looked at (its visible rest would be
#: a sliver at the mask's edge).
MASKED_SHARE = 0.5
#: Faces judged unknown in this many looks, and never named, make the visit's face unknown.
UNKNOWN_LOOKS = 2
#: Visits followed at once per camera, at most (each holds one frame).
MAX_VISITS = 16
#: Seconds between looks at objects that stand still (no motion in the frame).
STILL_LOOK_EVERY = 1.0
#: Seconds between rewrites of an open visit's row (how much a kill -9 can cut off its end).
TOUCH_EVERY = 10.0
#: Moments a visit remembers where consented members' faces were, for its clip (at most).
MAX_KEEPS = 600


@dataclass(frozen=True, slots=True)
class Shot:
    """The best frame of a visit so far and what to blur in it, replaced whole (the writer
    reads it from another thread: a frame never meets another frame's boxes)."""

    rgb: RGBImage  # masked, not yet blurred
    score: float
    box: Box
    keep: tuple[Box, ...]  # faces of consented members
    blur: tuple[Box, ...]  # faces to blur, heads and all
    heads: tuple[Box, ...]  # heads to blur from people's boxes (a public-space camera)


@dataclass
class Visit:
    """A confirmed track and what is known about it."""

    id: str
    track: Track
    shot: Shot | None = None
    names: Counter[str] = field(default_factory=Counter)
    person_ids: dict[str, int] = field(default_factory=dict)
    unknown_looks: int = 0
    faces_looked: bool = False
    unknown_crop: RGBImage | None = None
    unknown_size: float = 0.0
    forget: bool = False  # someone who may not be kept was seen: keep no crop
    touched: float = 0.0  # when its row was last written
    keeps: list[tuple[float, tuple[Box, ...]]] = field(default_factory=list)  # for its clip
    clip: ClipTake | None = None  # its packets, once it ended (a camera with clips)

    @property
    def who(self) -> str | None:
        if self.names:
            return self.names.most_common(1)[0][0]
        if self.unknown_looks >= UNKNOWN_LOOKS:
            return UNKNOWN
        return None


@dataclass(frozen=True, slots=True)
class Change:
    phase: EventPhase
    visit: Visit
    event: CameraEvent
    last_seen: float
    news: bool = True  # False: only the row is brought up to date (the sinks hear nothing)


@dataclass
class Counters:
    frames: int = 0
    moving: int = 0
    detected: int = 0
    face_runs: int = 0


class CameraSession:
    def __init__(
        self,
        camera: Camera,
        detector: ObjectDetector,
        analyser: Callable[[], Analyser] | None,
        faces: Callable[[], CameraFaces],
        *,
        live: bool,
        gating: bool = True,
        lock: threading.Lock | None = None,
        min_hits: int = 2,
        quiet: float = 5.0,
        sure: float = 1.1,
        face_every: float = 0.4,
    ) -> None:
        """`analyser` None: never look for faces (a public-space camera). `lock`: held around
        the models, when cameras share them."""
        self.camera = camera
        self.detector = detector
        self.analyser = None if camera.public_space else analyser
        self.faces = faces
        self.live = live
        self.gating = gating
        self.lock = lock or threading.Lock()
        self.masks = MaskPlane(camera.masks)
        self.motion = MotionGate()
        self.tracker = ObjectTracker(min_hits=min_hits, quiet=quiet, sure=sure)
        self.face_every = face_every
        self.visits: dict[int, Visit] = {}
        self.counters = Counters()
        self._faced: dict[int, float] = {}
        self._looked = float("-inf")
        # A public-space camera keeps no clip: no face model may follow faces through it.
        self.clips = (
            ClipBuffer(min(camera.pre_roll, MAX_PRE_ROLL))
            if camera.clips and not camera.public_space
            else None
        )

    def look(
        self, frame: Frame, emit: Callable[[list[Change]], None] | None = None
    ) -> list[Change]:
        """What changed with this frame. `emit`: visits that start are handed to it at once,
        before their faces are looked at (the alert does not wait for the face model); what
        the faces said follows in the changes returned, as an update with the snapshot."""
        self.counters.frames += 1
        rgb = self.masks.blank(frame.rgb)
        moved = self.motion.moved(rgb)
        # Nothing moved: nothing new can be there. Objects already followed that stand still
        # (a parked car, someone waiting at the door) are looked at once a second, so their
        # visits go on (or end) without a detection at every frame.
        still = not self.tracker.busy or frame.t - self._looked < STILL_LOOK_EVERY
        if self.gating and not moved and still:
            return []
        self._looked = frame.t
        self.counters.moving += 1
        changes: list[Change] = []
        if self.motion.was_cut:
            # Another scene: whoever was followed is not in this one (their visits end where
            # they were last seen, and anyone here starts anew).
            changes += self.finish()
        with self.lock:
            found = self.detector.detect(rgb)
        self.counters.detected += 1
        h, w = rgb.shape[:2]
        found = [
            d
            for d in found
            if self.camera.watches(_kind(d.label)) and self.masks.share(d.box, h, w) < MASKED_SHARE
        ]
        found = _outermost(found)
        step = self.tracker.update(frame.t, found)
        for track in step.started:
            if len(self.visits) >= MAX_VISITS:
                continue
            new = Visit(uuid.uuid4().hex[:16], track, touched=frame.t)
            self.visits[track.id] = new
            if self.clips is not None:
                self.clips.pin(new.id, track.start)
        if emit is not None:
            early = [
                self._change(EventPhase.START, self.visits[t.id], frame.t)
                for t in step.started
                if t.id in self.visits
            ]
            if early:
                emit(early)
        people = [d.box for d in found if d.label == "person"]
        for track, d in step.seen:
            visit = self.visits.get(track.id)
            if visit is None:
                continue
            who_before = visit.who
            self._judge(visit, frame, rgb, d, people)
            if track in step.started:
                phase = EventPhase.START if emit is None else EventPhase.UPDATE
                changes.append(self._change(phase, visit, frame.t))
            elif visit.who != who_before:
                changes.append(self._change(EventPhase.UPDATE, visit, frame.t))
                visit.touched = frame.t
            elif frame.t - visit.touched >= TOUCH_EVERY:
                changes.append(self._change(EventPhase.UPDATE, visit, frame.t, news=False))
                visit.touched = frame.t
        for track in step.ended:
            changes += self._end(track)
        return changes

    def idle(self, t: float) -> list[Change]:
        """No frame came (the camera stalled or dropped): visits quiet long enough end."""
        step = self.tracker.update(t, [])
        out: list[Change] = []
        for track in step.ended:
            out += self._end(track)
        return out

    def finish(self) -> list[Change]:
        """The source ended: every visit ends where it was last seen."""
        out: list[Change] = []
        for track in self.tracker.close():
            out += self._end(track)
        self.visits.clear()
        return out

    # --- inside a visit -----------------------------------------------------------------------

    def _judge(
        self, visit: Visit, frame: Frame, rgb: RGBImage, d: ObjectDetection, people: list[Box]
    ) -> None:
        keep: list[Box] = []
        blur: list[Box] = []
        judged = False
        if d.label == "person" and self.analyser is not None and self._face_due(visit, frame.t):
            keep, blur = self._faces(visit, rgb, d.box)
            judged = True
            if self.clips is not None and keep and len(visit.keeps) < MAX_KEEPS:
                visit.keeps.append((frame.t, tuple(keep)))
        if d.label == "person" and self.analyser is not None and not judged and visit.shot:
            return  # the best frame of a person is one whose faces were judged
        score = snapshot_score(rgb, d.box, d.score)
        if visit.shot is None or score > visit.shot.score:
            # A public-space camera never looks for faces: every person's head is blurred
            # from their box alone. Elsewhere the writer finds the faces to blur.
            heads = tuple(head_region(p) for p in people) if self.camera.public_space else ()
            visit.shot = Shot(rgb.copy(), score, d.box, tuple(keep), tuple(blur), heads)

    def _face_due(self, visit: Visit, t: float) -> bool:
        """Faces are looked for a few times a second per visit, not at every look."""
        last = self._faced.get(visit.track.id)
        if last is not None and t - last < self.face_every:
            return False
        self._faced[visit.track.id] = t
        return True

    def _faces(self, visit: Visit, rgb: RGBImage, person: Box) -> tuple[list[Box], list[Box]]:
        assert self.analyser is not None
        with self.lock:
            found = faces_in_person(self.analyser(), rgb, person)
        self.counters.face_runs += 1
        keep: list[Box] = []
        blur: list[Box] = []
        known = self.faces()
        for face in found:
            visit.faces_looked = True
            identity = known.identify(face.embedding)
            if not identity.keep:
                visit.forget = True
                visit.unknown_crop = None
                blur.append(face.detection.box)
                continue
            if identity.who != UNKNOWN and not face.quality.low:
                visit.names[identity.who] += 1
                if identity.person_id is not None:
                    visit.person_ids[identity.who] = identity.person_id
                keep.append(face.detection.box)
                continue
            blur.append(face.detection.box)
            if face.quality.low:
                continue  # too poor to call anyone unknown on
            visit.unknown_looks += 1
            size = face.detection.box.w
            if not visit.forget and size > visit.unknown_size:
                visit.unknown_size = size
                visit.unknown_crop = _crop(rgb, face.detection.box)
        return keep, blur

    def _change(
        self, phase: EventPhase, visit: Visit, last_seen: float, news: bool = True
    ) -> Change:
        t = visit.track
        box = visit.shot.box if visit.shot is not None else t.box
        event = CameraEvent(
            id=visit.id,
            camera=self.camera.name,
            kind=t.kind,
            label=t.label,
            start=t.start,
            end=t.last_seen if phase is EventPhase.END else None,
            who=visit.who if visit.faces_looked else None,
            live=self.live,
            score=round(t.score, 3),
            box=(int(box.x), int(box.y), int(box.w), int(box.h)),
        )
        return Change(phase, visit, event, last_seen, news)

    def _end(self, track: Track) -> list[Change]:
        self._faced.pop(track.id, None)
        visit = self.visits.pop(track.id, None)
        if visit is None:
            return []
        if self.clips is not None:
            visit.clip = self.clips.take(visit.id, track.last_seen, visit.keeps, self.masks)
        return [self._change(EventPhase.END, visit, track.last_seen)]


def _kind(label: str) -> str:
    kind = event_kind(label)
    return "" if kind is None else kind.value


def _overlaps(a: Box, b: Box) -> bool:
    return not (a.x + a.w < b.x or b.x + b.w < a.x or a.y + a.h < b.y or b.y + b.h < a.y)


def _crop(rgb: RGBImage, box: Box, margin: float = 0.3) -> RGBImage:
    h, w = rgb.shape[:2]
    mx, my = box.w * margin, box.h * margin
    x0, y0 = max(0, int(box.x - mx)), max(0, int(box.y - my))
    x1, y1 = min(w, int(box.x + box.w + mx)), min(h, int(box.y + box.h + my))
    return rgb[y0:y1, x0:x1].copy()


#: A detection this much inside a larger one of the same kind is a part of it (a person's
#: head and shoulders found beside the whole person): it would make a second visit.
CONTAINED = 0.7


def _outermost(found: list[ObjectDetection]) -> list[ObjectDetection]:
    by_size = sorted(found, key=lambda d: -d.box.w * d.box.h)
    kept: list[ObjectDetection] = []
    for d in by_size:
        kind = _kind(d.label)
        if not any(
            _kind(k.label) == kind and inside_share(d.box, k.box) >= CONTAINED for k in kept
        ):
            kept.append(d)
    return kept
