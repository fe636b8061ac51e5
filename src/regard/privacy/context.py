"""What the privacy services share: the catalog, the vector index, the audit log, the policy,
who is acting, and the reader of photos someone hands in."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from regard.domain.models import ModelSpec
from regard.domain.people import person_label
from regard.domain.photo import relative_name
from regard.domain.privacy import ConsentRecord, Policy, Purpose, parse_purposes, permitted
from regard.errors import ConsentRequiredError, PrivacyRequestError
from regard.files import file_sha256
from regard.inference.calibration import Calibration
from regard.inference.protocols import FaceDetector
from regard.pipeline.probe import ProbeReader
from regard.privacy.audit import AuditLog
from regard.storage.catalog import Catalog
from regard.storage.people_catalog import PersonRow, name_key
from regard.storage.vector_store import VectorStore


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "owner"


@dataclass
class PrivacyContext:
    catalog: Catalog
    vectors: VectorStore
    model: ModelSpec
    calibration: Callable[[], Calibration]
    audit: AuditLog
    probes: ProbeReader
    state_dir: Path
    actor: str
    #: Called with photo ids whose faces were hidden (opt-out) or removed (erasure), so
    #: derived copies (thumbnails) are made again without them.
    on_photos_changed: list[Callable[[list[int]], None]] = field(default_factory=list)
    #: Builds the sensitive detector that copies leaving the library are searched with
    #: (`regard.pipeline.anonymise.still`); built once, when first needed.
    make_still_detector: Callable[[], FaceDetector] | None = None
    #: Whether who is acting may see where photos are on the disk (the command line's user;
    #: the web app's owners). Anyone else is shown names from the indexed folder on.
    full_paths: bool = True
    _still_detector: FaceDetector | None = field(default=None, init=False, repr=False)

    def path_namer(self) -> Callable[[str], str]:
        """How to show a photo's path to who is acting (see `full_paths`)."""
        if self.full_paths:
            return lambda path: path
        roots = self.catalog.indexed_roots()
        return lambda path: relative_name(path, roots)

    def still_detector(self) -> FaceDetector:
        if self._still_detector is None:
            if self.make_still_detector is None:
                raise RuntimeError("this PrivacyContext was built without a detector")
            self._still_detector = self.make_still_detector()
        return self._still_detector

    def photos_changed(self, photo_ids: list[int]) -> None:
        for callback in self.on_photos_changed:
            callback(photo_ids)

    @property
    def policy(self) -> Policy:
        return Policy(self.catalog.setting("policy") or Policy.HOUSEHOLD.value)

    def today(self) -> date:
        return datetime.now(UTC).date()

    def ledger(self, name: str | None) -> list[ConsentRecord]:
        if not name:
            return []
        return [
            ConsentRecord(r["action"], parse_purposes(r["purposes"]), r["at"], r["expires"])
            for r in self.catalog.privacy.consents(name_key(name))
        ]

    def allowed(self, person: PersonRow | None, purpose: Purpose) -> bool:
        """May this person (None: a face in no person) be identified for `purpose`?"""
        if person is None:
            return self.policy is Policy.HOUSEHOLD
        return permitted(self.policy, self.ledger(person.name), purpose, self.today())

    def require(self, person: PersonRow, purpose: Purpose) -> None:
        if not self.allowed(person, purpose):
            who = person.name or person_label(person.id)
            raise ConsentRequiredError(who, purpose.value, self.policy.value)

    def evidence(
        self, evidence_file: Path | None, evidence_text: str | None
    ) -> dict[str, str | None]:
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
