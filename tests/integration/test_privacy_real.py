"""Consent, opt-out, withdrawal and erasure with the real models on real photos."""

import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from regard.domain.privacy import Policy
from regard.engine import Engine, EngineConfig
from regard.errors import ConsentRequiredError
from regard.pipeline.decode import DecodeLimits, OpenedImage

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

FR = "photos/face_recognition"


def counts(lib: Path) -> dict[str, int]:
    with sqlite3.connect(lib / "catalog.sqlite") as db:
        return {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("photos", "faces", "embeddings", "people", "templates", "consents")
        }


def test_organisation_keeps_only_consented_faces(tmp_path, shared_data):
    lib = tmp_path / "school"
    config = EngineConfig(workers=2, policy=Policy.ORGANISATION, actor="registrar")
    with Engine(lib, create=True, config=config) as engine:
        engine.privacy.grant(
            "Barack Obama",
            "grouping,search",
            evidence_text="signed form #12, witnessed by J.",
            face_photo=shared_data / FR / "identities/obama/obama.jpg",
        )
        # Obama with two people who never consented: Biden and a child.
        report = engine.index([shared_data / FR / "group/obama_and_biden.jpg"])
        assert report.counts.faces_found == 3
        faces = engine.catalog.faces.rows()
        kept = [f for f in faces if f["biometric"] == "kept"]
        assert len(kept) == 1 and engine.catalog.photos.counts()["embeddings"] == 1
        assert sorted(f["biometric"] for f in faces) == ["kept", "unconsented", "unconsented"]
        obama = engine.people.resolve("Barack Obama")
        assert kept[0]["person_id"] == obama.id
        before = counts(lib)
        audit_before = len(engine.privacy.audit_entries())
        # A stranger's photo: nothing comes back, and nothing about it stays.
        result = engine.search_face(shared_data / FR / "identities/biden/biden.jpg")
        assert result.matches == ()
        assert counts(lib) == before
        entries = engine.privacy.audit_entries()
        assert len(entries) == audit_before + 1
        assert entries[-1]["action"] == "search-face" and entries[-1]["probe_hash"] is None
        # The consented person is found.
        found = engine.search_face(shared_data / FR / "identities/obama/obama2.jpg")
        assert [m.path for m in found.matches] == [
            str(shared_data / FR / "group/obama_and_biden.jpg")
        ]
        # Naming someone without consent is refused.
        with pytest.raises(ConsentRequiredError):
            engine.people.name(f"P{obama.id}", "Someone Else")


def test_optout_then_reindex_never_stores_the_face(tmp_path, shared_data):
    folder = tmp_path / "photos"
    shutil.copytree(shared_data / FR / "identities", folder / "identities")
    shutil.copytree(shared_data / FR / "group", folder / "group")
    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([folder])
        biden_faces = engine.search_face(shared_data / FR / "identities/biden/biden2.jpg")
        assert len(biden_faces.matches) == 4
        result = engine.privacy.optouts.add(
            shared_data / FR / "identities/biden/biden2.jpg", note="asked on 2026-11-20"
        )
        assert result["faces_excluded"] == 4
        # New photos of him arrive and everything is indexed again.
        shutil.copy(shared_data / FR / "identities/biden/biden.jpg", folder / "new-biden.jpg")
        engine.index([folder])
        rows = {r["path"]: r for r in engine.catalog.faces.rows()}
        new = rows[str(folder / "new-biden.jpg")]
        assert new["biometric"] == "opted_out" and new["person_id"] is None
        assert engine.search_face(shared_data / FR / "identities/biden/biden2.jpg").matches == ()
        opted = {r["id"] for r in engine.catalog.faces.rows() if r["biometric"] == "opted_out"}
        assert len(opted) == 5
        ids, _ = engine.catalog.faces.embeddings(engine.models.embedder.id)
        assert not opted & set(ids.tolist())
        for person in engine.people.summaries():
            shown = engine.people.show(person["person"])
            assert not opted & {f["face_id"] for p in shown["photo_list"] for f in p["faces"]}


def test_withdrawal_empties_search_at_once_and_is_audited(tmp_path, shared_data):
    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([shared_data / FR / "identities"])
        probe = shared_data / FR / "identities/obama/obama.jpg"
        person = engine.catalog.people.face_person(
            engine.search_face(probe).matches[0].faces[0].face_id
        )
        engine.people.name(f"P{person}", "Barack")
        engine.privacy.grant("Barack", "grouping,search", evidence_text="verbal, 2026-11-01")
        assert engine.search_person("Barack").matches
        engine.privacy.withdraw("Barack", "search")
        found = engine.search_person("Barack")
        assert found.matches == () and found.refused
        assert engine.search_face(probe).matches == ()  # his faces are withheld from face search
        actions = [e["action"] for e in engine.privacy.audit_entries()]
        assert "consent-withdraw" in actions
        # Withdrawing the last purpose deletes his face vectors.
        engine.privacy.withdraw("Barack")
        ids, _ = engine.catalog.faces.embeddings(engine.models.embedder.id)
        faces = engine.catalog.privacy.faces_of_person(person)
        assert not set(faces) & set(ids.tolist())


def test_erasure_leaves_no_bytes_and_survives_a_restored_backup(tmp_path, shared_data):
    lib = tmp_path / "lib"
    # A small ANN threshold, so the saved HNSW index file is part of what is checked.
    config = EngineConfig(workers=2, ann_threshold=5)
    with Engine(lib, create=True, config=config) as engine:
        engine.index([shared_data / FR / "identities", shared_data / FR / "group"])
        assert (lib / "vectors").glob("*.hnsw")
        probe = shared_data / FR / "identities/biden/biden.jpg"
        first = engine.search_face(probe).matches[0].faces[0].face_id
        person = engine.catalog.people.face_person(first)
        engine.people.name(f"P{person}", "Joe")
        faces = set(engine.catalog.privacy.faces_of_person(person))
        codec = engine.catalog.codec
        sealed = [b for f, _m, b in engine.catalog.faces.raw_embeddings() if f in faces]
        clear = [
            codec.open_raw(b, codec.context(f, m))
            for f, m, b in engine.catalog.faces.raw_embeddings()
            if f in faces
        ]
        assert len(clear) == len(faces) == 4
    backup = tmp_path / "backup"
    shutil.copytree(lib, backup)
    with Engine(lib, config=config) as engine:
        receipt = engine.privacy.erase_person("Joe")
        assert receipt["verification"]["clean"]
        assert receipt["removed"]["vectors"] == 4 and receipt["removed"]["names"] == 1
        assert engine.search_face(probe).matches == ()
    files = [p for p in lib.rglob("*") if p.is_file()]
    assert any(p.suffix == ".hnsw" for p in files)
    for path in files:
        data = path.read_bytes()
        for pattern in sealed + clear:
            assert pattern[:48] not in data, f"erased vector bytes found in {path.name}"
    # The old copy comes back from the backup: opening it erases Joe again.
    shutil.rmtree(lib)
    shutil.copytree(backup, lib)
    with Engine(lib, config=config) as engine:
        assert engine.search_face(probe).matches == ()
        assert engine.catalog.people.by_name("Joe") is None
        assert any(e["action"] == "erasure-replayed" for e in engine.privacy.audit_entries())
    for path in (p for p in lib.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for pattern in sealed + clear:
            assert pattern[:48] not in data, f"restored backup still holds vectors in {path.name}"
    with sqlite3.connect(lib / "catalog.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM consents WHERE subject = 'Joe'").fetchone()[0] == 0


def test_access_report_blurs_everyone_else(tmp_path, shared_data):
    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([shared_data / FR / "identities", shared_data / FR / "group"])
        out = tmp_path / "report.zip"
        result = engine.privacy.access_report(
            out, photo=shared_data / FR / "identities/biden/biden2.jpg"
        )
        assert result["photos"] == 4
        with zipfile.ZipFile(out) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            names = zf.namelist()
            assert "summary.html" in names
            group = next(p for p in manifest["photos"] if p["path"].endswith("two_people.jpg"))
            assert group["other_faces_blurred"] == 1 and len(group["your_faces"]) == 1
            copy = zf.read(group["copy"])
        for key in (
            "purposes",
            "recipients",
            "retention",
            "rights",
            "source",
            "consents",
            "audit_entries",
        ):
            assert key in manifest
        # In the copy, Obama (the other face) is not recognisable.
        analyser = engine.analyser
        faces = analyser.faces_in(OpenedImage("copy", copy, DecodeLimits()))
        obama = analyser.faces_in(
            OpenedImage(
                "o", (shared_data / FR / "identities/obama/obama.jpg").read_bytes(), DecodeLimits()
            )
        )
        assert all(float(f.embedding @ obama[0].embedding) < 0.3 for f in faces)
        assert not Image.open(io.BytesIO(copy)).getexif()
