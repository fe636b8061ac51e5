"""Stage times: where an analysis spends its time, for the profile `bench/ingest.py` prints.

An `Analyser` given a `StageTimes` adds each stage's thread CPU time and wall time to it;
without one (indexing, the default) timing costs nothing but a no-op context manager.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: The stages, in the order a photo goes through them.
STAGES = (
    "read+header",
    "decode for detection",
    "detection",
    "crop decode",
    "align+embed",
    "hashing",
)


@dataclass
class StageTimes:
    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        c, w = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[stage] = self.cpu.get(stage, 0.0) + time.thread_time() - c
            self.wall[stage] = self.wall.get(stage, 0.0) + time.perf_counter() - w
            self.calls[stage] = self.calls.get(stage, 0) + 1

    def add(self, other: StageTimes) -> None:
        for stage, seconds in other.cpu.items():
            self.cpu[stage] = self.cpu.get(stage, 0.0) + seconds
            self.wall[stage] = self.wall.get(stage, 0.0) + other.wall[stage]
            self.calls[stage] = self.calls.get(stage, 0) + other.calls[stage]
