"""Alert sinks as the owner configured them, and the list of camera events, as answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regard.domain.result import Result

SINK_KINDS = ("mqtt", "webhook", "desktop")


@dataclass(frozen=True, slots=True, eq=False)
class SinkInfo(Result):
    """A configured sink. `address` never shows a password (`***`)."""

    name: str
    kind: str  # mqtt, webhook, desktop
    address: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class SinkTest(Result):
    """What happened when a test alert was sent to a sink."""

    name: str
    delivered: bool
    error: str | None  # why not, without credentials


@dataclass(frozen=True, slots=True, eq=False)
class EventItem(Result):
    """One camera event in the list: its last known state."""

    id: str
    seq: int  # the order events were published in (the live stream's id)
    phase: str  # start, update or end
    camera: str
    kind: str
    label: str
    who: str | None
    start: float
    end: float | None
    live: bool
    score: float
    has_snapshot: bool
    has_clip: bool = False  # a short clip with pre-roll, blurred as the snapshot


@dataclass(frozen=True, slots=True, eq=False)
class EventPage(Result):
    """Events newest first, filtered; `total` of them match; `cameras` to filter by."""

    events: list[EventItem]
    total: int
    offset: int
    limit: int
    cameras: list[str]
