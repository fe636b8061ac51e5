"""Opt-out (`OptOutRegistry`, through the engine) with the fake models: the faces it takes now
and later, what is kept of the selfie, blurring, the list, and the selfies refused."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig
from regard.errors import AmbiguousProbeError, NoFaceInProbeError, OptedOutError
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    return folder


@pytest.fixture
def engine(tmp_path: Path, album: Path) -> Iterator[Engine]:
    config = EngineConfig(workers=0, grouping=PARAMS)
    with Engine(tmp_path / "lib", create=True, config=config, models=FakeModels()) as e:
        e.index([album])
        e.people.group_pending()
        yield e


def states(engine: Engine) -> dict[str, list[tuple[str, int | None]]]:
    """Each photo's faces: (biometric state, person), by file name."""
    out: dict[str, list[tuple[str, int | None]]] = {}
    for r in engine.catalog.faces.rows():
        out.setdefault(Path(r["path"]).name, []).append((r["biometric"], r["person_id"]))
    return out


def texture(jpeg: bytes, box: tuple[int, int, int, int]) -> float:
    img = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), float)
    x, y, w, h = box
    return float(np.abs(np.diff(img[y + 3 : y + h - 3, x + 3 : x + w - 3], axis=1)).mean())


def changed(a: bytes, b: bytes, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    first, second = (np.asarray(Image.open(io.BytesIO(j)).convert("RGB"), float) for j in (a, b))
    return float(np.abs(first - second)[y : y + h, x : x + w].mean())


def test_an_opt_out_takes_every_matching_face_now_and_later(
    engine: Engine, album: Path, tmp_path: Path
) -> None:
    red = engine.catalog.people.face_person(
        next(r["id"] for r in engine.catalog.faces.rows() if r["path"].endswith("b.png"))
    )
    engine.people.name(f"P{red}", "Ann")
    selfie = draw_faces(tmp_path / "me.png", [(60, 60, 40, RED)])
    result = engine.privacy.optouts.add(selfie, note="asked on 2026-11-20")
    assert result | {"threshold": 0} == {
        "optout": 1,
        "faces_excluded": 2,
        "vectors_deleted": 2,
        "people_affected": 1,
        "threshold": 0,
    }
    blue = states(engine)["c.png"][0][1]
    assert states(engine) == {
        "a.png": [("opted_out", None), ("kept", blue)],
        "b.png": [("opted_out", None)],
        "c.png": [("kept", blue)],
    }
    assert "Ann" not in {p["name"] for p in engine.people.summaries()}
    assert engine.search_face(selfie).matches == ()
    blue_selfie = draw_faces(tmp_path / "blue.png", [(60, 60, 40, BLUE)])
    assert len(engine.search_face(blue_selfie).matches) == 2  # the others are found as before
    # A new photo of hers is stored without a vector, in no person.
    draw_faces(album / "new.png", [(70, 70, 40, RED)])
    engine.index([album])
    engine.people.group_pending()
    assert states(engine)["new.png"] == [("opted_out", None)]
    assert engine.search_face(selfie).matches == ()
    # Listed with the faces it excludes; of the selfie, only its hash is kept.
    [entry] = engine.privacy.optouts.list()
    assert (entry["optout"], entry["note"], entry["faces_excluded"]) == (
        1,
        "asked on 2026-11-20",
        3,
    )
    [row] = engine.catalog.privacy.optouts()
    assert row["source_hash"] == hashlib.sha256(selfie.read_bytes()).hexdigest()
    [added] = [a for a in engine.privacy.audit_entries() if a["action"] == "optout-add"]
    assert added["subject"] == "optout#1" and added["probe_hash"] == row["source_hash"]


def test_an_opted_out_face_is_blurred_in_thumbnails_and_its_crop_refused(
    engine: Engine, tmp_path: Path
) -> None:
    photo = next(p for p in engine.catalog.photos.all() if p.path.endswith("a.png"))
    # The display copy: at the photo's own size (320 px), where a face's texture is plain.
    before = engine.thumbnails.get(photo.id, 1024)
    red_box, blue_box = (10, 10, 40, 40), (100, 10, 40, 40)
    sharp = texture(before, red_box)
    engine.privacy.optouts.add(draw_faces(tmp_path / "me.png", [(60, 60, 40, RED)]))
    after = engine.thumbnails.get(photo.id, 1024)  # made again: the opt-out dropped the old one
    assert sharp > 4 and texture(after, red_box) < sharp / 2  # the red face lost its detail
    assert changed(before, after, red_box) > 4
    assert changed(before, after, blue_box) < 0.5  # and the blue one is as it was
    red_face = next(r["id"] for r in engine.catalog.faces.rows(photo.id) if r["x"] < 50)
    with pytest.raises(OptedOutError) as info:
        engine.thumbnails.face_crop(red_face)
    assert str(info.value) == "This person opted out: their face is not shown."


def test_an_opt_out_while_a_thumbnail_is_made_leaves_none_kept_unblurred(
    engine: Engine, tmp_path: Path
) -> None:
    """A server makes pictures without its lock (it reads the catalog under it, then decodes):
    an opt-out landing between the read and the keeping must not leave a picture made
    before it in the cache, where every later visit would find the face unblurred."""
    photo = next(p for p in engine.catalog.photos.all() if p.path.endswith("a.png"))
    red_box = (10, 10, 40, 40)
    holds = 0

    @contextmanager
    def hold() -> Iterator[None]:
        nonlocal holds
        holds += 1
        if holds == 2:  # the thumbnail decoded (unblurred), about to be kept: an opt-out lands
            with engine.lock:
                engine.privacy.optouts.add(draw_faces(tmp_path / "me.png", [(60, 60, 40, RED)]))
        with engine.lock:
            yield

    sent = engine.thumbnails.get_held(photo.id, 1024, hold)
    assert holds == 2 and texture(sent, red_box) > 4  # made before the opt-out: sent once
    assert not engine.thumbnails.path(photo.id, 1024).exists()  # but not kept
    again = engine.thumbnails.get(photo.id, 1024)
    assert texture(again, red_box) < texture(sent, red_box) / 2  # the next one is blurred
    assert engine.thumbnails.path(photo.id, 1024).exists()  # and kept


def test_someone_not_in_the_library_yet_is_kept_out_when_they_arrive(
    engine: Engine, album: Path, tmp_path: Path
) -> None:
    selfie = draw_faces(tmp_path / "me.png", [(60, 60, 40, GREEN)])
    result = engine.privacy.optouts.add(selfie)
    assert (result["faces_excluded"], result["people_affected"]) == (0, 0)
    draw_faces(album / "d.png", [(20, 20, 40, GREEN), (120, 20, 40, RED)])
    engine.index([album])
    assert [s for s, _p in states(engine)["d.png"]] == ["opted_out", "kept"]


def test_a_selfie_must_show_one_face(engine: Engine, tmp_path: Path) -> None:
    two = draw_faces(tmp_path / "two.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    with pytest.raises(AmbiguousProbeError) as info:
        engine.privacy.optouts.add(two)
    assert "two.png: 2 faces found. Choose one with --face-index N (0 to 1" in str(info.value)
    none = draw_faces(tmp_path / "none.png", [])
    with pytest.raises(NoFaceInProbeError) as nothing:
        engine.privacy.optouts.add(none)
    assert "none.png: no face found." in str(nothing.value)
    assert engine.privacy.optouts.list() == []
    # The face chosen by its number: the blue one, second from the left.
    assert engine.privacy.optouts.add(two, face_index=1)["faces_excluded"] == 2
    assert [s for s, _p in states(engine)["c.png"]] == ["opted_out"]
