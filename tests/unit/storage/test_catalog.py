import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from regard.domain.face import AnalysedFace, Box, Detection, FaceQuality, Landmarks
from regard.domain.photo import (
    FileFingerprint,
    PhotoAnalysis,
    PhotoFailure,
    PhotoMetadata,
    PhotoStatus,
)
from regard.errors import LibraryVersionError
from regard.storage.catalog import Catalog
from regard.storage.schema import SCHEMA_VERSION
from regard.storage.sealing import Sealer, new_key
from regard.testing import FAKE_DETECTOR, FAKE_EMBEDDER
from tests.backends import catalog_db, database

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")


def analysis(path, n_faces=2, seed=0):
    rng = np.random.default_rng(seed)
    faces = []
    for i in range(n_faces):
        v = rng.normal(size=8).astype(np.float32)
        faces.append(
            AnalysedFace(
                Detection(
                    Box(10 * i, 5, 20, 24),
                    Landmarks(((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))),
                    0.9,
                ),
                FaceQuality(20, 50, 0.9, 0.8, False),
                v / np.linalg.norm(v),
                FAKE_EMBEDDER.id,
            )
        )
    return PhotoAnalysis(
        FileFingerprint(path, 123, 456),
        "h" + path,
        PhotoMetadata("JPEG", 640, 480, taken_at="2020-01-02T03:04:05"),
        tuple(faces),
        "p1",
    )


@pytest.fixture
def catalog(tmp_path):
    c = Catalog(tmp_path / "c.sqlite", database=database())
    c.codec.sealer = Sealer(new_key())
    c.runs.register_models([FAKE_DETECTOR, FAKE_EMBEDDER])
    yield c
    c.close()


def test_schema_is_migrated_and_wal(catalog):
    assert catalog.schema_version == SCHEMA_VERSION
    if database() is not None:
        assert catalog.backend == "postgresql"
        return
    mode = sqlite3.connect(catalog.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_newer_library_is_refused_untouched(tmp_path):
    path = tmp_path / "c.sqlite"
    if database() is not None:
        Catalog(path, database=database()).close()
        db = catalog_db(tmp_path)
        db.raw("UPDATE regard_schema SET version = %s", (SCHEMA_VERSION + 1,))
        db.close()
    else:
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.close()
    with pytest.raises(LibraryVersionError) as info:
        Catalog(path, database=database())
    assert "this Regard understands up to version" in str(info.value)
    if database() is not None:
        db = catalog_db(tmp_path)
        assert db.raw("SELECT version FROM regard_schema") == [(SCHEMA_VERSION + 1,)]
        db.close()


def test_analysis_round_trip(catalog):
    run = catalog.runs.start(["/x"], "p1")
    a = analysis("/x/a.jpg", 3)
    with catalog.transaction():
        pid = catalog.photos.store_analysis(a, run)
    photo = catalog.photos.get(pid)
    assert photo.path == "/x/a.jpg" and photo.status == PhotoStatus.INDEXED
    assert photo.metadata.taken_at == "2020-01-02T03:04:05"
    ids, matrix = catalog.faces.embeddings(FAKE_EMBEDDER.id)
    np.testing.assert_array_equal(matrix, np.stack([f.embedding for f in a.faces]))
    hits = catalog.faces.hits(ids.tolist())
    assert [hits[i].box for i in ids] == [f.detection.box for f in a.faces]


def test_replacing_a_photo_replaces_its_faces(catalog):
    with catalog.transaction():
        pid = catalog.photos.store_analysis(analysis("/x/a.jpg", 3), 0)
        pid2 = catalog.photos.store_analysis(analysis("/x/a.jpg", 1, seed=1), 0)
    assert pid == pid2
    assert catalog.photos.counts()["faces"] == 1 and catalog.photos.counts()["embeddings"] == 1


def test_faces_found_again_in_place_keep_their_ids(catalog):
    first = analysis("/x/a.jpg", 2)
    with catalog.transaction():
        pid = catalog.photos.store_analysis(first, 0)
    before = {r["ordinal"]: r["id"] for r in catalog.faces.rows(pid)}
    moved = [
        AnalysedFace(
            Detection(Box(-30, 5, 20, 24), f.detection.landmarks, 0.8),
            f.quality,
            f.embedding,
            f.model_id,
        )
        for f in first.faces[:1]
    ]
    shifted = [  # the old faces, nudged by a pixel: found again in place
        AnalysedFace(
            Detection(Box(f.detection.box.x + 1, 5, 20, 24), f.detection.landmarks, 0.9),
            f.quality,
            f.embedding,
            f.model_id,
        )
        for f in first.faces
    ]
    second = PhotoAnalysis(
        first.fingerprint, first.content_hash, first.metadata, (moved[0], *shifted), "p2"
    )
    with catalog.transaction():
        catalog.photos.store_analysis(second, 0)
    after = {r["ordinal"]: r["id"] for r in catalog.faces.rows(pid)}
    assert after[1] == before[0] and after[2] == before[1]
    assert after[0] not in before.values()
    assert catalog.photos.counts()["embeddings"] == 3


def test_a_failure_clears_old_faces_and_keeps_the_message(catalog):
    with catalog.transaction():
        pid = catalog.photos.store_analysis(analysis("/x/a.jpg"), 0)
        catalog.photos.store_failure(
            PhotoFailure(FileFingerprint("/x/a.jpg", 1, 2), "corrupt", "bad"), 0
        )
    photo = catalog.photos.get(pid)
    assert (photo.status, photo.error_code, photo.error_message) == (
        PhotoStatus.ERROR,
        "corrupt",
        "bad",
    )
    assert catalog.photos.counts()["faces"] == 0


def test_move_keeps_ids_and_copy_duplicates_vectors(catalog):
    with catalog.transaction():
        pid = catalog.photos.store_analysis(analysis("/x/a.jpg"), 0)
    faces_before = [r["id"] for r in catalog.faces.rows(pid)]
    with catalog.transaction():
        catalog.photos.move(pid, FileFingerprint("/y/b.jpg", 123, 999))
        copy = catalog.photos.copy(pid, FileFingerprint("/z/c.jpg", 123, 1), 0)
    assert catalog.photos.get(pid).path == "/y/b.jpg"
    assert [r["id"] for r in catalog.faces.rows(pid)] == faces_before
    ids, _ = catalog.faces.embeddings(FAKE_EMBEDDER.id)
    assert len(ids) == 4
    assert catalog.photos.get(copy).content_hash == catalog.photos.get(pid).content_hash


def test_a_failed_transaction_leaves_nothing(catalog):
    def store_then_fail():
        with catalog.transaction():
            catalog.photos.store_analysis(analysis("/x/a.jpg"), 0)
            raise RuntimeError("killed halfway")

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert catalog.photos.counts() == {
        "photos": 0,
        "indexed": 0,
        "errors": 0,
        "photos_with_faces": 0,
        "faces": 0,
        "low_quality_faces": 0,
        "embeddings": 0,
    }


def test_an_interrupted_run_is_marked_at_the_next_start(catalog):
    first = catalog.runs.start(["/x"], "p1")
    catalog.runs.start(["/x"], "p1")
    row = catalog._db.execute("SELECT status FROM runs WHERE id = ?", (first,)).fetchone()
    assert row[0] == "interrupted"


def test_the_photo_list_pages_filters_and_counts_faces(catalog):
    """`photos.timeline` (GET /api/photos): newest first, undated last, ties by path; each page
    with its faces (not those marked not a person) and how many are in people; the total of
    what matches. The page is chosen before its faces are counted: checked against the list
    worked out here from what was stored."""
    dates = ["2020-05-01T10:00:00", None, "2019-03-02T00:00:00", "2020-05-01T10:00:00", None]
    stored = {}  # id -> (path, date, faces, faces in people)
    person = catalog.people.create()
    with catalog.transaction():
        for i in range(15):
            path = f"/{'ab'[i % 2]}/{i:02d}.jpg"
            a = analysis(path, n_faces=i % 4, seed=i)
            a = replace(a, metadata=replace(a.metadata, taken_at=dates[i % 5]))
            pid = catalog.photos.store_analysis(a, 0)
            faces = catalog.faces.ids_of_photos([pid])
            if i % 3 == 0 and faces:
                catalog.people.assign(faces[:1], person, "auto")
            if i % 5 == 4 and len(faces) > 1:
                catalog._db.execute("UPDATE faces SET not_a_person = 1 WHERE id = ?", (faces[-1],))
            kept = len(faces) - (1 if i % 5 == 4 and len(faces) > 1 else 0)
            stored[pid] = (path, dates[i % 5], kept, 1 if i % 3 == 0 and faces else 0)
        trashed = next(iter(stored))
        catalog.trash.add([trashed], "2024-01-01T00:00:00", "test")
    del stored[trashed]

    def expected(keep):
        chosen = sorted((pid for pid in stored if keep(*stored[pid])), key=lambda p: stored[p][0])
        chosen.sort(key=lambda p: stored[p][1] or "", reverse=True)  # newest first, stable
        chosen.sort(key=lambda p: stored[p][1] is None)  # undated last
        return [(p, stored[p][2], stored[p][3]) for p in chosen]

    cases = [
        ((0, 100, None, None, False, False), lambda *_: True),
        ((3, 4, None, None, False, False), lambda *_: True),
        ((0, 100, None, None, True, False), lambda _p, _d, faces, _n: faces > 0),
        ((1, 3, 2020, None, False, False), lambda _p, d, *_: (d or "").startswith("2020")),
        ((0, 100, None, "/a", False, False), lambda p, *_: p.startswith("/a/")),
        ((0, 100, None, None, False, True), lambda _p, d, *_: d is None),
    ]
    for (offset, limit, year, folder, with_faces, undated), keep in cases:
        total, rows = catalog.photos.timeline(offset, limit, year, folder, with_faces, undated)
        want = expected(keep)
        assert total == len(want)
        got = [(r["id"], r["faces"], r["faces_in_people"]) for r in rows]
        assert got == want[offset : offset + limit], (offset, limit, year, folder, with_faces)
