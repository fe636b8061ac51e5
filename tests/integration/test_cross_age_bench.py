"""`bench/cross_age.py` end to end, on a stand-in made of lfw-dev (no cross-age face set is on
this machine): the command runs and its figures hold together. Real models, a small library
(`--quick`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import cross_age
from cross_age import GLOBAL, NAMED, main, pseudo_set

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


def test_the_cross_age_measurement_runs_on_a_stand_in_set(
    tmp_path: Path,
    shared_data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "set"
    people = pseudo_set(shared_data, folder, 6)
    assert len(people) == 6
    # A seventh person with every photo in one group: nothing to find across the groups.
    solo = next(
        d
        for d in sorted((shared_data / "lfw-dev").iterdir())
        if d.name not in people and d.name != "meta" and len(list(d.glob("*.jpg"))) >= 4
    )
    for img in sorted(solo.glob("*.jpg")):
        (folder / solo.name / "solo").mkdir(parents=True, exist_ok=True)
        (folder / solo.name / "solo" / img.name).symlink_to(img)

    # An image in a person's folder but in no group is said to be ignored.
    (folder / people[0] / "loose.jpg").symlink_to(next(solo.glob("*.jpg")))

    main([str(folder), "--quick", "--work", str(tmp_path / "work")])
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "work" / "cross_age.json").read_text())

    # The set's people are not in the library twice (as lfw-dev faces and as the set's).
    assert sorted(doc["lfw_dev_people_left_out"]) == sorted([*people, solo.name])
    groups = doc["groups"]
    assert set(groups) == {"all probes", "first", "second", "solo"}
    assert groups["all probes"]["searches"] == sum(
        groups[g]["searches"] for g in ("first", "second", "solo")
    )
    skipped = doc["skipped"]
    assert groups["all probes"]["searches"] == skipped["images"] - (
        skipped["no_face"] + skipped["several_faces"] + skipped["unreadable"]
    )
    for name, g in groups.items():
        glob = g[GLOBAL]["counts"]
        for rule in (*NAMED, GLOBAL):
            c, f = g[rule]["counts"], g[rule]
            assert c["searches"] == g["searches"]
            assert 0 <= c["same_found"] <= c["same_photos"]
            assert 0 <= c["other_found"] <= c["other_photos"]
            assert 0 <= c["possible_right"] <= c["missed_other"] <= c["with_other"]
            for key in ("recall_same_group", "recall_other_groups"):
                assert f[key] is None or 0.0 <= f[key] <= 1.0
            assert f["strangers_per_search"] == c["strangers"] / c["searches"]
            # The shipped rule is never looser than the global threshold.
            assert c["strangers"] <= glob["strangers"]
            assert c["same_found"] + c["other_found"] <= glob["same_found"] + glob["other_found"]
        if name == "solo":
            assert g[GLOBAL]["recall_other_groups"] is None
            assert g[GLOBAL]["counts"]["other_photos"] == 0
            assert g["rank_among_other_group_faces"]["probes"] == 0
        else:
            assert g[GLOBAL]["counts"]["other_photos"] > 0
            # The same people's photos (not ages): the first other-group result is theirs.
            assert g["rank_among_other_group_faces"]["top5"] >= 0.5
    assert "ignored: 1 images in a person's folder but in no group folder" in out

    # Searched a few probes at a time (as a large set is), the figures are the same.
    monkeypatch.setattr(cross_age, "CHUNK", 7)
    main([str(folder), "--quick", "--work", str(tmp_path / "work")])
    again = json.loads((tmp_path / "work" / "cross_age.json").read_text())
    assert groups["all probes"]["searches"] > 7
    assert again["groups"] == groups
    assert "solo (" in out and "no probe of this group has a photo of them in another" in out
    assert GLOBAL in out and all(label in out for label in NAMED)
