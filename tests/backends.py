"""The catalog, privacy and people tests run against both backends: SQLite (a library's
catalog.sqlite) and a real PostgreSQL server (`tests.postgres_server`). The `backend` fixture
(tests/conftest.py) sets REGARD_DATABASE to a fresh database for the PostgreSQL run, which every
`Engine` of the test (and every `regard` it starts) then uses; these helpers open the catalog
underneath as the test's backend has it, for the tests that look at or tamper with its rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from regard.storage.postgres import PgConnection
from tests.postgres_server import PostgresServer


def database() -> str | None:
    """The PostgreSQL database of this test, or None (SQLite)."""
    return os.environ.get("REGARD_DATABASE") or None


def catalog_db(library: Path) -> Any:
    """A connection to the catalog of the library at `library`, taking `?` statements:
    SQLite's, or PostgreSQL's (commits each statement; its rows are tuples read by name too)."""
    url = database()
    if url is not None:
        return PgConnection(url)
    return sqlite3.connect(library / "catalog.sqlite")


def integrity_errors() -> tuple[type[BaseException], ...]:
    """What a refused change raises (a trigger's refusal, a constraint)."""
    import psycopg

    return (sqlite3.IntegrityError, psycopg.errors.IntegrityError, psycopg.errors.RaiseException)


def table_names(db: Any) -> list[str]:
    """The catalog's tables (Regard's own: not PostgreSQL's bookkeeping of the schema)."""
    if isinstance(db, PgConnection):
        rows = db.raw("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return [str(r[0]) for r in rows if r[0] != "regard_schema"]
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]


#: The session's PostgreSQL server, while a PostgreSQL run of a test is under way.
SERVER: PostgresServer | None = None


def back_up(library: Path, to: Path) -> None:
    """A backup of the library: its folder, and on PostgreSQL a pg_dump of its database."""
    shutil.copytree(library, to)
    url = database()
    if url is not None:
        assert SERVER is not None
        SERVER.dump(url, to / "catalog.pgdump")


def restore(backup: Path, library: Path) -> None:
    """The library as the backup has it: its folder, and on PostgreSQL its database, dropped
    and made again from the dump (pg_restore), under the same address."""
    shutil.rmtree(library)
    shutil.copytree(backup, library)
    url = database()
    if url is not None:
        assert SERVER is not None
        SERVER.restore(backup / "catalog.pgdump", into=url)


def other_library() -> str | None:
    """On PostgreSQL, a database for a second library of the same test (None: SQLite, where
    each library is its folder). Give it as `EngineConfig(database=...)`."""
    if database() is None:
        return None
    assert SERVER is not None
    return SERVER.library()
