"""Anonymised videos with the real detector, on the two videos of ../shared/data: every frame
kept at its size and rate, sound only when asked, and no face left for YuNet to find at full
frame size with a 0.3 score threshold — but for one pattern that is not a face, named below."""

from fractions import Fraction

import av
import pytest

from regard.domain.face import Box
from regard.inference.sessions import YuNetDetector
from regard.pipeline.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.video import anonymise_video

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

#: name: (path, keep_audio, frames, width, height)
VIDEOS = {
    "crowd": ("photos/facenet_pytorch/video/video.mp4", False, 105, 1920, 1080),
    "stage": ("photos/face_recognition/video/short_hamilton_clip.mp4", True, 275, 640, 360),
}
#: What YuNet still finds at 0.3, by frame, and why it is no face (each checked by eye on crops
#: of the source and the copy, 3x enlarged):
#: - frame 10: the blurred patch over a man's profile and his scarf below it; the face under it
#:   is covered (0.30);
#: - frame 83: a white shirt seen through the glass of the red door on the right, beside a
#:   blurred patch (0.36 after H.264 encoding, 0.1 before it, so the recheck cannot see it);
#: - frame 91: the back of a blonde head turned away from the camera, beside a blurred face
#:   (0.33).
NOT_FACES = {
    "crowd": {
        10: Box(491.4, 629.7, 32.4, 44.8),
        83: Box(1718.6, 614.6, 47.9, 76.2),
        91: Box(1238.6, 698.3, 43.7, 55.3),
    },
    "stage": {},
}


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
def test_no_face_is_left_in_any_frame(copies, name):
    _, out, report = copies[name]
    check = YuNetDetector(score_threshold=0.3)
    left = []
    with av.open(str(out)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            for d in check.detect(frame.to_ndarray(format="rgb24")):
                known = NOT_FACES[name].get(i)
                if known is None or d.box.iou(known) < 0.5:
                    left.append(f"frame {i}: {d.score:.2f} at {d.box.as_list()}")
    assert not left, f"{name}: {len(left)} left: " + "; ".join(left[:20])
    assert report.tracks > 0 and report.boxes_blurred > report.frames
