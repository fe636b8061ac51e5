"""Follow detected objects from one looked-at frame to the next, and say when a visit starts
and ends.

Frames are looked at a fifth of a second apart, so a person walking moves a little between
looks: a detection continues the open track of the same kind it overlaps most (IoU, or its
centre inside the track's box when a fast move leaves little overlap). A track becomes an
event after `min_hits` consecutive looks found it (one stray detection never alerts), and the
event ends once the track was not seen for `quiet` seconds; it ends when it was last seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from regard.domain.events import EventKind
from regard.domain.face import Box
from regard.domain.objects import ObjectDetection
from regard.pipeline.camera_frames import iou

#: The COCO labels an event is about, and the event's kind.
EVENT_KINDS: dict[str, EventKind] = {
    "person": EventKind.PERSON,
    "cat": EventKind.PET,
    "dog": EventKind.PET,
    "bird": EventKind.PET,
    "car": EventKind.CAR,
    "truck": EventKind.CAR,
    "bus": EventKind.CAR,
    "motorcycle": EventKind.CAR,
}


def event_kind(label: str) -> EventKind | None:
    return EVENT_KINDS.get(label)


@dataclass
class Track:
    id: int
    kind: EventKind
    start: float
    last_seen: float
    box: Box
    score: float
    hits: int = 1
    confirmed: bool = False
    labels: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return self.labels.most_common(1)[0][0] if self.labels else self.kind.value


@dataclass(frozen=True, slots=True)
class TrackerStep:
    started: tuple[Track, ...]  # confirmed by this look
    seen: tuple[tuple[Track, ObjectDetection], ...]  # confirmed tracks and what this look saw
    ended: tuple[Track, ...]  # quiet long enough: the visit is over


class ObjectTracker:
    def __init__(
        self, min_hits: int = 2, quiet: float = 5.0, min_iou: float = 0.2, sure: float = 1.1
    ) -> None:
        """`sure`: a detection this confident starts its visit at once, without waiting for
        `min_hits` looks (the alert goes a look sooner)."""
        self.min_hits = min_hits
        self.sure = sure
        self.quiet = quiet
        self.min_iou = min_iou
        self.tracks: list[Track] = []
        self._next = 1

    @property
    def busy(self) -> bool:
        """Is any object being followed (so every frame must be looked at, moving or not)?"""
        return bool(self.tracks)

    @property
    def tentative(self) -> bool:
        """Was something seen once, not yet confirmed (the next look decides: soon is better)?"""
        return any(not t.confirmed for t in self.tracks)

    def update(self, t: float, detections: Sequence[ObjectDetection]) -> TrackerStep:
        pairs = []
        for di, d in enumerate(detections):
            kind = event_kind(d.label)
            if kind is None:
                continue
            for ti, track in enumerate(self.tracks):
                if track.kind is not kind:
                    continue
                overlap = iou(track.box, d.box)
                if overlap < self.min_iou and not _centre_inside(d.box, track.box):
                    continue
                pairs.append((overlap, di, ti))
        pairs.sort(reverse=True)
        used_d: set[int] = set()
        used_t: set[int] = set()
        started: list[Track] = []
        seen: list[tuple[Track, ObjectDetection]] = []
        for _overlap, di, ti in pairs:
            if di in used_d or ti in used_t:
                continue
            used_d.add(di)
            used_t.add(ti)
            track, d = self.tracks[ti], detections[di]
            track.box, track.last_seen = d.box, t
            track.hits += 1
            track.score = max(track.score, d.score)
            track.labels[d.label] += 1
            if not track.confirmed and track.hits >= self.min_hits:
                track.confirmed = True
                started.append(track)
            if track.confirmed:
                seen.append((track, d))
        ended: list[Track] = []
        keep: list[Track] = []
        for ti, track in enumerate(self.tracks):
            if ti in used_t:
                keep.append(track)
            elif not track.confirmed:
                continue  # not seen in consecutive looks: a stray detection
            elif t - track.last_seen >= self.quiet:
                ended.append(track)
            else:
                keep.append(track)
        for di, d in enumerate(detections):
            kind = event_kind(d.label)
            if di in used_d or kind is None:
                continue
            track = Track(self._next, kind, t, t, d.box, d.score, labels=Counter([d.label]))
            self._next += 1
            if self.min_hits <= 1 or d.score >= self.sure:
                track.confirmed = True
                started.append(track)
                seen.append((track, d))
            keep.append(track)
        self.tracks = keep
        return TrackerStep(tuple(started), tuple(seen), tuple(ended))

    def close(self) -> tuple[Track, ...]:
        """The source ended: every confirmed track's visit ends where it was last seen."""
        ended = tuple(t for t in self.tracks if t.confirmed)
        self.tracks = []
        return ended


def _centre_inside(a: Box, b: Box) -> bool:
    cx, cy = a.x + a.w / 2, a.y + a.h / 2
    return b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h
