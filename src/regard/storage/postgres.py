"""A catalog on a PostgreSQL server: the connection the repositories use, as they use SQLite's.

`PgConnection` takes the repositories' statements (translated by `dialect.statement`) and
gives back cursors and rows as `sqlite3` does (`lastrowid`, `rowcount`, rows read by name or
position). The schema's version is kept in `regard_schema`. A write transaction takes the
library's writer lock (a transaction-scoped advisory lock) first, as SQLite's BEGIN IMMEDIATE
takes its write lock: writers from any process or machine queue instead of overwriting each
other's reads (no lost update on grouping, naming, erasure), readers never wait.

Inside a write transaction the connection is in pipeline mode: a statement whose answer is not
read (an INSERT without RETURNING, an UPDATE, a DELETE) is sent without waiting for the server,
and the server's answers are collected when a row, a count or a new id is asked for, and at
COMMIT. Each statement the repositories send is otherwise a round trip to the server (SQLite's
are function calls); this is what makes indexing's many small writes fast on PostgreSQL. The
transaction is the same: a statement refused by the server fails the transaction (at the
latest at COMMIT, which then rolls it back), nothing of it is kept.

psycopg (3) is needed only here, and imported only when a PostgreSQL catalog is opened.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, ClassVar

from regard.errors import DatabaseUnavailableError
from regard.storage import dialect
from regard.storage.sql import PATH_MARK

#: The advisory lock every writer of a library's database takes (any number; one database is
#: one library).
WRITER_LOCK = 0x5245_4741_5244  # "REGARD"

#: The tables holding vectors or names, rewritten after an erasure so no deleted row is left
#: in their files (VACUUM FULL), with the indexes on them.
ERASED_TABLES = (
    "embeddings",
    "templates",
    "faces",
    "people",
    "consents",
    "people_history",
    "audit",
    "photos",
    "appearances",
    "upload_names",
    "rejections",
)


def redact(url: str) -> str:
    """A database address fit to show: without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


#: A file name's byte that is not UTF-8 is bound as a character of Unicode's private use area
#: (U+F0080 to U+F00FF: 0xF0000 + the byte), which PostgreSQL's UTF-8 text holds; read back
#: it is the surrogate Python's os functions use for that byte (U+DC80 to U+DCFF). A library
#: on SQLite keeps the bytes themselves (`sql.path_arg`).
_TO_PRIVATE = {0xDC00 + b: 0xF0000 + b for b in range(0x80, 0x100)}
_FROM_PRIVATE = {v: k for k, v in _TO_PRIVATE.items()}
_PRIVATE_MARK = "\U000f0080".encode()[:2]  # the first two UTF-8 bytes of U+F0080..U+F0FFF


def _bindable(value: Any, path: bool) -> Any:
    """`value` as PostgreSQL can hold it: a file name's bytes (`sql.path_arg`, in a statement
    binding a path) and text with the surrogates of bytes that are not UTF-8, as text."""
    if path and isinstance(value, bytes):
        value = os.fsdecode(value)
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.translate(_TO_PRIVATE)
    return value


class Row(tuple[Any, ...]):
    """A row read by column name or by position, as `sqlite3.Row` is; a tuple otherwise (so
    rows compare and sort as SQLite's plain rows do). One subclass per set of column names
    (`_row_class`)."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index = {name: i for i, name in enumerate(names)}
    return type("Row", (Row,), {"__slots__": (), "_index": index})


class PgCursor:
    """A statement's answer. In a pipelined transaction the answer may not have arrived yet:
    `settle` (the pipeline's sync) collects it the first time a row or a count is read."""

    def __init__(
        self, cursor: Any, lastrowid: int | None, settle: Callable[[], None] | None = None
    ) -> None:
        self._cursor = cursor
        self._settle = settle
        self.lastrowid = lastrowid

    def _ready(self) -> None:
        if self._settle is not None:
            if self._cursor.pgresult is None:
                self._settle()
            self._settle = None

    @property
    def rowcount(self) -> int:
        self._ready()
        return int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        self._ready()
        if self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        self._ready()
        if self._cursor.description is None:
            return []
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def _row_factory(cursor: Any) -> Any:
    row = _row_class(tuple(d.name for d in cursor.description or ()))

    def make(values: Sequence[Any]) -> Row:
        return row(values)

    return make


class PgConnection:
    """One connection to a library's database, used as the repositories use SQLite's."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise DatabaseUnavailableError(
                redact(url),
                "the PostgreSQL driver (psycopg) is not installed",
                "Install it with: pip install 'regard[postgres]' (or run scripts/setup with "
                "REGARD_POSTGRES=1).",
            ) from exc
        self.url = url
        self._errors = psycopg.Error
        self._lost = psycopg.OperationalError
        self._conn = self._connect()
        #: The pipeline of the write transaction under way (`begin`), if any.
        self._pipeline: contextlib.ExitStack | None = None
        self._sync: Callable[[], None] | None = None
        self._keys: tuple[tuple[str, str, str], ...] = ()
        self.refresh_keys()

    def _connect(self) -> Any:
        import psycopg
        from psycopg.adapt import Dumper, Loader

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise _unavailable(self.url, exc) from exc

        class _BoolAsInt(Dumper):
            """Python's True and False as SQLite stores them: 1 and 0 (the flags are integers)."""

            oid = psycopg.adapters.types["int2"].oid

            def dump(self, obj: bool) -> bytes:
                return b"1" if obj else b"0"

        class _NumericLoader(Loader):
            """SUM and AVG of integers are `numeric`: read as int (whole) or float, as SQLite."""

            def load(self, data: Any) -> int | float:
                text = bytes(data).decode("ascii")
                value = float(text)
                return int(text) if "." not in text and value.is_integer() else value

        class _TextLoader(Loader):
            """Text as UTF-8, with a file name's bytes that are not UTF-8 given back as the
            surrogates Python's os functions use for them (see `_bindable`)."""

            def load(self, data: Any) -> str:
                raw = bytes(data)
                text = raw.decode("utf-8")
                return text.translate(_FROM_PRIVATE) if _PRIVATE_MARK in raw else text

        conn.adapters.register_dumper(bool, _BoolAsInt)
        for name in ("text", "varchar", "bpchar", "name"):
            conn.adapters.register_loader(name, _TextLoader)
        conn.adapters.register_loader("numeric", _NumericLoader)
        conn.row_factory = _row_factory
        return conn

    def _run(self, translated: str, args: Any) -> Any:
        """`translated` run; a connection the server dropped (a restart, a network cut) is
        made again for the next statement, and this one fails as the server being away."""
        if self._conn.broken:
            if self._pipeline is not None:
                # The transaction under way went with the connection: never carry on outside it.
                raise _unavailable(self.url, self._lost("the connection was lost"))
            self._conn = self._connect()
        try:
            return self._conn.execute(translated, args)
        except self._lost as exc:
            if self._conn.broken:
                raise _unavailable(self.url, exc) from exc
            raise

    # --- what the repositories use ---------------------------------------------------------------

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        if sql in ("COMMIT", "ROLLBACK") and self._pipeline is not None:
            self._finish(commit=sql == "COMMIT")
            return PgCursor(self._conn.cursor(), None)
        translated, returning = dialect.statement(sql, self._keys)
        if isinstance(parameters, dict):
            args: Any = {k: _bindable(v, False) for k, v in parameters.items()}
        else:
            path = PATH_MARK in sql
            args = tuple(_bindable(v, path) for v in parameters)
        cur = PgCursor(self._run(translated, args), None, self._sync)
        if returning is not None:
            row = cur.fetchone()
            cur.lastrowid = int(row[0]) if row is not None else None
        return cur

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> PgCursor:
        translated, returning = dialect.statement(sql, self._keys)
        if returning is not None:
            translated = translated[: translated.rindex(" RETURNING ")]
        path = PATH_MARK in sql
        rows = [
            {k: _bindable(v, False) for k, v in p.items()}
            if isinstance(p, dict)
            else tuple(_bindable(v, path) for v in p)
            for p in parameters
        ]
        cur = self._conn.cursor()
        # In a pipelined transaction the rows go out back to back, answered at the next sync.
        cur.executemany(translated, rows)
        return PgCursor(cur, None, self._sync)

    def commit(self) -> None:
        """Statements outside a transaction are committed one by one (as sqlite3's with
        isolation_level None)."""

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions, schema, compaction --------------------------------------------------------

    def begin(self) -> None:
        """A write transaction: BEGIN, the writer lock, and pipeline mode until COMMIT or
        ROLLBACK (sent through `execute`, as to SQLite). The lock is taken before anything
        the transaction reads: the server runs the pipeline's statements in order."""
        if self._conn.broken:
            self._conn = self._connect()
        stack = contextlib.ExitStack()
        pipeline = stack.enter_context(self._conn.pipeline())
        self._pipeline, self._sync = stack, pipeline.sync
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))

    @property
    def in_transaction(self) -> bool:
        """A transaction `begin` started is under way (not yet committed or rolled back)."""
        return self._pipeline is not None

    def _finish(self, commit: bool) -> None:
        """The end of a transaction `begin` started: every answer still due is collected,
        and a statement the server refused fails the COMMIT, which then rolls back."""
        from psycopg.pq import TransactionStatus

        stack, self._pipeline, self._sync = self._pipeline, None, None
        assert stack is not None
        failure: BaseException | None = None
        if commit:
            try:
                self._conn.execute("COMMIT")
            except BaseException as exc:
                failure = exc
        try:
            stack.close()  # the pipeline's last answers (with COMMIT's)
        except BaseException as exc:
            # Rolling back because of an error raised already: what the pipeline says of the
            # statements the server skipped after it adds nothing.
            if failure is None and (commit or not isinstance(exc, self._errors)):
                failure = exc
        if not self._conn.broken and self._conn.info.transaction_status not in (
            TransactionStatus.IDLE,
            TransactionStatus.UNKNOWN,
        ):
            self._conn.execute("ROLLBACK")
        if failure is not None:
            if self._conn.broken:
                raise _unavailable(self.url, self._lost("the connection was lost")) from failure
            raise failure

    def raw(self, sql: str, parameters: Sequence[Any] | None = None) -> list[Any]:
        """A PostgreSQL statement as it is (no translation); its rows."""
        return PgCursor(self._run(sql, parameters), None, self._sync).fetchall()

    def refresh_keys(self) -> None:
        """Each table's identity column and primary key (the dialect needs them)."""
        rows = self.raw(
            "SELECT c.relname,"
            " (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid"
            "  AND a.attidentity <> '' LIMIT 1),"
            " (SELECT string_agg(a.attname, ', ') FROM pg_index i"
            "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            "  WHERE i.indrelid = c.oid AND i.indisprimary)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname = current_schema()"
        )
        self._keys = tuple((str(r[0]), r[1] or "", r[2] or "") for r in rows)

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """The library's writer lock, held by this session (not one transaction) while the
        schema is made or migrated: other processes wait, writers included. Taken outside any
        transaction on purpose: a transaction that waited for an advisory lock would still
        not see tables another one made meanwhile (PostgreSQL brings its catalog caches up to
        date when a transaction starts), and would make them again."""
        self.raw("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
        try:
            yield
        finally:
            if not self._conn.broken:
                self.raw("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))

    def schema_version(self) -> int:
        exists = self.raw("SELECT to_regclass('regard_schema') IS NOT NULL")[0][0]
        if not exists:
            return 0
        rows = self.raw("SELECT version FROM regard_schema")
        return int(rows[0][0]) if rows else 0

    def set_schema_version(self, version: int) -> None:
        self.raw("CREATE TABLE IF NOT EXISTS regard_schema (version INTEGER NOT NULL)")
        self.raw("DELETE FROM regard_schema")
        self.raw("INSERT INTO regard_schema (version) VALUES (%s)", (version,))

    def sync_identities(self) -> None:
        """Identity counters past every id a migration copied in (a table built anew)."""
        for table, identity, _key in self._keys:
            if identity:
                self.raw(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{identity}'),"
                    f" GREATEST((SELECT MAX({identity}) FROM {table}), 1),"
                    f" (SELECT MAX({identity}) FROM {table}) IS NOT NULL)"
                )

    def compact(self) -> None:
        """Rewrite the tables that held what was erased (VACUUM FULL makes new files and drops
        the old ones, with their dead rows), then a checkpoint, so nothing deleted survives in
        the data files Regard's database has. Backups, WAL archives and replicas are the
        administrator's (see the README)."""
        # A table that never held a row has no file to rewrite.
        sizes = self.raw(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'"
            " AND pg_relation_size(oid) > 0",
            (list(ERASED_TABLES),),
        )
        for (table,) in sizes:
            self.raw(f"VACUUM FULL {table}")
        self.raw("CHECKPOINT") if self._is_superuser() else None

    def _is_superuser(self) -> bool:
        return bool(self.raw("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0])

    def is_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self._errors)


def _unavailable(url: str, exc: Exception) -> DatabaseUnavailableError:
    said = str(exc).strip()
    return DatabaseUnavailableError(
        redact(url),
        said.splitlines()[0] if said else type(exc).__name__,
        "Check that the server is running and the address, user and password are right.",
    )
