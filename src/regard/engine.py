"""The facade every interface uses. One `Engine` per open library.

The CLI, the HTTP API and the web UI call these methods and render what they return; none of
them holds logic of its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from regard.context import LibraryContext
from regard.domain.cluster import RayCluster
from regard.domain.jobs import FAILED, INTERRUPTED, Job
from regard.domain.library import KeyChange, LibraryStatus, PhotoDetail, PhotoSummary, Timeline
from regard.domain.photo import Photo
from regard.domain.privacy import Policy
from regard.domain.rights import RecordOfProcessing
from regard.domain.search import PersonSearch, ProbeFace, SearchResult
from regard.domain.sharing import BLUR_METHODS, KEEPABLE
from regard.errors import LibraryLockedError, PhotoNotFoundError, RegardError
from regard.inference.calibration import Calibration
from regard.jobs.indexing import Indexer
from regard.jobs.ingest import EventSink, FileDone, IndexEvent, IndexReport, Outcome, ScanDone
from regard.jobs.probes import worker_probes
from regard.jobs.queue import JobQueue, JobRunner
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.anonymise.blur import BlurSettings
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.cluster import GroupingParams
from regard.pipeline.decode import DecodeLimits
from regard.pipeline.models import STANDARD_MODELS, ModelLoader
from regard.pipeline.probe import FaceSource, InProcessFaces, ProbeReader
from regard.pipeline.sniff import IMAGE_TYPES, VIDEO_TYPES, sniff
from regard.privacy.acting import Acting, Actor, default_actor
from regard.privacy.audit import AuditLog, Verification
from regard.privacy.policy import PolicyGate
from regard.privacy.state import state_dir
from regard.services.accounts import Accounts, Session
from regard.services.anonymise import (
    AnonymisedCopy,
    AnonymisedPhoto,
    AnonymisedVideo,
    Anonymiser,
    FrameProgress,
    anonymise,
    blur_settings,
    export_zip,
)
from regard.services.export import ExportOptions, ExportPreview, ExportReport, Selection
from regard.services.media import Originals
from regard.services.share_jobs import ShareJobs, share_jobs
from regard.services.thumbnails import Thumbnails
from regard.services.uploads import Uploads
from regard.services.wiring import build_services
from regard.storage.catalog import open_catalog
from regard.storage.keys import KeyConfig, KeyManager, reseal_all
from regard.storage.library import LibraryPaths, writer_lock
from regard.storage.sealing import Sealer
from regard.storage.vector_store import ANN_THRESHOLD, VectorStore

#: What the skins (and programs) take from here: the engine, and the option and result types
#: of the layers below, which the skins never import themselves.
__all__ = [
    "BLUR_METHODS",
    "IMAGE_TYPES",
    "KEEPABLE",
    "STANDARD_MODELS",
    "VIDEO_TYPES",
    "AnalysisSettings",
    "AnonymisedCopy",
    "AnonymisedPhoto",
    "AnonymisedVideo",
    "BlurSettings",
    "DecodeLimits",
    "Engine",
    "EngineConfig",
    "ExportOptions",
    "ExportPreview",
    "ExportReport",
    "FileDone",
    "FrameProgress",
    "IndexEvent",
    "IndexReport",
    "KeyConfig",
    "ModelLoader",
    "Outcome",
    "ScanDone",
    "Selection",
    "Session",
    "Verification",
    "anonymise",
    "blur_settings",
    "refuse_urls",
    "sniff",
]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # 0: analyse in-process
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    task_timeout: float = 300.0
    ray: RayCluster | None = None  # analyse on this Ray cluster instead of `workers`
    ann_threshold: int = ANN_THRESHOLD  # faces beyond which the vector index is HNSW
    grouping: GroupingParams = field(default_factory=GroupingParams)
    keys: KeyConfig = field(default_factory=KeyConfig)
    policy: Policy | None = None  # for a new library (default: household)
    actor: str = field(default_factory=default_actor)  # who is acting, for the audit log
    state_dir: Path | None = None  # audit anchors and erasure journals (default: XDG state)
    database: str | None = None  # a PostgreSQL catalog (default: REGARD_DATABASE, else SQLite)


class Engine:
    def __init__(
        self,
        library: Path,
        *,
        create: bool = False,
        config: EngineConfig | None = None,
        models: ModelLoader = STANDARD_MODELS,
        shared: bool = False,
        probe_source: FaceSource | None = None,
        probe_workers: int | None = None,
    ) -> None:
        """`shared`: the engine is used from several threads, one at a time (a server): each
        holds `lock` while it uses the engine, and indexing takes it for each batch's writes
        only. `probe_source`: where the faces of photos handed in are read (default: in this
        process, by models loaded when first needed). `probe_workers`: read them (and their
        headers, and anonymise them) in that many worker processes of their own instead,
        `probes` (a server does: a photo someone hands in never stops the others)."""
        #: Held by whoever uses the engine (a server's requests, each batch an index run
        #: writes): one SQLite connection serves one thread at a time, and one writer is all.
        self.lock = threading.RLock()
        self.paths = LibraryPaths(Path(os.path.abspath(library)))
        self.config = config or EngineConfig()
        self.models = models
        self.catalog, existed = open_catalog(self.paths, create, shared, self.config.database)
        self._make_private()
        self._local = InProcessFaces(models, self.config.analysis)
        self.probe_pool = (
            None
            if probe_workers is None
            else worker_probes(
                probe_workers if self.config.workers > 0 else 0,
                self.config.analysis,
                models,
                self.config.task_timeout,
            )
        )
        self.probes = ProbeReader(probe_source or self.probe_pool or self._local)
        if not existed and self.config.policy is not None:
            with self.catalog.transaction():
                self.catalog.runs.set_setting("policy", self.config.policy.value)
        self.keys = KeyManager(self.catalog, self.config.keys)
        self._new_key = False
        self.sealer = self._open_keys()
        self.catalog.codec.sealer = self.sealer
        self.vectors = VectorStore(
            self.catalog, self.paths.vectors, models.embedder, self.config.ann_threshold
        )
        state = state_dir(self.config.state_dir)
        self.context = LibraryContext(
            catalog=self.catalog,
            vectors=self.vectors,
            audit=AuditLog(self.catalog, state),
            policy=PolicyGate(self.catalog),
            acting=Acting(Actor(self.config.actor)),
            calibration=models.calibration(),
            probes=self.probes,
            model=models.embedder,
            state_dir=state,
            still_detector=cache(lambda: models.sensitive_detector(ANONYMISE_SCORE_THRESHOLD)),
        )
        self.thumbnails = Thumbnails(
            self.catalog, self.paths.root / "thumbs", self.config.analysis.limits
        )
        self.originals = Originals(self.catalog, self.context.acting)
        self.jobs = JobQueue(self.catalog, lambda: self.lock)
        self.indexer = Indexer(
            catalog=self.catalog,
            paths=self.paths,
            models=models,
            analysis=self.config.analysis,
            workers=self.config.workers,
            task_timeout=self.config.task_timeout,
            ray=self.config.ray,
            jobs=self.jobs,
            hold=lambda: self.lock,
            analyser=lambda: self.analyser,
            # Late: the services are built below.
            screen=lambda analysis: self.privacy.gate.screen(analysis),
            group=lambda: self.people.group_pending(),
            after=self._after_index,
        )
        self._runner: JobRunner | None = None
        self._accounts: Accounts | None = None
        self.uploads = Uploads(
            catalog=self.catalog, folder=self.paths.root / "uploads", hold=lambda: self.lock
        )
        self._build_services()
        self.shares = share_jobs(self.context, models, self.jobs, self.exporter, self.paths.root)
        self.shares.recaps = self.recaps  # anonymising, exports and recaps' renders, as jobs
        self._key_audit_log()
        # Entries missing from the audit log (a restored backup, or tampering) are noted in it.
        self.context.audit.check_continuity()
        # A restored backup must not bring back what was erased since.
        if self.privacy.eraser.replay():
            self.privacy.gate.refresh()
        self._recover_jobs()

    def _build_services(self) -> None:
        services = build_services(
            self.context,
            paths=self.paths,
            grouping=self.config.grouping,
            limits=self.config.analysis.limits,
            photos_changed=self._photos_changed,
            models=self.models,
            hold=lambda: self.lock,
            sealer=self.require_key,
            uploads=self.uploads,
        )
        self.privacy = services.privacy
        self.people = services.people
        self.faces = services.faces  # naming any face where it is seen; who is this?
        self.search = services.search
        self.view = services.view
        self.xmp = services.xmp
        self.exporter = services.exporter
        self.cameras = services.cameras
        self.alerts = services.alerts  # camera alert sinks, and the web app's live events
        self.pages = services.pages  # the timeline in pages
        self.trash = services.trash
        self.recaps = services.recaps  # events, trips, on this day... (`regard recaps`)

    def _photos_changed(self, photo_ids: list[int]) -> None:
        self.thumbnails.forget(photo_ids)
        self.people.fix_covers()

    def _make_private(self) -> None:
        """Folder 0700, files 0600: every file of a library from before, once (recorded), then
        at each open the catalog's own files."""
        done = self.catalog.runs.setting("library.private") is not None
        self.paths.make_private(everything=not done)
        if not done:
            with self.catalog.transaction():
                self.catalog.runs.set_setting("library.private", "folder 0700, files 0600")

    def _open_keys(self) -> Sealer | None:
        # A new library — or one from before encryption: its key made, what it holds sealed.
        sealer = self.keys.initialise()  # None: it has one (made by another process maybe)
        if sealer is not None:
            self.catalog.compact()
            self._new_key = True
            return sealer
        return self.keys.unlock()

    def _key_audit_log(self) -> None:
        """Sign the audit log with the library's key; a log from before keys is checked and
        keyed once, the first time the library is opened with its key (and that is logged)."""
        audit = self.context.audit
        audit.use_key(self.sealer)
        if self.sealer is None or not (self.keys.legacy_wrap or self._new_key):
            return
        with self.catalog.transaction():
            if audit.needs_keying():
                audit.key_chain()
            self.keys.upgrade_wrap()

    def close(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        if self.probe_pool is not None:
            self.probe_pool.close()
        with self.lock:
            if self.sealer is not None:
                self.vectors.save()
            self.catalog.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rekey(self, new: KeyConfig) -> KeyChange:
        """A new data key for everything biometric, under a new passphrase or key file; the
        old key opens nothing afterwards."""
        old = self.require_key()
        with writer_lock(self.paths):
            with self.catalog.transaction():
                new_sealer = self.keys.replace_key(new)
                resealed = reseal_all(self.catalog, old, new_sealer)
                self.alerts.reseal(old, new_sealer)  # the alert sinks' passwords
                # The audit key comes from the data key: the log is signed again under the
                # new one, after a check under the old (what it finds stays in the log).
                problems = self.context.audit.rekey_chain(new_sealer)
                self.context.audit.record(
                    "rekey",
                    actor=self.config.actor,
                    result_count=resealed,
                    detail={
                        "key": self.catalog.runs.setting("crypto.kek"),
                        **({"chain_problems": problems} if problems else {}),
                    },
                )
            self.sealer = new_sealer
            self.catalog.codec.sealer = new_sealer
            self.vectors.reseal()
            # Old ciphertexts must not survive in free pages or the WAL.
            self.catalog.compact()
            self.keys.forget_old_key_file()
        info = self.keys.info(new_sealer)
        return KeyChange(resealed, info.kind, info.key_file, info.key_id)

    @property
    def policy(self) -> Policy:
        return self.context.policy.current

    @property
    def unlocked(self) -> bool:
        """Whether the library's biometric data is open (its key or passphrase was given)."""
        return self.sealer is not None

    def require_key(self) -> Sealer:
        return self.keys.require(self.sealer)

    # --- the web app's parts -----------------------------------------------------------------

    @property
    def accounts(self) -> Accounts:
        """The web app's users and sessions (one set per engine); it takes `lock` around its
        catalog reads and writes, never while checking a password."""
        if self._accounts is None:
            self._accounts = Accounts(self.catalog, guard=lambda: self.lock)
        return self._accounts

    def store_upload(
        self, data: bytes, suffix: str, known: set[str], name: str | None = None, **where: Any
    ) -> tuple[str, Path | None]:
        """Keep a photo or video handed in (see `Uploads.store`: `folder`, `modified`); index
        it with `submit_index`."""
        return self.uploads.store(data, suffix, known, name, **where)

    def photo(self, photo_id: int) -> Photo | None:
        return self.catalog.photos.get(photo_id)

    # --- who is acting ------------------------------------------------------------------------

    @contextmanager
    def acting_as(self, actor: str, *, full_paths: bool) -> Iterator[Engine]:
        """What is done in this block is done by `actor`, as the audit log records it, who is
        shown where photos are on the disk only if `full_paths`. It holds for this thread
        only (a server's request); the engine's own actor (`EngineConfig.actor`) is back
        when the block ends."""
        with self.context.acting.as_(Actor(actor, full_paths)):
            yield self

    def path_namer(self) -> Callable[[str], str]:
        """How photos' paths are shown to who is acting (see `acting_as`)."""
        return self.context.policy.path_namer(self.context.acting.actor)

    # --- indexing ---------------------------------------------------------------------------

    def index(
        self,
        roots: Iterable[Path],
        *,
        prune: bool = False,
        on_event: EventSink | None = None,
        retry_failed: bool = False,
        job: Job | None = None,
    ) -> IndexReport:
        """Index photos and videos under `roots` (folders or files). Failed files are looked at
        again only if they changed, if what their failure depends on changed, or if asked
        (`retry_failed`). The run is a job (`job`, or a new one) with its progress. Files are
        analysed without `lock` (here, or on `config.ray`); each batch's writes hold it."""
        roots = list(roots)
        refuse_urls(roots)
        self.require_key()
        self.models.verify()  # a missing or altered model fails here, before any work
        return self.indexer.run(
            roots, prune=prune, on_event=on_event, retry_failed=retry_failed, job=job
        )

    def _after_index(self) -> None:
        # Faces analysed again or pruned may have been people's covers.
        self.people.fix_covers()
        self.vectors.save()

    # --- the job queue --------------------------------------------------------------------------

    def submit_index(self, folders: Iterable[Path]) -> Job:
        """Index `folders` in the background (see `run_jobs`); the job is on the list at once."""
        return self.jobs.submit("index", {"folders": [os.path.abspath(f) for f in folders]})

    def run_jobs(self) -> None:
        """Run the library's queued jobs in a thread of this engine's, one after another, until
        the engine is closed (a server does)."""
        if self._runner is None:
            self._resume_uploads()
            self._runner = JobRunner(self.jobs, self.run_job)
            self._runner.start()

    def _resume_uploads(self) -> None:
        """Photos uploaded through the web app whose indexing was cut short (the server was
        stopped or died) are indexed now: a web user has no command to run it again."""
        folder = os.path.abspath(self.uploads.folder)
        of_uploads = [
            j for j in self.jobs.all() if j.kind == "index" and folder in j.args.get("folders", [])
        ]
        if of_uploads and of_uploads[-1].state == INTERRUPTED:
            self.submit_index([self.uploads.folder])

    def run_job(self, job: Job) -> None:
        if job.kind == "index":
            self.index([Path(f) for f in job.args["folders"]], job=job)
        elif job.kind in ShareJobs.KINDS:
            self.shares.run(job)
        else:
            self.jobs.end(job, FAILED, message=f"Regard does not know jobs of kind {job.kind!r}.")

    def _recover_jobs(self) -> None:
        """A job left marked running by a process that died is marked interrupted, unless
        another process is indexing the library right now (its job is alive)."""
        with self.lock:
            if not self.catalog.jobs.running():
                return
        try:
            with writer_lock(self.paths):
                self.jobs.recover()
        except LibraryLockedError:
            pass

    @property
    def analyser(self) -> Analyser:
        """Models loaded in this process; loaded on first use."""
        return self._local.analyser

    # --- search -------------------------------------------------------------------------------

    def probe_faces(self, photo: Path) -> list[ProbeFace]:
        """The faces in a photo, left to right, as `search --face-index` numbers them."""
        return self.probes.read(photo).described()

    def search_face(
        self,
        photo: Path,
        *,
        face_index: int | None = None,
        threshold: float | None = None,
        limit: int | None = None,
    ) -> SearchResult:
        """Every library photo with a face matching the (chosen) face in `photo`, best first,
        within what the library's policy and people's consents allow."""
        self.require_key()
        return self.search.search_face(
            photo, face_index=face_index, threshold=threshold, limit=limit
        )

    def search_person(self, ref: str, *, threshold: float | None = None) -> PersonSearch:
        """A person's photos, then photos with faces that look like them but are not in them
        yet ("suggested"), best first, within what the library's policy and consents allow."""
        return self.search.search_person(ref, threshold=threshold)

    @property
    def calibration(self) -> Calibration:
        return self.context.calibration

    # --- status -------------------------------------------------------------------------------

    def status(self) -> LibraryStatus:
        """What the library holds: photos, faces, people, errors, models, its key, its size."""
        return self.view.status(self.keys.info(self.sealer), unlocked=self.unlocked)

    def photos(self, *, with_faces: bool = False) -> list[PhotoSummary]:
        """The library's photos with how many faces (and good-quality faces) each has."""
        return self.view.photos(with_faces=with_faces)

    def timeline(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        year: int | None = None,
        folder: str | None = None,
        with_faces: bool = False,
        undated: bool = False,
    ) -> Timeline:
        """Photos newest first (undated last), for browsing; filter by year, folder (and the
        folders under it) or no date. With the years and folders there are to filter by."""
        return self.view.timeline(
            offset=offset,
            limit=limit,
            year=year,
            folder=folder,
            with_faces=with_faces,
            undated=undated,
        )

    def folder_path(self, folder: str) -> str | None:
        """The folder a name from `timeline()`'s list of folders stands for."""
        return self.view.folder_path(folder)

    def photo_detail(self, photo_id: int) -> PhotoDetail:
        """One photo, its metadata, and its faces with who they are."""
        return self.view.photo_detail(photo_id)

    def failures(self) -> list[Photo]:
        return self.catalog.photos.failed()

    # --- sharing safely ---------------------------------------------------------------------------

    def anonymise(
        self,
        source: Path,
        output: Path,
        *,
        method: str = "gaussian",
        keep_audio: bool = False,
        progress: FrameProgress | None = None,
    ) -> AnonymisedCopy:
        """A copy of a photo or video handed in, every face blurred (see `anonymise`)."""
        return Anonymiser(self.models).anonymise(
            source, output, method=method, keep_audio=keep_audio, progress=progress
        )

    def select_for_export(
        self,
        *,
        paths: Iterable[Path] = (),
        folders: Iterable[str] = (),
        photo_ids: Iterable[int] = (),
        people: Sequence[str] = (),
    ) -> Selection:
        """The library photos to export: under `paths` (files or folders), in `folders` (as
        `timeline()` names them; owners may give paths), by id, and the photos of `people`."""
        chosen = [*paths, *(Path(self.folder_path(f) or f) for f in folders)]
        for photo_id in photo_ids:
            photo = self.catalog.photos.get(photo_id)
            if photo is None:
                raise PhotoNotFoundError(photo_id)
            chosen.append(Path(photo.path))
        return self.exporter.select(chosen, people)

    def export(
        self,
        selection: Selection,
        output: Path,
        options: ExportOptions,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> ExportReport:
        """Copies of the selected photos in `output`, faces blurred as `options` say, no
        metadata (see `regard.services.export`)."""
        return self.exporter.export(selection, output, options, progress=progress)

    def export_preview(
        self, selection: Selection, options: ExportOptions, *, images: int = 3
    ) -> ExportPreview:
        """What `export` would blur, before anything is written."""
        return self.exporter.preview(selection, options, images=images)

    def export_zip(self, selection: Selection, options: ExportOptions, folder: Path) -> Path:
        """`export` into `folder`, packed as one zip with its report; the zip's path."""
        return export_zip(self.exporter, selection, options, folder)

    def content_hashes(self) -> set[str]:
        """The SHA-256 of every photo the library holds, to keep each content once."""
        return self.uploads.known_hashes()

    # --- privacy --------------------------------------------------------------------------------

    def records(self) -> RecordOfProcessing:
        """The record of processing activities (GDPR art. 30), from the live configuration."""
        return self.privacy.records(self.catalog.runs.models(), self.keys.info(None).kind)


def refuse_urls(roots: Iterable[Path]) -> None:
    """Regard indexes files on this machine only: it has no crawler and no URL importer."""
    for root in roots:
        text = str(root)
        if "://" in text or text.startswith(("http:", "https:", "ftp:")):
            raise RegardError(
                f"{text} looks like a web address. Regard never fetches anything from the "
                "network: download the photos yourself, then index the folder."
            )
