"""People: how the owner refers to persons (P12 or a name) and faces (F7), and what the people
service answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from regard.domain.moments import PersonMoment
from regard.domain.result import Result
from regard.errors import FaceNotFoundError, PersonNotFoundError

_PERSON_ID = re.compile(r"^[Pp](\d+)$")
_FACE_ID = re.compile(r"^[Ff]?(\d+)$")
#: The largest id the catalog can hold (SQLite's INTEGER): a bigger one names nothing.
MAX_ID = 2**63 - 1


def person_label(person_id: int) -> str:
    return f"P{person_id}"


def face_label(face_id: int) -> str:
    return f"F{face_id}"


def parse_person_ref(ref: str) -> int | str:
    """`P12` -> 12; anything else is a name. An id past `MAX_ID` names nobody."""
    m = _PERSON_ID.match(ref.strip())
    if not m:
        return " ".join(ref.split())
    person_id = int(m.group(1))
    if person_id > MAX_ID:
        raise PersonNotFoundError(ref)
    return person_id


def parse_face_refs(text: str) -> list[int]:
    """`F1,F7` or `1, 7` -> [1, 7]."""
    out = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        m = _FACE_ID.match(part)
        if not m or int(m.group(1)) > MAX_ID:
            raise FaceNotFoundError(part)
        out.append(int(m.group(1)))
    return out


# --- what the people service answers (see `regard.domain.result`) ---------------------------


@dataclass(frozen=True, slots=True, eq=False)
class PersonSummary(Result):
    """A person in the list of people, with their cover face."""

    id: int
    name: str | None
    confirmed: bool
    cover_face_id: int | None
    faces: int
    photos: int
    confirmed_faces: int
    cover_path: str | None  # the cover's photo on the disk (for the command line)
    cover_box: list[float] | None
    person: str  # "P12"
    cover_face: str | None  # "F7"
    hidden: bool = False  # kept, but out of the way on the People page
    videos: int = 0  # of `photos` (photos and videos they are in), how many are videos


@dataclass(frozen=True, slots=True, eq=False)
class PersonInfo(Result):
    person: str  # "P12"
    id: int
    name: str | None
    confirmed: bool
    faces: int
    photos: int
    cover_face: str | None


@dataclass(frozen=True, slots=True, eq=False)
class PersonFace(Result):
    face: str  # "F7"
    face_id: int
    box: list[float]
    assigned_by: str | None
    low_quality: bool


@dataclass(frozen=True, slots=True, eq=False)
class PersonPhoto(Result):
    photo_id: int
    path: str
    taken_at: str | None
    faces: list[PersonFace]


@dataclass(frozen=True, slots=True, eq=False)
class PersonPage(PersonInfo):
    """A person with their photos and faces, and their moments in videos."""

    photo_list: list[PersonPhoto]
    moment_list: list[PersonMoment] = field(default_factory=list)


@dataclass(frozen=True, slots=True, eq=False)
class PersonCorrected(PersonInfo):
    """A person after a merge, a split or a rejection, and the history entry that undoes it."""

    undo: int
    removed: bool = False  # a rejection took their last face: they are gone

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(PersonInfo)}
        if self.removed:
            out["removed"] = True
        out["undo"] = self.undo
        return out


@dataclass(frozen=True, slots=True, eq=False)
class HistoryEntry(Result):
    entry: int
    at: str
    action: str
    text: str
    undone: bool
    can_undo: bool
    why_not: str | None


@dataclass(frozen=True, slots=True, eq=False)
class Undone(Result):
    undone: int  # the history entry undone
    action: str
    text: str
    person: str | None  # the person to show afterwards, if there is one


@dataclass(frozen=True, slots=True, eq=False)
class PersonDeleted(Result):
    deleted: str  # "P12"
    name: str | None
    faces_unassigned: int
    entry: int


@dataclass(frozen=True, slots=True, eq=False)
class Regrouped(Result):
    faces: int
    people: int
    faces_in_people: int
    unassigned: int
    people_removed: int


def mentioned(detail: dict[str, Any]) -> set[int]:
    """The persons a history entry is about (where a name of theirs may be written)."""
    found = {detail[k] for k in ("person", "into", "from", "to") if isinstance(detail.get(k), int)}
    state = detail.get("before")
    if isinstance(state, dict):
        found |= {int(pid) for pid, _row in state.get("persons", [])}
    return found
