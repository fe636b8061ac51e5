"""Retention (`Retention`, through the engine) with the fake models: the schedule and its
checks, and what `maintain` expires: the vectors of faces in no person, once their photo has
been in the library longer than the schedule allows, and nothing else.

There is no clock to set: photos are made old by dating them back in the catalog, as a
library indexed long ago would have them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regard.engine import Engine, EngineConfig
from regard.errors import PrivacyRequestError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces
from tests.backends import catalog_db

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE, GREEN, YELLOW = (200, 20, 20), (20, 20, 200), (20, 160, 20), (200, 200, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """Red in two photos (a person); green alone in an old photo, yellow alone in a new one
    (faces in no person); blue beside red in the old photo, and alone in no other."""
    folder = tmp_path / "album"
    draw_faces(folder / "old.png", [(10, 10, 40, RED), (100, 10, 40, GREEN)])
    draw_faces(folder / "old-2.png", [(30, 30, 40, RED), (120, 30, 40, BLUE)])
    draw_faces(folder / "new.png", [(50, 50, 40, YELLOW)])
    config = EngineConfig(workers=0, grouping=PARAMS)
    with Engine(tmp_path / "lib", create=True, config=config, models=FakeModels()) as e:
        e.index([folder])
        e.people.group_pending()
        yield e


def date_back(engine: Engine, name: str, when: str = "2020-01-01T00:00:00+00:00") -> None:
    with catalog_db(engine.paths.root) as db:
        db.execute("UPDATE photos SET indexed_at = ? WHERE path LIKE ?", (when, f"%/{name}"))


def states(engine: Engine) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in engine.catalog.faces.rows():
        out.setdefault(Path(r["path"]).name, []).append(r["biometric"])
    return out


def test_the_schedule_is_checked_and_changes_are_audited(engine: Engine) -> None:
    retention = engine.privacy.retention
    assert retention.schedule() == {"unassigned-days": None, "camera-days": None}
    with pytest.raises(PrivacyRequestError) as zero:
        retention.set("unassigned-days", 0)
    assert str(zero.value) == "A retention period is at least 1 day (or 'none')."
    with pytest.raises(PrivacyRequestError) as unknown:
        retention.set("forever", 3)
    assert str(unknown.value) == (
        "'forever' is not a retention setting; there are: unassigned-days, camera-days."
    )
    assert retention.set("unassigned-days", 30)["unassigned-days"] == 30
    assert retention.set("unassigned-days", None)["unassigned-days"] is None
    changes = [
        e["action"] for e in engine.privacy.audit_entries() if e["action"].startswith("retention")
    ]
    assert changes == ["retention-set", "retention-set"]  # the refused ones changed nothing


def test_only_old_faces_in_no_person_lose_their_vectors(engine: Engine, tmp_path: Path) -> None:
    engine.privacy.retention.set("unassigned-days", 30)
    assert engine.privacy.retention.apply()["unassigned_vectors_deleted"] == 0
    date_back(engine, "old.png")
    date_back(engine, "old-2.png")
    result = engine.privacy.retention.apply()
    # Green and blue are in no person, in photos indexed long ago; red is a person's; yellow's
    # photo is new.
    assert result["unassigned_vectors_deleted"] == 2
    assert states(engine) == {
        "old.png": ["kept", "expired"],
        "old-2.png": ["kept", "expired"],
        "new.png": ["kept"],
    }
    model = engine.models.embedder.id
    expired = {int(r["id"]) for r in engine.catalog.faces.rows() if r["biometric"] == "expired"}
    assert not expired & set(engine.catalog.faces.embedding_ids(model).tolist())
    assert not expired & set(engine.vectors.index.ids().tolist())
    green = draw_faces(tmp_path / "green.png", [(60, 60, 40, GREEN)])
    assert engine.search_face(green).matches == ()
    red = draw_faces(tmp_path / "red.png", [(60, 60, 40, RED)])
    assert len(engine.search_face(red).matches) == 2
    applied = [e for e in engine.privacy.audit_entries() if e["action"] == "retention-applied"]
    assert [e["result_count"] for e in applied] == [0, 2]
    # Run again: nothing more; with the schedule off, nothing at all.
    assert engine.privacy.retention.apply()["unassigned_vectors_deleted"] == 0
    engine.privacy.retention.set("unassigned-days", None)
    date_back(engine, "new.png")
    assert engine.privacy.retention.apply()["unassigned_vectors_deleted"] == 0
    assert states(engine)["new.png"] == ["kept"]
