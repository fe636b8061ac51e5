"""Finding and following faces in videos with the real models: a video made from photos of
known people (exact truth), its rotated and truncated copies, and the two real clips of
../shared/data against the by-eye truth in tests/data/video_truth.csv."""

import numpy as np
import pytest

from regard.errors import CorruptVideoError
from regard.inference.sessions import SFaceEmbedder, YuNetDetector
from regard.pipeline.footage import analyse_video
from tests.footage_maker import TWO_PEOPLE, photo_faces, truncate, write_video
from tests.footage_scoring import read_truth, score_made, score_real

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

STAGE = "photos/face_recognition/video/short_hamilton_clip.mp4"
CROWD = "photos/facenet_pytorch/video/video.mp4"


@pytest.fixture(scope="module")
def models():
    return YuNetDetector(), SFaceEmbedder()


@pytest.fixture(scope="module")
def made(shared_data, analyser, tmp_path_factory):
    """The two-people video (640x360, 8 s, a key frame a second) as it is and stored on its
    side with a display rotation, and the truth of both."""
    out = tmp_path_factory.mktemp("made")
    faces = photo_faces(shared_data, analyser)
    truth = write_video(out / "two.mp4", TWO_PEOPLE, faces, shared_data)
    write_video(out / "two-sideways.mp4", TWO_PEOPLE, faces, shared_data, rotation=90)
    return out, truth


@pytest.fixture(scope="module")
def analysed(made, models):
    out, _ = made
    return {name: analyse_video(out / f"{name}.mp4", *models) for name in ("two", "two-sideways")}


def test_two_people_give_two_appearances_with_their_time_ranges(made, analysed):
    _, truth = made
    result = analysed["two"]
    score = score_made(result.appearances, truth)
    assert not score.mixed and score.unmatched == 0
    assert len(result.appearances) == 2
    visible = {v.person: (v.start, v.end) for v in score.visible}
    assert set(visible) == {"obama", "kit_harington"}
    obama, kit = result.appearances  # by start time: Obama comes first
    for found, person in ((obama, "obama"), (kit, "kit_harington")):
        start, end = visible[person]
        assert found.start == pytest.approx(start, abs=0.5), person
        assert found.end == pytest.approx(end, abs=0.5), person
    assert obama.overlaps(kit)
    assert score.recall == 1.0


def test_a_video_stored_on_its_side_gives_upright_boxes(made, analysed):
    """Stored 360x640 with a display matrix turning it a quarter: analysed upright, its
    boxes are where the faces are in the upright picture, as in the unturned copy."""
    _, truth = made
    turned, plain = analysed["two-sideways"], analysed["two"]
    assert (turned.width, turned.height, turned.rotation) == (640, 360, 90)
    assert score_made(turned.appearances, truth).recall == 1.0
    assert not score_made(turned.appearances, truth).mixed
    for a, b in zip(turned.appearances, plain.appearances, strict=True):
        assert a.best_box.iou(b.best_box) > 0.8 or a.box_at(b.best_time).iou(b.best_box) > 0.8
        assert a.start == pytest.approx(b.start, abs=0.05)


def test_a_truncated_video_gives_a_clear_error(made, tmp_path):
    out, _ = made
    cut = truncate(out / "two.mp4", tmp_path / "cut.mp4", keep=0.5)
    with pytest.raises(CorruptVideoError) as e:
        analyse_video(cut, YuNetDetector(), SFaceEmbedder())
    assert str(e.value) == (
        f"{cut}: the MP4/MOV file is incomplete or damaged (its index cannot be read; this "
        "happens when a recording or a copy was cut off). Restore the file from a backup or "
        "copy it from the camera again."
    )


@pytest.fixture(scope="module")
def stage(shared_data, models):
    return analyse_video(shared_data / STAGE, *models)


def test_the_stage_clip_everyone_visible_is_found_and_nobody_is_mixed(stage):
    score = score_real(stage.appearances, read_truth()[STAGE])
    assert not score.mixed
    assert [f"{v.person} {v.coverage:.0%}" for v in score.missed()] == []
    assert (stage.width, stage.height, stage.rotation) == (640, 360, 0)
    assert stage.duration == pytest.approx(10.02, abs=0.01)
    assert stage.frames_decoded < 275


def test_the_stage_clips_performers_are_recognised_from_their_reference_photos(
    stage, shared_data, analyser
):
    """Their appearances' embeddings match their photos (the photo pipeline's space) better
    than anyone else's photos do, at the calibrated threshold."""
    refs = {}
    for person in ("lin_manuel_miranda", "alex_lacamoire", "obama", "biden", "kit_harington"):
        folder = shared_data / "photos/face_recognition/identities" / person
        refs[person] = [
            analyser.analyse_path(p).faces[0].embedding for p in sorted(folder.iterdir())
        ]
    threshold = 0.3592  # the lowest calibrated threshold for SFace (lfw-dev, FMR 1e-3)
    truth = {"lin_manuel_miranda": (3.58, 7.88), "obama": (7.88, 10.02)}
    for person, (start, end) in truth.items():
        mine = [a for a in stage.appearances if a.start < end and a.end > start]
        best = {
            p: max(float(f.face.embedding @ r) for a in mine for f in a.faces for r in vecs)
            for p, vecs in refs.items()
        }
        assert max(best, key=best.get) == person, best
        assert best[person] >= threshold, best


def test_the_same_video_gives_the_same_appearances(shared_data, models, stage):
    again = analyse_video(shared_data / STAGE, *models)
    assert flat(again) == flat(stage)


def flat(result):
    return [
        (
            a.start,
            a.end,
            [(p.time, p.box) for p in a.path],
            [(f.time, f.face.detection, f.face.embedding.tobytes()) for f in a.faces],
        )
        for a in result.appearances
    ]


def test_the_crowd_clip(shared_data, models):
    result = analyse_video(shared_data / CROWD, *models)
    score = score_real(result.appearances, read_truth()[CROWD])
    assert not score.mixed
    assert [f"{v.person} {v.coverage:.0%}" for v in score.missed()] == []
    assert (result.width, result.height) == (1920, 1080)
    assert all(np.isfinite(a.best.face.embedding).all() for a in result.appearances)


def test_every_appearance_carries_vectors_an_opt_out_gate_can_drop(analysed):
    for a in analysed["two"].appearances:
        assert 1 <= len(a.faces) <= 3
        assert all(f.face.model_id == SFaceEmbedder.spec.id for f in a.faces)
        assert all(abs(float(np.linalg.norm(f.face.embedding)) - 1) < 1e-3 for f in a.faces)
