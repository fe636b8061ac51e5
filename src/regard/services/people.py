"""People: grouping faces into persons, and the owner's corrections to it.

The rules live in `regard.pipeline.cluster`; this service feeds them from the catalog, writes
their decisions back in transactions, and turns the owner's commands (name, merge, split,
reject) into the hard constraints the rules honour: any action on a person confirms it, so
its faces become the owner's and no regrouping or model change moves them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from regard.domain.people import (
    HistoryEntry,
    PersonCorrected,
    PersonDeleted,
    PersonFace,
    PersonInfo,
    PersonPage,
    PersonPhoto,
    PersonSummary,
    Regrouped,
    Undone,
    face_label,
    parse_person_ref,
    person_label,
)
from regard.domain.privacy import Policy, Purpose
from regard.domain.result import vars_of
from regard.errors import (
    ConsentRequiredError,
    FaceNotFoundError,
    NameTakenError,
    PeopleActionError,
    PersonNotFoundError,
)
from regard.inference.calibration import Calibration
from regard.pipeline.cluster import FaceSet, GroupingParams, regroup
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate, Withheld, nothing_withheld
from regard.services import corrections
from regard.services.grouping import Grouping, GroupingSummary
from regard.services.moments import person_moments
from regard.storage.arrays import positions
from regard.storage.people_catalog import PersonRow
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore


class PeopleService:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        calibration: Calibration,
        params: GroupingParams | None = None,
        withheld: Withheld = nothing_withheld,
    ) -> None:
        self.catalog = catalog
        self.people = catalog.people
        self.vectors = vectors
        self.model = vectors.model
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.calibration = calibration
        self.withheld = withheld
        self.params = params or GroupingParams()
        #: New faces into people, and people's covers.
        self.grouping = Grouping(
            catalog=catalog, vectors=vectors, audit=audit, policy=policy, params=self.params
        )

    # --- keeping in step with the catalog ---------------------------------------------------

    def forget(self) -> None:
        self.grouping.forget()

    def sync(self) -> None:
        self.grouping.sync()

    def group_pending(self) -> GroupingSummary:
        """Decide for every face not yet grouped (see `Grouping.group_pending`)."""
        return self.grouping.group_pending()

    def fix_covers(self) -> None:
        """Covers chosen again where faces left people (see `Grouping.fix_covers`)."""
        self.grouping.fix_covers()

    def _refresh_covers(self, person_ids: set[int]) -> None:
        self.grouping.refresh_covers(person_ids)

    # --- looking ---------------------------------------------------------------------------

    def summaries(self) -> list[PersonSummary]:
        """Every person with their counts and cover. Looking writes nothing: covers are put
        right where faces leave people (`fix_covers`)."""
        rows = self.people.summaries()
        if self.catalog.codec.sealer is not None:
            for r in rows:
                if r["faces"] and r["cover_face_id"] is None:
                    # Not chosen yet (a crash came between): shown, not written.
                    self.grouping.show_cover(r, self.grouping.best_cover(r["id"]))
        return [
            PersonSummary(
                **s,
                person=person_label(s["id"]),
                cover_face=face_label(s["cover_face_id"]) if s["cover_face_id"] else None,
            )
            for s in rows
        ]

    def resolve(self, ref: str) -> PersonRow:
        key = parse_person_ref(ref)
        row = self.people.get(key) if isinstance(key, int) else self.people.by_name(key)
        seen = set()
        while row is not None and row.merged_into is not None and row.id not in seen:
            seen.add(row.id)
            row = self.people.get(row.merged_into)
        if row is None:
            raise PersonNotFoundError(ref)
        return row

    def describe(self, person: PersonRow) -> PersonInfo:
        faces = self.people.faces_of(person.id)
        return PersonInfo(
            person=person_label(person.id),
            id=person.id,
            name=person.name,
            confirmed=person.confirmed,
            faces=len(faces),
            photos=len({f.photo_id for f in faces}),
            cover_face=face_label(person.cover_face_id) if person.cover_face_id else None,
        )

    def _corrected(self, person: PersonRow, undo: int) -> PersonCorrected:
        """`person` as they are after a correction (recorded as history entry `undo`)."""
        info = self.describe(self.resolve(person_label(person.id)))
        return PersonCorrected(**vars_of(info), undo=undo)

    def show(self, ref: str) -> PersonPage:
        person = self.resolve(ref)
        info = self.describe(person)
        by_photo: dict[int, PersonPhoto] = {}
        shown = self.policy.path_namer(self.acting.actor)
        faces = self.people.faces_of(person.id)
        # Faces of videos are their moments, listed apart from the photos.
        moments = person_moments(self.catalog, shown, faces)
        for f in faces:
            if f.face_id in moments:
                continue
            entry = by_photo.setdefault(
                f.photo_id, PersonPhoto(f.photo_id, shown(f.path), f.taken_at, [])
            )
            entry.faces.append(
                PersonFace(
                    face=face_label(f.face_id),
                    face_id=f.face_id,
                    box=f.box.as_list(),
                    assigned_by=f.assigned_by,
                    low_quality=f.low_quality,
                )
            )
        return PersonPage(
            **vars_of(info),
            photo_list=list(by_photo.values()),
            moment_list=sorted(moments.values(), key=lambda m: (m.path, m.start)),
        )

    # --- the owner's corrections -------------------------------------------------------------

    def name(self, ref: str, name: str) -> PersonInfo:
        person = self.resolve(ref)
        clean = " ".join(name.split())
        if not clean:
            raise PeopleActionError("A name cannot be empty.")
        holder = self.people.by_name(clean)
        if holder is not None and holder.id != person.id:
            raise NameTakenError(clean, person_label(holder.id), holder.name)
        if self.policy.current is Policy.ORGANISATION:
            named = PersonRow(person.id, clean, True, None, None)
            if not (
                self.policy.allowed(named, Purpose.GROUPING)
                or self.policy.allowed(named, Purpose.SEARCH)
            ):
                raise ConsentRequiredError(clean, Purpose.GROUPING.value, Policy.ORGANISATION.value)
        with self.catalog.transaction():
            self.people.set_name(person.id, clean)
            self.people.confirm(person.id)
            self.people.record(
                "name", {"person": person.id, "name": clean, "attested_by": self.acting.name}
            )
            self.audit.record(
                "name",
                actor=self.acting.name,
                purpose=Purpose.GROUPING.value,
                subject=person_label(person.id),
                detail={"attested_by": self.acting.name, "policy": self.policy.current.value},
            )
        self.grouping.forget()
        return self.describe(self.resolve(person_label(person.id)))

    def merge(self, keep_ref: str, other_ref: str, keep_name: str | None = None) -> PersonCorrected:
        """`other`'s faces join `keep`. When both are named, `keep_name` says which name stays
        (the other is dropped, and said so); it is never chosen silently."""
        keep, other = self.resolve(keep_ref), self.resolve(other_ref)
        if keep.id == other.id:
            raise PeopleActionError(f"{keep_ref} and {other_ref} are already the same person.")
        keep_photos = {f.photo_id for f in self.people.faces_of(keep.id)}
        clash = sorted(keep_photos & {f.photo_id for f in self.people.faces_of(other.id)})
        if clash:
            both = (
                f"{corrections.who_is(keep)} and {corrections.who_is(other)} are both in "
                f"{len(clash)} photo(s) (e.g. photo {clash[0]}): one person cannot be twice in "
                "one photo."
            )
            raise PeopleActionError(
                f"{both} Reject the wrong face first (`regard people reject`).",
                web=f"{both} Open that photo's person and use “Not …” on the wrong face first.",
            )
        name = corrections.kept_name(keep, other, keep_name)
        dropped = [n for n in (keep.name, other.name) if n and n != name]
        touched = {keep.id, other.id, *self.people.redirects_to(other.id)}
        faces = self.people.face_ids_of(keep.id) + self.people.face_ids_of(other.id)
        before = self.people.state(touched, faces)
        with self.catalog.transaction():
            if name != keep.name:
                self.people.set_name(other.id, None)
                self.people.set_name(keep.id, name)
            moved = self.people.merge(other.id, keep.id)
            self.people.confirm(keep.id)
            self._refresh_covers({keep.id})
            entry = corrections.remember(
                self.people,
                "merge",
                {"into": keep.id, "from": other.id, "faces": moved, "dropped": dropped},
                before,
            )
            self.audit.record(
                "merge",
                actor=self.acting.name,
                subject=f"{person_label(keep.id)},{person_label(other.id)}",
                result_count=moved,
            )
        self.grouping.forget()
        return self._corrected(keep, entry)

    def split(self, ref: str, face_ids: Sequence[int]) -> PersonCorrected:
        person = self.resolve(ref)
        members = {f.face_id for f in self.people.faces_of(person.id)}
        self._check_faces(face_ids)
        outside = [f for f in face_ids if f not in members]
        if outside:
            not_in = f"{face_label(outside[0])} is not in {person_label(person.id)}"
            raise PeopleActionError(
                f"{not_in}; `regard people show {person_label(person.id)}` lists its faces.",
                web=f"{not_in} (any more): reload the page to see its faces.",
            )
        if set(face_ids) == members:
            raise PeopleActionError(
                "Those are all of its faces: nothing would be left. To rename, use "
                "`regard people name`.",
                web="Those are all of its faces: nothing would be left. To rename this person, "
                "use Save name.",
            )
        before = self.people.state({person.id}, members)
        with self.catalog.transaction():
            new_id = self.people.create(confirmed=True)
            self.people.assign(face_ids, new_id, "owner")
            # Both sides are now the owner's: a regrouping never joins them again.
            self.people.confirm(person.id)
            self.people.confirm(new_id)
            entry = corrections.remember(
                self.people,
                "split",
                {"from": person.id, "to": new_id, "faces": list(face_ids), "new": [new_id]},
                before,
            )
            self.audit.record(
                "split",
                actor=self.acting.name,
                subject=f"{person_label(person.id)},{person_label(new_id)}",
                result_count=len(face_ids),
            )
            self._refresh_covers({person.id, new_id})
        self.grouping.forget()
        return self._corrected(self.resolve(person_label(new_id)), entry)

    def reject(self, ref: str, face_id: int) -> PersonCorrected:
        """This face is not this person: it leaves them and never joins them again. A person
        left with no face (and not enrolled by consent) goes; undoing brings them back."""
        person = self.resolve(ref)
        self._check_faces([face_id])
        if self.people.face_person(face_id) != person.id:
            raise PeopleActionError(
                f"{face_label(face_id)} is not in {person_label(person.id)}; nothing to reject."
            )
        touched = {person.id, *self.people.redirects_to(person.id)}
        before = self.people.state(touched, self.people.face_ids_of(person.id))
        with self.catalog.transaction():
            self.people.reject(face_id, person.id)
            self.people.confirm(person.id)
            removed = not self.people.face_ids_of(person.id) and not self.people.enrolled(person.id)
            if removed:
                self.people.delete_person(person.id)
            else:
                self._refresh_covers({person.id})
            entry = corrections.remember(
                self.people,
                "reject",
                {"person": person.id, "face": face_id, "removed": removed},
                before,
            )
            self.audit.record(
                "reject",
                actor=self.acting.name,
                subject=f"{person_label(person.id)},{face_label(face_id)}",
            )
        self.grouping.forget()
        if removed:
            gone = {**vars_of(self.describe(person)), "cover_face": None}
            return PersonCorrected(**gone, removed=True, undo=entry)
        return self._corrected(person, entry)

    def delete(self, ref: str) -> PersonDeleted:
        """The person and their name go; their faces stay, in no person. Not an erasure: the
        faces keep their face data (and a regrouping may gather them again, unnamed)."""
        done = corrections.delete(
            self.catalog, self.audit, self.acting.name, self.people, self.resolve(ref)
        )
        self.grouping.forget()
        return done

    # --- the history of corrections, and undoing them -----------------------------------------

    def history(self, limit: int = 50) -> list[HistoryEntry]:
        """The latest corrections, newest first, each with whether it can be undone now."""
        return corrections.history(self.people, limit)

    def undo(self, entry_id: int | None = None) -> Undone:
        """Undo a merge, a split or a rejection (by default the latest one not undone yet):
        what it changed is put back as it was, or nothing happens and the reason is given."""
        done = corrections.undo(
            self.catalog, self.audit, self.acting.name, self.people, entry_id, self._refresh_covers
        )
        self.grouping.forget()
        if self.catalog.codec.sealer is not None:
            # Faces Regard had grouped into a person the undo takes away are grouped afresh
            # now, not when someone next looks at the people.
            self.group_pending()
        return done

    def name_face(self, face_id: int, name: str) -> tuple[str, int | None]:
        """The owner says (through another program's metadata) that this face is `name`.

        Returns what happened: "named", "already", "refused_by_policy", "rejected_before" or
        "person_already_in_photo" (one person is never twice in one photo)."""
        clean = " ".join(name.split())
        person = self.people.by_name(clean)
        candidate = person or PersonRow(0, clean, True, None, None)
        if not self.policy.allowed(candidate, Purpose.GROUPING):
            return "refused_by_policy", None
        if person is not None:
            if self.people.face_person(face_id) == person.id:
                return "already", person.id
            if person.id in self.people.rejections().get(face_id, set()):
                return "rejected_before", None
            row = self.catalog.faces.row(face_id)
            assert row is not None
            if any(f.photo_id == row["photo_id"] for f in self.people.faces_of(person.id)):
                return "person_already_in_photo", None
        with self.catalog.transaction():
            if person is None:
                pid = self.people.create(confirmed=True)
                self.people.set_name(pid, clean)
                self.people.record(
                    "name",
                    {
                        "person": pid,
                        "name": clean,
                        "attested_by": self.acting.name,
                        "source": "xmp",
                    },
                )
            else:
                pid = person.id
            self.people.assign([face_id], pid, "owner")
            self._refresh_covers({pid})
        self.grouping.forget()
        return "named", pid

    def _check_faces(self, face_ids: Sequence[int]) -> None:
        for fid in face_ids:
            if not self.people.face_exists(fid):
                raise FaceNotFoundError(face_label(fid))

    # --- full regrouping -----------------------------------------------------------------------

    def recluster(self) -> Regrouped:
        """Group every face again from scratch; the owner's decisions are kept as they are."""
        if self.policy.current is Policy.ORGANISATION:
            raise PeopleActionError(
                "An organisation library has only consented people, formed from their consent "
                "enrolment: there is nothing to regroup."
            )
        self.sync()
        rows = self.people.grouping_rows(self.model.id)
        n = len(rows.ids)
        row_of = {int(fid): i for i, fid in enumerate(rows.ids.tolist())}
        rejected: dict[int, frozenset[int]] = {
            row_of[fid]: frozenset(persons)
            for fid, persons in self.people.rejections().items()
            if fid in row_of
        }
        faces = FaceSet(
            rows.ids,
            rows.vectors,
            rows.photos,
            rows.low,
            np.where(rows.owner, rows.person, 0).astype(np.int64),
            rejected,
            rows.scenes_by_row(),
        )
        index = self.vectors.index
        if n:
            missing = [i for i, fid in enumerate(rows.ids.tolist()) if fid not in index]
            if missing:
                self.vectors.add(rows.ids[missing].tolist(), rows.vectors[missing])

        def knn(
            faces_asked: npt.NDArray[np.int64], k: int
        ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
            # All faces at once: the index refines its neighbour graph (exact-scored).
            ids, sims = index.knn_graph(rows.ids[faces_asked], k, floor=self.params.link)
            return positions(rows.ids, ids), sims

        grouping = regroup(faces, knn, self.params)
        previous = {i: int(p) for i, p in enumerate(rows.person.tolist()) if p}
        with self.catalog.transaction():
            self.people.reset_auto(rows.ids.tolist())
            label_to_person = self._persons_for(grouping.groups(), previous)
            assignments: dict[int, list[int]] = defaultdict(list)
            for i, label in enumerate(grouping.person.tolist()):
                if label and not rows.owner[i]:
                    assignments[label_to_person[label]].append(int(rows.ids[i]))
            for person, fids in assignments.items():
                self.people.assign(fids, person, "auto")
            self.people.mark_grouped(rows.ids.tolist())
            removed = len(self.people.remove_empty())
            self._refresh_covers(set(label_to_person.values()))
            summary = {
                "faces": n,
                "people": len(label_to_person),
                "faces_in_people": int(np.count_nonzero(grouping.person)),
                "unassigned": int(n - np.count_nonzero(grouping.person)),
                "people_removed": removed,
            }
            self.people.record("recluster", summary)
            self.audit.record(
                "recluster", actor=self.acting.name, result_count=summary["people"], detail=summary
            )
        self.grouping.forget()
        return Regrouped(**summary)

    def _persons_for(
        self, groups: dict[int, list[int]], previous: dict[int, int]
    ) -> dict[int, int]:
        """Owner persons keep their ids; a new group takes the id of the automatic person it
        overlaps most (so P-numbers do not churn), or a new one."""
        out = {label: label for label in groups if label > 0}
        taken = set(out.values())
        overlaps = []
        for label, members in groups.items():
            if label > 0:
                continue
            counts = Counter(previous[m] for m in members if m in previous)
            overlaps += [(c, label, p) for p, c in counts.items()]
        for _count, label, person in sorted(overlaps, key=lambda o: (-o[0], o[1], o[2])):
            if label in out or person in taken:
                continue
            row = self.people.get(person)
            if row is None or row.confirmed:
                continue
            out[label] = person
            taken.add(person)
        for label in sorted(groups):
            if label not in out:
                out[label] = self.people.create()
        return out
