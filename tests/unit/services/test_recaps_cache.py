"""Recaps worked out once are kept while the catalog does not change: a later listing costs
next to nothing. Every change that could alter them starts again — photos added (by this
engine or another connection), trashed, a person erased, hidden or withdrawing consent, a
recap hidden, an organisation's consent for recaps, a new day — and what is listed then is
exactly what a fresh engine lists (a kept listing showing an erased or hidden person would be
a privacy defect)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from regard.domain.privacy import Policy
from regard.engine import Engine, EngineConfig
from regard.testing import FakeModels
from tests.unit.services.recap_library import build, summary

TODAY = date(2026, 6, 1)


def open_engine(lib: Path, policy: Policy | None = None) -> Engine:
    return Engine(
        lib, create=True, models=FakeModels(), config=EngineConfig(workers=0, policy=policy)
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine(tmp_path / "lib") as e:
        build(e, photos=500)
        yield e


def every(engine: Engine, day: date = TODAY) -> list[Any]:
    return summary(engine.recaps.listing("all", hidden=True, today=day))


def fresh(engine: Engine, day: date = TODAY) -> list[Any]:
    """What an engine that never listed recaps before lists now."""
    with open_engine(engine.catalog.path.parent) as other:
        return every(other, day)


def people_in(found: list[Any]) -> set[str]:
    return {p for r in found for p in r["people"]}


def test_a_later_listing_reuses_what_was_worked_out(engine: Engine) -> None:
    first = every(engine)
    kept = engine.recaps._found  # type: ignore[attr-defined]
    assert kept is not None and kept.chosen
    # The listing's own audit entry (and looks) are no change to the library.
    assert every(engine) == first
    assert engine.recaps._found is kept  # type: ignore[attr-defined]
    assert engine.recaps.get(first[0]["id"], today=TODAY).recap.as_dict() == first[0]
    assert engine.recaps._found is kept  # type: ignore[attr-defined]
    entries = [e for e in engine.privacy.audit_entries() if e["action"] == "recaps"]
    assert len(entries) == 2  # every listing is audited, kept or not


def changes_it(engine: Engine, change: Callable[[], object], day: date = TODAY) -> list[Any]:
    before = every(engine)
    change()
    after = every(engine, day)
    assert after != before, "the change should have changed the recaps"
    assert after == fresh(engine, day)
    return after


def test_erasing_a_person_is_seen_at_once(engine: Engine) -> None:
    assert "Person 2" in people_in(every(engine))
    after = changes_it(engine, lambda: engine.privacy.erase_person("Person 2"))
    assert "Person 2" not in people_in(after)


def test_hiding_a_person_is_seen_at_once(engine: Engine) -> None:
    after = changes_it(engine, lambda: engine.recaps.hide_person("Person 3"))
    assert "Person 3" not in people_in(after)
    shown = changes_it(engine, lambda: engine.recaps.hide_person("Person 3", hidden=False))
    assert "Person 3" in people_in(shown)


def test_withdrawing_consent_is_seen_at_once(engine: Engine) -> None:
    after = changes_it(engine, lambda: engine.privacy.withdraw("Person 1", "recaps"))
    assert "Person 1" not in people_in(after)


def test_hiding_a_recap_is_seen_at_once(engine: Engine) -> None:
    first = every(engine)[0]["id"]
    after = changes_it(engine, lambda: engine.recaps.hide(first))
    assert next(r for r in after if r["id"] == first)["hidden"]
    assert first not in {r.id for r in engine.recaps.listing("all", today=TODAY).recaps}


def test_trashing_photos_is_seen_at_once(engine: Engine) -> None:
    shown = {p["photo_id"] for r in every(engine) for p in r["photos"]}
    after = changes_it(engine, lambda: engine.trash.put(sorted(shown)[:50]))
    assert not {p["photo_id"] for r in after for p in r["photos"]} & set(sorted(shown)[:50])


def test_photos_added_here_or_by_another_connection_are_seen(engine: Engine) -> None:
    def add(db: Any, first: int) -> None:
        db.executemany(
            "INSERT INTO photos (id, path, content_hash, size_bytes, mtime_ns, status, format,"
            " taken_at, gps_lat, gps_lon, media, indexed_at) VALUES (?, ?, ?, 1, 0, 'indexed',"
            " 'JPEG', ?, 45.76, 4.83, 'photo', '2026-01-01')",
            [
                (
                    first + i,
                    f"/new/{first + i}.jpg",
                    f"n{first + i}",
                    f"2026-05-2{first % 7}T10:1{i}:00",
                )
                for i in range(8)
            ],
        )

    def here() -> None:
        with engine.catalog.transaction():
            add(engine.catalog._db, 90_000)  # type: ignore[attr-defined]

    changes_it(engine, here)

    def elsewhere() -> None:  # another process indexing while a server lists
        other = sqlite3.connect(engine.catalog.path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            add(other, 91_000)
            other.execute("COMMIT")
        finally:
            other.close()

    changes_it(engine, elsewhere)


def test_a_new_day_is_worked_out_again(engine: Engine) -> None:
    kept = every(engine)
    later = every(engine, date(2026, 6, 2))
    assert later != kept and later == fresh(engine, date(2026, 6, 2))


def test_an_organisation_shows_a_person_once_they_agree(tmp_path: Path) -> None:
    with open_engine(tmp_path / "org", Policy.ORGANISATION) as e:
        build(e, photos=300)
        assert people_in(every(e)) == set()
        after = changes_it(e, lambda: e.privacy.grant("Person 1", "recaps", evidence_text="form"))
        assert people_in(after) == {"Person 1"}
