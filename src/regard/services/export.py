"""Share safely: export copies of library photos with faces blurred and metadata stripped.

Who stays recognisable is the owner's choice, within the library's rules:

* ``all``: nobody; ``none``: everybody the library may identify (metadata is still stripped);
* ``unconsented`` (the default): only people with an active consent record (for grouping or
  search), whatever the policy: the copy leaves the owner's hands;
* ``all-but``: only the people named (who must be identifiable under the library's policy).

Whatever the choice, a face whose owner opted out is always blurred, and so is any face the
detector finds that the library cannot put a name to. Before export every photo is searched
again at a higher resolution than indexing uses (`regard.pipeline.anonymise.redact`), so a
small face the index missed is not shipped unblurred, and the blurred result is searched once
more for anything that still looks like a face. The heads of the people who stay recognisable
are never blurred, not by one pixel. Originals are never modified; each copy is written whole
or not at all, and a photo that cannot be read is reported and skipped.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from regard.atomic import write_atomically
from regard.domain.face import Box, Detection, Landmarks
from regard.domain.people import person_label
from regard.domain.photo import Photo, PhotoStatus, shown_name
from regard.domain.privacy import Purpose, active_purposes
from regard.domain.result import Result
from regard.domain.sharing import BlurMethod
from regard.errors import OutputError, PrivacyRequestError, RegardError
from regard.inference.protocols import FaceDetector
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise.blur import BlurSettings, RGBImage, head_box
from regard.pipeline.anonymise.clean_encode import ImageFormat, check_keep, encode_clean
from regard.pipeline.anonymise.redact import RedactedPhoto, redact_photo
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate
from regard.services.people import PeopleService
from regard.storage.repositories import Store

BlurMode = Literal["all", "unconsented", "all-but", "none"]
#: Photos a preview runs through the redaction export runs (the rest: the catalog's faces).
PREVIEW_PHOTOS = 6
#: Pixels on the long side of a preview image.
PREVIEW_SIDE = 480
BLUR_MODES: tuple[BlurMode, ...] = ("unconsented", "all", "all-but", "none")


@dataclass(frozen=True, slots=True)
class ExportOptions:
    blur: BlurMode = "unconsented"
    visible: tuple[str, ...] = ()  # for all-but: the people who stay recognisable
    method: BlurMethod = "gaussian"
    keep: tuple[str, ...] = ()  # EXIF fields to carry over (dates, camera model…)
    quality: int = 90
    rename: bool = False  # name the copies photo-0001.jpg… (a file name can name a person)

    def __post_init__(self) -> None:
        if self.blur not in BLUR_MODES:
            raise PrivacyRequestError(
                f"Unknown blur mode {self.blur!r}: use one of {', '.join(BLUR_MODES)}."
            )
        if self.blur == "all-but" and not self.visible:
            raise PrivacyRequestError(
                '--blur all-but needs who stays recognisable, e.g. --visible "Grandma,Me".',
                web="Blurring everyone but some people needs who stays recognisable: name them.",
            )
        if self.blur != "all-but" and self.visible:
            raise PrivacyRequestError(
                "--visible only goes with --blur all-but.",
                web="Who stays recognisable goes only with blurring everyone but them.",
            )
        if not 1 <= self.quality <= 100:
            raise PrivacyRequestError(
                "--quality is a JPEG/WebP quality from 1 to 100.",
                web="The quality is a JPEG/WebP quality from 1 to 100.",
            )
        check_keep(self.keep)


@dataclass
class ExportReport:
    output: str
    photos: int = 0
    faces_blurred: int = 0
    faces_visible: int = 0
    faces_found_again: int = 0  # of those blurred, faces the index did not hold (found now)
    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "photos": self.photos,
            "faces_blurred": self.faces_blurred,
            "faces_visible": self.faces_visible,
            "faces_found_again": self.faces_found_again,
            "files": self.files,
            "skipped": self.skipped,
        }


@dataclass(frozen=True, slots=True, eq=False)
class ExportPreview(Result):
    """What an export would do, before anything is written."""

    photos: int
    searched: int  # of them, run through the redaction export runs (the rest: catalog faces)
    #: Per photo: its id and name, size, the heads blurred and left visible (x, y, w, h), and
    #: for the first ones a small JPEG of the copy as a data URL ("image").
    files: list[dict[str, Any]]
    skipped: list[dict[str, str]]  # photos that could not be read: path and reason
    #: Who is in the photos: person, name, faces, chosen (by name), visible, and a warning.
    people: list[dict[str, Any]]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class Selection:
    """The photos to export, and the people they were chosen by (a search, for the audit)."""

    photos: list[Photo]
    by_person: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PhotoPlan:
    """What to do with the faces the catalog holds for one photo (full-resolution)."""

    blur: list[Detection]
    keep: list[Detection]
    visible_people: list[int]


class Exporter:
    def __init__(
        self,
        *,
        catalog: Store,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        people: PeopleService,
        still_detector: Callable[[], FaceDetector],
        limits: DecodeLimits,
    ) -> None:
        self.catalog = catalog
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.people = people
        self.still_detector = still_detector
        self.limits = limits

    # --- what to export -------------------------------------------------------------------------

    def select(self, paths: Sequence[Path], people: Sequence[str] = ()) -> Selection:
        """Indexed photos under `paths` (files or folders), and the photos of `people`."""
        if not paths and not people:
            err = PrivacyRequestError(
                "Say what to export: photos or folders of the library, or --person NAME."
            )
            err.web_message = "Say what to export: photos or a folder of the library, or a person."
            raise err
        trashed = self.catalog.trash.ids()  # nothing in the trash is exported
        photos = [
            p
            for p in self.catalog.photos.all()
            if p.status == PhotoStatus.INDEXED and p.id not in trashed
        ]
        chosen: dict[int, Photo] = {}
        searched: list[int] = []
        for given in paths:
            root = os.path.abspath(given)
            prefix = root.rstrip(os.sep) + os.sep
            inside = [p for p in photos if p.path == root or p.path.startswith(prefix)]
            if not inside:
                err = PrivacyRequestError(
                    f"{given}: no indexed photo is there. Index it first (`regard index "
                    f"{given}`); only photos in the library can be exported."
                )
                err.web_message = (
                    f"{given}: no indexed photo is there; only photos in the library can be "
                    "exported. Add them on the Library page first."
                )
                raise err
            chosen.update((p.id, p) for p in inside)
        for ref in people:
            row = self.people.resolve(ref)
            if not self.policy.allowed(row, Purpose.SEARCH):
                raise PrivacyRequestError(
                    f"{ref} may not be searched for under this library's policy or their "
                    "consent, so their photos cannot be chosen by name. Choose them by folder."
                )
            ids = {f.photo_id for f in self.people.people.faces_of(row.id)}
            chosen.update((p.id, p) for p in photos if p.id in ids)
            searched.append(row.id)
        return Selection(sorted(chosen.values(), key=lambda p: p.path), tuple(searched))

    # --- who stays recognisable ---------------------------------------------------------------

    def visible_people(self, options: ExportOptions) -> set[int]:
        """The people whose faces stay as they are."""
        if options.blur == "all":
            return set()
        live = self.catalog.people.live_people()
        if options.blur == "none":
            return {p.id for p in live if self.policy.allowed(p, Purpose.GROUPING)}
        if options.blur == "all-but":
            out = set()
            for name in options.visible:
                row = self.people.resolve(name)
                if not self.policy.allowed(row, Purpose.GROUPING):
                    raise PrivacyRequestError(
                        f"{name} may not be identified under this library's policy or their "
                        "consent: they cannot be shown unblurred by name."
                    )
                out.add(row.id)
            return out
        today = self.policy.today()
        wanted = {Purpose.GROUPING, Purpose.SEARCH}
        return {
            p.id
            for p in live
            if p.name and active_purposes(self.policy.ledger(p.name), today) & wanted
        }

    def plan(self, photo_id: int, visible: set[int]) -> PhotoPlan:
        """Which faces the catalog holds for the photo to blur and which to keep visible; the
        redaction blurs every other face it finds too."""
        blur: list[Detection] = []
        keep: list[Detection] = []
        shown: list[int] = []
        known = self.catalog.faces.rows(photo_id)
        for f in known:
            box = Box(f["x"], f["y"], f["w"], f["h"])
            face = Detection(box, Landmarks.from_flat(json.loads(f["landmarks"])), f["det_score"])
            if f["biometric"] != "opted_out" and f["person_id"] in visible:
                keep.append(face)
                shown.append(int(f["person_id"]))
            else:
                blur.append(face)
        return PhotoPlan(blur, keep, shown)

    @property
    def detector(self) -> FaceDetector:
        return self.still_detector()

    # --- exporting -------------------------------------------------------------------------------

    def export(
        self,
        selection: Selection,
        out: Path,
        options: ExportOptions,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> ExportReport:
        """Write an anonymised copy of each photo of `selection` into the folder `out`."""
        photos = selection.photos
        visible = self.visible_people(options)
        _check_output(out, photos)
        out.mkdir(parents=True, exist_ok=True)
        report = ExportReport(str(out))
        settings = BlurSettings(method=options.method)
        shown: set[int] = set()
        where = self.policy.path_namer(self.acting.actor)
        for n, photo in enumerate(photos, 1):
            try:
                _not_a_video(photo)
                entry = self._export_one(photo, out, options, visible, settings, n)
                entry["source"] = where(entry["source"])
            except (OSError, RegardError) as exc:
                report.skipped.append({"path": where(photo.path), "reason": str(exc)})
            else:
                report.photos += 1
                report.faces_blurred += entry["faces_blurred"]
                report.faces_visible += entry["faces_visible"]
                report.faces_found_again += entry["found_again"]
                shown.update(entry.pop("people"))
                report.files.append(entry)
            if progress:
                progress(n, len(photos), photo.path)
        searched = selection.by_person
        with self.catalog.transaction():
            self.audit.record(
                "export",
                actor=self.acting.name,
                purpose=Purpose.SEARCH.value if searched else None,
                subject=",".join(person_label(p) for p in sorted(shown)) or None,
                result_count=report.photos,
                detail={
                    "blur": options.blur,
                    "visible": [person_label(p) for p in sorted(visible)],
                    "faces_blurred": report.faces_blurred,
                    "faces_visible": report.faces_visible,
                    "keep": list(options.keep),
                    "skipped": len(report.skipped),
                    "selected_by_person": [person_label(p) for p in searched],
                },
            )
        return report

    def _export_one(
        self,
        photo: Photo,
        out: Path,
        options: ExportOptions,
        visible: set[int],
        settings: BlurSettings,
        n: int,
    ) -> dict[str, Any]:
        source = Path(photo.path)
        opened, plan, done = self._redacted(photo, visible, settings)
        fmt = _format_for(source)
        stem = f"photo-{n:04d}" if options.rename else source.stem
        target = _free_name(out, stem, "." + ("jpg" if fmt == "jpeg" else fmt))
        data = encode_clean(
            done.rgb,
            fmt,
            quality=options.quality,
            keep=options.keep,
            source_exif=opened.exif if options.keep else None,
        )
        write_atomically(target, data)
        return {
            "source": photo.path,
            "output": str(target),
            "faces_blurred": done.faces,
            "faces_visible": len(plan.keep),
            "found_again": done.found,
            # Where: the heads blurred and the heads left as they are (x, y, w, h, in pixels of
            # the copy), so the report can be checked against the copy.
            "blurred": [_whole(b) for b in done.blurred],
            "visible": [_whole(b) for b in done.kept],
            "people": plan.visible_people,
        }

    def _redacted(
        self, photo: Photo, visible: set[int], settings: BlurSettings
    ) -> tuple[OpenedImage, PhotoPlan, RedactedPhoto]:
        """The photo read, its plan, and its redaction: what export writes and preview shows."""
        opened = OpenedImage(photo.path, read_file(Path(photo.path), self.limits)[1], self.limits)
        plan = self.plan(photo.id, visible)
        done = redact_photo(
            opened.decode_at_least(1.0).rgb,
            self.detector,
            blur=settings,
            known=plan.blur,
            keep=plan.keep,
        )
        return opened, plan, done

    # --- before exporting: who comes out blurred, and what it looks like -----------------------

    def preview(
        self,
        selection: Selection,
        options: ExportOptions,
        images: int = 3,
        searched: int = PREVIEW_PHOTOS,
    ) -> ExportPreview:
        """What `export` would do, without writing anything: for each photo the heads it would
        blur and those it would leave (the first `searched` photos through the very redaction
        export runs, the others from the catalog's faces only), a small JPEG of the first
        `images` copies (as data URLs; nothing is stored), who is in the photos and whether
        they stay recognisable, and a warning for each person chosen by name who would come
        out blurred."""
        photos = selection.photos
        visible = self.visible_people(options)
        settings = BlurSettings(method=options.method)
        files: list[dict[str, Any]] = []
        skipped: list[dict[str, str]] = []
        for n, photo in enumerate(photos):
            # Named as the library shows it (an upload by the name it was sent with).
            name = shown_name(photo.path, self.catalog.photos.upload_name(photo.path))
            entry: dict[str, Any] = {"photo": photo.id, "name": name}
            # A video's preview is its people as the catalog holds them (the copy is made by
            # a job: `regard.services.share_jobs`).
            if n < searched and not (photo.metadata and photo.metadata.media == "video"):
                try:
                    _, _, done = self._redacted(photo, visible, settings)
                except (OSError, RegardError) as exc:
                    skipped.append({"path": photo.path, "reason": str(exc)})
                    continue
                h, w = done.rgb.shape[:2]
                entry |= {
                    "width": w,
                    "height": h,
                    "searched": True,
                    "blurred": [_whole(b) for b in done.blurred],
                    "visible": [_whole(b) for b in done.kept],
                }
                if n < images:
                    entry["image"] = _preview_image(done.rgb)
            else:
                plan = self.plan(photo.id, visible)
                rules = settings.cover
                meta = photo.metadata
                entry |= {
                    "width": meta.width if meta else None,
                    "height": meta.height if meta else None,
                    "searched": False,
                    "blurred": [_whole(head_box(f.box, f.landmarks, rules)) for f in plan.blur],
                    "visible": [_whole(head_box(f.box, f.landmarks, rules)) for f in plan.keep],
                }
            files.append(entry)
        people = self._fates([p.id for p in photos], visible, options, selection.by_person)
        with self.catalog.transaction():
            self.audit.record(
                "export-preview",
                actor=self.acting.name,
                purpose=Purpose.SEARCH.value if selection.by_person else None,
                subject=None,
                result_count=len(files),
                detail={
                    "blur": options.blur,
                    "visible": [person_label(p) for p in sorted(visible)],
                    "selected_by_person": [person_label(p) for p in selection.by_person],
                },
            )
        return ExportPreview(
            photos=len(photos),
            searched=min(searched, len(photos)),
            files=files,
            skipped=skipped,
            people=people,
            warnings=[p["warning"] for p in people if p.get("warning")],
        )

    def _fates(
        self,
        photo_ids: Sequence[int],
        visible: set[int],
        options: ExportOptions,
        chosen: Sequence[int],
    ) -> list[dict[str, Any]]:
        """Each person with faces in the photos (named where the policy allows), and whether
        they stay recognisable; why not, for those blurred."""
        faces: dict[int, int] = {}
        opted_out: set[int] = set()
        for photo_id in photo_ids:
            for f in self.catalog.faces.rows(photo_id):
                if f["person_id"] is not None:
                    faces[f["person_id"]] = faces.get(f["person_id"], 0) + 1
                    if f["biometric"] == "opted_out":
                        opted_out.add(f["person_id"])
        out = []
        for pid in sorted(faces, key=lambda p: (p not in chosen, -faces[p], p)):
            row = self.catalog.people.get(pid)
            if row is None:
                continue
            may_name = bool(row.name) and self.policy.allowed(row, Purpose.GROUPING)
            who = row.name if may_name and row.name else None
            shown = pid in visible and pid not in opted_out
            fate: dict[str, Any] = {
                "person": person_label(pid),
                "name": who,
                "faces": faces[pid],
                "chosen": pid in chosen,
                "visible": shown,
            }
            if not shown:
                fate["reason"] = self._why_blurred(row.name, pid in opted_out, options)
                fate["can_stay_visible"] = pid not in opted_out and self.policy.allowed(
                    row, Purpose.GROUPING
                )
                if pid in chosen and options.blur == "unconsented" and who:
                    fate["warning"] = (
                        f"{who} {fate['reason']}, so {who} will be blurred in every copy."
                    )
            out.append(fate)
        return out

    def _why_blurred(self, name: str | None, opted_out: bool, options: ExportOptions) -> str:
        if opted_out:
            return "has opted out of being recognised"
        if options.blur == "all":
            return "is blurred with everyone else"
        if options.blur == "all-but":
            return "is not among the people who stay recognisable"
        if options.blur == "none":
            return "may not be identified under this library's policy"
        if not self.policy.ledger(name):
            return "has no consent record"
        return "has no active consent for grouping or search"


def _whole(box: Box) -> list[int]:
    return [round(box.x), round(box.y), round(box.w), round(box.h)]


def _preview_image(rgb: RGBImage) -> str:
    """A small JPEG of a redacted photo, as a data URL (shown once, never stored)."""
    import cv2

    h, w = rgb.shape[:2]
    f = min(1.0, PREVIEW_SIDE / max(h, w))
    if f < 1.0:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)
    data = encode_clean(rgb, "jpeg", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _format_for(source: Path) -> ImageFormat:
    """PNG and WebP stay so (they may hold graphics); everything else becomes JPEG."""
    suffix = source.suffix.lower()
    return "png" if suffix == ".png" else "webp" if suffix == ".webp" else "jpeg"


def _check_output(out: Path, photos: Sequence[Photo]) -> None:
    folder = os.path.abspath(out)
    if out.exists() and not out.is_dir():
        raise OutputError(out, "exists and is not a folder", "Give a new or empty folder.")
    for p in photos:
        if os.path.dirname(p.path) == folder:
            raise OutputError(
                out,
                "is a folder of the photos being exported",
                "Export into another folder: originals are never overwritten or mixed with copies.",
            )


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    target = folder / f"{stem}{suffix}"
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    return target


def _not_a_video(photo: Photo) -> None:
    """`Exporter.export` writes photos; a video in the selection is named and skipped (the
    export job, `ShareJobs.export_all`, copies it)."""
    if photo.metadata is not None and photo.metadata.media == "video":
        # No path in the words: a web member sees the file by its name only (the entry's).
        raise RegardError(
            "a video: this export copies photos; `regard export` copies videos too.",
            web="a video: this export copies photos; the Share page's Export copies videos too.",
        )
