"""What only the PostgreSQL catalog has to show (issue 16): the statements as PostgreSQL takes
them, the same schema as SQLite's, writers in two processes losing nothing, erased vectors
gone from the database's files, and the command line's --database. The catalog, privacy and
people suites run on both backends besides (the `backend` fixture, tests/backends.py)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from regard.engine import Engine, EngineConfig
from regard.errors import DatabaseEmptyError, DatabaseUnavailableError
from regard.interfaces.cli.main import app
from regard.pipeline.cluster import GroupingParams
from regard.storage import dialect, pg_schema
from regard.storage.catalog import Catalog
from regard.storage.keys import KeyConfig
from regard.storage.postgres import PgConnection
from regard.storage.schema import MIGRATIONS, SCHEMA_VERSION
from regard.testing import FakeModels, draw_faces
from tests.postgres_server import PostgresServer

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
KEYS = (("erasures", "rowid", "id"), ("faces", "id", "id"))


def test_statements_are_translated_for_postgresql() -> None:
    assert dialect.statement("SELECT a FROM t WHERE b = ? AND c LIKE '50%?'", ()) == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '50%%?'",
        None,
    )
    assert dialect.statement("INSERT OR IGNORE INTO r (a) VALUES (?)", ()) == (
        "INSERT INTO r (a) VALUES (%s) ON CONFLICT DO NOTHING",
        None,
    )
    sql, returning = dialect.statement(
        "INSERT OR REPLACE INTO erasures (id, applied_at, receipt) VALUES (?, ?, ?)", KEYS
    )
    assert sql == (
        "INSERT INTO erasures (id, applied_at, receipt) VALUES (%s, %s, %s) ON CONFLICT (id)"
        " DO UPDATE SET applied_at = EXCLUDED.applied_at, receipt = EXCLUDED.receipt"
        " RETURNING rowid"
    )
    assert returning == "rowid"
    assert dialect.statement("INSERT INTO faces (x) VALUES (:x)", KEYS) == (
        "INSERT INTO faces (x) VALUES (%(x)s) RETURNING id",
        "id",
    )
    assert dialect.statement("SELECT x FROM f WHERE p IS ? AND q IS NOT ?", ())[0] == (
        "SELECT x FROM f WHERE p IS NOT DISTINCT FROM %s AND q IS DISTINCT FROM %s"
    )
    assert dialect.statement("SELECT CAST(p.path AS BLOB), x'' FROM p INDEXED BY i", ())[0] == (
        "SELECT convert_to(p.path, 'UTF8'), decode('', 'hex') FROM p"
    )


def test_every_migration_has_a_postgresql_form(monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(len(MIGRATIONS)):
        assert pg_schema.migration(number), f"migration {number + 1} is empty"
    monkeypatch.delitem(pg_schema.TRIGGERS, "embeddings_changed")
    with pytest.raises(LookupError, match="no PostgreSQL version"):
        pg_schema.migration(1)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as s:
        yield s


def _columns_sqlite(path: Path) -> dict[str, set[str]]:
    db = sqlite3.connect(path)
    tables = [
        r[0]
        for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if r[0] != "sqlite_sequence"  # AUTOINCREMENT's counters (identity columns on PostgreSQL)
    ]
    out = {t: {r[1] for r in db.execute(f"PRAGMA table_info({t})")} for t in tables}
    db.close()
    return out


def test_the_schema_is_sqlites_at_the_same_version(server: PostgresServer, tmp_path: Path) -> None:
    url = server.database()
    Catalog(tmp_path / "unused", database=url).close()
    Catalog(tmp_path / "c.sqlite").close()
    pg = PgConnection(url)
    assert pg.schema_version() == SCHEMA_VERSION
    rows = pg.raw(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name <> 'regard_schema'"
    )
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        # SQLite's hidden rowid is a column of its own on PostgreSQL.
        if column != "rowid":
            columns.setdefault(table, set()).add(column)
    assert columns == _columns_sqlite(tmp_path / "c.sqlite")
    # The consent ledger's rules hold against TRUNCATE too (row triggers do not see it).
    with pytest.raises(Exception, match="append-only"):
        pg.raw("TRUNCATE consents CASCADE")
    pg.close()


def _count_up(url: str, times: int) -> None:
    catalog = Catalog(Path("/nonexistent/c.sqlite"), database=url, create=False)
    for _ in range(times):
        with catalog.transaction():
            value = int(catalog.runs.setting("test.counter") or "0")
            catalog.runs.set_setting("test.counter", str(value + 1))
    catalog.close()


def test_writers_in_two_processes_lose_no_update(server: PostgresServer, tmp_path: Path) -> None:
    """Read-then-write inside a transaction (as grouping, naming and erasure do) by two
    processes at once: every increment counts."""
    url = server.database()
    Catalog(tmp_path / "unused", database=url).close()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count_up, args=(url, 150)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    catalog = Catalog(tmp_path / "unused", database=url)
    assert catalog.runs.setting("test.counter") == "300"
    catalog.close()


def _index(url: str, lib: Path, folder: Path) -> None:
    config = EngineConfig(workers=0, database=url)
    with Engine(lib, create=True, models=FakeModels(), config=config) as engine:
        engine.index([folder])


def test_two_machines_index_into_one_catalog_at_once(
    server: PostgresServer, tmp_path: Path
) -> None:
    """Two processes, each with its own library folder (two machines), index two folders
    into one database at once; then every face is there once and grouped once."""
    url = server.library()
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / f"photos-{name}"
        for i, colour in enumerate((RED, BLUE, GREEN)):
            draw_faces(folder / f"{name}{i}.png", [(40, 40, 40, colour), (150, 60, 40, BLUE)])
        folders.append(folder)
    # The library is made once (`regard init`): its key is in the catalog for every machine.
    with Engine(tmp_path / "lib-init", create=True, models=FakeModels(),
                config=EngineConfig(workers=0, database=url)):  # fmt: skip
        pass
    run_at_once(_index, [(url, tmp_path / f"lib-{n}", f) for n, f in enumerate(folders)])
    config = EngineConfig(workers=0, database=url)
    with Engine(tmp_path / "lib-c", models=FakeModels(), config=config) as engine:
        engine.people.group_pending()
        assert engine.catalog.photos.counts()["photos"] == 6
        assert len(engine.catalog.faces.rows()) == 12
        assert engine.catalog.people.counts()["faces_waiting_to_be_grouped"] == 0
        in_people = sum(p["faces"] for p in engine.people.summaries())
        assert engine.privacy.verify_audit().ok
    # The same photos indexed by one process into a SQLite library: the same library.
    with Engine(tmp_path / "lib-sqlite", create=True, models=FakeModels(),
                config=EngineConfig(workers=0)) as local:  # fmt: skip
        local.index(folders)
        local.people.group_pending()
        assert sum(p["faces"] for p in local.people.summaries()) == in_people
        assert len(local.people.summaries()) == len(people_of(url, tmp_path))


def people_of(url: str, tmp_path: Path) -> list[object]:
    config = EngineConfig(workers=0, database=url)
    with Engine(tmp_path / "lib-c", models=FakeModels(), config=config) as engine:
        return list(engine.people.summaries())


def test_an_erased_vector_leaves_the_database_files(server: PostgresServer, tmp_path: Path) -> None:
    url = server.library()
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(40, 40, 40, RED)])
    draw_faces(folder / "b.png", [(40, 40, 40, BLUE)])
    config = EngineConfig(workers=0, database=url, grouping=PARAMS)
    with Engine(tmp_path / "lib", create=True, models=FakeModels(), config=config) as engine:
        engine.index([folder])
        pg = PgConnection(url)
        sealed = {
            str(r[1]): bytes(r[0])
            for r in pg.raw(
                "SELECT e.vector, p.path FROM embeddings e JOIN faces f ON f.id = e.face_id"
                " JOIN photos p ON p.id = f.photo_id"
            )
        }
        oid = pg.raw("SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]
        pg.raw("CHECKPOINT")
        files = server.data / "base" / str(oid)
        red, blue = sealed[str(folder / "a.png")], sealed[str(folder / "b.png")]

        def found(blob: bytes) -> bool:
            return any(blob in f.read_bytes() for f in files.iterdir() if f.is_file())

        assert found(red) and found(blue)  # the test can see a vector where it is
        engine.privacy.erase_face(folder / "a.png")
        pg.raw("CHECKPOINT")
        assert not found(red), "the erased face's sealed vector is still in the database files"
        kept = [bytes(r[0]) for r in pg.raw("SELECT vector FROM embeddings")]
        assert kept == [blue]
        oid = pg.raw("SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]
        files = server.data / "base" / str(oid)
        assert found(blue), "the test no longer sees the vectors kept"
        pg.close()


def test_the_command_line_takes_a_database(server: PostgresServer, tmp_path: Path) -> None:
    url = server.database()
    runner = CliRunner()
    lib = str(tmp_path / "lib")
    done = runner.invoke(
        app,
        ["--library", lib, "--database", url, "init", "--policy", "organisation",
         "--controller", "Riverside School"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Created a organisation library in the database" in done.output or (
        "library in the database" in done.output
    )
    assert not (tmp_path / "lib" / "catalog.sqlite").exists()
    again = runner.invoke(app, ["--library", lib, "--database", url, "init"])
    assert again.exit_code == 1 and "already holds a library" in again.output
    status = runner.invoke(app, ["--library", lib, "--database", url, "status", "--json"])
    assert status.exit_code == 0, status.output
    assert '"organisation"' in status.output
    gone = f"postgresql://nobody:secret@/regard?host={tmp_path}&port=1"
    refused = runner.invoke(app, ["--library", lib, "--database", gone, "status"])
    assert refused.exit_code == 1
    assert "Cannot use the catalog database" in refused.output
    assert "secret" not in refused.output


def test_unreachable_or_empty_databases_are_explained(
    server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DatabaseEmptyError, match="holds no Regard library") as empty:
        Engine(tmp_path / "lib", config=EngineConfig(database=server.database()))
    assert "run" not in empty.value.web_text and "regard init" not in empty.value.web_text
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    with pytest.raises(DatabaseUnavailableError, match="psycopg") as missing:
        Catalog(tmp_path / "c", database=server.url())
    assert "pip" not in missing.value.web_text


def test_a_file_name_that_is_not_utf8_round_trips(server: PostgresServer, tmp_path: Path) -> None:
    """PostgreSQL's text is UTF-8 only; a name's other bytes are kept and given back whole, so
    the file is found again (unchanged) by the next run."""
    folder = tmp_path / "album"
    draw_faces(folder / "x.png", [(40, 40, 40, RED)])
    odd = os.fsdecode(os.fsencode(folder) + b"/caf\xe9.png")
    os.rename(folder / "x.png", odd)
    config = EngineConfig(workers=0, database=server.library())
    with Engine(tmp_path / "lib", create=True, models=FakeModels(), config=config) as engine:
        assert engine.index([folder]).counts.files_new == 1
        assert [p.path for p in engine.catalog.photos.all()] == [odd]
        assert engine.catalog.photos.by_path(odd) is not None
        assert engine.index([folder]).counts.files_unchanged == 1


def test_a_dropped_connection_is_said_then_made_again(server: PostgresServer) -> None:
    """The server restarted, or the network cut: the statement under way fails as the database
    being away (web words included), the next one connects again."""
    url = server.database()
    catalog = Catalog(Path("/nonexistent/c.sqlite"), database=url)
    admin = PgConnection(url)
    admin.raw(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with pytest.raises(DatabaseUnavailableError) as away:
        catalog.runs.setting("policy")
    assert "cannot be reached" in away.value.web_text
    assert catalog.runs.setting("policy") == "household"
    admin.close()
    catalog.close()


def _insert_refused_at_commit(catalog: Catalog) -> None:
    """An insert whose answer nobody reads, then the transaction ends: COMMIT is told."""
    with catalog.transaction():
        catalog.runs.set_setting("test.kept", "no")
        catalog._db.execute(
            "INSERT INTO embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
            (999_999, "m", b"x"),
        )


def _truncate_refused_at_next_read(catalog: Catalog) -> None:
    """The append-only ledger's trigger, told in the middle of the transaction."""
    with catalog.transaction():
        catalog.runs.set_setting("test.kept", "no")
        catalog._db.execute("TRUNCATE consents")
        catalog.runs.setting("test.kept")  # a read: the answers due are collected here
        pytest.fail("the refused TRUNCATE was not told by the next read")


def test_a_write_the_server_refuses_fails_its_whole_transaction(
    server: PostgresServer, tmp_path: Path
) -> None:
    """Writes in a transaction are pipelined (sent without waiting for each answer): a
    statement the server refuses still fails its transaction, at the latest at COMMIT, nothing
    of the transaction is kept, and the next transaction works."""
    catalog = Catalog(tmp_path / "unused", database=server.database())
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        _insert_refused_at_commit(catalog)
    with pytest.raises(psycopg.errors.IntegrityError, match="append-only"):
        _truncate_refused_at_next_read(catalog)
    assert catalog.runs.setting("test.kept") is None
    with catalog.transaction():
        catalog.runs.set_setting("test.kept", "yes")
        assert catalog.runs.setting("test.kept") == "yes"  # a read sees the pipelined write
    assert catalog.runs.setting("test.kept") == "yes"
    catalog.close()


def _open_new_library(url: str, lib: Path, keys: Path, folder: Path, barrier: Any) -> None:
    config = EngineConfig(workers=0, database=url, keys=KeyConfig(key_dir=keys))
    barrier.wait(60)
    with Engine(lib, create=True, models=FakeModels(), config=config) as engine:
        engine.index([folder])


def test_two_processes_making_a_new_library_at_once_make_one(
    server: PostgresServer, tmp_path: Path
) -> None:
    """`regard --database URL index` started twice at once on a fresh database (two terminals
    of one machine, one key folder): one schema, one data key; what both indexed opens."""
    url = server.database()
    keys = tmp_path / "keys"
    folders = []
    for name, colour in (("a", RED), ("b", BLUE)):
        folder = tmp_path / f"photos-{name}"
        draw_faces(folder / f"{name}.png", [(40, 40, 40, colour), (150, 60, 40, GREEN)])
        folders.append(folder)
    barrier = multiprocessing.get_context("spawn").Barrier(2)
    run_at_once(
        _open_new_library,
        [(url, tmp_path / f"lib-{n}", keys, f, barrier) for n, f in enumerate(folders)],
    )
    assert len(list(keys.iterdir())) == 1  # one key file
    config = EngineConfig(workers=0, database=url, keys=KeyConfig(key_dir=keys))
    with Engine(tmp_path / "lib-c", models=FakeModels(), config=config) as engine:
        assert engine.catalog.photos.counts()["photos"] == 2
        ids, vectors = engine.catalog.faces.embeddings(FakeModels().embedder.id)
        assert len(ids) == 4 and vectors.shape[0] == 4  # every vector opens with the one key
        assert engine.privacy.verify_audit().ok


def run_at_once(target: Any, args: list[tuple[Any, ...]]) -> None:
    """`target` in one new process per tuple of `args`, all at once; each must succeed."""
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=target, args=a) for a in args]
    for w in workers:
        w.start()
    for w in workers:
        w.join(180)
        assert w.exitcode == 0
