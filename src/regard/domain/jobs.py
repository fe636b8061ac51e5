"""A job: work the library does in the background (indexing; anonymising a video; an export
with videos), with its progress and, once it ends, its report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
#: The process running it stopped (a crash, a kill) before it finished.
INTERRUPTED = "interrupted"
#: What an interrupted anonymise or export job says: nothing of it was kept.
INTERRUPTED_SHARE_MESSAGE = (
    "Regard stopped before this job finished, and nothing of it was kept: start it again."
)
#: Stopped at a user's request; nothing of it is kept.
CANCELLED = "cancelled"
#: What a job counts in `done` and `total`, by its kind.
UNITS = {"index": "files", "anonymise": "frames", "export": "files"}

#: What an interrupted job says, in the web app and the CLI.
INTERRUPTED_MESSAGE = (
    "Regard stopped before this job finished. What it had done is kept; indexing the same "
    "photos again does the rest (the web app does so for uploads when it starts)."
)


@dataclass
class Job:
    id: str
    kind: str
    state: str = QUEUED  # queued | running | done | failed | interrupted | cancelled
    total: int = 0
    done: int = 0
    faces: int = 0
    errors: int = 0
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    report: dict[str, Any] | None = None
    args: dict[str, Any] = field(default_factory=dict)  # what to do: {"folders": [...]}

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    def as_dict(self, where: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The job; with `where`, the paths in its report as that shows them."""
        report = self.report
        if report is not None and where is not None and self.kind == "index":
            report = {
                **report,
                "roots": [where(r) for r in report["roots"]],
                "failures": [{**f, "path": where(f["path"])} for f in report["failures"]],
                "missing": [where(p) for p in report["missing"]],
                "pruned": [where(p) for p in report["pruned"]],
            }
        return {
            "id": self.id,
            "kind": self.kind,
            "unit": UNITS.get(self.kind, "steps"),
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "faces": self.faces,
            "errors": self.errors,
            "message": self.message,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "report": report,
        }
