"""Naming faces where they are seen: what giving a face (any face: in no person, rejected by
mistake, a video's appearance) to someone answers, and the "Who is this?" queue of unnamed
faces with the person they most look like (see `regard.services.naming`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from regard.domain.result import Result

#: What the owner can say a face is.
ASSIGN, NOT_A_PERSON, SOMEONE_ELSE = "assign", "not_a_person", "someone_else"


@dataclass(frozen=True, slots=True, eq=False)
class FacesNamed(Result):
    """Faces after the owner said who they are, and the history entry that undoes it."""

    action: str  # "assign", "not_a_person" or "someone_else"
    faces: list[str]  # ["F7"]
    face_ids: list[int]
    person: str | None  # where they are now ("P12"), if in a person
    name: str | None
    text: str  # what was done, in the owner's words
    undo: int  # the history entry
    people_removed: list[str] = field(default_factory=list)  # left with no face, gone


@dataclass(frozen=True, slots=True, eq=False)
class Suggestion(Result):
    """The named person unnamed faces most look like, and why: how many of that person's
    photos (and videos) have a face like them, above the library's calibrated threshold."""

    person: str  # "P12"
    person_id: int
    name: str
    photos: int
    score: float  # the best similarity
    text: str  # "looks like Grandma in 12 photos"


@dataclass(frozen=True, slots=True, eq=False)
class SeenIn(Result):
    """A photo (or a video's moment) an unnamed face is in, and the link that opens it."""

    photo_id: int
    face_id: int
    media: str  # "photo" or "video"
    taken_at: str | None
    start: float | None  # videos: when the appearance starts (seconds)
    link: str  # /photos/12, or /photos/12?t=31&face=7 for a video's moment


@dataclass(frozen=True, slots=True, eq=False)
class UnnamedGroup(Result):
    """Faces nobody has named: an unnamed person Regard grouped, or one face alone."""

    key: str  # "P12" (a person) or "F7" (a face in no person)
    person: str | None  # "P12" when the faces are a person
    face: str  # the best of them, shown first
    face_id: int
    faces: int
    photos: int  # photos and videos
    face_ids: list[int]
    seen_in: list[SeenIn]  # the first few, best face first
    suggestion: Suggestion | None


@dataclass(frozen=True, slots=True, eq=False)
class WhoIsThis(Result):
    """The queue of unnamed faces, largest groups first, then the best faces."""

    total: int  # groups in the queue
    offset: int
    groups: list[UnnamedGroup]
    threshold: float  # the similarity a suggestion needs (calibrated, as search)
