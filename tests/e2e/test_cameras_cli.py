"""`regard cameras …`, `regard watch … --once --json` and `regard events`, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regard.interfaces.cli.main import app

runner = CliRunner()


def regard(lib: Path, *args: str, input: str | None = None):
    return runner.invoke(app, ["--library", str(lib), *map(str, args)], input=input)


def test_cameras_are_set_up_as_the_issue_shows_and_passwords_never_show(tmp_path):
    lib = tmp_path / "lib"
    url = "rtsp://admin:s3cret@192.168.1.20:554/stream2"
    r = regard(lib, "cameras", "add", "door", url, "--alerts", "person,pet,unknown-face",
               "--night-only", "person")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "rtsp://***@192.168.1.20:554/stream2" in r.output
    assert regard(lib, "cameras", "add", "street", "rtsp://192.168.1.21/live",
                  "--public-space").exit_code == 0  # fmt: skip
    r = regard(lib, "cameras", "mask", "door", "0,0,320,120")
    assert r.exit_code == 0 and "mask: 0,0,320,0,320,120,0,120" in r.output
    listed = regard(lib, "cameras", "list")
    assert "door" in listed.output and "street" in listed.output
    shown = json.loads(regard(lib, "cameras", "show", "door", "--json").output)
    assert shown["alerts"] == ["person", "pet", "unknown-face"]
    assert shown["night_only"] == ["person"] and shown["masks"] == ["0,0,320,0,320,120,0,120"]
    for out in (listed.output, json.dumps(shown), regard(lib, "cameras", "--json").output):
        assert "s3cret" not in out
    assert (
        "s3cret" not in (lib / "regard.log").read_text() if (lib / "regard.log").exists() else True
    )
    bad = regard(lib, "cameras", "mask", "door", "0,0,-5")
    assert bad.exit_code == 1 and "is not a mask" in bad.output
    bad = regard(lib, "cameras", "add", "gate", "ftp://x/y")
    assert bad.exit_code == 1 and "not a camera source" in bad.output
    assert regard(lib, "cameras", "remove", "street", input="n\n").exit_code == 1
    assert regard(lib, "cameras", "remove", "street", "--yes").exit_code == 0
    assert "street" not in regard(lib, "cameras", "list").output
    gone = regard(lib, "cameras", "show", "street")
    assert gone.exit_code == 1 and "No camera called 'street'" in gone.output


@pytest.mark.slow
def test_watch_once_prints_one_json_line_per_event(tmp_path, shared_data):
    lib = tmp_path / "lib"
    clip = shared_data / "photos/face_recognition/video/short_hamilton_clip.mp4"
    r = regard(lib, "watch", clip, "--once", "--json")
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert lines, r.output
    for event in lines:
        assert {"camera", "kind", "label", "who", "start", "end", "snapshot"} <= event.keys()
        assert event["camera"] == "short_hamilton_clip" and event["kind"] == "person"
        assert 0.8 <= event["start"] <= event["end"] <= 10.1
        assert Path(event["snapshot"]).is_file()
    assert any(e["start"] < 4.0 and e["end"] > 7.5 for e in lines)  # the performer on stage
    listed = regard(lib, "events", "--since", "today", "--json")
    assert sorted(json.loads(x)["id"] for x in listed.stdout.splitlines()) == sorted(
        e["id"] for e in lines
    )
    assert "events" in regard(lib, "events").output


def test_watch_with_no_cameras_says_how_to_add_one(tmp_path):
    r = regard(tmp_path / "lib", "watch")
    assert r.exit_code == 0 and "regard cameras add NAME SOURCE" in r.output
