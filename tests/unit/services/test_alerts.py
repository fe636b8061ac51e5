"""The alert sinks' pure parts: addresses without passwords, back-off, what is "the owner's
network", topic names, ON/OFF counting, the web broadcaster's ring and waiting, and the
sink settings kept with the password sealed."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.domain.events import CameraEvent, EventKind, EventPhase
from regard.engine import Engine
from regard.services.alerts import Broadcaster, MqttSettings, MqttSink, Retry, SinkError, redact
from regard.services.alerts.mqtt import topic_part
from regard.services.alerts.webhook import is_local


def event(i: str = "e1", **kw: object) -> CameraEvent:
    fields: dict[str, object] = {
        "id": i, "camera": "door", "kind": EventKind.PERSON, "label": "person", "start": 1.0,
    }  # fmt: skip
    fields.update(kw)
    return CameraEvent(**fields)  # type: ignore[arg-type]


def test_redact_takes_out_user_and_password() -> None:
    assert redact("mqtt://u:p%40ss@10.0.0.2:1883") == "mqtt://***@10.0.0.2:1883"
    assert redact("http://nas.lan/x?y=1") == "http://nas.lan/x?y=1"
    assert redact("http://u:p@[fd00::1]:8/h") == "http://***@[fd00::1]:8/h"


@given(st.text(min_size=1, max_size=20).filter(lambda t: "@" not in t and "/" not in t))
def test_redact_never_shows_the_password(password: str) -> None:
    from urllib.parse import quote

    url = f"mqtt://user:{quote(password, safe='')}@192.168.1.5:1883"
    assert quote(password, safe="") not in redact(url).split("@")[0].replace("mqtt://", "")


def test_back_off_doubles_up_to_the_ceiling() -> None:
    retry = Retry(first=1.0, longest=60.0)
    assert [retry.delay(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [1, 2, 4, 8, 60, 60, 60]


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True), ("::1", True), ("192.168.1.5", True), ("10.1.2.3", True),
        ("172.16.0.9", True), ("169.254.3.3", True), ("fd00::5", True), ("fe80::1%eth0", True),
        ("::ffff:192.168.0.1", True),
        ("8.8.8.8", False), ("93.184.216.34", False), ("2001:4860:4860::8888", False),
        ("::ffff:8.8.8.8", False), ("0.0.0.0", False), ("224.0.0.1", False),
        ("100.64.0.1", False),
    ],
)  # fmt: skip
def test_what_is_the_owners_network(address: str, local: bool) -> None:
    assert is_local(address) is local


def test_topic_part_is_one_safe_level() -> None:
    assert topic_part("Front door") == "front_door"
    assert topic_part("a/b+#c") == "a_b_c"
    assert topic_part("///") == "camera"


def test_on_off_counts_events_by_id_and_survives_a_retry() -> None:
    sink = MqttSink(MqttSettings("mqtt://127.0.0.1:1"))
    try:
        assert sink._state(event("a"), EventPhase.START) == "ON"
        assert sink._state(event("a"), EventPhase.START) == "ON"  # tried again: counted once
        assert sink._state(event("b"), EventPhase.START) == "ON"
        assert sink._state(event("a", end=2.0), EventPhase.END) == "ON"  # b is still there
        assert sink._state(event("a", end=2.0), EventPhase.END) == "ON"
        assert sink._state(event("b", end=3.0), EventPhase.END) == "OFF"
        assert sink._state(event("c", kind=EventKind.PET), EventPhase.START) == "ON"
    finally:
        sink.close()


def test_broadcaster_ring_latest_and_wait() -> None:
    b = Broadcaster(capacity=3)
    for i in range(5):
        b.publish(event(f"e{i % 2}", start=float(i)), EventPhase.UPDATE)
    assert [p.seq for p in b.since(0)] == [3, 4, 5]  # the ring keeps the last 3
    assert [p.seq for p in b.since(4)] == [5]
    assert {k: v.seq for k, v in b.latest().items()} == {"e0": 5, "e1": 4}

    async def waiting() -> list[int]:
        later = threading.Timer(0.1, lambda: b.publish(event("x"), EventPhase.START))
        later.start()
        got = await b.wait(b.last_seq, timeout=5)
        return [p.seq for p in got]

    assert asyncio.run(waiting()) == [6]
    assert asyncio.run(b.wait(b.last_seq, timeout=0.05)) == []


def test_sink_settings_keep_the_password_sealed(fake_engine: Engine) -> None:
    alerts = fake_engine.alerts
    info = alerts.add("mqtt", "mqtt://ha:pa%20ss@192.168.1.5", options={"prefix": "home"})
    assert info.address == "mqtt://ha:***@192.168.1.5"
    stored = json.loads(fake_engine.catalog.runs.setting("alerts.sink.mqtt") or "{}")
    assert "pa ss" not in json.dumps(stored) and "pa%20ss" not in json.dumps(stored)
    sink = alerts.build("mqtt", stored)
    try:
        assert isinstance(sink, MqttSink)
        assert sink.settings.password == "pa ss" and sink.settings.prefix == "home"
    finally:
        sink.close()
    second = alerts.add("webhook", "http://10.0.0.4/h")
    assert second.name == "webhook"
    assert alerts.add("webhook", "http://10.0.0.5/h").name == "webhook-2"
    with pytest.raises(SinkError, match="There is a sink named webhook already"):
        alerts.add("webhook", "http://10.0.0.5/h", name="webhook")
    with pytest.raises(SinkError, match="letters, digits, - and _ only"):
        alerts.add("desktop", name="my sink!")
    with pytest.raises(SinkError, match="is not a mqtt address"):
        alerts.add("mqtt", "http://10.0.0.5/h")
    assert [s.name for s in alerts.sinks()] == ["mqtt", "webhook", "webhook-2"]
    alerts.remove("webhook-2")
    assert [s.name for s in alerts.sinks()] == ["mqtt", "webhook"]


def test_history_filters_and_pages(fake_engine: Engine, tmp_path: Path) -> None:
    alerts = fake_engine.alerts
    for i in range(5):
        kind = EventKind.PET if i % 2 else EventKind.PERSON
        alerts.broadcaster.publish(
            event(f"e{i}", start=100.0 + i, live=True, kind=kind, camera=f"c{i % 3}"),
            EventPhase.START,
        )
    page = alerts.history(limit=2)
    assert [e.id for e in page.events] == ["e4", "e3"] and page.total == 5
    assert [e.id for e in alerts.history(offset=2, limit=2).events] == ["e2", "e1"]
    assert [e.id for e in alerts.history(kind="pet").events] == ["e3", "e1"]
    assert [e.id for e in alerts.history(camera="c0").events] == ["e3", "e0"]
    assert [e.id for e in alerts.history(since=101.5, until=103.5).events] == ["e3", "e2"]
    assert alerts.history().cameras == ["c0", "c1", "c2"]
    assert alerts.snapshot("e1") is None


def test_rekey_seals_the_sinks_passwords_again(tmp_path: Path) -> None:
    from regard.engine import EngineConfig, KeyConfig
    from regard.testing import FakeModels

    def opened(keys: KeyConfig) -> Engine:
        config = EngineConfig(workers=0, keys=keys)
        return Engine(tmp_path / "lib", create=True, config=config, models=FakeModels())

    with opened(KeyConfig(passphrase="first passphrase")) as e:
        e.alerts.add("mqtt", "mqtt://ha:s3cret@192.168.1.5")
        e.rekey(KeyConfig(passphrase="second passphrase"))
    with opened(KeyConfig(passphrase="second passphrase")) as e:
        record = json.loads(e.catalog.runs.setting("alerts.sink.mqtt") or "{}")
        sink = e.alerts.build("mqtt", record)
        try:
            assert isinstance(sink, MqttSink) and sink.settings.password == "s3cret"
        finally:
            sink.close()


def test_the_list_reads_the_stored_events_too(fake_engine: Engine) -> None:
    """After a restart the web sink has seen nothing: the list and the snapshots come from
    what the watcher stored (paths relative to the library), live states win where both."""
    root = fake_engine.paths.root
    (root / "cameras").mkdir(exist_ok=True)
    (root / "cameras" / "s.jpg").write_bytes(b"\xff\xd8jpeg")
    stored = event("old", start=50.0, live=True, end=60.0, snapshot=Path("cameras/s.jpg"))
    with fake_engine.catalog.transaction():
        fake_engine.catalog.cameras.save_event(stored, last_seen=60.0, alert=True, recorded_at=60.0)
    page = fake_engine.alerts.history()
    assert [(e.id, e.phase, e.seq) for e in page.events] == [("old", "end", 0)]
    assert fake_engine.alerts.snapshot("old") == root / "cameras" / "s.jpg"
    assert fake_engine.alerts.snapshot("nope") is None
    fake_engine.alerts.broadcaster.publish(event("new", start=70.0, live=True), EventPhase.START)
    fake_engine.alerts.broadcaster.publish(
        event("old", start=50.0, live=True, who="unknown"), EventPhase.UPDATE
    )
    page = fake_engine.alerts.history()
    assert [(e.id, e.phase) for e in page.events] == [("new", "start"), ("old", "update")]
