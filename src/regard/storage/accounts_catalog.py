"""The accounts part of the catalog: users, sessions and failed logins (for the web app)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from regard.domain.clock import utc_now
from regard.storage.sql import Connection


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    role: str
    password_hash: str
    disabled: bool
    created_at: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    user_id: int
    csrf: str
    created_at: str
    last_seen: str


class AccountsCatalog:
    def __init__(self, db: Connection) -> None:
        self._db = db

    def count_users(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def add_user(self, name: str, name_key: str, password_hash: str, role: str) -> int:
        cur = self._db.execute(
            "INSERT INTO users (name, name_key, password_hash, role, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, name_key, password_hash, role, utc_now()),
        )
        return int(cur.lastrowid or 0)

    def user(self, user_id: int) -> UserRow | None:
        row = self._db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def user_by_name(self, name_key: str) -> UserRow | None:
        row = self._db.execute("SELECT * FROM users WHERE name_key = ?", (name_key,)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[UserRow]:
        return [_user(r) for r in self._db.execute("SELECT * FROM users ORDER BY id")]

    def update_user(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> None:
        if role is not None:
            self._db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
        if password_hash is not None:
            self._db.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
            )
        if disabled is not None:
            self._db.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))

    def delete_user(self, user_id: int) -> None:
        self._db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    def add_session(self, token_hash: str, user_id: int, csrf: str) -> None:
        now = utc_now()
        self._db.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash, user_id, csrf, now, now),
        )

    def session(self, token_hash: str) -> SessionRow | None:
        row = self._db.execute(
            "SELECT user_id, csrf, created_at, last_seen FROM sessions WHERE token_hash = ?",
            (token_hash,),
        ).fetchone()
        return SessionRow(int(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None

    def touch_session(self, token_hash: str) -> None:
        self._db.execute(
            "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (utc_now(), token_hash)
        )

    def delete_session(self, token_hash: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions_of(self, user_id: int) -> None:
        self._db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def add_failure(self, name_key: str) -> None:
        self._db.execute(
            "INSERT INTO login_failures (name_key, at) VALUES (?, ?)", (name_key, utc_now())
        )

    def failures_since(self, name_key: str, since: str) -> int:
        return int(
            self._db.execute(
                "SELECT COUNT(*) FROM login_failures WHERE name_key = ? AND at >= ?",
                (name_key, since),
            ).fetchone()[0]
        )

    def prune_failures(self, before: str, keep: int) -> None:
        """Forget failures older than `before` (they lock nothing any more), and all but the
        newest `keep` whatever their age: names made up by the thousand fill no disk."""
        self._db.execute("DELETE FROM login_failures WHERE at < ?", (before,))
        self._db.execute(
            "DELETE FROM login_failures WHERE rowid <="
            " (SELECT rowid FROM login_failures ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
            (keep,),
        )

    def clear_failures(self, name_key: str) -> None:
        self._db.execute("DELETE FROM login_failures WHERE name_key = ?", (name_key,))


def _user(row: sqlite3.Row) -> UserRow:
    return UserRow(
        int(row["id"]),
        str(row["name"]),
        str(row["role"]),
        str(row["password_hash"]),
        bool(row["disabled"]),
        str(row["created_at"]),
    )
