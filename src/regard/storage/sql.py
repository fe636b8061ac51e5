"""What every SQLite repository shares: how paths are bound and read, and IN lists in chunks."""

from __future__ import annotations

import operator
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Cursor(Protocol):
    """What a statement gives back (`sqlite3.Cursor`, or `postgres.PgCursor`)."""

    @property
    def lastrowid(self) -> int | None: ...
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the repositories use of a database connection: SQLite's, or a PostgreSQL one that
    takes the same statements (`postgres.PgConnection`)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...
    def close(self) -> None: ...


#: Where a path is bound: bytes become TEXT holding exactly those bytes (see `path_arg`).
PATH_MARK = "CAST(? AS TEXT)"

#: Ids bound per statement: SQLite limits a statement's parameters.
CHUNK = 500


def path_arg(path: str) -> str | bytes:
    """A path to bind, as `CAST(? AS TEXT)` stores it. A file name is bytes, not always valid
    UTF-8; sqlite3 refuses the surrogates Python uses for the bad bytes, so such a path is
    bound as its bytes and stored as TEXT holding them. Valid names stay plain text, so a
    library's existing rows and lookups are unchanged."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


#: How TEXT is read: as UTF-8, a path's bytes that are not kept as the surrogates Python's os
#: functions use for them (a C-level callable: it runs for every TEXT value read).
decode_text = operator.methodcaller("decode", "utf-8", "surrogateescape")


def chunks(ids: Sequence[T]) -> Iterator[list[T]]:
    """`ids` in lists short enough to bind in one statement."""
    items = list(ids)
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def marks(chunk: Sequence[object]) -> str:
    """The placeholders of an IN list."""
    return ",".join("?" * len(chunk))


def split_sql(script: str) -> list[str]:
    """Statements of a migration script (a trigger's body holds semicolons of its own)."""
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if not _only_comments(pending.rstrip(";")):
                statements.append(pending.strip())
            pending = ""
    return statements


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())


def not_trashed(photo_id: str) -> str:
    """The condition that the photo `photo_id` (a column, named with its table: "p.id") is
    not in the trash: a photo there is out of everything a user browses, searches or counts
    until it is restored."""
    if "." not in photo_id:
        raise ValueError(f"{photo_id}: name the column with its table (an unnamed one is trash's)")
    return f"NOT EXISTS (SELECT 1 FROM trash t WHERE t.photo_id = {photo_id})"
