"""XMP face regions on real photos: written by Regard, read back by Regard and by exiftool,
and imported into another library."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig
from regard.pipeline.xmp import read_regions

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]
FR = "photos/face_recognition"


@pytest.fixture
def album(tmp_path, shared_data):
    folder = tmp_path / "album"
    shutil.copytree(shared_data / FR / "identities", folder / "identities")
    shutil.copytree(shared_data / FR / "group", folder / "group")
    # The same group photo as a phone would store it: pixels on their side, EXIF "rotate 90".
    upright = Image.open(shared_data / FR / "group/two_people.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(
        folder / "group/turned.jpg", quality=95, exif=exif
    )
    return folder


def name_people(engine, shared_data):
    for who, photo in (("Barack Obama", "obama/obama.jpg"), ("Joe Biden", "biden/biden.jpg")):
        hit = engine.search_face(shared_data / FR / "identities" / photo).matches[0].faces[0]
        engine.people.name(f"P{engine.catalog.people.face_person(hit.face_id)}", who)


def test_regions_round_trip_through_regard_and_exiftool(exiftool, tmp_path, album, shared_data):
    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([album])
        name_people(engine, shared_data)
        result = engine.xmp.write([album])
        assert result["sidecars"] >= 8 and result["named_regions"] >= 10
        rows = {r["path"]: r for r in engine.catalog.faces.rows()}
    turned = album / "group/turned.jpg"
    sidecar = Path(str(turned) + ".xmp")
    dims, regions = read_regions(sidecar.read_bytes())
    stored = Image.open(turned).size
    assert dims == stored  # MWG: regions apply to the image as stored
    assert sorted(r.name for r in regions) == ["Barack Obama", "Joe Biden"]
    # exiftool reads the same names and areas, and turns them upright like a viewer does.
    out = subprocess.run(
        [exiftool, "-j", "-struct", "-RegionInfo", str(sidecar)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(out.stdout)[0]["RegionInfo"]
    assert info["AppliedToDimensions"]["W"] == stored[0]
    assert sorted(r["Name"] for r in info["RegionList"]) == ["Barack Obama", "Joe Biden"]
    mine = sorted(regions, key=lambda r: r.name)
    theirs = sorted(info["RegionList"], key=lambda r: r["Name"])
    for a, b in zip(mine, theirs, strict=True):
        assert abs(a.x - b["Area"]["X"]) < 1e-5 and abs(a.h - b["Area"]["H"]) < 1e-5
    # Originals untouched.
    assert not any(p.suffix == ".part" for p in album.rglob("*"))
    assert rows


def test_import_names_faces_in_another_library(tmp_path, album, shared_data):
    with Engine(tmp_path / "first", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([album])
        name_people(engine, shared_data)
        engine.xmp.write([album])
        expected = {p["name"]: p["photos"] for p in engine.people.summaries() if p["name"]}
    with Engine(tmp_path / "second", create=True, config=EngineConfig(workers=2)) as engine:
        engine.index([album])
        result = engine.xmp.import_names([album])
        assert result["named"] >= 10
        got = {p["name"]: p["photos"] for p in engine.people.summaries() if p["name"]}
        assert got == expected
        assert any(e["action"] == "xmp-import" for e in engine.privacy.audit_entries())
        turned = str(album / "group/turned.jpg")
        names = {
            engine.catalog.people.get(r["person_id"]).name
            for r in engine.catalog.faces.rows()
            if r["path"] == turned and r["person_id"]
        }
        assert names == {"Barack Obama", "Joe Biden"}
