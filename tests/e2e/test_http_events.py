"""Camera events over HTTP, on a real server: the list, the live stream (Server-Sent Events)
receiving an event pushed while connected, reconnection with Last-Event-ID, snapshots, and
sign-in required like every /api route."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from regard.domain.events import CameraEvent, EventKind, EventPhase
from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.testing import FakeModels

PASSWORD = "correct horse battery staple"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    with running(tmp_path / "lib", EngineConfig(workers=0), models=FakeModels()) as srv:
        yield srv


def sign_in(srv: Running) -> httpx.Client:
    client = httpx.Client(base_url=srv.url, timeout=10)
    token = srv.host.accounts.setup_token()
    r = client.post("/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client


def event(i: int, snapshot: Path | None = None, **kw: object) -> CameraEvent:
    fields: dict[str, object] = {
        "id": f"ev{i}", "camera": "door", "kind": EventKind.PERSON, "label": "person",
        "start": 1_800_000_000.0 + i, "live": True, "score": 0.8, "snapshot": snapshot,
    }  # fmt: skip
    fields.update(kw)
    return CameraEvent(**fields)  # type: ignore[arg-type]


def publish(srv: Running, e: CameraEvent, phase: EventPhase) -> None:
    with srv.host.use() as engine:
        broadcaster = engine.alerts.broadcaster
    broadcaster.publish(e, phase)


def listen(client: httpx.Client, headers: dict[str, str], into: queue.Queue[object]) -> None:
    """Read the stream on a thread; each message (a dict of its fields) goes to `into`."""
    with client.stream("GET", "/api/events/stream", headers=headers, timeout=30) as r:
        into.put(r.status_code)
        into.put(r.headers["content-type"])
        message: dict[str, str] = {}
        for line in r.iter_lines():
            if line == "":
                if message:
                    into.put(message)
                    message = {}
                continue
            key, _, value = line.partition(":")
            message[key or "comment"] = value.strip()


def next_event(into: queue.Queue[object], timeout: float = 10) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = into.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(item, dict) and item.get("event") == "camera-event":
            return item
    raise AssertionError("no camera-event")


def test_a_pushed_event_reaches_an_open_stream(server: Running, tmp_path: Path) -> None:
    client = sign_in(server)
    publish(server, event(0), EventPhase.START)  # before connecting: not sent again
    into: queue.Queue[object] = queue.Queue()
    threading.Thread(target=listen, args=(client, {}, into), daemon=True).start()
    assert into.get(timeout=10) == 200
    assert str(into.get(timeout=10)).startswith("text/event-stream")
    assert into.get(timeout=10) == {"retry": "3000", "comment": "connected, events after 1"}
    snap = tmp_path / "snap.jpg"
    Image.new("RGB", (32, 24), (10, 200, 10)).save(snap, "JPEG")
    started = time.monotonic()
    publish(server, event(1, snap, who="unknown"), EventPhase.START)
    message = next_event(into)
    assert time.monotonic() - started < 2
    assert message["id"] == "2"
    data = json.loads(message["data"])
    assert data["id"] == "ev1" and data["phase"] == "start" and data["who"] == "unknown"
    assert data["has_snapshot"] is True and "snap.jpg" not in message["data"]

    # Reconnecting with the last id seen gets what was missed, and nothing twice.
    publish(server, event(1, snap, who="unknown", end=1.0), EventPhase.END)
    publish(server, event(2), EventPhase.START)
    again: queue.Queue[object] = queue.Queue()
    t = threading.Thread(target=listen, args=(client, {"Last-Event-ID": "2"}, again), daemon=True)
    t.start()
    got = [next_event(again), next_event(again)]
    assert [(m["id"], json.loads(m["data"])["phase"]) for m in got] == [
        ("3", "end"),
        ("4", "start"),
    ]

    # The list: each event's last state, newest first; filters.
    page = client.get("/api/events").json()
    assert [(e["id"], e["phase"]) for e in page["events"]] == [
        ("ev2", "start"), ("ev1", "end"), ("ev0", "start"),
    ]  # fmt: skip
    assert page["total"] == 3 and page["cameras"] == ["door"]
    assert client.get("/api/events", params={"kind": "pet"}).json()["total"] == 0
    assert client.get("/api/events", params={"camera": "garden"}).json()["total"] == 0
    assert client.get("/api/events", params={"since": 1_800_000_001.5}).json()["total"] == 1
    assert client.get("/api/events", params={"kind": "ghost"}).status_code == 422

    # The snapshot, as a photo is served; none for an event without one.
    r = client.get("/api/events/ev1/snapshot")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content == snap.read_bytes()
    r = client.get("/api/events/ev2/snapshot")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == (
        "There is no camera event ev2, or it has no snapshot (any more)."
    )


def test_events_need_a_session(server: Running) -> None:
    sign_in(server)  # an owner exists; this client is someone else
    anonymous = httpx.Client(base_url=server.url, timeout=5)
    for path in ("/api/events", "/api/events/stream", "/api/events/ev1/snapshot"):
        r = anonymous.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["type"] == "NotSignedInError"


def test_the_stream_sends_heartbeats_and_ends_with_the_session(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regard.interfaces.http.routes import events as routes

    monkeypatch.setattr(routes, "HEARTBEAT", 0.3)
    client = sign_in(server)
    into: queue.Queue[object] = queue.Queue()
    threading.Thread(target=listen, args=(client, {}, into), daemon=True).start()
    assert into.get(timeout=10) == 200
    into.get(timeout=5)
    into.get(timeout=5)
    assert into.get(timeout=5) == {"comment": "keep-alive"}
    csrf = client.get("/api/session").json()["csrf"]
    assert client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code in (200, 204)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        item = into.get(timeout=5)
        if isinstance(item, dict) and item.get("event") == "signed-out":
            break
    else:
        raise AssertionError("the stream went on after sign-out")


def test_an_open_stream_does_not_hold_up_stopping_the_server(tmp_path: Path) -> None:
    """Ctrl-C on `regard serve` with the Events page open: the stream ends, the server stops."""
    with running(tmp_path / "lib", EngineConfig(workers=0), models=FakeModels()) as srv:
        client = sign_in(srv)
        into: queue.Queue[object] = queue.Queue()
        reader = threading.Thread(target=listen, args=(client, {}, into), daemon=True)
        reader.start()
        assert into.get(timeout=10) == 200
        started = time.monotonic()
        srv.server.should_exit = True
        srv.thread.join(10)
        assert not srv.thread.is_alive()
        assert time.monotonic() - started < 3
        reader.join(5)
        assert not reader.is_alive()


def test_events_a_separate_watcher_writes_reach_an_open_page(
    server: Running, tmp_path: Path
) -> None:
    """`regard watch` in another process writes the catalog only: the stream follows it,
    and the clip it wrote is served (the page plays it)."""
    from tests.camera_footage import square_walk, write_video

    client = sign_in(server)
    into: queue.Queue[object] = queue.Queue()
    threading.Thread(target=listen, args=(client, {}, into), daemon=True).start()
    assert into.get(timeout=10) == 200
    with server.host.use() as engine:
        root = engine.paths.root
    clip = write_video(root / "cameras" / "door" / "clip.mp4", square_walk(1.0))
    written = event(7, who="unknown", end=1_800_000_010.0, clip=Path("cameras/door/clip.mp4"))
    started = time.monotonic()
    with server.host.use() as engine, engine.catalog.transaction():
        engine.catalog.cameras.save_event(
            written, last_seen=written.start, alert=True, recorded_at=time.time()
        )
    message = next_event(into)
    assert time.monotonic() - started < 4  # the catalog is looked at once a second
    data = json.loads(message["data"])
    assert data["id"] == "ev7" and data["phase"] == "end" and data["has_clip"] is True
    assert "clip.mp4" not in message["data"]  # where it lies is the server's business
    r = client.get("/api/events/ev7/clip")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content == clip.read_bytes()
    page = client.get("/api/events").json()
    assert [(e["id"], e["has_clip"]) for e in page["events"]] == [("ev7", True)]
    # Written again (it no longer names anyone, say): pushed again; the same state is not.
    with server.host.use() as engine, engine.catalog.transaction():
        engine.catalog.cameras.forget_who("ev7", time.time())
    again = json.loads(next_event(into)["data"])
    assert again["id"] == "ev7" and again["who"] is None and again["has_clip"] is False
    assert client.get("/api/events/ev7/clip").status_code == 404
    assert client.get("/api/events/nope/clip").json()["error"]["message"] == (
        "There is no camera event nope, or it has no clip (any more)."
    )
