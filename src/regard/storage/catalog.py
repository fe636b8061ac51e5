"""The catalog: one SQLite file per library, the single door to the database.

`Catalog` holds the connection, the schema and the transactions, and composes one repository
per aggregate (`photos`, `faces`, `appearances`, `templates`, `runs`, `jobs`, `people`, `privacy`,
`accounts`, `cameras`); every statement Regard runs is in one of them. Writes happen inside
`transaction()` (BEGIN IMMEDIATE), so a photo, its faces and their embeddings land together or
not at all: killing Regard at any moment leaves the catalog as it was after the last commit.
What the rest of Regard may rely on is `repositories.Store`, which a second backend would
implement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from regard.errors import LibraryError, LibraryVersionError
from regard.storage.accounts_catalog import AccountsCatalog
from regard.storage.appearances import SqliteAppearances
from regard.storage.cameras_catalog import SqliteCameras
from regard.storage.codec import VectorCodec
from regard.storage.faces import SqliteFaces
from regard.storage.jobs import SqliteJobs
from regard.storage.people_catalog import PeopleCatalog
from regard.storage.photos import SqlitePhotos
from regard.storage.privacy_catalog import PrivacyCatalog
from regard.storage.recaps_catalog import SqliteRecaps
from regard.storage.runs import SqliteRuns
from regard.storage.schema import MIGRATIONS, SCHEMA_VERSION
from regard.storage.sql import decode_text, split_sql
from regard.storage.templates import SqliteTemplates
from regard.storage.timeline import SqliteTimeline
from regard.storage.trash import SqliteTrash


class Catalog:
    """A library's SQLite database and its repositories. Not shared between threads unless
    `shared`; one per engine."""

    def __init__(self, path: Path, shared: bool = False) -> None:
        """`shared`: used from several threads, one at a time (the web server holds a lock
        around every use)."""
        self.path = path
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=30.0, check_same_thread=not shared
            )
        except sqlite3.Error as exc:
            raise LibraryError(f"Cannot open the catalog {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        # Paths are stored as the file system's bytes, valid UTF-8 or not (see `sql.path_arg`);
        # read back, bad bytes become the surrogates Python's os functions use for them.
        self._db.text_factory = decode_text
        self._after_commit: list[Callable[[], None]] = []
        self._db.execute("PRAGMA foreign_keys = ON")
        # WAL: readers (search, status) never wait for the indexer, and a crash mid-write
        # leaves the last committed state. NORMAL sync is crash-safe in WAL mode.
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows are overwritten with zeros, so erased data does not linger in free pages.
        self._db.execute("PRAGMA secure_delete = ON")
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

    def close(self) -> None:
        self._db.close()

    # --- transactions and schema --------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of
        failing halfway through."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._after_commit.clear()
            raise
        self._db.execute("COMMIT")
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction commits (never if it rolls back)."""
        self._after_commit.append(callback)

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise LibraryVersionError(self.path.parent, version, SCHEMA_VERSION)
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in split_sql(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def compact(self) -> None:
        """Rewrite the database without free pages and empty the write-ahead log, so nothing
        deleted survives in the files."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
