"""The catalog: one SQLite file per library (or a PostgreSQL database), the single door to the
database.

`Catalog` holds the connection, the schema and the transactions, and composes one repository
per aggregate (`photos`, `faces`, `appearances`, `templates`, `runs`, `jobs`, `people`, `privacy`,
`accounts`, `cameras`); every statement Regard runs is in one of them. Writes happen inside
`transaction()` (BEGIN IMMEDIATE), so a photo, its faces and their embeddings land together or
not at all: killing Regard at any moment leaves the catalog as it was after the last commit.
What the rest of Regard may rely on is `repositories.Store`, which a second backend would
implement. On PostgreSQL (`storage.postgres`) the same repositories run on a connection that
takes their statements as SQLite's does.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from regard.errors import DatabaseEmptyError, LibraryError, LibraryVersionError
from regard.storage import pg_schema
from regard.storage.accounts_catalog import AccountsCatalog
from regard.storage.appearances import SqliteAppearances
from regard.storage.cameras_catalog import SqliteCameras
from regard.storage.codec import VectorCodec
from regard.storage.faces import SqliteFaces
from regard.storage.jobs import SqliteJobs
from regard.storage.library import LibraryPaths
from regard.storage.people_catalog import PeopleCatalog
from regard.storage.photos import SqlitePhotos
from regard.storage.postgres import PgConnection, redact
from regard.storage.privacy_catalog import PrivacyCatalog
from regard.storage.recaps_catalog import SqliteRecaps
from regard.storage.runs import SqliteRuns
from regard.storage.schema import MIGRATIONS, SCHEMA_VERSION
from regard.storage.sql import Connection, decode_text, split_sql
from regard.storage.templates import SqliteTemplates
from regard.storage.timeline import SqliteTimeline
from regard.storage.trash import SqliteTrash


class Catalog:
    """A library's database and its repositories. Not shared between threads unless `shared`;
    one per engine."""

    def __init__(
        self, path: Path, shared: bool = False, database: str | None = None, create: bool = True
    ) -> None:
        """`shared`: used from several threads, one at a time (the web server holds a lock
        around every use). `database`: a PostgreSQL database (postgresql://...) holds the
        catalog instead of the file `path`; `create`: make the catalog's tables in it if it has
        none (else `DatabaseEmptyError`)."""
        self.path = path
        self.database = database
        self._after_commit: list[Callable[[], None]] = []
        self._pg: PgConnection | None = None
        self._db: Connection
        if database is not None:
            self._pg = PgConnection(database)
            self._db = self._pg
            if not create and self._pg.schema_version() == 0:
                self._pg.close()
                raise DatabaseEmptyError(redact(database))
        else:
            self._db = _open_sqlite(path, shared)
        self._migrate()
        self.codec = VectorCodec()
        self.faces = SqliteFaces(self._db, self.codec)
        self.appearances = SqliteAppearances(self._db)
        self.photos = SqlitePhotos(self._db, self.faces, self.appearances)
        self.templates = SqliteTemplates(self._db, self.codec)
        self.runs = SqliteRuns(self._db, self.transaction)
        self.jobs = SqliteJobs(self._db)
        self.people = PeopleCatalog(self._db, self.codec)
        self.privacy = PrivacyCatalog(self._db)
        self.accounts = AccountsCatalog(self._db)
        self.timeline = SqliteTimeline(self._db)
        self.trash = SqliteTrash(self._db)
        self.cameras = SqliteCameras(self._db)
        self.recaps = SqliteRecaps(self._db)

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return "sqlite" if self._pg is None else "postgresql"

    def close(self) -> None:
        self._db.close()

    # --- transactions and schema --------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of
        failing halfway through (on PostgreSQL, the library's advisory writer lock)."""
        if self._pg is not None:
            self._pg.begin()
        else:
            self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            # On PostgreSQL a statement the server refused may be told only now (pipelining):
            # COMMIT fails then, and rolls back.
            self._db.execute("COMMIT")
        except BaseException:
            if self._pg is None or self._pg.in_transaction:
                self._db.execute("ROLLBACK")
            self._after_commit.clear()
            raise
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction commits (never if it rolls back)."""
        self._after_commit.append(callback)

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            where = self.path.parent if self._pg is None else redact(self._pg.url)
            raise LibraryVersionError(where, version, SCHEMA_VERSION)
        if self._pg is not None:
            self._migrate_pg(self._pg, version)
            return
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in split_sql(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    def _migrate_pg(self, pg: PgConnection, version: int) -> None:
        if version < SCHEMA_VERSION:
            # Another process may be making or migrating the schema at this moment (two
            # `regard index` started at once on a new database): one at a time, and the
            # schema's version read again once this one holds the lock.
            with pg.schema_lock():
                for number in range(pg.schema_version(), SCHEMA_VERSION):
                    with self.transaction():
                        for statement in pg_schema.migration(number):
                            pg.raw(statement)
                        pg.refresh_keys()
                        pg.sync_identities()
                        pg.set_schema_version(number + 1)
        pg.refresh_keys()

    @property
    def schema_version(self) -> int:
        if self._pg is not None:
            return self._pg.schema_version()
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def compact(self) -> None:
        """Rewrite the database without free pages and empty the write-ahead log, so nothing
        deleted survives in the files (on PostgreSQL, see `PgConnection.compact`)."""
        if self._pg is not None:
            self._pg.compact()
            return
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_catalog(
    paths: LibraryPaths, create: bool, shared: bool, database: str | None
) -> tuple[Catalog, bool]:
    """A library's catalog, and whether it existed before. In the library's folder (SQLite),
    or in the PostgreSQL database `database`: the folder then holds only what is local to this
    machine (the vector index's files, thumbnails, uploads, camera clips) and is made as
    needed. Without `database`, the one REGARD_DATABASE names, if any."""
    database = database or os.environ.get("REGARD_DATABASE") or None
    if database is None:
        existed = paths.exists()
        if create:
            paths.create()
        else:
            paths.require()
        return Catalog(paths.catalog, shared=shared), existed
    catalog = Catalog(paths.catalog, shared=shared, database=database, create=create)
    try:
        paths.create(catalog=False)
    except BaseException:
        catalog.close()
        raise
    # Opened by Regard before: its first open records that the folder was made private.
    return catalog, catalog.runs.setting("library.private") is not None


def _open_sqlite(path: Path, shared: bool) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=not shared)
    except sqlite3.Error as exc:
        raise LibraryError(f"Cannot open the catalog {path}: {exc}") from exc
    db.row_factory = sqlite3.Row
    # Paths are stored as the file system's bytes, valid UTF-8 or not (see `sql.path_arg`);
    # read back, bad bytes become the surrogates Python's os functions use for them.
    db.text_factory = decode_text
    db.execute("PRAGMA foreign_keys = ON")
    # WAL: readers (search, status) never wait for the indexer, and a crash mid-write
    # leaves the last committed state. NORMAL sync is crash-safe in WAL mode.
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    # Deleted rows are overwritten with zeros, so erased data does not linger in free pages.
    db.execute("PRAGMA secure_delete = ON")
    return db
