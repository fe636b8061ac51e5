"""Naming any face, under arbitrary sequences of the owner's words (hypothesis, fake models):
each word holds through regrouping (a face given to someone stays theirs, a face said to be no
person stays out, a face said to be someone else never goes back to them), one person is
never twice in one photo, and undoing every word, newest first, puts the people back exactly
as they were."""

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.engine import Engine, EngineConfig
from regard.errors import RegardError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

RED, BLUE, GREEN, YELLOW = (200, 20, 20), (20, 20, 200), (20, 160, 20), (200, 200, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
NAMES = ("Ann", "Bob", "Cy")

words = st.lists(
    st.tuples(
        st.sampled_from(["assign", "not_a_person", "someone_else"]),
        st.integers(0, 8),  # which face (by position)
        st.sampled_from(NAMES),
    ),
    min_size=1,
    max_size=8,
)


def people_state(engine: Engine) -> dict[str, Any]:
    db = sqlite3.connect(engine.paths.catalog)
    try:
        return {
            "people": db.execute(
                "SELECT id, name, merged_into, hidden FROM people ORDER BY id"
            ).fetchall(),
            "faces": db.execute(
                "SELECT id, person_id, not_a_person FROM faces ORDER BY id"
            ).fetchall(),
            "rejections": db.execute("SELECT face_id, person_id FROM rejections").fetchall(),
        }
    finally:
        db.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(said=words)
def test_the_owners_words_hold_through_regrouping_and_undo_exactly(said):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "album"
        draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
        draw_faces(folder / "b.png", [(30, 30, 40, RED)])
        draw_faces(folder / "c.png", [(50, 50, 40, BLUE), (150, 50, 40, GREEN)])
        draw_faces(folder / "d.png", [(60, 20, 40, GREEN)])
        draw_faces(folder / "e.png", [(20, 60, 40, RED), (120, 60, 40, YELLOW)])
        with Engine(
            Path(tmp) / "lib",
            create=True,
            models=FakeModels(),
            config=EngineConfig(workers=0, grouping=PARAMS),
        ) as engine:
            engine.index([folder])
            faces = [int(r["id"]) for r in engine.catalog.faces.rows()]
            start = people_state(engine)
            # Said, then undone newest first: the people are exactly as they were.
            entries = [done["undo"] for _face, _kind, _person, done in say(engine, faces, said)]
            for entry in reversed(entries):
                engine.people.undo(entry)
            assert people_state(engine) == start
            # Said again, then everything regrouped: each word holds.
            expect = {
                face: (kind, person) for face, kind, person, _done in say(engine, faces, said)
            }
            engine.people.recluster()
            for face, (kind, person) in expect.items():
                now = engine.catalog.people.face_person(face)
                if kind == "in":
                    assert now == person
                elif kind == "nobody":
                    assert now is None
                    assert engine.catalog.faces.row(face)["not_a_person"] == 1
                else:
                    assert now != person
            for pid in {p.id for p in engine.catalog.people.live_people()}:
                assert engine.catalog.people.twice_in_a_photo([pid]) is None


def say(engine: Engine, faces: list[int], said: list[tuple[str, int, str]]) -> list[Any]:
    """Each word, as the owner says it; a refused one (twice in a photo, in no person, said
    already) changes nothing. (face, what it is now, the person concerned, the answer)."""
    out: list[Any] = []
    for action, which, name in said:
        face = faces[which % len(faces)]
        was = engine.catalog.people.face_person(face)
        try:
            if action == "assign":
                holder = engine.catalog.people.by_name(name)
                done = (
                    engine.faces.assign([face], person=f"P{holder.id}")
                    if holder
                    else engine.faces.assign([face], name=name)
                )
                out.append((face, "in", engine.catalog.people.face_person(face), done))
            elif action == "not_a_person":
                out.append((face, "nobody", None, engine.faces.not_a_person(face)))
            else:
                out.append((face, "not", was, engine.faces.someone_else(face)))
        except RegardError:
            continue
    return out


def last_words(words: list[Any]) -> dict[int, tuple[str, Any]]:
    """What holds for each face: the last word about it."""
    return {face: (kind, person) for face, kind, person, _done in words}


def _same_partition(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same faces together and apart (a regrouping may number people anew)."""

    def groups(state: dict[str, Any]) -> set[frozenset[int]]:
        by: dict[Any, set[int]] = {}
        for fid, pid, not_a_person in state["faces"]:
            assert not not_a_person
            by.setdefault(pid if pid is not None else ("alone", fid), set()).add(fid)
        return {frozenset(v) for v in by.values()}

    return groups(a) == groups(b)
