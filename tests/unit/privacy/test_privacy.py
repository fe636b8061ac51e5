"""Privacy mechanics with the fake models: keys, the audit chain, the ledger, retention."""

from datetime import date

import pytest

from regard.domain.privacy import ConsentRecord, Policy, Purpose, allowed_purposes
from regard.engine import Engine, EngineConfig
from regard.errors import KeyMissingError, PrivacyRequestError, RegardError, WrongKeyError
from regard.pipeline.cluster import GroupingParams
from regard.storage.keys import KeyConfig
from regard.testing import FakeModels, draw_faces
from tests.backends import catalog_db, integrity_errors, other_library

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


def engine_at(lib, keys=KeyConfig(), create=False, **kw):
    return Engine(
        lib,
        create=create,
        models=FakeModels(),
        config=EngineConfig(workers=0, grouping=PARAMS, keys=keys, **kw),
    )


@pytest.fixture
def album(tmp_path):
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    return folder


def raw_vectors(engine):
    codec = engine.catalog.codec
    return [
        codec.open_raw(b, codec.context(f, m)) for f, m, b in engine.catalog.faces.raw_embeddings()
    ]


def library_bytes(lib):
    return b"".join(p.read_bytes() for p in lib.rglob("*") if p.is_file())


def test_vectors_are_sealed_and_the_passphrase_opens_them(tmp_path, album):
    lib = tmp_path / "lib"
    secret = KeyConfig(passphrase="correct horse battery")
    with engine_at(lib, secret, create=True) as e:
        e.index([album])
        clear = raw_vectors(e)
        probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, RED)])
        assert len(e.search_face(probe).matches) == 2
    data = library_bytes(lib)
    assert clear and not any(v[:32] in data for v in clear), "a vector is readable on disk"
    # Without the passphrase: browsing works, face data does not.
    with engine_at(lib) as e:
        assert e.status()["encryption"]["unlocked"] is False
        assert e.status()["photos"] == 3
        assert len(e.people.summaries()) == 2
        with pytest.raises(KeyMissingError) as info:
            e.search_face(probe)
        assert "Give the passphrase (REGARD_PASSPHRASE" in str(info.value)
    with pytest.raises(WrongKeyError):
        engine_at(lib, KeyConfig(passphrase="wrong horse battery"))


def test_rekey_retires_the_old_key(tmp_path, album):
    lib = tmp_path / "lib"
    secret = KeyConfig(passphrase="first passphrase")
    with engine_at(lib, secret, create=True) as e:
        e.index([album])
        before = [b for _f, _m, b in e.catalog.faces.raw_embeddings()]
        result = e.rekey(KeyConfig(passphrase="second passphrase"))
        assert result["resealed"] == 4 and result["key"] == "argon2id"
    with pytest.raises(WrongKeyError):
        engine_at(lib, secret)
    with engine_at(lib, KeyConfig(passphrase="second passphrase")) as e:
        probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, BLUE)])
        assert len(e.search_face(probe).matches) == 2
        assert "rekey" in [a["action"] for a in e.privacy.audit_entries()]
    data = library_bytes(lib)
    assert not any(b[:32] in data for b in before), "old ciphertexts survive the rekey"


def test_key_file_libraries_rekey_to_a_new_file(tmp_path, album):
    lib = tmp_path / "lib"
    keys = KeyConfig(key_dir=tmp_path / "keys")
    with engine_at(lib, keys, create=True) as e:
        e.index([album])
        old_file = tmp_path / "keys" / f"{e.catalog.runs.setting('library_id')}.key"
        old_copy = tmp_path / "old.key"
        old_copy.write_bytes(old_file.read_bytes())
        e.rekey(keys)
        assert old_file.read_bytes() != old_copy.read_bytes()
    with pytest.raises(WrongKeyError):
        engine_at(lib, KeyConfig(key_file=old_copy, key_dir=tmp_path / "nowhere"))
    with engine_at(lib, keys) as e:
        assert e.status()["encryption"]["unlocked"]


def test_audit_chain_names_the_edited_or_deleted_entry(tmp_path, album):
    lib = tmp_path / "lib"
    with engine_at(lib, create=True) as e:
        e.index([album])
        red = max(e.people.summaries(), key=lambda p: p["faces"])["person"]
        e.people.name(red, "Grandma")
        for _ in range(3):
            e.search_person("Grandma")
        assert e.privacy.verify_audit().ok
        n = len(e.privacy.audit_entries())
    db = catalog_db(lib)
    db.execute("UPDATE audit SET result_count = 99 WHERE id = 3")
    db.commit()
    with engine_at(lib) as e:
        check = e.privacy.verify_audit()
        assert not check.ok and check.first_bad_entry == 3
        assert any("entry 3 (" in p and "changed after it was written" in p for p in check.problems)
    db.execute("DELETE FROM audit WHERE id = 2")
    db.commit()
    with engine_at(lib) as e:
        check = e.privacy.verify_audit()
        assert check.first_bad_entry == 2
        assert any("entry 2 is missing" in p for p in check.problems)
    # Deleting the newest entry is caught by the anchor kept outside the library.
    db.execute(f"DELETE FROM audit WHERE id = {n}")
    db.commit()
    db.close()
    with engine_at(lib) as e:
        check = e.privacy.verify_audit()
        assert any(f"to {n} are missing" in p for p in check.problems)


def test_the_consent_ledger_is_append_only(tmp_path, album):
    lib = tmp_path / "lib"
    with engine_at(lib, create=True) as e:
        e.index([album])
        e.privacy.grant("Ann", "search", evidence_text="yes")
        e.privacy.withdraw("Ann", "search")
        assert [r["action"] for r in e.privacy.consent.subjects()[0]["records"]] == [
            "grant",
            "withdraw",
        ]
    db = catalog_db(lib)
    for sql in ("DELETE FROM consents", "UPDATE consents SET purposes = '[]'"):
        with pytest.raises(integrity_errors(), match="append-only"):
            db.execute(sql)


def test_consent_requests_are_checked(tmp_path, album):
    with engine_at(tmp_path / "lib", create=True) as e:
        with pytest.raises(PrivacyRequestError, match="'sports' is not a purpose"):
            e.privacy.grant("Ann", "search,sports")
        with pytest.raises(PrivacyRequestError, match="is in the past"):
            e.privacy.grant("Ann", "search", expires="2001-01-01")
    org = engine_at(
        tmp_path / "org", create=True, policy=Policy.ORGANISATION, database=other_library()
    )
    with org as e, pytest.raises(PrivacyRequestError, match="records the evidence of consent"):
        e.privacy.grant("Ann", "search")


def test_no_url_is_ever_fetched(tmp_path):
    with engine_at(tmp_path / "lib", create=True) as e, pytest.raises(RegardError) as info:
        e.index(["https://example.org/photos/"])  # type: ignore[list-item]
    assert "Regard never fetches anything from the network" in str(info.value)


def test_retention_deletes_old_unassigned_vectors(tmp_path, album):
    draw_faces(album / "alone.png", [(10, 10, 40, (20, 160, 20))])
    lib = tmp_path / "lib"
    with engine_at(lib, create=True) as e:
        e.index([album])
        e.privacy.retention.set("unassigned-days", 30)
        assert e.privacy.retention.apply()["unassigned_vectors_deleted"] == 0
    db = catalog_db(lib)
    db.execute("UPDATE photos SET indexed_at = '2020-01-01T00:00:00+00:00'")
    db.commit()
    db.close()
    with engine_at(lib) as e:
        assert e.privacy.retention.apply()["unassigned_vectors_deleted"] == 1
        rows = [r for r in e.catalog.faces.rows() if r["biometric"] == "expired"]
        assert [r["path"].rsplit("/", 1)[1] for r in rows] == ["alone.png"]
        record = e.privacy.records(e.catalog.runs.models(), "keyfile")
        assert record["retention"]["unassigned-days"] == 30
        assert record["counts"]["faces_by_biometric_state"]["expired"] == 1
        assert record["recipients"].startswith("none")


def test_a_photo_page_does_not_name_who_withdrew(tmp_path, album):
    with engine_at(tmp_path / "lib", create=True) as e:
        e.index([album])
        e.people.group_pending()
        photo = next(p for p in e.catalog.photos.all() if p.path.endswith("b.png"))
        face = e.photo_detail(photo.id)["faces"][0]
        e.people.name(face["person"], "Ann")
        assert e.photo_detail(photo.id)["faces"][0]["name"] == "Ann"
        e.privacy.grant("Ann", "grouping,search")
        e.privacy.withdraw("Ann", "grouping")
        shown = e.photo_detail(photo.id)["faces"][0]
        assert shown["name"] is None and shown["person"] is None


def test_withdrawing_one_purpose_in_a_household_keeps_the_others(tmp_path, album):
    """A household member with no consent recorded (the owner attests for them) who withdraws
    recaps only stays grouped and searchable: their vectors stay; the withdrawn purpose goes.
    Withdrawing the rest then deletes their vectors, as withdrawing everything does."""
    with engine_at(tmp_path / "lib", create=True) as e:
        name_ann(e, album)
        before = len(raw_vectors(e))
        receipt = e.privacy.withdraw("Ann", "recaps")
        assert receipt.withdrawn == ["recaps"] and len(raw_vectors(e)) == before
        assert e.search_person("Ann").matches and not e.search_person("Ann").refused
        e.privacy.withdraw("Ann", "grouping,search,camera")
        assert len(raw_vectors(e)) < before
        assert e.search_person("Ann").refused


def test_granting_one_purpose_in_a_household_takes_none_of_the_others(tmp_path, album):
    """Granting `camera` to a household member (so the door camera knows them) leaves them
    grouped and searchable; a grant that has ended is theirs no longer."""
    with engine_at(tmp_path / "lib", create=True) as e:
        photo = name_ann(e, album)
        before = len(raw_vectors(e))
        e.privacy.grant("Ann", "camera")
        assert len(raw_vectors(e)) == before
        assert e.search_person("Ann").matches and not e.search_person("Ann").refused
        assert e.photo_detail(photo.id)["faces"][0]["name"] == "Ann"
        # Recaps stay hers by the owner's word, but without grouping, search or camera her
        # face data has no use left: it goes.
        e.privacy.withdraw("Ann", "grouping,search,camera")
        assert len(raw_vectors(e)) < before
    today = date.today()
    assert Purpose.CAMERA not in allowed_purposes(Policy.HOUSEHOLD, [], today)  # granted only
    grant = ConsentRecord("grant", frozenset({Purpose.SEARCH}), "2020-01-01", "2020-06-30")
    allowed = allowed_purposes(Policy.HOUSEHOLD, [grant], today)
    assert Purpose.SEARCH not in allowed and Purpose.GROUPING in allowed
    assert allowed_purposes(Policy.ORGANISATION, [grant], today) == frozenset()


def name_ann(e, album):
    """The album indexed and grouped, the face of b.png named Ann: that photo."""
    e.index([album])
    e.people.group_pending()
    photo = next(p for p in e.catalog.photos.all() if p.path.endswith("b.png"))
    e.people.name(e.photo_detail(photo.id)["faces"][0]["person"], "Ann")
    return photo
