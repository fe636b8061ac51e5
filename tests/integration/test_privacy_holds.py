"""Privacy promises that must hold for the human, with the real models on real photos: an
erasure survives edits, moves, copies and new photos; a withdrawn consent covers faces of the
person that were never grouped into their person, and their future photos."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

FR = "photos/face_recognition"
KIT = ("john1.jpeg", "john2.jpeg", "johnsnow_test1.jpg")


def faces_of_file(engine: Engine, path: Path) -> list[dict[str, object]]:
    return [r for r in engine.catalog.faces.rows() if r["path"] == str(path)]


def main_face(engine: Engine, path: Path) -> dict[str, object]:
    """The biggest face of a photo (LFW photos show others behind the person they are of)."""
    return max(faces_of_file(engine, path), key=lambda r: float(r["w"]))  # type: ignore[arg-type]


def test_an_erased_person_stays_erased_through_edits_moves_copies_and_new_photos(
    tmp_path: Path, shared_data: Path, exiftool: str
) -> None:
    """The security review's D3: re-saving a photo, or tagging it in another program, brought
    the erased person back (new vectors, a new person, found by search)."""
    photos = tmp_path / "p"
    photos.mkdir()
    for name in KIT:
        shutil.copy(shared_data / FR / "identities/kit_harington" / name, photos / name)
    for obama in sorted((shared_data / FR / "identities/obama").glob("obama*.jpg")):
        shutil.copy(obama, photos / obama.name)
    probe = shared_data / FR / "identities/kit_harington/john2.jpeg"
    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([photos])
        found = engine.search_face(probe)
        assert len(found.matches) == 3
        person = engine.catalog.people.face_person(found.matches[0].faces[0].face_id)
        engine.people.name(f"P{person}", "Jon")
        receipt = engine.privacy.erase_person("Jon")
        assert receipt["removed"]["vectors"] == 3 and receipt["verification"]["clean"]
        assert engine.search_face(probe).matches == ()

        # What other programs and the owner do to the photos afterwards:
        with Image.open(photos / "john1.jpeg") as im:
            im.save(photos / "john1.jpeg", quality=90)  # re-saved by an editor
        subprocess.run(
            [
                exiftool,
                "-q",
                "-overwrite_original",
                "-Keywords=holiday",
                photos / "johnsnow_test1.jpg",
            ],
            check=True,
        )
        (photos / "moved").mkdir()
        with Image.open(photos / "john2.jpeg") as im:  # moved, and rotated on the way
            im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photos / "moved/jon.jpg")
        (photos / "john2.jpeg").unlink()
        shutil.copy(photos / "john1.jpeg", photos / "copy-of-john1.jpeg")
        shutil.copy(shared_data / FR / "group/kit_with_rose.jpg", photos / "new.jpg")
        report = engine.index([photos], prune=True)
        assert report.counts.files_changed == 2 and report.counts.files_new >= 2

        assert engine.search_face(probe).matches == ()
        for path in KIT:
            if (photos / path).exists():
                assert engine.search_face(photos / path).matches == (), path
        for path in ("john1.jpeg", "johnsnow_test1.jpg", "moved/jon.jpg", "copy-of-john1.jpeg"):
            rows = faces_of_file(engine, photos / path)
            assert [r["biometric"] for r in rows] == ["erased"], path
            assert rows[0]["person_id"] is None
        new = sorted(faces_of_file(engine, photos / "new.jpg"), key=lambda r: r["x"])  # type: ignore[arg-type, return-value]
        assert sorted(r["biometric"] for r in new) == ["erased", "kept"]  # Rose stays
        grouped = {
            Path(photo["path"]).name
            for p in engine.people.summaries()
            for photo in engine.people.show(p["person"])["photo_list"]
        }
        assert grouped <= {"obama.jpg", "obama1.jpg", "obama2.jpg", "obama3.jpg", "new.jpg"}
        # Everyone else is as searchable as before.
        obama = engine.search_face(shared_data / FR / "identities/obama/obama.jpg")
        assert len(obama.matches) == 4
        # The receipt said what was kept to make this hold, and why.
        assert receipt["kept"]["erasure_templates"] == 4  # their centre and 3 faces
        assert receipt["kept"]["why"].startswith("sealed, only to drop their face from photos")


def test_a_withdrawal_holds_for_faces_outside_the_person_and_for_new_photos(
    tmp_path: Path, shared_data: Path
) -> None:
    """The first-use review's §5: with search withdrawn, a face of hers that was not in her
    person (rejected from it) was still found by a search with a new photo of her."""
    photos = tmp_path / "p"
    laura = shared_data / "lfw-dev/Laura_Bush"
    shutil.copytree(shared_data / FR / "identities", photos / "identities")
    (photos / "laura").mkdir()
    for n in (1, 2, 3, 4, 5, 6, 7):
        shutil.copy(laura / f"Laura_Bush_{n:04d}.jpg", photos / "laura")
    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([photos])
        outside = main_face(engine, photos / "laura/Laura_Bush_0003.jpg")
        person = engine.catalog.people.face_person(int(outside["id"]))  # type: ignore[arg-type]
        assert person is not None
        engine.people.name(f"P{person}", "Laura Bush")
        engine.people.reject("Laura Bush", int(outside["id"]))  # type: ignore[arg-type]
        assert engine.catalog.people.face_person(int(outside["id"])) != person  # type: ignore[arg-type]
        engine.privacy.grant("Laura Bush", "grouping,search", evidence_text="asked her")
        new_photo = laura / "Laura_Bush_0008.jpg"
        assert len(engine.search_face(new_photo).matches) == 7

        engine.privacy.withdraw("Laura Bush", "search")
        assert engine.search_face(new_photo).matches == ()
        entry = engine.privacy.audit_entries()[-1]
        assert entry["action"] == "search-face" and entry["detail"]["withheld_by_policy"] == 7
        assert engine.search_person("Laura Bush").refused

        # A new photo of her arrives: it is not found either, however it is grouped.
        shutil.copy(laura / "Laura_Bush_0009.jpg", photos / "laura")
        engine.index([photos])
        assert engine.search_face(new_photo).matches == ()
        assert engine.search_face(laura / "Laura_Bush_0010.jpg").matches == ()
        # Others are still found, and their person searches suggest nothing of hers.
        obama = engine.search_face(shared_data / FR / "identities/obama/obama.jpg")
        assert len(obama.matches) == 4

        # Everything withdrawn: every face of hers loses its vector, inside her person or not,
        # and her next photo is never stored with one.
        result = engine.privacy.withdraw("Laura Bush")
        assert result["removed"]["faces_outside_person"] >= 1
        assert result["kept"]["withdrawal_templates"] >= 1
        ids, _ = engine.catalog.faces.embeddings(engine.models.embedder.id)
        hers = [main_face(engine, p) for p in sorted((photos / "laura").iterdir())]
        assert len(hers) == 8 and not {r["id"] for r in hers} & set(ids.tolist())
        shutil.copy(laura / "Laura_Bush_0013.jpg", photos / "laura")
        engine.index([photos])
        assert main_face(engine, photos / "laura/Laura_Bush_0013.jpg")["biometric"] == "withdrawn"
        # Agreeing again lifts that for new photos.
        engine.privacy.grant("Laura Bush", "grouping,search", evidence_text="asked her again")
        shutil.copy(laura / "Laura_Bush_0016.jpg", photos / "laura")
        engine.index([photos])
        assert main_face(engine, photos / "laura/Laura_Bush_0016.jpg")["biometric"] == "kept"
