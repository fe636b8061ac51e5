"""Recap renders on real photos: no face cut by a tile's edge (the face boxes mapped into the
collage), the faces of people who did not agree not found again by the detector (while those
kept still are: the two sides), written whole or not at all, sound muxed and cut, odd inputs
skipped with a reason."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from regard.domain.face import Box
from regard.errors import JobCancelledError, OutputError
from regard.inference.sessions import SFaceEmbedder, YuNetDetector
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.footage import analyse_video
from regard.pipeline.recap_moment import anonymised_moments
from regard.pipeline.recap_render import (
    CollageReport,
    SlideshowReport,
    Tile,
    TileFace,
    make_collage,
    make_slideshow,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

PHOTOS = [
    "photos/face_recognition/group/two_people.jpg",
    "photos/facenet_pytorch/group/multiface.jpg",
    "photos/face_recognition/identities/obama/obama.jpg",
    "photos/insightface_pypi/group/t1.jpg",
    "camera/Sony Cybershot (4).jpg",
    "photos/face_recognition/group/kit_with_rose.jpg",
    "camera/Issue 154.jpg",
    "camera/Sony Cybershot (3).jpg",  # EXIF orientation 6: stored on its side
    "photos/face_recognition/identities/rose_leslie/img1.jpg",
]
CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"
#: The bar an anonymised copy is held to: no face found at this score where one was blurred.
FOUND = 0.5


@pytest.fixture(scope="module")
def detector() -> YuNetDetector:
    return YuNetDetector(score_threshold=FOUND)


def faces_of(path: Path, detector: YuNetDetector, start: int) -> tuple[TileFace, ...]:
    """The faces the library would hold for `path` (found at 1280 pixels, score 0.6, in
    full-resolution upright pixels), every other one not to be kept."""
    limits = DecodeLimits()
    decoded = OpenedImage(str(path), read_file(path, limits)[1], limits).decode_for_detection(1280)
    s = 1 / decoded.scale
    return tuple(
        TileFace(
            (round(d.box.x * s), round(d.box.y * s), round(d.box.w * s), round(d.box.h * s)),
            keep=(start + i) % 2 == 0,
        )
        for i, d in enumerate(f for f in detector.detect(decoded.rgb) if f.score >= 0.6)
    )


@pytest.fixture(scope="module")
def tiles(shared_data: Path, detector: YuNetDetector) -> list[Tile]:
    out, n = [], 0
    for rel in PHOTOS:
        faces = faces_of(shared_data / rel, detector, n)
        n += len(faces)
        out.append(Tile(str(shared_data / rel), faces))
    assert sum(len(t.faces) for t in out) >= 20
    return out


@pytest.fixture(scope="module")
def collage(tiles: list[Tile], tmp_path_factory: pytest.TempPathFactory) -> CollageReport:
    out = tmp_path_factory.mktemp("collage") / "recap.jpg"
    return make_collage(tiles, out)


def mapped(box: tuple[float, float, float, float], cell, crop) -> tuple[float, ...]:  # type: ignore[no-untyped-def]
    x, y, w, h = cell
    sx, sy = w / (crop[2] - crop[0]), h / (crop[3] - crop[1])
    return (
        x + (box[0] - crop[0]) * sx,
        y + (box[1] - crop[1]) * sy,
        x + (box[0] + box[2] - crop[0]) * sx,
        y + (box[1] + box[3] - crop[1]) * sy,
    )


def test_no_face_is_cut_by_a_tile_edge(collage: CollageReport, tiles: list[Tile]) -> None:
    assert collage.tiles == len(tiles)
    assert not collage.skipped
    faces = 0
    for p in collage.placements:
        x, y, w, h = p.cell
        for f in p.tile.faces:
            x0, y0, x1, y1 = mapped(f.box, p.cell, p.crop)
            faces += 1
            assert x - 0.5 <= x0 and x1 <= x + w + 0.5, (p.tile.path, f.box, p.cell, p.crop)
            assert y - 0.5 <= y0 and y1 <= y + h + 0.5, (p.tile.path, f.box, p.cell, p.crop)
    assert faces == sum(len(t.faces) for t in tiles)
    with Image.open(collage.output) as im:
        assert im.size == (2048, 1536)
        assert im.format == "JPEG"
        assert not im.getexif()


def test_the_turned_photo_is_shown_upright(collage: CollageReport) -> None:
    turned = next(p for p in collage.placements if "Cybershot (3)" in p.tile.path)
    # Stored 450 x 311 (wide), shown 311 x 450: the crop is within the upright size.
    assert turned.crop[2] <= 311 + 1e-6 and turned.crop[3] <= 450 + 1e-6


def found_in(rgb: np.ndarray, region: tuple[float, ...], detector: YuNetDetector) -> list[float]:
    """Scores of the faces the detector finds centred in `region` of `rgb`, looking at the
    region with a margin of its size around it."""
    x0, y0, x1, y1 = region
    m = max(x1 - x0, y1 - y0, 32)
    h, w = rgb.shape[:2]
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    cx1, cy1 = min(w, int(x1 + m)), min(h, int(y1 + m))
    part = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1])
    scores = []
    for d in detector.detect(part):
        cx, cy = cx0 + d.box.x + d.box.w / 2, cy0 + d.box.y + d.box.h / 2
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            scores.append(d.score)
    return scores


def test_blurred_faces_are_not_found_and_kept_ones_are(
    collage: CollageReport, detector: YuNetDetector
) -> None:
    rgb = np.asarray(Image.open(collage.output).convert("RGB"))
    blurred = kept = kept_found = 0
    for p in collage.placements:
        for f in p.tile.faces:
            region = mapped(f.box, p.cell, p.crop)
            if f.keep:
                if region[2] - region[0] >= 24:  # big enough for YuNet to see at all
                    kept += 1
                    kept_found += bool(found_in(rgb, region, detector))
            else:
                blurred += 1
                assert found_in(rgb, region, detector) == [], (p.tile.path, f.box)
    assert blurred >= 10
    assert collage.faces_blurred == blurred
    assert kept >= 8
    assert kept_found >= 0.8 * kept, (kept_found, kept)


@pytest.fixture(scope="module")
def slideshow(
    tiles: list[Tile], shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> SlideshowReport:
    out = tmp_path_factory.mktemp("show") / "recap.mp4"
    moment = Tile(str(shared_data / CLIP), (), video_start_s=3.0, video_end_s=4.5)
    # The portrait photo (Cybershot (3)) is shown whole over a blurred ground.
    chosen = [tiles[0], tiles[1], moment, tiles[3], tiles[7]]
    seen: list[tuple[int, int]] = []
    report = make_slideshow(
        chosen,
        out,
        width=960,
        height=540,
        seconds_per_tile=1.0,
        fps=10,
        progress=lambda d, n: seen.append((d, n)),
    )
    assert report.tiles == 5
    assert seen[-1][0] == seen[-1][1] == len(seen)
    return report


def frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * s.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(s)]


def test_slideshow_is_h264_of_the_right_length_and_silent(slideshow: SlideshowReport) -> None:
    # Made with the umask's mode, as the collage is (not its owner's only, as mkstemp makes).
    umask = os.umask(0)
    os.umask(umask)
    assert slideshow.output.stat().st_mode & 0o777 == 0o666 & ~umask
    with av.open(str(slideshow.output)) as c:
        assert not c.streams.audio
        v = c.streams.video[0]
        assert v.codec_context.name == "h264"
        assert (v.width, v.height) == (960, 540)
    got = frames(slideshow.output)
    # 1 + 1 + 1.5 (the moment as long as it is) + 1 + 1 seconds at 10 frames a second.
    assert len(got) == 55
    assert slideshow.seconds == pytest.approx(5.5)
    # The shots move: the same shot's early and late frames differ (pan and zoom).
    assert np.abs(got[12][1].astype(int) - got[5][1].astype(int)).mean() > 1.0


def test_no_face_leaves_the_frame_and_no_blurred_face_is_found(
    slideshow: SlideshowReport, detector: YuNetDetector
) -> None:
    by_time = dict(frames(slideshow.output))
    assert len(slideshow.shots) == 4
    blurred = kept = kept_found = 0
    for shot in slideshow.shots:
        # The middle of the shot, where it is alone on screen.
        t = round(shot.start_s + shot.length_s / 2, 1)
        rgb = by_time[min(by_time, key=lambda x: abs(x - t))]
        x0, y0, x1, y1 = shot.window(t)
        sx, sy = 960 / (x1 - x0), 540 / (y1 - y0)
        for f in shot.tile.faces:
            region = (
                (f.box[0] - x0) * sx,
                (f.box[1] - y0) * sy,
                (f.box[0] + f.box[2] - x0) * sx,
                (f.box[1] + f.box[3] - y0) * sy,
            )
            assert region[0] >= -1 and region[1] >= -1, (shot.tile.path, f.box, t)
            assert region[2] <= 961 and region[3] <= 541, (shot.tile.path, f.box, t)
            if f.keep:
                kept += 1
                kept_found += bool(found_in(rgb, region, detector))
            else:
                blurred += 1
                assert found_in(rgb, region, detector) == [], (shot.tile.path, f.box, t)
    assert blurred >= 6
    assert kept_found >= 0.8 * kept, (kept_found, kept)


def test_cancelling_leaves_no_file(tiles: list[Tile], tmp_path: Path) -> None:
    out = tmp_path / "show.mp4"
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(JobCancelledError):
        make_slideshow(tiles[:2], out, width=320, height=180, fps=10, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_an_error_half_way_leaves_no_file(tiles: list[Tile], tmp_path: Path) -> None:
    bad_sound = tmp_path / "sound.mp3"
    bad_sound.write_bytes(b"not a sound at all" * 100)
    with pytest.raises(OutputError, match="the sound file"):
        make_slideshow(tiles[:2], tmp_path / "show.mp4", width=320, height=180, audio=bad_sound)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sound.mp3"]

    def fail(done: int, total: int) -> None:
        if done == 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        make_collage(tiles, tmp_path / "c.jpg", progress=fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sound.mp3"]


def test_sound_is_muxed_and_cut_to_the_video(tiles: list[Tile], tmp_path: Path) -> None:
    tone = tmp_path / "tone.wav"
    with av.open(str(tone), "w") as c:
        s = c.add_stream("pcm_s16le", rate=44100, layout="mono")
        t = np.arange(44100 * 5) / 44100
        data = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        for packet in s.encode(frame):
            c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    out = tmp_path / "show.mp4"
    make_slideshow(tiles[:2], out, width=320, height=180, seconds_per_tile=1.0, fps=10, audio=tone)
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        samples = [f.to_ndarray() for f in c.decode(audio=0)]
    sound = np.concatenate(samples, axis=1)
    assert abs(sound.shape[1] / 48000 - 2.0) < 0.05  # cut to the video's 2 s
    assert np.abs(sound[:, 24000:48000]).max() > 0.1  # the tone is there...
    assert np.abs(sound[:, -1024:]).max() < 0.05  # ... and faded out at the end


def test_odd_tiles_are_skipped_with_a_reason(
    tiles: list[Tile], shared_data: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((shared_data / PHOTOS[2]).read_bytes()[:300])
    cut = tmp_path / "cut.jpg"
    whole = (shared_data / PHOTOS[2]).read_bytes()
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    odd = [
        Tile(str(tmp_path / "gone.jpg"), ()),
        Tile(str(broken), ()),
        Tile(str(cut), ()),
        Tile(str(shared_data / "camera/index.csv"), ()),
        Tile(str(shared_data / CLIP), (), video_start_s=2.0, video_end_s=2.0),
        # A face box from another version of the file, outside the image: ignored.
        Tile(
            str(shared_data / "camera/Canon PowerShot S300.jpg"),
            (TileFace((5000, 5000, 40, 40), False),),
        ),
        tiles[2],
    ]
    report = make_collage(odd, tmp_path / "c.jpg", width=800, height=600)
    assert report.tiles == 2
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "does not exist" in reasons["gone.jpg"]
    assert "the image header cannot be read" in reasons["broken.jpg"]
    assert "the image data is truncated or damaged" in reasons["cut.jpg"]
    assert "not a recognised image format" in reasons["index.csv"]
    assert "has no length" in reasons[Path(CLIP).name]
    assert report.faces_blurred == 0


def test_nothing_left_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"none of its 2 photos can be used \(.*does not exist"):
        make_collage(
            [Tile(str(tmp_path / "a.jpg"), ()), Tile(str(tmp_path / "b.jpg"), ())],
            tmp_path / "c.jpg",
        )
    with pytest.raises(OutputError, match="has no photos"):
        make_slideshow([], tmp_path / "s.mp4")
    with pytest.raises(OutputError, match="suffix"):
        make_collage([], tmp_path / "c.png")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def stage_clip(shared_data: Path) -> Any:
    """The stage clip as indexing analyses it (its appearances and their paths)."""
    return analyse_video(shared_data / CLIP, YuNetDetector(), SFaceEmbedder())


def moment_of_the_clip(shared_data: Path, analysis: Any, keep: bool) -> tuple[Tile, float]:
    """A 3-second moment of the stage clip with its performer's face (as indexing follows it:
    a look about once a second) to be kept or not; and how far (pixels) the face moves during
    the moment."""
    start, end = 4.0, 7.0
    faces, moved = [], 0.0
    for a in analysis.appearances:
        if a.end <= start or a.start >= end:
            continue
        b = a.best_box
        seen = [p.box.x for p in a.path if start <= p.time <= end]
        moved = max(moved, max(seen, default=b.x) - min(seen, default=b.x))
        faces.append(
            TileFace(
                (round(b.x), round(b.y), round(b.w), round(b.h)),
                keep=keep,
                path=tuple(
                    (p.time, (round(p.box.x), round(p.box.y), round(p.box.w), round(p.box.h)))
                    for p in a.path
                ),
                span=(a.start, a.end),
            )
        )
    assert faces, "the stage clip's performer is on stage between 4 and 7 s"
    return Tile(str(shared_data / CLIP), tuple(faces), video_start_s=start, video_end_s=end), moved


def faces_in_slideshow(tile: Tile, out: Path, detector: YuNetDetector) -> list[list[Box]]:
    """The faces the detector finds in each frame of a slideshow of `tile` alone."""
    report = make_slideshow([tile], out, width=640, height=360, fps=10)
    assert report.tiles == 1
    return [[d.box for d in detector.detect(rgb)] for _, rgb in frames(report.output)]


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(0.0, w) * max(0.0, h) / min(a.w * a.h, b.w * b.h)


def test_a_moments_faces_are_blurred_in_every_frame_wherever_they_move(
    shared_data: Path, detector: YuNetDetector, tmp_path: Path, stage_clip: Any
) -> None:
    """The performer moves about the stage. Where his face is in each frame is what the
    detector finds in a slideshow of the moment as it is (a score of 0.8 or more: him, not his
    hands). Blurred where indexing saw him (a look a second), at his best moment as recaps
    did or even along his path, his face is found again there in some frames; anonymised as
    an export is (every frame looked at), in none. Kept, he stays."""
    sure = YuNetDetector(score_threshold=0.8)
    start, end = 4.0, 7.0
    raw = Tile(str(shared_data / CLIP), (), video_start_s=start, video_end_s=end)
    truth = faces_in_slideshow(raw, tmp_path / "raw.mp4", sure)
    assert len(truth) == 30 and sum(bool(t) for t in truth) >= 27

    def found_again(tile: Tile, name: str) -> list[int]:
        seen = faces_in_slideshow(tile, tmp_path / f"{name}.mp4", detector)
        return [
            i
            for i, (real, boxes) in enumerate(zip(truth, seen, strict=True))
            if any(overlap(r, b) > 0.3 for r in real for b in boxes)
        ]

    tile, moved = moment_of_the_clip(shared_data, stage_clip, keep=False)
    assert moved > 20
    held = replace(tile, faces=tuple(replace(f, path=(), span=None) for f in tile.faces))
    assert found_again(held, "held"), "always under its blur: this clip shows no problem"
    assert found_again(tile, "path"), "always under its blur along the path"
    sensitive = YuNetDetector(score_threshold=ANONYMISE_SCORE_THRESHOLD)
    [clip], skipped = anonymised_moments([tile], sensitive, tmp_path)
    assert skipped == [] and clip.video_start_s is not None and clip.video_start_s < 0.05
    assert found_again(clip, "anonymised") == []
    # Kept, he is shown as he is in most frames (the sparse path he is kept by lags him for
    # about half a second, where the anonymiser blurs him too: the safe side).
    kept, _ = moment_of_the_clip(shared_data, stage_clip, keep=True)
    (tmp_path / "kept").mkdir()
    [clip], _ = anonymised_moments([kept], sensitive, tmp_path / "kept")
    shown = faces_in_slideshow(clip, tmp_path / "kept.mp4", sure)
    assert sum(bool(s) for s in shown) >= 0.75 * sum(bool(t) for t in truth)


def test_a_damaged_moment_is_left_out_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    tile = Tile(str(bad), (), video_start_s=1.0, video_end_s=4.0)
    tiles, skipped = anonymised_moments([tile], YuNetDetector(), tmp_path)
    assert tiles == [] and [s.path for s in skipped] == [str(bad)]
    assert str(bad) in skipped[0].reason


def test_moments_report_their_progress_and_stop_when_cancelled(
    shared_data: Path, tmp_path: Path
) -> None:
    moment = Tile(str(shared_data / CLIP), (), video_start_s=1.0, video_end_s=1.5)
    photo = Tile(str(shared_data / PHOTOS[2]), ())
    seen: list[tuple[int, int]] = []
    tiles, _ = anonymised_moments(
        [photo, moment, moment],
        YuNetDetector(),
        tmp_path,
        progress=lambda d, n: seen.append((d, n)),
    )
    assert seen == [(0, 2), (1, 2)] and tiles[0] == photo
    assert all(Path(t.path).parent == tmp_path for t in tiles[1:])
    with pytest.raises(JobCancelledError):
        anonymised_moments([moment], YuNetDetector(), tmp_path / "none", cancel=lambda: True)
    assert not (tmp_path / "none").exists()
