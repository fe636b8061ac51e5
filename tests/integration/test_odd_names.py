"""File and folder names that are not valid UTF-8 (a Latin-1 "café" from an old camera or a
Windows share) are indexed, found again on the next run and shown readably; the real
command's output stays valid UTF-8 (and valid JSON) whatever the terminal's encoding."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

REGARD = Path(sys.executable).with_name("regard")
CAFE = os.fsdecode(b"caf\xe9.jpg")  # Latin-1 bytes: not UTF-8
FETE = os.fsdecode(b"f\xeate")


def regard(*args: object, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    # The strictest terminal: anything but valid UTF-8 on stdout would raise.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    done = subprocess.run([str(REGARD), *map(str, args)], capture_output=True, env=env, timeout=600)
    if check:
        assert done.returncode == 0, (done.stdout, done.stderr)
    return done


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("odd-names") / "photos"
    people = shared_data / "photos/face_recognition/identities"
    (root / FETE).mkdir(parents=True)
    shutil.copy(people / "obama/obama.jpg", root / "a.jpg")
    shutil.copy(people / "biden/biden.jpg", root / CAFE)
    shutil.copy(people / "obama/obama2.jpg", root / "z.jpg")
    shutil.copy(people / "biden/biden.jpg", root / FETE / "b.jpg")
    # A damaged file with such a name too: its error message must be printable.
    (root / os.fsdecode(b"cass\xe9.jpg")).write_bytes(b"\xff\xd8\xff\xe0 not the rest")
    return root


def test_names_that_are_not_utf8_are_indexed_found_again_and_shown(
    photos: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    first = regard("--library", lib, "index", photos, "--workers", "1", "--json")
    report = json.loads(first.stdout.decode("utf-8"))
    assert report["counts"]["files_new"] == 4  # nothing of the batch lost
    [failure] = report["failures"]
    # JSON's \udcXX escapes give back the very path: the file can be opened with it.
    assert os.fsencode(failure["path"]) == os.fsencode(photos) + b"/cass\xe9.jpg"
    assert failure["code"] == "corrupt"
    assert failure["message"].startswith(f"{photos}/cass\\xe9.jpg: ")

    listed = json.loads(regard("--library", lib, "photos", "--json").stdout.decode("utf-8"))
    paths = {p["path"] for p in listed}
    assert str(photos / CAFE) in paths and str(photos / FETE / "b.jpg") in paths
    for p in listed:
        assert Path(p["path"]).is_file()

    # The next run finds them again, unchanged: nothing analysed twice, nothing duplicated.
    again = json.loads(regard("--library", lib, "index", photos, "--workers", "1", "--json").stdout)
    assert again["counts"]["files_unchanged"] == 5
    assert again["counts"]["files_new"] == again["counts"]["files_failed"] == 0

    # Shown readably: the bad byte as an escape, like `ls -b`.
    human = regard("--library", lib, "photos").stdout.decode("utf-8")
    assert "caf\\xe9.jpg" in human and "f\\xeate/b.jpg" in human
    errors = regard("--library", lib, "status", "--errors").stdout.decode("utf-8")
    assert "cass\\xe9.jpg" in " ".join(errors.split())

    # And searched with.
    found = regard("--library", lib, "search", "--face", photos / CAFE, "--json")
    matches = json.loads(found.stdout)["matches"]
    assert {m["path"] for m in matches} == {str(photos / CAFE), str(photos / FETE / "b.jpg")}


def test_json_output_is_json_even_when_something_unexpected_fails(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    done = regard("--library", lib, "status", "--json", check=False)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "InternalError"
    assert error["message"].startswith("Regard failed unexpectedly: DatabaseError: ")
    assert b"Traceback" not in done.stdout + done.stderr
    # The traceback is in the library's log, for a bug report.
    assert "Traceback" in (lib / "regard.log").read_text()

    for bad in ("nan", "0", "-5", "inf"):
        done = regard(
            "--library", lib, "index", tmp_path, "--max-megapixels", bad, "--json", check=False
        )
        assert done.returncode == 1
        assert json.loads(done.stdout)["error"]["message"] == (
            f"--max-megapixels must be a positive number of megapixels; {float(bad):g} is not. "
            "Leave it out to use the default."
        )


def test_the_web_app_shows_them(photos: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from regard.engine import EngineConfig
    from regard.interfaces.http.app import create_app
    from regard.interfaces.http.host import EngineHost
    from regard.testing import FakeModels

    host = EngineHost(tmp_path / "lib", EngineConfig(workers=0), models=FakeModels())
    try:
        with host.use() as engine:
            engine.index([photos])
        client = TestClient(create_app(host), base_url="http://localhost")
        r = client.post(
            "/api/setup",
            json={
                "token": host.accounts.setup_token(),
                "name": "Ann",
                "password": "correct horse battery staple",
            },
        )
        assert r.status_code == 200, r.text
        timeline = client.get("/api/photos")
        assert timeline.status_code == 200
        body = timeline.json()
        names = {p["name"]: p for p in body["photos"]}
        assert {"caf\\xe9.jpg", "b.jpg", "a.jpg", "z.jpg"} <= set(names)
        assert {f["name"] for f in body["folders"]} == {"photos", "photos/f\\xeate"}
        cafe = names["caf\\xe9.jpg"]
        assert cafe["path"] == str(photos / CAFE)  # JSON's escapes give back the real path
        detail = client.get(f"/api/photos/{cafe['id']}")
        assert detail.status_code == 200 and detail.json()["name"] == "caf\\xe9.jpg"
        image = client.get(f"/api/photos/{cafe['id']}/image")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    finally:
        host.close()
