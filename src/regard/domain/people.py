"""People: how the owner refers to persons (P12 or a name) and faces (F7)."""

from __future__ import annotations

import re

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
