"""The opt-out registry: "never recognise me".

A selfie yields a template kept only to exclude: sealed, never searchable, never shown. Every
face already in the library that matches it loses its vector and its person (the box stays,
marked to be blurred on export); every future face that matches it is never stored with a
vector (see `gate.py`). The selfie itself is not kept, only its hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regard.privacy.context import PrivacyContext
from regard.privacy.gate import Gate


class OptOutRegistry:
    def __init__(self, ctx: PrivacyContext, gate: Gate) -> None:
        self.ctx = ctx
        self.gate = gate

    def add(
        self, selfie: Path, *, face_index: int | None = None, note: str | None = None
    ) -> dict[str, Any]:
        probe = self.ctx.probes.read(selfie)
        face = probe.face(face_index)
        threshold = self.gate.optout_threshold()
        index = self.ctx.vectors.index
        matches = [n.id for n in index.search(face.embedding, threshold=threshold)]
        catalog = self.ctx.catalog
        people_touched: set[int] = set()
        for fid in matches:
            person = catalog.people.face_person(fid)
            if person:
                people_touched.add(person)
        with catalog.transaction():
            optout_id = catalog.privacy.optout_add(self.ctx.actor, note, probe.content_hash)
            catalog.add_template("optout", face.model_id, face.embedding, optout_id=optout_id)
            removed = catalog.privacy.drop_embeddings(matches, "opted_out", optout_id)
            catalog.take_touched()
            catalog.people.remove_empty()  # nobody left without a face, named or not
            self.ctx.audit.record(
                "optout-add",
                actor=self.ctx.actor,
                subject=f"optout#{optout_id}",
                probe_hash=probe.content_hash,
                result_count=removed,
                detail={"faces_excluded": len(matches), "people_affected": len(people_touched)},
            )
            catalog.after_commit(lambda: self.ctx.vectors.refresh(set(matches)))
        self.gate.refresh()
        self.ctx.photos_changed(catalog.privacy.photos_of_faces(matches))
        return {
            "optout": optout_id,
            "faces_excluded": len(matches),
            "vectors_deleted": removed,
            "people_affected": len(people_touched),
            "threshold": round(threshold, 4),
        }

    def list(self) -> list[dict[str, Any]]:
        return [
            {
                "optout": r["id"],
                "created_at": r["created_at"],
                "actor": r["actor"],
                "note": r["note"],
                "faces_excluded": r["faces"],
            }
            for r in self.ctx.catalog.privacy.optouts()
        ]
