"""An event as the sinks send it: JSON without local paths, and its snapshot's bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regard.domain.events import CameraEvent, EventPhase


def event_json(event: CameraEvent, phase: EventPhase) -> dict[str, Any]:
    """The event and its phase. Where the snapshot lies on this machine is nobody else's
    business: `has_snapshot` says whether there is one (the MQTT sink sends its bytes)."""
    return {
        "id": event.id,
        "phase": phase.value,
        "camera": event.camera,
        "kind": event.kind.value,
        "label": event.label,
        "who": event.who,
        "start": event.start,
        "end": event.end,
        "live": event.live,
        "score": round(event.score, 3),
        "box": list(event.box) if event.box is not None else None,
        "zones": list(event.zones),
        "has_snapshot": event.snapshot is not None,
        "has_clip": event.clip is not None,
    }


def snapshot_bytes(event: CameraEvent, root: Path | None = None, limit: int = 8 * 2**20) -> bytes:
    """The snapshot's JPEG (relative paths are under `root`, the library folder); empty if
    there is none or it is gone (retention may have removed it)."""
    if event.snapshot is None:
        return b""
    path = event.snapshot if root is None or event.snapshot.is_absolute() else root / event.snapshot
    try:
        with path.open("rb") as f:
            return f.read(limit)
    except OSError:
        return b""
