"""A recap's photo anonymised before a render shows it, with the fake detector (a solid square
is a face): faces the library never found are blurred where they may not be shown, kept faces
stay as they are, a photo with nothing to hide is not touched, a damaged one is left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from regard.errors import JobCancelledError
from regard.pipeline.recap_photo import COPY_LONG_SIDE, anonymised_photos, needs_anonymising
from regard.pipeline.recap_tiles import Tile, TileFace
from regard.testing import SquareDetector, draw_faces

RED, GREEN = (200, 20, 20), (20, 160, 20)


def pixels(path: str | Path) -> npt.NDArray[np.int64]:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int64)


def near(rgb: npt.NDArray[np.int64], colour: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
    return np.abs(rgb - np.array(colour)).max(axis=2) < 40  # type: ignore[no-any-return]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """Ann (red, known to the library) and someone indexing never found (green)."""
    return draw_faces(tmp_path / "in" / "two.png", [(30, 40, 48, RED), (200, 60, 40, GREEN)])


ANN = TileFace((30, 40, 48, 48), keep=True)


def test_a_face_the_library_never_found_is_blurred_where_unknown_faces_are_hidden(
    photo: Path, tmp_path: Path
) -> None:
    before = pixels(photo)
    done = anonymised_photos(
        [Tile(str(photo), (ANN,))], SquareDetector(), tmp_path, unknown_hidden=True
    )
    assert done.skipped == [] and done.found == 1
    [tile] = done.tiles
    assert tile.path != str(photo) and Path(tile.path).parent == tmp_path
    after = pixels(tile.path)
    assert not near(after, GREEN).any()  # the unknown face is gone
    # Ann's face is as it was (JPEG aside), and the photo beside the faces too.
    ann = (slice(40, 88), slice(30, 78))
    assert np.abs(after[ann] - before[ann]).mean() < 4
    assert np.abs(after[200:, :] - before[200:, :]).mean() < 2
    # Every face on the copy is shown as it is there; a crop holds the blurred head whole.
    assert all(f.keep for f in tile.faces) and tile.faces[0].box == ANN.box
    [head] = tile.faces[1:]
    assert head.box[0] <= 200 and head.box[0] + head.box[2] >= 240
    assert pixels(photo).tolist() == before.tolist()  # the original is never touched


def test_a_photo_with_nothing_to_hide_is_shown_as_it_is(photo: Path, tmp_path: Path) -> None:
    """A household library shows faces in no person: a photo whose faces may all be shown is
    not looked at again (and costs nothing)."""
    tile = Tile(str(photo), (ANN,))
    assert not needs_anonymising(tile, unknown_hidden=False)
    done = anonymised_photos([tile], SquareDetector(), tmp_path, unknown_hidden=False)
    assert done.tiles == [tile] and done.found == 0 and not list(tmp_path.glob("*.jpg"))


def test_a_face_that_may_not_be_shown_is_blurred_and_the_others_kept(
    photo: Path, tmp_path: Path
) -> None:
    hidden = Tile(str(photo), (TileFace((30, 40, 48, 48), keep=False),))
    done = anonymised_photos([hidden], SquareDetector(), tmp_path, unknown_hidden=False)
    after = pixels(done.tiles[0].path)
    assert not near(after, RED).any() and not near(after, GREEN).any()
    assert done.found == 1  # the green one, which the library did not know


def test_a_big_photo_is_copied_at_the_anonymisers_size_with_its_faces_moved(
    tmp_path: Path,
) -> None:
    big = draw_faces(tmp_path / "big.png", [(600, 400, 300, RED)], size=(4000, 3000))
    (tmp_path / "out").mkdir()
    done = anonymised_photos(
        [Tile(str(big), (TileFace((600, 400, 300, 300), keep=True),))],
        SquareDetector(),
        tmp_path / "out",
        unknown_hidden=True,
    )
    [tile] = done.tiles
    copy = pixels(tile.path)
    assert max(copy.shape[:2]) == COPY_LONG_SIDE
    [face] = tile.faces
    x, y, w, h = face.box
    assert (x, y, w) == (384, 256, 192)  # scaled by 2560 / 4000
    assert near(copy[y + 5 : y + h - 5, x + 5 : x + w - 5], RED).mean() > 0.95


def test_a_damaged_photo_is_left_out_with_its_reason_and_the_rest_go_on(
    photo: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "in" / "broken.jpg"
    broken.write_bytes(photo.read_bytes()[:200])
    tiles = [Tile(str(broken), (ANN,)), Tile(str(photo), (ANN,))]
    done = anonymised_photos(tiles, SquareDetector(), tmp_path, unknown_hidden=True)
    [left_out] = done.skipped
    assert left_out.path == str(broken) and "broken.jpg" in left_out.reason
    assert len(done.tiles) == 1 and done.found == 1


def test_progress_counts_the_photos_looked_at_and_cancel_stops(photo: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    tiles = [Tile(str(photo), (ANN,)), Tile(str(photo), (ANN,))]
    anonymised_photos(
        tiles,
        SquareDetector(),
        tmp_path,
        unknown_hidden=True,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(0, 2), (1, 2)]
    with pytest.raises(JobCancelledError):
        anonymised_photos(
            tiles, SquareDetector(), tmp_path, unknown_hidden=True, cancel=lambda: True
        )
