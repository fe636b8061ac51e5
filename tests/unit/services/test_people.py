"""People with the fake models: grouping, the owner's corrections, and their permanence."""

import dataclasses

import pytest

from regard.engine import Engine, EngineConfig
from regard.errors import NameTakenError, PeopleActionError, PersonNotFoundError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, RED2, BLUE, GREEN, YELLOW = (
    (200, 20, 20),
    (180, 40, 30),
    (20, 20, 200),
    (20, 160, 20),
    (200, 200, 20),
)
# Fake embeddings are mean colours: different colours are still 0.3-0.9 alike.
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


@pytest.fixture
def engine(tmp_path):
    with Engine(
        tmp_path / "lib",
        create=True,
        models=FakeModels(),
        config=EngineConfig(workers=0, grouping=PARAMS),
    ) as e:
        yield e


@pytest.fixture
def album(tmp_path):
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(10, 60, 40, RED), (200, 60, 40, GREEN)])
    draw_faces(folder / "d.png", [(50, 50, 40, BLUE)])
    draw_faces(folder / "e.png", [(60, 20, 40, GREEN)])
    draw_faces(folder / "f.png", [(60, 20, 40, YELLOW)])
    return folder


def people_by_colour(engine):
    """{face count: person} is enough to tell the album's three people apart."""
    return {p["faces"]: p["person"] for p in engine.people.summaries()}


def members(engine, ref):
    return {f["face_id"] for photo in engine.people.show(ref)["photo_list"] for f in photo["faces"]}


def test_people_form_as_photos_are_indexed(engine, album):
    report = engine.index([album])
    assert report.grouping["faces"] == 8
    people = engine.people.summaries()
    assert sorted(p["faces"] for p in people) == [2, 2, 3]  # RED, BLUE, GREEN; YELLOW alone
    red = people_by_colour(engine)[3]
    shown = engine.people.show(red)
    assert sorted(p["path"].rsplit("/", 1)[1] for p in shown["photo_list"]) == [
        "a.png",
        "b.png",
        "c.png",
    ]
    assert all(p["cover_face"] for p in people)
    status = engine.status()
    assert (status["people"], status["faces_in_people"]) == (3, 7)


def test_naming_is_unique_and_resolves_by_name(engine, album):
    engine.index([album])
    red, blue = people_by_colour(engine)[3], people_by_colour(engine)[2]
    engine.people.name(red, "Grandma")
    assert engine.people.resolve("grandma").name == "Grandma"
    with pytest.raises(NameTakenError) as info:
        engine.people.name(blue, "  GRANDMA ")
    assert str(info.value) == (
        f"'GRANDMA' is already the name of {red}. If they are the same person, merge them: "
        f"`regard people merge {red} OTHER`."
    )
    with pytest.raises(PersonNotFoundError, match="No person 'Grandpa'"):
        engine.people.resolve("Grandpa")


def test_merge_split_reject_survive_regrouping_and_new_photos(engine, album, tmp_path):
    engine.index([album])
    blue = engine.people.resolve(
        next(
            p["person"]
            for p in engine.people.summaries()
            if p["faces"] == 2 and "a.png" in str(engine.people.show(p["person"])["photo_list"])
        )
    )
    green = next(
        p["person"]
        for p in engine.people.summaries()
        if p["faces"] == 2 and p["person"] != f"P{blue.id}"
    )
    red = people_by_colour(engine)[3]
    engine.people.name(red, "Grandma")
    merged = engine.people.merge(f"P{blue.id}", green)
    assert merged["faces"] == 4
    assert engine.people.resolve(green).id == blue.id  # the merged-away id redirects
    split_faces = sorted(members(engine, green))[:1]
    made = engine.people.split(f"P{blue.id}", split_faces)
    rejected = sorted(members(engine, "Grandma"))[0]
    engine.people.reject("Grandma", rejected)
    before = {p["person"]: members(engine, p["person"]) for p in engine.people.summaries()}

    engine.people.recluster()
    draw_faces(album / "g.png", [(10, 10, 40, RED), (100, 100, 40, BLUE)])
    engine.index([album])
    engine.people.recluster()
    after = {p["person"]: members(engine, p["person"]) for p in engine.people.summaries()}
    for person, faces in before.items():
        assert faces <= after[person], f"{person} lost faces the owner put there"
    assert rejected not in members(engine, "Grandma")
    assert set(split_faces) <= members(engine, made["person"])
    assert not set(split_faces) & members(engine, f"P{blue.id}")


def test_corrections_that_make_no_sense_are_refused(engine, album):
    engine.index([album])
    red = people_by_colour(engine)[3]
    with pytest.raises(PeopleActionError, match="already the same person"):
        engine.people.merge(red, red)
    with pytest.raises(PeopleActionError, match="nothing would be left"):
        engine.people.split(red, sorted(members(engine, red)))
    other_face = next(
        f
        for f in range(1, 20)
        if f not in members(engine, red) and engine.catalog.people.face_exists(f)
    )
    with pytest.raises(PeopleActionError, match="is not in"):
        engine.people.reject(red, other_face)


def test_two_people_in_one_photo_cannot_be_merged(engine, album):
    engine.index([album])
    red = people_by_colour(engine)[3]
    blue_in_a = next(
        p["person"]
        for p in engine.people.summaries()
        if p["person"] != red
        and p["faces"] == 2
        and any(
            ph["path"].endswith("a.png") for ph in engine.people.show(p["person"])["photo_list"]
        )
    )
    with pytest.raises(PeopleActionError, match="one person cannot be twice in one photo"):
        engine.people.merge(red, blue_in_a)


def test_search_by_person_suggests_look_alikes_not_yet_in_them(engine, album, tmp_path):
    engine.index([album])
    red = people_by_colour(engine)[3]
    engine.people.name(red, "Grandma")
    rejected = sorted(members(engine, "Grandma"))[0]
    engine.people.reject("Grandma", rejected)
    draw_faces(album / "look-alike.png", [(10, 10, 40, RED2)], sharp=False)  # low quality
    engine.index([album])
    found = engine.search_person("Grandma")
    sources = {f.face_id: f.source for m in found.matches for f in m.faces}
    assert {s for s in sources.values()} <= {"owner", "auto", "suggested"}
    assert rejected not in sources  # never suggested back
    assert found.person["name"] == "Grandma"
    assert found.matches[0].faces[0].source == "owner"


def test_search_by_person_suggests_one_face_a_photo_and_none_where_they_are(engine, album):
    """Two faces of one photo are two people: a photo with two look-alikes suggests its best
    only, and once one of them is theirs, the other is suggested no more."""
    engine.index([album])
    engine.people.name(people_by_colour(engine)[3], "Grandma")
    draw_faces(album / "g.png", [(10, 10, 40, RED), (100, 10, 40, RED2)], sharp=False)
    engine.index([album])

    def suggested_in_g():
        found = engine.search_person("Grandma")
        return [
            (f.face_id, f.source)
            for m in found.matches
            if m.path.endswith("g.png")
            for f in m.faces
        ]

    suggested = suggested_in_g()
    assert [s for _f, s in suggested] == ["suggested"]
    engine.faces.assign([suggested[0][0]], person="Grandma")
    assert suggested_in_g() == [(suggested[0][0], "owner")]


def test_owner_decisions_survive_a_model_change(tmp_path, album):
    lib = tmp_path / "lib"
    config = EngineConfig(workers=0, grouping=PARAMS)
    with Engine(lib, create=True, models=FakeModels(), config=config) as e:
        e.index([album])
        red = people_by_colour(e)[3]
        e.people.name(red, "Grandma")
        rejected = sorted(members(e, "Grandma"))[0]
        e.people.reject("Grandma", rejected)
        kept = members(e, "Grandma")
    new_model = FakeModels(embedder=dataclasses.replace(FakeModels().embedder, id="fake-v2"))
    with Engine(lib, models=new_model, config=config) as e:
        report = e.index([album])
        assert report.counts.files_changed == 6
        e.people.recluster()
        assert members(e, "Grandma") == kept
        assert rejected not in members(e, "Grandma")
