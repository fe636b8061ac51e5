"""The library as people browse it: what it holds, its photos newest first and by folder, and
one photo with its faces and who they are (as far as the library's policy lets them be
named). The engine answers with these (`Engine.status`, `timeline`, `photo_detail`...)."""

from __future__ import annotations

import os

from regard.domain.library import (
    Encryption,
    FolderCount,
    LibraryStatus,
    PhotoDetail,
    PhotoFaceInfo,
    PhotoMetadataInfo,
    PhotoSummary,
    Timeline,
    VideoMomentInfo,
    YearCount,
)
from regard.domain.photo import folder_names, relative_name, shown_name
from regard.domain.privacy import Purpose
from regard.errors import PhotoNotFoundError
from regard.files import readable_path
from regard.inference.calibration import Calibration
from regard.privacy.acting import Acting
from regard.privacy.policy import PolicyGate
from regard.storage.keys import KeyInfo
from regard.storage.library import LibraryPaths
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore


class LibraryView:
    def __init__(
        self,
        *,
        catalog: Store,
        paths: LibraryPaths,
        vectors: VectorStore,
        policy: PolicyGate,
        acting: Acting,
        calibration: Calibration,
    ) -> None:
        self.catalog = catalog
        self.paths = paths
        self.vectors = vectors
        self.policy = policy
        self.acting = acting
        self.calibration = calibration

    def status(self, key: KeyInfo, *, unlocked: bool) -> LibraryStatus:
        """What the library holds; `key`: how it is locked, and whether it is `unlocked`."""
        counts = self.catalog.photos.counts()
        faces = counts["embeddings"]
        t = self.calibration.search_threshold(faces)
        return LibraryStatus(
            library=str(self.paths.root),
            library_id=self.catalog.runs.setting("library_id"),
            policy=self.policy.current.value,
            encryption=Encryption(
                scheme="AES-256-GCM",
                key=key.kind,
                key_file=key.key_file,
                unlocked=unlocked,
                key_id=key.key_id,
            ),
            biometric=self.catalog.privacy.biometric_counts(),
            consent_subjects=len({c["subject_key"] for c in self.catalog.privacy.consents()}),
            opt_outs=len(self.catalog.privacy.optouts()),
            audit_entries=len(self.catalog.privacy.audit_entries()),
            schema_version=self.catalog.schema_version,
            photos=counts["photos"],
            indexed=counts["indexed"],
            errors=counts["errors"],
            photos_with_faces=counts["photos_with_faces"],
            faces=counts["faces"],
            low_quality_faces=counts["low_quality_faces"],
            embeddings=counts["embeddings"],
            vector_index=self.vectors.kind,
            **self.catalog.people.counts(),
            search_threshold=t,
            expected_false_matches_per_search=round(
                self.calibration.expected_false_matches(t, faces), 4
            ),
            models=self.catalog.runs.models(),
            last_run=self.catalog.runs.last(),
            size_bytes=self.paths.size_bytes(),
            **self.catalog.appearances.counts(),
        )

    def photos(self, *, with_faces: bool = False) -> list[PhotoSummary]:
        """The library's photos with how many faces (and good-quality faces) each has."""
        return [PhotoSummary(**r) for r in self.catalog.photos.summaries(with_faces=with_faces)]

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
        counts = dict(self.catalog.photos.folders())
        names = folder_names(list(counts), str(self.paths.root))
        full = self.acting.actor.full_paths
        if folder is not None:
            # A name that is not one of the list's holds no photo.
            folder = self.folder_path(folder) or "\0"
        total, rows = self.catalog.photos.timeline(offset, limit, year, folder, with_faces, undated)
        where = self.policy.path_namer(self.acting.actor)
        for r in rows:
            r["name"] = shown_name(r["path"], r.pop("upload_name"))
            r["path"] = where(r["path"])
        return Timeline(
            total=total,
            offset=offset,
            photos=rows,
            years=[YearCount(**y) for y in self.catalog.photos.years()],
            undated=self.catalog.photos.undated_count(),
            folders=[
                FolderCount(f if full else names[f], readable_path(names[f]), n)
                for f, n in counts.items()
            ],
        )

    def folder_path(self, folder: str) -> str | None:
        """The folder a name from `timeline()`'s list of folders stands for (all but owners
        are given those names, not paths; owners may also give a path as it is)."""
        names = folder_names([f for f, _n in self.catalog.photos.folders()], str(self.paths.root))
        named = next((f for f, n in names.items() if n == folder), None)
        return named or (folder if self.acting.actor.full_paths else None)

    def photo_detail(self, photo_id: int) -> PhotoDetail:
        """One photo, its metadata, and its faces with who they are."""
        photo = self.catalog.photos.get(photo_id)
        if photo is None:
            raise PhotoNotFoundError(photo_id)
        faces = []
        for r in self.catalog.faces.rows(photo_id):
            person = self.catalog.people.get(r["person_id"]) if r["person_id"] else None
            if person is not None and not self.policy.allowed(person, Purpose.GROUPING):
                person = None  # not to be identified (withdrawn consent, or none required)
            faces.append(
                PhotoFaceInfo(
                    face=f"F{r['id']}",
                    face_id=r["id"],
                    box=[round(r[k], 1) for k in ("x", "y", "w", "h")],
                    person=f"P{person.id}" if person else None,
                    name=person.name if person else None,
                    assigned_by=r["assigned_by"],
                    face_data=r["biometric"],
                    low_quality=bool(r["low_quality"]),
                )
            )
        meta = photo.metadata
        video = meta is not None and meta.media == "video"
        previous, following = self.catalog.timeline.neighbours(photo_id)
        sent = self.catalog.photos.upload_name(photo.path)
        file = relative_name(photo.path, self.catalog.runs.indexed_roots())
        if sent:  # an upload: its folder, and the name it was sent with (not its content's)
            file = os.path.join(os.path.dirname(file), shown_name(photo.path, sent))
        return PhotoDetail(
            id=photo.id,
            path=self.policy.path_namer(self.acting.actor)(photo.path),
            name=shown_name(photo.path, sent),
            status=photo.status.value,
            error=photo.error_message,
            error_web=photo.error_web or photo.error_message,
            metadata=None
            if meta is None
            else PhotoMetadataInfo(
                format=meta.format,
                width=meta.width,
                height=meta.height,
                taken_at=meta.taken_at,
                camera=camera_name(meta.camera_make, meta.camera_model),
                has_location=meta.gps_lat is not None,
                latitude=meta.gps_lat,
                longitude=meta.gps_lon,
            ),
            faces=faces,
            unassigned=sum(1 for f in faces if f.person is None),
            file=file,
            media="video" if video else "photo",
            duration=meta.duration if meta is not None and video else None,
            prev=previous,
            next=following,
            moments=self._moments(photo_id, faces) if video else [],
        )

    def _moments(self, video_id: int, faces: list[PhotoFaceInfo]) -> list[VideoMomentInfo]:
        """A video's appearances with who they are (as its faces say) and their paths."""
        by_id = {f.face_id: f for f in faces}
        out = []
        for m in self.catalog.appearances.of_video(video_id):
            f = by_id.get(m.face_id)
            if f is None:
                continue
            out.append(
                VideoMomentInfo(
                    face=f.face,
                    face_id=m.face_id,
                    start=round(m.start, 3),
                    end=round(m.end, 3),
                    best_time=round(m.best_time, 3),
                    box=[round(v, 1) for v in (m.box.x, m.box.y, m.box.w, m.box.h)],
                    path=[
                        [
                            round(p.time, 3),
                            *(round(v, 1) for v in (p.box.x, p.box.y, p.box.w, p.box.h)),
                        ]
                        for p in m.path
                    ],
                    person=f.person,
                    name=f.name,
                    face_data=f.face_data,
                )
            )
        return out


def camera_name(make: str | None, model: str | None) -> str | None:
    """ "Canon EOS 5D Mark III", not "Canon Canon EOS 5D Mark III": most cameras repeat
    their make in their model."""
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(x for x in (make, model) if x) or None
