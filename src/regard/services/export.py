"""Share safely: export copies of library photos with faces blurred and metadata stripped.

Who stays recognisable is the owner's choice, within the library's rules:

* ``all``: nobody; ``none``: everybody the library may identify (metadata is still stripped);
* ``unconsented`` (the default): only people with an active consent record (for grouping or
  search), whatever the policy: the copy leaves the owner's hands;
* ``all-but``: only the people named (who must be identifiable under the library's policy).

Whatever the choice, a face whose owner opted out is always blurred, and so is any face the
detector finds that the library cannot put a name to. Before export every photo is searched
again at a higher resolution and a lower score threshold than indexing uses, so a small face
the index missed is not shipped unblurred, and the blurred result is searched once more for
anything that still looks like a face. Originals are never modified; each copy is written
whole or not at all, and a photo that cannot be read is reported and skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from regard.atomic import write_atomically
from regard.domain.face import Box
from regard.domain.people import person_label
from regard.domain.photo import Photo, PhotoStatus
from regard.domain.privacy import Purpose, active_purposes
from regard.errors import PrivacyRequestError, RegardError
from regard.inference.sessions import FaceDetector
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise import BlurMethod, BlurSettings
from regard.pipeline.clean_encode import ImageFormat, check_keep, encode_clean
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.redact import redact_photo
from regard.pipeline.share_errors import OutputError
from regard.privacy.context import PrivacyContext
from regard.services.people import PeopleService

BlurMode = Literal["all", "unconsented", "all-but", "none"]
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
    faces_found_again: int = 0  # blurred faces the index did not hold (found before export)
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


@dataclass(frozen=True, slots=True)
class Selection:
    """The photos to export, and the people they were chosen by (a search, for the audit)."""

    photos: list[Photo]
    by_person: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PhotoPlan:
    """What to do with one photo's faces: `blur` and `keep` are full-resolution boxes."""

    blur: list[Box]
    keep: list[Box]
    visible_people: list[int]


class Exporter:
    def __init__(
        self,
        ctx: PrivacyContext,
        people: PeopleService,
        limits: DecodeLimits,
    ) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.people = people
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
        photos = [p for p in self.catalog.photos() if p.status == PhotoStatus.INDEXED]
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
            if not self.ctx.allowed(row, Purpose.SEARCH):
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
            return {p.id for p in live if self.ctx.allowed(p, Purpose.GROUPING)}
        if options.blur == "all-but":
            out = set()
            for name in options.visible:
                row = self.people.resolve(name)
                if not self.ctx.allowed(row, Purpose.GROUPING):
                    raise PrivacyRequestError(
                        f"{name} may not be identified under this library's policy or their "
                        "consent: they cannot be shown unblurred by name."
                    )
                out.add(row.id)
            return out
        today = self.ctx.today()
        wanted = {Purpose.GROUPING, Purpose.SEARCH}
        return {
            p.id
            for p in live
            if p.name and active_purposes(self.ctx.ledger(p.name), today) & wanted
        }

    def plan(self, photo_id: int, visible: set[int]) -> PhotoPlan:
        """Which faces the catalog holds for the photo to blur and which to keep visible; the
        redaction blurs every other face it finds too."""
        blur: list[Box] = []
        keep: list[Box] = []
        shown: list[int] = []
        known = self.catalog.face_rows(photo_id)
        for f in known:
            box = Box(f["x"], f["y"], f["w"], f["h"])
            if f["biometric"] != "opted_out" and f["person_id"] in visible:
                keep.append(box)
                shown.append(int(f["person_id"]))
            else:
                blur.append(box)
        return PhotoPlan(blur, keep, shown)

    @property
    def detector(self) -> FaceDetector:
        return self.ctx.still_detector()

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
        where = self.ctx.path_namer()
        for n, photo in enumerate(photos, 1):
            try:
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
            self.ctx.audit.record(
                "export",
                actor=self.ctx.actor,
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
        opened = OpenedImage(photo.path, read_file(source, self.limits)[1], self.limits)
        plan = self.plan(photo.id, visible)
        done = redact_photo(
            opened.decode_at_least(1.0).rgb,
            self.detector,
            blur=settings,
            known=plan.blur,
            keep=plan.keep,
        )
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
            "faces_blurred": done.faces + done.rechecked,
            "faces_visible": len(plan.keep),
            "found_again": done.found + done.rechecked,
            "people": plan.visible_people,
        }


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
