"""The camera test servers are real: frames come out of the RTSP camera over TCP and UDP and
out of the MJPEG camera, and mosquitto relays a message (the fixtures the camera tests use)."""

from __future__ import annotations

import itertools
import time

import av
import pytest

from tests.servers import MjpegCamera, Mosquitto, RtspCamera

pytestmark = pytest.mark.needs_shared


def read_frames(url: str, count: int, **options: str) -> list[av.VideoFrame]:
    frames = []
    with av.open(url, options=options, timeout=15) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == count:
                break
    return frames


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_camera_streams_real_footage(rtsp_camera: RtspCamera, transport: str) -> None:
    frames = read_frames(rtsp_camera.url, 15, rtsp_transport=transport)
    assert len(frames) == 15
    assert (frames[0].width, frames[0].height) == (640, 360)
    # Real footage, not a test pattern: the picture varies and is not one flat colour.
    pixels = [f.to_ndarray(format="gray") for f in frames]
    assert pixels[0].std() > 20
    assert any((a != b).mean() > 0.01 for a, b in itertools.pairwise(pixels))
    # The camera says when each clip began, for the latency benchmark.
    assert rtsp_camera.segments and rtsp_camera.segments[0]["frames"] > 50


def test_mjpeg_camera_streams_real_footage(mjpeg_camera: MjpegCamera) -> None:
    frames = []
    with av.open(mjpeg_camera.url, format="mpjpeg", timeout=15) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == 5:
                break
    assert len(frames) == 5
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert frames[0].to_ndarray(format="gray").std() > 20


def test_mosquitto_relays_a_message(mosquitto: Mosquitto) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: got.append(m.payload)
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe("test/#", qos=1)
    client.loop_start()
    try:
        time.sleep(0.3)
        client.publish("test/hello", b"world", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.loop_stop()
        client.disconnect()
    assert got == [b"world"]
