"""What every alert sink shares: a bounded queue, a sender thread, retries with back-off.

The watcher calls `publish` from its event thread; it must never wait for a broker or a web
server that is slow or gone. So `publish` only queues (a full queue drops its oldest message:
an alert minutes old is worth less than the one now), and the sender thread delivers, trying
again after 1, 2, 4 ... up to 60 seconds while the destination is unreachable. A message that
keeps failing is given up after `attempts` tries. Nothing here raises into the watcher; every
failure is logged with the sink's name and its address without credentials (`redact`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from regard.domain.events import CameraEvent, EventPhase

log = logging.getLogger("regard.alerts")


def redact(url: str) -> str:
    """`url` without its user name and password: what a log line or a listing may show."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class Retry:
    """How a sink tries again: `first` seconds, doubling up to `longest`, `attempts` in all."""

    first: float = 1.0
    longest: float = 60.0
    attempts: int = 8

    def delay(self, failures: int) -> float:
        return float(min(self.longest, self.first * 2 ** max(0, failures - 1)))


@dataclass(slots=True)
class DeliveryStats:
    """What a sink did: sent, failed tries, given up, dropped (the queue was full)."""

    sent: int = 0
    failures: int = 0
    given_up: int = 0
    dropped: int = 0
    last_error: str | None = None
    sent_at: list[float] = field(default_factory=list)  # the last few, for tests and benchmarks


class QueuedSink:
    """An `EventSink` that delivers on its own thread. Subclasses write `deliver`, which
    raises on failure (any exception: it is logged, never passed on) and may override `start`
    and `stop` (called on the sender thread before the first and after the last message)."""

    name = "sink"

    def __init__(
        self,
        *,
        address: str,
        secrets: tuple[str, ...] = (),
        capacity: int = 256,
        retry: Retry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = redact(address)
        self._secrets = tuple(s for s in secrets if s)
        self.retry = retry or Retry()
        self.stats = DeliveryStats()
        self._queue: queue.Queue[tuple[CameraEvent, EventPhase] | None] = queue.Queue(capacity)
        self._closing = threading.Event()
        self._clock = clock
        self._thread = threading.Thread(target=self._run, name=f"regard-{self.name}", daemon=True)
        self._started = False
        self._deadline = float("inf")
        self._lock = threading.Lock()

    # --- the watcher's side ------------------------------------------------------------------

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        if self._closing.is_set():
            return
        self._ensure_started()
        while True:
            try:
                self._queue.put_nowait((event, phase))
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.stats.dropped += 1
                    log.warning(
                        "%s (%s): queue full, dropped the oldest alert", self.name, self.address
                    )
                except queue.Empty:
                    pass

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (for at most `timeout` seconds), then stop."""
        if self._closing.is_set():
            return
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        if self._started:
            # The sentinel: a full queue's oldest gives way, as in publish.
            while True:
                try:
                    self._queue.put(None, timeout=0.1)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()
            self._thread.join(timeout)

    def _ensure_started(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    # --- the sender thread -------------------------------------------------------------------

    def start(self) -> None:
        """Connect, if the sink keeps a connection (called once, on the sender thread)."""

    def stop(self) -> None:
        """Disconnect (called once, on the sender thread, after the last message)."""

    def deliver(self, event: CameraEvent, phase: EventPhase) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self.start()
        except Exception as e:  # a broker down at start is retried with the first message
            self._failed(e, "could not connect")
        given_up_before = 0
        try:
            while True:
                if not self._closing.is_set():
                    given_up_before = self.stats.given_up
                item = self._queue.get()
                if item is None:
                    break
                unreachable = self._closing.is_set() and self.stats.given_up > given_up_before
                if self._closing.is_set() and (time.monotonic() > self._deadline or unreachable):
                    # Closing took its time, or the destination is gone: what is left is
                    # given up, not sent late.
                    self.stats.given_up += 1
                    continue
                self._send(*item)
        finally:
            try:
                self.stop()
            except Exception as e:
                self._failed(e, "could not disconnect cleanly")

    def _send(self, event: CameraEvent, phase: EventPhase) -> None:
        failures = 0
        while True:
            try:
                self.deliver(event, phase)
            except Exception as e:
                failures += 1
                self.stats.failures += 1
                self._failed(e, f"could not deliver event {event.id} ({phase.value})")
                if failures >= self.retry.attempts or (self._closing.is_set() and failures >= 2):
                    self.stats.given_up += 1
                    log.error(
                        "%s (%s): gave up on event %s (%s) after %d tries",
                        self.name, self.address, event.id, phase.value, failures,
                    )  # fmt: skip
                    return
                # Closing cuts the wait short: one more try, then the message is given up.
                self._closing.wait(self.retry.delay(failures))
                continue
            self.stats.sent += 1
            self.stats.sent_at = [*self.stats.sent_at[-99:], self._clock()]
            return

    def _failed(self, error: Exception, what: str) -> None:
        # The error's text may quote the address it failed on: the redacted address only.
        text = f"{type(error).__name__}: {error}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        self.stats.last_error = text
        log.warning("%s (%s): %s: %s", self.name, self.address, what, text)
