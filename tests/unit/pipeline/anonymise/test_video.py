"""Video anonymisation on small synthetic videos, with the fake square detector: frames, size,
timing, audio, metadata, rotation, tracking through missed frames, atomic writes and the
errors a user sees. (The real models on real videos: tests/integration/test_video_real.py.)"""

import hashlib
from fractions import Fraction

import av
import numpy as np
import pytest

from regard.domain.face import Box
from regard.errors import CorruptVideoError, OutputError, UnreadableFileError, UnsupportedVideoError
from regard.pipeline.anonymise.blur import CoverRules
from regard.pipeline.anonymise.redact import RedactSettings, Target, keep_zone
from regard.pipeline.anonymise.video import VideoProgress, VideoSettings, anonymise_video
from regard.testing import SquareDetector

W, H, FRAMES, FPS = 320, 240, 30, 25
SIDE = 40  # the "face": a textured dark square


def face_at(frame):
    """Where the square is in `frame` (it walks right, 4 px a frame)."""
    return 40 + 4 * frame, 90


def draw(frame, rng):
    img = np.full((H, W, 3), 255, np.uint8)
    x, y = face_at(frame)
    texture = rng.integers(0, 120, (SIDE, SIDE, 1), dtype=np.uint8)
    img[y : y + SIDE, x : x + SIDE] = texture + np.array([20, 40, 60], np.uint8)
    return img


def make_video(
    path,
    frames=FRAMES,
    audio=False,
    rotation=0,
    metadata=None,
    faststart=False,
    size=(W, H),
):
    rng = np.random.default_rng(0)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        for k, v in (metadata or {}).items():
            out.metadata[k] = v
        vs = out.add_stream("libx264", rate=FPS, options={"crf": "10", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        if rotation:
            vs.set_display_rotation(rotation)
        astream = None
        if audio:
            astream = out.add_stream("aac", rate=48000)
            astream.layout = "mono"
        for i in range(frames):
            img = draw(i, rng)
            if size != (W, H):
                img = np.full((size[1], size[0], 3), 200, np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
        if astream is not None:
            t = np.arange(48000 * frames // FPS, dtype=np.float32) / 48000
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            af = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            af.sample_rate, af.pts = 48000, 0
            out.mux(astream.encode(af))
            out.mux(astream.encode(None))
    return path


class MissingDetector:
    """The square detector, blind on the whole frame in the frames listed (as a real detector
    is now and then); it still sees crops (the recheck searches crops). The frame is known by
    where the square is: the whole frame is searched more than once per frame."""

    def __init__(self, blind_frames):
        self._inner = SquareDetector()
        self.spec = self._inner.spec
        self.blind = {face_at(f)[0] for f in blind_frames}

    def detect(self, rgb):
        found = self._inner.detect(rgb)
        if rgb.shape[:2] == (H, W):
            return [d for d in found if round(d.box.x) not in self.blind]
        return found


def frames_of(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def texture_in_face(img, frame):
    x, y = face_at(frame)
    patch = img[y + 4 : y + SIDE - 4, x + 4 : x + SIDE - 4].astype(np.float64)
    return float(np.abs(np.diff(patch, axis=1)).mean())


@pytest.fixture
def video(tmp_path):
    return make_video(tmp_path / "in.mp4")


def run(src, out, detector=None, **kw):
    return anonymise_video(src, out, detector or SquareDetector(), **kw)


def test_every_frame_is_written_at_the_same_size_rate_and_times(video, tmp_path):
    out = tmp_path / "out.mp4"
    report = run(video, out)
    assert (report.frames, report.width, report.height) == (FRAMES, W, H)
    assert report.frame_rate == FPS
    with av.open(str(video)) as a, av.open(str(out)) as b:
        sa, sb = a.streams.video[0], b.streams.video[0]
        assert sb.average_rate == sa.average_rate
        ta = [f.time for f in a.decode(sa)]
        tb = [f.time for f in b.decode(sb)]
    assert tb == pytest.approx(ta)


def test_the_face_is_blurred_in_every_frame(video, tmp_path):
    out = tmp_path / "out.mp4"
    run(video, out)
    source, copy = frames_of(video), frames_of(out)
    for i, (a, b) in enumerate(zip(source, copy, strict=True)):
        assert texture_in_face(a, i) > 20
        assert texture_in_face(b, i) < 3, f"frame {i}: the face's texture is still there"


def test_a_face_the_detector_misses_for_two_frames_is_still_blurred(video, tmp_path):
    out = tmp_path / "out.mp4"
    run(video, out, MissingDetector({10, 11}))
    copy = frames_of(out)
    for i in (9, 10, 11, 12):
        assert texture_in_face(copy[i], i) < 3, f"frame {i}: bare"


def test_without_tracking_the_missed_frames_would_be_bare(video, tmp_path):
    """The test above has teeth: with no coasting or backfill, frames 10 and 11 are bare."""
    out = tmp_path / "out.mp4"
    s = VideoSettings(coast_seconds=0, backfill_seconds=0, redact=RedactSettings(recheck_passes=0))
    run(video, out, MissingDetector({10, 11}), settings=s)
    copy = frames_of(out)
    assert texture_in_face(copy[10], 10) > 20 and texture_in_face(copy[11], 11) > 20
    assert texture_in_face(copy[12], 12) < 3


def test_a_face_is_covered_before_it_is_first_detected(video, tmp_path):
    out = tmp_path / "out.mp4"
    run(video, out, MissingDetector({0, 1, 2}), settings=VideoSettings(backfill_seconds=0.15))
    copy = frames_of(out)
    for i in (0, 1, 2):
        assert texture_in_face(copy[i], i) < 3, f"frame {i}: bare before the first detection"


def test_audio_is_dropped_by_default_and_kept_when_asked(tmp_path):
    src = make_video(tmp_path / "in.mp4", audio=True)
    run(src, tmp_path / "silent.mp4")
    report = run(src, tmp_path / "sound.mp4", keep_audio=True)
    assert report.audio_kept
    with av.open(str(tmp_path / "silent.mp4")) as c:
        assert [s.type for s in c.streams] == ["video"]
    with av.open(str(src)) as a, av.open(str(tmp_path / "sound.mp4")) as b:
        assert [s.type for s in b.streams] == ["video", "audio"]
        sa, sb = a.streams.audio[0], b.streams.audio[0]
        assert sb.codec_context.name == sa.codec_context.name
        pa = [bytes(p) for p in a.demux(sa) if p.size]
        pb = [bytes(p) for p in b.demux(sb) if p.size]
    assert pa == pb, "the audio is copied as it is, not re-encoded"


def test_no_metadata_of_the_source_reaches_the_copy(tmp_path):
    src = make_video(
        tmp_path / "in.mp4",
        metadata={"location": "+48.8584+002.2945/", "comment": "Grandma's 80th", "title": "x"},
    )
    run(src, tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as c:
        values = " ".join(c.metadata.values()) + " ".join(
            v for s in c.streams for v in s.metadata.values()
        )
        keys = set(c.metadata) | {k for s in c.streams for k in s.metadata}
    assert "48.8584" not in values and "Grandma" not in values
    assert not {"location", "comment", "title"} & keys


class NoFaces:
    spec = SquareDetector.spec

    def detect(self, rgb):
        return []


def test_a_phone_video_on_its_side_is_written_upright(tmp_path):
    """Stored 320x240 with a display rotation of 90 degrees (counter-clockwise, as PyAV and
    FFmpeg give it): it is shown 240x320, and the copy is those 240x320 pixels, untagged."""
    src = make_video(tmp_path / "in.mp4", rotation=90)
    report = run(src, tmp_path / "out.mp4", NoFaces())
    assert (report.width, report.height) == (H, W)
    with av.open(str(src)) as c:
        first = next(c.decode(video=0))
        assert first.rotation == 90
        stored = first.to_ndarray(format="rgb24")
    with av.open(str(tmp_path / "out.mp4")) as c:
        out = next(c.decode(video=0))
        assert out.rotation == 0
        upright = out.to_ndarray(format="rgb24")
    shown = np.rot90(stored, 1)
    assert upright.shape == shown.shape == (W, H, 3)
    assert np.abs(upright.astype(int) - shown).mean() < 3


def test_progress_is_reported_for_every_frame(video, tmp_path):
    seen: list[VideoProgress] = []
    run(video, tmp_path / "out.mp4", progress=seen.append)
    assert [p.frames_done for p in seen] == list(range(1, FRAMES + 1))
    assert {p.frames_total for p in seen} == {FRAMES}


def test_the_source_is_never_changed_and_no_temporary_file_is_left(video, tmp_path):
    before = hashlib.sha256(video.read_bytes()).hexdigest()
    run(video, tmp_path / "out.mp4")
    assert hashlib.sha256(video.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_a_failed_run_leaves_no_output_and_keeps_an_older_one(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"")
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an older copy")
    with pytest.raises(CorruptVideoError):
        run(bad, out)
    assert out.read_bytes() == b"an older copy"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "out.mp4"]


def test_a_missing_file_is_reported_plainly(tmp_path):
    with pytest.raises(UnreadableFileError) as err:
        run(tmp_path / "nope.mp4", tmp_path / "out.mp4")
    assert str(err.value) == f"{tmp_path / 'nope.mp4'}: the file does not exist. Check the path."


def test_an_empty_file_is_reported_plainly(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(CorruptVideoError) as err:
        run(tmp_path / "empty.mp4", tmp_path / "out.mp4")
    assert (
        str(err.value) == f"{tmp_path / 'empty.mp4'}: the file is empty. Restore it from a backup."
    )


def test_an_mp4_cut_off_before_its_index_is_reported_as_incomplete(video, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(CorruptVideoError) as err:
        run(cut, tmp_path / "out.mp4")
    assert str(err.value) == (
        f"{cut}: the MP4/MOV file is incomplete or damaged (its index cannot be read; this "
        "happens when a recording or a copy was cut off). Restore the file from a backup or "
        "copy it from the camera again."
    )


def test_an_mp4_cut_off_after_its_index_is_reported_as_truncated(tmp_path):
    whole = make_video(tmp_path / "whole.mp4", frames=50, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    with pytest.raises(CorruptVideoError, match="the file is truncated"):
        run(cut, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_a_file_that_is_no_video_is_reported_plainly(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_bytes(b"shopping list: eggs, milk\n" * 40)
    with pytest.raises(UnsupportedVideoError) as err:
        run(junk, tmp_path / "out.mp4")
    assert str(err.value) == (
        f"{junk}: not a video format Regard can read, or a damaged file. Regard reads the "
        "videos FFmpeg reads (MP4, MOV, MKV, WebM, AVI...); convert it to MP4."
    )


def test_a_photo_named_like_a_video_is_sent_to_the_photo_path(tmp_path):
    photo = tmp_path / "holiday.mp4"
    from PIL import Image

    Image.fromarray(draw(0, np.random.default_rng(0))).save(photo, "JPEG")
    with pytest.raises(UnsupportedVideoError) as err:
        run(photo, tmp_path / "out.mp4")
    assert str(err.value) == (
        f"{photo}: this is a still image, not a video. Anonymise it as a photo instead."
    )


def test_a_sound_only_file_is_reported_plainly(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        f = av.AudioFrame.from_ndarray(
            np.zeros((1, 4800), np.float32), format="fltp", layout="mono"
        )
        f.sample_rate, f.pts = 48000, 0
        out.mux(a.encode(f))
        out.mux(a.encode(None))
    with pytest.raises(UnsupportedVideoError) as err:
        run(path, tmp_path / "out.mp4")
    assert str(err.value) == (
        f"{path}: the file has no video track. Choose a video file with pictures in it."
    )


def test_the_copy_may_not_replace_the_source(video):
    with pytest.raises(OutputError) as err:
        run(video, video)
    assert str(err.value) == (
        f"{video}: is the source video itself. Regard never changes the original; write the "
        "copy under another name."
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (
            "out.gif",
            "cannot write a video with the suffix '.gif'. Name it with one of .m4v, "
            ".mkv, .mov, .mp4.",
        ),
        ("nowhere/out.mp4", "its folder does not exist. Create the folder or choose another one."),
    ],
)
def test_bad_output_paths_are_refused_before_any_work(video, tmp_path, name, problem):
    with pytest.raises(OutputError) as err:
        run(video, tmp_path / name)
    assert str(err.value) == f"{tmp_path / name}: {problem}"


def test_mkv_and_mov_copies_can_be_written(video, tmp_path):
    for suffix in (".mkv", ".mov"):
        report = run(video, tmp_path / f"out{suffix}")
        assert report.frames == FRAMES
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            assert Fraction(c.streams.video[0].average_rate) == FPS


def test_a_kept_head_is_never_blurred_by_a_neighbour_s_blur_in_any_frame(tmp_path):
    """As in a photo: two still faces side by side, the left one blurred, the right one kept;
    the blurred head reaches into the kept one's, whose every pixel (but the other face's own
    box) stays as it was in every frame, up to the encoder's loss."""
    rng = np.random.default_rng(3)
    near, kept = (80, 90), (150, 90)
    img = np.full((H, W, 3), 255, np.uint8)
    for x, y in (near, kept):
        img[y : y + 60, x : x + 60] = rng.integers(0, 120, (60, 60, 3), np.uint8)
    src = tmp_path / "two.mp4"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=FPS, options={"crf": "0", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
    keep_box = Box(kept[0], kept[1], 60, 60)
    out_path = tmp_path / "out.mp4"
    run(src, out_path, keep_at=lambda _t: [keep_box])
    zone = keep_zone(W, H, [Target(keep_box)], [Box(near[0], near[1], 60, 60)], CoverRules())
    zone[:, : near[0] + 60] = False  # the blurred face's own box may reach in; not counted
    assert zone.any()
    for a, b in zip(frames_of(src), frames_of(out_path), strict=True):
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
        assert np.percentile(diff[zone], 99) < 24, "the kept head was blurred"
        assert texture_in_face(b, 10) < 3  # the left face (x = 80) is hidden all the same
