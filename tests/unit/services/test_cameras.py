"""The camera service on a library with the fake models: set-up, events in the catalog,
retention, and events a killed watcher left open."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from regard.domain.cameras import Camera, parse_mask
from regard.domain.events import CameraEvent, EventKind, EventPhase
from regard.errors import CameraExistsError, CameraNotFoundError, InvalidRequestError
from regard.testing_objects import SquareObjectDetector
from tests.camera_footage import square_walk, write_video


class Collect:
    name = "collect"

    def __init__(self) -> None:
        self.seen: list[tuple[EventPhase, CameraEvent]] = []

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        self.seen.append((phase, event))

    def close(self) -> None:
        pass


@pytest.fixture
def cams(fake_engine):
    fake_engine.cameras.detector_factory = lambda: SquareObjectDetector(tolerance=60)
    return fake_engine.cameras


def test_cameras_are_set_up_changed_and_removed(cams):
    cams.add(Camera("door", "rtsp://admin:pw@10.0.0.2/live", night_only=("person",)))
    with pytest.raises(CameraExistsError) as err:
        cams.add(Camera("door", "/dev/video0"))
    assert str(err.value).startswith("A camera called 'door' is already set up")
    with pytest.raises(InvalidRequestError):
        cams.add(Camera("bad name!", "/dev/video0"))
    with pytest.raises(InvalidRequestError, match="not a camera source"):
        cams.add(Camera("ftp", "ftp://x/y"))
    with pytest.raises(InvalidRequestError, match="no-such-folder: no such file or folder"):
        cams.add(Camera("nvr", "no-such-folder"))
    cams.change("door", masks=(parse_mask("0,0,320,120"),))
    door = cams.get("door")
    assert door.masks[0].as_text() == "0,0,320,0,320,120,0,120"
    assert door.night_only == ("person",) and door.source.endswith("@10.0.0.2/live")
    assert [c.name for c in cams.all()] == ["door"]
    cams.remove("door")
    with pytest.raises(CameraNotFoundError, match="No camera called 'door'"):
        cams.get("door")


def test_a_file_gives_its_events_stored_with_snapshots(cams, tmp_path):
    clip = write_video(tmp_path / "front.mp4", square_walk(6, fps=10, enter=1, leave=3))
    sink = Collect()
    report = cams.watch_file(clip, sinks=[sink])
    assert report.errors == []
    assert len(report.events) == 1
    event = report.events[0]
    assert (event.camera, event.kind, event.label) == ("front", EventKind.PERSON, "person")
    assert 0.9 <= event.start <= 1.3 and 2.6 <= event.end <= 3.1
    assert event.snapshot is not None and event.snapshot.is_file()
    # The start goes out at once; its snapshot follows as an update (issue 13: alerts sooner).
    assert [p for p, _ in sink.seen] == [EventPhase.START, EventPhase.UPDATE, EventPhase.END]
    assert sink.seen[0][1].snapshot is None and sink.seen[1][1].snapshot == event.snapshot
    stored = cams.events(since="today")
    assert [e.id for e in stored] == [event.id] and stored[0].snapshot == event.snapshot


def test_a_broken_file_in_a_folder_is_skipped_with_a_clear_error(cams, tmp_path):
    folder = tmp_path / "clips"
    write_video(folder / "a.mp4", square_walk(5, fps=10))
    (folder / "b.mp4").write_bytes(b"this is not a video" * 100)
    good = (folder / "a.mp4").read_bytes()
    (folder / "c.mp4").write_bytes(good[: len(good) // 2])  # cut short
    write_video(folder / "d.mp4", square_walk(5, fps=10))
    old = time.time() - 60
    for f in folder.iterdir():
        os.utime(f, (old, old))
    report = cams.watch_file(folder)
    # An MP4 cut short has lost its index (at its end): it cannot be opened either.
    assert [e.source for e in report.errors] == [str(folder / "b.mp4"), str(folder / "c.mp4")]
    assert str(report.errors[0]).startswith(
        f"Camera 'clips' ({folder / 'b.mp4'}): it is not a video FFmpeg can read (truncated or "
        "damaged, or not a video at all)."
    )
    assert len(report.events) == 2  # a.mp4 and d.mp4: the watcher went on


def test_retention_deletes_old_events_and_their_files(cams, tmp_path):
    cams.add(Camera("front", "/dev/video9", retention_days=2))
    clip = write_video(tmp_path / "front.mp4", square_walk(5, fps=10))
    event = cams.watch_file(clip, camera="front").events[0]
    assert event.snapshot.is_file()
    assert cams.apply_retention(now=time.time() + 86400) == {
        "events_deleted": 0,
        "unknown_faces_deleted": 0,
    }
    assert cams.apply_retention(now=time.time() + 3 * 86400)["events_deleted"] == 1
    assert not event.snapshot.exists()
    assert cams.events() == []


def test_events_a_killed_watcher_left_open_end_where_last_seen(cams, fake_engine):
    catalog = fake_engine.catalog
    open_event = CameraEvent("e1", "door", EventKind.PET, "cat", start=100.0, live=True)
    with catalog.transaction():
        catalog.cameras.save_event(open_event, last_seen=130.0, alert=True, recorded_at=100.0)
    writer = cams.watcher().writer
    assert writer.recover() == ["e1"]
    (event,) = cams.events()
    assert (event.start, event.end) == (100.0, 130.0)


def test_since_is_checked(cams):
    with pytest.raises(InvalidRequestError, match="give today, yesterday"):
        cams.events(since="last tuesday")
    assert cams.events(since="2h") == []


def test_no_such_file(cams, tmp_path):
    with pytest.raises(InvalidRequestError, match="no such file"):
        cams.watch_file(Path(tmp_path / "nope.mp4"))


def test_unknown_faces_are_listed_discarded_and_expire(cams, fake_engine):
    catalog = fake_engine.catalog
    event = CameraEvent("e2", "door", EventKind.PERSON, "person", start=1.0, end=2.0, who="unknown")
    crop = fake_engine.paths.root / "cameras" / "door" / "e2-face.jpg"
    crop.parent.mkdir(parents=True)
    crop.write_bytes(b"jpeg")
    with catalog.transaction():
        catalog.cameras.save_event(event, last_seen=2.0, alert=True, recorded_at=time.time())
        catalog.cameras.add_unknown_face("e2", Path("cameras/door/e2-face.jpg"), time.time() + 60)
    (face,) = cams.unknown_faces()
    assert face.event == "e2" and face.path == str(crop)
    with pytest.raises(InvalidRequestError, match="No unknown face #99"):
        cams.discard_unknown(99)
    cams.discard_unknown(face.id)
    assert cams.unknown_faces() == [] and not crop.exists()
