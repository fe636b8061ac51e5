"""Undoing merges, splits and rejections; merging two named people; deleting a person; and
nobody left in the people list without a face (fake models)."""

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig
from regard.errors import PeopleActionError, PersonNotFoundError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces
from tests.backends import catalog_db

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


@pytest.fixture
def engine(tmp_path: Path):
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    draw_faces(folder / "d.png", [(60, 20, 40, GREEN)])
    draw_faces(folder / "e.png", [(20, 60, 40, GREEN)])
    draw_faces(folder / "f.png", [(70, 70, 40, RED)])
    with Engine(
        tmp_path / "lib",
        create=True,
        models=FakeModels(),
        config=EngineConfig(workers=0, grouping=PARAMS),
    ) as e:
        e.index([folder])
        yield e


def person_with(engine: Engine, faces: int) -> str:
    return next(p["person"] for p in engine.people.summaries() if p["faces"] == faces)


def members(engine: Engine, ref: str) -> list[int]:
    return sorted(
        f["face_id"] for photo in engine.people.show(ref)["photo_list"] for f in photo["faces"]
    )


def everything(engine: Engine) -> dict[str, Any]:
    """The people part of the catalog as it is (not when each row was last touched)."""
    db = catalog_db(engine.paths.root)
    try:
        return {
            "people": db.execute(
                "SELECT id, name, name_key, confirmed, merged_into, cover_face_id, created_at"
                " FROM people ORDER BY id"
            ).fetchall(),
            "faces": db.execute(
                "SELECT id, person_id, assigned_by, biometric FROM faces ORDER BY id"
            ).fetchall(),
            "rejections": db.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall(),
        }
    finally:
        db.close()


def blue_and_green(engine: Engine) -> tuple[str, str]:
    """Two people (2 faces each) never in one photo together."""
    two = [p["person"] for p in engine.people.summaries() if p["faces"] == 2]
    return two[0], two[1]


def test_merging_two_named_people_asks_which_name_stays(engine: Engine) -> None:
    a, b = blue_and_green(engine)
    engine.people.name(a, "Barack Obama")
    engine.people.name(b, "Kit Harington")
    with pytest.raises(PeopleActionError) as info:
        engine.people.merge(a, b)
    assert str(info.value) == (
        f"Barack Obama ({a}) and Kit Harington ({b}) both have a name: say which one to keep "
        "with --keep-name."
    )
    assert info.value.web_text == (
        f"Barack Obama ({a}) and Kit Harington ({b}) both have a name: choose which one to keep."
    )
    with pytest.raises(PeopleActionError, match="'Joe' is not the name of either person"):
        engine.people.merge(a, b, keep_name="Joe")
    merged = engine.people.merge(a, b, keep_name="kit harington")
    assert (merged["person"], merged["name"], merged["faces"]) == (a, "Kit Harington", 4)
    assert engine.people.resolve("Kit Harington").id == int(a[1:])
    with pytest.raises(PersonNotFoundError):
        engine.people.resolve("Barack Obama")
    [entry] = [h for h in engine.people.history() if h["action"] == "merge"]
    assert entry["text"] == (
        f"Kit Harington ({b}) joined Barack Obama ({a}): 2 faces; the name 'Barack Obama' was "
        "dropped."
    )


def test_undoing_a_merge_puts_back_names_faces_covers_and_rejections(engine: Engine) -> None:
    a, b = blue_and_green(engine)
    red = person_with(engine, 3)
    engine.people.name(a, "Ann")
    engine.people.name(b, "Bea")
    engine.people.reject(red, members(engine, red)[0])  # a rejection by someone else stays
    # A rejection of b's that the merge moves to a:
    engine.people.split(b, members(engine, b)[:1])
    split_off = engine.people.summaries()[-1]["person"]
    engine.people.undo()
    engine.people.reject(b, members(engine, b)[0])
    engine.people.undo()
    before = everything(engine)
    merged = engine.people.merge(a, b, keep_name="Bea")
    assert merged["undo"] and everything(engine) != before
    done = engine.people.undo(merged["undo"])
    assert done["undone"] == merged["undo"] and done["person"] == a
    assert everything(engine) == before
    assert engine.people.resolve("Bea").id == int(b[1:])
    assert split_off not in {p["person"] for p in engine.people.summaries()}
    with pytest.raises(PeopleActionError, match=f"#{merged['undo']} was undone already"):
        engine.people.undo(merged["undo"])


def test_undoing_a_split_and_a_rejection(engine: Engine) -> None:
    red = person_with(engine, 3)
    before = everything(engine)
    made = engine.people.split(red, members(engine, red)[:1])
    assert made["faces"] == 1
    engine.people.undo(made["undo"])
    after = everything(engine)
    # Splitting confirmed the person; undoing puts back that it was Regard's grouping.
    assert after == before
    face = members(engine, red)[0]
    engine.people.reject(red, face)
    assert face not in members(engine, red)
    done = engine.people.undo()
    assert done["action"] == "reject" and face in members(engine, red)
    assert everything(engine) == before
    assert engine.catalog.people.rejections() == {}


def test_rejecting_the_last_face_removes_the_person_and_undo_brings_them_back(
    engine: Engine,
) -> None:
    a, _b = blue_and_green(engine)
    engine.people.name(a, "Laura")
    first, second = members(engine, a)
    engine.people.reject(a, first)
    before = everything(engine)
    out = engine.people.reject(a, second)
    assert out["removed"] and out["faces"] == 0
    assert "Laura" not in {p["name"] for p in engine.people.summaries()}
    with pytest.raises(PersonNotFoundError):
        engine.people.resolve("Laura")
    history = engine.people.history()
    assert (
        history[0]["text"]
        == f"F{second} is not Laura ({a}); Laura ({a}) had no other face and went."
    )
    engine.people.undo(out["undo"])
    assert everything(engine) == before
    assert engine.people.resolve("Laura").id == int(a[1:])


def test_undo_is_refused_when_a_later_decision_changed_the_same_faces(engine: Engine) -> None:
    a, b = blue_and_green(engine)
    merged = engine.people.merge(a, b)
    moved = members(engine, a)[-1]
    split = engine.people.split(a, [moved])
    state = everything(engine)
    with pytest.raises(PeopleActionError) as info:
        engine.people.undo(merged["undo"])
    assert str(info.value) == (
        f"Cannot undo #{merged['undo']}: F{moved} was moved to {split['person']} since. Undo "
        f"the later changes to them first (newest first), or correct it by hand. "
        f"(#{merged['undo']})"
    )
    assert everything(engine) == state
    [row] = [h for h in engine.people.history() if h["entry"] == merged["undo"]]
    assert not row["can_undo"] and row["why_not"].startswith(f"F{moved} was moved")
    engine.people.undo(split["undo"])
    engine.people.undo(merged["undo"])
    assert sorted(p["faces"] for p in engine.people.summaries()) == [2, 2, 3]


def test_undoing_a_rejection_after_a_regrouping_moved_the_face(engine: Engine) -> None:
    red = person_with(engine, 3)
    face = members(engine, red)[0]
    out = engine.people.reject(red, face)
    engine.people.recluster()  # Regard may group the face elsewhere: that is not a decision
    engine.people.undo(out["undo"])
    assert face in members(engine, red)
    assert engine.catalog.people.rejections() == {}


def test_a_person_can_be_deleted_and_their_name_goes_with_them(engine: Engine) -> None:
    a, _b = blue_and_green(engine)
    engine.people.name(a, "Kit")
    faces = members(engine, a)
    out = engine.people.delete("Kit")
    assert out == {
        "deleted": a,
        "name": "Kit",
        "faces_unassigned": 2,
        "entry": out["entry"],
    }
    assert all(engine.catalog.people.face_person(f) is None for f in faces)
    assert all(engine.catalog.faces.row(f)["biometric"] == "kept" for f in faces)  # not erased
    with pytest.raises(PersonNotFoundError):
        engine.people.resolve("Kit")
    texts = " ".join(h["text"] for h in engine.people.history())
    assert "Kit" not in texts and f"{a} deleted" in texts


def test_opting_out_leaves_no_empty_person_and_no_forbidden_cover(
    engine: Engine, tmp_path: Path
) -> None:
    a, _b = blue_and_green(engine)
    engine.people.name(a, "Kit")
    # A selfie: a face of the person's own colour.
    row = engine.catalog.faces.row(members(engine, a)[0])
    assert row is not None
    selfie = tmp_path / "selfie.png"
    with Image.open(row["path"]) as img:
        x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
        face = img.convert("RGB").crop((x, y, x + w, y + h))
        colour = face.getpixel((w // 2, h // 2))
    draw_faces(selfie, [(30, 30, 40, colour)])
    engine.privacy.optouts.add(selfie)
    assert "Kit" not in {p["name"] for p in engine.people.summaries()}
    with pytest.raises(PersonNotFoundError):
        engine.people.resolve("Kit")
    engine.people.recluster()
    for p in engine.people.summaries():
        assert p["faces"] > 0
        assert p["cover_face_id"] is not None
        assert engine.catalog.faces.row(p["cover_face_id"])["biometric"] == "kept"
        assert engine.catalog.people.face_person(p["cover_face_id"]) == p["id"]
    status = engine.status()
    assert status["people"] == len(engine.people.summaries())


def test_a_stale_cover_is_replaced_by_another_face(engine: Engine) -> None:
    red = person_with(engine, 3)
    pid = int(red[1:])
    first = members(engine, red)[0]
    with engine.catalog.transaction():
        engine.catalog.privacy.drop_embeddings([first], "erased")
        engine.catalog.people.set_cover(pid, first)
    [row] = [p for p in engine.people.summaries() if p["id"] == pid]
    assert row["cover_face_id"] in members(engine, red) and row["cover_face_id"] != first


def test_a_stale_cover_is_shown_replaced_by_reads_and_stored_replaced_by_fix_covers(
    engine: Engine,
) -> None:
    red = person_with(engine, 3)
    pid = int(red[1:])
    first = members(engine, red)[0]
    with engine.catalog.transaction():
        engine.catalog.privacy.drop_embeddings([first], "erased")
        engine.catalog.people.set_cover(pid, first)
    engine.people.summaries()
    row = engine.catalog.people.get(pid)
    assert row is not None and row.cover_face_id == first  # looking wrote nothing
    engine.people.fix_covers()
    row = engine.catalog.people.get(pid)
    assert row is not None and row.cover_face_id in members(engine, red)
    assert row.cover_face_id != first


def test_undoing_a_merge_into_a_named_person_puts_their_cover_back(engine: Engine) -> None:
    a, b = blue_and_green(engine)
    engine.people.name(a, "Ann")  # confirmed and named: the merge changes nothing of hers
    before = everything(engine)
    merged = engine.people.merge(a, b)
    assert merged["name"] == "Ann" and merged["faces"] == 4
    engine.people.undo(merged["undo"])
    assert everything(engine) == before
