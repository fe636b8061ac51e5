"""Naming faces where they are seen, and the "Who is this?" queue.

Any face can be given to someone: one in no person, one rejected by mistake, one seen in a
single photo, a video's appearance (a face of its video). The owner says a face is an
existing person, a new name, not a person at all (a false detection: out of grouping, counts
and suggestions), or someone else than the person it is in (a rejection: never grouped with
them again). Each is an owner's decision, a hard constraint for grouping, recorded in the
people history with what it changed, and undone from there (`regard.services.corrections`).

The rules that hold for naming a person hold here unchanged: a face whose data went (an
opt-out, a withdrawal, an erasure, expiry, no consent) is never named; the policy's consent
check for a name is the one `PeopleService.name` makes; a name is never given twice.

The queue's suggestions identify people, so they follow search's rules: the calibrated
threshold, only people the policy lets be searched for and grouped, never look-alikes of
someone who withdrew, and each look is written to the audit log as a search is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from regard.domain.naming import (
    ASSIGN,
    NOT_A_PERSON,
    SOMEONE_ELSE,
    FacesNamed,
    SeenIn,
    Suggestion,
    UnnamedGroup,
    WhoIsThis,
)
from regard.domain.people import PersonCorrected, face_label, person_label
from regard.domain.privacy import Policy, Purpose
from regard.domain.result import vars_of
from regard.errors import (
    ConsentRequiredError,
    FaceNotFoundError,
    NameTakenError,
    PeopleActionError,
)
from regard.services import corrections
from regard.services.people import PeopleService
from regard.services.search import SearchService
from regard.storage.people_catalog import PersonRow

#: Why a face cannot be named, by what became of its face data.
GONE = {
    "opted_out": "the person whose face it is opted out of being recognised, and that holds "
    "for good",
    "withdrawn": "the person whose face it is withdrew their consent, and their face data "
    "was deleted",
    "erased": "their face data was erased at their request, and it stays erased",
    "unconsented": "this library's policy needs the person's recorded consent before their "
    "face is kept",
    "expired": "its face data was removed when it expired under the library's retention rule",
}
#: How many faces of a group are looked up for a suggestion, and photos listed per group.
SUGGEST_FROM, SEEN_IN = 5, 8


class FaceNaming:
    def __init__(self, *, people: PeopleService, search: SearchService) -> None:
        self.people = people
        self.search = search
        self.catalog = people.catalog
        self.repo = people.people
        self.policy = people.policy
        self.audit = people.audit
        self.acting = people.acting

    # --- checks -------------------------------------------------------------------------------

    def _face(self, face_id: int) -> dict[str, Any]:
        row = self.catalog.faces.row(face_id)
        if row is None:
            raise FaceNotFoundError(face_label(face_id))
        return row

    def _nameable(self, row: dict[str, Any]) -> None:
        why = GONE.get(row["biometric"])
        if why is not None:
            raise PeopleActionError(f"{face_label(row['id'])} cannot be named: {why}.")

    def _may_group(self, person: PersonRow) -> None:
        """The check naming a person makes: the policy must let them be identified."""
        if self.policy.allowed(person, Purpose.GROUPING):
            return
        if self.policy.current is Policy.ORGANISATION and (
            self.policy.allowed(person, Purpose.SEARCH) if person.name else False
        ):
            return
        who = person.name or person_label(person.id)
        if self.policy.current is Policy.ORGANISATION and not self.policy.ledger(person.name):
            raise ConsentRequiredError(who, Purpose.GROUPING.value, self.policy.current.value)
        raise PeopleActionError(
            f"{who} has withdrawn consent to be recognised: no face can be given to them."
        )

    # --- the owner says who a face is ---------------------------------------------------------

    def assign(
        self, face_ids: Sequence[int], *, person: str | None = None, name: str | None = None
    ) -> FacesNamed:
        """These faces are `person` (P12 or an existing name), or someone new called `name`
        (a name someone has already raises `NameTakenError`: the owner is offered them)."""
        ids = list(dict.fromkeys(face_ids))
        if not ids:
            raise PeopleActionError("Choose at least one face.")
        if (person is None) == (name is None):
            raise PeopleActionError("Say who they are: a person, or a new name.")
        rows = [self._face(f) for f in ids]
        for row in rows:
            self._nameable(row)
        clean = " ".join((name or "").split())
        if person is not None:
            target: PersonRow | None = self.people.resolve(person)
        else:
            if not clean:
                raise PeopleActionError("A name cannot be empty.")
            holder = self.repo.by_name(clean)
            if holder is not None:
                raise NameTakenError(clean, person_label(holder.id), holder.name)
            target = None
        self._may_group(target or PersonRow(0, clean, True, None, None))
        if target is not None and all(r["person_id"] == target.id for r in rows):
            raise PeopleActionError(
                f"{_faces(ids)} {'is' if len(ids) == 1 else 'are'} "
                f"{target.name or person_label(target.id)} already."
            )
        photos = [r["photo_id"] for r in rows if not self._in_video(r["id"])]
        if len(photos) != len(set(photos)):
            raise PeopleActionError(
                "Two of those faces are in one photo: one person is never twice in one photo."
            )
        old = {r["person_id"] for r in rows if r["person_id"] is not None}
        touched = set(old)
        if target is not None:
            touched |= {target.id, *self.repo.redirects_to(target.id)}
        for pid in list(old):
            touched |= set(self.repo.redirects_to(pid))
        before = self.repo.state(touched, ids)
        with self.catalog.transaction():
            if target is None:
                pid = self.repo.create(confirmed=True)
                self.repo.set_name(pid, clean)
            else:
                pid = target.id
            for fid in ids:
                # The owner's word now: a rejection from this person made before goes.
                self.repo.put_rejection(fid, pid, None)
            self.repo.assign(ids, pid, "owner")
            self.repo.confirm(pid)
            clash = self.repo.twice_in_a_photo([pid])
            if clash:
                who = corrections.who_is(target) if target else repr(clean)
                video = bool(self.catalog.appearances.of_video(clash[1]))
                where = (
                    f"on screen at that moment of video {clash[1]}"
                    if video
                    else f"in photo {clash[1]}"
                )
                raise PeopleActionError(
                    f"{who} is already {where}: one person is never twice in one "
                    f"{'moment' if video else 'photo'}. Take the other face out of them first."
                )
            removed = self._leave(old - {pid})
            self.people.grouping.refresh_covers({pid})
            entry = corrections.remember(
                self.repo,
                "assign",
                {
                    "person": pid,
                    "faces": ids,
                    "new_name": None if target else clean,
                    "new": [] if target else [pid],
                    "removed": removed,
                },
                before,
            )
            self.audit.record(
                "name-face",
                actor=self.acting.name,
                purpose=Purpose.GROUPING.value,
                subject=",".join([person_label(pid), *(face_label(f) for f in ids)]),
                result_count=len(ids),
                detail={"attested_by": self.acting.name, "policy": self.policy.current.value},
            )
        self.people.grouping.forget()
        who = target.name if target and target.name else clean or person_label(pid)
        now = self.repo.get(pid)
        return FacesNamed(
            action=ASSIGN,
            faces=[face_label(f) for f in ids],
            face_ids=ids,
            person=person_label(pid),
            name=now.name if now else None,
            text=f"{_faces(ids)} {'is' if len(ids) == 1 else 'are'} {who} now.",
            undo=entry,
            people_removed=[person_label(p) for p in removed],
        )

    def confirm(self, face_id: int, person: str) -> FacesNamed:
        """A possible match of a search is `person` (P12 or their name): the owner's link,
        which grouping keeps (the face anchors them, so the photos between this one and
        theirs join them as they are indexed). Undone from the people history."""
        target = self.people.resolve(person)
        done = self.assign([face_id], person=person_label(target.id))
        who = target.name or person_label(target.id)
        return FacesNamed(**{**vars_of(done), "text": f"Confirmed: {_faces([face_id])} is {who}."})

    def not_a_person(self, face_id: int) -> FacesNamed:
        """This detection is no face (a pattern, a statue's face): out of its person, out of
        grouping, counts and suggestions; the history can undo it."""
        row = self._face(face_id)
        if row["not_a_person"]:
            raise PeopleActionError(f"{face_label(face_id)} is marked as not a person already.")
        old = row["person_id"]
        touched = {old, *self.repo.redirects_to(old)} if old else set()
        before = self.repo.state(touched, [face_id])
        with self.catalog.transaction():
            self.repo.set_not_a_person(face_id)
            removed = self._leave({old} if old else set())
            entry = corrections.remember(
                self.repo,
                "not_a_person",
                {"face": face_id, "person": old, "removed": removed},
                before,
            )
            self.audit.record("not-a-person", actor=self.acting.name, subject=face_label(face_id))
        self.people.grouping.forget()
        return FacesNamed(
            action=NOT_A_PERSON,
            faces=[face_label(face_id)],
            face_ids=[face_id],
            person=None,
            name=None,
            text=f"{face_label(face_id)} is not a person: it is left out of people and counts.",
            undo=entry,
            people_removed=[person_label(p) for p in removed],
        )

    def someone_else(self, face_id: int) -> FacesNamed:
        """This face is not the person it is in: it leaves them, and is never grouped with
        them again (a rejection; the history can undo it)."""
        row = self._face(face_id)
        if row["person_id"] is None:
            raise PeopleActionError(
                f"{face_label(face_id)} is in no person: there is nobody to take it from. "
                "Name it, or say it is not a person."
            )
        person = self.repo.get(int(row["person_id"]))
        assert person is not None
        done: PersonCorrected = self.people.reject(person_label(person.id), face_id)
        who = person.name or person_label(person.id)
        return FacesNamed(
            action=SOMEONE_ELSE,
            faces=[face_label(face_id)],
            face_ids=[face_id],
            person=None,
            name=None,
            text=f"{face_label(face_id)} is not {who}, and is never grouped with them again.",
            undo=done.undo,
            people_removed=[done.person] if done.removed else [],
        )

    def _leave(self, persons: set[int]) -> list[int]:
        """Persons faces left (in the caller's transaction): gone if no face is left (and no
        consent enrolment keeps them), else their covers are looked at again."""
        removed = []
        for pid in sorted(persons):
            if not self.repo.face_ids_of(pid) and not self.repo.enrolled(pid):
                self.repo.delete_person(pid)
                removed.append(pid)
            else:
                self.people.grouping.refresh_covers({pid})
        return removed

    def _corrected(self, person: PersonRow, entry: int) -> PersonCorrected:
        info = self.people.describe(self.people.resolve(person_label(person.id)))
        return PersonCorrected(**vars_of(info), undo=entry)

    def _in_video(self, face_id: int) -> bool:
        return bool(self.catalog.appearances.of_faces([face_id]))

    # --- people as people expect ---------------------------------------------------------------

    def hide(self, ref: str, hidden: bool = True) -> PersonCorrected:
        """Keep a person, out of the way (or bring them back); undone from the history."""
        person = self.people.resolve(ref)
        action = "hide" if hidden else "unhide"
        before = self.repo.state({person.id}, [])
        with self.catalog.transaction():
            self.repo.set_hidden(person.id, hidden)
            entry = corrections.remember(self.repo, action, {"person": person.id}, before)
            self.audit.record(action, actor=self.acting.name, subject=person_label(person.id))
        return self._corrected(person, entry)

    def choose_cover(self, ref: str, face_id: int) -> PersonCorrected:
        """The face shown for a person: one of theirs, kept while it is."""
        person = self.people.resolve(ref)
        row = self._face(face_id)
        if row["person_id"] != person.id:
            raise PeopleActionError(
                f"{face_label(face_id)} is not one of {corrections.who_is(person)}'s faces."
            )
        self._nameable(row)
        before = self.repo.state({person.id}, [])
        with self.catalog.transaction():
            self.repo.choose_cover(person.id, face_id)
            entry = corrections.remember(
                self.repo, "cover", {"person": person.id, "face": face_id}, before
            )
            self.audit.record(
                "cover",
                actor=self.acting.name,
                subject=f"{person_label(person.id)},{face_label(face_id)}",
            )
        return self._corrected(person, entry)

    # --- who is this? ---------------------------------------------------------------------------

    def who_is_this(self, *, offset: int = 0, limit: int = 20) -> WhoIsThis:
        """Unnamed faces in groups (an unnamed person, or one face alone), largest first,
        then best; each with the photos it is in and the named person it most looks like."""
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.repo.unnamed_faces():
            key = person_label(r["person_id"]) if r["person_id"] else face_label(r["face_id"])
            groups[key].append(r)
        for faces in groups.values():
            faces.sort(key=lambda r: (bool(r["low_quality"]), -r["quality"], r["face_id"]))
        order = sorted(
            groups,
            key=lambda k: (
                -len({r["photo_id"] for r in groups[k]}),
                bool(groups[k][0]["low_quality"]),
                -groups[k][0]["quality"],
                k,
            ),
        )
        t, _source = self.search.threshold(None)
        page = order[offset : offset + limit]
        suggest = Suggester(self, t) if page else None
        out = []
        for key in page:
            faces = groups[key]
            seen: dict[int, SeenIn] = {}
            for r in faces:
                if r["photo_id"] not in seen and len(seen) < SEEN_IN:
                    seen[r["photo_id"]] = seen_in(r)
            out.append(
                UnnamedGroup(
                    key=key,
                    person=key if key.startswith("P") else None,
                    face=face_label(faces[0]["face_id"]),
                    face_id=faces[0]["face_id"],
                    faces=len(faces),
                    photos=len({r["photo_id"] for r in faces}),
                    face_ids=[r["face_id"] for r in faces],
                    seen_in=list(seen.values()),
                    suggestion=suggest.for_faces(faces) if suggest else None,
                )
            )
        if suggest is not None:
            suggest.audit(len(page))
        return WhoIsThis(total=len(order), offset=offset, groups=out, threshold=round(t, 4))


class Suggester:
    """The named person unnamed faces most look like: their nearest faces in the vector index
    above the calibrated threshold (search's own index and threshold), voted by photo; and
    the enrolment photo of a person who agreed with one (someone who agreed again after a
    withdrawal has that photo and no face yet: their faces come back as a group of their own)."""

    def __init__(self, naming: FaceNaming, threshold: float) -> None:
        self.naming = naming
        self.threshold = threshold
        repo, policy = naming.repo, naming.policy
        # Only people the policy lets be identified: search and grouping both allowed.
        self.named = {
            p.id: p
            for p in repo.live_people()
            if p.name and policy.allowed(p, Purpose.SEARCH) and policy.allowed(p, Purpose.GROUPING)
        }
        hidden = {s["id"] for s in repo.summaries() if s["hidden"]}
        for pid in hidden:
            self.named.pop(pid, None)
        self.photos = {pid: {f.photo_id for f in repo.faces_of(pid)} for pid in self.named}
        meta, vecs = naming.catalog.templates.vectors("enrolment", naming.people.model.id)
        mine = [i for i, (_tid, person, _o) in enumerate(meta) if person in self.named]
        self.enrolled = np.array([meta[i][1] for i in mine], np.int64)
        self.enrolments = vecs[mine]
        self.rejections = repo.rejections()
        self.suggested: set[int] = set()

    def for_faces(self, faces: list[dict[str, Any]]) -> Suggestion | None:
        if not self.named:
            return None
        naming = self.naming
        ids = [r["face_id"] for r in faces[:SUGGEST_FROM]]
        # Faces that look like someone who withdrew are theirs: nobody is suggested for them.
        if naming.people.withheld(ids, Purpose.SEARCH):
            return None
        own_photos = {r["photo_id"] for r in faces}
        rejected = set().union(*(self.rejections.get(r["face_id"], set()) for r in faces))
        _ids, vecs = naming.catalog.faces.embeddings(naming.people.model.id, ids)
        index = naming.people.vectors.index
        photos: dict[int, set[int]] = defaultdict(set)
        best: dict[int, float] = defaultdict(float)
        for vec in vecs:
            near = index.search(vec, threshold=self.threshold)
            hits = naming.catalog.faces.hits(near.ids.tolist())
            for n in near:
                pid = naming.repo.face_person(n.id)
                if pid is None or pid not in self.named or n.id not in hits:
                    continue
                photos[pid].add(hits[n.id].photo_id)
                best[pid] = max(best[pid], n.score)
        if len(self.enrolled) and len(vecs):
            scores = (vecs @ self.enrolments.T).max(axis=0)
            for pid, score in zip(self.enrolled.tolist(), scores.tolist(), strict=True):
                if score >= self.threshold:
                    photos.setdefault(pid, set())  # on their enrolment photo alone if need be
                    best[pid] = max(best[pid], score)
        fit = [pid for pid in photos if pid not in rejected and not (self.photos[pid] & own_photos)]
        if not fit:
            return None
        pid = max(fit, key=lambda p: (len(photos[p]), best[p], -p))
        self.suggested.add(pid)
        name = self.named[pid].name or person_label(pid)
        count = len(photos[pid])
        return Suggestion(
            person=person_label(pid),
            person_id=pid,
            name=name,
            photos=count,
            score=round(best[pid], 4),
            text=f"looks like {name} in {count} photo{'' if count == 1 else 's'}"
            if count
            else f"looks like the photo given with {name}'s consent",
        )

    def audit(self, groups: int) -> None:
        """Suggesting who a face is identifies: written to the audit log as a search is."""
        with self.naming.catalog.transaction():
            self.naming.audit.record(
                "suggest-names",
                actor=self.naming.acting.name,
                purpose=Purpose.SEARCH.value,
                subject=",".join(person_label(p) for p in sorted(self.suggested)) or None,
                result_count=len(self.suggested),
                detail={"groups": groups, "threshold": round(self.threshold, 4)},
            )


def seen_in(r: dict[str, Any]) -> SeenIn:
    """Where a face is seen, and the link that opens it (a video at the appearance)."""
    video = r["media"] == "video" and r["start_time"] is not None
    start = float(r["start_time"]) if video else None
    link = f"/photos/{r['photo_id']}"
    if video:
        link += f"?t={int(start or 0)}&face={r['face_id']}"
    return SeenIn(
        photo_id=r["photo_id"],
        face_id=r["face_id"],
        media=r["media"],
        taken_at=r["taken_at"],
        start=start,
        link=link,
    )


def _faces(ids: Sequence[int]) -> str:
    return ", ".join(face_label(f) for f in ids)
