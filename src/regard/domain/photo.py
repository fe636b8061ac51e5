"""Photos: what the catalog knows about a file, and what analysing one produces."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from regard.domain.appearance import Appearance
from regard.domain.face import AnalysedFace
from regard.files import readable_path

#: The longest file name kept to show for a photo someone sent (its suffix is kept).
#: File name endings of the videos Regard indexes (what FFmpeg inside PyAV reads).
VIDEO_INDEX_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp"})


def is_video(path: os.PathLike[str] | str) -> bool:
    """Indexed as a video (by its name's ending, as photos are)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_INDEX_SUFFIXES


MAX_DISPLAY_NAME = 200
_MAX_NAME_BYTES = 255  # what most file systems allow in one name
# Control characters, and invisible formatting ones (right-to-left overrides can make
# "gpj.exe" read as "exe.jpg"); surrogates a broken encoding left behind.
_HIDDEN = frozenset({"Cc", "Cf", "Cs"})


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
    media: str = "photo"  # or "video"
    duration: float | None = None  # seconds, videos only


@dataclass(frozen=True, slots=True)
class PhotoAnalysis:
    """Everything the pipeline learned from one file: the unit written to the catalog at once.

    A video's analysis is one too: each of its `appearances` is the face of the same ordinal
    in `faces` (the best frame's box, the mean of its embedded frames as the vector)."""

    fingerprint: FileFingerprint
    content_hash: str
    metadata: PhotoMetadata
    faces: tuple[AnalysedFace, ...]
    pipeline_id: str
    appearances: tuple[Appearance, ...] = ()

    def __post_init__(self) -> None:
        if self.appearances and len(self.appearances) != len(self.faces):
            raise ValueError("a video's analysis needs one face per appearance")

    @property
    def is_video(self) -> bool:
        return self.metadata.media == "video"


@dataclass(frozen=True, slots=True)
class PhotoFailure:
    """A file that could not be analysed, and why, in words for the user."""

    fingerprint: FileFingerprint
    code: str
    message: str
    content_hash: str | None = None
    #: The same for a web user, where `message` names a command-line option.
    web_message: str | None = None


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
    error_web: str | None = None  # the message for a web user, where it differs
    pipeline_id: str | None = None


def display_name(sent: str | None) -> str | None:
    """A file name someone sent, safe to keep and to show: the last part of any path it came
    with, without control or invisible characters, its spaces collapsed, at most
    MAX_DISPLAY_NAME characters (and 255 bytes, so it is a valid file name too) with its
    suffix kept. None if nothing is left of it."""
    if not sent:
        return None
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", sent))[-1]
    visible = "".join(c for c in " ".join(base.split()) if unicodedata.category(c) not in _HIDDEN)
    clean = " ".join(visible.split())
    if clean in {"", ".", ".."}:
        return None
    if len(clean) <= MAX_DISPLAY_NAME and len(clean.encode()) <= _MAX_NAME_BYTES:
        return clean
    stem, dot, suffix = clean.rpartition(".")
    if not (dot and stem and len(suffix) <= 10):
        stem, suffix = clean, ""  # no suffix worth keeping
    tail = f"….{suffix}" if suffix else "…"
    stem = stem[: MAX_DISPLAY_NAME - len(tail)]
    while len((stem + tail).encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + tail


def shown_name(path: str, sent_as: str | None = None) -> str:
    """What to call a photo: the name it was sent with, else its file's own name."""
    return sent_as or readable_path(os.path.basename(path))


def relative_name(path: str, roots: Sequence[str]) -> str:
    """Where a photo is, without saying where on the disk: from the indexed folder (or file)
    that holds it on (~/Pictures/2019/a.jpg indexed as ~/Pictures is Pictures/2019/a.jpg;
    indexed as itself, a.jpg). The deepest such root wins; in none, the file's own name."""
    best = ""
    for root in roots:
        r = root.rstrip(os.sep) or os.sep
        if (path == r or path.startswith(r.rstrip(os.sep) + os.sep)) and len(r) > len(best):
            best = r
    if not best or best == path:
        return os.path.basename(path)
    return os.path.relpath(path, os.path.dirname(best) or os.sep)


def folder_names(folders: list[str], library: str | None = None) -> dict[str, str]:
    """Short names for folders, to show. Those in the `library` folder (uploads) relative to
    it; the others relative to the folder they all are in (~/a/2019 and ~/b are a/2019 and b)
    or, if that is one of them, to the one it is in (~/a and ~/a/2019 are a and a/2019)."""
    inside = library.rstrip(os.sep) + os.sep if library else None
    names = {f: os.path.relpath(f, library) for f in folders if inside and f.startswith(inside)}
    rest = [f for f in folders if f not in names]
    try:
        base = os.path.commonpath(rest)
    except ValueError:  # none left, or on different drives
        return names | {f: f for f in rest}
    if base in rest:
        base = os.path.dirname(base)
    return names | {f: os.path.relpath(f, base) for f in rest}
