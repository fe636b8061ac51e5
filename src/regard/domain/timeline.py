"""What the engine answers about the paged timeline and the trash. Frozen dataclasses (see
`regard.domain.result`)."""

from __future__ import annotations

from dataclasses import dataclass

from regard.domain.result import Result

#: Days a photo stays in the trash before it is emptied for good (by `maintain`).
TRASH_DAYS = 30


@dataclass(frozen=True, slots=True, eq=False)
class TimelineItem(Result):
    id: int
    kind: str  # "photo" or "video"
    name: str  # its file's name (as it was sent, if uploaded): never where it is
    width: int  # as shown: upright, after the photo's EXIF orientation (or a video's rotation)
    height: int
    date: str | None  # when it was taken (ISO 8601); None: no date known
    duration: float | None  # seconds, videos only
    thumbnail: str  # the URL of its thumbnail


@dataclass(frozen=True, slots=True, eq=False)
class TimelinePage(Result):
    photos: list[TimelineItem]  # and videos
    next_cursor: str | None  # where the next page starts; None: this was the last


@dataclass(frozen=True, slots=True, eq=False)
class MonthCount(Result):
    month: str  # "2019-05", or "undated"
    year: int | None
    count: int


@dataclass(frozen=True, slots=True, eq=False)
class TimelineMonths(Result):
    total: int
    months: list[MonthCount]  # newest first, "undated" last


@dataclass(frozen=True, slots=True, eq=False)
class TrashItem(Result):
    id: int
    kind: str
    name: str  # as the user is shown it
    width: int
    height: int
    date: str | None
    duration: float | None
    thumbnail: str
    trashed_at: str
    empties_at: str  # when `maintain` deletes it for good
    file_deleted: bool  # emptying deletes the file (a web upload); else it is left on disk


@dataclass(frozen=True, slots=True, eq=False)
class TrashPage(Result):
    total: int
    offset: int
    days: int  # how long photos stay in the trash
    photos: list[TrashItem]  # and videos


@dataclass(frozen=True, slots=True, eq=False)
class TrashChange(Result):
    """Photos put in the trash, or restored from it."""

    changed: int  # how many moved now
    unchanged: int  # already there (or already out), or no such photo
    photo_ids: list[int]  # those that moved


@dataclass(frozen=True, slots=True, eq=False)
class TrashEmptied(Result):
    photos: int  # deleted for good
    files_deleted: int  # web uploads, whose files Regard kept itself
    files_left: int  # files in the owner's folders, left on disk and never indexed again
    faces: int  # faces (and their vectors) deleted with them
