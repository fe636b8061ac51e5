"""The privacy services together: consent, opt-out, the ingestion gate, erasure, retention,
the audit log and the record of processing. The engine exposes this as `engine.privacy`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regard.domain.models import ModelSpec
from regard.domain.people import person_label
from regard.domain.rights import (
    AccessReportMade,
    AuditEntry,
    ConsentGranted,
    ConsentSubject,
    ConsentWithdrawn,
    ErasurePreview,
    ErasureReceipt,
    OptOutAdded,
    OptOutInfo,
    PersonName,
    RecordOfProcessing,
    RetentionApplied,
    RetentionSchedule,
)
from regard.errors import PrivacyRequestError
from regard.inference.calibration import Calibration
from regard.inference.protocols import FaceDetector
from regard.pipeline.probe import ProbeReader
from regard.privacy.access import AccessReporter
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog, Verification
from regard.privacy.consent import ConsentLedger
from regard.privacy.erasure import Eraser, PhotosChanged
from regard.privacy.gate import Gate
from regard.privacy.optout import OptOutRegistry
from regard.privacy.policy import PolicyGate
from regard.privacy.records import record_of_processing
from regard.privacy.retention import Retention
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore


class PrivacyService:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        probes: ProbeReader,
        calibration: Calibration,
        model: ModelSpec,
        state_dir: Path,
        library_root: Path,
        still_detector: Callable[[], FaceDetector],
        photos_changed: PhotosChanged,
    ) -> None:
        self.catalog = catalog
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.probes = probes
        self.library_root = library_root
        self.eraser = Eraser(
            catalog=catalog,
            vectors=vectors,
            audit=audit,
            acting=acting,
            calibration=calibration,
            state_dir=state_dir,
            library_root=library_root,
            photos_changed=photos_changed,
        )
        self.gate = Gate(catalog, model, policy, calibration, self.eraser.erased_boxes)
        self.consent = ConsentLedger(
            catalog=catalog,
            vectors=vectors,
            audit=audit,
            policy=policy,
            acting=acting,
            probes=probes,
            gate=self.gate,
        )
        self.optouts = OptOutRegistry(
            catalog=catalog,
            vectors=vectors,
            audit=audit,
            acting=acting,
            probes=probes,
            gate=self.gate,
            photos_changed=photos_changed,
        )
        self.retention = Retention(catalog=catalog, vectors=vectors, audit=audit, acting=acting)
        self.access = AccessReporter(
            catalog=catalog,
            audit=audit,
            policy=policy,
            acting=acting,
            probes=probes,
            model=model,
            still_detector=still_detector,
            eraser=self.eraser,
            gate=self.gate,
        )

    # --- consent ---------------------------------------------------------------------------------

    def grant(self, subject: str, purposes: str, **kwargs: Any) -> ConsentGranted:
        result = self.consent.grant(subject, purposes, **kwargs)
        self.gate.refresh()
        return result

    def folders_to_recheck(self) -> list[Path]:
        """The folders holding photos a consent has marked to be looked at again (after a
        withdrawal, or for want of consent): indexing them brings those faces back where the
        gate now allows it."""
        return [Path(f) for f in self.catalog.privacy.recheck_folders()]

    def withdraw(self, subject: str, purposes: str | None = None) -> ConsentWithdrawn:
        result = self.consent.withdraw(subject, purposes)
        self.gate.refresh()
        if "camera" in result.withdrawn and "camera" not in result.still_allowed:
            self.forget_on_cameras([result.subject])
        return result

    def forget_on_cameras(self, names: list[str]) -> int:
        """Camera events that named these people name nobody now, and their snapshots and
        clips (which showed their faces unblurred) are deleted; how many events. A running
        watcher stops naming them, on MQTT too, when it next reads the household (30 s)."""
        with self.catalog.transaction():
            events = self.catalog.cameras.naming(names)
            for event in events:
                self.catalog.cameras.forget_who(event.id, time.time())
        for event in events:
            for path in (event.snapshot, event.clip):
                if path is not None:
                    (self.library_root / path).unlink(missing_ok=True)
        return len(events)

    def consents(self) -> list[ConsentSubject]:
        """Everyone in the consent ledger, what they allow today, and their records."""
        return self.consent.subjects()

    # --- opt-out ---------------------------------------------------------------------------------

    def optout(
        self, selfie: Path, *, face_index: int | None = None, note: str | None = None
    ) -> OptOutAdded:
        """Never recognise the face in `selfie` again (see `OptOutRegistry.add`)."""
        return self.optouts.add(selfie, face_index=face_index, note=note)

    def optout_list(self) -> list[OptOutInfo]:
        """The opt-outs recorded, with how many faces each excludes."""
        return self.optouts.list()

    # --- access ----------------------------------------------------------------------------

    def access_report(
        self,
        out: Path,
        *,
        person: str | None = None,
        photo: Path | None = None,
        face_index: int | None = None,
    ) -> AccessReportMade:
        return self.access.report(out, person=person, photo=photo, face_index=face_index)

    # --- erasure -----------------------------------------------------------------------------

    def erase_person(
        self, ref: str, *, with_photos: bool = False, confirmed_as: str | None = None
    ) -> ErasureReceipt:
        """Erase the person `ref` names. `confirmed_as`: their name or id, typed again to
        confirm (the web app's step); anything else erases nothing."""
        people, faces = self.eraser.targets_for_person(ref)
        target = people[0]
        if confirmed_as is not None and confirmed_as.strip() not in {
            target.name,
            person_label(target.id),
        }:
            raise PrivacyRequestError(
                "To confirm, type the person's name (or id) exactly as shown."
            )
        try:
            receipt = self.eraser.erase(
                people, faces, with_photos=with_photos, what=f"person {ref}"
            )
        finally:
            self.gate.refresh()
        self.forget_on_cameras([p.name for p in people if p.name])
        return receipt

    def erase_face(
        self, photo: Path, *, face_index: int | None = None, with_photos: bool = False
    ) -> ErasureReceipt:
        people, faces = self.eraser.targets_for_face(self.probes.face(photo, face_index))
        try:
            receipt = self.eraser.erase(
                people, faces, with_photos=with_photos, what=f"the face in {photo.name}"
            )
        finally:
            self.gate.refresh()
        self.forget_on_cameras([p.name for p in people if p.name])
        return receipt

    def erasure_preview(
        self, ref: str | None, photo: Path | None, face_index: int | None = None
    ) -> ErasurePreview:
        """What an erasure would remove, for the confirmation step."""
        if (ref is None) == (photo is None):
            raise PrivacyRequestError(
                "Erase one thing: --person NAME or --face PHOTO.", web="Name one person."
            )
        if ref is not None:
            people, faces = self.eraser.targets_for_person(ref)
        else:
            assert photo is not None
            people, faces = self.eraser.targets_for_face(self.probes.face(photo, face_index))
        return ErasurePreview([PersonName(p.id, p.name) for p in people], len(faces))

    # --- retention -------------------------------------------------------------------------------

    def retention_schedule(self) -> RetentionSchedule:
        """How long each kind of data is kept, in days (None: as long as the library holds it)."""
        return self.retention.schedule()

    def set_retention(self, name: str, days: int | None) -> RetentionSchedule:
        """Keep `name` ("unassigned-days"...) for `days` (None: as long as the library holds
        it); the schedule as it is now."""
        return self.retention.set(name, days)

    def apply_retention(self) -> RetentionApplied:
        """Delete what has outlived its retention period."""
        return self.retention.apply()

    # --- audit and records ------------------------------------------------------------------------

    def audit_entries(self, since: str | None = None) -> list[AuditEntry]:
        """The audit log, from `since` on (a date, or a date and time; UTC if no zone)."""
        if since is None:
            return self.audit.entries()
        try:
            start = datetime.fromisoformat(since.strip())
        except ValueError:
            raise PrivacyRequestError(
                f"{since!r} is not a date like 2025-06-01 (or a time like 2025-06-01T14:30)."
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        # Entries are stamped in UTC, to the second, so they compare as text.
        return self.audit.entries(start.astimezone(UTC).isoformat(timespec="seconds"))

    def verify_audit(self) -> Verification:
        return self.audit.verify()

    def records(self, models: list[dict[str, Any]], key_kind: str) -> RecordOfProcessing:
        return record_of_processing(self.catalog, self.policy.current, models, key_kind)

    def set_controller(self, name: str) -> None:
        with self.catalog.transaction():
            self.catalog.runs.set_setting("controller", name)
            self.audit.record("records-controller", actor=self.acting.name, detail={"set": True})
