"""A real PostgreSQL server for the tests and benchmarks: Debian's `postgresql` binaries, a
cluster made by initdb in a temporary folder, a free port, its unix socket in that folder
(no TCP listener). As root, the server runs as the `postgres` user (initdb refuses root).

`PostgresServer.database()` makes a fresh, empty database (a copy of template0: fast) and
returns its address; `drop()` removes one. The fixtures in `tests/conftest.py` start one
server per test session.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from itertools import count
from pathlib import Path
from typing import Any

from tests.servers import MissingPackageError, free_port


def _pg_bin() -> Path:
    """Debian's newest PostgreSQL server (/usr/lib/postgresql/<version>/bin), or REGARD_PG_BIN."""
    if os.environ.get("REGARD_PG_BIN"):
        return Path(os.environ["REGARD_PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


def database_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


class PostgresServer:
    def __init__(self, fast: bool = True) -> None:
        """`fast`: without fsync (a test server: nothing in it must survive a power cut)."""
        if not (PG_BIN / "initdb").is_file():
            raise MissingPackageError(
                f"The PostgreSQL tests need Debian's PostgreSQL server ({PG_BIN}/initdb is "
                "missing): apt-get install postgresql (scripts/setup test installs it)."
            )
        self.fast = fast
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="regard-pg-"))
        self.data = self.folder / "data"
        self._names = count(1)
        self._template: str | None = None
        self._first_rows: dict[str, list[tuple[Any, ...]]] = {}
        self._user: str | None = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}&port={self.port}"

    def __enter__(self) -> PostgresServer:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.folder.chmod(0o700)
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = [
            f"-p {self.port}",
            f"-k {self.folder}",
            "-c listen_addresses=''",
            "-c max_connections=100",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-w",
            "-t", "30", "-o", " ".join(options), "start",
        )  # fmt: skip
        return self

    def admin(self, sql: str) -> None:
        """Run `sql` as the superuser on the `postgres` database (outside a transaction)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def database(self, template: str = "template0") -> str:
        """A fresh database (a copy of `template`); its address."""
        name = f"regard_{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return self.url(name)

    def library(self) -> str:
        """A fresh database holding a new, never opened library's catalog (a copy of one
        migrated once per session: faster than migrating each); its address."""
        url = self.database(self._ensure_template())
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            # Each library has an id of its own (its key file and audit anchors are named so).
            conn.execute(
                "UPDATE settings SET value = replace(gen_random_uuid()::text, '-', '')"
                " WHERE key = 'library_id'"
            )
        return url

    def _ensure_template(self) -> str:
        """The database every library of the session is copied from (migrated once), and the
        rows the migrations leave in it."""
        if self._template is None:
            from regard.storage.catalog import Catalog

            url = self.database()
            Catalog(self.folder / "unused.sqlite", database=url).close()
            self._template = database_name(url)
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                for table in ("settings", "counters", "regard_schema"):
                    self._first_rows[table] = list(conn.execute(f"SELECT * FROM {table}"))  # type: ignore[arg-type]
        return self._template

    def reset(self, url: str) -> str:
        """The library database at `url` emptied into a new, never opened library (its rows
        as the migrations leave them, a new library id): faster than a new database for each
        test. Made anew from the template if it is gone or damaged."""
        import psycopg

        self._ensure_template()
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    )
                ]
                with conn.transaction():
                    # The consent ledger refuses deletions (its triggers); not a test's reset.
                    conn.execute("SET LOCAL session_replication_role = replica")
                    # DELETE, not TRUNCATE: a few rows, no new files (faster).
                    for table in tables:
                        conn.execute(f"DELETE FROM {table}")  # type: ignore[arg-type]
                    conn.execute(
                        "SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"
                    )
                    for table, rows in self._first_rows.items():
                        for row in rows:
                            marks = ", ".join(["%s"] * len(row))
                            conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)  # type: ignore[arg-type]
                    conn.execute(
                        "UPDATE settings SET value = replace(gen_random_uuid()::text, '-', '')"
                        " WHERE key = 'library_id'"
                    )
        except psycopg.Error:
            self.drop(url)
            return self.library()
        return url

    def drop(self, url: str) -> None:
        name = database_name(url)
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def dump(self, url: str, to: Path) -> None:
        """pg_dump of the database at `url` (custom format) into the file `to`."""
        name = database_name(url)
        dump = subprocess.run(
            [*(["runuser", "-u", self._user, "--"] if self._user else []),
             str(PG_BIN / "pg_dump"), "-h", str(self.folder), "-p", str(self.port),
             "-U", "postgres", "-Fc", name],
            check=True, capture_output=True,
        )  # fmt: skip
        to.write_bytes(dump.stdout)

    def restore(self, dump: Path, into: str | None = None) -> str:
        """A database holding what the dump `dump` holds (`into`, dropped and made again, or
        a new one); its address."""
        if into is not None:
            self.drop(into)
            self.admin(f"CREATE DATABASE {database_name(into)} TEMPLATE template0")
            url = into
        else:
            url = self.database()
        subprocess.run(
            [*(["runuser", "-u", self._user, "--"] if self._user else []),
             str(PG_BIN / "pg_restore"), "-h", str(self.folder), "-p", str(self.port),
             "-U", "postgres", "-d", database_name(url), "--no-owner"],
            input=dump.read_bytes(), check=True, capture_output=True,
        )  # fmt: skip
        return url

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-w", "-m", "immediate", "stop")
        for _ in range(20):
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.folder, ignore_errors=True)
