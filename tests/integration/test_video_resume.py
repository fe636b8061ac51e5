"""kill -9 in the middle of a video, run again: the library ends as an uninterrupted run
leaves it — every appearance once, nothing lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.footage_maker import long_script, photo_faces, write_video
from tests.integration.test_resume import committed_photos, regard

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


def snapshot(library: Path) -> tuple[set, list, int]:
    with sqlite3.connect(library / "catalog.sqlite") as conn:
        videos = set(conn.execute("SELECT path, status, content_hash, media, duration FROM photos"))
        appearances = sorted(
            conn.execute(
                "SELECT p.path, f.ordinal, round(f.x), round(f.y), round(f.w), round(f.h),"
                " a.start_time, a.end_time, a.best_time, a.path, a.frames,"
                " (SELECT COUNT(*) FROM embeddings e WHERE e.face_id = f.id)"
                " FROM appearances a JOIN faces f ON f.id = a.face_id"
                " JOIN photos p ON p.id = f.photo_id"
            )
        )
        orphans = conn.execute(
            "SELECT (SELECT COUNT(*) FROM faces WHERE photo_id NOT IN (SELECT id FROM photos))"
            " + (SELECT COUNT(*) FROM appearances WHERE face_id NOT IN (SELECT id FROM faces))"
            " + (SELECT COUNT(*) FROM faces f WHERE photo_id IN"
            "    (SELECT id FROM photos WHERE media = 'video')"
            "    AND NOT EXISTS (SELECT 1 FROM appearances a WHERE a.face_id = f.id))"
        ).fetchone()[0]
    return videos, appearances, orphans


def test_sigkill_mid_video_then_rerun_equals_an_uninterrupted_run(tmp_path, shared_data, analyser):
    folder = tmp_path / "videos"
    faces = photo_faces(shared_data, analyser)
    write_video(folder / "family.mp4", long_script(1.0), faces, shared_data)

    reference = tmp_path / "reference"
    started = time.monotonic()
    done = regard(reference, "index", "--workers", "1", str(folder))
    assert done.wait(timeout=600) == 0, done.stderr.read().decode()
    took = time.monotonic() - started
    expected = snapshot(reference)
    assert len(expected[1]) >= 5 and expected[2] == 0

    interrupted = tmp_path / "interrupted"
    proc = regard(interrupted, "index", "--workers", "1", str(folder))
    # Most of a run is the video's analysis: past half of it, the video is being analysed.
    time.sleep(0.6 * took)
    assert proc.poll() is None, "the run finished before it could be killed"
    assert committed_photos(interrupted, "video") == 0, "the video was stored before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    rerun = regard(interrupted, "index", "--workers", "1", str(folder))
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode()
    assert snapshot(interrupted) == expected
    # A third run changes nothing.
    again = regard(interrupted, "index", "--workers", "1", str(folder))
    assert again.wait(timeout=600) == 0
    assert snapshot(interrupted) == expected
