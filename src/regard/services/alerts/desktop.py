"""Alerts as desktop notifications (`notify-send`, which speaks D-Bus to the desktop).

Off without a word to the watcher where there is no desktop to notify (a server, no
`notify-send`, no session bus): the log says so once. A notification is shown when an event
starts and when a face in it is named; never for its end.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from regard.domain.events import UNKNOWN, CameraEvent, EventPhase
from regard.services.alerts.delivery import QueuedSink, Retry

log = logging.getLogger("regard.alerts")


def notification(event: CameraEvent) -> tuple[str, str]:
    """The title and text of an event's notification."""
    what = event.label if event.label != event.kind.value else event.kind.value
    if event.who is not None and event.who != UNKNOWN:
        title = f"{event.who} at {event.camera}"
    elif event.who == UNKNOWN:
        title = f"Someone unknown at {event.camera}"
    else:
        title = f"{what.capitalize()} at {event.camera}"
    when = time.strftime("%H:%M:%S", time.localtime(event.start)) if event.live else (
        f"{event.start:.1f} s into the video"
    )  # fmt: skip
    return title, f"{what.capitalize()} seen {when}"


class DesktopSink(QueuedSink):
    name = "desktop"

    def __init__(
        self,
        *,
        library_root: Path | None = None,
        command: str | None = None,
        retry: Retry | None = None,
    ) -> None:
        super().__init__(address="notify-send", retry=retry or Retry(attempts=2))
        self.library_root = library_root
        self.command = command or shutil.which("notify-send")
        self._named: set[str] = set()
        self.available = self._available()

    def _available(self) -> bool:
        if self.command is None:
            log.info("desktop notifications are off: notify-send is not installed (libnotify-bin)")
            return False
        if not (os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("DISPLAY")):
            log.info("desktop notifications are off: no desktop session to show them in")
            return False
        return True

    def publish(self, event: CameraEvent, phase: EventPhase) -> None:
        if not self.available or phase is EventPhase.END:
            return
        # Of the updates, only a face newly named (or found unknown) is worth a notification.
        if phase is EventPhase.UPDATE and (event.who is None or event.id in self._named):
            return
        if event.who is not None:
            self._named.add(event.id)
        super().publish(event, phase)

    def deliver(self, event: CameraEvent, phase: EventPhase) -> None:
        assert self.command is not None
        title, body = notification(event)
        command = [self.command, "--app-name=Regard", "--category=presence", title, body]
        if event.snapshot is not None:
            path = event.snapshot
            if not path.is_absolute() and self.library_root is not None:
                path = self.library_root / path
            command.insert(1, f"--icon={path}")
        subprocess.run(command, check=True, capture_output=True, timeout=10)
