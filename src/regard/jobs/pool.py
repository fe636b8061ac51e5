"""A pool of analysis processes that survives the files it is given.

Each worker owns its own model sessions and analyses one file at a time, so when a decoder
crashes (a hostile file can segfault a C library) or hangs, we know exactly which file did it:
that file gets a clear error, the worker is replaced, and the run goes on. A worker may use
the memory it had once its models were loaded plus a headroom (`RLIMIT_AS`), so a file that
slips past the decoding limits fails with "too large" instead of taking the machine's memory.
What the image libraries say about a file (warnings, and what C code writes to standard
error) comes back with its result and goes to the log under its name, not to the terminal.

`AnalysisPool` serves one indexing run; `ProbePool` serves a long-running server's threads
with the photos people hand in, one at a time each.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoFailure, is_video
from regard.errors import (
    DecoderCrashError,
    DecoderTimeoutError,
    ImageError,
    RegardError,
)
from regard.files import readable_path
from regard.inference.protocols import FaceDetector
from regard.logs import NativeStderr
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.decode import decoder_failure
from regard.pipeline.footage_record import analyse_video_file
from regard.pipeline.models import STANDARD_MODELS, ModelLoader

Result = PhotoAnalysis | PhotoFailure
#: A video may take this many times the time a photo may (`task_timeout`): sampling analyses
#: a video at several times real time, so the default 300 s lets an hour of video through.
VIDEO_TIMEOUT_FACTOR = 12
T = TypeVar("T")
log = logging.getLogger("regard.decode")


def analyse_one(analyser: Analyser, path: Path) -> Result:
    """Analyse a file, turning every way it can fail into a `PhotoFailure` for the user."""
    try:
        if is_video(path):
            return analyse_video_file(path, analyser.detector, analyser.embedder)
        return analyser.analyse_path(path)
    except ImageError as exc:
        return failed(path, exc)
    except MemoryError:
        return PhotoFailure(
            _fingerprint(path),
            "too-large",
            f"{readable_path(path)}: not enough memory to decode this image. Close other "
            "programs or lower --max-megapixels so it is refused up front.",
            web_message=f"{readable_path(path)}: there was not enough memory on the server to "
            "decode this image.",
        )
    except Exception as exc:  # a library failing in a way we did not foresee, or a bug
        failure = decoder_failure(str(path), exc, "data")
        if failure is not None:
            return failed(path, failure)
        return PhotoFailure(_fingerprint(path), "internal", unexpected(path, exc))


def failed(path: Path, error: ImageError) -> PhotoFailure:
    """A file that could not be analysed, in the words of both skins."""
    return PhotoFailure(_fingerprint(path), error.code, str(error), web_message=error.web_message)


def unexpected(path: Path | str, exc: BaseException) -> str:
    """The message for a failure that is a bug of ours (or a library's we did not foresee)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return (
        f"{readable_path(path)}: unexpected {type(exc).__name__} ({exc}){where}. The run went "
        "on; please report this with the file if you can."
    )


def _fingerprint(path: Path) -> FileFingerprint:
    try:
        st = path.stat()
        return FileFingerprint(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return FileFingerprint(str(path), 0, 0)


def memory_headroom(settings: AnalysisSettings) -> int:
    """What a worker may allocate beyond its loaded models: room for the largest image the
    decoding limits let through, decoded and converted a few times over (2 GiB at least)."""
    return max(2 << 30, 4 * settings.limits.decoded_bytes)


def _headroom(settings: AnalysisSettings, memory_limit: bool | int) -> int | None:
    """`memory_limit`: True for `memory_headroom`, False for none, or the headroom in bytes."""
    if memory_limit is True:
        return memory_headroom(settings)
    return int(memory_limit) if memory_limit else None


def limit_memory(headroom: int) -> None:
    """Cap this process's address space at what it holds now plus `headroom` bytes: an
    allocation beyond it fails with MemoryError (reported as "too large") instead of
    growing until the machine swaps or the kernel kills something else."""
    import resource

    try:
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return  # not Linux: no cap
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = mapped + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


@dataclass
class WorkerContext:
    """What a task run in a worker process may use: the analyser (and its models), and the
    sensitive detector anonymising wants, built when first asked for."""

    analyser: Analyser
    factory: ModelLoader
    _detectors: dict[float, FaceDetector] = field(default_factory=dict)

    def sensitive_detector(self, score_threshold: float) -> FaceDetector:
        if score_threshold not in self._detectors:
            self._detectors[score_threshold] = self.factory.sensitive_detector(score_threshold)
        return self._detectors[score_threshold]


#: A job for a worker: a function of this package's (picklable by name) and its arguments.
Task = Callable[..., Any]


def _worker_main(
    conn: Connection, factory: ModelLoader, settings: AnalysisSettings, headroom: int | None
) -> None:
    import cv2

    # Parallelism comes from the processes; one OpenCV thread each avoids oversubscription.
    cv2.setNumThreads(1)
    native = NativeStderr()
    try:
        analyser = factory(settings)
    except RegardError as exc:
        conn.send(("fatal", str(exc)))
        return
    if headroom is not None:
        limit_memory(headroom)
    context = WorkerContext(analyser, factory)
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reply = _perform(context, task)
        notes = [f"{w.category.__name__}: {w.message}" for w in caught] + native.take()
        conn.send(("done", reply, notes))


def _perform(context: WorkerContext, task: Any) -> Any:
    if isinstance(task, str):
        return analyse_one(context.analyser, Path(task))
    function, args = task
    try:
        return ("ok", function(context, *args))
    except Exception as exc:
        return ("raised", _portable(exc, args[0] if args else "the file"))


def _portable(exc: Exception, path: Any) -> Exception:
    """`exc` as it can be sent to the parent process (which raises it)."""
    if isinstance(exc, MemoryError | ImageError):
        failure = exc if isinstance(exc, ImageError) else decoder_failure(str(path), exc, "data")
        assert failure is not None
        exc = failure
    elif isinstance(exc, RegardError):
        pass
    else:
        failure = decoder_failure(str(path), exc, "data")
        exc = failure if failure is not None else RegardError(unexpected(path, exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RegardError(str(exc))
    return exc


def _log_notes(path: Path | str, notes: list[str]) -> None:
    for note in notes:
        log.warning("%s: %s", readable_path(path), note)


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: Path | None = None
    started: float = field(default=0.0)


#: Held while a worker starts without the parent's main module (`_main_left_out`).
_MAIN_SWAP = threading.Lock()


@contextlib.contextmanager
def _main_left_out(factory: ModelLoader) -> Iterator[None]:
    """While a worker is started: the parent's main module hidden from it. A spawned process
    runs its parent's main script again before anything else (for `regard`, importing the
    whole command line, engine and services: a third of a worker's start-up), though a
    worker needs only this module and its model loader's. Not when the loader comes from
    the main module itself (a script's own loader), which the worker could not find else."""
    if type(factory).__module__ == "__main__":
        yield
        return
    with _MAIN_SWAP:
        main = sys.modules["__main__"]
        # What spawn reads to re-run the main module: a module with neither spec nor file.
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def _spawn(
    ctx: Any, factory: ModelLoader, settings: AnalysisSettings, headroom: int | None
) -> _Worker:
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_worker_main,
        args=(child, factory, settings, headroom),
        daemon=True,
        name="regard-analyse",
    )
    with _main_left_out(factory):
        proc.start()
    child.close()
    return _Worker(proc, parent)


def _await_ready(w: _Worker, startup_timeout: float) -> None:
    if not w.conn.poll(startup_timeout):
        w.process.kill()
        raise RegardError(
            "An analysis worker did not start within "
            f"{startup_timeout:.0f} s; the machine may be overloaded."
        )
    try:
        kind, message = w.conn.recv()
    except EOFError:
        raise RegardError(
            f"An analysis worker exited while loading the models (exit code "
            f"{w.process.exitcode}). Run `regard status` to check the models.",
            web=f"An analysis worker exited while loading the models (exit code "
            f"{w.process.exitcode}); the server's console says why.",
        ) from None
    if kind == "fatal":
        raise RegardError(message)


def _stop(w: _Worker) -> None:
    if w.process.is_alive():
        w.process.kill()
    w.process.join()
    w.conn.close()


def _ended(w: _Worker) -> str:
    w.process.join(5.0)  # the pipe closes a moment before the exit status is known
    code = w.process.exitcode
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class AnalysisPool:
    """`with AnalysisPool(2) as pool: for path, result in pool.map_unordered(paths): ...`"""

    def __init__(
        self,
        workers: int,
        settings: AnalysisSettings,
        factory: ModelLoader = STANDARD_MODELS,
        task_timeout: float = 300.0,
        startup_timeout: float = 180.0,
        memory_limit: bool | int = True,
    ) -> None:
        self.size = max(1, workers)
        self.settings = settings
        self.factory = factory
        self.task_timeout = task_timeout
        self.startup_timeout = startup_timeout
        self.headroom = _headroom(settings, memory_limit)
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def __enter__(self) -> AnalysisPool:
        self._workers = [self._spawn() for _ in range(self.size)]
        for w in self._workers:
            self._await_ready(w)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for w in self._workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        deadline = time.monotonic() + 5.0
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers = []

    def _spawn(self) -> _Worker:
        return _spawn(self._ctx, self.factory, self.settings, self.headroom)

    def _await_ready(self, w: _Worker) -> None:
        _await_ready(w, self.startup_timeout)

    def _replace(self, w: _Worker) -> None:
        _stop(w)
        fresh = self._spawn()
        self._await_ready(fresh)
        self._workers[self._workers.index(w)] = fresh

    def map_unordered(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
        pending = iter(paths)
        exhausted = False

        def refill(w: _Worker) -> None:
            nonlocal exhausted
            if w.task is None and not exhausted:
                nxt = next(pending, None)
                if nxt is None:
                    exhausted = True
                    return
                w.task, w.started = nxt, time.monotonic()
                w.conn.send(str(nxt))

        while True:
            for w in self._workers:
                refill(w)
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                return
            deadline = min(w.started + self._allowed(w.task) for w in busy)
            timeout = max(0.05, deadline - time.monotonic())
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
            for w in busy:
                task = w.task
                assert task is not None
                if w.conn in ready:
                    try:
                        kind, result, notes = w.conn.recv()
                    except (EOFError, OSError):
                        yield task, self._lost(w, task, "crashed")
                        continue
                    if kind == "done":
                        w.task = None
                        _log_notes(task, notes)
                        # Its next photo first: the worker works while the caller stores
                        # this one (else it waits for the caller, every photo).
                        refill(w)
                        yield task, result
                        continue
                if w.process.sentinel in ready and not w.conn.poll():
                    yield task, self._lost(w, task, "crashed")
                elif time.monotonic() - w.started > self._allowed(task):
                    yield task, self._lost(w, task, "timeout")

    def _allowed(self, task: Path | None) -> float:
        return self.task_timeout * (VIDEO_TIMEOUT_FACTOR if task and is_video(task) else 1)

    def _lost(self, w: _Worker, task: Path, how: str) -> PhotoFailure:
        ended = _ended(w) if how == "crashed" else ""
        self._replace(w)
        error = (
            _timed_out(task, self._allowed(task), "analysing it")
            if how == "timeout"
            else _crashed(task, ended)
        )
        return failed(task, error)


def _timed_out(path: Path | str, seconds: float, doing: str) -> DecoderTimeoutError:
    return DecoderTimeoutError(
        path,
        f"{doing} took longer than {seconds:.0f} s and was stopped",
        "The file may be crafted to stall decoders; check it, or raise --timeout if it is a "
        "genuine, very large photo.",
        web_advice="The file may be crafted to stall decoders; check it. If it is a genuine, "
        "very large photo, whoever runs the server can allow more time.",
    )


def _crashed(path: Path | str, ended: str) -> DecoderCrashError:
    return DecoderCrashError(
        path,
        f"the image decoder crashed on this file (the worker was {ended})",
        "The file is probably damaged or crafted; the run went on without it.",
    )


class ProbePool:
    """Worker processes for the photos people hand in to a long-running server (search by
    photo, consent enrolment, opt-out selfie, anonymising one photo, checking an upload):
    never decoded in the server's own process, where a bomb would hold its memory and a
    decoder crash would end it. Each task runs in a worker with the time limit and the memory
    cap of indexing's workers; a worker that crashes or overruns is replaced. At most `size`
    tasks run at once (the others wait); workers start when first needed and are kept."""

    def __init__(
        self,
        size: int,
        settings: AnalysisSettings,
        factory: ModelLoader = STANDARD_MODELS,
        task_timeout: float = 60.0,
        startup_timeout: float = 180.0,
        memory_limit: bool | int = True,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.task_timeout = task_timeout
        self.startup_timeout = startup_timeout
        self.headroom = _headroom(settings, memory_limit)
        self._ctx = multiprocessing.get_context("spawn")
        self._slots = threading.BoundedSemaphore(max(1, size))
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._workers: dict[int, _Worker] = {}
        self._closed = False

    def run(self, path: Path | str, task: Callable[..., T], *args: Any) -> T:
        """`task(context, path, *args)` in a worker; what it returns, or the error it raised
        about `path` (a `DecoderTimeoutError` or `DecoderCrashError` if it overran or died)."""
        with self._slots:
            worker = self._take()
            try:
                worker.conn.send((task, (str(path), *args)))
                if not worker.conn.poll(self.task_timeout):
                    self._discard(worker)
                    raise _timed_out(path, self.task_timeout, "reading it")
                try:
                    _kind, reply, notes = worker.conn.recv()
                except (EOFError, OSError):
                    ended = _ended(worker)
                    self._discard(worker)
                    raise _crashed(path, ended) from None
            except BaseException:
                self._discard(worker)
                raise
            self._give_back(worker)
        _log_notes(path, notes)
        if isinstance(reply, tuple) and reply and reply[0] == "raised":
            raise reply[1]
        assert isinstance(reply, tuple)
        assert reply[0] == "ok"
        result: T = reply[1]
        return result

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RegardError("The server is stopping.")
            if self._idle:
                return self._idle.pop()
        fresh = _spawn(self._ctx, self.factory, self.settings, self.headroom)
        with self._lock:
            self._workers[id(fresh)] = fresh
        try:
            _await_ready(fresh, self.startup_timeout)
        except BaseException:
            self._discard(fresh)
            raise
        return fresh

    def _give_back(self, w: _Worker) -> None:
        with self._lock:
            if self._closed:
                _stop(w)
            else:
                self._idle.append(w)

    def _discard(self, w: _Worker) -> None:
        with self._lock:
            self._workers.pop(id(w), None)
            if w in self._idle:
                self._idle.remove(w)
        with contextlib.suppress(OSError, ValueError):
            _stop(w)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            self._workers.clear()
            self._idle.clear()
        for w in workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        deadline = time.monotonic() + 5.0
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(OSError, ValueError):
                _stop(w)


def analyse_in_process(analyser: Analyser, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
    """The same contract without worker processes (workers=0): for debugging and tiny jobs."""
    for path in paths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = analyse_one(analyser, path)
        _log_notes(path, [f"{w.category.__name__}: {w.message}" for w in caught])
        yield path, result


class InProcessPool:
    """`ProbePool`'s contract in the calling process, one task at a time, with no isolation:
    for engines configured with `workers=0` (debugging and tests)."""

    def __init__(self, settings: AnalysisSettings, factory: ModelLoader = STANDARD_MODELS) -> None:
        self.settings = settings
        self.factory = factory
        self._lock = threading.Lock()
        self._context: WorkerContext | None = None

    def run(self, path: Path | str, task: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self._context is None:
                self._context = WorkerContext(self.factory(self.settings), self.factory)
            try:
                return task(self._context, str(path), *args)
            except Exception as exc:
                failure = _portable(exc, path)
                if failure is exc:
                    raise
                raise failure from exc

    def close(self) -> None:
        self._context = None
