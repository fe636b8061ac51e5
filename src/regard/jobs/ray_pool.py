"""Indexing's analysis fanned out to a Ray cluster: the contract of `AnalysisPool.map_unordered`
(files in, `(path, PhotoAnalysis | PhotoFailure)` out, in any order) with the work done by Ray
actors instead of this machine's worker processes. Nothing else changes: the ingestor writes
every result through the catalog's one writer in this process (the driver), so a run on Ray
gives the library a local run gives.

Each actor loads the models once and analyses batches of files (`analyse_one`, as a local
worker does), at most `in_flight` batches queued per actor so the driver holds a bounded
number of results. Workers read the files by path: on a cluster of several machines the photos
must be at the same path on every node (a shared mount). A worker that dies (killed, its node
lost, or a file that crashes the decoder) loses nothing: its unfinished batches are sent again,
each file alone; a file that takes a worker down twice on its own is reported as a crash, as a
local run reports it. A batch that overruns its time (the sum of its files' limits) has its
worker stopped, and its files are tried alone likewise.

Ray keeps to the machine or the owner's cluster: usage statistics off (`RAY_USAGE_STATS_ENABLED
=0`, set before Ray starts), no dashboard, and with `auto` a private cluster bound to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from regard.domain.cluster import RayCluster
from regard.domain.photo import is_video
from regard.errors import ClusterError, RegardError
from regard.jobs.pool import (
    VIDEO_TIMEOUT_FACTOR,
    Result,
    _crashed,
    _log_notes,
    _timed_out,
    analyse_one,
    failed,
    limit_memory,
    memory_headroom,
)
from regard.logs import NativeStderr
from regard.pipeline.analyse import AnalysisSettings
from regard.pipeline.models import ModelLoader

log = logging.getLogger("regard.ray")

#: What Ray is told (environment of the processes it starts, and `ray.init`'s options) so that
#: it sends nothing anywhere: no usage statistics, no dashboard, nothing streamed to the terminal.
PRIVATE_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0"}
#: Ray on this machine only: its own address is loopback (Ray's switch for a one-machine Ray).
LOCAL_ONLY_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
#: A private cluster (`auto` with no cluster running here) listens on loopback only.
LOCAL_NODE_ADDRESS = "127.0.0.1"
#: Times a file may take a worker down on its own before it is reported as a crash.
CRASHES_ALLOWED = 2

RAY_MISSING = (
    "Indexing on a Ray cluster (--ray) needs Ray, which is not installed here. Install it "
    "with `pip install 'regard[ray]'` (scripts/setup test does), or leave out --ray."
)


def ray_environment(cluster: RayCluster | None) -> dict[str, str]:
    """What Ray's processes are told through their environment: no usage statistics; and for
    a cluster on this machine (`auto`, or a loopback address), that it is one machine's Ray,
    so that Ray names this node 127.0.0.1 instead of looking for its address on the network."""
    local = cluster is not None and (
        cluster.address == "auto"
        or cluster.address.removeprefix("ray://").rsplit(":", 1)[0]
        in ("127.0.0.1", "localhost", "[::1]")
    )
    return {**PRIVATE_ENVIRONMENT, **(LOCAL_ONLY_ENVIRONMENT if local else {})}


def require_ray(cluster: RayCluster | None = None) -> ModuleType:
    """The `ray` module, or a `ClusterError` that says how to install it. Ray's environment
    (`ray_environment`) is set first: Ray reads it when imported and its processes inherit it."""
    os.environ.update(ray_environment(cluster))
    try:
        import ray
    except ImportError:
        raise ClusterError(
            RAY_MISSING, web="Indexing on a Ray cluster needs Ray, which is not installed."
        ) from None
    return ray


def init_options(cluster: RayCluster, *, start: bool) -> dict[str, Any]:
    """`ray.init`'s options: joining the cluster at `cluster.address`, or (`start`) starting a
    private one on this machine."""
    # Ray's own notices ("Started a local Ray instance") would break into the progress bar.
    common: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "namespace": "regard",
    }
    if not start:
        return {**common, "address": cluster.address}
    return {
        **common,
        # A new instance, even where another cluster's address is known here (RAY_ADDRESS, or
        # the latest `ray start`): with no address, Ray would join that one instead.
        "address": "local",
        "include_dashboard": False,
        "_node_ip_address": LOCAL_NODE_ADDRESS,
        "num_cpus": cluster.workers or os.cpu_count() or 1,
    }


def connect(ray: ModuleType, cluster: RayCluster) -> bool:
    """Join (or with `auto`, find or start) the cluster; True if this call connected (and its
    caller disconnects), False if this process was connected already."""
    os.environ.update(ray_environment(cluster))  # before Ray starts any process
    if ray.is_initialized():
        return False
    try:
        ray.init(**init_options(cluster, start=False))
    except ConnectionError as exc:
        if cluster.address != "auto":
            raise ClusterError(
                f"Cannot reach the Ray cluster at {cluster.address} ({exc}). Check that it is "
                "running (`ray status` on its head node) and that this machine can reach it."
            ) from None
        ray.init(**init_options(cluster, start=True))  # no cluster here: a private one
    return True


class _Analyst:
    """A Ray actor (one worker process): loads the models once, analyses batches of files."""

    def __init__(self, factory: ModelLoader, settings: AnalysisSettings, headroom: int) -> None:
        import cv2

        cv2.setNumThreads(1)  # parallelism comes from the actors
        self._fatal: str | None = None
        self._native = NativeStderr()
        try:
            self._analyser = factory(settings)
        except RegardError as exc:
            self._fatal = str(exc)
            return
        limit_memory(headroom)

    def ready(self) -> tuple[int, str | None]:
        return os.getpid(), self._fatal

    def analyse(self, paths: list[str]) -> list[tuple[str, Result, list[str]]]:
        done = []
        for path in paths:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = analyse_one(self._analyser, Path(path))
            notes = [f"{w.category.__name__}: {w.message}" for w in caught] + self._native.take()
            done.append((path, result, notes))
        return done


@dataclass
class _Actor:
    handle: Any
    pid: int = 0
    queue: deque[_Batch] = field(default_factory=deque)  # in flight, oldest (running) first
    since: float = 0.0  # when the oldest batch started to run


@dataclass
class _Batch:
    paths: list[Path]
    ref: Any = None
    alone: bool = False  # a retry: one file


class RayAnalysis:
    """`with RayAnalysis(cluster, settings, models) as ray: for path, result in
    ray.map_unordered(paths): ...`"""

    def __init__(
        self,
        cluster: RayCluster,
        settings: AnalysisSettings,
        factory: ModelLoader,
        task_timeout: float = 300.0,
        startup_timeout: float = 180.0,
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self.factory = factory
        self.task_timeout = task_timeout
        self.startup_timeout = startup_timeout
        self._ray = require_ray(cluster)
        self._owns_connection = False
        self._actors: list[_Actor] = []
        self._remote: Any = None
        #: Files sent again because the worker analysing them was lost (for the log and tests).
        self.retried = 0

    def __enter__(self) -> RayAnalysis:
        self._owns_connection = connect(self._ray, self.cluster)
        try:
            cpus = int(self._ray.cluster_resources().get("CPU", 0))
            size = self.cluster.workers or cpus
            if size < 1 or size > cpus:
                raise ClusterError(
                    f"The Ray cluster at {self.cluster.address} has {cpus} CPUs free for "
                    f"workers; {size} workers need one each. Leave out --workers to use them all."
                )
            self._remote = self._ray.remote(num_cpus=1, max_restarts=0)(_Analyst)
            self._actors = [self._spawn() for _ in range(size)]
            for actor in self._actors:
                self._await_ready(actor)
        except BaseException:
            self.close()
            raise
        log.info("analysing on %d Ray workers at %s", len(self._actors), self.cluster.address)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(Exception):
                self._ray.kill(actor.handle)
        self._actors = []
        if self._owns_connection:
            self._ray.shutdown()
            self._owns_connection = False

    def worker_pids(self) -> list[int]:
        """The process ids of the workers (on their nodes)."""
        return [a.pid for a in self._actors]

    def _spawn(self) -> _Actor:
        return _Actor(
            self._remote.remote(self.factory, self.settings, memory_headroom(self.settings))
        )

    def _await_ready(self, actor: _Actor) -> None:
        ray = self._ray
        try:
            actor.pid, fatal = ray.get(actor.handle.ready.remote(), timeout=self.startup_timeout)
        except ray.exceptions.GetTimeoutError:
            raise ClusterError(
                f"A Ray worker did not start within {self.startup_timeout:.0f} s: the cluster "
                "may be busy, or short of memory."
            ) from None
        except ray.exceptions.RayError as exc:
            raise ClusterError(
                f"A Ray worker could not start ({type(exc).__name__}). Check that Regard and "
                "its models are installed on every node of the cluster."
            ) from exc
        if fatal is not None:
            raise ClusterError(f"A Ray worker could not load the models: {fatal}")

    # --- the run -------------------------------------------------------------------------------

    def map_unordered(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
        pending = iter(paths)
        again: deque[_Batch] = deque()  # files of lost workers, one each, sent first
        crashes: dict[Path, int] = {}
        while True:
            self._fill(pending, again)
            flying = [a for a in self._actors if a.queue]
            if not flying:
                return
            deadline = min(a.since + self._allowed(a.queue[0]) for a in flying)
            # Only the batch at the head of a worker's queue is taken (the one it runs): when a
            # worker dies, all its batches fail at once, and a later one may be seen first.
            heads = [a.queue[0].ref for a in flying]
            self._ray.wait(heads, num_returns=1, timeout=max(0.05, deadline - time.monotonic()))
            for actor in flying:
                while actor.queue and self._finished(actor.queue[0]):
                    yield from self._collect(actor, again, crashes)
                if self._overran(actor):
                    yield from self._lost(actor, again, crashes, "timeout")

    def _finished(self, batch: _Batch) -> bool:
        done, _ = self._ray.wait([batch.ref], num_returns=1, timeout=0)
        return bool(done)

    def _overran(self, actor: _Actor) -> bool:
        """Its running batch took longer than allowed (and has not finished meanwhile: one
        result is taken at a time, and starting a replacement worker takes a while)."""
        if not actor.queue or time.monotonic() - actor.since <= self._allowed(actor.queue[0]):
            return False
        return not self._finished(actor.queue[0])

    def _fill(self, pending: Iterator[Path], again: deque[_Batch]) -> None:
        for actor in self._actors:
            while len(actor.queue) < self.cluster.in_flight:
                if again:
                    batch = again.popleft()
                else:
                    paths = [p for _, p in zip(range(self.cluster.batch), pending, strict=False)]
                    if not paths:
                        return
                    batch = _Batch(paths)
                batch.ref = actor.handle.analyse.remote([str(p) for p in batch.paths])
                if not actor.queue:
                    actor.since = time.monotonic()
                actor.queue.append(batch)

    def _collect(
        self, actor: _Actor, again: deque[_Batch], crashes: dict[Path, int]
    ) -> Iterator[tuple[Path, Result]]:
        batch = actor.queue[0]
        try:
            done = self._ray.get(batch.ref)
        except self._ray.exceptions.RayError:
            yield from self._lost(actor, again, crashes, "crashed")
            return
        actor.queue.popleft()
        actor.since = time.monotonic()
        for path, result, notes in done:
            _log_notes(path, notes)
            yield Path(path), result

    def _lost(
        self, actor: _Actor, again: deque[_Batch], crashes: dict[Path, int], how: str
    ) -> Iterator[tuple[Path, Result]]:
        """The worker died (or overran and is stopped): its running batch's files are sent
        again one by one, unless it was one file already, which then counts against it; the
        batches queued behind it never ran and are sent again as they were."""
        with contextlib.suppress(Exception):
            self._ray.kill(actor.handle)
        running, *waiting = actor.queue
        log.warning(
            "a Ray worker (pid %d) was %s with %d files in hand: they are sent again",
            actor.pid,
            "stopped for overrunning" if how == "timeout" else "lost",
            sum(len(b.paths) for b in actor.queue),
        )
        actor.queue.clear()  # its results will never come: the batches are sent again
        fresh = self._spawn()
        self._await_ready(fresh)
        self._actors[self._actors.index(actor)] = fresh
        for batch in reversed(waiting):
            again.appendleft(_Batch(batch.paths, alone=batch.alone))
        if running.alone:
            path = running.paths[0]
            if how == "timeout":
                yield path, failed(path, _timed_out(path, self._allowed(running), "analysing it"))
                return
            crashes[path] = crashes.get(path, 0) + 1
            if crashes[path] >= CRASHES_ALLOWED:
                yield path, failed(path, _crashed(path, "lost on its Ray node"))
                return
        self.retried += len(running.paths)
        for path in reversed(running.paths):
            again.appendleft(_Batch([path], alone=True))

    def _allowed(self, batch: _Batch) -> float:
        videos = sum(1 for p in batch.paths if is_video(p))
        files = len(batch.paths) - videos + VIDEO_TIMEOUT_FACTOR * videos
        return self.task_timeout * files
