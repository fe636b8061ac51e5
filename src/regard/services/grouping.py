"""Grouping: faces join people as they arrive, and each person's cover is the face most like
them. The rules live in `regard.pipeline.cluster` and `pipeline.grouper`; this feeds them from
the catalog and writes their decisions back, inside one transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from regard.domain.people import person_label
from regard.domain.privacy import Policy, Purpose
from regard.pipeline.cluster import GroupingParams
from regard.pipeline.grouper import IncrementalGrouper
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore

#: The most neighbours asked for beyond what the grouper wants, for vectors of faces in the
#: trash (which it passes over).
TRASHED_NEIGHBOURS = 200


@dataclass(frozen=True, slots=True)
class GroupingSummary:
    faces: int = 0
    joined: int = 0
    new_people: int = 0
    unassigned: int = 0


class Grouping:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        policy: PolicyGate,
        params: GroupingParams,
    ) -> None:
        self.catalog = catalog
        self.people = catalog.people
        self.vectors = vectors
        self.model = vectors.model
        self.audit = audit
        self.policy = policy
        self.params = params
        #: What the grouper knows of the grouped faces, kept between batches; None when
        #: something changed behind it (a correction, a vector gone), to be loaded again.
        self.grouper: IncrementalGrouper | None = None

    # --- keeping in step with the catalog ---------------------------------------------------

    def forget(self) -> None:
        self.grouper = None

    def sync(self) -> None:
        """Apply removed or changed vectors to the index; forget stale grouping state."""
        touched = self.catalog.faces.take_touched()
        if touched:
            self.vectors.refresh(touched)
            self.grouper = None

    def _load(self) -> IncrementalGrouper:
        rows = self.people.grouping_rows(self.model.id)
        index = self.vectors.index
        # The index holds the vectors of faces in the trash too, which the grouper passes
        # over: asked for that many more (up to a bound), the neighbours it keeps are as many.
        extra = min(self.catalog.trash.faces(self.model.id), TRASHED_NEIGHBOURS)
        grouper = IncrementalGrouper(
            self.model.dim,
            knn=lambda v, k: list(index.top_k(v, k + extra)),  # Neighbours: (id, score) tuples
            allocate=self.people.create,
            params=self.params,
            # Only consented people exist in an organisation library.
            allow_new=self.policy.current is Policy.HOUSEHOLD,
        )
        done = rows.grouped
        if done.any():
            grouper.load(
                rows.ids[done].tolist(),
                rows.vectors[done],
                rows.photos[done].tolist(),
                rows.low[done].tolist(),
                rows.person[done].tolist(),
                self.people.rejections(),
                owner=rows.owner[done].tolist(),
                scenes=rows.scenes,
            )
        return grouper

    def group_pending(self) -> GroupingSummary:
        """Decide for every face not yet grouped (new ones, and any a crash left behind). The
        pending faces are read inside the write transaction: no other writer groups or
        changes them between the read and the decisions written."""
        self.sync()
        with self.catalog.transaction():
            pending = self.people.grouping_rows(self.model.id, pending_only=True)
            if not len(pending.ids):
                return GroupingSummary()
            grouper = self.grouper or self._load()
            self.grouper = None  # until the transaction commits, memory may be ahead of the DB
            index = self.vectors.index
            missing = [i for i, fid in enumerate(pending.ids.tolist()) if fid not in index]
            if missing:
                self.vectors.add(pending.ids[missing].tolist(), pending.vectors[missing])
            joined = new = alone = 0
            touched_people: set[int] = set()
            named = {p.id for p in self.people.live_people() if p.name}
            for i, fid in enumerate(pending.ids.tolist()):
                if pending.owner[i] and pending.person[i]:
                    # The owner decided for this face before it was re-analysed: keep it.
                    grouper.load(
                        [fid],
                        pending.vectors[i : i + 1],
                        [int(pending.photos[i])],
                        [bool(pending.low[i])],
                        [int(pending.person[i])],
                        owner=[True],
                        scenes=pending.scenes,
                    )
                    self.people.mark_grouped([fid])
                    continue
                decision = grouper.add(
                    fid,
                    pending.vectors[i],
                    int(pending.photos[i]),
                    bool(pending.low[i]),
                    pending.scenes.get(fid),
                )
                self.people.assign([fid], decision.person or None, "auto")
                for other, person in decision.also:
                    self.people.assign([other], person or None, "auto")
                    if person:
                        touched_people.add(person)
                if decision.person:
                    touched_people.add(decision.person)
                    new += decision.new_person
                    joined += not decision.new_person
                else:
                    alone += 1
            self.refresh_covers(touched_people)
            identified = len(touched_people & named)
            if identified:
                self.audit.record(
                    "match",
                    actor="regard",
                    purpose=Purpose.GROUPING.value,
                    subject=",".join(person_label(p) for p in sorted(touched_people & named)),
                    result_count=joined,
                    detail={"faces": len(pending.ids)},
                )
        self.grouper = grouper
        return GroupingSummary(len(pending.ids), joined, new, alone)

    def photos_moved(self, photo_ids: list[int], *, restored: bool) -> None:
        """Photos went into the trash or came out of it: the grouper forgets the faces it
        held, their people's covers are chosen again (one in the trash gives way; restored,
        the owner's choice is back), and restored faces never grouped are grouped now."""
        self.grouper = None
        if self.catalog.codec.sealer is None:
            return  # covers and grouping need the faces' vectors
        with self.catalog.transaction():
            self.refresh_covers(self.catalog.trash.people_of(photo_ids))
        if restored:
            self.group_pending()

    def fix_covers(self) -> None:
        """A cover that pointed to a face gone from its person (an opt-out, an erasure, a photo
        analysed again): another of their faces takes its place. Called where faces leave
        people, so that looking at people never writes."""
        if self.catalog.codec.sealer is None:
            return  # covers are chosen by the faces' vectors
        rows = self.people.summaries()
        coverless = {r["id"] for r in rows if r["faces"] and r["cover_face_id"] is None}
        if coverless:
            with self.catalog.transaction():
                self.refresh_covers(coverless)

    def refresh_covers(self, person_ids: set[int]) -> None:
        for pid in person_ids:
            self.people.set_cover(pid, self.best_cover(pid))

    def best_cover(self, person_id: int) -> int | None:
        """A person's cover: the one the owner chose while it is theirs; else among their good
        faces, the one most like the person as a whole."""
        chosen = self.people.chosen_cover(person_id)
        if chosen is not None:
            return chosen
        faces = self.people.faces_of(person_id)
        if not faces:
            return None
        ids, vecs = self.catalog.faces.embeddings(self.model.id, [f.face_id for f in faces])
        if not len(ids):
            return None
        quality = {f.face_id: f.quality * (0.5 if f.low_quality else 1.0) for f in faces}
        centre = vecs.sum(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
        scores = (vecs @ centre) * np.array([quality[int(i)] for i in ids])
        return int(ids[int(np.argmax(scores))])

    def show_cover(self, row: dict[str, Any], face_id: int | None) -> None:
        """`row` (of `summaries`) with `face_id` as its cover, as the catalog would give it."""
        face = self.catalog.faces.row(face_id) if face_id is not None else None
        if face is None:
            return
        row["cover_face_id"] = face_id
        row["cover_path"] = face["path"]
        row["cover_box"] = [round(face[k], 1) for k in ("x", "y", "w", "h")]
