"""Export with the fake models (faces are coloured squares): who is blurred under each mode,
what is selected, how a bad photo or a bad request is handled, and what the audit log says."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from regard.domain.privacy import Policy
from regard.engine import Engine, EngineConfig
from regard.errors import OutputError, PersonNotFoundError, PrivacyRequestError, UnsafeMetadataError
from regard.pipeline.cluster import GroupingParams
from regard.services.export import ExportOptions
from regard.testing import FakeModels, draw_faces

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
RED_AT, BLUE_AT = (10, 10, 40), (100, 10, 40)


def engine_at(lib, create=False, policy=None):
    return Engine(
        lib,
        create=create,
        models=FakeModels(),
        config=EngineConfig(workers=0, grouping=PARAMS, policy=policy),
    )


@pytest.fixture
def album(tmp_path):
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(*RED_AT, RED), (*BLUE_AT, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE), (150, 100, 40, GREEN)])
    draw_faces(folder / "sub" / "d.png", [(60, 60, 40, GREEN)])
    return folder


@pytest.fixture
def engine(tmp_path, album):
    with engine_at(tmp_path / "lib", create=True) as e:
        e.index([album])
        e.people.group_pending()
        for colour, name in ((RED, "Ann"), (BLUE, "Bob")):
            e.people.name(person_of(e, colour), name)
        yield e


def person_of(engine, colour):
    for f in engine.catalog.faces.rows():
        img = np.asarray(Image.open(f["path"]).convert("RGB"))
        x, y = int(f["x"] + f["w"] / 2), int(f["y"] + f["h"] / 2)
        if np.abs(img[y, x].astype(int) - colour).max() < 20:
            return f"P{f['person_id']}"
    raise AssertionError(f"no face of colour {colour}")


def square_is_intact(path, at, colour):
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    x, y, side = at
    patch = img[y : y + side, x : x + side]
    # Intact: the colour, and the fine texture draw_faces gives sharp faces.
    return np.abs(patch.mean(axis=(0, 1)) - colour).max() < 8 and patch.std() > 3


def run(engine, tmp_path, paths, **options):
    out = tmp_path / "out"
    people = options.pop("people", ())
    report = engine.exporter.export(
        engine.exporter.select(paths, people), out, ExportOptions(**options)
    )
    return out, report


def test_blur_all_leaves_no_face_and_keeps_originals(engine, album, tmp_path):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in album.rglob("*.png")}
    out, report = run(engine, tmp_path, [album], blur="all", method="solid")
    assert report.photos == 4 and not report.skipped
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]
    assert not square_is_intact(out / "a.png", RED_AT, RED)
    assert not square_is_intact(out / "a.png", BLUE_AT, BLUE)
    assert report.faces_visible == 0 and report.faces_blurred >= 6
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in album.rglob("*.png")}
    assert not list(out.glob(".*"))  # no temporary file left behind


def test_unconsented_blurs_everyone_without_a_consent_record(engine, album, tmp_path):
    # Ann is named but has not agreed: naming is not consent.
    out, _report = run(engine, tmp_path, [album / "a.png"], blur="unconsented")
    assert not square_is_intact(out / "a.png", RED_AT, RED)
    engine.privacy.grant("Ann", "search", evidence_text="said yes at dinner")
    out2, _ = run(engine, tmp_path / "2", [album / "a.png"], blur="unconsented")
    assert square_is_intact(out2 / "a.png", RED_AT, RED)
    assert not square_is_intact(out2 / "a.png", BLUE_AT, BLUE)
    engine.privacy.withdraw("Ann")
    out3, _ = run(engine, tmp_path / "3", [album / "a.png"], blur="unconsented")
    assert not square_is_intact(out3 / "a.png", RED_AT, RED)


def test_all_but_keeps_only_the_named(engine, album, tmp_path):
    out, report = run(engine, tmp_path, [album], blur="all-but", visible=("Bob",))
    assert square_is_intact(out / "a.png", BLUE_AT, BLUE)
    assert not square_is_intact(out / "a.png", RED_AT, RED)
    assert report.faces_visible == 2  # Bob in a.png and c.png
    with pytest.raises(PersonNotFoundError):
        run(engine, tmp_path / "x", [album], blur="all-but", visible=("Nobody",))


def test_an_opted_out_face_is_blurred_even_when_nobody_is_to_be(engine, album, tmp_path):
    selfie = draw_faces(tmp_path / "selfie.png", [(20, 20, 40, BLUE)])
    engine.privacy.optouts.add(selfie)
    out, _report = run(engine, tmp_path, [album / "a.png"], blur="none")
    assert square_is_intact(out / "a.png", RED_AT, RED)
    assert not square_is_intact(out / "a.png", BLUE_AT, BLUE)


def test_select_by_folder_and_by_person(engine, album):
    sub = engine.exporter.select([album / "sub"])
    assert [p.path for p in sub.photos] == [str(album / "sub" / "d.png")]
    ann = engine.exporter.select([], ["Ann"])
    assert sorted(p.path.rsplit("/", 1)[1] for p in ann.photos) == ["a.png", "b.png"]
    assert ann.by_person
    with pytest.raises(PrivacyRequestError, match="no indexed photo"):
        engine.exporter.select([album / "nowhere"])
    with pytest.raises(PrivacyRequestError, match="Say what to export"):
        engine.exporter.select([])


def test_requests_are_checked_before_anything_is_written(engine, album, tmp_path):
    with pytest.raises(PrivacyRequestError, match="all-but needs"):
        ExportOptions(blur="all-but")
    with pytest.raises(PrivacyRequestError, match="Unknown blur mode"):
        ExportOptions(blur="some")  # type: ignore[arg-type]
    with pytest.raises(UnsafeMetadataError, match="where the photo was taken"):
        ExportOptions(keep=("GPSLatitude",))
    with pytest.raises(OutputError, match="folder of the photos"):
        engine.exporter.export(engine.exporter.select([album]), album, ExportOptions(blur="all"))
    assert sorted(p.name for p in album.iterdir()) == ["a.png", "b.png", "c.png", "sub"]


def test_a_photo_gone_since_indexing_is_reported_and_the_rest_exported(engine, album, tmp_path):
    selection = engine.exporter.select([album])
    (album / "b.png").unlink()
    out = tmp_path / "out"
    report = engine.exporter.export(selection, out, ExportOptions(blur="all"))
    assert report.photos == 3 and [s["path"] for s in report.skipped] == [str(album / "b.png")]
    assert "b.png" not in {p.name for p in out.iterdir()}


def test_export_is_audited_with_who_was_left_visible(engine, album, tmp_path):
    engine.privacy.grant("Ann", "search")
    run(engine, tmp_path, [], people=["Ann"], blur="unconsented", rename=True)
    entry = [e for e in engine.privacy.audit_entries() if e["action"] == "export"][-1]
    assert entry["result_count"] == 2 and entry["purpose"] == "search"
    assert entry["subject"] == person_of(engine, RED)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "photo-0001.png",
        "photo-0002.png",
    ]


def test_organisation_policy_needs_consent_to_show_or_select_a_person(tmp_path, album):
    with engine_at(tmp_path / "lib", create=True, policy=Policy.ORGANISATION) as e:
        e.index([album])
        with pytest.raises(PersonNotFoundError):
            e.exporter.select([], ["Ann"])
        out, report = run(e, tmp_path, [album], blur="none")
        # Nobody may be identified without consent, so nobody is left visible.
        assert report.faces_visible == 0
        assert not square_is_intact(out / "a.png", RED_AT, RED)
