"""Ingest: bring a set of folders into the catalog, idempotently and resumably.

1. Scan the folders; decide per file from the catalog alone (path, size, mtime) whether it
   is unchanged. Only files whose size matches an indexed photo are hashed up front, to
   notice renames, moves and copies without running any model on them.
2. Analyse the rest in worker processes; write each photo with its faces in one
   transaction (a few photos per commit), so `kill -9` loses at most the uncommitted batch
   and the next run redoes exactly that.
3. Report (or with `prune`, remove) photos under those folders whose files are gone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoFailure, PhotoStatus, is_video
from regard.domain.privacy import FaceVerdict
from regard.errors import UnreadableFileError
from regard.files import file_sha256
from regard.jobs.pool import Result
from regard.jobs.scan import scan
from regard.storage.photos import KnownFile
from regard.storage.repositories import Store
from regard.storage.runs import RunCounts

#: A file that failed is looked at again when it changed (size or modification time), when
#: asked (`retry_failed`), or when what decided its failure changed (`settings_changed`: the
#: decoding limits, the timeout, Regard's version) - not on every run: a bomb or a crafted file
#: would be decoded again each time. Only an unreadable file, which costs nothing to try, is
#: retried whatever happened (giving read access does not change its modification time).
_ALWAYS_RETRIED = frozenset({"unreadable"})


class Outcome(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    MOVED = "moved"
    COPIED = "copied"
    TOUCHED = "unchanged-content"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ScanDone:
    files: int
    unchanged: int
    to_process: int


@dataclass(frozen=True, slots=True)
class FileDone:
    path: str
    outcome: Outcome
    faces: int = 0
    error: str | None = None


IndexEvent = ScanDone | FileDone
EventSink = Callable[[IndexEvent], None]


@dataclass(frozen=True, slots=True)
class FileProblem:
    path: str
    code: str
    message: str
    web_message: str | None = None  # for a web user, where `message` names an option


@dataclass
class IndexReport:
    run_id: int
    roots: list[str]
    counts: RunCounts
    failures: list[FileProblem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    grouping: dict[str, int] = field(default_factory=dict)  # filled in by the engine

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "roots": self.roots,
            "counts": asdict(self.counts),
            # The command line's words; a web skin takes each problem's web_message itself.
            "failures": [
                {"path": f.path, "code": f.code, "message": f.message} for f in self.failures
            ],
            "missing": self.missing,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 2),
            "interrupted": self.interrupted,
            "grouping": self.grouping,
        }


Analyse = Callable[[Iterable[Path]], Iterator[tuple[Path, Result]]]


class _Tally:
    def __init__(self) -> None:
        self.n = {o: 0 for o in Outcome}
        self.faces = 0
        self.seen = 0
        self.missing = 0
        self.pruned = 0

    def counts(self) -> RunCounts:
        return RunCounts(
            files_seen=self.seen,
            files_new=self.n[Outcome.NEW],
            files_changed=self.n[Outcome.CHANGED],
            files_moved=self.n[Outcome.MOVED],
            files_copied=self.n[Outcome.COPIED],
            files_unchanged=self.n[Outcome.UNCHANGED] + self.n[Outcome.TOUCHED],
            files_failed=self.n[Outcome.FAILED],
            faces_found=self.faces,
            files_missing=self.missing,
            files_pruned=self.pruned,
        )


class Ingestor:
    """One indexing run over a catalog. The caller holds the library's writer lock.

    `hold` is taken around every use of the catalog (each batch's writes, and `on_commit`
    after them) and let go while files are scanned and analysed, so that in a server the
    other requests, which take it too, go on while a library is indexed."""

    def __init__(
        self,
        catalog: Store,
        pipeline: str,
        analyse: Analyse,
        on_event: EventSink | None = None,
        on_commit: Callable[[], None] | None = None,
        screen: Callable[[PhotoAnalysis], Sequence[FaceVerdict]] | None = None,
        commit_every: int = 16,
        commit_seconds: float = 2.0,
        retry_failed: bool = False,
        settings_changed: bool = False,
        hold: Callable[[], AbstractContextManager[Any]] = nullcontext,
        video_pipeline: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.hold = hold
        self.pipeline = pipeline
        # Videos are analysed by their own pipeline (same models, the footage stages): a new
        # version of those analyses videos again, not photos.
        self.video_pipeline = video_pipeline or pipeline
        self.analyse = analyse
        self.emit: EventSink = on_event or (lambda _e: None)
        self.on_commit = on_commit or (lambda: None)
        # The privacy gate: which faces' vectors may be stored at all.
        self.screen = screen
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.retry_failed = retry_failed or settings_changed

    def _pipeline(self, path: str) -> str:
        return self.video_pipeline if is_video(path) else self.pipeline

    def run(
        self, roots: Iterable[Path], *, prune: bool = False, exclude: Iterable[Path] = ()
    ) -> IndexReport:
        started = time.monotonic()
        root_list = [Path(os.path.abspath(r)) for r in roots]
        with self.hold():
            run_id = self.catalog.runs.start([str(r) for r in root_list], self.pipeline)
        report = IndexReport(run_id, [str(r) for r in root_list], RunCounts())
        tally = _Tally()
        problems: list[tuple[str, str]] = []
        files = list(scan(root_list, exclude=exclude, problems=problems))
        for where, why in problems:
            report.failures.append(FileProblem(where, "unreadable", f"{where}: {why}."))
        tally.seen = len(files)
        with self.hold():
            known = self.catalog.photos.known_files()
        try:
            to_analyse = self._settle_quick_cases(files, known, tally, report)
            self._analyse_and_store(to_analyse, known, run_id, tally, report)
            self._handle_missing(root_list, set(map(str, files)), prune, tally, report)
        except KeyboardInterrupt:
            report.interrupted = True
            report.counts = tally.counts()
            with self.hold():
                self.catalog.runs.finish(run_id, report.counts, status="interrupted")
            raise
        report.counts = tally.counts()
        report.seconds = time.monotonic() - started
        with self.hold():
            self.catalog.runs.finish(run_id, report.counts)
        return report

    # --- step 1: everything that needs no model ----------------------------------------------

    def _settle_quick_cases(
        self,
        files: list[Path],
        known: dict[str, KnownFile],
        tally: _Tally,
        report: IndexReport,
    ) -> list[tuple[Path, FileFingerprint]]:
        with self.hold():
            sizes = self.catalog.photos.indexed_sizes(self.pipeline)
            if self.video_pipeline != self.pipeline:
                sizes |= self.catalog.photos.indexed_sizes(self.video_pipeline)
            # Files emptied from the trash stay out: their content is remembered.
            forgotten = self.catalog.trash.forgotten()
        to_analyse: list[tuple[Path, FileFingerprint]] = []
        decided: list[tuple[Path, FileFingerprint, str]] = []
        unchanged = 0
        for path in files:
            try:
                st = path.stat()
            except OSError as exc:
                problem = UnreadableFileError(path, f"cannot be read ({exc.strerror})", "")
                report.failures.append(
                    FileProblem(str(path), problem.code, str(problem), problem.web_message)
                )
                tally.n[Outcome.FAILED] += 1
                continue
            fp = FileFingerprint(str(path), st.st_size, st.st_mtime_ns)
            k = known.get(fp.path)
            if (
                k
                and k.size_bytes == fp.size_bytes
                and k.mtime_ns == fp.mtime_ns
                and (
                    (k.status == PhotoStatus.INDEXED and k.pipeline == self._pipeline(fp.path))
                    or (k.status == PhotoStatus.ERROR and not self._retry(k))
                )
            ):
                unchanged += 1
                continue
            if fp.size_bytes in forgotten and _hash_file(path) in forgotten[fp.size_bytes]:
                unchanged += 1  # deleted for good from the library: not brought back
                continue
            if fp.size_bytes in sizes:
                digest = _hash_file(path)
                if digest is not None:
                    decided.append((path, fp, digest))
                    continue
            to_analyse.append((path, fp))
        tally.n[Outcome.UNCHANGED] += unchanged
        self.emit(ScanDone(len(files), unchanged, len(decided) + len(to_analyse)))

        with self.hold():
            with self.catalog.transaction():
                for path, fp, digest in decided:
                    outcome = self._reuse_by_hash(fp, digest, known.get(fp.path), report.run_id)
                    if outcome is None:
                        to_analyse.append((path, fp))
                        continue
                    tally.n[outcome] += 1
                    self.emit(FileDone(fp.path, outcome))
            self.on_commit()
        return to_analyse

    def _retry(self, k: KnownFile) -> bool:
        if self.retry_failed:
            return True
        with self.hold():
            photo = self.catalog.photos.get(k.photo_id)
        return photo is not None and (photo.error_code or "") in _ALWAYS_RETRIED

    def _reuse_by_hash(
        self, fp: FileFingerprint, digest: str, previous: KnownFile | None, run_id: int
    ) -> Outcome | None:
        pipeline = self._pipeline(fp.path)
        if (
            previous is not None
            and previous.content_hash == digest
            and previous.status == PhotoStatus.INDEXED
            and previous.pipeline == pipeline
        ):
            self.catalog.photos.touch(previous.photo_id, fp)
            return Outcome.TOUCHED
        same = [
            k for k in self.catalog.photos.indexed_with_hash(digest, pipeline) if k.path != fp.path
        ]
        if not same:
            return None
        gone = [k for k in same if not os.path.exists(k.path)]
        if gone:
            self.catalog.photos.move(gone[0].photo_id, fp)
            return Outcome.MOVED
        self.catalog.photos.copy(same[0].photo_id, fp, run_id)
        return Outcome.COPIED

    # --- step 2: the models ----------------------------------------------------------------------

    def _analyse_and_store(
        self,
        to_analyse: list[tuple[Path, FileFingerprint]],
        known: dict[str, KnownFile],
        run_id: int,
        tally: _Tally,
        report: IndexReport,
    ) -> None:
        if not to_analyse:
            return  # nothing new: no worker is started, no model is loaded
        buffer: list[tuple[Path, Result]] = []
        last_commit = time.monotonic()

        def flush() -> None:
            nonlocal last_commit
            if not buffer:
                return
            with self.hold():
                with self.catalog.transaction():
                    for _path, result in buffer:
                        if isinstance(result, PhotoAnalysis):
                            verdicts = self.screen(result) if self.screen else None
                            self.catalog.photos.store_analysis(result, run_id, verdicts)
                        else:
                            self.catalog.photos.store_failure(result, run_id)
                for path, result in buffer:
                    self._account(path, result, known, tally, report)
                buffer.clear()
                self.on_commit()
            last_commit = time.monotonic()

        try:
            for path, result in self.analyse(p for p, _fp in to_analyse):
                buffer.append((path, result))
                if (
                    len(buffer) >= self.commit_every
                    or time.monotonic() - last_commit >= self.commit_seconds
                ):
                    flush()
        finally:
            # Whatever was analysed is complete and worth keeping, even on Ctrl-C.
            flush()

    def _account(
        self,
        path: Path,
        result: Result,
        known: dict[str, KnownFile],
        tally: _Tally,
        report: IndexReport,
    ) -> None:
        if isinstance(result, PhotoFailure):
            tally.n[Outcome.FAILED] += 1
            report.failures.append(
                FileProblem(str(path), result.code, result.message, result.web_message)
            )
            self.emit(FileDone(str(path), Outcome.FAILED, error=result.message))
            return
        outcome = Outcome.CHANGED if str(path) in known else Outcome.NEW
        tally.n[outcome] += 1
        tally.faces += len(result.faces)
        self.emit(FileDone(str(path), outcome, faces=len(result.faces)))

    # --- step 3: files that are gone -----------------------------------------------------------

    def _handle_missing(
        self,
        roots: list[Path],
        present: set[str],
        prune: bool,
        tally: _Tally,
        report: IndexReport,
    ) -> None:
        def under(path: str) -> bool:
            return any(
                path == str(r) or path.startswith(str(r).rstrip(os.sep) + os.sep) for r in roots
            )

        with self.hold():
            known = self.catalog.photos.known_files()
        gone = [
            k
            for k in known.values()
            if under(k.path) and k.path not in present and not os.path.exists(k.path)
        ]
        tally.missing = len(gone)
        report.missing = sorted(k.path for k in gone)
        if prune and gone:
            with self.hold(), self.catalog.transaction():
                self.catalog.photos.delete(k.photo_id for k in gone)
            tally.pruned = len(gone)
            report.pruned = report.missing


def _hash_file(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None
