"""Photos: what the catalog knows about a file, and what analysing one produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from regard.domain.face import AnalysedFace, Box


class PhotoStatus(StrEnum):
    INDEXED = "indexed"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """Cheap identity of a file on disk: if these match the catalog, the file is unchanged."""

    path: str
    size_bytes: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class PhotoMetadata:
    """Facts read from the file itself. Width/height are of the upright (EXIF-oriented) image."""

    format: str
    width: int
    height: int
    orientation: int = 1
    taken_at: str | None = None  # ISO 8601, local time as the camera wrote it
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None


@dataclass(frozen=True, slots=True)
class PhotoAnalysis:
    """Everything the pipeline learned from one file: the unit written to the catalog at once."""

    fingerprint: FileFingerprint
    content_hash: str
    metadata: PhotoMetadata
    faces: tuple[AnalysedFace, ...]
    pipeline_id: str


@dataclass(frozen=True, slots=True)
class PhotoFailure:
    """A file that could not be analysed, and why, in words for the user."""

    fingerprint: FileFingerprint
    code: str
    message: str
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Photo:
    id: int
    path: str
    content_hash: str | None
    size_bytes: int
    mtime_ns: int
    status: PhotoStatus
    metadata: PhotoMetadata | None
    error_code: str | None = None
    error_message: str | None = None
    pipeline_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredFace:
    """A face row of the catalog (without its vector)."""

    id: int
    photo_id: int
    ordinal: int
    box: Box
    det_score: float
    quality: float
    low_quality: bool
    extra: dict[str, float] = field(default_factory=dict)
