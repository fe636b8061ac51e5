"""The record of processing activities (GDPR art. 30), written from the live configuration."""

from __future__ import annotations

from typing import Any

from regard.domain.privacy import Policy
from regard.domain.rights import ModelInfo, PurposeInfo, RecordOfProcessing
from regard.privacy.retention import retention_schedule
from regard.storage.repositories import Store


def record_of_processing(
    catalog: Store, policy: Policy, models: list[dict[str, Any]], key_kind: str
) -> RecordOfProcessing:
    counts = catalog.people.counts()
    consents = catalog.privacy.consents()
    subjects = {c["subject_key"] for c in consents}
    biometric = catalog.privacy.biometric_counts()
    organisation = policy is Policy.ORGANISATION
    return RecordOfProcessing(
        controller=catalog.runs.setting("controller") or "the owner of this library",
        library=catalog.runs.setting("library_id"),
        policy=policy.value,
        lawful_basis=(
            "explicit consent of each identified person (GDPR art. 6(1)(a) and 9(2)(a)); "
            "people without consent are not identified"
            if organisation
            else "purely personal or household activity (GDPR art. 2(2)(c)); kept voluntarily"
        ),
        purposes=[
            PurposeInfo("grouping", "showing a person's photos together under a name"),
            PurposeInfo("search", "finding the photos of a person, by name or by photo"),
            PurposeInfo("camera", "recognising a person on the owner's cameras"),
            PurposeInfo("recaps", "showing a person unblurred in recaps (collages, slideshows)"),
        ],
        categories_of_data_subjects=[
            "people who appear in the owner's photos"
            + (" and have consented" if organisation else ""),
        ],
        categories_of_personal_data=[
            "references to photos (paths, content hashes, capture time and place, camera)",
            "face positions in photos",
            "face templates (biometric data, special category, GDPR art. 9), sealed",
            "names given by the owner",
            "consent records and their evidence hashes",
            "the audit log of identifications",
        ],
        recipients="none: all processing is on this machine; nothing is sent anywhere",
        transfers_outside_the_eea="none",
        retention={
            **retention_schedule(catalog),
            "erased_people": "deleted at once, including from backups restored later",
            "withdrawn_consent": "face templates deleted at once when no purpose is left",
        },
        security_measures=[
            f"biometric data sealed with AES-256-GCM, key from {key_kind}",
            "hash-chained audit log, verified by `regard audit verify`",
            "no network access; the web server listens on the loopback interface",
            "SQLite secure_delete, VACUUM and index rebuild on erasure",
        ],
        counts={
            "people": counts["people"],
            "named_people": counts["named_people"],
            "consent_subjects": len(subjects),
            "opt_outs": len(catalog.privacy.optouts()),
            "faces_by_biometric_state": biometric,
        },
        models=[ModelInfo(m["id"], m["package"], m["licence"]) for m in models],
        automated_decisions="none with legal or similar effect; no age, gender, race or "
        "emotion is inferred",
    )
