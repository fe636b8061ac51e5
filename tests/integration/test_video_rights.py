"""What holds for photos holds for videos, with the real models on a video made from photos of
known people (Obama on the left, then Kit Harington beside him): retention removes the
vectors of expired appearances as it does a photo's faces; a withdrawn person's moments stop
being found, then lose their vectors; appearance vectors are sealed at rest like any face's;
searches that find moments are audited with them; XMP sidecars skip videos by name."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from regard.domain.face import Box
from regard.engine import Engine, EngineConfig
from regard.interfaces.cli.main import app
from tests.footage_maker import TWO_PEOPLE, photo_faces, write_video

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OBAMA = "photos/face_recognition/identities/obama/obama.jpg"
OBAMA_AGAIN = "photos/face_recognition/identities/obama/obama2.jpg"


@pytest.fixture(scope="module")
def made(shared_data, analyser, tmp_path_factory):
    out = tmp_path_factory.mktemp("party")
    faces = photo_faces(shared_data, analyser)
    return out / "party.mp4", write_video(out / "party.mp4", TWO_PEOPLE, faces, shared_data)


@pytest.fixture(scope="module")
def party(made) -> Path:
    return made[0]


def library(tmp_path: Path, party: Path, shared_data: Path, photo: bool = True) -> Engine:
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(party, folder / "party.mp4")
    if photo:
        shutil.copy(shared_data / OBAMA_AGAIN, folder / "obama.jpg")
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0))
    engine.index([folder])
    return engine


def moments(engine: Engine, folder: Path) -> list:
    video = engine.catalog.photos.by_path(str(folder / "party.mp4"))
    assert video is not None
    return engine.catalog.appearances.of_video(video.id)


def vectors_of(engine: Engine, face_ids: list[int]) -> int:
    return len(engine.catalog.faces.vectors(face_ids))


def test_retention_deletes_the_vectors_of_expired_appearances(party, shared_data, tmp_path):
    engine = library(tmp_path, party, shared_data, photo=False)
    try:
        folder = tmp_path / "pictures"
        found = moments(engine, folder)
        assert len(found) == 2
        # Both appearances belong to nobody (one video, never named, no other face of theirs).
        ids = [m.face_id for m in found]
        assert all(engine.catalog.people.face_person(f) is None for f in ids)
        assert vectors_of(engine, ids) == 2
        engine.privacy.set_retention("unassigned-days", 30)
        # Indexed today: nothing has expired.
        assert engine.privacy.apply_retention()["unassigned_vectors_deleted"] == 0
        assert vectors_of(engine, ids) == 2
        # Indexed 31 days ago: their vectors go, as a photo's faces' do; when and where they
        # were stays (for blurring), and so do the moments.
        with engine.catalog.transaction():
            engine.catalog._db.execute("UPDATE photos SET indexed_at = '2000-01-01T00:00:00+00:00'")
        applied = engine.privacy.apply_retention()
        assert applied["unassigned_vectors_deleted"] == 2
        assert vectors_of(engine, ids) == 0
        assert {engine.catalog.faces.row(f)["biometric"] for f in ids} == {"expired"}
        assert [m.start for m in moments(engine, folder)] == [m.start for m in found]
        # And no search finds them any more.
        result = engine.search_face(shared_data / OBAMA)
        assert result["moments"] == []
    finally:
        engine.close()


def test_a_withdrawn_persons_moments_stop_being_found_then_lose_their_vectors(
    party, shared_data, tmp_path
):
    engine = library(tmp_path, party, shared_data)
    try:
        folder = tmp_path / "pictures"
        obama, kit = moments(engine, folder)
        person = engine.catalog.people.face_person(obama.face_id)
        assert person is not None  # his photo and his appearance are one person
        engine.people.name(f"P{person}", "Barack Obama")
        engine.privacy.grant("Barack Obama", "grouping,search", evidence_text="asked in person")
        found = engine.search_face(shared_data / OBAMA)
        assert [m["face_id"] for m in found["moments"]] == [obama.face_id]
        by_person = engine.search_person("Barack Obama")
        assert [m["face_id"] for m in by_person["moments"]] == [obama.face_id]

        # Search withdrawn: his moment is withheld from searches by face, wherever it is.
        engine.privacy.withdraw("Barack Obama", "search")
        found = engine.search_face(shared_data / OBAMA)
        assert found["moments"] == [] and found["matches"] == []
        # Everything withdrawn: the vectors of his appearance go too, as his photo's do.
        engine.privacy.withdraw("Barack Obama")
        assert vectors_of(engine, [obama.face_id]) == 0
        assert engine.catalog.faces.row(obama.face_id)["biometric"] == "withdrawn"
        assert vectors_of(engine, [kit.face_id]) == 1  # Kit is not him
        assert engine.search_face(shared_data / OBAMA)["moments"] == []
    finally:
        engine.close()


def test_appearance_vectors_are_sealed_at_rest(party, shared_data, tmp_path):
    engine = library(tmp_path, party, shared_data)
    try:
        ids = [m.face_id for m in moments(engine, tmp_path / "pictures")]
        model = engine.models.embedder.id
        found, plain = engine.catalog.faces.embeddings(model, ids)
        assert sorted(found.tolist()) == sorted(ids) and plain.shape[1] >= 64
        engine.vectors.save()
    finally:
        engine.close()
    # What the catalog holds for them is not the vector, and no file of the library holds any
    # stretch of its bytes (float32 or float16).
    with sqlite3.connect(tmp_path / "lib" / "catalog.sqlite") as db:
        marks = ",".join("?" * len(ids))
        stored = [
            bytes(r[0])
            for r in db.execute(f"SELECT vector FROM embeddings WHERE face_id IN ({marks})", ids)
        ]
    assert len(stored) == len(ids)
    patterns = [v.astype(np.float32).tobytes()[:32] for v in plain]
    patterns += [v.astype(np.float16).tobytes()[:32] for v in plain]
    for blob in stored:
        assert not any(p in blob for p in patterns)
    for path in (p for p in (tmp_path / "lib").rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert not any(p in data for p in patterns), f"a vector in the clear in {path.name}"


def test_searches_that_find_moments_are_audited_with_them(party, shared_data, tmp_path):
    engine = library(tmp_path, party, shared_data)
    try:
        (obama, _) = moments(engine, tmp_path / "pictures")
        person = engine.catalog.people.face_person(obama.face_id)
        engine.search_face(shared_data / OBAMA)
        engine.search_person(f"P{person}")
        entries = engine.context.audit.entries()
        face, by_person = entries[-2], entries[-1]
        assert face["action"] == "search-face" and face["result_count"] == 2  # photo + moment
        assert face["subject"] == f"P{person}"
        assert by_person["action"] == "search-person" and by_person["subject"] == f"P{person}"
        assert by_person["result_count"] == 2
        assert engine.context.audit.verify()["ok"]
    finally:
        engine.close()


def test_xmp_skips_each_video_by_name_and_goes_on(party, shared_data, tmp_path):
    engine = library(tmp_path, party, shared_data)
    folder = tmp_path / "pictures"
    try:
        (obama, _) = moments(engine, folder)
        engine.people.name(f"P{engine.catalog.people.face_person(obama.face_id)}", "Barack")
    finally:
        engine.close()
    run = CliRunner().invoke(
        app, ["--library", str(tmp_path / "lib"), "xmp", "write", str(folder)], env={}
    )
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert (
        f"{folder / 'party.mp4'}: skipped, a video (XMP face regions are for photos: a region "
        "has no time)." in " ".join(lines)
    )
    assert "Wrote 1 sidecars with 1 named face regions." in run.output
    assert (folder / "obama.jpg.xmp").is_file() and not (folder / "party.mp4.xmp").exists()
    run = CliRunner().invoke(
        app, ["--library", str(tmp_path / "lib"), "xmp", "import", str(folder), "--json"]
    )
    assert run.exit_code == 0, run.output
    assert '"skipped_videos"' in run.output and "party.mp4" in run.output


def test_regard_export_copies_videos_too(made, shared_data, tmp_path):
    import av

    party, truth = made
    engine = library(tmp_path, party, shared_data)
    engine.close()
    folder, out = tmp_path / "pictures", tmp_path / "out"
    run = CliRunner().invoke(
        app,
        [
            "--library",
            str(tmp_path / "lib"),
            "export",
            str(folder),
            "-o",
            str(out),
            "--blur",
            "all",
        ],
    )
    assert run.exit_code == 0, run.output
    assert f"Exported 1 photos and 1 videos to {out}" in " ".join(run.output.split())
    assert sorted(p.name for p in out.iterdir()) == ["obama.jpg", "party.mp4"]
    with av.open(str(out / "party.mp4")) as c:
        assert not c.streams.audio
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    assert len(frames) == 240
    # Where the video shows a face, the copy shows none (YuNet at 0.5).
    detector = engine.models.sensitive_detector(0.5)
    faces = 0
    for i in range(0, 240, 10):
        found = [d.box for d in detector.detect(frames[i])]
        for t in truth.tracks:
            if i in t.boxes and t.boxes[i][2] >= 40:
                faces += 1
                assert not any(Box(*t.boxes[i]).iou(f) > 0.2 for f in found), (i, t.person)
    assert faces >= 20
