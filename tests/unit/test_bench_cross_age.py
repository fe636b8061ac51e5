"""The counting of `bench/cross_age.py` (the cross-age measurement), on hand-made scores."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from cross_age import count, first_rank, main, ranks, same_name, scan


def masks(*rows: str) -> np.ndarray:
    return np.array([[c == "x" for c in r] for r in rows])


def test_count_splits_the_persons_photos_by_group_and_counts_strangers() -> None:
    # Library columns: 0-1 the person's same-group photos, 2-3 their other-group photos,
    # 4-5 strangers, 6 an unlabelled face (neither).
    same = masks("xx.....", "xx.....")
    other = masks("..xx...", "..xx...")
    stranger = masks("....xx.", "....xx.")
    got = masks("x.x.x.x", "xx.....")
    c = count(got, same, other, stranger)
    assert (c.searches, c.strangers) == (2, 1)  # the unlabelled face is not a stranger
    assert (c.same_found, c.same_photos) == (3, 4)
    assert (c.other_found, c.other_photos) == (1, 4)
    f = c.figures()
    assert f["strangers_per_search"] == 0.5
    assert f["recall_same_group"] == 0.75
    assert f["recall_other_groups"] == 0.25
    assert c.with_other == 2
    assert c.missed_other == 0 and f["possible_right_when_missed"] is None  # no tier given


def test_the_second_tier_counts_the_probes_that_missed_every_other_group_photo() -> None:
    same = masks("x....", "x....", "x....")
    other = masks(".x...", ".x...", ".x...")
    stranger = masks("..xxx", "..xxx", "..xxx")
    got = masks(".x...", "x....", "x....")  # the first found its other-group photo
    top = np.array([[2, 3], [1, 2], [3, 4]])  # the possible tier's columns
    shown = np.array([[True, True], [True, False], [True, True]])
    c = count(got, same, other, stranger, top, shown)
    assert c.missed_other == 2  # probes 2 and 3
    assert c.possible_right == 1  # probe 2 has column 1 among its possible
    assert c.possible_strangers == 2  # probe 3's two (probe 1 did not miss: not counted)
    assert c.figures()["possible_right_when_missed"] == 0.5


def test_a_person_without_other_group_photos_adds_no_cross_group_figure() -> None:
    same = masks("x..", "x..")
    other = masks("...", "...")
    stranger = masks(".xx", ".xx")
    got = masks("xx.", "x..")
    c = count(got, same, other, stranger, np.array([[2], [1]]), np.ones((2, 1), dtype=bool))
    f = c.figures()
    assert f["recall_other_groups"] is None
    assert (c.with_other, c.missed_other) == (0, 0)
    assert f["recall_same_group"] == 1.0 and f["strangers_per_search"] == 0.5


def test_first_rank_counts_the_candidates_above_the_best_mate() -> None:
    raw = np.array(
        [
            [0.9, 0.5, 0.3, 0.2],
            [0.1, 0.5, 0.6, 0.4],
            [0.9, 0.8, 0.7, 0.6],
            [0.9, 0.8, 0.7, 0.6],
        ],
        dtype=np.float32,
    )
    candidates = masks("xxxx", "xxxx", ".xxx", "xxxx")
    mates = masks(".x..", ".x.x", "..x.", "....")
    rank = first_rank(raw, candidates, mates)
    # Row 0: one candidate (0.9) above the mate; row 1: 0.6 above the best mate (0.5); row 2:
    # 0.9 is no candidate, 0.8 is; row 3: no mate.
    assert rank.tolist() == [1, 1, 1, -1]
    r = ranks(np.array([0, 0, 3, 7, -1]))
    assert r == {"probes": 4, "top1": 0.5, "top5": 0.75}
    assert ranks(np.array([-1])) == {"probes": 0, "top1": None, "top5": None}


def test_scan_reads_person_group_image_folders(tmp_path: Path) -> None:
    for rel in ("ann/child/1.jpg", "ann/adult/2.JPG", "bob/20-29/a.png", "bob/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "bob" / "20-29" / "readme.txt").write_text("not an image")
    found = [(p.relative_to(tmp_path).as_posix(), who, g) for p, who, g in scan(tmp_path)]
    assert found == [
        ("ann/adult/2.JPG", "ann", "adult"),
        ("ann/child/1.jpg", "ann", "child"),
        ("bob/20-29/a.png", "bob", "20-29"),
    ]
    assert same_name("Ann_Smith") == same_name("ann smith") == same_name("Ann-Smith")


def test_a_folder_not_laid_out_by_person_and_group_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "1.jpg").write_bytes(b"")  # no group folder
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path)])
    assert str(stop.value) == (
        f"no images found in {tmp_path}: a cross-age set is laid out as "
        "<person>/<group>/<image> (e.g. ann/child/1.jpg, ann/adult/2.jpg)"
    )
