"""The privacy part of the catalog: consent ledger, opt-outs, audit log, erasures, and what
became of each face's biometric data. Same database and transactions as `Catalog`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from regard.domain.clock import utc_now
from regard.storage.sql import Connection


class PrivacyCatalog:
    def __init__(self, db: Connection) -> None:
        self._db = db

    # --- audit log -----------------------------------------------------------------------------

    def audit_last(self) -> tuple[int, str] | None:
        row = self._db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def audit_append(self, entry: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO audit (id, at, actor, action, purpose, subject, probe_hash,"
            " result_count, detail, mac, prev_hash, hash)"
            " VALUES (:id, :at, :actor, :action, :purpose, :subject, :probe_hash,"
            " :result_count, :detail, :mac, :prev_hash, :hash)",
            entry,
        )

    def audit_resign(self, entry_id: int, mac: str, prev_hash: str, link: str) -> None:
        """Sign an entry again (the log is keyed, or its key changes); its content stays."""
        self._db.execute(
            "UPDATE audit SET mac = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (mac, prev_hash, link, entry_id),
        )

    def audit_unkeyed(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM audit WHERE mac IS NULL").fetchone()
        return int(row[0])

    def audit_entries(self, since: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit" + (" WHERE at >= ?" if since else "") + " ORDER BY id"
        rows = self._db.execute(sql, (since,) if since else ())
        return [dict(r) for r in rows]

    # --- consent ledger ------------------------------------------------------------------------

    def consent_append(self, record: dict[str, Any]) -> int:
        cur = self._db.execute(
            "INSERT INTO consents (subject, subject_key, action, purposes, evidence,"
            " evidence_kind, evidence_name, consent_text, actor, at, expires)"
            " VALUES (:subject, :subject_key, :action, :purposes, :evidence, :evidence_kind,"
            " :evidence_name, :consent_text, :actor, :at, :expires)",
            {**record, "purposes": json.dumps(sorted(record["purposes"]))},
        )
        return int(cur.lastrowid or 0)

    def consents(self, subject_key: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM consents" + (" WHERE subject_key = ?" if subject_key else "")
        rows = self._db.execute(sql + " ORDER BY id", (subject_key,) if subject_key else ())
        out = []
        for r in rows:
            d = dict(r)
            d["purposes"] = json.loads(d["purposes"])
            out.append(d)
        return out

    def consent_blank_subject(self, subject_key: str) -> int:
        """Erasure: the ledger keeps its records (proof of lawful processing), not the name."""
        return int(
            self._db.execute(
                "UPDATE consents SET subject = '[erased]' WHERE subject_key = ?"
                " AND subject != '[erased]'",
                (subject_key,),
            ).rowcount
        )

    # --- opt-outs -------------------------------------------------------------------------------

    def optout_add(self, actor: str, note: str | None, source_hash: str) -> int:
        cur = self._db.execute(
            "INSERT INTO optouts (created_at, actor, note, source_hash) VALUES (?, ?, ?, ?)",
            (utc_now(), actor, note, source_hash),
        )
        return int(cur.lastrowid or 0)

    def optouts(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT o.*, (SELECT COUNT(*) FROM faces f WHERE f.optout_id = o.id) AS faces"
            " FROM optouts o ORDER BY o.id"
        )
        return [dict(r) for r in rows]

    # --- faces' biometric data --------------------------------------------------------------

    def drop_embeddings(
        self, face_ids: Iterable[int], reason: str, optout_id: int | None = None
    ) -> int:
        """The faces keep their boxes (for blurring) but lose their vectors and people."""
        ids = list(face_ids)
        dropped = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            dropped += self._db.execute(
                f"DELETE FROM embeddings WHERE face_id IN ({marks})", chunk
            ).rowcount
            self._db.execute(
                f"UPDATE faces SET biometric = ?, optout_id = COALESCE(?, optout_id),"
                f" person_id = NULL, assigned_by = NULL, grouped = 1 WHERE id IN ({marks})",
                (reason, optout_id, *chunk),
            )
        return int(dropped)

    def faces_of_person(self, person_id: int) -> list[int]:
        rows = self._db.execute("SELECT id FROM faces WHERE person_id = ?", (person_id,))
        return [int(r[0]) for r in rows]

    def photos_of_faces(self, face_ids: Sequence[int]) -> list[int]:
        out: set[int] = set()
        for i in range(0, len(face_ids), 500):
            chunk = list(face_ids[i : i + 500])
            out.update(
                int(r[0])
                for r in self._db.execute(
                    "SELECT DISTINCT photo_id FROM faces"
                    f" WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return sorted(out)

    def biometric_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT biometric, COUNT(*) FROM faces GROUP BY biometric")
        return {str(r[0]): int(r[1]) for r in rows}

    def face_refs(self, face_ids: Sequence[int]) -> list[dict[str, Any]]:
        """What identifies a face across copies of the library: its photo's content and box."""
        out: list[dict[str, Any]] = []
        for i in range(0, len(face_ids), 500):
            chunk = list(face_ids[i : i + 500])
            rows = self._db.execute(
                "SELECT f.id, p.content_hash, f.x, f.y, f.w, f.h, p.path FROM faces f"
                " JOIN photos p ON p.id = f.photo_id"
                f" WHERE f.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out += [
                {
                    "face_id": r[0],
                    "content_hash": r[1],
                    "box": [r[2], r[3], r[4], r[5]],
                    "path": r[6],
                }
                for r in rows
            ]
        return out

    def faces_by_ref(self, content_hash: str, box: Sequence[float]) -> list[int]:
        """The faces at `box` in every photo of this content (copies of a photo are separate
        photos with the same content)."""
        rows = self._db.execute(
            "SELECT f.id, f.x, f.y, f.w, f.h FROM faces f JOIN photos p ON p.id = f.photo_id"
            " WHERE p.content_hash = ?",
            (content_hash,),
        ).fetchall()
        return [
            int(r[0])
            for r in rows
            if all(abs(float(a) - float(b)) < 2.0 for a, b in zip(r[1:], box, strict=True))
        ]

    def mark_for_recheck(self, biometric: str) -> int:
        """Photos with faces whose vectors were dropped for this reason (`unconsented`,
        `withdrawn`) are analysed again on the next index run (a new consent may now cover
        them); how many."""
        return int(
            self._db.execute(
                "UPDATE photos SET pipeline = NULL WHERE id IN"
                " (SELECT photo_id FROM faces WHERE biometric = ?)"
                " AND pipeline IS NOT NULL",
                (biometric,),
            ).rowcount
        )

    def recheck_folders(self) -> list[str]:
        """The folders holding photos marked to be analysed again (`mark_for_recheck`)."""
        rows = self._db.execute(
            "SELECT DISTINCT rtrim(path, replace(path, ?, '')) FROM photos"
            " WHERE status = 'indexed' AND pipeline IS NULL",
            (os.sep,),
        )
        return sorted(str(r[0]).rstrip(os.sep) or os.sep for r in rows)

    def faces_kept_unassigned_before(self, cutoff: str) -> list[int]:
        rows = self._db.execute(
            "SELECT f.id FROM faces f JOIN photos p ON p.id = f.photo_id"
            " WHERE f.person_id IS NULL AND f.biometric = 'kept' AND p.indexed_at < ?",
            (cutoff,),
        )
        return [int(r[0]) for r in rows]

    # --- erasures ---------------------------------------------------------------------------

    def erasure_applied(self, entry_id: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM erasures WHERE id = ?", (entry_id,)).fetchone()
            is not None
        )

    def erasure_record(self, entry_id: str, receipt: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO erasures (id, applied_at, receipt) VALUES (?, ?, ?)",
            (entry_id, utc_now(), json.dumps(receipt, sort_keys=True)),
        )
