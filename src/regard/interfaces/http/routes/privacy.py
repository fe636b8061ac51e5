"""Consent and rights: the consent ledger, opt-outs, access reports, erasure, the audit log,
the record of processing and retention."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.domain.rights import (
    AuditEntry,
    ConsentGranted,
    ConsentSubject,
    ConsentWithdrawn,
    ErasurePreview,
    ErasureReceipt,
    OptOutAdded,
    OptOutInfo,
    RecordOfProcessing,
    RetentionApplied,
    RetentionSchedule,
)
from regard.engine import Verification
from regard.interfaces.http.api import (
    MAX_EVIDENCE_BYTES,
    SessionDep,
    allowed,
    host_of,
    read_limited,
    received_photo,
    require,
    sent_name,
)

router = APIRouter(prefix="/api")


@router.get("/consents", tags=["privacy"])
def consents(session: SessionDep, request: Request) -> list[ConsentSubject]:
    """The consent ledger (as `regard consent list`)."""
    with allowed(request, session, Permission.CONSENT, "see consents") as engine:
        return engine.privacy.consents()


@router.post("/consents", tags=["privacy"], status_code=201)
def grant(
    session: SessionDep,
    request: Request,
    subject: Annotated[str, Form(min_length=1, max_length=200)],
    purposes: Annotated[str, Form(min_length=1, max_length=100)],
    evidence_text: Annotated[str | None, Form(max_length=2000)] = None,
    expires: Annotated[str | None, Form(max_length=10)] = None,
    evidence: Annotated[UploadFile | None, File()] = None,
    face: Annotated[UploadFile | None, File()] = None,
    face_index: Annotated[int | None, Form(ge=0, le=1000)] = None,
) -> ConsentGranted:
    """Record a consent (as `regard consent grant`); the evidence file is hashed, not kept
    (the ledger notes its name as it was sent)."""
    require(request, session, Permission.CONSENT, "record consents")
    with (
        tempfile.TemporaryDirectory(prefix="regard-evidence-") as tmp,
        ExitStack() as stack,
    ):
        evidence_path = None
        if evidence is not None:
            evidence_path = Path(tmp) / sent_name(evidence, "evidence")
            evidence_path.write_bytes(
                read_limited(evidence, MAX_EVIDENCE_BYTES, evidence_path.name)
            )
        face_path = None
        if face is not None:
            face_path = stack.enter_context(received_photo(face))
            stack.enter_context(host_of(request).probed(face_path))
        engine = stack.enter_context(
            allowed(request, session, Permission.CONSENT, "record consents")
        )
        granted = engine.privacy.grant(
            subject,
            purposes,
            evidence_file=evidence_path,
            evidence_text=evidence_text,
            expires=expires,
            face_photo=face_path,
            face_index=face_index,
        )
        folders = engine.privacy.folders_to_recheck() if granted.photos_to_recheck else []
    if folders:
        # Their photos are looked at again now, as a job on the library's list (a web user
        # has no `regard index` to run).
        host_of(request).start_index(folders)
    return granted


class WithdrawIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    purposes: str | None = Field(default=None, max_length=100)


@router.post("/consents/withdraw", tags=["privacy"])
def withdraw(body: WithdrawIn, session: SessionDep, request: Request) -> ConsentWithdrawn:
    """Withdraw consent, at once (as `regard consent withdraw`)."""
    with allowed(request, session, Permission.CONSENT, "withdraw consents") as engine:
        return engine.privacy.withdraw(body.subject, body.purposes)


@router.get("/optouts", tags=["privacy"])
def optouts(session: SessionDep, request: Request) -> list[OptOutInfo]:
    """The opt-out registry (as `regard optout list`)."""
    with allowed(request, session, Permission.CONSENT, "see opt-outs") as engine:
        return engine.privacy.optout_list()


@router.post("/optouts", tags=["privacy"], status_code=201)
def optout(
    session: SessionDep,
    request: Request,
    selfie: Annotated[UploadFile, File(description="A photo of the person who opts out.")],
    face_index: Annotated[int | None, Form(ge=0, le=1000)] = None,
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> OptOutAdded:
    """Never recognise this face again (as `regard optout add`); the selfie is not kept."""
    require(request, session, Permission.CONSENT, "record opt-outs")
    with (
        received_photo(selfie) as path,
        host_of(request).probed(path),
        allowed(request, session, Permission.CONSENT, "record opt-outs") as engine,
    ):
        return engine.privacy.optout(path, face_index=face_index, note=note)


class PersonRef(BaseModel):
    person: str = Field(min_length=1, max_length=200)
    with_photos: bool = False


@router.post(
    "/access-report", tags=["privacy"], responses={200: {"content": {"application/zip": {}}}}
)
def access_report(body: PersonRef, session: SessionDep, request: Request) -> Response:
    """Everything held about a person, as a zip (as `regard access-report --person`)."""
    with allowed(request, session, Permission.ACCESS_REPORT, "make access reports") as engine:
        fd, name = tempfile.mkstemp(suffix=".zip", prefix="regard-report-")
        os.close(fd)
        try:
            engine.privacy.access_report(Path(name), person=body.person)
            data = Path(name).read_bytes()
        finally:
            os.unlink(name)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="access-report.zip"'},
    )


@router.post("/erase/preview", tags=["privacy"])
def erase_preview(body: PersonRef, session: SessionDep, request: Request) -> ErasurePreview:
    """What erasing this person would remove (the confirmation step)."""
    with allowed(request, session, Permission.ERASE, "erase people") as engine:
        return engine.privacy.erasure_preview(body.person, None)


class EraseIn(PersonRef):
    confirm: str = Field(max_length=200, description="The person's name or id, typed again.")


@router.post("/erase", tags=["privacy"])
def erase(body: EraseIn, session: SessionDep, request: Request) -> ErasureReceipt:
    """Erase a person and return the receipt (as `regard erase --person`)."""
    with allowed(request, session, Permission.ERASE, "erase people") as engine:
        return engine.privacy.erase_person(
            body.person, with_photos=body.with_photos, confirmed_as=body.confirm
        )


@router.get("/audit", tags=["privacy"])
def audit(
    session: SessionDep, request: Request, since: Annotated[str | None, Query(max_length=40)] = None
) -> list[AuditEntry]:
    """The audit log (owners; members if the owner allows)."""
    with allowed(request, session, Permission.AUDIT, "read the audit log") as engine:
        return engine.privacy.audit_entries(since)


@router.get("/audit/verify", tags=["privacy"])
def audit_verify(session: SessionDep, request: Request) -> Verification:
    """Check the audit log's hash chain."""
    with allowed(request, session, Permission.AUDIT, "read the audit log") as engine:
        return engine.privacy.verify_audit()


@router.get("/records", tags=["privacy"])
def records(session: SessionDep, request: Request) -> RecordOfProcessing:
    """The record of processing activities (GDPR art. 30)."""
    with allowed(request, session, Permission.RECORDS, "read the records") as engine:
        return engine.records()


class RetentionIn(BaseModel):
    unassigned_days: int | None = Field(default=None, ge=1, le=36500)


@router.get("/retention", tags=["privacy"])
def retention(session: SessionDep, request: Request) -> RetentionSchedule:
    """The retention schedule."""
    with allowed(request, session, Permission.RECORDS, "read the records") as engine:
        return engine.privacy.retention_schedule()


@router.post("/retention", tags=["privacy"])
def set_retention(body: RetentionIn, session: SessionDep, request: Request) -> RetentionSchedule:
    """Set how long face data of faces in no person is kept (owners)."""
    with allowed(request, session, Permission.SETTINGS, "change settings") as engine:
        return engine.privacy.set_retention("unassigned-days", body.unassigned_days)


@router.post("/maintain", tags=["privacy"])
def maintain(session: SessionDep, request: Request) -> RetentionApplied:
    """Apply the retention schedule now, and empty what has been in the trash too long."""
    with allowed(request, session, Permission.SETTINGS, "change settings") as engine:
        applied = engine.privacy.apply_retention()
        return replace(applied, trash_emptied=engine.trash.empty_due().photos)
