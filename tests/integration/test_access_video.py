"""Access reports for people in videos, with the real models on the stage clip: a still of
each of their moments, their face as it is, every other face in that frame blurred — and the
blur no larger than the heads it hides."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from regard.domain.face import Box
from regard.engine import DecodeLimits, Engine, EngineConfig
from regard.pipeline.decode import OpenedImage
from regard.pipeline.video_still import still_at

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

FR = "photos/face_recognition"
CLIP = f"{FR}/video/short_hamilton_clip.mp4"
REFS = {
    "obama": f"{FR}/identities/obama/obama.jpg",
    "lin": f"{FR}/identities/lin_manuel_miranda/lin-manuel-miranda.png",
    "alex": f"{FR}/identities/alex_lacamoire/alex-lacamoire.png",
}
#: The four other faces of the audience shot, around Obama, at 8.06 s (tests/data/video_truth.csv).
AUDIENCE = [Box(381, 81, 68, 105), Box(165, 78, 62, 96), Box(42, 64, 61, 79), Box(586, 47, 51, 75)]
OBAMA_AT_8 = Box(314, 37, 68, 104)


@pytest.fixture(scope="module")
def indexed(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("access-video")
    folder = root / "pictures"
    folder.mkdir()
    shutil.copy(shared_data / CLIP, folder / "stage.mp4")
    for name, ref in REFS.items():
        shutil.copy(shared_data / ref, folder / f"{name}{(shared_data / ref).suffix}")
    engine = Engine(root / "lib", create=True, config=EngineConfig(workers=0))
    engine.index([folder])
    yield engine, folder
    engine.close()


def report(engine: Engine, ref, out):
    result = engine.privacy.access_report(out, photo=ref)
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        files = {n: zf.read(n) for n in zf.namelist()}
    return result, manifest, files


def overlap(a: Box, b: Box) -> float:
    return a.iou(b)


def test_a_performers_report_has_a_still_of_their_moment_with_their_face(
    indexed, shared_data, tmp_path
):
    engine, _ = indexed
    result, manifest, files = report(engine, shared_data / REFS["lin"], tmp_path / "lin.zip")
    assert result["videos"] == 1 and result["stills"] >= 1
    (video,) = manifest["videos"]
    assert video["path"].endswith("stage.mp4")
    # His moment: the medium shot from 3.58 s to 7.88 s, named with its times.
    moment = next(m for m in video["moments"] if m["start"] < 7.0 and m["end"] > 5.0)
    assert moment["start"] == pytest.approx(3.58, abs=0.5)
    assert moment["end"] == pytest.approx(7.88, abs=0.5)
    assert moment["time"] == "00:00:03-00:00:07"
    still = files[moment["still"]]
    assert moment["still"].startswith("videos/") and "stage" in moment["still"]
    picture = Image.open(io.BytesIO(still))
    assert picture.size == (640, 360) and not picture.getexif()
    # His face is as it is: found again and recognised.
    faces = engine.analyser.faces_in(OpenedImage("still", still, DecodeLimits()))
    lin = engine.probes.read(shared_data / REFS["lin"]).face(None).embedding
    assert max(float(f.embedding @ lin) for f in faces) > 0.5
    summary = files["summary.html"].decode()
    assert "stage.mp4" in summary and "00:00:03-00:00:07" in summary


def test_everyone_else_in_the_still_is_blurred_and_nothing_more(indexed, shared_data, tmp_path):
    """Obama's moment in the audience shot: the four people around him are blurred (no face
    is found where they were), he is not, and the blur stays about their heads."""
    engine, _ = indexed
    _, manifest, files = report(engine, shared_data / REFS["obama"], tmp_path / "obama.zip")
    (video,) = manifest["videos"]
    (moment,) = [m for m in video["moments"] if m["start"] > 7.0]
    still = np.asarray(Image.open(io.BytesIO(files[moment["still"]])).convert("RGB"))
    original = still_at(_clip(indexed), moment["best_time"])
    assert still.shape == original.shape

    detector = engine.models.sensitive_detector(0.5)
    found = [d.box for d in detector.detect(still)]
    found_before = [d.box for d in detector.detect(original)]
    # The others were faces before and are no face now; Obama is found where he was.
    shift = _drift(moment["best_time"])
    audience = [Box(b.x + shift, b.y, b.w, b.h) for b in AUDIENCE]
    assert sum(1 for b in audience if any(overlap(b, f) > 0.3 for f in found_before)) >= 3
    assert not any(overlap(b, f) > 0.1 for b in audience for f in found)
    obama = Box(OBAMA_AT_8.x + shift, OBAMA_AT_8.y, OBAMA_AT_8.w, OBAMA_AT_8.h)
    assert any(overlap(obama, f) > 0.3 for f in found)
    # The blur covers the heads and not the picture: what changed is a small share of it,
    # and his face itself is left as it was (JPEG's own noise aside).
    # (JPEG's noise stays under 12 levels; a blurred face moves most pixels further.) The
    # five heads blurred here take 9 % of the frame.
    changed = np.abs(still.astype(int) - original.astype(int)).max(axis=2) > 12
    share = float(changed.mean())
    assert 0.03 < share < 0.2, share
    for b in audience[:3]:  # each of the people beside him is blurred over most of their face
        x, y, w, h = (int(v) for v in b.as_list())
        assert changed[y : y + h, x : x + w].mean() > 0.3
    x, y, w, h = (int(v) for v in moment["box"])
    inside = changed[y + h // 4 : y + h, x + w // 4 : x + w].mean()
    assert inside < 0.02, inside


def _clip(indexed):
    _, folder = indexed
    return folder / "stage.mp4"


def _drift(t: float) -> float:
    """The audience shot pans slowly right (about 4.5 px a second from 8.06 s)."""
    return (t - 8.06) * 4.5


def test_a_report_by_person_has_their_stills_too(indexed, tmp_path):
    """As the Rights page asks for it: by the person, not by a photo of them."""
    engine, folder = indexed
    photo = engine.catalog.photos.by_path(str(folder / "lin.png"))
    face = engine.catalog.faces.rows(photo.id)[0]["id"]
    person = engine.catalog.people.face_person(face)
    assert person is not None  # his photo and his moment are one person
    result = engine.privacy.access_report(tmp_path / "p.zip", person=f"P{person}")
    assert result["videos"] == 1 and result["photos"] == 1
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        manifest = json.loads(zf.read("manifest.json"))
        stills = sorted(n for n in zf.namelist() if n.startswith("videos/"))
    (video,) = manifest["videos"]
    # Each of his moments (the wide shot at the start may be one) has its still.
    assert stills == sorted(m["still"] for m in video["moments"])
    assert result["stills"] == len(stills) == manifest["categories_of_data"]["moments_in_videos"]
    assert any(m["start"] < 5.0 < m["end"] for m in video["moments"])
