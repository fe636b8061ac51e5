"""The `regard` command, in process, on the demo sample with the real models."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regard.interfaces.cli.app import app

pytestmark = pytest.mark.slow

runner = CliRunner()


def regard(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def library(tmp_path_factory, sample_dir) -> Path:
    lib = tmp_path_factory.mktemp("cli") / "lib"
    result = regard("--library", lib, "index", sample_dir / "photos", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts"]["files_new"] == 9
    assert report["counts"]["faces_found"] >= 20
    [failure] = report["failures"]
    assert failure["path"].endswith("broken/truncated.jpg") and failure["code"] == "corrupt"
    return lib


def test_search_finds_the_three_copies_of_the_group_photo(library, sample_dir):
    result = regard("--library", library, "search", "--face", sample_dir / "probe.jpg", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    names = [Path(m["path"]).name for m in data["matches"]]
    assert sorted(names) == ["group-poker-rotated.jpg", "group-poker-small.webp", "group-poker.jpg"]
    assert data["threshold_source"] == "calibrated"
    assert all(m["score"] >= data["threshold"] for m in data["matches"])
    human = regard("--library", library, "search", "--face", sample_dir / "probe.jpg")
    assert "3 photos with this face, best first" in human.output


def test_search_with_a_group_photo_asks_which_face(library, sample_dir):
    group = sample_dir / "photos/people/group-poker.jpg"
    result = regard("--library", library, "search", "--face", group)
    assert result.exit_code == 1
    assert (
        f"error: {group}: 6 faces found. Choose one with --face-index N (0 to 5, listed left "
        "to right)."
    ) in " ".join(result.output.split())
    as_json = regard("--library", library, "search", "--face", group, "--json")
    error = json.loads(as_json.output)["error"]
    assert error["type"] == "AmbiguousProbeError" and len(error["faces"]) == 6
    chosen = regard("--library", library, "search", "--face", group, "--face-index", "5", "--json")
    assert len(json.loads(chosen.output)["matches"]) == 3


def test_search_errors_say_what_to_do(library, sample_dir, tmp_path):
    cat = sample_dir / "photos/things/cat.png"
    result = regard("--library", library, "search", "--face", cat)
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"error: {cat}: no face found. Use a photo where the face is clearly visible, at least "
        "about 40 pixels wide."
    )
    out_of_range = regard(
        "--library", library, "search", "--face", sample_dir / "probe.jpg", "--face-index", "3"
    )
    assert "--face-index 3 is out of range; the photo has 1 face (0 to 0)." in out_of_range.output
    nowhere = tmp_path / "nowhere"
    missing = regard("--library", nowhere, "status")
    assert missing.exit_code == 1
    assert f"No Regard library at {nowhere}." in " ".join(missing.output.split())


def test_status_and_errors(library):
    data = json.loads(regard("--library", library, "status", "--errors", "--json").output)
    assert data["photos"] == 10 and data["errors"] == 1 and data["indexed"] == 9
    assert {m["id"] for m in data["models"]} == {"yunet-2023mar-int8bq", "sface-2021dec-int8bq"}
    assert data["failures"][0]["code"] == "corrupt"
    assert data["size_bytes"] > 0
    text = regard("--library", library, "status", "--errors").output
    assert "Files that could not be indexed (1)" in text and "truncated.jpg" in text


def test_faces_and_photos_listings(library, sample_dir):
    faces = json.loads(
        regard(
            "--library", library, "faces", sample_dir / "photos/people/group-poker.jpg", "--json"
        ).output
    )
    assert [f["index"] for f in faces["faces"]] == list(range(6))
    xs = [f["box"][0] for f in faces["faces"]]
    assert xs == sorted(xs)  # numbered left to right
    photos = json.loads(regard("--library", library, "photos", "--with-faces", "--json").output)
    assert {Path(p["path"]).name for p in photos} >= {"group-poker.jpg", "astronaut.png"}
    assert all(p["faces"] > 0 for p in photos)


def test_reindex_reports_unchanged(library, sample_dir):
    result = regard("--library", library, "index", sample_dir / "photos")
    assert result.exit_code == 0
    assert "10 unchanged" in result.output and "0 new" in result.output


def test_index_a_folder_that_does_not_exist(tmp_path):
    result = regard("--library", tmp_path / "lib", "index", tmp_path / "nope", "--json")
    data = json.loads(result.output)
    assert data["failures"] == [
        {
            "path": str(tmp_path / "nope"),
            "code": "unreadable",
            "message": f"{tmp_path / 'nope'}: no such file or folder.",
        }
    ]
