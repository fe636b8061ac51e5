"""Cameras' clips with the real models on real footage: the pre-roll is there, every face but a
consented member's is blurred in every frame (a face detector run over the clip finds no one
else), retention deletes clips, a live camera (GStreamer's RTSP server) gets clips too, and a
stream that breaks mid-event leaves no half-written file.

The stage clip (../shared/data): Lin-Manuel Miranda, given a `camera` consent here, sings in
close-up from about 3.6 s to 8.0 s; Alex Lacamoire (consent for grouping only) and the
audience are seen before and after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from regard.domain.cameras import Camera, WatchOptions
from regard.domain.events import CameraEvent
from regard.domain.face import Box
from regard.engine import Engine, EngineConfig
from regard.pipeline.person_faces import faces_in_person
from tests.servers import MissingPackageError, MjpegCamera, RtspCamera

pytestmark = pytest.mark.slow

CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"
LIN = "photos/face_recognition/identities/lin_manuel_miranda/lin-manuel-miranda.png"
ALEX = "photos/face_recognition/identities/alex_lacamoire/alex-lacamoire.png"
#: A face found this confidently is a face anyone would see (the audience's, Alex's in
#: profile, Lin's score 0.9 and more where they are not blurred).
SURE_FACE = 0.8


@pytest.fixture
def household(tmp_path, shared_data) -> Iterator[Engine]:
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0))
    engine.privacy.grant("Lin", "camera", face_photo=shared_data / LIN, evidence_text="asked")
    engine.privacy.grant("Alex", "grouping", face_photo=shared_data / ALEX, evidence_text="asked")
    yield engine
    engine.close()


def clip_frames(path: Path, every: int = 1) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [
            (float(f.time), f.to_ndarray(format="rgb24"))
            for i, f in enumerate(c.decode(video=0))
            if i % every == 0
        ]


def test_a_files_clips_have_pre_roll_and_show_no_face_but_a_members(household, shared_data):
    cams = household.cameras
    report = cams.watch_file(shared_data / CLIP, clips=2.0)
    assert report.errors == [] and report.events
    assert all(e.clip is not None and e.clip.is_file() for e in report.events)
    close_up = [e for e in report.events if e.who == "Lin" and e.start >= 3.3]
    assert len(close_up) == 1, [(e.start, e.end, e.who) for e in report.events]
    lin = close_up[0]
    assert lin.clip is not None
    frames = clip_frames(lin.clip)
    shown = frames[-1][0] - frames[0][0]
    # From 2 s before he came on (the pre-roll) to the cut that ends his close-up (8.0 s).
    assert shown >= (lin.end - lin.start) + 2.0 - 0.25, (shown, lin.start, lin.end)
    assert len(frames) >= shown * 9  # 10 frames a second
    # The clip is as the catalog lists it, private to the owner.
    listed = {e.id: e for e in cams.events()}
    assert listed[lin.id].clip == lin.clip
    assert lin.clip.stat().st_mode & 0o077 == 0

    # Every face a detector finds in the clips is Lin's (consented; in his close-up he is
    # the only one on stage, by eye): nobody else's face is left, in any frame. The pre-roll
    # (before anyone was seen: the audience, Alex) and the audience's clips (after his
    # close-up) have no face left at all; his own face is left as it is.
    analyser = cams.analyser()
    crowd = [e for e in report.events if e.start >= 8.0]
    assert crowd
    kept = 0
    for event in [lin, *crowd[:2]]:
        assert event.clip is not None
        for t, rgb in clip_frames(event.clip, every=2):
            h, w = rgb.shape[:2]
            for face in faces_in_person(analyser, rgb, Box(0, 0, w, h), min_face=24):
                if face.detection.score < SURE_FACE:
                    continue  # a fist round a microphone, a blurred blob: not a face seen
                # Only in his close-up: from his event's start (2 s into his clip) on.
                assert event is lin and t >= 2.0 - 0.05, (event.start, t, face.detection.box)
                kept += 1
    assert kept >= 10  # his face is there, not blurred: he agreed

    # Retention deletes the clips with their events; nothing of a clip is left behind.
    root = household.paths.root
    assert cams.apply_retention(now=time.time() + 8 * 86400)["events_deleted"] == len(report.events)
    assert not list((root / "cameras").rglob("*.mp4"))


def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        time.sleep(0.5)


def test_live_clips_and_a_stream_that_breaks_mid_event(tmp_path, shared_data):
    """The RTSP camera streams the stage clip, then 6 s of an empty grey scene, in a loop:
    each round's visits start after seconds of nothing, which a clip's pre-roll shows."""
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0), shared=True)
    door_camera = RtspCamera([shared_data / CLIP], gap=6.0)
    try:
        door_camera.__enter__()
    except MissingPackageError as e:
        pytest.fail(str(e), pytrace=False)
    broken = MjpegCamera(shared_data / CLIP).__enter__()
    began = time.time()
    try:
        cams = engine.cameras
        cams.add(Camera("door", door_camera.url, clips=True, pre_roll=3.0, alerts=("person",)))
        cams.add(Camera("yard", broken.url, clips=True, pre_roll=1.0, alerts=("person",)))
        stop = threading.Event()
        options = WatchOptions(quiet=1.0, backoff_first=30.0)
        watching = threading.Thread(
            target=cams.watch, args=(stop,), kwargs={"options": options}, daemon=True
        )
        watching.start()

        def clipped(camera: str) -> list[CameraEvent]:
            with engine.lock:
                return [
                    e
                    for e in cams.events("1h", camera)
                    if e.clip is not None and e.start >= began + 5
                ]

        wait_for(lambda: bool(clipped("yard")), 120)
        broken.__exit__()  # the yard camera breaks, whatever it is showing
        wait_for(lambda: len(clipped("door")) >= 2, 150)
        stop.set()
        watching.join(300)  # the clips still waiting are written first (a loaded machine)
        assert not watching.is_alive()
    finally:
        broken.__exit__()
        door_camera.__exit__()
    root = engine.paths.root
    with engine.lock:
        events = cams.events("1h")
    engine.close()
    door = [e for e in events if e.camera == "door" and e.clip and e.start >= began + 5]
    assert door, [(e.camera, e.start, e.end, e.clip) for e in events]
    # A clip covers its event, the 3 s before it (held in memory then) and what came in the
    # second of quiet that ended it: longer than the event and its post-roll (2 s at most).
    extra = [clip_frames(e.clip)[-1][0] - (e.end - e.start) for e in door if e.end and e.clip]
    assert max(extra) >= 2.5, [(e.start, e.end, x) for e, x in zip(door, extra, strict=False)]
    # Whole files only: every clip decodes to its end, and no temporary file is left.
    for event in events:
        if event.clip is not None:
            assert event.clip.is_file()
            assert clip_frames(event.clip)
    assert not [p for p in (root / "cameras").rglob(".*") if p.is_file()]
    assert all(e.end is not None for e in events)
