"""Alerts to the owner's MQTT broker, with Home Assistant discovery.

Topics (prefix `regard` by default; a camera's name made topic-safe):

    regard/availability                 online / offline (retained; offline is the will: a
                                        watcher killed is marked offline by the broker)
    regard/<camera>/events              JSON of the event and its phase (start, update, end)
    regard/<camera>/person              ON / OFF (retained): someone is in view
    regard/<camera>/pet, .../car        ON / OFF (retained)
    regard/<camera>/last_person         the name of the last household member recognised with
                                        `camera` consent, or `unknown` (retained)
    regard/<camera>/snapshot            the event's snapshot, JPEG bytes, faces blurred but
                                        those of consented household members (retained)

Home Assistant finds the entities through retained discovery messages under
`homeassistant/<component>/regard_<camera>_<what>/config`, one device per camera, all tied
to the availability topic. Eclipse paho keeps the connection and reconnects (1 s to 60 s); the
sender thread (see `QueuedSink`) retries a message the broker did not acknowledge.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from regard.domain.events import CameraEvent, EventKind, EventPhase
from regard.services.alerts.delivery import QueuedSink, Retry
from regard.services.alerts.payload import event_json, snapshot_bytes
from regard.services.alerts.webhook import Resolver, check_destination

# Imported where they are used: a `regard` command starts without them (test_start_up.py).
if TYPE_CHECKING:
    import paho.mqtt.client as paho

ON, OFF = "ON", "OFF"
ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where and how to reach the broker. `url`: mqtt://[user:password@]host[:port] (1883),
    or mqtts:// for TLS (8883); `ca_file` for a broker whose certificate a private authority
    signed; `insecure` skips the certificate's host name check (a broker reached by IP)."""

    url: str
    prefix: str = "regard"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    ca_file: Path | None = None
    insecure: bool = False
    client_id: str = "regard"
    keepalive: int = 30  # seconds; the broker sends the will after 1.5 times this in silence
    allow_public: bool = False  # the owner allowed a broker on the internet

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @property
    def username(self) -> str | None:
        user = urlsplit(self.url).username
        return unquote(user) if user is not None else None

    @property
    def password(self) -> str | None:
        word = urlsplit(self.url).password
        return unquote(word) if word is not None else None


def topic_part(name: str) -> str:
    """A camera's name as one topic level and a Home Assistant object id: no `/`, `+`, `#`."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_").lower() or "camera"


class MqttSink(QueuedSink):
    name = "mqtt"

    def __init__(
        self,
        settings: MqttSettings,
        *,
        cameras: Sequence[str] = (),
        library_root: Path | None = None,
        retry: Retry | None = None,
        timeout: float = 5.0,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        super().__init__(address=settings.url, secrets=(settings.password or "",), retry=retry)
        self._resolver = resolver
        self._looping = False
        self.settings = settings
        self.library_root = library_root
        self.timeout = timeout
        self._announced: set[str] = set()
        self._cameras = list(dict.fromkeys(cameras))
        self._open: Counter[tuple[str, str]] = Counter()  # (camera, kind) -> events going on
        self._seen: dict[str, EventKind] = {}  # event id -> kind, of events going on
        self._named: dict[str, str] = {}  # camera -> what its last_person says ("": nothing)
        self._state_lock = threading.Lock()
        self._connected = threading.Event()
        self._refused: str | None = None
        self.client = self._client()

    @property
    def availability(self) -> str:
        return f"{self.settings.prefix}/availability"

    def _client(self) -> paho.Client:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        s = self.settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set(
                ca_certs=str(s.ca_file) if s.ca_file else None, cert_reqs=ssl.CERT_REQUIRED
            )
            client.tls_insecure_set(s.insecure)
        client.will_set(self.availability, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(1, 60)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        return client

    # --- the connection (paho's thread) --------------------------------------------------------

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            # Wrong password, not authorised: paho tries again; say why in the log once.
            self._refused = str(reason)
            self._failed(ConnectionRefusedError(str(reason)), "the broker refused the connection")
            return
        self._refused = None
        client.publish(self.availability, ONLINE, qos=1, retain=True)
        with self._state_lock:
            self._announced.clear()
            cameras = list(self._cameras)
        for camera in cameras:
            self._announce(camera)
        self._connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _checked(self) -> str:
        """The broker's address, checked to be on the owner's network (by resolving its name:
        no packet is sent); raises SinkError."""
        host = self.settings.host
        probe = f"http://{f'[{host}]' if ':' in host else host}:{self.settings.port}/"
        return check_destination(
            probe,
            allow_public=self.settings.allow_public,
            resolver=self._resolver,
            shown=self.settings.url,
        )

    def start(self) -> None:
        address = self._checked()
        # Plain MQTT connects to the address checked (and paho reconnects there); TLS needs
        # the name for the certificate, so the name is checked again before each delivery.
        host = self.settings.host if self.settings.tls else address
        self.client.connect_async(host, self.settings.port, keepalive=self.settings.keepalive)
        self.client.loop_start()
        self._looping = True
        self._connected.wait(self.timeout)

    def stop(self) -> None:
        # A clean disconnect does not send the will: say offline ourselves.
        if self._connected.is_set():
            info = self.client.publish(self.availability, OFFLINE, qos=1, retain=True)
            info.wait_for_publish(self.timeout)
        self.client.disconnect()
        if self._looping:
            self.client.loop_stop()

    # --- discovery -----------------------------------------------------------------------------

    def _announce(self, camera: str) -> None:
        """Home Assistant's discovery messages for one camera (retained)."""
        with self._state_lock:
            if camera in self._announced:
                return
            self._announced.add(camera)
            if camera not in self._cameras:
                self._cameras.append(camera)
        if not self.settings.discovery:
            return
        part = topic_part(camera)
        base = f"{self.settings.prefix}/{part}"
        device = {
            "identifiers": [f"regard_{part}"],
            "name": f"{camera} camera",
            "manufacturer": "Regard",
            "model": "Home camera alerts (on this machine)",
        }
        shared = {"availability_topic": self.availability, "device": device}
        entities: list[tuple[str, str, dict[str, Any]]] = [
            (
                "binary_sensor",
                kind,
                {
                    "name": f"{kind.capitalize()} detected",
                    "state_topic": f"{base}/{kind}",
                    "payload_on": ON,
                    "payload_off": OFF,
                    "device_class": "occupancy",
                },
            )
            for kind in ("person", "pet", "car")
        ]
        entities.append(
            ("sensor", "last_person", {"name": "Last person", "state_topic": f"{base}/last_person"})
        )
        entities.append(("camera", "snapshot", {"name": "Snapshot", "topic": f"{base}/snapshot"}))
        for component, what, config in entities:
            unique = f"regard_{part}_{what}"
            payload = {**config, "unique_id": unique, "object_id": unique, **shared}
            self.client.publish(
                f"{self.settings.discovery_prefix}/{component}/{unique}/config",
                json.dumps(payload),
                qos=1,
                retain=True,
            )

    # --- events (the sender thread) ----------------------------------------------------------

    def deliver(self, event: CameraEvent, phase: EventPhase) -> None:
        if not self._looping:
            self.start()  # it was refused before (not on the owner's network then)
        elif self.settings.tls:
            self._checked()
        if not self._connected.wait(self.timeout):
            raise ConnectionError(self._refused or f"not connected to the broker at {self.address}")
        self._announce(event.camera)
        base = f"{self.settings.prefix}/{topic_part(event.camera)}"
        messages: list[tuple[str, bytes | str, bool]] = [
            (f"{base}/events", json.dumps(event_json(event, phase)), False)
        ]
        messages.append((f"{base}/{event.kind.value}", self._state(event, phase), True))
        if event.kind is EventKind.PERSON and event.who is not None:
            messages.append((f"{base}/last_person", event.who, True))
            with self._state_lock:
                self._named[event.camera] = event.who
        if phase is not EventPhase.END:
            jpeg = snapshot_bytes(event, self.library_root)
            if jpeg:
                messages.append((f"{base}/snapshot", jpeg, True))
        infos = [self.client.publish(t, p, qos=1, retain=r) for t, p, r in messages]
        for info in infos:
            info.wait_for_publish(self.timeout)  # raises if the broker never acknowledged

    def last_people(self, last: dict[str, str]) -> None:
        """Each camera's last person as the library has it now (`{camera: who}`): a person
        who withdrew their `camera` consent or was erased is in no event any more, so a
        retained `last_person` that named them is replaced (or cleared: an empty retained
        message), and the retained snapshot that showed their face goes with it."""
        if not self._connected.is_set():
            return
        with self._state_lock:
            cameras = list(dict.fromkeys([*self._cameras, *last]))
            changes = []
            for camera in cameras:
                now = last.get(camera, "")
                was = self._named.get(camera)
                if was == now:
                    continue
                self._named[camera] = now
                changes.append((camera, now, was))
        infos = []
        for camera, now, was in changes:
            base = f"{self.settings.prefix}/{topic_part(camera)}"
            infos.append(self.client.publish(f"{base}/last_person", now, qos=1, retain=True))
            if was is not None:  # it named someone who is gone: so may its snapshot
                infos.append(self.client.publish(f"{base}/snapshot", b"", qos=1, retain=True))
        for info in infos:
            info.wait_for_publish(self.timeout)

    def _state(self, event: CameraEvent, phase: EventPhase) -> str:
        """ON while an event of its kind goes on on the camera, OFF once the last ended.
        Keyed by event id, so a message tried again does not count twice."""
        key = (event.camera, event.kind.value)
        with self._state_lock:
            if phase is EventPhase.END:
                if self._seen.pop(event.id, None) is not None:
                    self._open[key] -= 1
            elif event.id not in self._seen:
                self._seen[event.id] = event.kind
                self._open[key] += 1
            return ON if self._open[key] > 0 else OFF
