"""The watcher over time and under failure, with the real detector: kill -9 loses no finished
event, and ten minutes of footage (read at accelerated time) keep memory flat."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig
from tests.camera_footage import paste_walk, write_video
from tests.conftest import REPO

pytestmark = pytest.mark.slow

CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"


def ended_events(catalog: Path) -> dict[str, tuple[float, float]]:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute(
            "SELECT id, start_time, end_time FROM camera_events WHERE state = 'ended'"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_kill_9_of_the_watcher_loses_no_finished_event(tmp_path, shared_data):
    clips = tmp_path / "nvr"
    clips.mkdir()
    for i in range(4):
        (clips / f"2026-12-01_10-0{i}.mp4").symlink_to(shared_data / CLIP)
    lib = tmp_path / "lib"
    Engine(lib, create=True, config=EngineConfig(workers=0)).close()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "regard", "--library", str(lib), "watch", str(clips)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seen: dict[str, tuple[float, float]] = {}
        deadline = time.monotonic() + 600
        while len(seen) < 6 and time.monotonic() < deadline:
            time.sleep(0.5)
            if (lib / "catalog.sqlite").exists():
                seen = ended_events(lib / "catalog.sqlite")
            assert proc.poll() is None, "the watcher stopped by itself"
        assert len(seen) >= 6, "the watcher wrote too few events in ten minutes"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    after = ended_events(lib / "catalog.sqlite")
    assert seen.items() <= after.items()  # every finished event is there, as it was
    with Engine(lib, config=EngineConfig(workers=0)) as engine:
        engine.cameras.watcher().writer.recover()
        events = engine.cameras.events()
        assert len(events) >= len(after)
        for event in events:
            assert event.end is not None and event.end >= event.start
            assert event.snapshot is not None and event.snapshot.is_file()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_ten_minutes_of_footage_keep_memory_flat(tmp_path, shared_data):
    # A still scene with nothing an alert is about (a giraffe and a zebra), from Debian's
    # darknet package as the person is.
    darknet = REPO / ".cache/darknet/usr/share/darknet/data"
    background = np.asarray(Image.open(darknet / "giraffe.jpg").convert("RGB").resize((480, 360)))
    person = Image.open(darknet / "person.jpg").convert("RGB")
    figure = np.asarray(person.crop((180, 90, 284, 390)).resize((80, 230)))
    minutes = 10
    visits = [(30.0 + 60 * m, 36.0 + 60 * m) for m in range(minutes)]
    clip = write_video(
        tmp_path / "soak.mp4", paste_walk(background, figure, minutes * 60, 5, visits), fps=5
    )
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            samples.append(rss_mb())

    with Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0)) as engine:
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        started = time.monotonic()
        report = engine.cameras.watch_file(clip)
        elapsed = time.monotonic() - started
        done.set()
        watcher.join()
    assert report.errors == [] and report.frames == minutes * 60 * 5
    assert report.looked < report.frames / 3  # motion gating: still frames are skipped
    persons = [e for e in report.events if e.kind.value == "person"]
    assert len(persons) >= minutes - 1, [(e.start, e.end) for e in report.events]
    settled = max(samples[len(samples) // 5 : len(samples) // 5 + 8])
    growth = max(samples[len(samples) // 5 :]) - settled
    print(f"soak: {minutes} min in {elapsed:.0f} s, RSS {settled:.0f} MB, +{growth:.1f} MB")
    assert growth < 40, f"memory grew {growth:.1f} MB over {minutes} minutes of footage"
