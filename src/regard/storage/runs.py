"""Runs, settings, the model registry and counters: the library's bookkeeping."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from regard.domain.clock import utc_now
from regard.domain.models import ModelSpec
from regard.storage.sql import Connection


@dataclass(frozen=True, slots=True)
class RunCounts:
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_moved: int = 0
    files_copied: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    faces_found: int = 0
    files_missing: int = 0
    files_pruned: int = 0


class SqliteRuns:
    """`RunRepository` over the catalog's connection. Settings are written inside
    `Catalog.transaction()`; runs and models open their own."""

    def __init__(
        self, db: Connection, transaction: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._db = db
        # Starting and finishing a run are each a transaction of their own.
        self._transaction = transaction

    def setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_setting(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def delete_setting(self, key: str) -> None:
        self._db.execute("DELETE FROM settings WHERE key = ?", (key,))

    def settings(self, prefix: str = "") -> dict[str, str]:
        rows = self._db.execute(
            "SELECT key, value FROM settings WHERE key LIKE ? ORDER BY key", (prefix + "%",)
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def register_models(self, specs: Iterable[ModelSpec]) -> None:
        with self._transaction():
            for s in specs:
                self._db.execute(
                    "INSERT OR IGNORE INTO models (id, kind, package, file, sha256, licence, dim,"
                    " first_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        s.id,
                        s.kind,
                        f"{s.package}=={s.package_version}",
                        s.resource,
                        s.sha256,
                        s.licence,
                        s.dim,
                        utc_now(),
                    ),
                )

    def models(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT m.*, (SELECT COUNT(*) FROM embeddings e WHERE e.model_id = m.id) AS vectors"
            " FROM models m ORDER BY first_used_at, id"
        ).fetchall()
        return [dict(r) for r in rows]

    def start(self, roots: Sequence[str], pipeline: str) -> int:
        with self._transaction():
            # A run still marked running was killed: say so instead of leaving it dangling.
            self._db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            cur = self._db.execute(
                "INSERT INTO runs (started_at, status, roots, pipeline)"
                " VALUES (?, 'running', ?, ?)",
                (utc_now(), json.dumps(list(roots)), pipeline),
            )
        return int(cur.lastrowid or 0)

    def finish(self, run_id: int, counts: RunCounts, status: str = "completed") -> None:
        fields = RunCounts.__dataclass_fields__
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction():
            self._db.execute(
                f"UPDATE runs SET status = ?, finished_at = ?, {assignments} WHERE id = ?",
                (status, utc_now(), *(getattr(counts, n) for n in fields), run_id),
            )

    def indexed_roots(self) -> list[str]:
        """Every folder (or file) an indexing run was given."""
        roots: set[str] = set()
        for (value,) in self._db.execute("SELECT DISTINCT roots FROM runs"):
            roots.update(json.loads(value))
        return sorted(roots)

    def last(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None

    def counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0
