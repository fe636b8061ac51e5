"""Finding and following faces in videos, with the fake square detector and colour embedder on
small synthetic videos: a square is a face, its colour is who it is. Time ranges, tracks that
overlap in time, cuts, gaps, sampling, rotation, formats, limits and the errors a user sees.
(The real models on real videos: tests/integration/test_footage_real.py.)"""

from dataclasses import dataclass, replace
from fractions import Fraction

import av
import numpy as np
import pytest

from regard.errors import (
    CorruptVideoError,
    ImageTooLargeError,
    UnreadableFileError,
    UnsupportedVideoError,
)
from regard.pipeline.clip import VideoLimits
from regard.pipeline.footage import analyse_video
from regard.pipeline.footage_settings import FootageProgress, FootageSettings
from regard.pipeline.gating import GateSettings
from regard.pipeline.linking import LinkSettings
from regard.testing import ColourEmbedder, SquareDetector

W, H, FPS = 320, 240, 25
RED, BLUE, GREEN = (190, 30, 30), (30, 40, 190), (30, 150, 40)

#: The colour embedder's cosines: the same colour ~1.0, different colours 0.6-0.9.
FAKE_LINK = LinkSettings(
    keep_likeness=0.97, near_likeness=0.98, cut_likeness=0.98, far_likeness=0.99
)
SETTINGS = FootageSettings(link=FAKE_LINK, min_face_px=12, event_px=12)


@dataclass(frozen=True)
class Square:
    """A face: `colour`, `side` px, on screen from t0 to t1 (seconds), moving in a straight
    line from (x0, y0) to (x1, y1) (top left corner, pixels of the upright frame)."""

    colour: tuple[int, int, int]
    t0: float
    t1: float
    x0: float
    y0: float
    x1: float | None = None
    y1: float | None = None
    side: int = 40

    def at(self, t):
        if not self.t0 <= t < self.t1:
            return None
        f = (t - self.t0) / (self.t1 - self.t0)
        x1 = self.x0 if self.x1 is None else self.x1
        y1 = self.y0 if self.y1 is None else self.y1
        return round(self.x0 + (x1 - self.x0) * f), round(self.y0 + (y1 - self.y0) * f)


def draw(squares, t):
    """White, with each square that is on screen at `t`: its colour with a fine texture (a
    sharp face, as the quality rules see it; the same texture every frame)."""
    img = np.full((H, W, 3), 255, np.uint8)
    for sq in squares:
        pos = sq.at(t)
        if pos is None:
            continue
        x, y = pos
        texture = np.random.default_rng(sum(sq.colour)).integers(-14, 15, (sq.side, sq.side, 1))
        patch = np.clip(np.array(sq.colour) + texture, 0, 199).astype(np.uint8)
        y0, x0 = max(0, y), max(0, x)
        img[y0 : y + sq.side, x0 : x + sq.side] = patch[y0 - y :, x0 - x :][: H - y0, : W - x0]
    return img


def make_video(
    path,
    squares,
    seconds=6.0,
    keyint=FPS,
    rotation=0,
    codec="libx264",
    times=None,
    options=None,
):
    """Write the squares as a video. `times`: the frames' timestamps in seconds (variable
    frame rate); by default `seconds` at FPS. Other containers than MP4 are made by copying
    the packets of an MP4 into them (PyAV mislabels the timestamps of some packets when it
    encodes into Matroska directly)."""
    if path.suffix != ".mp4":
        mp4 = make_video(
            path.with_name(path.stem + ".src.mp4"),
            squares,
            seconds,
            keyint,
            rotation,
            codec,
            times,
            options,
        )
        return remux(mp4, path)
    times = times if times is not None else [i / FPS for i in range(round(seconds * FPS))]
    opts = {"g": str(keyint)}
    if codec == "libx264":
        opts = {
            "crf": "12",
            "preset": "ultrafast",
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0",
        }
    opts.update(options or {})
    turns = rotation // 90 % 4
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=FPS, options=opts)
        vs.width, vs.height = (H, W) if turns % 2 else (W, H)
        vs.pix_fmt = "yuv420p"
        vs.time_base = Fraction(1, FPS * 1000)
        if rotation:
            vs.set_display_rotation(rotation)
        for t in times:
            img = draw(squares, t)
            stored = np.ascontiguousarray(np.rot90(img, -turns)) if turns else img
            f = av.VideoFrame.from_ndarray(stored, format="rgb24")
            f.pts = round(t * FPS * 1000)
            f.time_base = vs.time_base
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
    return path


def remux(source, dest, options=None):
    """The packets of `source` copied into another container (`options`: the muxer's)."""
    with av.open(str(source)) as src, av.open(str(dest), "w", options=options or {}) as out:
        s = out.add_stream_from_template(src.streams.video[0])
        for p in src.demux(src.streams.video[0]):
            if p.size:
                p.stream = s
                out.mux(p)
    return dest


def analyse(path, settings=SETTINGS, **kw):
    return analyse_video(path, SquareDetector(), ColourEmbedder(), settings, **kw)


def colour_of(appearance):
    """The colour a fake embedding stands for, as the nearest of the test colours."""
    emb = ColourEmbedder()
    best = appearance.best.face.embedding
    names = {"red": RED, "blue": BLUE, "green": GREEN}
    sims = {}
    for name, c in names.items():
        crop = np.full((1, 32, 32, 3), c, np.uint8)
        sims[name] = float(emb.embed(crop)[0] @ best)
    return max(sims, key=sims.get)


def summary(analysis):
    return [(colour_of(a), a.start, a.end) for a in analysis.appearances]


TWO_PEOPLE = [
    Square(RED, 1.0, 4.5, 40, 60, 80, 80),
    Square(BLUE, 2.3, 5.2, 220, 100, 180, 90),
]


def test_two_people_give_two_appearances_with_their_time_ranges(tmp_path):
    result = analyse(make_video(tmp_path / "two.mp4", TWO_PEOPLE))
    (a, b) = result.appearances
    assert colour_of(a) == "red" and colour_of(b) == "blue"
    for found, truth in ((a, TWO_PEOPLE[0]), (b, TWO_PEOPLE[1])):
        assert found.start == pytest.approx(truth.t0, abs=0.15)
        assert found.end == pytest.approx(truth.t1, abs=0.15)
    assert a.overlaps(b)


def test_an_appearance_carries_its_best_frames_embedded_and_a_path_to_draw_from(tmp_path):
    result = analyse(make_video(tmp_path / "two.mp4", TWO_PEOPLE))
    red = result.appearances[0]
    assert 1 <= len(red.faces) <= SETTINGS.max_faces
    assert all(
        f.face.model_id == "fake-colour" and f.face.embedding.shape == (8,) for f in red.faces
    )
    assert red.best_time == red.faces[0].time and red.start <= red.best_time <= red.end
    times = [p.time for p in red.path]
    assert times == sorted(times) and red.start <= times[0] and times[-1] <= red.end
    # The box at any moment is where the square was (interpolated between looks).
    for t in (1.5, 2.75, 4.0):
        box, (x, y) = red.box_at(t), TWO_PEOPLE[0].at(t)
        assert box.x == pytest.approx(x, abs=6) and box.y == pytest.approx(y, abs=6)
    assert red.box_at(0.5) is None


def test_only_key_frames_and_the_stretches_where_someone_comes_or_goes_are_decoded(tmp_path):
    steady = [Square(RED, 0.0, 30.0, 100, 80)]
    result = analyse(make_video(tmp_path / "steady.mp4", steady, seconds=30.0))
    total = 30 * FPS
    # 30 key frames, and the last second decoded through to see the last frame.
    assert result.frames_decoded <= 30 + FPS + 2
    assert result.frames_looked_at <= 32
    assert result.frames_decoded < total / 10
    ((a, start, end),) = summary(result)
    assert (a, start, end) == ("red", 0.0, 30.0)


def test_a_still_scene_is_searched_only_where_it_changed_and_the_faces_are(tmp_path):
    """The same appearances as searching every frame looked at whole, for a fraction of the
    pixels: after the first look, a steady face is searched around it, a face coming where
    the picture changed, and the whole frame again every `full_every` seconds."""
    scene = [Square(RED, 0.0, 20.0, 40, 60), Square(BLUE, 6.3, 20.0, 220, 100, 200, 110)]
    path = make_video(tmp_path / "still.mp4", scene, seconds=20.0)
    # Searched around the faces at every look (none carried over without a search: that is
    # the next test's).
    gated = analyse(path, replace(SETTINGS, gate=GateSettings(still=None)))
    whole = analyse(path, replace(SETTINGS, gate=None))
    assert flat(gated) == flat(whole)
    assert [c for c, *_ in summary(gated)] == ["red", "blue"]
    assert whole.frames_searched == whole.frames_looked_at
    assert gated.frames_searched < 0.5 * whole.frames_searched


def test_a_face_whose_picture_does_not_change_is_carried_over_and_a_face_coming_is_found(
    tmp_path,
):
    """A face that stays as it was is not searched for again until the next whole-frame
    look: the same appearances as searching around it at every look, for fewer pixels; a
    face coming into the still scene is found as soon, and one moving is searched for."""
    scene = [
        Square(RED, 0.0, 14.0, 40, 60),
        Square(BLUE, 4.3, 14.0, 220, 100),
        Square(GREEN, 7.6, 12.0, 100, 170, 200, 170),
    ]
    path = make_video(tmp_path / "still.mp4", scene, seconds=14.0)
    carried = analyse(path)
    searched = analyse(path, replace(SETTINGS, gate=GateSettings(still=None)))
    assert summary(carried) == summary(searched)
    assert [c for c, *_ in summary(carried)] == ["red", "blue", "green"]
    for a, b in zip(carried.appearances, searched.appearances, strict=True):
        # The same looks, each box where the search puts it (a still face carried over
        # within a pixel or two of where it drifted).
        assert [p.time for p in a.path] == [p.time for p in b.path]
        for p, q in zip(a.path, b.path, strict=True):
            assert abs(p.box.x - q.box.x) <= 3 and abs(p.box.y - q.box.y) <= 3
    (_, blue_start, _), (_, green_start, green_end) = summary(carried)[1:]
    assert blue_start == pytest.approx(4.3, abs=0.15)
    assert green_start == pytest.approx(7.6, abs=0.15)
    assert green_end == pytest.approx(12.0, abs=0.15)
    assert carried.frames_searched < searched.frames_searched


def test_two_faces_seen_at_the_same_moment_are_never_one_appearance(tmp_path):
    """Same colour = same 'person' to the embedder: still two appearances, as two faces in
    one photo are two people."""
    twins = [Square(RED, 0.5, 4.0, 30, 60), Square(RED, 0.5, 4.0, 230, 60)]
    result = analyse(make_video(tmp_path / "twins.mp4", twins, seconds=5.0))
    assert len(result.appearances) == 2
    a, b = result.appearances
    assert a.overlaps(b)


def test_a_cut_to_someone_else_in_the_same_place_splits_the_track(tmp_path):
    cut = [Square(RED, 0.0, 2.6, 120, 80), Square(BLUE, 2.6, 5.0, 120, 80)]
    result = analyse(make_video(tmp_path / "cut.mp4", cut, seconds=5.0))
    assert [c for c, *_ in summary(result)] == ["red", "blue"]
    red, blue = result.appearances
    assert red.end == pytest.approx(2.6, abs=0.15)
    assert blue.start == pytest.approx(2.6, abs=0.15)
    assert not red.overlaps(blue)


def test_a_swap_between_checks_is_split_where_it_happened(tmp_path):
    """The same place, another person, and no cut to notice (the rest of the frame is white):
    the track's likeness check finds it, and the faces followed by position since the last
    check are given back to whoever they were."""
    swap = [Square(RED, 0.0, 3.3, 120, 80), Square(BLUE, 3.3, 8.0, 120, 80)]
    settings = FootageSettings(
        link=LinkSettings(
            keep_likeness=0.97,
            near_likeness=0.98,
            cut_likeness=0.98,
            far_likeness=0.99,
            verify_every=5.0,
        ),
        min_face_px=12,
        event_px=12,
    )
    result = analyse(make_video(tmp_path / "swap.mp4", swap, seconds=8.0), settings)
    assert [c for c, *_ in summary(result)] == ["red", "blue"]
    red, blue = result.appearances
    # Found between two key frames by halving; no closer look was taken there.
    assert red.end == pytest.approx(3.3, abs=0.5)
    assert blue.start == pytest.approx(3.3, abs=0.5)
    assert not red.overlaps(blue)
    assert all(p.time < 3.3 for p in red.path)
    assert all(p.time >= 3.3 for p in blue.path)


def test_a_short_gap_stays_inside_one_appearance_and_a_long_one_ends_it(tmp_path):
    short = [Square(GREEN, 0.0, 2.0, 40, 60), Square(GREEN, 3.0, 6.0, 200, 120)]
    result = analyse(make_video(tmp_path / "short.mp4", short, seconds=6.0))
    ((colour, start, end),) = summary(result)
    assert colour == "green" and start == 0.0 and end == 6.0
    long = [Square(GREEN, 0.0, 2.0, 40, 60), Square(GREEN, 4.6, 7.0, 200, 120)]
    result = analyse(make_video(tmp_path / "long.mp4", long, seconds=7.0))
    assert [c for c, *_ in summary(result)] == ["green", "green"]


def test_the_same_result_every_time(tmp_path):
    path = make_video(tmp_path / "two.mp4", TWO_PEOPLE)
    first, second = analyse(path), analyse(path)
    assert flat(first) == flat(second)
    assert first.frames_decoded == second.frames_decoded


def flat(analysis):
    """Everything about the appearances, embeddings as bytes (arrays do not compare)."""
    return [
        (
            a.start,
            a.end,
            [(p.time, p.box) for p in a.path],
            [
                (f.time, f.face.detection, f.face.quality, f.face.embedding.tobytes())
                for f in a.faces
            ],
        )
        for a in analysis.appearances
    ]


@pytest.mark.parametrize("bframes", [0, 3])
def test_key_frames_far_apart_are_read_through_with_the_same_result(tmp_path, bframes):
    """Key frames 10 s apart (as editors write them): the GOP is decoded in order, with a
    look every second, and with B-frames the pictures nothing is predicted from are
    skipped."""
    near = analyse(make_video(tmp_path / "gop1s.mp4", TWO_PEOPLE, keyint=FPS))
    x264 = {
        "crf": "12",
        "preset": "ultrafast",
        "x264-params": f"keyint={10 * FPS}:min-keyint={10 * FPS}:scenecut=0:bframes={bframes}",
    }
    far = analyse(make_video(tmp_path / "gop10s.mp4", TWO_PEOPLE, options=x264))
    if bframes:
        assert far.frames_decoded < 0.7 * 6 * FPS  # the B-frames are skipped
    else:
        assert far.frames_decoded >= 6 * FPS > near.frames_decoded  # all of them
    assert len(far.appearances) == 2
    for a, b in zip(near.appearances, far.appearances, strict=True):
        assert b.start == pytest.approx(a.start, abs=0.15)
        assert b.end == pytest.approx(a.end, abs=0.15)


def test_damaged_data_in_the_middle_costs_only_what_it_hides(tmp_path):
    """Bytes overwritten in the middle of the file (a bad sector): the decoder conceals what
    it can, and the faces before and after the damage are still found."""
    path = make_video(tmp_path / "two.mp4", TWO_PEOPLE)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(2000)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    result = analyse(damaged)
    colours = [c for c, *_ in summary(result)]
    assert "red" in colours and "blue" in colours
    assert result.duration == pytest.approx(6.0, abs=0.05)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_a_video_stored_on_its_side_gives_upright_boxes(tmp_path, rotation):
    tall = [Square(RED, 0.0, 3.0, 30, 20, side=40)]  # top left of the upright picture
    result = analyse(make_video(tmp_path / "r.mp4", tall, seconds=3.0, rotation=rotation))
    assert (result.width, result.height, result.rotation) == (W, H, rotation)
    (a,) = result.appearances
    assert a.best_box.x == pytest.approx(30, abs=3) and a.best_box.y == pytest.approx(20, abs=3)


def test_variable_frame_rate_times_are_the_frames_own(tmp_path):
    """Frames 40 ms apart, then 200 ms apart (a phone slowing down in the dark): times come
    from the timestamps, not from counting frames."""
    times = [i * 0.04 for i in range(50)] + [2.0 + i * 0.2 for i in range(1, 21)]
    sq = [Square(BLUE, 2.9, 6.0, 100, 100)]
    result = analyse(make_video(tmp_path / "vfr.mp4", sq, times=times, keyint=10))
    (a,) = result.appearances
    assert a.start == pytest.approx(2.9, abs=0.21)
    assert result.duration == pytest.approx(6.0, abs=0.25)


def test_a_stream_without_timestamps_is_timed_by_its_frame_rate(tmp_path):
    """A raw H.264 stream carries no timestamps at all: frames are a frame apart, counted
    from the start, at the rate the stream declares."""
    raw = remux(make_video(tmp_path / "src.mp4", TWO_PEOPLE), tmp_path / "raw.h264")
    with av.open(str(raw)) as c:
        assert next(c.demux(video=0)).pts is None
    result = analyse(raw)
    assert summary(result) == [
        ("red", pytest.approx(1.0, abs=0.15), pytest.approx(4.5, abs=0.15)),
        ("blue", pytest.approx(2.3, abs=0.15), pytest.approx(5.2, abs=0.15)),
    ]
    assert result.duration == pytest.approx(6.0, abs=0.05)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        (".mkv", "libx264"),
        (".mov", "libx264"),
        (".m4v", "libx264"),
        (".3gp", "libx264"),
        (".avi", "mpeg4"),
        (".webm", "libvpx-vp9"),
        (".mp4", "libx265"),
        (".mp4", "libsvtav1"),
    ],
)
def test_containers_and_codecs_ffmpeg_reads(tmp_path, suffix, codec):
    options = {
        "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"},
        "libx265": {"x265-params": "log-level=error", "crf": "18", "preset": "ultrafast"},
        "libsvtav1": {"preset": "12", "crf": "30"},
        "mpeg4": {"qscale": "2"},
    }.get(codec)
    path = make_video(
        tmp_path / f"v{suffix}", TWO_PEOPLE, seconds=6.0, codec=codec, options=options
    )
    result = analyse(path)
    assert [c for c, *_ in summary(result)] == ["red", "blue"], (suffix, codec)
    assert result.appearances[0].start == pytest.approx(1.0, abs=0.25)


def test_progress_is_reported_as_the_video_is_read(tmp_path):
    seen: list[FootageProgress] = []
    analyse(make_video(tmp_path / "two.mp4", TWO_PEOPLE), progress=seen.append)
    positions = [p.position for p in seen]
    assert positions == sorted(positions) and positions[-1] > 5.5
    assert seen[-1].duration == pytest.approx(6.0, abs=0.05)


# --- errors ----------------------------------------------------------------------------------


def test_a_missing_file(tmp_path):
    with pytest.raises(UnreadableFileError) as e:
        analyse(tmp_path / "gone.mp4")
    assert str(e.value) == f"{tmp_path / 'gone.mp4'}: the file does not exist. Check the path."


def test_an_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(CorruptVideoError) as e:
        analyse(tmp_path / "empty.mp4")
    assert str(e.value) == f"{tmp_path / 'empty.mp4'}: the file is empty. Restore it from a backup."


def test_not_a_video(tmp_path):
    (tmp_path / "notes.mp4").write_text("shopping list: milk, eggs\n" * 50)
    with pytest.raises(UnsupportedVideoError) as e:
        analyse(tmp_path / "notes.mp4")
    assert str(e.value) == (
        f"{tmp_path / 'notes.mp4'}: not a video format Regard can read, or a damaged file. "
        "Regard reads the videos FFmpeg reads (MP4, MOV, M4V, MKV, WebM, AVI, 3GP); "
        "convert it to MP4."
    )


def test_a_sound_file_has_no_pictures(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        samples = np.zeros((1, 48000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(a.encode(frame))
        out.mux(a.encode(None))
    with pytest.raises(UnsupportedVideoError) as e:
        analyse(path)
    assert str(e.value) == (
        f"{path}: the file has no video track. Choose a video file with pictures in it."
    )


def test_a_truncated_recording_whose_index_is_lost_is_refused_clearly(tmp_path):
    """Cameras write the MP4 index last: a recording or copy cut off has none."""
    whole = make_video(tmp_path / "whole.mp4", TWO_PEOPLE)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(CorruptVideoError) as e:
        analyse(cut)
    assert str(e.value) == (
        f"{cut}: the MP4/MOV file is incomplete or damaged (its index cannot be read; this "
        "happens when a recording or a copy was cut off). Restore the file from a backup or "
        "copy it from the camera again."
    )


def test_a_truncated_file_with_its_index_first_gives_what_it_holds_and_says_so(tmp_path):
    whole = make_video(tmp_path / "whole.mp4", TWO_PEOPLE, seconds=6.0, options=None)
    fast = tmp_path / "fast.mp4"
    with (
        av.open(str(whole)) as src,
        av.open(str(fast), "w", options={"movflags": "faststart"}) as out,
    ):
        s = out.add_stream_from_template(src.streams.video[0])
        for p in src.demux(src.streams.video[0]):
            if p.size:
                p.stream = s
                out.mux(p)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(fast.read_bytes()[: int(fast.stat().st_size * 0.6)])
    result = analyse(cut)
    (note,) = result.notes
    assert "the file is truncated" in note and "of the 6.0 s its header announces" in note
    assert result.appearances and result.appearances[0].start == pytest.approx(1.0, abs=0.25)
    assert result.duration < 5.0


def test_a_still_image_is_not_a_video(tmp_path):
    from PIL import Image

    Image.fromarray(draw(TWO_PEOPLE, 3.0)).save(tmp_path / "still.png")
    with pytest.raises(UnsupportedVideoError) as e:
        analyse(tmp_path / "still.png")
    assert "this is a still image, not a video. Index it as a photo instead." in str(e.value)


def test_limits_refuse_what_would_cost_too_much(tmp_path):
    path = make_video(tmp_path / "two.mp4", TWO_PEOPLE)
    small = FootageSettings(
        link=FAKE_LINK, min_face_px=12, limits=VideoLimits(max_frame_pixels=320 * 200)
    )
    with pytest.raises(ImageTooLargeError) as e:
        analyse(path, small)
    assert str(e.value) == (
        f"{path}: its frames are 320x240, over the limit of 0.1 MP a frame. Cut it into "
        "shorter parts, or raise the limit if it is genuine."
    )
    short = FootageSettings(link=FAKE_LINK, min_face_px=12, limits=VideoLimits(max_duration=5.0))
    with pytest.raises(ImageTooLargeError) as e:
        analyse(path, short)
    assert "it lasts 6 s or more, over the limit of 5 s for one video" in str(e.value)
    few = FootageSettings(
        link=FAKE_LINK, min_face_px=12, limits=VideoLimits(max_decoded_bytes=320 * 240 * 15)
    )
    with pytest.raises(ImageTooLargeError) as e:
        analyse(path, few)
    assert "decoding it would take more than 1.1 MiB of frames (the limit for one video)" in str(
        e.value
    )


# --- a video in time ranges side by side ------------------------------------------------------

#: Cut at a key frame in the middle: RED is on screen across the seam, moving; BLUE leaves just
#: before it and GREEN comes just after it (their end and start are pinned by the range that
#: holds them); BLUE comes back later, far from where it left.
ACROSS = [
    Square(RED, 1.0, 7.2, 30, 40, 150, 60),
    Square(BLUE, 2.0, 3.6, 220, 150),
    Square(GREEN, 4.4, 7.0, 230, 30),
    Square(BLUE, 5.6, 7.5, 20, 170),
]
SPLIT = replace(SETTINGS, ranges=2, split_from=1.0)


def test_a_video_in_two_ranges_gives_the_appearances_of_one_pass(tmp_path):
    path = make_video(tmp_path / "across.mp4", ACROSS, seconds=8.0)
    whole = analyse(path, replace(SETTINGS, ranges=1))
    seen: list[FootageProgress] = []
    split = analyse(path, SPLIT, progress=seen.append)
    assert [c for c, *_ in summary(split)] == ["red", "blue", "green", "blue"]
    for found, truth in zip(split.appearances, ACROSS, strict=True):
        assert found.start == pytest.approx(truth.t0, abs=0.15), truth
        assert found.end == pytest.approx(truth.t1, abs=0.15), truth
    for (c1, s1, e1), (c2, s2, e2) in zip(summary(split), summary(whole), strict=True):
        assert c1 == c2 and s1 == pytest.approx(s2, abs=0.15) and e1 == pytest.approx(e2, abs=0.15)
    # The seam's key frame is looked at by both ranges; the rest once.
    assert split.frames_looked_at - whole.frames_looked_at in (0, 1, 2)
    red = split.appearances[0]
    assert [p.time for p in red.path] == sorted({p.time for p in red.path})  # no time twice
    positions = [p.position for p in seen]
    assert positions == sorted(positions) and positions[-1] == pytest.approx(8.0, abs=0.1)


def test_a_face_turned_away_at_the_seam_is_joined_only_if_alike(tmp_path):
    # The seam is the key frame of 3 s (the one at or before the middle FFmpeg seeks to).
    # RED leaves 0.5 s before it and is back 0.5 s after it elsewhere: joined (very alike,
    # within `max_gap`); BLUE comes where RED was: someone else, never joined to RED.
    gap = [
        Square(RED, 1.0, 2.5, 40, 60),
        Square(RED, 3.5, 7.0, 200, 150),
        Square(BLUE, 3.6, 7.0, 40, 60),
    ]
    split = summary(analyse(make_video(tmp_path / "gap.mp4", gap, seconds=8.0), SPLIT))
    assert [c for c, *_ in split] == ["red", "blue"]
    assert split[0][1] == pytest.approx(1.0, abs=0.15) and split[0][2] == pytest.approx(
        7.0, abs=0.15
    )


def test_a_range_that_fails_fails_the_video_clearly(tmp_path):
    path = make_video(tmp_path / "across.mp4", ACROSS, seconds=8.0)
    tight = replace(SPLIT, limits=VideoLimits(max_decoded_bytes=W * H * 3 // 2 * 30))
    with pytest.raises(ImageTooLargeError):
        analyse(path, tight)
