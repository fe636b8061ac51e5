"""After erasure nothing of the person is reachable (hypothesis, with the fake models).

Small libraries are drawn: a few people (a colour each: the fakes' identity), each in some
of a few photos, photos shared, one perhaps copied; the one to erase may be named, may have
consented (with an enrolment photo or not); the vector index may be exact or a saved HNSW
graph; the erasure may take the photos too. After it, no vector, template, name, index entry,
search result, person, thumbnail of a deleted photo or access-report entry of theirs is left,
and the others are found as before. Each check is first seen to hold the other way, before the
erasure, so that none passes because there was nothing to find."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from regard.engine import Engine, EngineConfig
from regard.errors import PersonNotFoundError, PhotoNotFoundError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
# Red, blue, green, yellow, cyan: to the colour embedder at most 0.81 alike, well below the
# exclusion threshold, so a template of one never takes another.
COLOURS = [(200, 20, 20), (20, 20, 200), (20, 160, 20), (200, 200, 20), (20, 170, 170)]
SLOTS = [(10, 10), (100, 10), (190, 10), (10, 120), (100, 120), (190, 120)]
SIDE = 40
NAME = "Ottoline Quux"  # the person erased, when named: a name found nowhere by chance
ERASED = 0  # the index of the person erased


@dataclass(frozen=True)
class World:
    people: int
    photos: tuple[frozenset[int], ...]  # who is in each photo
    named: bool
    consent: str  # "none", "ledger" (a record), "enrolled" (a record and an enrolment photo)
    copied: bool  # the first photo has a copy (indexed by its content hash, no model run)
    hnsw: bool  # a saved HNSW index instead of the exact one
    with_photos: bool


@st.composite
def worlds(draw: st.DrawFn) -> World:
    people = draw(st.integers(2, len(COLOURS)))
    rows = draw(
        st.lists(
            st.sets(st.integers(0, people - 1), min_size=1, max_size=3),
            min_size=2,
            max_size=5,
        )
    )
    # The person erased is in at least two photos (so that a person forms), the first of them
    # shared with someone else.
    rows[0] |= {ERASED, 1}
    rows[1] |= {ERASED}
    named = draw(st.booleans())
    return World(
        people=people,
        photos=tuple(frozenset(r) for r in rows),
        named=named,
        # Consent is given by a named person.
        consent=draw(st.sampled_from(["none", "ledger", "enrolled"])) if named else "none",
        copied=draw(st.booleans()),
        hnsw=draw(st.booleans()),
        with_photos=draw(st.booleans()),
    )


def where(person: int, photo: int) -> tuple[int, int]:
    """Each person at their own place, moving from photo to photo."""
    return SLOTS[(person + photo) % len(SLOTS)]


def make_album(world: World, folder: Path) -> dict[int, list[Path]]:
    """The photos; for each person, the photos they are in."""
    theirs: dict[int, list[Path]] = {p: [] for p in range(world.people)}
    for n, members in enumerate(world.photos):
        faces = [(*where(p, n), SIDE, COLOURS[p]) for p in sorted(members)]
        path = draw_faces(folder / f"photo-{n}.png", faces)
        for p in members:
            theirs[p].append(path)
    if world.copied:
        copy = folder / "photo-0-copy.png"
        shutil.copyfile(folder / "photo-0.png", copy)
        for p in world.photos[0]:
            theirs[p].append(copy)
    return theirs


def selfie(person: int, path: Path) -> Path:
    return draw_faces(path, [(60, 60, SIDE, COLOURS[person])])


def library_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


def text_cells(lib: Path) -> list[tuple[str, str, dict[str, object]]]:
    """Every text value in the catalog: (table, column, the row)."""
    with sqlite3.connect(lib / "catalog.sqlite") as db:
        db.row_factory = sqlite3.Row
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found = []
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                for column in row.keys():  # noqa: SIM118 (sqlite3.Row)
                    if isinstance(row[column], str):
                        found.append((table, column, dict(row)))
        return found


def pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), float)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(world=worlds())
def test_after_erasure_nothing_of_the_person_is_reachable(world: World) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        check_erasure(world, Path(tmp))


def check_erasure(world: World, tmp: Path) -> None:
    album, lib, state = tmp / "album", tmp / "lib", tmp / "state"
    theirs = make_album(world, album)
    probes = {p: selfie(p, tmp / f"selfie-{p}.png") for p in range(world.people)}
    config = EngineConfig(
        workers=0, grouping=PARAMS, ann_threshold=1 if world.hnsw else 10_000, state_dir=state
    )
    with Engine(lib, create=True, config=config, models=FakeModels()) as engine:
        engine.index([album])
        engine.people.group_pending()
        catalog, model = engine.catalog, engine.models.embedder.id

        # --- before: everything is there to be found ------------------------------------------
        their_paths = {str(p) for p in theirs[ERASED]}
        faces = {
            int(r["id"])
            for r in catalog.faces.rows()
            if r["path"] in their_paths and _is(r, ERASED, r["path"])
        }
        assert len(faces) == len(their_paths)
        person = catalog.people.face_person(next(iter(faces)))
        assert person is not None
        assert set(catalog.privacy.faces_of_person(person)) == faces
        if world.named:
            engine.people.name(f"P{person}", NAME)
        if world.consent != "none":
            enrol = probes[ERASED] if world.consent == "enrolled" else None
            engine.privacy.grant(NAME, "grouping,search", evidence_text="yes", face_photo=enrol)
        stored = catalog.faces.vectors(sorted(faces))
        vectors = {f: catalog.codec.decode(f, m, b) for f, m, b in stored}
        patterns = [b for _f, _m, b in stored] + [
            catalog.codec.open_raw(b, catalog.codec.context(f, m)) for f, m, b in stored
        ]
        assert len(vectors) == len(faces)
        assert faces <= set(engine.vectors.index.ids().tolist())
        found = engine.search_face(probes[ERASED])
        assert {m.path for m in found.matches} == their_paths
        photo_ids = catalog.privacy.photos_of_faces(sorted(faces))
        # Display copies at the photos' own size (320 px: no scaling to blur a comparison).
        shown = {photo: engine.thumbnails.get(photo, 1024) for photo in photo_ids}
        assert all(engine.thumbnails.path(photo, 1024).exists() for photo in photo_ids)
        if world.hnsw:
            assert list((lib / "vectors").glob("*.hnsw")) or engine.vectors.kind == "hnsw"
        others_before = {
            p: {m.path for m in engine.search_face(probes[p]).matches}
            for p in range(1, world.people)
        }

        # --- the erasure ------------------------------------------------------------------------
        receipt = engine.privacy.erase_person(f"P{person}", with_photos=world.with_photos)
        assert receipt["verification"]["clean"], receipt["verification"]
        assert receipt["removed"]["vectors"] == len(faces)
        assert receipt["removed"]["people"] == 1

        # --- after: none of it is reachable -----------------------------------------------------
        # Vectors: no row, no index entry, no neighbour, no bytes in any library file.
        assert not faces & set(catalog.faces.embedding_ids(model).tolist())
        assert not faces & {f for f, _m, _b in catalog.faces.raw_embeddings()}
        assert not faces & set(engine.vectors.index.ids().tolist())
        for vector in vectors.values():
            hits = engine.vectors.index.top_k(vector, len(engine.vectors.index) + 1)
            assert not faces & {n.id for n in hits}
        # The faces themselves: gone with their photos, or kept as boxes with no data, in no one.
        for f in faces:
            row = catalog.faces.row(f)
            if world.with_photos:
                assert row is None
            else:
                assert row is not None
                assert (row["biometric"], row["person_id"]) == ("erased", None)
        # Templates: their enrolment went; what stays is sealed erasure templates only.
        with sqlite3.connect(lib / "catalog.sqlite") as db:
            kinds = db.execute(
                "SELECT kind, COUNT(*) FROM templates WHERE person_id IS ? OR kind = 'erasure'"
                " GROUP BY kind",
                (person,),
            ).fetchall()
        assert dict(kinds) == {"erasure": receipt["kept"]["erasure_templates"]}
        assert receipt["kept"]["erasure_templates"] >= 1

        # Search, people, photos: nothing finds them; the others are found as before.
        assert engine.search_face(probes[ERASED]).matches == ()
        listed = engine.people.summaries()
        assert f"P{person}" not in {p["person"] for p in listed}
        assert all(p["name"] != NAME for p in listed)
        for ref in (f"P{person}", NAME):
            with pytest.raises(PersonNotFoundError):
                engine.people.show(ref)
        gone = their_paths if world.with_photos else set()
        for p, before in others_before.items():
            after = {m.path for m in engine.search_face(probes[p]).matches}
            assert after == before - gone, f"person {p} was found in {before}, now in {after}"
        for photo in photo_ids:
            if world.with_photos:
                with pytest.raises(PhotoNotFoundError):
                    engine.photo_detail(photo)
                continue
            for face in engine.photo_detail(photo)["faces"]:
                if face["face_id"] in faces:
                    assert (face["person"], face["name"]) == (None, None)

        # Thumbnails: a deleted photo leaves none; a kept one shows the erased face as it is
        # (erased faces are not blurred: the photo is the owner's, only what identified is gone).
        for photo in photo_ids:
            if world.with_photos:
                assert not engine.thumbnails.path(photo, 1024).exists()
                continue
            again = pixels(engine.thumbnails.get(photo, 1024))
            for r in catalog.faces.rows(photo):
                if int(r["id"]) in faces:
                    x, y, w, h = (int(r[k]) for k in ("x", "y", "w", "h"))
                    before = pixels(shown[photo])[y : y + h, x : x + w]
                    assert np.abs(again[y : y + h, x : x + w] - before).mean() < 0.5

        # The access report by their photo: nothing is held but the templates that keep them out.
        out = tmp / "report.zip"
        engine.privacy.access_report(out, photo=probes[ERASED])
        with zipfile.ZipFile(out) as z:
            manifest = json.loads(z.read("manifest.json"))
        data = manifest["categories_of_data"]
        assert manifest["subject"]["people"] == []
        assert data["names"] == [] and data["consent_records"] == 0
        assert data["face_vectors_stored_encrypted"] == 0
        assert data["templates_kept_only_to_exclude_you"] == {
            "erasure": receipt["kept"]["erasure_templates"]
        }
        listed_faces = [f["face_data"] for p in manifest["photos"] for f in p["your_faces"]]
        assert set(listed_faces) <= {"erased"}
        assert len(listed_faces) == (0 if world.with_photos else len(faces))
        with pytest.raises(PersonNotFoundError):
            engine.privacy.access_report(tmp / "again.zip", person=f"P{person}")
        assert engine.privacy.verify_audit().ok

    # Files: none holds a byte of their vectors, sealed or clear (the library's, checked here
    # and not only by the receipt), nor their name as given; in the catalog their name is left
    # only as the key of consent records whose subject was blanked.
    for path, data in library_bytes(lib) + library_bytes(state):
        for pattern in patterns:
            assert pattern[:48] not in data, f"an erased vector is in {path.name}"
        assert NAME.encode() not in data, f"the erased name is in {path.name}"
    if world.named:
        for table, column, row in text_cells(lib):
            if NAME.casefold() in row[column].casefold():  # type: ignore[union-attr]
                where_found = (table, column, row.get("subject"))
                assert where_found == ("consents", "subject_key", "[erased]"), where_found


def _is(row: dict[str, object], person: int, path: str) -> bool:
    """Whether the face row is where `person` was drawn in that photo."""
    n = int(Path(path).stem.split("-")[1])
    x, y = where(person, n)
    return abs(float(row["x"]) - x) < 2 and abs(float(row["y"]) - y) < 2  # type: ignore[arg-type]
