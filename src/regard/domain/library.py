"""What the engine answers about a library: its status, the timeline, one photo's detail, a
change of key. Frozen dataclasses (see `regard.domain.result`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regard.domain.result import Result


@dataclass(frozen=True, slots=True, eq=False)
class Encryption(Result):
    scheme: str
    key: str  # "passphrase", "key file"...
    key_file: str | None
    unlocked: bool
    key_id: str | None


@dataclass(frozen=True, slots=True, eq=False)
class LibraryStatus(Result):
    library: str
    library_id: str | None
    policy: str
    encryption: Encryption
    biometric: dict[str, int]  # faces by the state of their face data
    consent_subjects: int
    opt_outs: int
    audit_entries: int
    schema_version: int
    photos: int
    indexed: int
    errors: int
    photos_with_faces: int
    faces: int
    low_quality_faces: int
    embeddings: int
    vector_index: str
    people: int
    named_people: int
    faces_in_people: int
    faces_waiting_to_be_grouped: int
    search_threshold: float
    expected_false_matches_per_search: float
    models: list[dict[str, Any]]  # the catalog's model rows
    last_run: dict[str, Any] | None  # the catalog's row of the last indexing run
    size_bytes: int
    videos: int = 0  # indexed videos (counted among `photos` too: files of the library)
    appearances: int = 0  # people's appearances in them (each one face)


@dataclass(frozen=True, slots=True, eq=False)
class PhotoSummary(Result):
    """A photo in the list of the library's photos, with how many faces it has."""

    id: int
    path: str
    status: str
    taken_at: str | None
    width: int | None
    height: int | None
    faces: int
    good_faces: int  # faces not of low quality
    media: str = "photo"  # or "video" (its faces are its appearances)
    duration: float | None = None  # seconds, videos only


@dataclass(frozen=True, slots=True, eq=False)
class FolderCount(Result):
    folder: str  # what to filter the timeline by (for owners: the path)
    name: str  # what to call it
    photos: int


@dataclass(frozen=True, slots=True, eq=False)
class YearCount(Result):
    year: str
    photos: int


@dataclass(frozen=True, slots=True, eq=False)
class Timeline(Result):
    total: int
    offset: int
    photos: list[dict[str, Any]]  # the catalog's photo rows, named as the user is shown them
    years: list[YearCount]
    undated: int
    folders: list[FolderCount]


@dataclass(frozen=True, slots=True, eq=False)
class PhotoFaceInfo(Result):
    face: str  # "F7"
    face_id: int
    box: list[float]  # x, y, width, height in upright pixels
    person: str | None  # "P12", where the policy allows showing who they are
    name: str | None
    assigned_by: str | None
    face_data: str  # the state of its face data (kept, opted out, erased...)
    low_quality: bool


@dataclass(frozen=True, slots=True, eq=False)
class PhotoMetadataInfo(Result):
    format: str
    width: int
    height: int
    taken_at: str | None
    camera: str | None
    has_location: bool
    latitude: float | None = None  # where it was taken, as the file records it (GPS)
    longitude: float | None = None


@dataclass(frozen=True, slots=True, eq=False)
class VideoMomentInfo(Result):
    """A face's appearance in a video, for a player: when, where at its best moment, and
    its path (each point `[time, x, y, width, height]`, upright pixels) to follow it."""

    face: str  # "F7"
    face_id: int
    start: float  # seconds on the player's timeline
    end: float
    best_time: float
    box: list[float]  # at best_time
    path: list[list[float]]
    person: str | None  # where the policy allows showing who they are
    name: str | None
    face_data: str  # the state of its face data (kept, opted out, erased...)


@dataclass(frozen=True, slots=True, eq=False)
class PhotoDetail(Result):
    id: int
    path: str
    name: str
    status: str
    error: str | None  # why it could not be indexed, in the command line's words
    error_web: str | None  # ... and in the web app's
    metadata: PhotoMetadataInfo | None
    faces: list[PhotoFaceInfo]
    unassigned: int
    #: Where it is from the folder it was indexed as (Pictures/2019/a.jpg), for everyone.
    file: str = ""
    media: str = "photo"  # or "video"
    duration: float | None = None  # seconds, videos only
    #: The photos before and after it in the timeline (newest first), for previous/next.
    prev: int | None = None
    next: int | None = None
    moments: list[VideoMomentInfo] = field(default_factory=list)  # a video's appearances


@dataclass(frozen=True, slots=True, eq=False)
class KeyChange(Result):
    """What `rekey` did."""

    resealed: int
    key: str
    key_file: str | None
    key_id: str | None


@dataclass(frozen=True, slots=True)
class OriginalFile:
    """A file to send: where it is, what it is, its size, and the name to download it as."""

    path: Path
    media_type: str
    size: int
    mtime_ns: int
    name: str
    video: bool
