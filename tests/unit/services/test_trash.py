"""A photo in the trash is out of people: it is not grouped with, not counted, not a cover, not
in the "Who is this?" queue, not found by search; restoring it brings all of it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regard.engine import Engine, EngineConfig
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)
# Fake embeddings are mean colours: different colours are still 0.3-0.9 alike.
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine(
        tmp_path / "lib",
        create=True,
        models=FakeModels(),
        config=EngineConfig(workers=0, grouping=PARAMS),
    ) as e:
        yield e


def photo_id(engine: Engine, path: Path) -> int:
    photo = engine.catalog.photos.by_path(str(path))
    assert photo is not None
    return photo.id


def people(engine: Engine) -> dict[str, int]:
    return {p["person"]: p["faces"] for p in engine.people.summaries()}


def test_a_person_only_in_the_trash_is_out_of_people_and_comes_back_on_restore(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "album"
    a = draw_faces(folder / "a.png", [(10, 10, 40, GREEN)])
    b = draw_faces(folder / "b.png", [(30, 30, 40, GREEN), (120, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, RED)])
    engine.index([folder])
    before = people(engine)
    assert sorted(before.values()) == [2, 2]
    green = next(
        p["person"] for p in engine.people.summaries() if p["cover_path"] in (str(a), str(b))
    )
    status = engine.status()
    queue = engine.faces.who_is_this().total
    assert status["people"] == 2 and status["faces_in_people"] == 4

    engine.trash.put([photo_id(engine, a), photo_id(engine, b)])
    assert green not in people(engine)
    status = engine.status()
    assert status["people"] == 1 and status["faces_in_people"] == 1
    # The red person lost the face of b.png; their cover is their face that is left.
    (red,) = engine.people.summaries()
    assert red["faces"] == 1 and red["cover_path"] == str(folder / "c.png")
    assert engine.faces.who_is_this().total <= queue

    # A new photo of the green face: nothing in the trash draws it into the green person.
    d = draw_faces(folder / "d.png", [(70, 10, 40, GREEN)])
    engine.index([folder])
    face_d = engine.catalog.faces.ids_of_photos([photo_id(engine, d)])[0]
    assert engine.catalog.people.face_person(face_d) != int(green[1:])
    assert green not in people(engine)
    # Searching by the face finds only what is out of the trash.
    found = engine.search_face(d, threshold=0.9).matches
    assert {m.path for m in found} == {str(d)}

    restored = engine.trash.restore([photo_id(engine, a), photo_id(engine, b)])
    assert restored.changed == 2
    after = people(engine)
    assert after[green] >= 2  # the green person is back with their faces
    assert after[red["person"]] == 2
    cover = next(p for p in engine.people.summaries() if p["person"] == green)
    assert cover["cover_path"] in (str(a), str(b), str(d))
    assert engine.status()["faces_in_people"] >= 4


def test_a_chosen_cover_in_the_trash_gives_way_and_comes_back(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "album"
    for i in range(3):
        draw_faces(folder / f"p{i}.png", [(10 + 10 * i, 10, 40, BLUE)])
    engine.index([folder])
    (blue,) = engine.people.summaries()
    chosen = engine.catalog.people.face_ids_of(int(blue["person"][1:]))[-1]
    engine.faces.choose_cover(blue["person"], chosen)
    chosen_photo = engine.catalog.faces.row(chosen)
    assert chosen_photo is not None
    engine.trash.put([chosen_photo["photo_id"]])
    (shown,) = engine.people.summaries()
    assert shown["cover_face_id"] != chosen and shown["faces"] == 2
    engine.trash.restore([chosen_photo["photo_id"]])
    (shown,) = engine.people.summaries()
    assert shown["cover_face_id"] == chosen and shown["faces"] == 3
