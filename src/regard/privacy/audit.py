"""The audit log: every identification and every privacy action, hash-chained.

Each entry's hash covers its content and the previous entry's hash, so editing or deleting
any entry breaks the chain from there on, and `audit verify` names the first entry that no
longer fits. The newest entry's id and hash are also written outside the library (see
`state.py`), so truncating the log — deleting its last entries — is caught too.

Entries never hold names or biometric data: people and faces appear by id (P12, F7), probes by
the sha256 of the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regard.privacy.state import write_state
from regard.storage.catalog import Catalog
from regard.storage.clock import utc_now

_FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "purpose",
    "subject",
    "probe_hash",
    "result_count",
    "detail",
)


@dataclass
class Verification:
    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)
    first_bad_entry: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "problems": self.problems,
            "first_bad_entry": self.first_bad_entry,
        }


def _digest(prev_hash: str, entry: dict[str, Any]) -> str:
    body = json.dumps({k: entry[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, catalog: Catalog, anchor_dir: Path) -> None:
        self.catalog = catalog
        self.library_id = catalog.setting("library_id") or ""
        self.anchor = anchor_dir / f"{self.library_id}.audit-head"

    def genesis(self) -> str:
        return hashlib.sha256(f"regard-audit:{self.library_id}".encode()).hexdigest()

    def record(
        self,
        action: str,
        *,
        actor: str,
        purpose: str | None = None,
        subject: str | None = None,
        probe_hash: str | None = None,
        result_count: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append an entry. Call inside the transaction of the change it records."""
        last = self.catalog.privacy.audit_last()
        entry: dict[str, Any] = {
            "id": (last[0] + 1) if last else 1,
            "at": utc_now(),
            "actor": actor,
            "action": action,
            "purpose": purpose,
            "subject": subject,
            "probe_hash": probe_hash,
            "result_count": result_count,
            "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        }
        entry["prev_hash"] = last[1] if last else self.genesis()
        entry["hash"] = _digest(entry["prev_hash"], entry)
        self.catalog.privacy.audit_append(entry)
        head = f"{entry['id']}:{entry['hash']}"
        self.catalog.set_setting("audit.head", head)
        self.catalog.after_commit(lambda: write_state(self.anchor, head + "\n"))
        return int(entry["id"])

    def check_continuity(self) -> bool:
        """At open: if the anchor outside the library is ahead of the log, entries went
        missing (an older backup was restored, or they were deleted). Say so in the log
        itself, once, so that `verify` keeps reporting it. Returns whether all was well."""
        anchor = self._anchor_file()
        if anchor is None:
            return True
        last = self.catalog.privacy.audit_last()
        head = f"{last[0]}:{last[1]}" if last else None
        if anchor == head:
            return True
        anchor_id = int(anchor.split(":", 1)[0])
        if last is not None and anchor_id < last[0]:
            return True  # the anchor lags (a crash before it was written): not a loss
        with self.catalog.transaction():
            self.record(
                "audit-discontinuity",
                actor="regard",
                detail={"anchor_entry": anchor_id, "log_ended_at": last[0] if last else 0},
            )
        return False

    def entries(self, since: str | None = None) -> list[dict[str, Any]]:
        out = []
        for e in self.catalog.privacy.audit_entries(since):
            e["detail"] = json.loads(e["detail"])
            out.append(e)
        return out

    def verify(self) -> Verification:
        rows = self.catalog.privacy.audit_entries()
        problems: list[str] = []
        first_bad: int | None = None
        prev = self.genesis()
        expected_id = 1
        for row in rows:
            if row["id"] != expected_id:
                problems.append(f"entry {expected_id} is missing (the next one is {row['id']})")
                first_bad = first_bad or expected_id
            if row["prev_hash"] != prev:
                problems.append(
                    f"entry {row['id']} does not follow the entry before it "
                    "(an entry before it was changed or deleted)"
                )
                first_bad = first_bad or row["id"]
            if _digest(row["prev_hash"], row) != row["hash"]:
                problems.append(
                    f"entry {row['id']} ({row['action']} at {row['at']}) was "
                    "changed after it was written"
                )
                first_bad = first_bad or row["id"]
            elif row["action"] == "audit-discontinuity":
                gap = json.loads(row["detail"])
                problems.append(
                    f"entries {gap['log_ended_at'] + 1} to {gap['anchor_entry']} are missing: "
                    "an older copy of the library was restored, or they were deleted (noted at "
                    f"entry {row['id']} on {row['at']})"
                )
                first_bad = first_bad or gap["log_ended_at"] + 1
            prev = row["hash"]
            expected_id = row["id"] + 1
        head = f"{rows[-1]['id']}:{rows[-1]['hash']}" if rows else None
        anchors = [a for a in (self._anchor_file(), self.catalog.setting("audit.head")) if a]
        for anchor in anchors:
            if anchor != head:
                last_id = anchor.split(":", 1)[0]
                problems.append(
                    f"the log should end at entry {last_id}, but "
                    + (f"ends at entry {rows[-1]['id']}" if rows else "is empty")
                    + " (entries at the end were deleted or changed)"
                )
                first_bad = first_bad or int(last_id)
                break
        return Verification(not problems, len(rows), problems, first_bad)

    def _anchor_file(self) -> str | None:
        try:
            return self.anchor.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
