"""Analyse: one look at 1280 px, or (when asked) a first look at 640 px and a second at
1280 px only where it can find more; the stages timed when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from regard.domain.face import Detection
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.stages import STAGES, StageTimes
from regard.testing import ColourEmbedder, SquareDetector, draw_faces

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)


class LookingDetector(SquareDetector):
    """The square detector, noting the long side of each image it is shown."""

    def __init__(self) -> None:
        self.looks: list[int] = []

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Detection]:
        self.looks.append(max(rgb.shape[:2]))
        return super().detect(rgb)


def analyse(path: Path, first_look_side: int = 640) -> tuple[int, list[int], StageTimes]:
    detector = LookingDetector()
    settings = AnalysisSettings(first_look_side=first_look_side)
    analyser = Analyser(detector, ColourEmbedder(), settings)
    analyser.times = StageTimes()
    faces = analyser.analyse_path(path).faces
    return len(faces), detector.looks, analyser.times


def test_large_faces_are_found_in_one_look_at_640_px(tmp_path: Path) -> None:
    photo = draw_faces(
        tmp_path / "p.png", [(100, 100, 400, RED), (900, 300, 300, BLUE)], (2000, 1500)
    )
    assert analyse(photo)[:2] == (2, [640])


def test_small_faces_are_looked_for_again_at_1280_px(tmp_path: Path) -> None:
    # 60 px squares are 19 px at 640 (found, but small: a crowd may hold smaller ones) and
    # 30 px ones are 10 px (missed); at 1280 px they are 38 and 19 px.
    faces = [(100, 100, 60, RED), (400, 100, 60, BLUE), (700, 900, 30, GREEN)]
    photo = draw_faces(tmp_path / "crowd.png", faces, (2000, 1500))
    assert analyse(photo)[:2] == (3, [640, 1280])


def test_a_photo_with_no_face_at_640_px_is_looked_at_again(tmp_path: Path) -> None:
    photo = draw_faces(tmp_path / "far.png", [(500, 500, 30, RED)], (2000, 1500))
    assert analyse(photo)[:2] == (1, [640, 1280])
    empty = draw_faces(tmp_path / "empty.png", [], (2000, 1500))
    assert analyse(empty)[:2] == (0, [640, 1280])


def test_a_photo_no_larger_than_the_first_look_is_looked_at_once(tmp_path: Path) -> None:
    photo = draw_faces(tmp_path / "small.png", [], (640, 480))
    assert analyse(photo)[:2] == (0, [640])


@pytest.mark.parametrize("first", [0, 1280, 4000])
def test_one_look_at_the_largest_size_when_asked(tmp_path: Path, first: int) -> None:
    photo = draw_faces(tmp_path / "p.png", [(100, 100, 60, RED)], (2000, 1500))
    assert analyse(photo, first_look_side=first)[:2] == (1, [1280])


def test_by_default_one_look_at_1280_px(tmp_path: Path) -> None:
    photo = draw_faces(tmp_path / "p.png", [(100, 100, 400, RED)], (2000, 1500))
    detector = LookingDetector()
    Analyser(detector, ColourEmbedder()).analyse_path(photo)
    assert detector.looks == [1280]


def test_each_stage_is_timed_when_asked(tmp_path: Path) -> None:
    photo = draw_faces(tmp_path / "p.png", [(100, 100, 60, RED)], (2000, 1500))
    _n, _looks, times = analyse(photo)
    assert set(times.cpu) == set(STAGES)
    assert times.calls["detection"] == 2
    assert times.calls["decode for detection"] == 2
    assert times.calls["hashing"] == 1
    assert all(seconds >= 0 for seconds in times.cpu.values())
    total = StageTimes()
    total.add(times)
    total.add(times)
    assert total.calls["detection"] == 4
    assert total.wall["hashing"] == pytest.approx(2 * times.wall["hashing"])
