"""The web app's sink: events pushed to the browsers that have the Events page open.

Every event the watcher publishes gets a sequence number and goes into a ring of the last
`capacity`; a browser's stream (Server-Sent Events) sends what is newer than the number it saw
last (`Last-Event-ID` when it reconnects), then waits for the next. Publishing never blocks:
it appends and wakes the waiting streams (asyncio events, woken on their own loop). The ring
is also the list of recent events until the catalog's list is there (see `Alerts.history`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from regard.domain.events import CameraEvent, EventPhase
from regard.services.alerts.payload import event_json


@dataclass(frozen=True, slots=True)
class Pushed:
    """One event as it was published: its sequence number, phase and the event."""

    seq: int
    phase: EventPhase
    event: CameraEvent

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, **event_json(self.event, self.phase)}


class Broadcaster:
    name = "web"

    def __init__(self, capacity: int = 1000) -> None:
        self._ring: deque[Pushed] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        with self._lock:
            self._seq += 1
            self._ring.append(Pushed(self._seq, phase, event))
            waiters = list(self._waiters)
        for loop, ready in waiters:
            try:
                loop.call_soon_threadsafe(ready.set)
            except RuntimeError:  # that browser's loop is gone
                self._waiters.discard((loop, ready))

    def close(self) -> None:
        self.closed = True
        with self._lock:
            waiters = list(self._waiters)
        for loop, ready in waiters:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ready.set)

    @property
    def last_seq(self) -> int:
        return self._seq

    def since(self, seq: int) -> list[Pushed]:
        """What was published after `seq` (all that the ring still holds if it is older)."""
        with self._lock:
            return [p for p in self._ring if p.seq > seq]

    def latest(self) -> dict[str, Pushed]:
        """Each event id's last known state (its last phase), newest first."""
        with self._lock:
            items = list(self._ring)
        out: dict[str, Pushed] = {}
        for pushed in reversed(items):
            out.setdefault(pushed.event.id, pushed)
        return out

    async def wait(self, after: int, timeout: float) -> list[Pushed]:
        """What is published after `after`, waiting up to `timeout` seconds for something."""
        ready = asyncio.Event()
        waiter = (asyncio.get_running_loop(), ready)
        with self._lock:
            self._waiters.add(waiter)
        try:
            new = self.since(after)
            if not new and not self.closed:
                try:
                    await asyncio.wait_for(ready.wait(), timeout)
                except TimeoutError:
                    return []
                new = self.since(after)
            return new
        finally:
            with self._lock:
                self._waiters.discard(waiter)
