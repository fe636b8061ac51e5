"""Undoing the owner's corrections to people, and telling the history of them.

A merge, a split or a rejection is recorded with the state of every person, face and
rejection it touched, before and after (`PeopleState`). Undoing it puts back the "before"
values of what the correction changed — and only if those values are still what it left:
where a later decision of the owner changed the same thing, the undo is refused and says
which. Regard's own regrouping does not count as a decision: a face it moved since goes
back all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from regard.domain.people import HistoryEntry, PersonDeleted, Undone, face_label, person_label
from regard.errors import PeopleActionError
from regard.privacy.audit import AuditLog
from regard.storage.people_catalog import PeopleState, PersonRow, name_key
from regard.storage.repositories import PeopleRepository, Store

#: The corrections that can be undone.
UNDOABLE = ("merge", "split", "reject", "assign", "not_a_person", "hide", "unhide", "cover")
_PERSON_FIELDS = ("name", "confirmed", "merged_into", "hidden", "chosen_cover_face_id")
#: What a field is when an entry from before it was kept does not say.
_DEFAULTS: dict[str, Any] = {"hidden": False, "chosen_cover_face_id": None, "not_a_person": False}


def who(person_id: int, row: dict[str, Any] | None) -> str:
    """A person as the history shows them: their name then (and number), or the number."""
    name = row.get("name") if row else None
    return f"{name} ({person_label(person_id)})" if name else person_label(person_id)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe(entry: dict[str, Any], undone: dict[int, dict[str, Any]] | None = None) -> str:
    """One line about a history entry, in the owner's words (`undone`: the entries undos
    refer to, to say what they undid)."""
    d, action = entry["detail"], entry["action"]
    before = d.get("before")
    persons = dict(before["persons"]) if before else {}

    def label(pid: int | None) -> str:
        return who(pid, persons.get(pid)) if pid is not None else "someone"

    if action == "merge":
        faces = _plural(d["faces"], "face")
        text = f"{label(d.get('from'))} joined {label(d.get('into'))}: {faces}"
        for dropped in d.get("dropped", []):
            text += f"; the name {dropped!r} was dropped"
        return text + "."
    if action == "split":
        n = len(d.get("faces", []))
        return f"{_plural(n, 'face')} of {label(d.get('from'))} became a new person, P{d['to']}."
    if action == "reject":
        text = f"{face_label(d['face'])} is not {label(d.get('person'))}"
        if d.get("removed"):
            text += f"; {label(d.get('person'))} had no other face and went"
        return text + "."
    if action == "name":
        return f"P{d['person']} named {d.get('name')!r}."
    if action == "assign":
        faces = ", ".join(face_label(f) for f in d.get("faces", []))
        text = f"{faces} {'is' if len(d.get('faces', [])) == 1 else 'are'} {label(d['person'])}"
        if d.get("new_name"):
            text = f"{faces}: a new person, {d['new_name']!r} (P{d['person']})"
        return text + "."
    if action == "not_a_person":
        return f"{face_label(d['face'])} is not a face of anyone (a false detection)."
    if action in ("hide", "unhide"):
        return f"{label(d['person'])} {'hidden' if action == 'hide' else 'shown again'}."
    if action == "cover":
        return f"{face_label(d['face'])} chosen as the cover of {label(d['person'])}."
    if action == "recluster":
        n = d.get("people", 0)
        return f"Every face regrouped: {n} {'person' if n == 1 else 'people'}."
    if action == "delete":
        return (
            f"P{d['person']} deleted, with their name; "
            f"{_plural(d.get('faces', 0), 'face')} left in no person."
        )
    if action == "undo":
        target = (undone or {}).get(int(d["undid"]))
        if target is None:
            return f"Undone: a {d.get('of', 'correction')} no longer in the history."
        return f"Undone: {describe(target)}"
    return f"{action}."


@dataclass(frozen=True, slots=True)
class Change:
    """What a correction changed: the before and after of each thing it changed."""

    before: PeopleState
    after: PeopleState

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Change:
        d = entry["detail"]
        return cls(PeopleState.from_json(d["before"]), PeopleState.from_json(d["after"]))

    def persons(self) -> dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
        out = {}
        for pid in self.before.persons.keys() | self.after.persons.keys():
            b, a = self.before.persons.get(pid), self.after.persons.get(pid)
            if _fields(b) != _fields(a):
                out[pid] = (b, a)
        return out

    def faces(self) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
        return {
            fid: (b, self.after.faces[fid])
            for fid, b in self.before.faces.items()
            if fid in self.after.faces and _place(b) != _place(self.after.faces[fid])
        }

    def rejections(self) -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], str]]:
        """(added, removed) by the correction."""
        b, a = self.before.rejections, self.after.rejections
        return (
            {k: v for k, v in a.items() if k not in b},
            {k: v for k, v in b.items() if k not in a},
        )


def _fields(row: dict[str, Any] | None) -> tuple[Any, ...] | None:
    return None if row is None else tuple(row.get(k, _DEFAULTS.get(k)) for k in _PERSON_FIELDS)


def _place(face: dict[str, Any]) -> tuple[Any, Any, Any]:
    return face["person_id"], face["assigned_by"], face.get("not_a_person", False)


def _merged(row: dict[str, Any] | None) -> bool:
    return bool(row and row["merged_into"] is not None)


def _owners(face: dict[str, Any]) -> bool:
    """Whether the face is where it is by the owner's decision (not Regard's grouping)."""
    return face["person_id"] is not None and face["assigned_by"] == "owner"


def undone_entries(people: PeopleRepository) -> set[int]:
    return {int(e["detail"]["undid"]) for e in people.history() if e["action"] == "undo"}


def why_not(people: PeopleRepository, entry: dict[str, Any], undone: set[int]) -> str | None:
    """Why this entry cannot be undone now (None: it can)."""
    n = entry["id"]
    if entry["action"] not in UNDOABLE:
        return f"#{n} is a {entry['action']}, which cannot be undone."
    if n in undone:
        return f"#{n} was undone already."
    if "before" not in entry["detail"]:
        return f"#{n} was made by an earlier version of Regard, which kept too little to undo it."
    change = Change.of(entry)
    persons = change.persons()
    faces = change.faces()
    added, removed = change.rejections()
    now = people.state(
        change.before.persons.keys() | change.after.persons.keys(), change.before.faces.keys()
    )
    later = f"Undo the later changes to them first (newest first), or correct it by hand. (#{n})"
    for pid, (_b, a) in sorted(persons.items()):
        current = now.persons.get(pid)
        if _fields(current) == _fields(a):
            continue
        if a is not None and current is None:
            return f"{who(pid, a)} no longer exists. {later}"
        if a is None:
            return f"The number {person_label(pid)} belongs to someone else now. {later}"
        assert current is not None
        if current["merged_into"] != a["merged_into"]:
            return f"{who(pid, a)} was merged with someone since. {later}"
        if current["name"] != a["name"]:
            return f"{who(pid, a)} was renamed since. {later}"
        return f"{who(pid, a)} was hidden, shown or given another cover since. {later}"
    for fid, (b, a) in sorted(faces.items()):
        current = now.faces.get(fid)
        if current is None:
            return f"{face_label(fid)} is no longer in the library. {later}"
        if b["person_id"] is not None and current["biometric"] != "kept":
            return (
                f"The face data of {face_label(fid)} was removed since (an opt-out, a "
                "withdrawal or an erasure): it cannot join a person again."
            )
        if _place(current) != _place(a) and (
            _owners(current) or _owners(a) or current.get("not_a_person") or a.get("not_a_person")
        ):
            where = current["person_id"]
            moved = f"moved to {person_label(where)}" if where else "taken out of its person"
            if current.get("not_a_person"):
                moved = "marked as not a person"
            return f"{face_label(fid)} was {moved} since. {later}"
    for face, person in sorted(added):
        if (face, person) not in now.rejections:
            return f"{face_label(face)} was put back in {person_label(person)} since. {later}"
    for face, person in sorted(removed):
        if (face, person) in now.rejections:
            return f"{face_label(face)} was rejected from {person_label(person)} again. {later}"
    for pid, (was, became) in persons.items():
        if was is None:  # made by the correction: undoing it removes them
            if any(r not in change.after.persons for r in people.redirects_to(pid)):
                return f"Someone was merged into {person_label(pid)} since. {later}"
            if people.rejections_by(pid) - set(change.after.rejections):
                return f"A face was rejected from {person_label(pid)} since. {later}"
        elif was.get("name") and (became is None or became.get("name") != was["name"]):
            holder = people.by_name(was["name"])
            if holder is not None and holder.id not in persons:
                return (
                    f"The name {was['name']!r} is {person_label(holder.id)}'s now: rename "
                    f"{person_label(holder.id)} first."
                )
    return None


def apply_undo(people: PeopleRepository, entry: dict[str, Any]) -> set[int]:
    """Put back what the correction changed (in the caller's transaction); returns the
    persons there are after it, whose covers may need a look."""
    change = Change.of(entry)
    persons = change.persons()
    faces = change.faces()
    added, removed = change.rejections()
    # Names are unique: clear every name that changes before giving any back.
    for pid in persons:
        row = people.get(pid)
        if row is not None and row.name:
            people.set_name(pid, None)
    # A person merged into another comes after the other (foreign keys).
    for pid, (b, _a) in sorted(persons.items(), key=lambda p: (_merged(p[1][0]), p[0])):
        if b is not None:
            people.put_person(pid, b)
    for fid, (b, _a) in faces.items():
        people.put_face(fid, b["person_id"], b["assigned_by"], b.get("not_a_person", False))
    for face, person in added:
        people.put_rejection(face, person, None)
    for (face, person), at in removed.items():
        if people.get(person) is not None:
            people.put_rejection(face, person, at)
    for pid, (b, _a) in persons.items():
        if b is None:
            # Faces Regard grouped into it since are grouped afresh.
            people.release(people.face_ids_of(pid))
            people.put_person(pid, None)
    # Everyone the correction touched who is there again (or still): their covers are looked at.
    there = {pid for pid, row in change.before.persons.items() if row is not None}
    there |= {b["person_id"] for b, _a in faces.values() if b["person_id"] is not None}
    there = {pid for pid in there if people.get(pid) is not None}
    clash = people.twice_in_a_photo(sorted(there))
    if clash:
        person, photo = clash
        raise PeopleActionError(
            f"Undoing #{entry['id']} would put {person_label(person)} twice in photo {photo}, "
            "and one person cannot be twice in one photo: correct it by hand instead."
        )
    return there


def history(people: PeopleRepository, limit: int) -> list[HistoryEntry]:
    undone = undone_entries(people)
    targets = {
        int(e["detail"]["undid"]): people.history_entry(int(e["detail"]["undid"]))
        for e in people.history(limit)
        if e["action"] == "undo"
    }
    found = {k: v for k, v in targets.items() if v is not None}
    out = []
    for e in reversed(people.history(limit)):
        problem = why_not(people, e, undone) if e["action"] in UNDOABLE else None
        out.append(
            HistoryEntry(
                entry=e["id"],
                at=e["at"],
                action=e["action"],
                text=describe(e, found),
                undone=e["id"] in undone,
                can_undo=e["action"] in UNDOABLE and problem is None,
                why_not=problem,
            )
        )
    return out


def undo(
    catalog: Store,
    audit: AuditLog,
    actor: str,
    people: PeopleRepository,
    entry_id: int | None,
    refresh_covers: Callable[[set[int]], None],
) -> Undone:
    undone = undone_entries(people)
    if entry_id is None:
        candidates = [
            e for e in people.history() if e["action"] in UNDOABLE and e["id"] not in undone
        ]
        if not candidates:
            raise PeopleActionError("There is no correction left to undo.")
        entry = candidates[-1]
    else:
        found = people.history_entry(entry_id)
        if found is None:
            raise PeopleActionError(f"There is no correction #{entry_id} in the history.")
        entry = found
    problem = why_not(people, entry, undone)
    if problem:
        raise PeopleActionError(f"Cannot undo #{entry['id']}: {problem}")
    with catalog.transaction():
        there = apply_undo(people, entry)
        # Each person's cover as it was, if that face is theirs still; else one of theirs.
        before = Change.of(entry).before.persons
        stale = set()
        for pid in there:
            was = (before.get(pid) or {}).get("cover_face_id")
            if was in people.face_ids_of(pid):
                people.set_cover(pid, was)
            elif (row := people.get(pid)) and row.cover_face_id not in people.face_ids_of(pid):
                stale.add(pid)
        refresh_covers(stale)
        people.remove_empty()
        people.record("undo", {"undid": entry["id"], "of": entry["action"]})
        audit.record(
            "undo",
            actor=actor,
            subject=",".join(person_label(p) for p in sorted(there)) or None,
            detail={"undid": entry["id"], "of": entry["action"]},
        )
    d = entry["detail"]
    show = d.get("into") or d.get("from") or d.get("person")
    return Undone(
        undone=entry["id"],
        action=entry["action"],
        text=describe(entry),
        person=person_label(show) if show and people.get(show) else None,
    )


def kept_name(keep: PersonRow, other: PersonRow, wanted: str | None) -> str | None:
    """The name a merge keeps: the only one there is, or the one chosen when both are named."""
    if keep.name and other.name and wanted is None:
        both = f"{who_is(keep)} and {who_is(other)} both have a name"
        raise PeopleActionError(
            f"{both}: say which one to keep with --keep-name.",
            web=f"{both}: choose which one to keep.",
        )
    if wanted is None:
        return keep.name or other.name
    for name in (keep.name, other.name):
        if name and name_key(name) == name_key(wanted):
            return name
    names = " or ".join(repr(n) for n in (keep.name, other.name) if n) or "neither is named"
    raise PeopleActionError(
        f"{wanted!r} is not the name of either person ({names}): the name kept is one of "
        "theirs; rename them after merging."
    )


def who_is(person: PersonRow) -> str:
    return who(person.id, {"name": person.name})


def remember(
    people: PeopleRepository, action: str, detail: dict[str, Any], before: PeopleState
) -> int:
    """Record a correction with the state it changed, before and after (to undo it)."""
    after = people.state(before.persons.keys() | set(detail.get("new", [])), before.faces.keys())
    for pid in after.persons:
        before.persons.setdefault(pid, None)  # made by the correction
    return people.record(action, {**detail, "before": before.as_json(), "after": after.as_json()})


def delete(
    catalog: Store, audit: AuditLog, actor: str, people: PeopleRepository, person: PersonRow
) -> PersonDeleted:
    """A person and their name go, with the corrections that name them (so not undone);
    their faces stay, in no person."""
    if people.enrolled(person.id):
        enrolled = (
            f"{who_is(person)} is enrolled by consent (the face data of their enrolment photo "
            "is kept): withdraw their consent, or erase them"
        )
        raise PeopleActionError(
            f"{enrolled} (`regard erase`), instead.",
            web=f"{enrolled}, on the Consent & rights page instead.",
        )
    faces = people.face_ids_of(person.id)
    with catalog.transaction():
        people.forget_history([person.id, *people.redirects_to(person.id)])
        people.delete_person(person.id)
        entry = people.record("delete", {"person": person.id, "faces": len(faces)})
        audit.record(
            "delete-person",
            actor=actor,
            subject=person_label(person.id),
            result_count=len(faces),
        )
    return PersonDeleted(
        deleted=person_label(person.id),
        name=person.name,
        faces_unassigned=len(faces),
        entry=entry,
    )
