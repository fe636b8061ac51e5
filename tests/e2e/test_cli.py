"""The `regard` command, in process, on the demo sample with the real models."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regard.interfaces.cli.main import app

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


def test_people_commands(library, sample_dir):
    people = json.loads(regard("--library", library, "people", "--json").output)
    # The sample's group photo is there three times: six people of (up to) three faces each;
    # one face in the half-size copy is too small and tilted to be matched with confidence.
    assert len(people) == 6 and all(2 <= p["faces"] <= 3 for p in people)
    assert sum(p["faces"] for p in people) >= 17
    probe_person = json.loads(
        regard("--library", library, "search", "--face", sample_dir / "probe.jpg", "--json").output
    )["matches"][0]["faces"][0]["face_id"]
    lisa = next(
        p["person"]
        for p in people
        if any(
            f["face_id"] == probe_person
            for ph in json.loads(
                regard("--library", library, "people", "show", p["person"], "--json").output
            )["photo_list"]
            for f in ph["faces"]
        )
    )
    named = regard("--library", library, "people", "name", lisa, "Lisa")
    assert named.exit_code == 0 and f"Named {lisa} (Lisa): 3 faces in 3 photos." in named.output
    shown = json.loads(regard("--library", library, "people", "show", "lisa", "--json").output)
    assert shown["name"] == "Lisa" and shown["confirmed"] and shown["photos"] == 3
    found = json.loads(regard("--library", library, "search", "--person", "Lisa", "--json").output)
    assert found["photos"] == 3
    other = next(p["person"] for p in people if p["person"] != lisa)
    refused = regard("--library", library, "people", "merge", "Lisa", other)
    assert refused.exit_code == 1 and "one person cannot be twice in one photo" in refused.output
    face = shown["photo_list"][0]["faces"][0]["face"]
    split = regard("--library", library, "people", "split", "Lisa", "--faces", face, "--json")
    assert json.loads(split.output)["faces"] == 1
    again = json.loads(regard("--library", library, "people", "recluster", "--json").output)
    assert again["faces"] >= 21
    shown = json.loads(regard("--library", library, "people", "show", "Lisa", "--json").output)
    assert shown["faces"] == 2  # the split-off face did not come back
    text = regard("--library", library, "people").output
    assert "Lisa" in text and "unnamed" in text
    both = regard(
        "--library", library, "search", "--face", sample_dir / "probe.jpg", "--person", "Lisa"
    )
    assert both.exit_code == 1
    assert "Search for one thing: --face PHOTO or --person NAME." in both.output


def test_people_history_undo_and_delete(library):
    history = json.loads(regard("--library", library, "people", "history", "--json").output)
    split = next(h for h in history if h["action"] == "split")
    assert split["can_undo"] and split["text"].startswith("1 face of Lisa (P")
    undone = regard("--library", library, "people", "undo", str(split["entry"]))
    assert undone.exit_code == 0 and f"Undone #{split['entry']}: 1 face of Lisa" in undone.output
    shown = json.loads(regard("--library", library, "people", "show", "Lisa", "--json").output)
    assert shown["faces"] == 3  # back as it was before the split
    text = " ".join(regard("--library", library, "people", "history").output.split())
    assert "undone" in text and "regard people undo" not in text.split("undone")[0][-40:]
    again = regard("--library", library, "people", "undo", str(split["entry"]))
    assert again.exit_code == 1 and "was undone already" in again.output
    people = json.loads(regard("--library", library, "people", "--json").output)
    other = next(p["person"] for p in people if not p["name"])
    regard("--library", library, "people", "name", other, "Ray")
    # Deleting asks first (here: no terminal, so --yes is needed).
    asked = regard("--library", library, "people", "delete", "Ray")
    assert asked.exit_code == 1 and "Add --yes to confirm" in " ".join(asked.output.split())
    deleted = regard("--library", library, "people", "delete", "Ray", "--yes", "--json")
    out = json.loads(deleted.output)
    assert out["deleted"] == other and out["name"] == "Ray" and out["faces_unassigned"] >= 2
    names = {p["name"] for p in json.loads(regard("--library", library, "people", "--json").output)}
    assert "Ray" not in names


def test_naming_any_face_from_the_command_line(library):
    def run(*args: str) -> str:
        result = regard("--library", library, "people", *args)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    queue = json.loads(run("who", "--json"))
    assert queue["total"] >= 1
    human = run("who")
    n = queue["total"]
    assert f"{n} group{'' if n == 1 else 's'} of unnamed faces" in human
    assert " 1 faces" not in human and " 1 photos" not in human
    # Faces of two different photos, each given a name: a new person, then the same one.
    seen: dict[int, int] = {}
    for g in queue["groups"]:
        for s in g["seen_in"]:
            seen.setdefault(s["photo_id"], s["face_id"])
    first, second = list(seen.values())[:2]
    named = json.loads(run("name-face", f"F{first}", "Cli Person", "--json"))
    assert named["name"] == "Cli Person" and named["faces"] == [f"F{first}"]
    assert f"F{second} is Cli Person now." in run("name-face", f"F{second}", "cli person")
    assert "is not Cli Person, and is never grouped with them again" in run(
        "someone-else", f"F{second}"
    )
    assert "Undone" in run("undo")
    assert "Cover of" in run("cover", "Cli Person", f"F{second}")
    assert "Hidden:" in run("hide", "Cli Person")
    assert "Shown again:" in run("hide", "Cli Person", "--show")
    assert f"F{first} is not a person" in run("not-a-person", f"F{first}")
    refused = regard("--library", library, "people", "someone-else", "F999999")
    assert refused.exit_code == 1 and "No face 'F999999'" in refused.output
