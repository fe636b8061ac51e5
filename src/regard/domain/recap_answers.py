"""What the engine answers about recaps (`regard.domain.recaps` finds them): frozen
dataclasses whose fields are their JSON form (see `regard.domain.result`)."""

from __future__ import annotations

from dataclasses import dataclass

from regard.domain.result import Result


@dataclass(frozen=True, slots=True, eq=False)
class RecapFace(Result):
    """A face in a chosen photo: its box (x, y, w, h in the upright picture's pixels; in a
    video, at its best moment) and whether it is blurred in collages and videos."""

    box: list[float]
    blur: bool


@dataclass(frozen=True, slots=True, eq=False)
class RecapPhoto(Result):
    """A photo chosen for a recap, or a moment of a video (`start` and `end`, seconds)."""

    photo_id: int
    path: str
    media: str  # "photo" or "video"
    taken_at: str | None
    start: float | None
    end: float | None
    width: int
    height: int
    faces: list[RecapFace]
    score: float


@dataclass(frozen=True, slots=True, eq=False)
class Recap(Result):
    """A recap: `id` stays the same from one run to the next while the photos it is made of
    do; `start` and `end` are dates (ISO); `photos` best first."""

    id: str
    kind: str
    title: str
    start: str
    end: str
    place: str | None
    people: list[str]  # names of the people shown in it (those the policy lets be named)
    photos: list[RecapPhoto]
    total: int  # photos and videos the recap was chosen from
    score: float
    hidden: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class RecapList(Result):
    """Recaps, best first; `hidden` counts those the owner hid (left out unless asked)."""

    recaps: list[Recap]
    hidden: int
    today: str


@dataclass(frozen=True, slots=True, eq=False)
class RecapMade(Result):
    """A recap's collage and slideshow, written: where, and from how many photos and moments,
    with how many faces blurred and shown."""

    id: str
    collage: str | None
    video: str | None
    photos: int
    faces_blurred: int
    faces_shown: int
    seconds: float  # how long the slideshow lasts (0 without one)
    skipped: list[dict[str, str]]  # photos left out (unreadable...): path and reason


@dataclass(frozen=True, slots=True, eq=False)
class RecapChange(Result):
    """What hiding or showing a recap (or a person in recaps) did."""

    id: str
    hidden: bool
    changed: bool
