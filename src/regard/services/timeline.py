"""The timeline as the web app pages through it: items newest first in pages that start where
the last one ended (a cursor, not an offset: photos indexed meanwhile never shift a page), and
how many items each month holds, for the scrubber."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

from regard.domain.photo import shown_name
from regard.domain.timeline import MonthCount, TimelineItem, TimelineMonths, TimelinePage
from regard.errors import InvalidRequestError, PhotoNotFoundError
from regard.storage.repositories import Store
from regard.storage.timeline import UNDATED

#: The largest page a caller may ask for.
MAX_PAGE = 500


def thumbnail_url(photo_id: int, size: int = 256) -> str:
    return f"/api/photos/{photo_id}/image?size={size}"


def item(row: dict[str, Any]) -> TimelineItem:
    return TimelineItem(
        id=int(row["id"]),
        kind=str(row["media"]),
        name=shown_name(row["path"], row["upload_name"]),
        width=int(row["width"] or 0),
        height=int(row["height"] or 0),
        date=row["taken_at"],
        duration=row["duration"],
        thumbnail=thumbnail_url(int(row["id"])),
    )


def encode_cursor(sort_key: str, photo_id: int) -> str:
    return base64.urlsafe_b64encode(f"{sort_key}|{photo_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, _, photo_id = raw.rpartition("|")
        return key, int(photo_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            "This cursor is not one the timeline gave: start from the first page."
        ) from exc


def check_month(month: str | None) -> str | None:
    if month is None or month == UNDATED:
        return month
    year, _, number = month.partition("-")
    if not (len(year) == 4 and year.isdigit() and len(number) == 2 and number.isdigit()):
        raise InvalidRequestError(f"{month!r} is not a month: write it as 2019-05, or undated.")
    if not 1 <= int(number) <= 12:
        raise InvalidRequestError(f"{month!r} is not a month: months go from 01 to 12.")
    return month


class TimelinePages:
    def __init__(self, catalog: Store) -> None:
        self.catalog = catalog

    def page(
        self, *, cursor: str | None = None, limit: int = 200, month: str | None = None
    ) -> TimelinePage:
        """Up to `limit` items newest first (undated last), from `cursor` (the last page's
        `next_cursor`) on; `month` ("2019-05" or "undated"): only that month's."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequestError(f"A page holds 1 to {MAX_PAGE} items.")
        after = decode_cursor(cursor) if cursor else None
        rows = self.catalog.timeline.page(after, limit + 1, check_month(month))
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if rows else None
        return TimelinePage(
            photos=[item(r) for r in rows],
            next_cursor=encode_cursor(last["sort_key"], last["id"]) if more and last else None,
        )

    def originals(self, photo_ids: Sequence[int]) -> list[tuple[str, str]]:
        """The files of these photos (not in the trash) as a zip of them names them, and
        where they are; stream the zip with `originals_zip`."""
        trashed = set(self.catalog.trash.which(list(photo_ids)))
        named = []
        for photo_id in dict.fromkeys(photo_ids):
            photo = self.catalog.photos.get(photo_id)
            if photo is None or photo_id in trashed:
                raise PhotoNotFoundError(photo_id)
            named.append(
                (shown_name(photo.path, self.catalog.photos.upload_name(photo.path)), photo.path)
            )
        return zip_names(named)

    def stream_zip(self, files: Sequence[tuple[str, str]]) -> Iterator[bytes]:
        """The zip of `originals`' files, as it is written (read without the engine's lock)."""
        return originals_zip(files)

    def months(self) -> TimelineMonths:
        """How many items each month holds, newest first, undated last."""
        counts = self.catalog.timeline.months()
        return TimelineMonths(
            total=sum(n for _m, n in counts),
            months=[MonthCount(m, None if m == UNDATED else int(m[:4]), n) for m, n in counts],
        )


class _Sink(io.RawIOBase):
    """Where a zip is written as it is streamed: what was written since the last `take`."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._chunks.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        out, self._chunks = b"".join(self._chunks), []
        return out


def originals_zip(files: Sequence[tuple[str, str]], chunk: int = 1 << 20) -> Iterator[bytes]:
    """A zip of these files (name in the zip, path), as it is written: nothing is held in
    memory but a piece of one file. Stored, not compressed (photos and videos are already).
    A file gone since it was indexed is left out, and listed in `missing.txt`."""
    sink = _Sink()
    missing: list[str] = []
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, path in files:
            try:
                source = open(path, "rb")  # noqa: SIM115 (closed below, after streaming)
            except OSError:
                missing.append(name)
                continue
            with source, zf.open(name, "w", force_zip64=True) as entry:
                while piece := source.read(chunk):
                    entry.write(piece)
                    yield sink.take()
            yield sink.take()
        if missing:
            zf.writestr("missing.txt", "Not found on disk any more:\n" + "\n".join(missing))
    yield sink.take()


def zip_names(named: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, path) with each name made unique in the zip ("a.jpg", "a (2).jpg")."""
    seen: set[str] = set()
    out = []
    for name, path in named:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        seen.add(candidate.lower())
        out.append((candidate, path))
    return out
