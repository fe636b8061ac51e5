"""Erasure templates with the fake models: they survive a model change and a restored backup
(opened with or without the key), and withdrawal templates come and go with consent."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from regard.engine import Engine, EngineConfig
from regard.pipeline.cluster import GroupingParams
from regard.storage.keys import KeyConfig
from regard.testing import FAKE_EMBEDDER, FakeModels, draw_faces
from tests.backends import back_up, catalog_db, restore

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
OTHER_MODEL = FakeModels(embedder=replace(FAKE_EMBEDDER, id="fake-colour-2"))


def engine_at(
    lib: Path,
    models: FakeModels = FakeModels(),
    keys: KeyConfig = KeyConfig(),
    create: bool = False,
) -> Engine:
    config = EngineConfig(workers=0, grouping=PARAMS, keys=keys)
    return Engine(lib, create=create, models=models, config=config)


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    return folder


def erase_red(engine: Engine) -> dict[str, object]:
    engine.people.group_pending()
    red = engine.catalog.people.face_person(
        next(r["id"] for r in engine.catalog.faces.rows() if r["path"].endswith("b.png"))
    )
    engine.people.name(f"P{red}", "Ann")
    return engine.privacy.erase_person("Ann")


def biometric(engine: Engine, name: str) -> list[str]:
    return [r["biometric"] for r in engine.catalog.faces.rows() if r["path"].endswith(name)]


def templates(lib: Path) -> list[tuple[str, str]]:
    with catalog_db(lib) as db:
        return sorted(db.execute("SELECT kind, model_id FROM templates"))


def test_erasure_templates_follow_a_model_change(tmp_path: Path, album: Path) -> None:
    lib = tmp_path / "lib"
    with engine_at(lib, create=True) as e:
        e.index([album])
        receipt = erase_red(e)
        assert receipt["kept"] == {
            "erasure_templates": 3,
            "why": "sealed, only to drop their face from photos indexed later (edited, moved or "
            "copied photos, new ones, another model); never searchable, never shown, never "
            "exported",
        }
    assert templates(lib) == [("erasure", "fake-colour")] * 3
    # Another model: every photo is analysed again. Her faces are found where they were
    # erased, dropped, and give that model its template; then a new photo of her is caught.
    with engine_at(lib, OTHER_MODEL) as e:
        e.index([album])
        assert biometric(e, "a.png") == ["erased", "kept"]
        assert biometric(e, "b.png") == ["erased"]
        assert ("erasure", "fake-colour-2") in templates(lib)
        draw_faces(album / "new.png", [(60, 60, 40, RED)])
        e.index([album])
        assert biometric(e, "new.png") == ["erased"]
        assert e.search_face(album / "new.png").matches == ()


def test_a_restored_backup_gets_the_templates_back(tmp_path: Path, album: Path) -> None:
    lib, backup = tmp_path / "lib", tmp_path / "backup"
    with engine_at(lib, create=True) as e:
        e.index([album])
    back_up(lib, backup)
    with engine_at(lib) as e:
        erase_red(e)
    restore(backup, lib)
    with engine_at(lib) as e:
        assert e.catalog.people.by_name("Ann") is None
        assert templates(lib) == [("erasure", "fake-colour")] * 3
        draw_faces(album / "edited.png", [(70, 20, 40, RED)])  # an edited copy, say
        e.index([album])
        assert biometric(e, "edited.png") == ["erased"]
        assert [a["action"] for a in e.privacy.audit_entries()].count("erasure-replayed") == 1


def test_a_backup_opened_without_the_key_hides_the_name_at_once(
    tmp_path: Path, album: Path
) -> None:
    lib, backup = tmp_path / "lib", tmp_path / "backup"
    secret = KeyConfig(passphrase="correct horse battery")
    with engine_at(lib, keys=secret, create=True) as e:
        e.index([album])
        e.people.group_pending()
    back_up(lib, backup)
    with engine_at(lib, keys=secret) as e:
        erase_red(e)
    restore(backup, lib)
    with engine_at(lib) as e:  # no passphrase
        assert e.catalog.people.by_name("Ann") is None
        assert not any(p["name"] for p in e.people.summaries())
    assert templates(lib) == []  # the vectors cannot be read yet
    with engine_at(lib, keys=secret) as e:
        assert templates(lib) == [("erasure", "fake-colour")] * 3
        assert biometric(e, "b.png") == ["erased"]
        probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, RED)])
        assert e.search_face(probe).matches == ()
        actions = [a["action"] for a in e.privacy.audit_entries()]
        assert actions[:2] == ["audit-discontinuity", "erasure-replayed"]


def test_withdrawal_templates_last_until_consent_is_given_again(
    tmp_path: Path, album: Path
) -> None:
    lib = tmp_path / "lib"
    with engine_at(lib, create=True) as e:
        e.index([album])
        e.people.group_pending()
        red = e.catalog.people.face_person(
            next(r["id"] for r in e.catalog.faces.rows() if r["path"].endswith("b.png"))
        )
        e.people.name(f"P{red}", "Ann")
        e.privacy.grant("Ann", "search", evidence_text="yes")
        result = e.privacy.withdraw("Ann")
        assert result["kept"]["withdrawal_templates"] == 3
        assert templates(lib) == [("withdrawal", "fake-colour")] * 3
        draw_faces(album / "new.png", [(60, 60, 40, RED)])
        e.index([album])
        assert biometric(e, "new.png") == ["withdrawn"]
        # Bob (blue) withdraws too, and stays withdrawn.
        blue = e.catalog.people.face_person(
            next(r["id"] for r in e.catalog.faces.rows() if r["path"].endswith("c.png"))
        )
        e.people.name(f"P{blue}", "Bob")
        bobs = e.privacy.withdraw("Bob")["kept"]["withdrawal_templates"]
        granted = e.privacy.grant("Ann", "search", evidence_text="yes, again")
        assert templates(lib) == [("withdrawal", "fake-colour")] * bobs  # Bob's
        # Her photos whose faces lost their data (and Bob's, with them: which withdrawn face
        # was whose is not kept) are looked at again on the next index run.
        assert granted["photos_to_recheck"] == 4
        assert e.privacy.folders_to_recheck() == [album]
        draw_faces(album / "newer.png", [(80, 60, 40, RED)])
        e.index([album])
        assert biometric(e, "newer.png") == ["kept"]
        assert biometric(e, "b.png") == biometric(e, "new.png") == ["kept"]  # hers: back
        assert biometric(e, "a.png") == ["kept", "withdrawn"]  # Bob's: still out
        assert biometric(e, "c.png") == ["withdrawn"]
        assert e.privacy.folders_to_recheck() == []
        probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, RED)])
        assert len(e.search_face(probe).matches) == 4


def test_an_access_report_after_an_erasure_says_what_is_kept_and_why(
    tmp_path: Path, album: Path
) -> None:
    with engine_at(tmp_path / "lib", create=True) as e:
        e.index([album])
        erase_red(e)
        probe = draw_faces(tmp_path / "selfie.png", [(20, 20, 40, RED)])
        out = tmp_path / "report.zip"
        e.privacy.access_report(out, photo=probe)
        with zipfile.ZipFile(out) as z:
            manifest = json.loads(z.read("manifest.json"))
            summary = z.read("summary.html").decode()
    assert manifest["categories_of_data"]["templates_kept_only_to_exclude_you"] == {"erasure": 3}
    assert manifest["categories_of_data"]["face_vectors_stored_encrypted"] == 0
    faces = [f for p in manifest["photos"] for f in p["your_faces"]]
    assert [f["face_data"] for f in faces] == ["erased", "erased"]
    assert "3 sealed templates of your face are kept only to keep you out" in summary
    assert "3 because your face data was erased" in summary
