"""The keyed audit chain against someone who can write the catalog and the anchor file but has
not the library's key: the security review's cases C8-C10, a downgrade to the old unkeyed
chain, verification without the key, and keying a log from before keys."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from regard.engine import Engine, EngineConfig
from regard.errors import AuditKeyMissingError
from regard.pipeline.cluster import GroupingParams
from regard.storage.keys import KeyConfig
from regard.storage.sealing import read_key_file, unwrap, wrap
from regard.testing import FakeModels, draw_faces
from tests.backends import catalog_db

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
FIELDS = ("id", "at", "actor", "action", "purpose", "subject", "probe_hash", "result_count")


def engine_at(lib: Path, keys: KeyConfig = KeyConfig(), create: bool = False) -> Engine:
    config = EngineConfig(workers=0, grouping=PARAMS, keys=keys)
    return Engine(lib, create=create, models=FakeModels(), config=config)


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    """A library whose log has 12 entries or more: naming, searches, consent, an erasure."""
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(album / "b.png", [(30, 30, 40, RED)])
    draw_faces(album / "c.png", [(50, 50, 40, BLUE)])
    with engine_at(tmp_path / "lib", create=True) as e:
        e.index([album])
        e.people.group_pending()
        red, blue = sorted(e.people.summaries(), key=lambda p: p["person"])[:2]
        e.people.name(red["person"], "Grandma")
        e.people.name(blue["person"], "Uncle")
        e.privacy.erase_person("Uncle")
        for _ in range(7):
            e.search_person("Grandma")
        e.privacy.grant("Grandma", "search", evidence_text="asked her")
        e.privacy.withdraw("Grandma", "search")
        assert e.privacy.verify_audit().ok
        assert len(e.privacy.audit_entries()) >= 12
    return tmp_path / "lib"


def entries(db: sqlite3.Connection) -> list[dict[str, object]]:
    db.row_factory = sqlite3.Row
    return [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY id")]


def library_id(db: sqlite3.Connection) -> str:
    return str(db.execute("SELECT value FROM settings WHERE key = 'library_id'").fetchone()[0])


def anchor_file(db: sqlite3.Connection, state: Path) -> Path:
    return state / "state" / f"{library_id(db)}.audit-head"


def rechain_without_key(db: sqlite3.Connection, anchor: Path | None = None) -> None:
    """What the review's script did: recompute every link with plain SHA-256 (the only hash
    one can compute without the key), then the head in the catalog and, if given, outside."""
    prev = hashlib.sha256(f"regard-audit:{library_id(db)}".encode()).hexdigest()
    for row in entries(db):
        body = json.dumps(
            {k: row[k] for k in (*FIELDS, "detail")}, sort_keys=True, separators=(",", ":")
        )
        link = hashlib.sha256((prev + body).encode()).hexdigest()
        db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, link, row["id"]))
        prev = link
    last = entries(db)[-1]
    head = f"{last['id']}:{last['hash']}"
    db.execute("UPDATE settings SET value = ? WHERE key = 'audit.head'", (head,))
    db.commit()
    if anchor is not None:
        anchor.write_text(head + "\n")


def verify(lib: Path) -> dict[str, object]:
    with engine_at(lib) as e:
        return e.privacy.verify_audit().as_dict()


def test_an_edited_entry_is_named(lib: Path) -> None:
    db = catalog_db(lib)
    db.execute("UPDATE audit SET result_count = 99 WHERE id = 6")
    db.commit()
    check = verify(lib)
    assert check["first_bad_entry"] == 6
    assert check["problems"] == [
        f"entry 6 ({entries(db)[5]['action']} at {entries(db)[5]['at']}) was changed after it "
        "was written"
    ]


def test_the_newest_entry_edited_is_named(lib: Path) -> None:
    db = catalog_db(lib)
    n = len(entries(db))
    db.execute(f"UPDATE audit SET actor = 'someone else' WHERE id = {n}")
    db.commit()
    check = verify(lib)
    assert check["first_bad_entry"] == n
    assert f"entry {n} (" in check["problems"][0]  # type: ignore[index]


def test_a_deleted_entry_is_named(lib: Path) -> None:
    db = catalog_db(lib)
    erasure = next(r["id"] for r in entries(db) if r["action"] == "erasure")
    db.execute(f"DELETE FROM audit WHERE id = {erasure}")
    db.commit()
    check = verify(lib)
    assert check["first_bad_entry"] == erasure
    assert f"entry {erasure} is missing (the next one is {erasure + 1})" in check["problems"]  # type: ignore[operator]


def test_deleting_the_newest_entries_is_caught_by_the_anchor(lib: Path) -> None:
    db = catalog_db(lib)
    n = len(entries(db))
    db.execute(f"DELETE FROM audit WHERE id = {n}")
    last = entries(db)[-1]
    db.execute(
        "UPDATE settings SET value = ? WHERE key = 'audit.head'", (f"{n - 1}:{last['hash']}",)
    )
    db.commit()
    check = verify(lib)
    # Opening notices the gap and says so in the log; verify keeps reporting it.
    assert any(f"entries {n} to {n} are missing" in p for p in check["problems"])  # type: ignore[attr-defined]


def test_an_edit_hidden_by_recomputing_the_chain_is_named_exactly(lib: Path) -> None:
    """C9: entry 5 changed, the links after it and the head in the catalog recomputed, the
    anchor outside left alone. It used to say "entries 12 to 11 are missing"."""
    db = catalog_db(lib)
    db.execute("UPDATE audit SET result_count = 0 WHERE id = 5")
    db.commit()
    rechain_without_key(db)
    check = verify(lib)
    problems: list[str] = check["problems"]  # type: ignore[assignment]
    assert check["first_bad_entry"] == 5 and not check["ok"]
    assert problems[0].startswith("entry 5 (") and problems[0].endswith(
        "was changed after it was written"
    )
    assert not any("missing" in p for p in problems), problems
    assert not any(p.startswith(("entry 6 (", "entry 7 (")) for p in problems), problems


def test_an_edit_hidden_everywhere_is_still_caught(lib: Path, private_state: Path) -> None:
    """C10: as C9, and the anchor outside the library rewritten too. Without the key it said
    `ok: true`."""
    db = catalog_db(lib)
    erasure = next(r["id"] for r in entries(db) if r["action"] == "erasure")
    db.execute(f"UPDATE audit SET detail = '{{}}', result_count = 0 WHERE id = {erasure}")
    db.commit()
    rechain_without_key(db, anchor_file(db, private_state))
    check = verify(lib)
    assert not check["ok"] and check["first_bad_entry"] == erasure
    assert check["problems"][0].startswith(f"entry {erasure} (erasure at ")  # type: ignore[index]


def test_a_deletion_hidden_by_renumbering_is_named(lib: Path, private_state: Path) -> None:
    """C10: the erasure entry deleted, the ones after renumbered, the chain and both heads
    recomputed."""
    db = catalog_db(lib)
    rows = entries(db)
    erasure = next(r["id"] for r in rows if r["action"] == "erasure")
    db.execute(f"DELETE FROM audit WHERE id = {erasure}")
    for row in rows[erasure:]:
        db.execute(f"UPDATE audit SET id = {row['id'] - 1} WHERE id = {row['id']}")  # type: ignore[operator]
    db.commit()
    rechain_without_key(db, anchor_file(db, private_state))
    check = verify(lib)
    assert not check["ok"] and check["first_bad_entry"] == erasure
    assert check["problems"] == [
        f"entry {erasure} was deleted and the entries after renumbered to hide it (entries "
        f"{erasure} to {len(rows) - 1} were written as entries {erasure + 1} to {len(rows)})",
        f"the links of entries 1 to {erasure - 1} were made again without the library's key, "
        "to hide the change above",
    ]


def test_the_log_cannot_be_made_to_look_unkeyed(lib: Path, private_state: Path) -> None:
    """Stripping the MACs and rewriting the log as an old unkeyed chain does not get it keyed
    again as it stands: the wrapped key says it was keyed already."""
    db = catalog_db(lib)
    db.execute("UPDATE audit SET result_count = 0 WHERE id = 3")
    db.execute("UPDATE audit SET mac = NULL")
    db.commit()
    rechain_without_key(db, anchor_file(db, private_state))
    with engine_at(lib) as e:
        check = e.privacy.verify_audit()
        assert "audit-keyed" not in [a["action"] for a in e.privacy.audit_entries()]
    assert not check.ok and check.first_bad_entry == 1


def test_without_the_key_the_log_is_read_but_not_verified_or_written(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    secret = KeyConfig(passphrase="correct horse battery")
    with engine_at(lib, secret, create=True) as e:
        e.privacy.grant("Ann", "search", evidence_text="yes")
    with engine_at(lib) as e:
        assert [a["action"] for a in e.privacy.audit_entries()] == ["consent-grant"]
        with pytest.raises(AuditKeyMissingError) as info:
            e.privacy.verify_audit()
        assert str(info.value).startswith(
            "The audit log is signed with a key derived from the library's key, and verifying "
            "it needs it. Give the passphrase"
        )
        with pytest.raises(AuditKeyMissingError, match="recording this change in it needs it"):
            e.privacy.grant("Bob", "search", evidence_text="yes")
    with engine_at(lib, secret) as e:
        assert e.privacy.verify_audit().ok


def make_unkeyed(lib: Path, state: Path, tamper: bool = False) -> int:
    """Turn a library into one from before keyed logs: the old chain and the old wrap."""
    db = catalog_db(lib)
    lid = library_id(db)
    if tamper:
        db.execute("UPDATE audit SET result_count = 7 WHERE id = 2")
    db.execute("UPDATE audit SET mac = NULL")
    db.commit()
    rechain_without_key(db, anchor_file(db, state))
    if tamper:
        db.execute("UPDATE audit SET result_count = 8 WHERE id = 2")  # after the chain: caught
    kek = read_key_file(state / "keys" / f"{lid}.key")
    wrapped = str(
        db.execute("SELECT value FROM settings WHERE key = 'crypto.wrapped_key'").fetchone()[0]
    )
    data_key, version = unwrap(kek, base64.b64decode(wrapped), lid)
    assert version == 2
    old = base64.b64encode(wrap(kek, data_key, lid, version=1)).decode()
    db.execute("UPDATE settings SET value = ? WHERE key = 'crypto.wrapped_key'", (old,))
    db.commit()
    n = len(entries(db))
    db.close()
    return n


def test_a_log_from_before_keys_is_checked_and_keyed_once(lib: Path, private_state: Path) -> None:
    n = make_unkeyed(lib, private_state)
    with engine_at(lib) as e:
        log = e.privacy.audit_entries()
        assert log[-1]["action"] == "audit-keyed" and log[-1]["detail"] == {
            "entries": n,
            "chain_problems": [],
        }
        assert all(a["mac"] for a in log)
        assert e.privacy.verify_audit().ok
    with engine_at(lib) as e:
        assert [a["action"] for a in e.privacy.audit_entries()].count("audit-keyed") == 1
    # Once keyed, what the old chain allowed no longer works.
    db = catalog_db(lib)
    db.execute("UPDATE audit SET result_count = 0 WHERE id = 4")
    db.commit()
    rechain_without_key(db, anchor_file(db, private_state))
    assert verify(lib)["first_bad_entry"] == 4


def test_what_was_wrong_before_keying_stays_reported(lib: Path, private_state: Path) -> None:
    make_unkeyed(lib, private_state, tamper=True)
    check = verify(lib)
    assert not check["ok"]
    assert any(
        "found when the log was keyed" in p and "entry 2 (" in p and "was changed" in p
        for p in check["problems"]  # type: ignore[attr-defined]
    )


def test_rekey_signs_the_log_again(lib: Path) -> None:
    with engine_at(lib) as e:
        e.rekey(KeyConfig(passphrase="a new passphrase"))
    secret = KeyConfig(passphrase="a new passphrase")
    with engine_at(lib, secret) as e:
        check = e.privacy.verify_audit()
        assert check.ok, check.problems
        assert e.privacy.audit_entries()[-1]["action"] == "rekey"
