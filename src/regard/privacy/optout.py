"""The opt-out registry: "never recognise me".

A selfie yields a template kept only to exclude: sealed, never searchable, never shown. Every
face already in the library that matches it loses its vector and its person (the box stays,
marked to be blurred on export); every future face that matches it is never stored with a
vector (see `gate.py`). The selfie itself is not kept, only its hash.
"""

from __future__ import annotations

from pathlib import Path

from regard.domain.rights import OptOutAdded, OptOutInfo
from regard.pipeline.probe import ProbeReader
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.erasure import PhotosChanged
from regard.privacy.gate import Gate
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore


class OptOutRegistry:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        acting: Acting,
        probes: ProbeReader,
        gate: Gate,
        photos_changed: PhotosChanged,
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.audit = audit
        self.acting = acting
        self.probes = probes
        self.gate = gate
        self.photos_changed = photos_changed

    def add(
        self, selfie: Path, *, face_index: int | None = None, note: str | None = None
    ) -> OptOutAdded:
        probe = self.probes.read(selfie)
        face = probe.face(face_index)
        threshold = self.gate.optout_threshold()
        index = self.vectors.index
        matches = index.search(face.embedding, threshold=threshold).ids.tolist()
        catalog = self.catalog
        people_touched: set[int] = set()
        for fid in matches:
            person = catalog.people.face_person(fid)
            if person:
                people_touched.add(person)
        with catalog.transaction():
            optout_id = catalog.privacy.optout_add(self.acting.name, note, probe.content_hash)
            catalog.templates.add("optout", face.model_id, face.embedding, optout_id=optout_id)
            removed = catalog.privacy.drop_embeddings(matches, "opted_out", optout_id)
            catalog.faces.take_touched()
            catalog.people.remove_empty()  # nobody left without a face, named or not
            self.audit.record(
                "optout-add",
                actor=self.acting.name,
                subject=f"optout#{optout_id}",
                probe_hash=probe.content_hash,
                result_count=removed,
                detail={"faces_excluded": len(matches), "people_affected": len(people_touched)},
            )
            catalog.after_commit(lambda: self.vectors.refresh(set(matches)))
        self.gate.refresh()
        self.photos_changed(catalog.privacy.photos_of_faces(matches))
        return OptOutAdded(
            optout=optout_id,
            faces_excluded=len(matches),
            vectors_deleted=removed,
            people_affected=len(people_touched),
            threshold=round(threshold, 4),
        )

    def list(self) -> list[OptOutInfo]:
        return [
            OptOutInfo(
                optout=r["id"],
                created_at=r["created_at"],
                actor=r["actor"],
                note=r["note"],
                faces_excluded=r["faces"],
            )
            for r in self.catalog.privacy.optouts()
        ]
