"""Sharing as background jobs: a video (or photo) anonymised, and an export whose selection
holds videos. Both are minutes of work for a video, so they run as jobs of the library's queue
(`regard.jobs.queue`), like indexing: on the job list with their progress (frames, or files),
cancellable, and their result kept in the library folder (`shares/<folder>/`, private) until
it is downloaded and the job is a day old.

A video handed in is anonymised as `regard anonymise` does it: every face blurred in every
frame, the sound dropped unless asked for, no metadata. A video of the library exported keeps
recognisable the people the export's blur mode keeps (their appearances' boxes, moment by
moment), and blurs everyone else, in every frame; its sound is dropped.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from regard.atomic import private_dirs
from regard.context import LibraryContext
from regard.domain.face import Box
from regard.domain.jobs import CANCELLED, DONE, FAILED, Job
from regard.domain.people import person_label
from regard.domain.photo import Photo, shown_name
from regard.domain.privacy import Purpose
from regard.errors import (
    ForbiddenError,
    ImageError,
    InvalidRequestError,
    JobCancelledError,
    JobNotFoundError,
    JobStateError,
    RegardError,
    UploadTooLargeError,
)
from regard.jobs.queue import JobQueue
from regard.pipeline.models import ModelLoader
from regard.pipeline.sniff import sniff
from regard.privacy.acting import Acting, Actor
from regard.privacy.audit import AuditLog
from regard.services.anonymise import AnonymisedVideo, Anonymiser
from regard.services.export import Exporter, ExportOptions, Selection
from regard.storage.repositories import Store

if TYPE_CHECKING:
    from regard.services.recaps import MakeStage
    from regard.services.recaps import RecapService as RecapMaker

#: A finished job's result is kept this long (seconds), then removed when the next job starts.
KEEP_RESULTS = 24 * 3600
#: How often a running job's progress is written for other processes (seconds).
SAVE_EVERY = 0.5
VIDEO_COPY_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".zip": "application/zip",
}


class ShareJobs:
    """Submit, run and hand over the results of anonymise and export jobs."""

    KINDS = ("anonymise", "export", "recap")
    #: Makes recaps' collages and videos (`regard.services.recaps`), for "recap" jobs.
    recaps: RecapMaker | None = None

    def __init__(
        self,
        *,
        folder: Path,
        queue: JobQueue,
        models: ModelLoader,
        exporter: Exporter,
        catalog: Store,
        audit: AuditLog,
        acting: Acting,
        hold: Callable[[], AbstractContextManager[Any]],
    ) -> None:
        self.folder = folder
        self.queue = queue
        self.models = models
        self.exporter = exporter
        self.catalog = catalog
        self.audit = audit
        self.acting = acting
        self._hold = hold

    # --- submitting ------------------------------------------------------------------------------

    def receive(self, data: BinaryIO, name: str, limit: int) -> Path:
        """Keep a file handed in (`data`, at most `limit` bytes) in a new private folder of
        its own, for `submit_anonymise`; named `source` with its sent name's suffix."""
        place = self._new_folder()
        target = place / ("source" + (Path(name).suffix.lower()[:8] or ".bin"))
        copied = 0
        with target.open("wb") as out:
            while chunk := data.read(1 << 20):
                copied += len(chunk)
                if copied > limit:
                    out.close()
                    shutil.rmtree(place, ignore_errors=True)
                    raise UploadTooLargeError(f"{name}: larger than {limit // 2**20} MiB.")
                out.write(chunk)
        target.chmod(0o600)
        return target

    def submit_anonymise(
        self,
        source: Path,
        *,
        name: str | None = None,
        method: str = "gaussian",
        keep_audio: bool = False,
    ) -> Job:
        """Anonymise `source` (a video or a photo) in the background: every face blurred, no
        metadata, sound only with `keep_audio`. A file `receive` kept is removed when the job
        ends; any other is only read."""
        owned = source.parent.parent == self.folder
        return self.queue.submit(
            "anonymise",
            {
                "source": str(source),
                "name": name or source.name,
                "method": method,
                "keep_audio": keep_audio,
                "owned": owned,
                **self._who(),
            },
        )

    def submit_export(self, selection: Selection, options: ExportOptions) -> Job:
        """Export `selection` in the background as one zip (photos and videos, anonymised as
        `options` say), with `report.json`."""
        self.exporter.visible_people(options)  # who may stay visible is checked now
        return self.queue.submit(
            "export",
            {
                "photos": [p.id for p in selection.photos],
                "by_person": list(selection.by_person),
                "options": {
                    **asdict(options),
                    "visible": list(options.visible),
                    "keep": list(options.keep),
                },
                **self._who(),
            },
        )

    def submit_recap(self, recap_id: str, what: str) -> Job:
        """Make a recap's collage ("collage", a JPEG) or slideshow ("video", an MP4) in the
        background: faces that may not be shown blurred; the file at `result` once done."""
        if what not in ("collage", "video"):
            raise InvalidRequestError(f"A recap is made as a collage or a video, not {what!r}.")
        if self.recaps is None:
            raise InvalidRequestError("Recaps cannot be made in this library.")
        recap = self.recaps.get(recap_id).recap  # an unknown recap is refused now, not later
        return self.queue.submit("recap", {"recap": recap.id, "what": what, **self._who()})

    def _who(self) -> dict[str, Any]:
        actor = self.acting.actor
        return {"actor": actor.name, "full_paths": actor.full_paths}

    # --- running ---------------------------------------------------------------------------------

    def run(self, job: Job) -> None:
        """Run an anonymise or export job to its end (done, failed or cancelled)."""
        self._forget_old()
        args = job.args
        place = Path(args["source"]).parent if args.get("owned") else self._new_folder()
        try:
            with self.acting.as_(Actor(args["actor"], args["full_paths"])):
                if job.kind == "anonymise":
                    report = self._anonymise(job, place)
                elif job.kind == "recap":
                    report = self._recap(job, place)
                else:
                    report = self._export(job, place)
        except JobCancelledError:
            shutil.rmtree(place, ignore_errors=True)
            self.queue.end(job, CANCELLED, message="Cancelled: nothing was kept.")
            return
        except RegardError as exc:
            shutil.rmtree(place, ignore_errors=True)
            if isinstance(exc, ImageError) and args.get("owned"):
                exc = exc.renamed(args["name"])  # by the name it was sent as, not where it was
            self.queue.end(job, FAILED, message=exc.web_text)
            return
        except BaseException:
            shutil.rmtree(place, ignore_errors=True)
            raise
        report["folder"] = place.name
        self.queue.end(job, DONE, report=report)

    def _tracker(self, job: Job) -> Callable[[int, int | None], None]:
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            self.queue.check(job)
            job.done, job.total = done, total or max(job.total, done)
            if time.monotonic() - last[0] >= SAVE_EVERY:
                last[0] = time.monotonic()
                self.queue.save(job)

        return progress

    def _anonymise(self, job: Job, place: Path) -> dict[str, Any]:
        args = job.args
        source = Path(args["source"])
        name = str(args["name"])
        out = place / f"{_stem(name)}-anonymised{_copy_suffix(source, name)}"
        copy = Anonymiser(self.models).anonymise(
            source,
            out,
            method=args["method"],
            keep_audio=args["keep_audio"],
            progress=self._tracker(job),
        )
        if args.get("owned"):
            source.unlink(missing_ok=True)  # the copy is all that is kept
        # Faces: those followed through a video (its boxes blurred are per frame), a photo's.
        job.faces = copy.tracks if isinstance(copy, AnonymisedVideo) else copy.faces_blurred
        job.done = job.total = job.total or 1
        report = copy.as_dict()
        report.update(source=name, output=out.name, download=out.name)
        return report

    def _recap(self, job: Job, place: Path) -> dict[str, Any]:
        assert self.recaps is not None
        args = job.args
        video = args["what"] == "video"
        out = place / f"recap-{_stem(str(args['recap'])).lower()}.{'mp4' if video else 'jpg'}"
        step = self._tracker(job)

        def stage(now: MakeStage) -> None:
            # What the counts count: the web app words it (`memories.js`).
            job.message = now
            job.done, job.total = 0, 0

        made = self.recaps.make(
            args["recap"],
            collage=None if video else out,
            video=out if video else None,
            progress=lambda done, total: step(done, total),
            stage=stage,
        )
        job.message = ""
        job.faces = made.faces_blurred
        job.done = job.total = max(job.total, 1)
        report = made.as_dict()
        report.update(collage=None, video=None, output=out.name, download=out.name)
        return report

    def _export(self, job: Job, place: Path) -> dict[str, Any]:
        args = job.args
        given = args["options"]
        options = ExportOptions(
            **{**given, "visible": tuple(given["visible"]), "keep": tuple(given["keep"])}
        )
        chosen = [p for i in args["photos"] if (p := self._photo(i)) is not None]
        job.total = len(chosen)
        copies = place / "copies"
        step = self._tracker(job)

        def on_frame(video: str, done: int, total: int | None) -> None:
            self.queue.check(job)
            job.message = f"Blurring the faces of {video}: frame {done} of {total or '?'}"
            step(job.done, job.total)

        report = self.export_all(
            Selection(chosen, tuple(args["by_person"])),
            copies,
            options,
            progress=lambda n, total: step(n, total),
            on_frame=on_frame,
        )
        job.message = ""
        zipped = place / "regard-export.zip"
        with zipfile.ZipFile(zipped, "w") as z:
            for entry in [*report["files"], *report["videos"]]:
                copy = Path(entry["output"])
                z.write(copy, copy.name)
                entry["output"] = copy.name
                entry["source"] = Path(entry["source"]).name
            report["output"] = "the zip"
            z.writestr("report.json", json.dumps(report, indent=1))
        shutil.rmtree(copies, ignore_errors=True)
        job.faces = report["faces_blurred"] + sum(v["faces_blurred"] for v in report["videos"])
        return {
            "photos": report["photos"],
            "videos": len(report["videos"]),
            "faces_blurred": job.faces,
            "skipped": report["skipped"],
            "download": zipped.name,
        }

    def export_all(
        self,
        selection: Selection,
        out: Path,
        options: ExportOptions,
        *,
        progress: Callable[[int, int], None] | None = None,
        on_frame: Callable[[str, int, int | None], None] | None = None,
    ) -> dict[str, Any]:
        """Export `selection` into the folder `out`, photos and videos: the export's report
        (`ExportReport.as_dict()`) with `videos`, an entry for each video copied.
        `progress(files done, files)`; `on_frame(video, frames done, frames)`."""
        videos = [p for p in selection.photos if _is_video(p)]
        photos = [p for p in selection.photos if not _is_video(p)]
        total = len(selection.photos)
        report: dict[str, Any] = {"output": str(out), "photos": 0, "faces_blurred": 0}
        report.update(faces_visible=0, faces_found_again=0, files=[], skipped=[])
        if photos or not videos:
            report = self.exporter.export(
                Selection(photos, selection.by_person),
                out,
                options,
                progress=None if progress is None else (lambda n, _t, _p: progress(n, total)),
            ).as_dict()
        out.mkdir(parents=True, exist_ok=True)
        report["videos"] = []
        for n, video in enumerate(videos, len(photos) + 1):
            name = _name(video)
            try:
                entry = self.export_video(
                    video,
                    out,
                    options,
                    n,
                    _frames_of(name, on_frame),
                    by_person=bool(selection.by_person),
                )
            except (OSError, RegardError) as exc:
                reason = exc.web_text if isinstance(exc, RegardError) else str(exc)
                report["skipped"].append({"path": name, "reason": reason})
            else:
                report["videos"].append(entry)
            if progress is not None:
                progress(n, total)
        return report

    def export_video(
        self,
        video: Photo,
        out: Path,
        options: ExportOptions,
        n: int,
        on_frame: Callable[[int, int | None], None] | None = None,
        *,
        by_person: bool = False,
    ) -> dict[str, Any]:
        """One video of an export, into the folder `out`: the people `options` keep visible
        as they are (their appearances' boxes at each moment), everyone else blurred in every
        frame; no sound, no metadata. Audited as an export."""
        visible = self.exporter.visible_people(options)
        with self._hold():
            plan = self.exporter.plan(video.id, visible)
            kept_ids = [
                int(r["id"])
                for r in self.catalog.faces.rows(video.id)
                if r["biometric"] != "opted_out" and r["person_id"] in visible
            ]
            kept = list(self.catalog.appearances.of_faces(kept_ids).values())

        def keep_at(t: float) -> list[Box]:
            return [b for m in kept if (b := m.box_at(t)) is not None]

        stem = f"video-{n:04d}" if options.rename else Path(video.path).stem
        target = out / f"{stem}{_copy_suffix(Path(video.path), video.path)}"
        k = 2
        while target.exists():
            target = target.with_name(f"{stem}-{k}{target.suffix}")
            k += 1
        copy = Anonymiser(self.models).anonymise(
            Path(video.path),
            target,
            method=options.method,
            progress=on_frame,
            keep_at=keep_at if kept else None,
        )
        assert isinstance(copy, AnonymisedVideo)
        shown = sorted(set(plan.visible_people))
        with self._hold(), self.catalog.transaction():
            self.audit.record(
                "export",
                actor=self.acting.name,
                purpose=Purpose.SEARCH.value if by_person else None,
                subject=",".join(person_label(p) for p in shown) or None,
                result_count=1,
                detail={
                    "blur": options.blur,
                    "video": True,
                    "visible": [person_label(p) for p in sorted(visible)],
                    "appearances_visible": len(kept),
                    "faces_blurred": copy.faces_blurred,
                },
            )
        where = self.policy_namer()
        return {
            "source": where(video.path),
            "output": str(target),
            "kind": "video",
            "frames": copy.frames,
            "faces_blurred": copy.faces_blurred,
            "appearances_visible": len(kept),
            "audio_kept": False,
        }

    def policy_namer(self) -> Callable[[str], str]:
        return self.exporter.policy.path_namer(self.acting.actor)

    def _photo(self, photo_id: int) -> Photo | None:
        with self._hold():
            return self.catalog.photos.get(photo_id)

    # --- results ---------------------------------------------------------------------------------

    def result(self, job_id: str) -> tuple[Path, str, str]:
        """A finished job's result: where it is, the name to download it as, its media type.
        Only for who submitted the job, or someone who may see where photos are (an owner)."""
        job = self._own(job_id)
        if job.state != DONE or job.report is None:
            raise JobStateError(f"Job {job_id} has no result: it is {job.state}.")
        path = self.folder / job.report["folder"] / job.report["download"]
        if not path.is_file():
            raise JobStateError(
                f"The result of job {job_id} is no longer kept (results are kept for a day)."
            )
        return path, str(job.report["download"]), MEDIA_TYPES.get(path.suffix, "application/zip")

    def cancel(self, job_id: str) -> Job:
        """Stop an anonymise or export job (see `JobQueue.cancel`); as `result`, only for who
        submitted it, or an owner."""
        self._own(job_id)
        job = self.queue.cancel(job_id, self.acting.name)
        if job.state == CANCELLED and job.args.get("owned"):  # it never ran: its file goes now
            shutil.rmtree(Path(job.args["source"]).parent, ignore_errors=True)
        return job

    def _own(self, job_id: str) -> Job:
        job = self.queue.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        if job.kind not in self.KINDS:
            raise JobStateError(
                "Only anonymising and exports are cancelled or downloaded this way; indexing "
                "keeps what it did file by file."
            )
        actor = self.acting.actor
        if not actor.full_paths and job.args.get("actor") != actor.name:
            raise ForbiddenError(
                "member or viewer", f"download or cancel another user's job ({job_id})"
            )
        return job

    def _new_folder(self) -> Path:
        place = self.folder / uuid.uuid4().hex[:16]
        private_dirs(place)
        return place

    def _forget_old(self) -> None:
        """Results older than `KEEP_RESULTS` (and what a job cut short left) are removed."""
        if not self.folder.is_dir():
            return
        cutoff = time.time() - KEEP_RESULTS
        for place in self.folder.iterdir():
            if place.is_dir() and place.stat().st_mtime < cutoff:
                shutil.rmtree(place, ignore_errors=True)


def share_jobs(
    context: LibraryContext, models: ModelLoader, queue: JobQueue, exporter: Exporter, root: Path
) -> ShareJobs:
    """The library's share jobs, results under `root/shares`."""
    return ShareJobs(
        folder=root / "shares",
        queue=queue,
        models=models,
        exporter=exporter,
        catalog=context.catalog,
        audit=context.audit,
        acting=context.acting,
        hold=queue.hold,
    )


def _frames_of(
    name: str, on_frame: Callable[[str, int, int | None], None] | None
) -> Callable[[int, int | None], None] | None:
    if on_frame is None:
        return None

    def frames(done: int, total: int | None) -> None:
        on_frame(name, done, total)

    return frames


def _is_video(photo: Photo) -> bool:
    return photo.metadata is not None and photo.metadata.media == "video"


def _name(photo: Photo) -> str:
    return shown_name(photo.path, None)


def _stem(name: str) -> str:
    return Path(name).stem or "copy"


def _copy_suffix(source: Path, name: str) -> str:
    """What a copy is written as: a video in its container if Regard writes it (else MP4), a
    PNG or WebP photo as such, any other photo as JPEG."""
    suffix = Path(name).suffix.lower()
    try:
        with source.open("rb") as fh:
            kind = sniff(fh.read(32)) or ""
    except OSError:
        kind = ""
    if kind.startswith("image/"):
        return {"image/png": ".png", "image/webp": ".webp"}.get(kind, ".jpg")
    return suffix if suffix in VIDEO_COPY_SUFFIXES else ".mp4"
