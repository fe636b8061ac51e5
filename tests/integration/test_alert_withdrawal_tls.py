"""MQTT with Debian's mosquitto: a person who withdraws their `camera` consent is no longer
named by the retained `last_person` (nor shown by the retained snapshot), and the sink speaks
TLS (mqtts://) to a broker whose certificate a private authority signed, made in the test."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image

from regard.domain.events import CameraEvent, EventKind, EventPhase
from regard.engine import Engine
from regard.services.alerts import MqttSettings, MqttSink, Retry
from tests.integration.test_alert_sinks import Subscriber
from tests.servers import MissingPackageError, Mosquitto, make_certificates


def retained(port: int, topic: str, wait: float = 1.5) -> dict[str, bytes]:
    """What a client connecting now is given as retained under `topic`."""
    got: dict[str, bytes] = {}
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: got.__setitem__(m.topic, m.payload) if m.retain else None
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    time.sleep(wait)
    client.loop_stop()
    client.disconnect()
    return got


def test_withdrawn_consent_clears_the_retained_last_person(
    fake_engine: Engine, mosquitto: Mosquitto
) -> None:
    engine = fake_engine
    engine.privacy.grant("Lin", "camera", evidence_text="asked at the door")
    root = engine.paths.root
    snap = root / "cameras" / "door" / "ev-lin.jpg"
    snap.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), (20, 120, 20)).save(snap, "JPEG")
    event = CameraEvent(
        id="ev-lin", camera="door", kind=EventKind.PERSON, label="person", who="Lin",
        start=1_800_000_000.0, end=1_800_000_005.0, live=True, score=0.9,
        snapshot=Path("cameras/door/ev-lin.jpg"),
    )  # fmt: skip
    with engine.lock, engine.catalog.transaction():
        engine.catalog.cameras.save_event(
            event, last_seen=event.start, alert=True, recorded_at=time.time()
        )
    sink = MqttSink(
        MqttSettings(mosquitto.url, prefix="regard-w", client_id="regard-test-w"),
        cameras=["door"],
        library_root=root,
    )
    watcher = engine.cameras.watcher([sink])
    try:
        sink.publish(event, EventPhase.START)
        sub = Subscriber(mosquitto.port, "regard-w/#")
        try:
            assert sub.wait_for("regard-w/door/last_person", b"Lin")
            assert sub.wait_for("regard-w/door/snapshot") == snap.read_bytes()
        finally:
            sub.close()

        withdrawn = engine.privacy.withdraw("Lin", "camera")
        assert "camera" in withdrawn.withdrawn
        # The library names Lin in no event now, and the snapshot that showed her is gone.
        with engine.lock:
            (stored,) = engine.cameras.events(since="2000-01-01")
        assert stored.who is None and stored.snapshot is None and not snap.exists()
        # The watcher reads the household again (every 30 s; here at once): what Home
        # Assistant is given as retained names nobody and shows no snapshot.
        watcher.refresh()
        left = retained(mosquitto.port, "regard-w/door/#")
        assert "Lin" not in {p.decode(errors="replace") for p in left.values()}
        assert left.get("regard-w/door/last_person", b"") == b""
        assert left.get("regard-w/door/snapshot", b"") == b""
    finally:
        sink.close()


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mosquitto, Path]]:
    folder = tmp_path_factory.mktemp("mosquitto-tls")
    try:
        ca, cert, key = make_certificates(folder / "pki")
        broker = Mosquitto(folder / "broker", tls=(ca, cert, key))
    except MissingPackageError as e:
        pytest.fail(str(e), pytrace=False)
    with broker:
        yield broker, ca


def test_mqtt_over_tls_with_a_private_authority(
    tls_broker: tuple[Mosquitto, Path], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    got: list[tuple[str, bytes]] = []
    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
    sub.on_message = lambda _c, _u, m: got.append((m.topic, m.payload))
    sub.connect("localhost", broker.port)
    sub.subscribe("regard-tls/#", qos=1)
    sub.loop_start()
    event = CameraEvent(
        id="ev-tls", camera="door", kind=EventKind.PERSON, label="person", who="unknown",
        start=1_800_000_000.0, live=True, score=0.9,
    )  # fmt: skip
    try:
        sink = MqttSink(
            MqttSettings(broker.url, prefix="regard-tls", ca_file=ca, client_id="regard-tls"),
            cameras=["door"],
        )
        sink.publish(event, EventPhase.START)
        sink.close(10)
        assert sink.stats.sent == 1 and sink.stats.failures == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and ("regard-tls/door/person", b"ON") not in got:
            time.sleep(0.05)
        assert ("regard-tls/door/person", b"ON") in got
        assert ("regard-tls/door/last_person", b"unknown") in got

        # A broker whose certificate the given authority did not sign is not spoken to.
        other, _c, _k = make_certificates(tmp_path / "other")
        wrong = MqttSink(
            MqttSettings(broker.url, prefix="regard-tls-x", ca_file=other, client_id="x"),
            cameras=["door"],
            retry=Retry(first=0.2, longest=0.5, attempts=2),
            timeout=1.0,
        )
        wrong.publish(event, EventPhase.START)
        wrong.close(8)
        assert wrong.stats.sent == 0 and wrong.stats.failures >= 1
        assert not [t for t, _ in got if t.startswith("regard-tls-x/")]
    finally:
        sub.loop_stop()
        sub.disconnect()
