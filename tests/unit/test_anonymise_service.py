"""Anonymising a photo handed in, through the engine's door (`regard.engine.anonymise`), with
the fake models: no library, every face blurred, the user's mistakes told in their words."""

from pathlib import Path

import pytest

from regard.engine import AnonymisedPhoto, anonymise
from regard.errors import RegardError
from regard.testing import FakeModels, draw_faces

RED, BLUE = (200, 20, 20), (20, 20, 200)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return draw_faces(tmp_path / "two.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])


def test_a_photo_comes_back_with_every_face_blurred(photo: Path, tmp_path: Path) -> None:
    copy = anonymise(photo, tmp_path / "safe.png", models=FakeModels())
    assert isinstance(copy, AnonymisedPhoto)
    assert copy.as_dict() == {
        "source": str(photo),
        "output": str(tmp_path / "safe.png"),
        "kind": "photo",
        "faces_blurred": 2,
    }
    assert (tmp_path / "safe.png").is_file()


def test_a_photo_has_no_sound_to_keep(photo: Path, tmp_path: Path) -> None:
    with pytest.raises(RegardError) as err:
        anonymise(photo, tmp_path / "safe.png", keep_audio=True, models=FakeModels())
    assert str(err.value) == "--keep-audio is for videos; a photo has no sound."
    assert not (tmp_path / "safe.png").exists()


def test_an_unknown_blur_method_is_named(photo: Path, tmp_path: Path) -> None:
    with pytest.raises(RegardError) as err:
        anonymise(photo, tmp_path / "safe.png", method="smudge", models=FakeModels())
    assert str(err.value) == "'smudge' is not a blur method: use one of gaussian, mosaic, solid."


def test_a_file_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jpg"
    with pytest.raises(RegardError) as err:
        anonymise(missing, tmp_path / "safe.jpg", models=FakeModels())
    assert str(err.value) == f"{missing}: cannot be read (No such file or directory)."
