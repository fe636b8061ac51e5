"""Sources: a camera that keeps failing is retried with growing waits and never blocks; a
damaged stream's bad packets are skipped; passwords stay out of every message."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest

from regard.cameras.sources import Backoff, LiveReader, read_file
from regard.domain.cameras import Camera
from tests.camera_footage import square_walk, write_video


def test_backoff_doubles_up_to_its_limit_and_resets():
    b = Backoff(1.0, 5.0)
    assert [b.wait() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    b.reset()
    assert b.wait() == 1.0


@pytest.fixture
def slammer():
    """A local TCP server that accepts each connection and closes it at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[float] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_a_camera_that_accepts_and_hangs_up_is_retried_with_back_off(slammer):
    port, accepted = slammer
    camera = Camera("door", f"rtsp://admin:hunter2@127.0.0.1:{port}/live")
    reader = LiveReader(camera, Backoff(0.2, 0.8)).start()
    time.sleep(3.0)
    t0 = time.monotonic()
    reader.stop()
    assert time.monotonic() - t0 < 2.0  # stopping never waits for a dead camera
    assert reader.frames == 0 and 4 <= reader.attempts <= 7
    gaps = [b - a for a, b in itertools.pairwise(accepted)]
    assert gaps[0] >= 0.15 and max(gaps) >= 0.7  # 0.2, 0.4, 0.8, 0.8 ...
    assert all(g < 1.3 for g in gaps)  # never longer than the limit (and a little slack)
    assert reader.failures and not any("hunter2" in f for f in reader.failures)


def test_a_camera_nobody_answers_for_does_not_block_and_is_retried():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connection refused
    reader = LiveReader(Camera("gate", f"rtsp://127.0.0.1:{port}/x"), Backoff(0.1, 0.2)).start()
    assert reader.latest(timeout=1.0) is None
    reader.stop()
    assert reader.attempts >= 3


def test_damaged_packets_in_a_stream_are_skipped(tmp_path):
    clip = write_video(tmp_path / "cam.ts", square_walk(8, fps=10), codec="mpeg2video")
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes(range(256)) * 15 + bytes(160)
    clip.write_bytes(bytes(data))
    camera = Camera("cam", str(clip), detect_fps=10)
    frames = list(read_file(camera, clip))
    assert 50 <= len(frames) <= 80
    assert frames[-1].t > 7.0  # it went on after the damage
