"""The alert sinks against real servers: Debian's mosquitto with a real subscriber, a webhook
server on 127.0.0.1, a notify-send that records what it was asked to show."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image

from regard.domain.events import UNKNOWN, CameraEvent, EventKind, EventPhase
from regard.services.alerts import (
    DesktopSink,
    MqttSettings,
    MqttSink,
    Retry,
    SinkError,
    WebhookSettings,
    WebhookSink,
    check_destination,
)
from tests.servers import Mosquitto

REPO = Path(__file__).resolve().parents[2]


class Subscriber:
    """A real MQTT client listening to everything; messages as (topic, payload, retained)."""

    def __init__(self, port: int, topic: str = "#") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _on_message(self, _c: object, _u: object, m: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((m.topic, m.payload, bool(m.retain)))

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def wait_for(self, topic: str, payload: bytes | None = None, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(topic)
            if got and (payload is None or payload in got):
                return got[-1] if payload is None else payload
            time.sleep(0.02)
        raise AssertionError(f"nothing on {topic} (want {payload!r}); got {self.messages!r:.2000}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def subscriber(mosquitto: Mosquitto) -> Iterator[Subscriber]:
    sub = Subscriber(mosquitto.port)
    yield sub
    sub.close()


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snap.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path, "JPEG")
    return path


def person(snapshot: Path | None, **kw: object) -> CameraEvent:
    base = CameraEvent(
        id="ev-1", camera="Front door", kind=EventKind.PERSON, label="person",
        start=1_800_000_000.0, live=True, score=0.91, snapshot=snapshot, box=(1, 2, 30, 40),
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def prefix(mosquitto: Mosquitto, tag: str) -> MqttSettings:
    return MqttSettings(mosquitto.url, prefix=f"regard-{tag}", client_id=f"regard-test-{tag}")


# --- MQTT -----------------------------------------------------------------------------------------


def test_mqtt_topics_payloads_discovery_on_off(
    mosquitto: Mosquitto, subscriber: Subscriber, snapshot: Path
) -> None:
    sink = MqttSink(prefix(mosquitto, "a"), cameras=["Front door"])
    base = "regard-a/front_door"
    started = time.monotonic()
    sink.publish(person(snapshot), EventPhase.START)
    assert time.monotonic() - started < 0.05  # the watcher never waits for the broker
    assert subscriber.wait_for(f"{base}/person", b"ON") == b"ON"
    event = json.loads(subscriber.wait_for(f"{base}/events"))
    assert event == {
        "id": "ev-1", "phase": "start", "camera": "Front door", "kind": "person",
        "label": "person", "who": None, "start": 1_800_000_000.0, "end": None, "live": True,
        "score": 0.91, "box": [1, 2, 30, 40], "zones": [], "has_snapshot": True,
        "has_clip": False,
    }  # fmt: skip
    assert str(snapshot) not in json.dumps(event)  # no local path leaves the machine
    assert subscriber.wait_for(f"{base}/snapshot") == snapshot.read_bytes()
    assert subscriber.wait_for("regard-a/availability", b"online")
    sink.publish(person(snapshot, who="Alice"), EventPhase.UPDATE)
    assert subscriber.wait_for(f"{base}/last_person", b"Alice")
    sink.publish(person(snapshot, who="Alice", end=1_800_000_009.0), EventPhase.END)
    assert subscriber.wait_for(f"{base}/person", b"OFF")
    # ON, then OFF at the end; the phases in order on the events topic.
    assert [p for p in subscriber.on(f"{base}/person")][-1] == b"OFF"
    phases = [json.loads(p)["phase"] for p in subscriber.on(f"{base}/events")]
    assert phases == ["start", "update", "end"]
    sink.close()
    assert subscriber.wait_for("regard-a/availability", b"offline")
    assert sink.stats.sent == 3 and sink.stats.failures == 0

    # What Home Assistant finds when it connects later: retained discovery and states.
    late = Subscriber(mosquitto.port, "homeassistant/#")
    try:
        config = json.loads(
            late.wait_for("homeassistant/binary_sensor/regard_front_door_person/config")
        )
        # The broker sends its retained messages one after another: wait for each.
        for entity in ("binary_sensor/regard_front_door_pet",
                       "sensor/regard_front_door_last_person",
                       "camera/regard_front_door_snapshot"):  # fmt: skip
            late.wait_for(f"homeassistant/{entity}/config")
        retained = {t for t, _, r in late.messages if r}
    finally:
        late.close()
    assert config["state_topic"] == f"{base}/person"
    assert config["availability_topic"] == "regard-a/availability"
    assert (config["payload_on"], config["payload_off"]) == ("ON", "OFF")
    assert config["unique_id"] == "regard_front_door_person"
    assert {
        "homeassistant/binary_sensor/regard_front_door_pet/config",
        "homeassistant/sensor/regard_front_door_last_person/config",
        "homeassistant/camera/regard_front_door_snapshot/config",
    } <= retained
    states = Subscriber(mosquitto.port, f"{base}/#")
    try:
        assert states.wait_for(f"{base}/person") == b"OFF"
        assert states.wait_for(f"{base}/last_person") == b"Alice"
    finally:
        states.close()


def test_mqtt_two_people_keep_person_on_until_the_last_leaves(
    mosquitto: Mosquitto, subscriber: Subscriber
) -> None:
    sink = MqttSink(prefix(mosquitto, "b"))
    topic = "regard-b/front_door/person"
    sink.publish(person(None, id="p1"), EventPhase.START)
    sink.publish(person(None, id="p2", who=UNKNOWN), EventPhase.START)
    sink.publish(person(None, id="p1", end=1.0), EventPhase.END)
    subscriber.wait_for("regard-b/front_door/last_person", b"unknown")
    sink.publish(person(None, id="p2", who=UNKNOWN, end=2.0), EventPhase.END)
    subscriber.wait_for(topic, b"OFF")
    sink.close()
    assert subscriber.on(topic) == [b"ON", b"ON", b"ON", b"OFF"]
    # No snapshot, no snapshot message.
    assert subscriber.on("regard-b/front_door/snapshot") == []


def test_mqtt_pet_topic(mosquitto: Mosquitto, subscriber: Subscriber) -> None:
    sink = MqttSink(prefix(mosquitto, "c"))
    cat = person(None, id="c1", kind=EventKind.PET, label="cat", camera="garden")
    sink.publish(cat, EventPhase.START)
    sink.publish(replace(cat, end=5.0), EventPhase.END)
    subscriber.wait_for("regard-c/garden/pet", b"OFF")
    sink.close()
    assert subscriber.on("regard-c/garden/pet") == [b"ON", b"OFF"]
    assert subscriber.on("regard-c/garden/person") == []  # a pet never alerts as a person


def test_mqtt_will_marks_a_killed_watcher_offline(
    mosquitto: Mosquitto, subscriber: Subscriber
) -> None:
    script = textwrap.dedent(
        f"""
        import time
        from regard.domain.events import CameraEvent, EventKind, EventPhase
        from regard.services.alerts import MqttSettings, MqttSink
        s = MqttSettings({mosquitto.url!r}, prefix="regard-kill", client_id="regard-kill",
                         keepalive=2)
        sink = MqttSink(s)
        sink.publish(CameraEvent(id="k", camera="door", kind=EventKind.PERSON,
                                 label="person", start=0.0), EventPhase.START)
        while sink.stats.sent == 0:
            time.sleep(0.05)
        print("sent", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "sent"
        assert subscriber.wait_for("regard-kill/availability", b"online")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        # The broker sends the will after 1.5 keep-alives of silence.
        assert subscriber.wait_for("regard-kill/availability", b"offline", timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_mqtt_password_and_no_credentials_in_the_log(
    mosquitto_auth: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    good = MqttSettings(mosquitto_auth.url, prefix="regard-auth", client_id="regard-auth-ok")
    sink = MqttSink(good, retry=Retry(first=0.1, attempts=2))
    sink.publish(person(None), EventPhase.START)
    sink.close()
    assert sink.stats.sent == 1

    wrong = mosquitto_auth.url.replace("s3cret%20pass", "nope").replace("s3cret pass", "nope")
    caplog.set_level(logging.INFO, "regard.alerts")
    bad = MqttSink(
        MqttSettings(wrong, prefix="regard-auth", client_id="regard-auth-bad", keepalive=5),
        retry=Retry(first=0.1, attempts=2),
        timeout=1.0,
    )
    bad.publish(person(None), EventPhase.START)
    time.sleep(2.5)
    bad.close(timeout=3)
    assert bad.stats.sent == 0 and bad.stats.given_up == 1
    assert "refused" in caplog.text or "not connected" in caplog.text
    assert "nope" not in caplog.text and "s3cret" not in caplog.text
    assert "***@127.0.0.1" in caplog.text


def test_mqtt_broker_down_never_blocks_and_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    caplog.set_level(logging.WARNING, "regard.alerts")
    sink = MqttSink(
        MqttSettings(f"mqtt://127.0.0.1:{port}", client_id="regard-down"),
        retry=Retry(first=0.05, attempts=3),
        timeout=0.3,
    )
    started = time.monotonic()
    for i in range(300):  # more than the queue holds: the oldest give way
        sink.publish(person(None, id=f"e{i}"), EventPhase.START)
    assert time.monotonic() - started < 0.5
    sink.close(timeout=5)
    assert sink.stats.sent == 0
    assert sink.stats.dropped >= 300 - 256
    assert "could not deliver" in caplog.text


# --- webhook ------------------------------------------------------------------------------------


class Hook:
    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, object]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(data))
                hook.headers.append(dict(self.headers))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhook_posts_json_and_snapshot_to_a_local_server(snapshot: Path) -> None:
    hook = Hook()
    try:
        url = hook.url.replace("http://", "http://ha:pw@")
        sink = WebhookSink(WebhookSettings(url, with_snapshot=True))
        sink.publish(person(snapshot), EventPhase.START)
        sink.publish(person(snapshot, end=1_800_000_003.0), EventPhase.END)
        sink.close()
    finally:
        hook.close()
    assert [b["phase"] for b in hook.bodies] == ["start", "end"]
    import base64

    assert base64.b64decode(str(hook.bodies[0]["snapshot_jpeg"])) == snapshot.read_bytes()
    assert "snapshot_jpeg" not in hook.bodies[1]
    assert hook.headers[0]["Authorization"] == "Basic " + base64.b64encode(b"ha:pw").decode()
    assert hook.headers[0]["Content-Type"] == "application/json"


def test_webhook_retries_an_error_answer(caplog: pytest.LogCaptureFixture) -> None:
    hook = Hook(status=503)
    caplog.set_level(logging.WARNING, "regard.alerts")
    try:
        sink = WebhookSink(WebhookSettings(hook.url), retry=Retry(first=0.05, attempts=3))
        sink.publish(person(None), EventPhase.START)
        deadline = time.monotonic() + 5
        while sink.stats.given_up == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        sink.close()
    finally:
        hook.close()
    assert len(hook.bodies) == 3 and sink.stats.given_up == 1
    assert "503" in caplog.text


def fake_resolver(table: dict[str, str]):  # type: ignore[no-untyped-def]
    """getaddrinfo for names in `table` only: a check that resolves, never connects."""

    def resolve(host: str, port: int, **_kw: object) -> list[tuple[object, ...]]:
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)

    return resolve


def test_webhook_refuses_the_internet_by_resolving_only() -> None:
    resolver = fake_resolver({"alerts.example.com": "93.184.216.34", "nas.lan": "192.168.1.7"})
    with pytest.raises(SinkError) as e:
        check_destination("http://alerts.example.com/hook", resolver=resolver)
    assert str(e.value).startswith(
        "http://alerts.example.com/hook is on the internet (93.184.216.34), not on your own "
        "network: Regard sends alerts only to addresses on your network."
    )
    with pytest.raises(SinkError):
        check_destination("http://8.8.8.8/hook")
    with pytest.raises(SinkError):
        check_destination("http://[2001:4860:4860::8888]/hook")
    assert check_destination("http://nas.lan:8123/x", resolver=resolver) == "192.168.1.7"
    assert check_destination("http://[::1]:9/x") == "::1"
    assert check_destination("http://169.254.1.1/x") == "169.254.1.1"
    assert check_destination("http://8.8.8.8/hook", allow_public=True) == "8.8.8.8"
    with pytest.raises(SinkError, match="not a web address"):
        check_destination("ftp://nas.lan/x", resolver=resolver)


def test_webhook_checks_again_before_each_delivery(caplog: pytest.LogCaptureFixture) -> None:
    """A name that resolved to the owner's network when added and to the internet now is
    refused at delivery: nothing is sent."""
    hook = Hook()
    port = hook.server.server_address[1]
    table = {"hooks.lan": "127.0.0.1"}
    caplog.set_level(logging.WARNING, "regard.alerts")
    try:
        sink = WebhookSink(
            WebhookSettings(f"http://hooks.lan:{port}/hook"),
            retry=Retry(first=0.05, attempts=2),
            resolver=fake_resolver(table),
        )
        sink.publish(person(None, id="a"), EventPhase.START)
        deadline = time.monotonic() + 5
        while sink.stats.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        table["hooks.lan"] = "93.184.216.34"
        sink.publish(person(None, id="b"), EventPhase.START)
        sink.close()
    finally:
        hook.close()
    assert [b["id"] for b in hook.bodies] == ["a"]
    assert sink.stats.given_up == 1 and "on the internet" in caplog.text


# --- desktop --------------------------------------------------------------------------------------


def test_desktop_notifies_through_notify_send(
    tmp_path: Path, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "calls.txt"
    tool = tmp_path / "notify-send"
    tool.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {record}\necho >> {record}\n')
    tool.chmod(0o755)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    sink = DesktopSink(command=str(tool))
    sink.publish(person(snapshot, camera="door"), EventPhase.START)
    sink.publish(person(snapshot, camera="door", who="Alice"), EventPhase.UPDATE)
    sink.publish(person(snapshot, camera="door", who="Alice"), EventPhase.UPDATE)  # no news
    sink.publish(person(snapshot, camera="door", who="Alice", end=5.0), EventPhase.END)
    sink.close()
    calls = record.read_text().splitlines()
    assert len(calls) == 2
    assert calls[0].startswith(f"--icon={snapshot}|--app-name=Regard|")
    assert "|Person at door|Person seen " in calls[0]
    assert "|Alice at door|" in calls[1]


def test_desktop_is_off_quietly_without_a_desktop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    caplog.set_level(logging.INFO, "regard.alerts")
    sink = DesktopSink(command="/bin/true")
    for phase in (EventPhase.START, EventPhase.END):
        sink.publish(person(None), phase)
    sink.close()
    assert not sink.available and sink.stats.sent == 0
    assert caplog.text.count("desktop notifications are off") == 1
    assert io  # (imported for symmetry with the other sinks' tests)


def test_mqtt_broker_must_be_on_the_owners_network(
    mosquitto: Mosquitto, subscriber: Subscriber, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker's name is resolved and checked before connecting (plain MQTT then connects
    to the address checked); one on the internet is never connected to."""
    table = {"broker.lan": "127.0.0.1"}
    ok = MqttSink(
        MqttSettings(f"mqtt://broker.lan:{mosquitto.port}", prefix="regard-lan"),
        resolver=fake_resolver(table),
    )
    ok.publish(person(None), EventPhase.START)
    subscriber.wait_for("regard-lan/front_door/person", b"ON")
    ok.close()

    caplog.set_level(logging.WARNING, "regard.alerts")
    table["broker.lan"] = "93.184.216.34"
    started = time.monotonic()
    far = MqttSink(
        MqttSettings(f"mqtt://u:pw@broker.lan:{mosquitto.port}", prefix="regard-far"),
        resolver=fake_resolver(table),
        retry=Retry(first=0.05, attempts=2),
    )
    far.publish(person(None), EventPhase.START)
    far.close()
    assert time.monotonic() - started < 3  # refused at once: nothing to wait for
    assert far.stats.sent == 0 and far.stats.given_up == 1
    assert not far.client.is_connected()
    assert "is on the internet (93.184.216.34)" in caplog.text and "pw@" not in caplog.text
    assert subscriber.on("regard-far/availability") == []
