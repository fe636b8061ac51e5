"""Retention: how long biometric data is kept, applied by `regard maintain`.

Per library: the vectors of faces that belong to nobody (never grouped into a person, never
named) can be given a lifetime; when it runs out their vectors are deleted (the boxes stay).
Camera data will get its own lifetime when cameras arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from regard.errors import PrivacyRequestError
from regard.privacy.context import PrivacyContext

SETTINGS = {
    "unassigned-days": "retention.unassigned_days",
    "camera-days": "retention.camera_days",
}


class Retention:
    def __init__(self, ctx: PrivacyContext) -> None:
        self.ctx = ctx

    def schedule(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for name, key in SETTINGS.items():
            value = self.ctx.catalog.setting(key)
            out[name] = int(value) if value else None
        return out

    def set(self, name: str, days: int | None) -> dict[str, int | None]:
        if name not in SETTINGS:
            raise PrivacyRequestError(
                f"{name!r} is not a retention setting; there are: {', '.join(SETTINGS)}."
            )
        if days is not None and days < 1:
            raise PrivacyRequestError("A retention period is at least 1 day (or 'none').")
        with self.ctx.catalog.transaction():
            if days is None:
                self.ctx.catalog.delete_setting(SETTINGS[name])
            else:
                self.ctx.catalog.set_setting(SETTINGS[name], str(days))
            self.ctx.audit.record(
                "retention-set", actor=self.ctx.actor, detail={"setting": name, "days": days}
            )
        return self.schedule()

    def apply(self) -> dict[str, Any]:
        """Delete what has outlived its retention period."""
        days = self.schedule()["unassigned-days"]
        removed = 0
        if days is not None:
            cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
            catalog = self.ctx.catalog
            faces = catalog.privacy.faces_kept_unassigned_before(cutoff)
            with catalog.transaction():
                removed = catalog.privacy.drop_embeddings(faces, "expired")
                catalog.take_touched()
                self.ctx.audit.record(
                    "retention-applied",
                    actor=self.ctx.actor,
                    result_count=removed,
                    detail={"unassigned_days": days, "cutoff": cutoff},
                )
                catalog.after_commit(lambda: self.ctx.vectors.refresh(set(faces)))
            if removed:
                self.ctx.vectors.rebuild_saved()
                catalog.compact()
        return {"schedule": self.schedule(), "unassigned_vectors_deleted": removed}
