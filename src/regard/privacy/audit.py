"""The audit log: every identification and every privacy action, signed and chained.

Each entry carries a MAC of its content (HMAC-SHA256 under a key derived from the library's
data key, so only someone holding the library's key or passphrase can write a valid one), and
a link: a MAC over the previous entry's link and its own MAC. Editing an entry breaks its MAC,
and `audit verify` names that entry; deleting one leaves a gap in the numbers, and renumbering
the rest to close it breaks their MACs (which still open under their old numbers, so the
deleted entry is named); recomputing the links after an edit cannot be done without the key.
The newest entry's id and link are also written outside the library (see `state.py`), so
deleting the last entries is caught too, unless that file is rewritten as well: restoring an
older copy of both is indistinguishable from never having written the newer entries.

Without the key the log can be read but neither written nor verified.

Entries never hold names or biometric data: people and faces appear by id (P12, F7), probes by
the sha256 of the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regard.domain.clock import utc_now
from regard.domain.result import Result
from regard.domain.rights import AuditEntry
from regard.errors import AuditKeyMissingError
from regard.privacy.state import write_state
from regard.storage.repositories import Store
from regard.storage.sealing import Sealer

#: What the audit key is derived for (HKDF info): a key for nothing else.
AUDIT_KEY_PURPOSE = "regard-audit-chain/1"
#: How far a renumbered entry's number is looked for (entries deleted before it).
_RENUMBER_REACH = 64

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
class Verification(Result):
    """The audit log's check; changed while it is made (see `bad`)."""

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

    def bad(self, entry: int, problem: str) -> None:
        self.problems.append(problem)
        self.first_bad_entry = min(entry, self.first_bad_entry or entry)


def _body(entry: dict[str, Any], entry_id: int | None = None) -> bytes:
    fields = {k: entry[k] for k in _FIELDS}
    if entry_id is not None:
        fields["id"] = entry_id
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _legacy_digest(prev_hash: str, entry: dict[str, Any]) -> str:
    """The unkeyed chain of libraries from before the log was keyed (checked once, when the
    log is keyed)."""
    return hashlib.sha256(prev_hash.encode("utf-8") + _body(entry)).hexdigest()


class AuditLog:
    def __init__(self, catalog: Store, anchor_dir: Path) -> None:
        self.catalog = catalog
        self.library_id = catalog.runs.setting("library_id") or ""
        self.anchor = anchor_dir / f"{self.library_id}.audit-head"
        self._key: bytes | None = None

    # --- the key ----------------------------------------------------------------------------

    def use_key(self, sealer: Sealer | None) -> None:
        """Sign with the audit key of this data key (None: the library is locked)."""
        self._key = sealer.derive(AUDIT_KEY_PURPOSE) if sealer is not None else None

    @property
    def keyed(self) -> bool:
        return self._key is not None

    def _require_key(self, what: str) -> bytes:
        if self._key is None:
            raise AuditKeyMissingError(what)
        return self._key

    @staticmethod
    def _mac(key: bytes, entry: dict[str, Any], entry_id: int | None = None) -> str:
        return hmac.new(key, b"entry\x00" + _body(entry, entry_id), "sha256").hexdigest()

    @staticmethod
    def _link(key: bytes, prev_hash: str, mac: str) -> str:
        return hmac.new(key, f"link\x00{prev_hash}\x00{mac}".encode(), "sha256").hexdigest()

    def genesis(self) -> str:
        return hashlib.sha256(f"regard-audit:{self.library_id}".encode()).hexdigest()

    # --- writing ---------------------------------------------------------------------------

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
        key = self._require_key("recording this change in it")
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
        entry["mac"] = self._mac(key, entry)
        entry["prev_hash"] = last[1] if last else self.genesis()
        entry["hash"] = self._link(key, entry["prev_hash"], entry["mac"])
        self.catalog.privacy.audit_append(entry)
        self._set_head(f"{entry['id']}:{entry['hash']}")
        return int(entry["id"])

    def _set_head(self, head: str) -> None:
        self.catalog.runs.set_setting("audit.head", head)
        self.catalog.after_commit(lambda: write_state(self.anchor, head + "\n"))

    def needs_keying(self) -> bool:
        """Entries written before the log was keyed (or by a Regard from before it)."""
        return self.catalog.privacy.audit_unkeyed() > 0

    def key_chain(self) -> int:
        """Key a log from before keys: check its old unkeyed chain, sign every entry, and
        record that (with what the old check found, which `verify` keeps reporting). Call
        inside a transaction, once, with the key the library was opened with."""
        key = self._require_key("keying it")
        rows = self.catalog.privacy.audit_entries()
        problems = self._legacy_problems(rows)
        self._resign(rows, key)
        self.record(
            "audit-keyed",
            actor="regard",
            result_count=len(rows),
            detail={"entries": len(rows), "chain_problems": problems},
        )
        return len(rows)

    def rekey_chain(self, sealer: Sealer) -> list[str]:
        """A new data key: check the log under the old key, then sign every entry again under
        the new one. Returns what the check found (the caller records it in the log). Call
        inside the transaction that changes the key."""
        check = self.verify(notes=False)
        self._resign(self.catalog.privacy.audit_entries(), sealer.derive(AUDIT_KEY_PURPOSE))
        self.use_key(sealer)
        return check.problems

    def _resign(self, rows: list[dict[str, Any]], key: bytes) -> None:
        prev = self.genesis()
        for row in rows:
            mac = self._mac(key, row)
            link = self._link(key, prev, mac)
            self.catalog.privacy.audit_resign(int(row["id"]), mac, prev, link)
            prev = link
        if rows:
            self._set_head(f"{rows[-1]['id']}:{prev}")

    def check_continuity(self) -> bool:
        """At open: if the anchor outside the library is ahead of the log, entries went
        missing (an older backup was restored, or they were deleted). Say so in the log
        itself, once, so that `verify` keeps reporting it. Returns whether all was well.
        A locked library cannot write to its log: the next open with the key notes it."""
        anchor = self._anchor_file()
        if anchor is None or not self.keyed:
            return True
        last = self.catalog.privacy.audit_last()
        head = f"{last[0]}:{last[1]}" if last else None
        if anchor == head:
            return True
        anchor_id = int(anchor.split(":", 1)[0])
        if last is not None and anchor_id <= last[0]:
            # Lagging (a crash before it was written) is no loss; the same entry with another
            # link is a rewritten chain, which `verify` reports by itself.
            return True
        with self.catalog.transaction():
            self.record(
                "audit-discontinuity",
                actor="regard",
                detail={"anchor_entry": anchor_id, "log_ended_at": last[0] if last else 0},
            )
        return False

    # --- reading ---------------------------------------------------------------------------

    def entries(self, since: str | None = None) -> list[AuditEntry]:
        return [
            AuditEntry.of({**e, "detail": json.loads(e["detail"])})
            for e in self.catalog.privacy.audit_entries(since)
        ]

    def verify(self, notes: bool = True) -> Verification:
        """Check every entry's MAC and link, the numbering and the anchors; with `notes`, also
        report what the log noted about itself (entries found missing, earlier problems)."""
        key = self._require_key("verifying it")
        rows = self.catalog.privacy.audit_entries()
        result = Verification(True, len(rows))
        changed: list[dict[str, Any]] = []
        renumbered: list[tuple[int, int]] = []  # (number now, number it was written with)
        relinked: list[int] = []
        prev = self.genesis()
        expected_id = 1
        shift = 0
        for row in rows:
            rid = int(row["id"])
            gap = rid != expected_id
            if gap:
                result.bad(
                    expected_id,
                    f"entry {expected_id} is missing (the next one is {rid})"
                    if rid == expected_id + 1
                    else f"entries {expected_id} to {rid - 1} are missing (the next one is {rid})",
                )
            stored = row["mac"] or ""
            if not hmac.compare_digest(stored, self._mac(key, row)):
                was = self._written_as(key, row, stored, shift)
                if was is not None:
                    shift = was - rid
                    renumbered.append((rid, was))
                else:
                    changed.append(row)
            elif not gap and (
                row["prev_hash"] != prev
                or not hmac.compare_digest(row["hash"], self._link(key, row["prev_hash"], stored))
            ):
                relinked.append(rid)
            prev = row["hash"]
            expected_id = rid + 1
        for row in changed:
            result.bad(
                int(row["id"]),
                f"entry {row['id']} ({row['action']} at {row['at']}) was changed after it was "
                "written",
            )
        if renumbered:
            result.bad(*_renumbering(renumbered))
        if relinked and not changed and not renumbered:
            result.bad(
                relinked[0],
                f"the chain was rewritten from entry {relinked[0]} on (its links were made "
                "without the library's key)",
            )
        elif relinked:
            result.problems.append(
                f"the links of entries {relinked[0]} to {relinked[-1]} were made again without "
                "the library's key, to hide the change above"
            )
        if notes:
            self._noted_problems(rows, result)
        self._check_anchors(rows, result)
        result.ok = not result.problems
        return result

    def _written_as(self, key: bytes, row: dict[str, Any], mac: str, shift: int) -> int | None:
        """The number an entry was signed with, if it is another: the entries before it were
        deleted and the rest renumbered to hide it."""
        rid = int(row["id"])
        tries = [rid + shift] if shift else []
        tries += [rid + k for k in range(1, _RENUMBER_REACH + 1) if rid + k not in tries]
        for was in tries:
            if was != rid and hmac.compare_digest(mac, self._mac(key, row, was)):
                return was
        return None

    @staticmethod
    def _noted_problems(rows: list[dict[str, Any]], result: Verification) -> None:
        """What the log says about itself: entries found missing at an open, and what was
        wrong with the chain when it was keyed or re-keyed."""
        for row in rows:
            detail = json.loads(row["detail"])
            if row["action"] == "audit-discontinuity":
                result.bad(
                    detail["log_ended_at"] + 1,
                    f"entries {detail['log_ended_at'] + 1} to {detail['anchor_entry']} are "
                    "missing: an older copy of the library was restored, or they were deleted "
                    f"(noted at entry {row['id']} on {row['at']})",
                )
            for problem in detail.get("chain_problems") or []:
                when = "keyed" if row["action"] == "audit-keyed" else "re-keyed"
                result.problems.append(
                    f"found when the log was {when} (entry {row['id']} on {row['at']}): {problem}"
                )

    def _check_anchors(self, rows: list[dict[str, Any]], result: Verification) -> None:
        head = f"{rows[-1]['id']}:{rows[-1]['hash']}" if rows else None
        for anchor in (self._anchor_file(), self.catalog.runs.setting("audit.head")):
            if not anchor or anchor == head:
                continue
            last_id = int(anchor.split(":", 1)[0])
            if rows and last_id == int(rows[-1]["id"]):
                problem = (
                    f"entry {last_id} is the newest, but not the one recorded when it was "
                    "written (the chain was rewritten)"
                )
            else:
                problem = (
                    f"the log should end at entry {last_id}, but "
                    + (f"ends at entry {rows[-1]['id']}" if rows else "is empty")
                    + " (entries at the end were deleted or changed)"
                )
            result.bad(last_id, problem)
            break

    def _legacy_problems(self, rows: list[dict[str, Any]]) -> list[str]:
        problems: list[str] = []
        prev = self.genesis()
        expected_id = 1
        for row in rows:
            if row["id"] != expected_id:
                problems.append(f"entry {expected_id} is missing (the next one is {row['id']})")
            if row["prev_hash"] != prev:
                problems.append(f"entry {row['id']} does not follow the entry before it")
            if _legacy_digest(row["prev_hash"], row) != row["hash"]:
                problems.append(f"entry {row['id']} ({row['action']}) was changed")
            prev = row["hash"]
            expected_id = row["id"] + 1
        anchor = self._anchor_file()
        if rows and anchor and anchor != f"{rows[-1]['id']}:{rows[-1]['hash']}":
            problems.append(f"the log should end at entry {anchor.split(':', 1)[0]}")
        return problems

    def _anchor_file(self) -> str | None:
        try:
            return self.anchor.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


def _renumbering(renumbered: list[tuple[int, int]]) -> tuple[int, str]:
    now = [n for n, _ in renumbered]
    was = [w for _, w in renumbered]
    missing = now[0]
    span = (
        f"entry {now[0]} was written as entry {was[0]}"
        if len(now) == 1
        else f"entries {now[0]} to {now[-1]} were written as entries {was[0]} to {was[-1]}"
    )
    gone = was[0] - now[0]
    what = f"entry {missing}" if gone == 1 else f"entries {missing} to {missing + gone - 1}"
    were = "was" if gone == 1 else "were"
    return missing, f"{what} {were} deleted and the entries after renumbered to hide it ({span})"
