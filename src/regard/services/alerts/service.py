"""The owner's alert sinks: added, listed, tested, removed; opened for the watcher.

A sink's settings are kept in the catalog's settings (`alerts.sink.<name>`), its address with
the password taken out and sealed with the library's key (AES-GCM): a copy of the catalog
without the key does not give away the broker's password, and no listing ever shows it.

Every destination must be on the owner's own network (loopback, private or link-local
addresses: see `webhook.check_destination`) unless the owner added it with `allow_public`.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from regard.domain.alerts import SINK_KINDS, EventItem, EventPage, SinkInfo, SinkTest
from regard.domain.events import CameraEvent, EventKind, EventPhase, EventSink
from regard.errors import SinkError
from regard.services.alerts.broadcast import Broadcaster, Pushed
from regard.services.alerts.delivery import QueuedSink, Retry, redact
from regard.services.alerts.desktop import DesktopSink
from regard.services.alerts.mqtt import MqttSettings, MqttSink
from regard.services.alerts.webhook import WebhookSettings, WebhookSink, check_destination
from regard.storage.repositories import Store
from regard.storage.sealing import Sealer

log = logging.getLogger("regard.alerts")
PREFIX = "alerts.sink."
SEAL_CONTEXT = "alerts.sink.password"
#: How many stored events the list reads at most (newest first).
STORED_LIMIT = 5000
#: How many events written since the last look `follow` reads at most.
FOLLOW_LIMIT = 500
#: Seconds between two looks at the catalog for events another watcher wrote.
FOLLOW_EVERY = 1.0


def event_item(pushed: Pushed) -> EventItem:
    d = pushed.as_dict()
    return EventItem(
        id=d["id"],
        seq=d["seq"],
        phase=d["phase"],
        camera=d["camera"],
        kind=d["kind"],
        label=d["label"],
        who=d["who"],
        start=d["start"],
        end=d["end"],
        live=d["live"],
        score=d["score"],
        has_snapshot=d["has_snapshot"],
        has_clip=d["has_clip"],
    )


class Alerts:
    def __init__(
        self,
        catalog: Store,
        *,
        sealer: Callable[[], Sealer],
        hold: Callable[[], Any],
        library_root: Path,
        stored: Callable[[int], list[CameraEvent]] | None = None,
        stored_event: Callable[[str], CameraEvent | None] | None = None,
        resolver: Callable[..., Any] | None = None,
        recent: Callable[[float], list[tuple[CameraEvent, float]]] | None = None,
    ) -> None:
        """`stored`: the events the watcher stored, newest first (their snapshots' paths in
        full); `stored_event`: one of them by id. The list of events is those, each in the
        last state this process's web sink saw of it if it saw it."""
        self.catalog = catalog
        self._sealer = sealer
        self._hold = hold
        self.library_root = library_root
        self.broadcaster = Broadcaster()
        self._stored = stored
        self._stored_event = stored_event
        self._resolver = resolver
        self._recent = recent
        self._followed = time.time()  # events written before the server started are listed
        self._looked = 0.0
        self._follow_lock = threading.Lock()

    # --- configuration -------------------------------------------------------------------------

    def add(
        self,
        kind: str,
        address: str | None = None,
        *,
        name: str | None = None,
        allow_public: bool = False,
        options: dict[str, Any] | None = None,
    ) -> SinkInfo:
        """Add a sink (see `regard sinks add --help`): checks the address is on the owner's
        network now, and keeps the password sealed."""
        if kind not in SINK_KINDS:
            raise SinkError(f"Unknown kind of sink {kind!r}: choose {', '.join(SINK_KINDS)}.")
        options = dict(options or {})
        if kind == "desktop":
            address = "notify-send"
        elif not address:
            raise SinkError(f"A {kind} sink needs an address.")
        else:
            address = address.strip()
            self._check(kind, address, allow_public)
        if kind != "desktop":
            options["allow_public"] = allow_public
        with self._hold():
            taken = {s.name for s in self.sinks()}
            name = name or next(
                n for n in [kind, *(f"{kind}-{i}" for i in range(2, 100))] if n not in taken
            )
            if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 40:
                raise SinkError(f"{name!r} cannot name a sink: letters, digits, - and _ only.")
            if name in taken:
                raise SinkError(f"There is a sink named {name} already; remove it first.")
            record = {"kind": kind, "options": options, **self._split(address)}
            with self.catalog.transaction():
                self.catalog.runs.set_setting(PREFIX + name, json.dumps(record))
        return self._info(name, record)

    def _check(self, kind: str, address: str, allow_public: bool) -> None:
        parts = urlsplit(address)
        schemes = ("mqtt", "mqtts") if kind == "mqtt" else ("http", "https")
        if parts.scheme not in schemes or not parts.hostname:
            example = (
                "mqtt://user:password@192.168.1.5:1883"
                if kind == "mqtt"
                else "http://192.168.1.5:8123/api/webhook/door"
            )
            raise SinkError(f"{redact(address)} is not a {kind} address (like {example}).")
        try:
            _ = parts.port
        except ValueError as e:
            raise SinkError(f"{redact(address)}: the port is not a number.") from e
        # The same rule for a broker as for a webhook: the owner's network only.
        probe = urlunsplit(("http", parts.netloc, "/", "", ""))
        check_destination(
            probe,
            allow_public=allow_public,
            resolver=self._resolver or socket.getaddrinfo,
            shown=address,
        )

    def _split(self, address: str) -> dict[str, Any]:
        """The address without its password, and the password sealed."""
        parts = urlsplit(address)
        if parts.password is None:
            return {"address": address}
        sealed = self._sealer().seal(unquote(parts.password).encode(), SEAL_CONTEXT)
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
        bare = urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, ""))
        return {"address": bare, "password": base64.b64encode(sealed).decode()}

    def reseal(self, old: Sealer, new: Sealer) -> int:
        """Seal the sinks' passwords with a new key (`Engine.rekey`, inside its transaction);
        how many. One that the old key cannot open is left as it is (and logged)."""
        done = 0
        for name, record in self._records().items():
            if "password" not in record:
                continue
            try:
                word = old.open(base64.b64decode(record["password"]), SEAL_CONTEXT)
            except Exception:
                log.error("alert sink %s: its password cannot be opened; add it again", name)
                continue
            record["password"] = base64.b64encode(new.seal(word, SEAL_CONTEXT)).decode()
            self.catalog.runs.set_setting(PREFIX + name, json.dumps(record))
            done += 1
        return done

    def _address(self, name: str, record: dict[str, Any]) -> str:
        """The full address, password opened (for connecting only; never shown)."""
        address = str(record["address"])
        if "password" not in record:
            return address
        try:
            word = self._sealer().open(base64.b64decode(record["password"]), SEAL_CONTEXT)
        except Exception as e:
            raise SinkError(
                f"The password of sink {name} cannot be opened with this library's key (was "
                "the key changed?): remove the sink and add it again."
            ) from e
        parts = urlsplit(address)
        user, host = parts.netloc.rsplit("@", 1)
        netloc = f"{user}:{quote(word.decode(), safe='')}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def _records(self) -> dict[str, dict[str, Any]]:
        with self._hold():
            rows = self.catalog.runs.settings(PREFIX)
        return {k.removeprefix(PREFIX): json.loads(v) for k, v in rows.items()}

    def _info(self, name: str, record: dict[str, Any]) -> SinkInfo:
        address = str(record["address"])
        if "password" in record:
            parts = urlsplit(address)
            user, host = parts.netloc.rsplit("@", 1)
            address = urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, ""))
        return SinkInfo(name, str(record["kind"]), address, dict(record.get("options", {})))

    def sinks(self) -> list[SinkInfo]:
        return [self._info(n, r) for n, r in sorted(self._records().items())]

    def remove(self, name: str) -> SinkInfo:
        records = self._records()
        if name not in records:
            raise SinkError(f"There is no sink named {name}; `regard sinks` lists them.",
                            web=f"There is no sink named {name}.")  # fmt: skip
        with self._hold(), self.catalog.transaction():
            self.catalog.runs.delete_setting(PREFIX + name)
        return self._info(name, records[name])

    # --- the watcher's side ------------------------------------------------------------------

    def build(self, name: str, record: dict[str, Any], cameras: Sequence[str] = ()) -> QueuedSink:
        kind = record["kind"]
        options = record.get("options", {})
        if kind == "desktop":
            return DesktopSink(library_root=self.library_root)
        address = self._address(name, record)
        if kind == "mqtt":
            settings = MqttSettings(
                address,
                prefix=options.get("prefix", "regard"),
                discovery=options.get("discovery", True),
                discovery_prefix=options.get("discovery_prefix", "homeassistant"),
                ca_file=Path(options["ca_file"]) if options.get("ca_file") else None,
                insecure=bool(options.get("insecure", False)),
                client_id=options.get("client_id") or f"regard-{uuid.uuid4().hex[:8]}",
                allow_public=bool(options.get("allow_public", False)),
            )
            sink: QueuedSink = MqttSink(
                settings,
                cameras=cameras,
                library_root=self.library_root,
                resolver=self._resolver or socket.getaddrinfo,
            )
        else:
            settings_w = WebhookSettings(
                address,
                with_snapshot=bool(options.get("snapshot", False)),
                allow_public=bool(options.get("allow_public", False)),
            )
            sink = WebhookSink(
                settings_w,
                library_root=self.library_root,
                resolver=self._resolver or socket.getaddrinfo,
            )
        sink.name = name
        return sink

    def open_sinks(self, cameras: Sequence[str] = ()) -> list[EventSink]:
        """Every configured sink, ready for the watcher, and the web app's broadcaster. A
        sink that cannot be built (its password cannot be opened) is left out and logged."""
        out: list[EventSink] = [self.broadcaster]
        for name, record in sorted(self._records().items()):
            try:
                out.append(self.build(name, record, cameras))
            except Exception as e:
                log.error("alert sink %s is off: %s", name, e)
        return out

    def test(self, name: str, timeout: float = 10.0) -> SinkTest:
        """Send a test alert (a person at camera `test`, started and ended) to one sink."""
        records = self._records()
        if name not in records:
            raise SinkError(f"There is no sink named {name}; `regard sinks` lists them.",
                            web=f"There is no sink named {name}.")  # fmt: skip
        sink = self.build(name, records[name], ["test"])
        sink.retry = Retry(first=0.5, longest=1.0, attempts=2)
        if isinstance(sink, MqttSink):
            sink.timeout = 2.0
        if isinstance(sink, DesktopSink) and not sink.available:
            return SinkTest(name, False, "no desktop session here to show notifications in")
        now = time.time()
        event = CameraEvent(
            id=f"test-{uuid.uuid4().hex[:12]}", camera="test", kind=EventKind.PERSON,
            label="person", start=now, live=True, score=1.0,
        )  # fmt: skip
        sink.publish(event, EventPhase.START)
        sink.publish(CameraEvent(**{**_fields(event), "end": now + 1}), EventPhase.END)
        sink.close(timeout)
        ok = sink.stats.sent == 2
        return SinkTest(name, ok, None if ok else sink.stats.last_error or "timed out")

    # --- events another watcher wrote ----------------------------------------------------------

    def follow(self) -> int:
        """Push to the open Events pages what a watcher wrote in the catalog since the last
        look and they have not seen (a `regard watch` in another process; a clip written
        after its event ended; an event that no longer names someone); at most once a
        `FOLLOW_EVERY`. How many were pushed."""
        if self._recent is None:
            return 0
        with self._follow_lock:
            now = time.monotonic()
            if now - self._looked < FOLLOW_EVERY:
                return 0
            self._looked = now
            since = self._followed
            with self._hold():
                rows = self._recent(since)
            latest = self.broadcaster.latest()
            pushed = 0
            for event, at in sorted(rows, key=lambda r: r[1]):
                self._followed = max(self._followed, at)
                seen = latest.get(event.id)
                if seen is not None and _same_state(seen.event, event):
                    continue
                if event.end is not None:
                    phase = EventPhase.END
                else:
                    phase = EventPhase.START if seen is None else EventPhase.UPDATE
                self.broadcaster.publish(event, phase)
                pushed += 1
            return pushed

    def clip(self, event_id: str) -> Path | None:
        """The clip of an event, if it has one (and it still exists)."""
        event = None
        if self._stored_event is not None:
            with self._hold():
                event = self._stored_event(event_id)
        if event is None or event.clip is None:
            return None
        path = event.clip if event.clip.is_absolute() else self.library_root / event.clip
        return path if path.is_file() else None

    # --- the list of events ------------------------------------------------------------------

    def history(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        camera: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> EventPage:
        self.follow()
        items = self._items()
        cameras = sorted({i.camera for i in items})
        chosen = [
            i
            for i in items
            if (camera is None or i.camera == camera)
            and (kind is None or i.kind == kind)
            and (since is None or i.start >= since)
            and (until is None or i.start < until)
        ]
        return EventPage(chosen[offset : offset + limit], len(chosen), offset, limit, cameras)

    def _items(self) -> list[EventItem]:
        live = {i: event_item(p) for i, p in self.broadcaster.latest().items()}
        stored: list[CameraEvent] = []
        if self._stored is not None:
            with self._hold():
                stored = self._stored(STORED_LIMIT)
        for event in stored:
            if event.id not in live:
                phase = EventPhase.START if event.end is None else EventPhase.END
                live[event.id] = event_item(Pushed(0, phase, event))
        return sorted(
            live.values(), key=lambda i: (i.start if i.live else 0.0, i.seq), reverse=True
        )

    def snapshot(self, event_id: str) -> Path | None:
        """The snapshot file of an event (seen live or stored), if it still exists."""
        pushed = self.broadcaster.latest().get(event_id)
        event = pushed.event if pushed is not None else None
        if event is None and self._stored_event is not None:
            with self._hold():
                event = self._stored_event(event_id)
        if event is None or event.snapshot is None:
            return None
        path = event.snapshot
        path = path if path.is_absolute() else self.library_root / path
        return path if path.is_file() else None


def _same_state(a: CameraEvent, b: CameraEvent) -> bool:
    """Would a page show `a` and `b` alike (a stored event the live stream pushed already)?"""
    return (a.end, a.who, a.snapshot is None, a.clip is None) == (
        b.end,
        b.who,
        b.snapshot is None,
        b.clip is None,
    )


def _fields(event: CameraEvent) -> dict[str, Any]:
    return {f: getattr(event, f) for f in CameraEvent.__dataclass_fields__}
