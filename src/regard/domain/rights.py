"""What the privacy services answer: consents recorded and withdrawn, opt-outs, erasures and
their receipts, the audit log, access reports and retention. Frozen dataclasses (see
`regard.domain.result`); the rules themselves are in `regard.domain.privacy`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regard.domain.result import Result

#: How long each kind of data is kept, in days ("unassigned-days", "camera-days"); None:
#: for as long as the library holds it.
RetentionSchedule = dict[str, int | None]


@dataclass(frozen=True, slots=True, eq=False)
class ConsentGranted(Result):
    record: int
    subject: str
    purposes: list[str]
    expires: str | None
    person: str | None  # "P12": the person the subject is, if there is one
    photos_to_recheck: int


@dataclass(frozen=True, slots=True, eq=False)
class ConsentWithdrawn(Result):
    record: int
    subject: str
    withdrawn: list[str]
    still_allowed: list[str]
    removed: dict[str, int]  # what of their face data was deleted, by kind
    #: What is kept, and why (their withdrawal templates); None: nothing.
    kept: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = Result.as_dict(self)
        if self.kept is None:
            del out["kept"]
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ConsentRecordInfo(Result):
    id: int
    action: str  # "grant" or "withdraw"
    purposes: list[str]
    at: str
    expires: str | None
    actor: str
    evidence_kind: str | None
    evidence_name: str | None
    consent_text: str


@dataclass(frozen=True, slots=True, eq=False)
class ConsentSubject(Result):
    """Someone in the consent ledger: what they allow today, and their records."""

    subject: str
    person: str | None
    allowed: list[str]
    records: list[ConsentRecordInfo]
    key: str


@dataclass(frozen=True, slots=True, eq=False)
class OptOutAdded(Result):
    optout: int
    faces_excluded: int
    vectors_deleted: int
    people_affected: int
    threshold: float


@dataclass(frozen=True, slots=True, eq=False)
class OptOutInfo(Result):
    optout: int
    created_at: str
    actor: str
    note: str | None
    faces_excluded: int


@dataclass(frozen=True, slots=True, eq=False)
class PersonName(Result):
    id: int
    name: str | None


@dataclass(frozen=True, slots=True, eq=False)
class ErasurePreview(Result):
    """What an erasure would remove (for the confirmation step)."""

    people: list[PersonName]
    faces: int


@dataclass(frozen=True, slots=True, eq=False)
class ErasureReceipt(Result):
    removed: dict[str, int]  # what was removed, by kind
    kept: dict[str, Any]  # what is kept (sealed erasure templates), and why
    with_photos: bool
    request: str
    journal_entry: str
    verification: dict[str, Any]  # the byte search for what was erased, and its result
    photos_involved: int

    @classmethod
    def of(cls, receipt: dict[str, Any]) -> ErasureReceipt:
        return cls(**{k: receipt[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True, eq=False)
class AuditEntry(Result):
    id: int
    at: str
    actor: str
    action: str
    purpose: str | None
    subject: str | None
    probe_hash: str | None
    result_count: int | None
    detail: dict[str, Any] | None
    prev_hash: str
    hash: str
    mac: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> AuditEntry:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True, eq=False)
class AccessReportMade(Result):
    report: str  # where the zip was written
    people: list[str]
    faces: int
    photos: int
    photos_missing: int
    videos: int = 0  # videos they appear in
    stills: int = 0  # stills of their moments in them, written


@dataclass(frozen=True, slots=True, eq=False)
class RetentionApplied(Result):
    schedule: RetentionSchedule
    unassigned_vectors_deleted: int
    trash_emptied: int = 0  # photos deleted for good after their days in the trash


@dataclass(frozen=True, slots=True, eq=False)
class PurposeInfo(Result):
    purpose: str
    what: str


@dataclass(frozen=True, slots=True, eq=False)
class ModelInfo(Result):
    id: str
    package: str
    licence: str


@dataclass(frozen=True, slots=True, eq=False)
class RecordOfProcessing(Result):
    """The record of processing activities (GDPR art. 30), from the live configuration."""

    controller: str
    library: str | None  # the library's id
    policy: str
    lawful_basis: str
    purposes: list[PurposeInfo]
    categories_of_data_subjects: list[str]
    categories_of_personal_data: list[str]
    recipients: str
    transfers_outside_the_eea: str
    retention: dict[str, Any]
    security_measures: list[str]
    counts: dict[str, Any]
    models: list[ModelInfo]
    automated_decisions: str
