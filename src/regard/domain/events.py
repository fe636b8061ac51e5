"""Camera events: what a camera saw, as the watcher reports it and the sinks publish it.

An event is one visit: a person, a pet or a car seen by one camera from `start` to `end`. The
watcher sends the same event to every sink three times at most: when it starts
(`EventPhase.START`), when what is known about it changes (a better snapshot, a face named:
`EventPhase.UPDATE`) and when it ends (`EventPhase.END`). Sinks never see a frame, only the
event and its snapshot file, whose faces are already blurred except for household members with
`camera` consent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from regard.domain.result import Result


class EventKind(StrEnum):
    PERSON = "person"
    PET = "pet"
    CAR = "car"


class EventPhase(StrEnum):
    START = "start"
    UPDATE = "update"
    END = "end"


UNKNOWN = "unknown"
"""`CameraEvent.who` for a face seen and matched to nobody the camera may recognise."""


@dataclass(frozen=True, slots=True)
class CameraEvent(Result):
    """One visit seen by one camera.

    `start` and `end` are seconds into the source for a file, POSIX wall-clock seconds for a live
    camera (`live` says which). `who` is a household member's name (recognised with `camera`
    consent), `UNKNOWN` (a face was seen and matched nobody allowed), or None (no face seen, or the
    camera is a public-space one that never recognises). `end` is None while the event is going on.
    """

    id: str
    camera: str
    kind: EventKind
    label: str  # "person", "cat", "dog", "bird", "car", ...
    start: float
    end: float | None = None
    who: str | None = None
    live: bool = False
    score: float = 0.0  # the detector's best confidence for this event
    snapshot: Path | None = None  # best frame, faces blurred except consented household members
    clip: Path | None = None  # optional short clip with pre-roll, blurred the same way
    box: tuple[int, int, int, int] | None = None  # x, y, w, h of the object in the snapshot
    zones: tuple[str, ...] = field(default_factory=tuple)


class EventSink(Protocol):
    """Where events go: the web app, MQTT, a webhook, the desktop. Local destinations only.

    `publish` is called from the watcher's event thread; it must not block for long (queue and send
    on its own thread) and must never raise for a delivery failure (log it, retry with back-off).
    """

    name: str

    def publish(self, event: CameraEvent, phase: EventPhase) -> None: ...

    def close(self) -> None: ...
