"""The consent ledger: who agreed to be identified, for what, on what evidence, until when.

Append-only (the database refuses changes and deletions). A withdrawal is a new record, and
it takes effect at once, for the human and not only for the faces grouped as them: searches
for a withdrawn purpose return nothing for that person, nor any face that looks like their
enrolment photo or their faces (see `Gate.withheld`). When no purpose is left, the vectors of
all those faces are deleted (the boxes stay, for blurring) and a few sealed templates are kept
in their place, only so that their future photos are never stored with a vector either; a new
grant deletes those templates.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from regard.domain.clock import utc_now
from regard.domain.people import person_label
from regard.domain.privacy import (
    IDENTIFYING,
    Policy,
    Purpose,
    allowed_purposes,
    parse_purposes,
)
from regard.domain.rights import ConsentGranted, ConsentRecordInfo, ConsentSubject, ConsentWithdrawn
from regard.errors import PrivacyRequestError
from regard.files import file_sha256
from regard.pipeline.probe import ProbeReader
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.gate import Gate, exclusion_templates
from regard.privacy.policy import PolicyGate
from regard.storage.people_catalog import PersonRow, name_key
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore

#: The wording a subject agrees to when no other text is given; its hash is recorded, so a
#: later change of wording is visible in the ledger.
CONSENT_TEXT = """Consent to face recognition (Regard, consent text version 1)

I agree that the owner of this photo library may use face recognition on photos of me, on
their own computer only, for the purposes ticked: grouping (my photos shown together under my
name), search (finding photos of me), camera (being recognised by their cameras). My face data
is encrypted, never leaves their computer and is never used to train anything. I can withdraw
this consent at any time, as easily as I gave it; I can ask what is held about me and have it
erased.
"""


def consent_text_hash(text_file: Path | None) -> str:
    if text_file is not None:
        if not text_file.is_file():
            raise PrivacyRequestError(f"{text_file}: no such consent text file.")
        return file_sha256(text_file)
    return hashlib.sha256(CONSENT_TEXT.encode("utf-8")).hexdigest()


def evidence_of(evidence_file: Path | None, evidence_text: str | None) -> dict[str, str | None]:
    """What the ledger keeps of the evidence: a file's hash and name, or the text given."""
    if evidence_file is not None:
        if not evidence_file.is_file():
            raise PrivacyRequestError(f"{evidence_file}: no such evidence file.")
        return {
            "evidence": file_sha256(evidence_file),
            "evidence_kind": "file",
            "evidence_name": evidence_file.name,
        }
    if evidence_text:
        return {
            "evidence": evidence_text.strip(),
            "evidence_kind": "text",
            "evidence_name": None,
        }
    return {"evidence": None, "evidence_kind": None, "evidence_name": None}


class ConsentLedger:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        probes: ProbeReader,
        gate: Gate,
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.probes = probes
        self.gate = gate

    def _subject(self, subject: str) -> tuple[str, PersonRow | None]:
        """A subject is named as in the evidence; `P12` refers to a person by id."""
        from regard.domain.people import parse_person_ref

        ref = parse_person_ref(subject)
        if isinstance(ref, int):
            person = self.catalog.people.get(ref)
            if person is None or not person.name:
                raise PrivacyRequestError(
                    f"Consent is given by a named person: name {subject} first, or give the "
                    "name as it is written on the evidence."
                )
            return person.name, person
        clean = " ".join(ref.split())
        if not clean:
            raise PrivacyRequestError("Give the name of the person who consents.")
        return clean, self.catalog.people.by_name(clean)

    def grant(
        self,
        subject: str,
        purposes: str,
        *,
        evidence_file: Path | None = None,
        evidence_text: str | None = None,
        expires: str | None = None,
        consent_text_file: Path | None = None,
        face_photo: Path | None = None,
        face_index: int | None = None,
    ) -> ConsentGranted:
        name, person = self._subject(subject)
        chosen = parse_purposes(purposes)
        evidence = evidence_of(evidence_file, evidence_text)
        if self.policy.current is Policy.ORGANISATION and evidence["evidence"] is None:
            raise PrivacyRequestError(
                "An organisation library records the evidence of consent: attach the signed form "
                "(--evidence FILE) or say how consent was given and who witnessed it "
                "(--evidence-text).",
                web="An organisation library records the evidence of consent: attach the signed "
                "form (Or an evidence file) or say how consent was given and who witnessed it "
                "(Evidence).",
            )
        if expires is not None:
            try:
                if date.fromisoformat(expires) < self.policy.today():
                    raise PrivacyRequestError(f"The expiry date {expires} is in the past.")
            except ValueError:
                raise PrivacyRequestError(
                    f"The expiry date {expires!r} is not a date like 2027-06-01."
                ) from None
        face = self.probes.face(face_photo, face_index) if face_photo else None
        recheck = 0
        with self.catalog.transaction():
            record_id = self.catalog.privacy.consent_append(
                {
                    "subject": name,
                    "subject_key": name_key(name),
                    "action": "grant",
                    "purposes": [p.value for p in chosen],
                    **evidence,
                    "consent_text": consent_text_hash(consent_text_file),
                    "actor": self.acting.name,
                    "at": utc_now(),
                    "expires": expires,
                }
            )
            if person is not None and self.catalog.templates.delete(
                person_id=person.id, kind="withdrawal"
            ):
                # Agreed again: what kept their photos out while they had withdrawn goes, and
                # the photos whose faces lost their data at the withdrawal are looked at again
                # on the next index run (which of those faces were theirs was not kept: the
                # gate decides again for each, against everyone's templates still kept).
                recheck += self.catalog.privacy.mark_for_recheck("withdrawn")
            if face is not None:
                if person is None:
                    pid = self.catalog.people.create(confirmed=True)
                    self.catalog.people.set_name(pid, name)
                    person = self.catalog.people.get(pid)
                assert person is not None
                self.catalog.templates.add(
                    "enrolment", face.model_id, face.embedding, person_id=person.id
                )
            if self.policy.current is Policy.ORGANISATION:
                # Faces indexed before this consent had their vectors dropped; their photos
                # are looked at again on the next `regard index`.
                recheck += self.catalog.privacy.mark_for_recheck("unconsented")
            self.audit.record(
                "consent-grant",
                actor=self.acting.name,
                subject=person_label(person.id) if person else f"consent#{record_id}",
                detail={
                    "purposes": sorted(p.value for p in chosen),
                    "record": record_id,
                    "evidence_kind": evidence["evidence_kind"],
                    "expires": expires,
                    "enrolment_photo": face is not None,
                },
            )
        return ConsentGranted(
            record=record_id,
            subject=name,
            purposes=sorted(p.value for p in chosen),
            expires=expires,
            person=person_label(person.id) if person else None,
            photos_to_recheck=recheck,
        )

    def withdraw(self, subject: str, purposes: str | None = None) -> ConsentWithdrawn:
        name, person = self._subject(subject)
        policy, today = self.policy.current, self.policy.today()
        before = allowed_purposes(policy, self.policy.ledger(name), today)
        chosen = parse_purposes(purposes) if purposes else frozenset(Purpose)
        removed = {"embeddings": 0, "templates": 0, "faces_outside_person": 0}
        kept = 0
        with self.catalog.transaction():
            record_id = self.catalog.privacy.consent_append(
                {
                    "subject": name,
                    "subject_key": name_key(name),
                    "action": "withdraw",
                    "purposes": [p.value for p in chosen],
                    "evidence": None,
                    "evidence_kind": None,
                    "evidence_name": None,
                    "consent_text": consent_text_hash(None),
                    "actor": self.acting.name,
                    "at": utc_now(),
                    "expires": None,
                }
            )
            left = allowed_purposes(policy, self.policy.ledger(name), today)
            if person is not None and not left & IDENTIFYING:
                theirs = self.catalog.privacy.faces_of_person(person.id)
                outside = self._look_alike(person.id, set(theirs))
                faces = sorted(set(theirs) | outside)
                keep = exclusion_templates(self.catalog, faces, [person.id])
                removed["embeddings"] = self.catalog.privacy.drop_embeddings(faces, "withdrawn")
                removed["templates"] = self.catalog.templates.delete(person_id=person.id)
                removed["faces_outside_person"] = len(outside)
                for model_id, vectors in keep.items():
                    for vector in vectors:
                        self.catalog.templates.add(
                            "withdrawal", model_id, vector, person_id=person.id
                        )
                        kept += 1
                self.catalog.people.remove_empty()  # their person, now without a face
                self.catalog.faces.take_touched()
                self.catalog.after_commit(lambda: self.vectors.refresh(set(faces)))
            self.audit.record(
                "consent-withdraw",
                actor=self.acting.name,
                subject=person_label(person.id) if person else f"consent#{record_id}",
                result_count=removed["embeddings"],
                detail={
                    "purposes": sorted(p.value for p in chosen),
                    "record": record_id,
                    "still_allowed": sorted(p.value for p in left),
                    **removed,
                    "withdrawal_templates": kept,
                },
            )
        return ConsentWithdrawn(
            record=record_id,
            subject=name,
            withdrawn=sorted(p.value for p in chosen & before),
            still_allowed=sorted(p.value for p in left),
            removed=removed,
            kept={
                "withdrawal_templates": kept,
                "why": "sealed, only to keep their face out of photos indexed later, "
                "until they agree again; never searchable, never shown",
            }
            if kept
            else None,
        )

    def _look_alike(self, person_id: int, theirs: set[int]) -> set[int]:
        """Faces outside the person that match their enrolment photo or one of their faces
        at the opt-out threshold: the same human, not grouped as them."""
        owners, refs = self.gate.references({person_id})
        if not len(owners):
            return set()
        index = self.vectors.index
        t = self.gate.optout_threshold()
        found: set[int] = set()
        for ref in refs:
            found.update(index.search(ref, threshold=t).ids.tolist())
        return found - theirs

    def subjects(self) -> list[ConsentSubject]:
        """Everyone in the ledger, with what they allow today and their records."""
        by_key: dict[str, list[dict[str, Any]]] = {}
        for rec in self.catalog.privacy.consents():
            by_key.setdefault(rec["subject_key"], []).append(rec)
        out = []
        for key, records in by_key.items():
            name = records[-1]["subject"]
            person = self.catalog.people.by_name(name) if name != "[erased]" else None
            out.append(
                ConsentSubject(
                    subject=name,
                    person=person_label(person.id) if person else None,
                    allowed=[]
                    if name == "[erased]"
                    else sorted(
                        p.value
                        for p in allowed_purposes(
                            self.policy.current, self.policy.ledger(name), self.policy.today()
                        )
                    ),
                    records=[
                        ConsentRecordInfo(
                            **{k: r[k] for k in ConsentRecordInfo.__dataclass_fields__}
                        )
                        for r in records
                    ],
                    key=key,
                )
            )
        return out
