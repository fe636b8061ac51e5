"""End to end with real parts: an RTSP camera (GStreamer's server, Debian's packages) streams
real footage; the watcher runs it with the real detector; the alert reaches Debian's mosquitto
through the MQTT sink the owner added, and a real subscriber receives it — and the web app's
broadcaster got the same event."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from regard.domain.cameras import Camera
from regard.domain.events import EventPhase
from regard.engine import Engine, EngineConfig
from tests.integration.test_alert_sinks import Subscriber
from tests.servers import MjpegCamera, Mosquitto, RtspCamera

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]
CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"


@pytest.fixture
def camera_with_gaps(shared_data: Path) -> Iterator[RtspCamera]:
    """The stage clip, then 8 s of an empty grey scene, in a loop."""
    with RtspCamera([shared_data / CLIP], gap=8.0) as camera:
        yield camera


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_footage_to_an_mqtt_alert(
    tmp_path: Path, mosquitto: Mosquitto, camera_with_gaps: RtspCamera, transport: str
) -> None:
    sub = Subscriber(mosquitto.port, f"regard-{transport}/#")
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0), shared=True)
    try:
        engine.cameras.add(
            Camera("door", camera_with_gaps.url, alerts=("person",), transport=transport)
        )
        engine.alerts.add("mqtt", mosquitto.url, options={"prefix": f"regard-{transport}"})
        sinks = engine.alerts.open_sinks(["door"])
        stop = threading.Event()
        watcher = threading.Thread(target=engine.cameras.watch, args=(stop, sinks), daemon=True)
        began = time.time()
        watcher.start()
        try:
            # Within two rounds of the loop (the stream was already going when we connected).
            sub.wait_for(f"regard-{transport}/door/person", b"ON", timeout=60)
            received = time.time()
            event = json.loads(sub.wait_for(f"regard-{transport}/door/events"))
        finally:
            stop.set()
            watcher.join(30)
            for sink in sinks:
                sink.close()
        sub.wait_for(f"regard-{transport}/availability", b"offline")
    finally:
        sub.close()
        engine.close()
    assert event["camera"] == "door" and event["kind"] == "person"
    assert event["live"] is True and event["phase"] == "start"
    assert began - 5 < event["start"] <= received
    # The best frame so far followed the alert (an update), as JPEG bytes.
    snapshot = sub.on(f"regard-{transport}/door/snapshot")
    assert snapshot and snapshot[0][:2] == b"\xff\xd8"
    # The web app's Events page got it too (the broadcaster is one of the sinks).
    pushed = [p for p in engine.alerts.broadcaster.since(0) if p.phase is EventPhase.START]
    assert pushed and pushed[0].event.camera == "door"
    # No person alert while only the grey scene was on the stream is checked by the
    # benchmark (bench/alert_latency.py), which counts false alerts over many rounds.
    assert watcher.is_alive() is False


def test_mjpeg_camera_to_the_web_apps_events(
    tmp_path: Path, mjpeg_camera: MjpegCamera, mosquitto: Mosquitto
) -> None:
    """An HTTP MJPEG camera (the kind ESP32-CAMs and cheap cameras speak): the watcher's alert
    reaches the web app's broadcaster and the MQTT broker."""
    sub = Subscriber(mosquitto.port, "regard-mjpeg/#")
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=0), shared=True)
    try:
        engine.cameras.add(Camera("hall", mjpeg_camera.url, alerts=("person",)))
        engine.alerts.add("mqtt", mosquitto.url, options={"prefix": "regard-mjpeg"})
        sinks = engine.alerts.open_sinks(["hall"])
        stop = threading.Event()
        watcher = threading.Thread(target=engine.cameras.watch, args=(stop, sinks), daemon=True)
        watcher.start()
        try:
            sub.wait_for("regard-mjpeg/hall/person", b"ON", timeout=60)
        finally:
            stop.set()
            watcher.join(30)
            for sink in sinks:
                sink.close()
    finally:
        sub.close()
        engine.close()
    pushed = [p for p in engine.alerts.broadcaster.since(0) if p.phase is EventPhase.START]
    assert pushed and pushed[0].event.camera == "hall" and pushed[0].event.kind.value == "person"
