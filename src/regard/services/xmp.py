"""Face regions with names in XMP sidecars: write Regard's names for other programs, and take
names other programs wrote (digiKam, Lightroom, Immich) as the owner's own.

Writing follows the library's policy: only people who may be identified for grouping are
named, and faces of people who opted out are left out entirely. Importing names people under
the same rules as `regard people name`: in an organisation library only names with an active
consent are taken; a rejected face is never given back to that person; one person is never
twice in one photo.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image

from regard.atomic import write_atomically
from regard.domain.face import Box
from regard.domain.people import person_label
from regard.domain.photo import Photo, PhotoStatus
from regard.domain.privacy import Purpose
from regard.pipeline.xmp import (
    Region,
    read_regions,
    stored_size,
    to_stored,
    to_upright,
    write_regions,
)
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate
from regard.services.people import PeopleService
from regard.storage.people_catalog import PersonRow
from regard.storage.repositories import Store

MATCH_IOU = 0.3  # regions drawn by another program's detector are sized differently


def sidecar_of(path: str) -> Path:
    """`photo.jpg.xmp`: unique per file, and read by digiKam and Immich."""
    return Path(path + ".xmp")


class XmpService:
    def __init__(
        self,
        *,
        catalog: Store,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        people: PeopleService,
    ) -> None:
        self.catalog = catalog
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.people = people
        self.skipped_videos: list[str] = []

    def _photos(self, paths: list[Path] | None) -> list[Photo]:
        """The indexed photos under `paths`; the videos there are in `self.skipped_videos`."""
        chosen = [p for p in self.catalog.photos.all() if p.status == PhotoStatus.INDEXED]
        if paths:
            roots = [str(Path(os.path.abspath(p))) for p in paths]
            chosen = [
                p
                for p in chosen
                if any(p.path == r or p.path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
            ]
        # XMP face regions are a photo's (MWG regions have no time): videos are left alone,
        # each named in the answer.
        where = self.policy.path_namer(self.acting.actor)
        self.skipped_videos = [where(p.path) for p in chosen if _is_video(p)]
        return [p for p in chosen if not _is_video(p)]

    def _nameable(self, person_id: int | None, cache: dict[int, PersonRow | None]) -> str | None:
        if not person_id:
            return None
        if person_id not in cache:
            row = self.catalog.people.get(person_id)
            ok = row is not None and row.name and self.policy.allowed(row, Purpose.GROUPING)
            cache[person_id] = row if ok else None
        row = cache[person_id]
        return row.name if row else None

    def write(self, paths: list[Path] | None = None, *, all_faces: bool = False) -> dict[str, Any]:
        """Write (or update) the sidecar of every photo with named faces."""
        cache: dict[int, PersonRow | None] = {}
        counts: Counter[str] = Counter()
        for photo in self._photos(paths):
            meta = photo.metadata
            if meta is None:
                continue
            regions = []
            for f in self.catalog.faces.rows(photo.id):
                if f["biometric"] == "opted_out":
                    continue
                name = self._nameable(f["person_id"], cache)
                if name is None and not all_faces:
                    continue
                box = Box(f["x"], f["y"], f["w"], f["h"])
                region = to_stored(box, (meta.width, meta.height), meta.orientation)
                regions.append(Region(name, region.x, region.y, region.w, region.h))
                counts["named_regions" if name else "unnamed_regions"] += 1
            if not regions:
                continue
            target = sidecar_of(photo.path)
            existing = target.read_bytes() if target.exists() else None
            data = write_regions(
                regions, stored_size((meta.width, meta.height), meta.orientation), existing
            )
            try:
                write_atomically(target, data)
            except OSError:
                counts["unwritable"] += 1  # a read-only folder: reported, the rest goes on
                continue
            counts["sidecars"] += 1
        with self.catalog.transaction():
            self.audit.record(
                "xmp-write",
                actor=self.acting.name,
                purpose=Purpose.GROUPING.value,
                result_count=counts["named_regions"],
                detail=dict(counts),
            )
        return {**dict(counts), "skipped_videos": self.skipped_videos}

    def import_names(self, paths: list[Path] | None = None) -> dict[str, Any]:
        """Name faces from the regions in sidecars and embedded XMP."""
        counts: Counter[str] = Counter()
        named: set[int] = set()
        for photo in self._photos(paths):
            meta = photo.metadata
            if meta is None:
                continue
            regions = self._regions_of(photo)
            if not regions:
                continue
            faces = [f for f in self.catalog.faces.rows(photo.id) if f["biometric"] == "kept"]
            upright = (meta.width, meta.height)
            stored = stored_size(upright, meta.orientation)
            for dims, region in regions:
                if not region.name or region.kind.lower() != "face":
                    continue
                if dims == upright != stored:
                    # Some writers apply regions to the displayed image, against the MWG
                    # guidelines; their dimensions give them away.
                    box = to_upright(region, upright, 1)
                else:
                    box = to_upright(region, stored, meta.orientation)
                face = max(
                    faces, key=lambda f: box.iou(Box(f["x"], f["y"], f["w"], f["h"])), default=None
                )
                if (
                    face is None
                    or box.iou(Box(face["x"], face["y"], face["w"], face["h"])) < MATCH_IOU
                ):
                    counts["regions_without_a_face"] += 1
                    continue
                outcome, person = self.people.name_face(int(face["id"]), region.name)
                counts[outcome] += 1
                if person:
                    named.add(person)
        with self.catalog.transaction():
            self.audit.record(
                "xmp-import",
                actor=self.acting.name,
                purpose=Purpose.GROUPING.value,
                subject=",".join(person_label(p) for p in sorted(named)) or None,
                result_count=counts["named"],
                detail=dict(counts),
            )
        return {
            **dict(counts),
            "people": sorted(person_label(p) for p in named),
            "skipped_videos": self.skipped_videos,
        }

    def _regions_of(self, photo: Photo) -> list[tuple[tuple[int, int] | None, Region]]:
        found: list[tuple[tuple[int, int] | None, Region]] = []
        candidates = [sidecar_of(photo.path), Path(photo.path).with_suffix(".xmp")]
        for sidecar in dict.fromkeys(candidates):
            if sidecar.is_file():
                dims, regions = read_regions(sidecar.read_bytes())
                found += [(dims, r) for r in regions]
        if not found:
            try:
                with Image.open(photo.path) as img:
                    embedded = img.info.get("xmp")
            except OSError:
                embedded = None
            if embedded:
                dims, regions = read_regions(embedded)
                found += [(dims, r) for r in regions]
        return found


def _is_video(photo: Photo) -> bool:
    return photo.metadata is not None and photo.metadata.media == "video"
