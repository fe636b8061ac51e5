"""Erasure (GDPR art. 17): everything about a person goes, and stays gone.

Removed: the person's face vectors, enrolment templates, name, corrections history, links
between faces and the person, and their entries in the vector index; their consent records
keep only what proves lawful processing (the name is blanked). Photos stay — they belong to
the owner — unless asked (`--with-photos`). Then the database is rewritten (secure_delete is
on, VACUUM, WAL truncated) and the index rebuilt, and every library file is searched for the
erased vectors, sealed and in the clear: the receipt says what was removed and what was found.

An erased person must stay erased when their photos are edited, moved or copied, when new
photos of them arrive, and when the library changes model. So the erasure keeps, sealed, a few
templates of how they look (at most 8 per model, see `gate.py`), used only to drop any face
indexed later that matches one: like an opt-out's, they are never searchable nor shown, and
the receipt says they were kept and why. Faces found again where an erased face was (same
photo content, same place) are dropped too, and make the template for a new model.

Each erasure is written to a journal kept outside the library as well as inside it (photo
content hashes and boxes, hashes of names: nothing biometric). Opening a library replays any
journal entry it has not applied, templates included, so restoring an older backup does not
bring the person back; a library opened without its key hides the names at once, and the rest
waits for the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from regard.domain.clock import utc_now
from regard.domain.face import AnalysedFace, Box
from regard.domain.people import person_label
from regard.domain.rights import ErasureReceipt
from regard.errors import PrivacyRequestError
from regard.inference.calibration import Calibration
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.byte_search import count_in_file
from regard.privacy.gate import exclusion_templates
from regard.privacy.state import write_state
from regard.storage.people_catalog import PersonRow, name_key
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore

#: Told the ids of photos whose faces were hidden or removed.
PhotosChanged = Callable[[list[int]], None]
#: Faces of a person a selfie must match for `erase --face` to take the whole person.
PERSON_SHARE = 0.5
#: What the receipt says of the templates an erasure keeps.
TEMPLATES_KEPT_WHY = (
    "sealed, only to drop their face from photos indexed later (edited, moved or copied "
    "photos, new ones, another model); never searchable, never shown, never exported"
)


class Eraser:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        acting: Acting,
        calibration: Calibration,
        state_dir: Path,
        library_root: Path,
        photos_changed: PhotosChanged,
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.audit = audit
        self.acting = acting
        self.calibration = calibration
        #: Told the photos whose faces were removed, so copies made of them are made again.
        self.photos_changed = photos_changed
        self.root = library_root
        library_id = self.catalog.runs.setting("library_id") or ""
        self.journals = [
            state_dir / f"{library_id}.erasures.jsonl",
            library_root / "erasures.jsonl",
        ]
        self._erased: dict[str, list[tuple[Box, str]]] | None = None

    def erased_boxes(self, content_hash: str) -> list[tuple[Box, str]]:
        """Where faces were erased in the photo with this content: (box, journal entry)."""
        if self._erased is None:
            self._erased = {}
            for e in self._entries().values():
                for ref in e["faces"]:
                    self._erased.setdefault(ref["content_hash"], []).append(
                        (Box(*(float(v) for v in ref["box"])), str(e["id"]))
                    )
        return self._erased.get(content_hash, [])

    # --- what to erase ---------------------------------------------------------------------

    def targets_for_person(self, ref: str) -> tuple[list[PersonRow], list[int]]:
        person = self._resolve(ref)
        return [person], self.catalog.privacy.faces_of_person(person.id)

    def targets_for_face(self, face: AnalysedFace) -> tuple[list[PersonRow], list[int]]:
        """The faces matching `face` (a probe's), and the people most of whose faces do."""
        t = self.calibration.search_threshold(max(1, len(self.vectors.index)))
        matched = set(self.vectors.index.search(face.embedding, threshold=t).ids.tolist())
        people: list[PersonRow] = []
        faces = set(matched)
        by_person: dict[int, int] = {}
        for fid in matched:
            pid = self.catalog.people.face_person(fid)
            if pid:
                by_person[pid] = by_person.get(pid, 0) + 1
        for pid, hits in by_person.items():
            members = self.catalog.privacy.faces_of_person(pid)
            if hits >= PERSON_SHARE * len(members):
                row = self.catalog.people.get(pid)
                if row is not None:
                    people.append(row)
                    faces.update(members)
        return people, sorted(faces)

    def _resolve(self, ref: str) -> PersonRow:
        from regard.domain.people import parse_person_ref
        from regard.errors import PersonNotFoundError

        key = parse_person_ref(ref)
        row = (
            self.catalog.people.get(key)
            if isinstance(key, int)
            else self.catalog.people.by_name(key)
        )
        while row is not None and row.merged_into is not None:
            row = self.catalog.people.get(row.merged_into)
        if row is None:
            raise PersonNotFoundError(ref)
        return row

    # --- erasing ---------------------------------------------------------------------------

    def erase(
        self, people: list[PersonRow], faces: list[int], *, with_photos: bool, what: str
    ) -> ErasureReceipt:
        if not people and not faces:
            raise PrivacyRequestError(f"Nothing in the library matches {what}: nothing to erase.")
        catalog = self.catalog
        stored = catalog.faces.vectors(faces)
        sealed = [blob for _f, _m, blob in stored]
        plain = [catalog.codec.open_raw(b, catalog.codec.context(f, m)) for f, m, b in stored]
        refs = catalog.privacy.face_refs(faces)
        photo_ids = sorted({r["content_hash"] for r in refs})
        entry: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "at": utc_now(),
            "faces": [{"content_hash": r["content_hash"], "box": r["box"]} for r in refs],
            "people": [{"id": p.id, "name_hash": _name_hash(p.name)} for p in people],
            "with_photos": with_photos,
        }
        photos = catalog.privacy.photos_of_faces(faces)
        with catalog.transaction():
            receipt = self._apply(
                people, faces, with_photos, {r["path"] for r in refs}, entry["id"]
            )
            receipt["request"] = what
            receipt["journal_entry"] = entry["id"]
            # The receipt kept says what was asked without the name or file it was asked by:
            # it outlives the person (their name goes with them) and the photos.
            kept = ", ".join(person_label(p.id) for p in people) or f"{len(faces)} face(s)"
            catalog.privacy.erasure_record(entry["id"], {**receipt, "request": kept})
            self.audit.record(
                "erasure",
                actor=self.acting.name,
                subject=",".join(person_label(p.id) for p in people) or f"{len(faces)} faces",
                result_count=receipt["removed"]["vectors"],
                detail=receipt["removed"],
            )
            catalog.after_commit(lambda: self._journal(entry))
        self._after(set(faces))
        self.photos_changed(photos)
        receipt["verification"] = self.verify(sealed + plain)
        receipt["photos_involved"] = len(photo_ids)
        return ErasureReceipt.of(receipt)

    def _apply(
        self,
        people: list[PersonRow],
        faces: list[int],
        with_photos: bool,
        paths: set[str],
        entry_id: str,
    ) -> dict[str, Any]:
        catalog = self.catalog
        # Taken before their vectors and templates go: what keeps them out from now on.
        keep = exclusion_templates(catalog, faces, [p.id for p in people])
        removed = {
            "vectors": 0,
            "templates": 0,
            "names": 0,
            "people": 0,
            "history_entries": 0,
            "consent_names_blanked": 0,
            "photos": 0,
            "photo_files": 0,
            "faces_unlinked": len(faces),
        }
        removed["vectors"] = catalog.privacy.drop_embeddings(faces, "erased")
        for person in people:
            removed["templates"] += catalog.templates.delete(person_id=person.id)
            merged = catalog.people.redirects_to(person.id)
            removed["history_entries"] += catalog.people.forget_history([person.id, *merged])
            if person.name:
                removed["names"] += 1
                removed["consent_names_blanked"] += catalog.privacy.consent_blank_subject(
                    name_key(person.name)
                )
            removed["people"] += catalog.people.delete_person(person.id)
        if with_photos:
            photo_ids = catalog.privacy.photos_of_faces(faces)
            for path in sorted(paths):
                try:
                    os.remove(path)
                    removed["photo_files"] += 1
                except FileNotFoundError:
                    pass
            removed["photos"] = catalog.photos.delete(photo_ids)
        kept = 0
        for model_id, vectors in keep.items():
            for vector in vectors:
                catalog.templates.add("erasure", model_id, vector, erasure_id=entry_id)
                kept += 1
        catalog.people.remove_empty()  # people left without a face by it
        catalog.faces.take_touched()
        return {
            "removed": removed,
            "kept": {"erasure_templates": kept, "why": TEMPLATES_KEPT_WHY},
            "with_photos": with_photos,
        }

    def _after(self, faces: set[int]) -> None:
        """Rebuild what held the vectors, then rewrite the database without free pages."""
        self.vectors.refresh(faces)
        self.vectors.rebuild_saved()
        self.catalog.compact()

    def _journal(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        for path in self.journals:
            existing = path.read_text(encoding="utf-8") if path.exists() else ""
            write_state(path, existing + line)
        self._erased = None

    def faces_of_entries(self, entry_ids: set[str]) -> list[int]:
        """The faces of this library at the places these erasures recorded."""
        found = []
        for entry_id in sorted(entry_ids):
            e = self._entries().get(entry_id)
            for ref in e["faces"] if e else []:
                found += self.catalog.privacy.faces_by_ref(ref["content_hash"], ref["box"])
        return sorted(set(found))

    def _entries(self) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        for path in self.journals:
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        e = json.loads(line)
                        entries[e["id"]] = e
        return entries

    # --- verifying -------------------------------------------------------------------------------

    def verify(self, patterns: list[bytes]) -> dict[str, Any]:
        """Search every file of the library for the erased vectors (sealed and clear)."""
        files = [p for p in self.root.rglob("*") if p.is_file()]
        found: dict[str, int] = {}
        probes = [p[:48] for p in patterns if len(p) >= 48]
        for path in files:
            hits = count_in_file(path, probes)  # every probe at once, the file read once
            if hits:
                found[str(path.relative_to(self.root))] = hits
        return {
            "files_searched": len(files),
            "vectors_searched_for": len(probes),
            "occurrences": found,
            "clean": not found,
            "method": "byte search of every library file for each erased vector, sealed "
            "and as float32, after VACUUM and WAL truncation (the erasure templates kept are "
            "sealed anew, under their own context)",
        }

    # --- replaying the journal -----------------------------------------------------------------

    def replay(self) -> int:
        """Apply journal entries this copy of the library has not seen (a restored backup).
        Without the key, only the names go at once (vectors cannot be turned into templates,
        nor the audit log written); the rest is done the next time it is opened with it."""
        todo = [
            e for e in self._entries().values() if not self.catalog.privacy.erasure_applied(e["id"])
        ]
        if not todo:
            return 0
        if self.catalog.codec.sealer is None:
            self._hide_names(todo)
            return 0
        touched: set[int] = set()
        for e in todo:
            # Every copy of the photo (the same content) holds the face at the same place.
            faces = [
                fid
                for ref in e["faces"]
                for fid in self.catalog.privacy.faces_by_ref(ref["content_hash"], ref["box"])
            ]
            people = self._people_of(e)
            for row in people:
                faces += self.catalog.privacy.faces_of_person(row.id)
            with self.catalog.transaction():
                receipt = self._apply(people, sorted(set(faces)), False, set(), e["id"])
                receipt["replayed_from_journal"] = True
                self.catalog.privacy.erasure_record(e["id"], receipt)
                self.catalog.runs.delete_setting(_hidden_key(e["id"]))
                self.audit.record(
                    "erasure-replayed",
                    actor="regard",
                    subject=f"journal:{e['id'][:8]}",
                    result_count=receipt["removed"]["vectors"],
                    detail={**receipt["removed"], **receipt["kept"]},
                )
            touched |= set(faces)
        self._after(touched)
        return len(todo)

    def _people_of(self, entry: dict[str, Any]) -> list[PersonRow]:
        """The entry's people in this copy: same id and name, or already hidden by a replay
        without the key."""
        hidden = set(json.loads(self.catalog.runs.setting(_hidden_key(entry["id"])) or "[]"))
        people = []
        for p in entry["people"]:
            row = self.catalog.people.get(int(p["id"]))
            if row is not None and (
                _name_hash(row.name) == p["name_hash"] or (row.id in hidden and not row.name)
            ):
                people.append(row)
        return people

    def _hide_names(self, todo: list[dict[str, Any]]) -> None:
        with self.catalog.transaction():
            for e in todo:
                hidden = []
                for row in self._people_of(e):
                    if row.name:
                        self.catalog.privacy.consent_blank_subject(name_key(row.name))
                        self.catalog.people.set_name(row.id, None)
                    self.catalog.people.forget_history(
                        [row.id, *self.catalog.people.redirects_to(row.id)]
                    )
                    hidden.append(row.id)
                if hidden:
                    self.catalog.runs.set_setting(_hidden_key(e["id"]), json.dumps(hidden))


def _hidden_key(entry_id: str) -> str:
    return f"erasure.hidden.{entry_id}"


def _name_hash(name: str | None) -> str | None:
    return hashlib.sha256(name_key(name).encode()).hexdigest() if name else None
