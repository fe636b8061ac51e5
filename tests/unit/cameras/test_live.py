"""A live camera end to end, with the fake detector: an HTTP MJPEG camera served here (as
cheap IP cameras do), watched on its own threads; the visit's times are wall-clock times,
the writer publishes it, and stopping the watcher (Ctrl-C) is clean and quick."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from PIL import Image

from regard.domain.cameras import Camera, WatchOptions
from regard.domain.events import CameraEvent, EventPhase
from regard.testing_objects import SquareObjectDetector
from tests.camera_footage import square_walk


class MjpegCamera:
    """Serves `frames` (looping) as multipart/x-mixed-replace JPEGs at `fps`."""

    def __init__(self, frames, fps: int = 10) -> None:
        self.jpegs = []
        for rgb in frames:
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, "JPEG", quality=90)
            self.jpegs.append(buf.getvalue())
        self.fps = fps
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._stream, args=(conn,), daemon=True).start()

    def _stream(self, conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            conn.sendall(
                b"HTTP/1.0 200 OK\r\n"
                b"Content-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n"
            )
            i = 0
            while not self.stop.is_set():
                jpeg = self.jpegs[i % len(self.jpegs)]
                conn.sendall(
                    b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                    + str(len(jpeg)).encode()
                    + b"\r\n\r\n"
                    + jpeg
                    + b"\r\n"
                )
                i += 1
                time.sleep(1 / self.fps)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.fixture
def camera_server() -> Iterator[MjpegCamera]:
    frames = square_walk(8, fps=10, enter=1, leave=3)
    server = MjpegCamera(frames)
    yield server
    server.close()


class Collect:
    name = "collect"

    def __init__(self) -> None:
        self.seen: list[tuple[EventPhase, CameraEvent]] = []

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        self.seen.append((phase, event))

    def close(self) -> None:
        pass


def test_an_mjpeg_camera_is_watched_live_and_stops_cleanly(fake_engine, camera_server):
    cams = fake_engine.cameras
    cams.detector_factory = lambda: SquareObjectDetector(tolerance=60)
    cams.add(Camera("porch", f"http://user:pw@127.0.0.1:{camera_server.port}/video"))
    sink = Collect()
    stop = threading.Event()
    stopped_at: list[float] = []

    def ctrl_c() -> None:
        deadline = time.time() + 40
        while time.time() < deadline and not any(p is EventPhase.END for p, _ in sink.seen):
            time.sleep(0.2)
        stopped_at.append(time.monotonic())
        stop.set()

    began = time.time()
    threading.Thread(target=ctrl_c, daemon=True).start()
    # The writer runs on this thread (as `regard watch` does): the catalog is used here only.
    watcher = cams.watch(stop, [sink], WatchOptions(quiet=1.5))
    assert time.monotonic() - stopped_at[0] < 10  # a clean stop, quickly
    ends = [e for p, e in sink.seen if p is EventPhase.END]
    assert ends, sink.seen
    event = ends[0]
    assert event.live and event.camera == "porch" and event.kind.value == "person"
    # A visit seen in one frame only starts and ends at that frame's time (the first visit
    # may be cut by connecting to as little as that).
    assert began <= event.start <= event.end <= time.time()
    # The square is in view 2 s of each 8 (a loaded machine looks less often: the times'
    # accuracy is the file tests' to check).
    assert event.end - event.start <= 3.5
    reader = watcher.readers["porch"]
    assert reader.frames > 20 and reader.attempts == 1


def test_a_server_watches_its_cameras_on_a_thread_of_their_own(tmp_path, camera_server):
    """What `regard serve` does: a shared engine, the watcher on its own thread, writing under
    the engine's lock; the server's requests go on meanwhile."""
    from regard.engine import Engine, EngineConfig
    from regard.testing import FakeModels

    engine = Engine(
        tmp_path / "lib", create=True, config=EngineConfig(workers=0), models=FakeModels(),
        shared=True,
    )  # fmt: skip
    try:
        engine.cameras.detector_factory = lambda: SquareObjectDetector(tolerance=60)
        engine.cameras.add(Camera("porch", f"http://127.0.0.1:{camera_server.port}/"))
        sink = Collect()
        watching = engine.cameras.start([sink], WatchOptions(quiet=1.5))
        deadline = time.time() + 40
        while time.time() < deadline and not any(p is EventPhase.END for p, _ in sink.seen):
            with engine.lock:
                engine.status()  # a request, while the cameras are watched
            time.sleep(0.2)
        watching.stop()
        assert not watching.thread.is_alive()
        with engine.lock:
            stored = engine.cameras.events()
        assert {e.id for p, e in sink.seen if p is EventPhase.END} <= {e.id for e in stored}
        assert stored
    finally:
        engine.close()
