"""The trash: photos and videos their owner deleted, kept as they were for `TRASH_DAYS` days
(restoring one gives it back with its faces, people and names), then emptied for good.

A photo in the trash is out of the timeline, search, people, counts, suggestions and exports
at once (the catalog's queries leave it out). Emptying deletes its catalog rows, faces,
vectors and appearances, and its thumbnails. A file Regard keeps itself (a web upload) is
deleted; a file in one of the owner's folders is left on disk — it is theirs — and its content
is remembered, so indexing that folder again does not bring it back. Erasures are untouched:
an erased person's templates stay, so emptying never brings anyone back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from regard.domain.clock import utc_now
from regard.domain.photo import shown_name
from regard.domain.timeline import (
    TRASH_DAYS,
    TrashChange,
    TrashEmptied,
    TrashItem,
    TrashPage,
)
from regard.errors import InvalidRequestError
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.services.timeline import thumbnail_url
from regard.services.uploads import Uploads
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore

#: The most photos one request may move in or out of the trash.
MAX_IDS = 10_000


class Trash:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        acting: Acting,
        uploads: Uploads,
        photos_gone: Callable[[list[int]], None],
        photos_moved: Callable[[list[int], bool], None],
        days: int = TRASH_DAYS,
    ) -> None:
        """`photos_gone` is told the photos deleted for good (their thumbnails go, people who
        lost their cover get another); `photos_moved` those put in the trash (False) or
        restored (True), for people to be told."""
        self.catalog = catalog
        self.vectors = vectors
        self.audit = audit
        self.acting = acting
        self.uploads = uploads
        self.photos_gone = photos_gone
        self.photos_moved = photos_moved
        self.days = days

    def put(self, photo_ids: Sequence[int]) -> TrashChange:
        """Put these photos in the trash (out of everything browsed, searched and counted)."""
        ids = _ids(photo_ids)
        with self.catalog.transaction():
            before = set(self.catalog.trash.which(ids))
            self.catalog.trash.add(ids, utc_now(), self.acting.actor.name)
            moved = sorted(set(self.catalog.trash.which(ids)) - before)
        if moved:
            self.photos_moved(moved, False)
        return TrashChange(len(moved), len(ids) - len(moved), moved)

    def restore(self, photo_ids: Sequence[int]) -> TrashChange:
        """Take these photos out of the trash, as they were."""
        ids = _ids(photo_ids)
        with self.catalog.transaction():
            moved = self.catalog.trash.which(ids)
            self.catalog.trash.remove(moved)
        if moved:
            self.photos_moved(moved, True)
        return TrashChange(len(moved), len(ids) - len(moved), moved)

    def page(self, *, offset: int = 0, limit: int = 100) -> TrashPage:
        """What is in the trash, the latest deleted first, with when each will be emptied and
        whether its file will be deleted or left on disk."""
        rows = self.catalog.trash.page(offset, limit)
        photos = [
            TrashItem(
                id=int(r["id"]),
                kind=str(r["media"]),
                name=shown_name(r["path"], r["upload_name"]),
                width=int(r["width"] or 0),
                height=int(r["height"] or 0),
                date=r["taken_at"],
                duration=r["duration"],
                thumbnail=thumbnail_url(int(r["id"])),
                trashed_at=r["trashed_at"],
                empties_at=self._due(r["trashed_at"]),
                file_deleted=self.uploads.holds(r["path"]),
            )
            for r in rows
        ]
        return TrashPage(self.catalog.trash.count(), offset, self.days, photos)

    def empty(self, photo_ids: Sequence[int] | None = None) -> TrashEmptied:
        """Delete for good what is in the trash (all of it, or those of `photo_ids` that
        are in it)."""
        with self.catalog.transaction():
            if photo_ids is None:
                ids = sorted(self.catalog.trash.ids())
            else:
                ids = self.catalog.trash.which(_ids(photo_ids))
            return self._delete(ids, "trash_empty")

    def empty_due(self, now: datetime | None = None) -> TrashEmptied:
        """Delete for good what has been in the trash for `days` days (`maintain` does)."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.days)
        with self.catalog.transaction():
            ids = self.catalog.trash.before(cutoff.isoformat(timespec="seconds"))
            return self._delete(ids, "trash_expired")

    def _delete(self, ids: list[int], action: str) -> TrashEmptied:
        if not ids:
            return TrashEmptied(0, 0, 0, 0)
        catalog = self.catalog
        photos = [p for p in (catalog.photos.get(i) for i in ids) if p is not None]
        faces = catalog.faces.ids_of_photos(ids)
        ours = [p for p in photos if self.uploads.holds(p.path)]
        theirs = [p for p in photos if not self.uploads.holds(p.path)]
        # The owner's own files stay on disk; their content is never indexed again.
        catalog.trash.forget_files(
            [(p.content_hash, p.size_bytes) for p in theirs if p.content_hash], utc_now()
        )
        catalog.photos.delete(ids)
        catalog.people.remove_empty()
        touched = catalog.faces.take_touched() | set(faces)
        self.audit.record(
            action,
            actor=self.acting.actor.name,
            result_count=len(ids),
            detail={"faces": len(faces), "files_deleted": len(ours), "files_left": len(theirs)},
        )

        def after() -> None:
            for p in ours:
                try:
                    os.remove(p.path)
                except FileNotFoundError:
                    continue
            self.vectors.refresh(touched)
            self.photos_gone(ids)

        catalog.after_commit(after)
        return TrashEmptied(len(ids), len(ours), len(theirs), len(faces))

    def _due(self, trashed_at: str) -> str:
        when = datetime.fromisoformat(trashed_at) + timedelta(days=self.days)
        return when.isoformat(timespec="seconds")


def _ids(photo_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(i) for i in photo_ids})
    if not ids:
        raise InvalidRequestError("Say which photos: photo_ids is empty.")
    if len(ids) > MAX_IDS:
        raise InvalidRequestError(f"At most {MAX_IDS} photos at a time.")
    return ids
