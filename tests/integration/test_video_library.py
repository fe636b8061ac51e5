"""Videos in a library, with the real models: indexed beside photos, each appearance a face
of its video (vector, person), found again unchanged, moved or changed; a damaged video
reported and the run going on; opt-out and erasure holding for every frame."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from regard.domain.privacy import Policy
from regard.engine import Engine, EngineConfig
from tests.footage_maker import TWO_PEOPLE, photo_faces, truncate, write_video

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OBAMA = "photos/face_recognition/identities/obama/obama.jpg"
KIT = "photos/face_recognition/identities/kit_harington/john1.jpeg"


@pytest.fixture(scope="module")
def made(shared_data, analyser, tmp_path_factory):
    """The two-people video (Obama, then Kit Harington beside him; 8 s), the same stored on
    its side with a display rotation, and the truth."""
    out = tmp_path_factory.mktemp("videos")
    faces = photo_faces(shared_data, analyser)
    truth = write_video(out / "two.mp4", TWO_PEOPLE, faces, shared_data)
    write_video(out / "two-sideways.mov", TWO_PEOPLE, faces, shared_data, rotation=90)
    return out, truth


def library(tmp_path: Path, workers: int = 2) -> Engine:
    return Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=workers))


def moments_by_path(engine: Engine) -> dict[str, list]:
    out = {}
    for photo in engine.catalog.photos.all():
        if photo.metadata is not None and photo.metadata.media == "video":
            out[Path(photo.path).name] = engine.catalog.appearances.of_video(photo.id)
    return out


def vectors_of(engine: Engine, face_ids: list[int]) -> int:
    return len(engine.catalog.faces.vectors(face_ids))


def test_videos_are_indexed_beside_photos_with_their_appearances(made, shared_data, tmp_path):
    out, truth = made
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(out / "two.mp4", folder / "two.mp4")
    shutil.copy(out / "two-sideways.mov", folder / "two-sideways.mov")
    truncate(out / "two.mp4", folder / "cut.mp4", keep=0.5)
    (folder / "notes.webm").write_bytes(b"this is not a video at all")
    shutil.copy(shared_data / OBAMA, folder / "obama.jpg")
    engine = library(tmp_path)
    try:
        report = engine.index([folder])
        # The damaged files are reported, one line each, and the rest is indexed.
        problems = {Path(f.path).name: (f.code, f.message) for f in report.failures}
        assert problems == {
            "cut.mp4": (
                "corrupt",
                f"{folder / 'cut.mp4'}: the MP4/MOV file is incomplete or damaged (its index "
                "cannot be read; this happens when a recording or a copy was cut off). Restore "
                "the file from a backup or copy it from the camera again.",
            ),
            "notes.webm": problems["notes.webm"],
        }
        assert problems["notes.webm"][0] in {"corrupt", "unsupported"}
        # A video that could not be read is listed as a video, not a photo.
        failed = {Path(p.path).name: p.media for p in engine.photos() if p.status == "error"}
        assert failed == {"cut.mp4": "video", "notes.webm": "video"}
        assert report.counts.files_new == 3
        assert engine.catalog.appearances.counts() == {"videos": 2, "appearances": 4}

        moments = moments_by_path(engine)
        plain, turned = moments["two.mp4"], moments["two-sideways.mov"]
        # Two people, two appearances, at the times they are on screen.
        visible = {person: (start, end) for _t, person, start, end in truth.visible(40.0, 1.0)}
        assert set(visible) == {"obama", "kit_harington"}
        obama, kit = plain
        for found, person in ((obama, "obama"), (kit, "kit_harington")):
            start, end = visible[person]
            assert found.start == pytest.approx(start, abs=0.5), person
            assert found.end == pytest.approx(end, abs=0.5), person
            assert found.path and found.path[0].time >= found.start - 1e-6
        # Stored sideways, read upright: the same boxes as the upright copy.
        for a, b in zip(turned, plain, strict=True):
            assert a.box.iou(b.box) > 0.8 or abs(a.best_time - b.best_time) < 0.5
            assert a.start == pytest.approx(b.start, abs=0.05)
        video = engine.catalog.photos.by_path(str(folder / "two.mp4"))
        assert video is not None and video.metadata is not None
        assert (video.metadata.width, video.metadata.height) == (640, 360)
        assert video.metadata.duration == pytest.approx(8.0, abs=0.1)
        # Each appearance is a face of its video with a vector: grouping sees it. Obama's
        # appearances (two videos) and his photo are one person; he is never Kit.
        ids = [m.face_id for m in plain + turned]
        assert vectors_of(engine, ids) == 4
        person = {m.face_id: engine.catalog.people.face_person(m.face_id) for m in plain + turned}
        assert person[obama.face_id] is not None
        assert person[obama.face_id] == person[turned[0].face_id]
        assert person[obama.face_id] != person[kit.face_id]

        # The web app's poster and covers: pictures from the video at its best moments.
        poster = Image.open(io.BytesIO(engine.thumbnails.get(video.id, 256)))
        assert poster.size == (256, 144)
        crop = Image.open(io.BytesIO(engine.thumbnails.face_crop(kit.face_id)))
        assert 40 <= max(crop.size) <= 160

        # XMP face regions are a photo's: no sidecar is written for a video.
        engine.xmp.write([folder], all_faces=True)
        assert (folder / "obama.jpg.xmp").exists()
        assert not list(folder.glob("*.mp4.xmp")) and not list(folder.glob("*.mov.xmp"))

        # Run again: nothing is analysed again.
        again = engine.index([folder])
        assert again.counts.files_unchanged == 5
        assert moments_by_path(engine) == moments
    finally:
        engine.close()


def test_a_moved_video_keeps_its_appearances_a_changed_one_is_indexed_again(made, tmp_path):
    out, _ = made
    folder = tmp_path / "pictures"
    (folder / "2026").mkdir(parents=True)
    shutil.copy(out / "two.mp4", folder / "two.mp4")
    engine = library(tmp_path, workers=0)
    try:
        engine.index([folder])
        before = moments_by_path(engine)["two.mp4"]
        (folder / "two.mp4").rename(folder / "2026" / "birthday.mp4")
        report = engine.index([folder])
        assert report.counts.files_moved == 1 and report.counts.files_new == 0
        assert moments_by_path(engine)["birthday.mp4"] == before  # same faces, same ids

        # Another video written over it: analysed again, its old appearances replaced.
        shutil.copy(out / "two-sideways.mov", folder / "2026" / "birthday.mp4")
        report = engine.index([folder])
        assert report.counts.files_changed == 1
        after = moments_by_path(engine)["birthday.mp4"]
        assert len(after) == 2
        assert engine.catalog.appearances.counts()["appearances"] == 2
        # Found again at the same times: the same faces (what the owner decided stays).
        assert [m.face_id for m in after] == [m.face_id for m in before]
    finally:
        engine.close()


def test_an_opted_out_face_keeps_no_vector_from_any_frame(made, shared_data, tmp_path):
    """Opted out before the video is indexed: the appearance is kept (when, where: for
    blurring) without a vector or a person; opted out after: its vector goes too."""
    out, _ = made
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(out / "two.mp4", folder / "two.mp4")
    engine = library(tmp_path, workers=0)
    try:
        engine.privacy.optouts.add(shared_data / OBAMA, note="asked")
        engine.index([folder])
        obama, kit = moments_by_path(engine)["two.mp4"]
        assert vectors_of(engine, [obama.face_id]) == 0
        assert vectors_of(engine, [kit.face_id]) == 1
        row = engine.catalog.faces.row(obama.face_id)
        assert row is not None and row["biometric"] == "opted_out" and row["person_id"] is None

        engine.privacy.optouts.add(shared_data / KIT, note="asked later")
        assert vectors_of(engine, [kit.face_id]) == 0
        assert engine.catalog.faces.row(kit.face_id)["biometric"] == "opted_out"
    finally:
        engine.close()


def test_erasure_removes_their_appearances(made, shared_data, tmp_path):
    out, _ = made
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(out / "two.mp4", folder / "two.mp4")
    shutil.copy(out / "two-sideways.mov", folder / "again.mov")
    shutil.copy(shared_data / KIT, folder / "kit.jpg")
    engine = library(tmp_path, workers=0)
    try:
        engine.index([folder])
        kit_face = engine.catalog.faces.rows(
            engine.catalog.photos.by_path(str(folder / "kit.jpg")).id
        )[0]["id"]
        person = engine.catalog.people.face_person(kit_face)
        assert person is not None
        theirs = [
            m.face_id
            for ms in moments_by_path(engine).values()
            for m in ms
            if engine.catalog.people.face_person(m.face_id) == person
        ]
        assert len(theirs) == 2  # one appearance in each video
        engine.privacy.erase_person(f"P{person}")
        assert vectors_of(engine, theirs) == 0
        assert all(engine.catalog.people.face_person(f) is None for f in theirs)
        assert engine.catalog.people.get(person) is None
        # Indexed again from scratch (a new copy): they stay out, in every frame.
        shutil.copy(out / "two.mp4", folder / "copy-of-two.mkv")
        engine.index([folder])
        copy = engine.catalog.photos.by_path(str(folder / "copy-of-two.mkv"))
        kit_again = [m for m in engine.catalog.appearances.of_video(copy.id)][1]
        assert vectors_of(engine, [kit_again.face_id]) == 0
    finally:
        engine.close()


def test_the_catalog_holds_no_appearance_without_its_face(made, tmp_path):
    out, _ = made
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(out / "two.mp4", folder / "two.mp4")
    engine = library(tmp_path, workers=0)
    try:
        engine.index([folder])
        (folder / "two.mp4").unlink()
        engine.index([folder], prune=True)
        assert engine.catalog.appearances.counts() == {"videos": 0, "appearances": 0}
    finally:
        engine.close()
    with sqlite3.connect(tmp_path / "lib" / "catalog.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM appearances").fetchone()[0] == 0


def test_an_organisation_library_keeps_only_consented_people_in_videos(made, shared_data, tmp_path):
    """Obama consented with an enrolment photo: his appearances join him. Kit did not: his
    appearance keeps its time and box, no vector. Obama withdraws: his vectors go."""
    out, _ = made
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(out / "two.mp4", folder / "two.mp4")
    config = EngineConfig(workers=0, policy=Policy.ORGANISATION, actor="registrar")
    engine = Engine(tmp_path / "lib", create=True, config=config)
    try:
        engine.privacy.grant(
            "Barack Obama",
            "grouping,search",
            evidence_text="form 12",
            face_photo=shared_data / OBAMA,
        )
        engine.index([folder])
        obama, kit = moments_by_path(engine)["two.mp4"]
        person = engine.catalog.people.by_name("Barack Obama")
        assert person is not None
        assert engine.catalog.people.face_person(obama.face_id) == person.id
        assert vectors_of(engine, [obama.face_id]) == 1
        assert engine.catalog.faces.row(kit.face_id)["biometric"] == "unconsented"
        assert vectors_of(engine, [kit.face_id]) == 0

        engine.privacy.withdraw("Barack Obama")
        assert vectors_of(engine, [obama.face_id]) == 0
        assert engine.catalog.faces.row(obama.face_id)["biometric"] == "withdrawn"
    finally:
        engine.close()
