"""Retention: how long biometric data is kept, applied by `regard maintain`.

Per library: the vectors of faces that belong to nobody (never grouped into a person, never
named) can be given a lifetime; when it runs out their vectors are deleted (the boxes stay).
Camera data will get its own lifetime when cameras arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from regard.domain.rights import RetentionApplied
from regard.errors import PrivacyRequestError
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore

SETTINGS = {
    "unassigned-days": "retention.unassigned_days",
    "camera-days": "retention.camera_days",
}


def retention_schedule(catalog: Store) -> dict[str, int | None]:
    """Days each kind of data is kept (None: kept until deleted)."""
    out: dict[str, int | None] = {}
    for name, key in SETTINGS.items():
        value = catalog.runs.setting(key)
        out[name] = int(value) if value else None
    return out


class Retention:
    def __init__(
        self, *, catalog: Store, vectors: VectorStore, audit: AuditLog, acting: Acting
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.audit = audit
        self.acting = acting

    def schedule(self) -> dict[str, int | None]:
        return retention_schedule(self.catalog)

    def set(self, name: str, days: int | None) -> dict[str, int | None]:
        if name not in SETTINGS:
            raise PrivacyRequestError(
                f"{name!r} is not a retention setting; there are: {', '.join(SETTINGS)}."
            )
        if days is not None and days < 1:
            raise PrivacyRequestError("A retention period is at least 1 day (or 'none').")
        with self.catalog.transaction():
            if days is None:
                self.catalog.runs.delete_setting(SETTINGS[name])
            else:
                self.catalog.runs.set_setting(SETTINGS[name], str(days))
            self.audit.record(
                "retention-set", actor=self.acting.name, detail={"setting": name, "days": days}
            )
        return self.schedule()

    def apply(self) -> RetentionApplied:
        """Delete what has outlived its retention period."""
        days = self.schedule()["unassigned-days"]
        removed = 0
        if days is not None:
            cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
            catalog = self.catalog
            faces = catalog.privacy.faces_kept_unassigned_before(cutoff)
            with catalog.transaction():
                removed = catalog.privacy.drop_embeddings(faces, "expired")
                catalog.faces.take_touched()
                self.audit.record(
                    "retention-applied",
                    actor=self.acting.name,
                    result_count=removed,
                    detail={"unassigned_days": days, "cutoff": cutoff},
                )
                catalog.after_commit(lambda: self.vectors.refresh(set(faces)))
            if removed:
                self.vectors.rebuild_saved()
                catalog.compact()
        return RetentionApplied(schedule=self.schedule(), unassigned_vectors_deleted=removed)
