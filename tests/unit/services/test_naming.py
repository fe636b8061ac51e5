"""Naming any face where it is seen (fake models): a face in no person given to someone, to a
new name, said to be no person or someone else; each undone from the history; the privacy
rules of naming (opted-out and erased faces are never named, a withdrawn person is never
suggested); owner corrections hold across a regrouping; hiding people and choosing covers;
the "Who is this?" queue, largest first, with its suggestions audited."""

from pathlib import Path

import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig
from regard.errors import NameTakenError, PeopleActionError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces
from tests.backends import catalog_db

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE, GREEN, YELLOW = (200, 20, 20), (20, 20, 200), (20, 160, 20), (200, 200, 20)
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
    draw_faces(folder / "g.png", [(40, 40, 40, YELLOW)])
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


def loose(engine: Engine) -> int:
    """The face in no person (the yellow one, alone)."""
    [face] = [r["face_id"] for r in engine.catalog.people.unnamed_faces() if r["person_id"] is None]
    return int(face)


def out_of_its_person(engine: Engine, face_id: int) -> None:
    """As if grouping had left this face alone (it can, for a poor or odd face)."""
    with engine.catalog.transaction():
        engine.catalog.people.put_face(face_id, None, None)


def test_a_face_in_no_person_is_named_and_the_name_is_undone(engine: Engine) -> None:
    face = loose(engine)
    done = engine.faces.assign([face], name="  Great   Aunt ")
    assert done["name"] == "Great Aunt" and done["faces"] == [f"F{face}"]
    assert done["text"] == f"F{face} is Great Aunt now."
    assert members(engine, done["person"]) == [face]
    history = engine.people.history()
    assert history[0]["text"] == f"F{face}: a new person, 'Great Aunt' ({done['person']})."
    assert history[0]["can_undo"]
    engine.people.undo(done["undo"])
    assert "Great Aunt" not in {p["name"] for p in engine.people.summaries()}
    assert engine.catalog.people.face_person(face) is None


def test_a_name_someone_has_is_never_given_twice(engine: Engine) -> None:
    red = person_with(engine, 3)
    engine.people.name(red, "Grandma")
    with pytest.raises(NameTakenError) as info:
        engine.faces.assign([loose(engine)], name="grandma")
    assert info.value.holder == red
    # The owner takes the offer: the face is given to Grandma herself.
    face = loose(engine)
    engine.faces.assign([face], person="Grandma")
    assert engine.catalog.people.face_person(face) == int(red[1:])
    assert [p["name"] for p in engine.people.summaries()].count("Grandma") == 1


def test_a_face_goes_to_an_existing_person_and_its_old_person_goes_if_empty(
    engine: Engine,
) -> None:
    red = person_with(engine, 3)
    face = loose(engine)
    assert engine.faces.assign([face], person=red)["person"] == red
    # From a person of its own (one face) to another: the emptied person goes; undo brings
    # them back.
    blue = person_with(engine, 2)
    engine.people.name(blue, "Bob")
    solo = engine.faces.assign([members(engine, red)[-1]], name="Solo")
    done = engine.faces.assign(members(engine, solo["person"]), person=red)
    assert done["people_removed"] == [solo["person"]]
    engine.people.undo(done["undo"])
    assert engine.people.resolve("Solo").id == int(solo["person"][1:])


def test_one_person_is_never_twice_in_one_photo(engine: Engine) -> None:
    red = person_with(engine, 3)
    red_faces = members(engine, red)
    photo_a = engine.catalog.faces.row(red_faces[0])["photo_id"]
    blue_in_a = next(
        r["id"] for r in engine.catalog.faces.rows(photo_a) if r["id"] not in red_faces
    )
    before = members(engine, red)
    with pytest.raises(PeopleActionError, match="never twice in one photo"):
        engine.faces.assign([blue_in_a], person=red)
    assert members(engine, red) == before  # nothing half-written


def test_not_a_person_leaves_grouping_and_counts_and_is_undone(engine: Engine) -> None:
    face = loose(engine)
    faces_before = engine.status()["faces"]
    done = engine.faces.not_a_person(face)
    assert done["text"] == f"F{face} is not a person: it is left out of people and counts."
    assert face not in {r["face_id"] for r in engine.catalog.people.unnamed_faces()}
    assert face not in [g["face_id"] for g in engine.faces.who_is_this()["groups"]]
    photos = {p["path"].rsplit("/", 1)[1]: p["faces"] for p in engine.photos()}
    assert photos["g.png"] == 0
    engine.people.recluster()
    assert engine.catalog.people.face_person(face) is None
    assert engine.catalog.faces.row(face)["not_a_person"] == 1
    with pytest.raises(PeopleActionError, match="already"):
        engine.faces.not_a_person(face)
    engine.people.undo(done["undo"])
    assert engine.catalog.faces.row(face)["not_a_person"] == 0
    assert engine.status()["faces"] == faces_before


def test_someone_else_takes_a_face_out_for_good_even_across_regrouping(engine: Engine) -> None:
    red = person_with(engine, 3)
    face = members(engine, red)[0]
    done = engine.faces.someone_else(face)
    assert face not in members(engine, red)
    engine.people.recluster()
    assert face not in members(engine, red)  # the owner's word holds across regrouping
    engine.people.undo(done["undo"])
    assert face in members(engine, red)
    with pytest.raises(PeopleActionError, match="in no person"):
        engine.faces.someone_else(loose(engine))


def test_a_gone_persons_number_is_never_given_to_someone_new(engine: Engine) -> None:
    # Ann is the newest person; her only face is said to be someone else, so she goes.
    face = loose(engine)
    ann = engine.faces.assign([face], name="Ann")["person"]
    engine.faces.someone_else(face)
    assert engine.catalog.people.get(int(ann[1:])) is None
    # Someone new gets a number of their own, not Ann's: the owner's words about Ann (the
    # rejection, her history, a recap hidden) never meet them.
    red = members(engine, person_with(engine, 3))
    bo = engine.faces.assign([red[0]], name="Bo")["person"]
    assert int(bo[1:]) > int(ann[1:])
    engine.people.recluster()
    assert {p.id for p in engine.catalog.people.live_people()}.isdisjoint({int(ann[1:])})


def test_an_owner_assignment_holds_across_regrouping(engine: Engine) -> None:
    blue = person_with(engine, 2)
    face = loose(engine)  # yellow, unlike anyone
    engine.faces.assign([face], person=blue)
    engine.people.recluster()
    assert engine.catalog.people.face_person(face) == int(blue[1:])


def selfie_of(engine: Engine, face_id: int, path: Path) -> Path:
    row = engine.catalog.faces.row(face_id)
    with Image.open(row["path"]) as img:
        x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
        colour = img.convert("RGB").crop((x, y, x + w, y + h)).getpixel((w // 2, h // 2))
    draw_faces(path, [(30, 30, 40, colour)])
    return path


def test_an_opted_out_face_can_never_be_named(engine: Engine, tmp_path: Path) -> None:
    face = loose(engine)
    engine.privacy.optouts.add(selfie_of(engine, face, tmp_path / "selfie.png"))
    assert engine.catalog.faces.row(face)["biometric"] == "opted_out"
    for attempt in (
        lambda: engine.faces.assign([face], name="Yellow"),
        lambda: engine.faces.assign([face], person=person_with(engine, 3)),
    ):
        with pytest.raises(PeopleActionError) as info:
            attempt()
        assert str(info.value) == (
            f"F{face} cannot be named: the person whose face it is opted out of being "
            "recognised, and that holds for good."
        )
    assert face not in {r["face_id"] for r in engine.catalog.people.unnamed_faces()}


def test_an_erased_face_stays_erased_after_someone_else_and_undo(engine: Engine) -> None:
    red = person_with(engine, 3)
    engine.people.name(red, "Grandma")
    face = members(engine, red)[0]
    done = engine.faces.someone_else(face)
    engine.faces.assign([face], name="Other")
    engine.privacy.erase_person("Other")
    assert engine.catalog.faces.row(face)["biometric"] == "erased"
    with pytest.raises(PeopleActionError):
        engine.people.undo(done["undo"])
    with pytest.raises(PeopleActionError, match="erased"):
        engine.faces.assign([face], person="Grandma")
    with pytest.raises(PeopleActionError, match="in no person"):
        engine.faces.someone_else(face)
    assert engine.catalog.faces.row(face)["biometric"] == "erased"
    assert engine.catalog.people.face_person(face) is None


def test_withdrawn_people_cannot_be_given_faces_and_are_never_suggested(engine: Engine) -> None:
    red = person_with(engine, 3)
    engine.people.name(red, "Grandma")
    face = members(engine, red)[0]
    out_of_its_person(engine, face)
    [group] = [g for g in engine.faces.who_is_this()["groups"] if g["face_id"] == face]
    assert group["suggestion"]["name"] == "Grandma"
    assert group["suggestion"]["text"] == "looks like Grandma in 2 photos"
    engine.privacy.grant("Grandma", "grouping,search", evidence_text="asked at lunch")
    engine.privacy.withdraw("Grandma", "search")
    groups = engine.faces.who_is_this()["groups"]
    assert all(g["suggestion"] is None for g in groups)


def test_someone_who_agrees_again_with_a_photo_is_suggested_for_their_faces(
    engine: Engine, tmp_path: Path
) -> None:
    """Grandma withdrew everything (her faces lost their data and left her person), then agreed
    again with a photo of her: her faces come back as a group of their own on the next index
    run, and the queue suggests her for it on her enrolment photo alone; taking it gives her
    the faces."""
    red = person_with(engine, 3)
    engine.people.name(red, "Grandma")
    engine.privacy.grant("Grandma", "grouping,search", evidence_text="asked at lunch")
    engine.privacy.withdraw("Grandma")
    gone = engine.catalog.people.by_name("Grandma")
    assert gone is None or not engine.catalog.people.face_ids_of(gone.id)
    photo = draw_faces(tmp_path / "grandma.png", [(20, 20, 40, RED)])
    again = engine.privacy.grant(
        "Grandma", "grouping,search", evidence_text="agreed again", face_photo=photo
    )
    assert again.photos_to_recheck == 3
    engine.index([tmp_path / "album"])
    grandma = engine.catalog.people.by_name("Grandma")
    assert grandma is not None and not engine.catalog.people.face_ids_of(grandma.id)
    [group] = [g for g in engine.faces.who_is_this()["groups"] if g["faces"] == 3]
    suggestion = group["suggestion"]
    assert suggestion["person_id"] == grandma.id and suggestion["photos"] == 0
    assert suggestion["text"] == "looks like the photo given with Grandma's consent"
    engine.faces.assign(group["face_ids"], person=suggestion["person"])
    assert len(engine.catalog.people.face_ids_of(grandma.id)) == 3
    audit = [e for e in engine.context.audit.entries() if e["action"] == "suggest-names"]
    assert audit[-1]["subject"] == suggestion["person"]
    # Withdrawn again, the enrolment photo goes too: nobody is suggested for her faces.
    engine.privacy.withdraw("Grandma")
    engine.index([tmp_path / "album"])
    assert all(g["suggestion"] is None for g in engine.faces.who_is_this()["groups"])


def test_organisation_naming_needs_consent_as_naming_a_person_does(tmp_path: Path) -> None:
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED)])
    from regard.domain.privacy import Policy

    with Engine(
        tmp_path / "lib",
        create=True,
        models=FakeModels(),
        config=EngineConfig(workers=0, grouping=PARAMS, policy=Policy.ORGANISATION),
    ) as e:
        e.index([folder])
        [face] = [r["id"] for r in e.catalog.faces.rows()]
        # Without consent the face is not even kept as face data: it is never named.
        with pytest.raises(PeopleActionError, match="needs the person's recorded consent"):
            e.faces.assign([face], name="Visitor")
        assert e.catalog.people.face_person(face) is None


def test_the_queue_is_largest_first_with_photos_and_audited_suggestions(engine: Engine) -> None:
    red = person_with(engine, 3)
    engine.people.name(red, "Grandma")
    face = members(engine, red)[0]
    out_of_its_person(engine, face)
    queue = engine.faces.who_is_this()
    sizes = [g["photos"] for g in queue["groups"]]
    assert sizes == sorted(sizes, reverse=True)
    assert queue["total"] == 4  # blue, green (two photos each), yellow, the red face
    assert queue["groups"][0]["person"] is not None
    assert all(g["seen_in"][0]["link"].startswith("/photos/") for g in queue["groups"])
    page = engine.faces.who_is_this(offset=3, limit=5)
    assert len(page["groups"]) == 1 and page["offset"] == 3
    audit = [e for e in engine.context.audit.entries() if e["action"] == "suggest-names"]
    assert audit and audit[0]["purpose"] == "search"
    assert red in (audit[0]["subject"] or "")


def test_hide_and_cover_are_kept_and_undone(engine: Engine) -> None:
    red = person_with(engine, 3)
    done = engine.faces.hide(red)
    assert next(p for p in engine.people.summaries() if p["person"] == red)["hidden"]
    engine.people.undo(done["undo"])
    assert not next(p for p in engine.people.summaries() if p["person"] == red)["hidden"]
    faces = members(engine, red)
    old_cover = next(p for p in engine.people.summaries() if p["person"] == red)["cover_face_id"]
    chosen = next(f for f in faces if f != old_cover)
    cover = engine.faces.choose_cover(red, chosen)
    # Kept across a regrouping and a merge into them (covers are otherwise chosen again).
    engine.people.recluster()
    assert next(p for p in engine.people.summaries() if p["person"] == red)["cover_face_id"] == (
        chosen
    )
    engine.people.undo(cover["undo"])
    assert next(p for p in engine.people.summaries() if p["person"] == red)["cover_face_id"] == (
        old_cover
    )
    with pytest.raises(PeopleActionError, match="not one of"):
        engine.faces.choose_cover(red, loose(engine))


def test_people_are_listed_named_first_then_by_photos(engine: Engine) -> None:
    green = [p["person"] for p in engine.people.summaries() if p["faces"] == 2][-1]
    engine.people.name(green, "Zed")
    order = [p["person"] for p in engine.people.summaries()]
    assert order[0] == green
    assert [p["photos"] for p in engine.people.summaries()[1:]] == sorted(
        [p["photos"] for p in engine.people.summaries()[1:]], reverse=True
    )


def test_history_from_before_these_fields_still_undoes(engine: Engine) -> None:
    """Entries written before hidden/covers/not-a-person were kept lack those keys."""
    red = person_with(engine, 3)
    done = engine.people.reject(red, members(engine, red)[0])
    db = catalog_db(engine.paths.root)
    try:
        detail = db.execute(
            "SELECT detail FROM people_history WHERE id = ?", (done["undo"],)
        ).fetchone()[0]
        old = detail.replace('"hidden": false, ', "").replace(', "not_a_person": false', "")
        db.execute("UPDATE people_history SET detail = ? WHERE id = ?", (old, done["undo"]))
        db.commit()
    finally:
        db.close()
    engine.people.undo(done["undo"])
    assert len(members(engine, red)) == 3


def test_a_name_whose_consent_was_withdrawn_is_refused(engine: Engine) -> None:
    engine.privacy.grant("Zoe", "grouping,search", evidence_text="said yes")
    engine.privacy.withdraw("Zoe")
    face = loose(engine)
    with pytest.raises(PeopleActionError) as info:
        engine.faces.assign([face], name="zoe")
    assert str(info.value) == (
        "zoe has withdrawn consent to be recognised: no face can be given to them."
    )
    assert engine.catalog.people.face_person(face) is None
