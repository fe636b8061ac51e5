"""Faces in videos: an *appearance* is one person followed through one stretch of one video.

A video is not indexed frame by frame: the same face in 300 frames is one appearance, with the
time it starts and ends, a sparse path of boxes (enough to draw a box at any moment), and the
few best frames of it embedded, in the same space as photo faces. Two appearances that overlap
in time in one video are never one person, as two faces of one photo are not.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction

from regard.domain.face import AnalysedFace, Box, FaceQuality


@dataclass(frozen=True, slots=True)
class PathPoint:
    """Where the face was seen: `time` in seconds, `box` in upright full-resolution pixels."""

    time: float
    box: Box


def box_on_path(points: tuple[PathPoint, ...], time: float) -> Box:
    """The box at `time` along a path (in time order, not empty), interpolated between its
    points; before the first or after the last, that point's box."""
    if time <= points[0].time:
        return points[0].box
    for a, b in itertools.pairwise(points):
        if a.time <= time <= b.time:
            span = b.time - a.time
            f = (time - a.time) / span if span > 0 else 0.0
            return Box(
                a.box.x + (b.box.x - a.box.x) * f,
                a.box.y + (b.box.y - a.box.y) * f,
                a.box.w + (b.box.w - a.box.w) * f,
                a.box.h + (b.box.h - a.box.h) * f,
            )
    return points[-1].box


@dataclass(frozen=True, slots=True)
class FrameFace:
    """A face embedded from one frame, as the photo pipeline records a face of a photo."""

    time: float
    face: AnalysedFace


@dataclass(frozen=True, slots=True)
class Appearance:
    """One person followed through one stretch of one video (short gaps, such as a head
    turned away for a moment, stay inside it).

    `faces` are the best frames of the appearance, embedded, best first, and at least one;
    an opt-out gate that drops an appearance drops every vector of it."""

    start: float  # seconds on the video's timeline, as a player's seek bar shows it
    end: float
    faces: tuple[FrameFace, ...]
    path: tuple[PathPoint, ...]  # in time order; first and last are where it was first/last seen

    def __post_init__(self) -> None:
        if not self.faces:
            raise ValueError("an appearance needs at least one embedded face")
        if self.end < self.start:
            raise ValueError(f"an appearance cannot end ({self.end}) before it starts")

    @property
    def best(self) -> FrameFace:
        return self.faces[0]

    @property
    def best_time(self) -> float:
        return self.faces[0].time

    @property
    def best_box(self) -> Box:
        return self.faces[0].face.detection.box

    @property
    def score(self) -> float:
        """The detector's confidence in the best frame."""
        return self.faces[0].face.detection.score

    @property
    def quality(self) -> FaceQuality:
        return self.faces[0].face.quality

    @property
    def duration(self) -> float:
        return self.end - self.start

    def box_at(self, time: float) -> Box | None:
        """The face's box at `time`, interpolated along the path; None outside the appearance.
        Before the first or after the last point (but within start..end) the nearest point's
        box is given."""
        if time < self.start or time > self.end or not self.path:
            return None
        return box_on_path(self.path, time)

    def overlaps(self, other: Appearance) -> bool:
        """Both on screen at some moment: then they are two people."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Moment:
    """A stored appearance, as search and people show it: which video (`photo_id`, the row
    the video has among the library's files), when, and where the face is at its best moment.
    `face_id` is the face that stands for the appearance (its vector, its person)."""

    face_id: int
    photo_id: int
    start: float
    end: float
    best_time: float
    box: Box
    path: tuple[PathPoint, ...] = ()

    def box_at(self, time: float) -> Box | None:
        """The face's box at `time`, along the path (the best box if it has none); None
        outside the appearance."""
        if time < self.start or time > self.end:
            return None
        return box_on_path(self.path, time) if self.path else self.box


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Where an analysis spent its time, in seconds (for benchmarks; not part of the result's
    identity)."""

    open: float = 0.0
    decode: float = 0.0
    detect: float = 0.0
    embed: float = 0.0
    other: float = 0.0

    @property
    def total(self) -> float:
        return self.open + self.decode + self.detect + self.embed + self.other


@dataclass(frozen=True, slots=True)
class VideoAnalysis:
    """What analysing one video found. Width and height are of the upright picture (phone
    videos stored sideways are turned as their display matrix says)."""

    duration: float  # seconds
    width: int
    height: int
    frame_rate: Fraction  # the container's average rate; frames may be spaced unevenly
    codec: str
    container: str
    rotation: int  # degrees the stored picture is turned to be shown upright (0/90/180/270)
    frames_decoded: int
    frames_looked_at: int  # frames the detector saw
    appearances: tuple[Appearance, ...]  # by start time, then left to right
    pipeline_id: str
    #: Things the user should know about a result that is still usable ("the file ends at
    #: 41.2 s of the 60.0 s its header announces"); empty when all went well.
    notes: tuple[str, ...] = ()
    times: StageTimes = field(default_factory=StageTimes, compare=False)
    #: Frames' worth of pixels the detector searched (a look at part of a frame counts its
    #: share): at most `frames_looked_at`.
    frames_searched: float = field(default=0.0, compare=False)


#: A video's timeline is cut into slots this long; two appearances in a common slot count as
#: on screen together. A little stricter than exact overlap (one leaving and another coming
#: within the same second are kept apart), and a plain set intersection, as for photos.
SCENE_SLOT = 1.0
_SLOTS_PER_VIDEO = 1 << 22  # slots of a 6 h video fit, at SCENE_SLOT 1 s


def scene_keys(video: int, start: float, end: float) -> frozenset[int]:
    """What an appearance of `video` from `start` to `end` (seconds) must not share with
    another face of its person: negative numbers, so never a photo's id."""
    first = math.floor(start / SCENE_SLOT)
    last = max(first, math.ceil(end / SCENE_SLOT) - 1)
    base = -(video * _SLOTS_PER_VIDEO) - 1
    return frozenset(base - min(s, _SLOTS_PER_VIDEO - 1) for s in range(first, last + 1))
