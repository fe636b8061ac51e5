"""Where indexing's analysis runs when it is fanned out past one machine: a Ray cluster."""

from __future__ import annotations

import re
from dataclasses import dataclass

from regard.errors import InvalidRequestError

#: `auto`, `ray://host:port` (Ray Client) or `host:port` (a cluster this machine is a node of).
_ADDRESS = re.compile(r"^(?:auto|ray://[\w.\-\[\]:]+:\d{1,5}|[\w.\-\[\]:]+:\d{1,5})$")


@dataclass(frozen=True, slots=True)
class RayCluster:
    """`address`: `auto` attaches to the Ray cluster started on this machine (`ray start`),
    or starts a private one bound to 127.0.0.1 for the run; `ray://head:10001` goes through a
    cluster's Ray Client server; `head:6379` joins from a node of the cluster. `workers`: how
    many analysis workers (one model load each; default: one per CPU the cluster has).
    `batch`: files per task sent to a worker. `in_flight`: tasks queued per worker at most
    (back-pressure: the driver never holds more results than that)."""

    address: str = "auto"
    workers: int | None = None
    batch: int = 4
    in_flight: int = 2

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address):
            raise InvalidRequestError(
                f"--ray {self.address!r} is not a Ray cluster's address: give `auto` (this "
                "machine), ray://HEAD:10001 (a cluster's Ray Client) or HEAD:6379 (from one "
                "of its nodes).",
                web=f"{self.address!r} is not a Ray cluster's address.",
            )
        if self.workers is not None and self.workers < 1:
            raise InvalidRequestError(
                f"--workers must be at least 1 with --ray; {self.workers} is not. Leave it out "
                "to use one worker per CPU of the cluster."
            )
        if self.batch < 1 or self.in_flight < 1:
            raise InvalidRequestError("A Ray batch and the tasks in flight must be at least 1.")
