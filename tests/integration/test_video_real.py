"""Anonymised videos with the real detector, on the two videos of ../shared/data: every frame
kept at its size and rate, sound only when asked, and no face found again where there was one
(YuNet at 0.5, the bar of issue 9, at full frame size: a detection in the copy centred in the
head of a face YuNet finds in the source frame) — but for one pattern that is not a face, named
below."""

from fractions import Fraction

import av
import pytest

from regard.domain.face import Box
from regard.inference.sessions import YuNetDetector
from regard.pipeline.anonymise.blur import head_box
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.anonymise.video import anonymise_video

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

#: name: (path, keep_audio, frames, width, height)
VIDEOS = {
    "crowd": ("photos/facenet_pytorch/video/video.mp4", False, 105, 1920, 1080),
    "stage": ("photos/face_recognition/video/short_hamilton_clip.mp4", True, 275, 640, 360),
}
#: What YuNet still finds at 0.5 where it found a "face" in the source, by frame, and why it is
#: no face (checked by eye on crops of the source and the copy, 2x enlarged):
#: - crowd, frame 42: the face of a beast in the coat of arms on the wall (0.51 in the source,
#:   0.50 in the copy; Regard's own look, on the frame as decoded to YUV, scored it under 0.5
#:   and a second look at it, enlarged, found no face);
#: - crowd, frame 78: a row of shelf lights behind a man's shoulder (0.53 in the source, 0.50
#:   to 0.59 in the copy; the same: under 0.5 to Regard, and no face at a second look).
NOT_FACES = {
    "crowd": {42: Box(1031.5, 218.9, 20.7, 25.9), 78: Box(1028.5, 710.7, 37.5, 40.7)},
    "stage": {},
}
JUDGE_SCORE = 0.5


@pytest.fixture(scope="module")
def copies(shared_data, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("videos")
    detector = YuNetDetector(score_threshold=ANONYMISE_SCORE_THRESHOLD)
    done = {}
    for name, (rel, keep_audio, *_rest) in VIDEOS.items():
        out = out_dir / f"{name}.mp4"
        report = anonymise_video(shared_data / rel, out, detector, keep_audio=keep_audio)
        done[name] = (shared_data / rel, out, report)
    return done


@pytest.mark.parametrize("name", VIDEOS)
def test_every_frame_is_kept_at_its_size_and_rate(copies, name):
    source, out, report = copies[name]
    _, _, frames, width, height = VIDEOS[name]
    assert (report.frames, report.width, report.height) == (frames, width, height)
    with av.open(str(source)) as a, av.open(str(out)) as b:
        sa, sb = a.streams.video[0], b.streams.video[0]
        assert Fraction(sb.average_rate) == Fraction(sa.average_rate)
        decoded = [f for f in b.decode(sb)]
    assert len(decoded) == frames
    assert {(f.width, f.height) for f in decoded} == {(width, height)}


def test_sound_is_dropped_unless_asked_for(copies):
    crowd_source, crowd, _ = copies["crowd"]
    stage_source, stage, report = copies["stage"]
    with av.open(str(crowd_source)) as c:
        assert c.streams.audio, "the crowd video has sound, which must be dropped"
    with av.open(str(crowd)) as c:
        assert not c.streams.audio
    assert report.audio_kept
    with av.open(str(stage_source)) as a, av.open(str(stage)) as b:
        sa, sb = a.streams.audio[0], b.streams.audio[0]
        assert sb.codec_context.name == sa.codec_context.name
        assert sb.duration * sb.time_base == pytest.approx(sa.duration * sa.time_base, abs=0.05)


@pytest.mark.parametrize("name", VIDEOS)
def test_no_face_is_found_again_where_there_was_one(copies, name):
    source, out, report = copies[name]
    check = YuNetDetector(score_threshold=JUDGE_SCORE)
    left = []
    with av.open(str(source)) as a, av.open(str(out)) as b:
        pairs = zip(a.decode(video=0), b.decode(video=0), strict=True)
        for i, (before, after) in enumerate(pairs):
            heads = [head_box(d.box, d.landmarks) for d in check.detect(rgb(before))]
            for d in check.detect(rgb(after)):
                if not where_there_was_a_face(d.box, heads):
                    continue
                known = NOT_FACES[name].get(i)
                if known is None or d.box.iou(known) < 0.5:
                    left.append(f"frame {i}: {d.score:.2f} at {d.box.as_list()}")
    assert not left, f"{name}: {len(left)} left: " + "; ".join(left[:20])
    assert report.tracks > 0 and report.boxes_blurred > report.frames


def rgb(frame):
    return frame.to_ndarray(format="rgb24")


def where_there_was_a_face(box, heads):
    """`box` centred in one of `heads` and at most half as big again (a face found again, not
    a detection of a group of blurred heads)."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return any(
        h.x <= cx <= h.x + h.w
        and h.y <= cy <= h.y + h.h
        and max(box.w, box.h) <= 1.5 * max(h.w, h.h)
        for h in heads
    )
