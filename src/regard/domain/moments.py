"""Moments: where a search or a person meets a video. A moment is one appearance — the video,
when it starts and ends (seconds on the player's timeline), its best moment and the face's
box there (in the upright picture's pixels) — as search and `people show` answer it, beside
photos (see `regard.domain.result`)."""

from __future__ import annotations

from dataclasses import dataclass

from regard.domain.result import Result


@dataclass(frozen=True, slots=True, eq=False)
class MomentMatch(Result):
    """A video moment whose face matched a search, ranked with photos by `score`."""

    video_id: int
    path: str
    name: str  # what to call the video: the name it was sent with, else its file's name
    width: int | None  # upright pixels, which the box is in
    height: int | None
    duration: float | None  # seconds
    face_id: int
    start: float
    end: float
    best_time: float
    box: list[float]  # x, y, width, height at best_time
    score: float
    low_quality: bool
    #: The face's person ("P12") and their name, where the library's policy allows showing
    #: who they are; None otherwise, and for faces in no person.
    person: str | None = None
    person_name: str | None = None
    #: Person searches only: "owner", "auto" or "suggested", as for a photo's faces.
    source: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class PersonMoment(Result):
    """A moment of a person in a video, as `people show` lists it."""

    video_id: int
    path: str
    name: str
    duration: float | None
    face: str  # "F7": the face that stands for the appearance
    face_id: int
    start: float
    end: float
    best_time: float
    box: list[float]
    assigned_by: str | None
    low_quality: bool
    taken_at: str | None = None  # when the video was taken, if it says (for a timeline)


def clock(seconds: float) -> str:
    """`83.4` -> `00:01:23`: a time in a video as a player shows it (whole seconds)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def span(start: float, end: float) -> str:
    """`00:01:23-00:01:31`: the stretch of a moment."""
    return f"{clock(start)}-{clock(end)}"
