"""The trash: photos put aside by their owner (every row they had is kept, so restoring gives
them back as they were), and the files emptied from it that indexing must not bring back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regard.storage.sql import Connection, chunks, marks


class SqliteTrash:
    """`TrashRepository` over the catalog's connection. Writes go inside `transaction()`."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    def add(self, photo_ids: Sequence[int], at: str, by: str) -> int:
        """Put these photos in the trash (those already there keep their date); how many
        went in now. Ids of no photo are ignored."""
        added = 0
        for chunk in chunks(photo_ids):
            cur = self._db.execute(
                "INSERT INTO trash (photo_id, trashed_at, trashed_by)"
                f" SELECT id, ?, ? FROM photos WHERE id IN ({marks(chunk)})"
                " ON CONFLICT(photo_id) DO NOTHING",
                (at, by, *chunk),
            )
            added += cur.rowcount
        return added

    def remove(self, photo_ids: Sequence[int]) -> int:
        """Take these photos out of the trash (restored); how many were in it."""
        removed = 0
        for chunk in chunks(photo_ids):
            cur = self._db.execute(f"DELETE FROM trash WHERE photo_id IN ({marks(chunk)})", chunk)
            removed += cur.rowcount
        return removed

    def which(self, photo_ids: Sequence[int]) -> list[int]:
        """Those of `photo_ids` that are in the trash."""
        found: list[int] = []
        for chunk in chunks(photo_ids):
            rows = self._db.execute(
                f"SELECT photo_id FROM trash WHERE photo_id IN ({marks(chunk)})", chunk
            )
            found += [int(r[0]) for r in rows]
        return sorted(found)

    def faces(self, model_id: str) -> int:
        """How many faces with a vector of `model_id` are in photos in the trash (what a
        nearest-neighbour look-up over every vector asks for beyond what it wants)."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM faces f JOIN trash t ON t.photo_id = f.photo_id"
            " JOIN embeddings e ON e.face_id = f.id AND e.model_id = ?",
            (model_id,),
        ).fetchone()
        return int(row[0])

    def people_of(self, photo_ids: Sequence[int]) -> set[int]:
        """The people with a face in these photos."""
        out: set[int] = set()
        for chunk in chunks(photo_ids):
            rows = self._db.execute(
                "SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL"
                f" AND photo_id IN ({marks(chunk)})",
                chunk,
            )
            out |= {int(r[0]) for r in rows}
        return out

    def ids(self) -> set[int]:
        return {int(r[0]) for r in self._db.execute("SELECT photo_id FROM trash")}

    def before(self, at: str) -> list[int]:
        """Photos put in the trash before `at` (an ISO date and time)."""
        rows = self._db.execute(
            "SELECT photo_id FROM trash WHERE trashed_at < ? ORDER BY photo_id", (at,)
        )
        return [int(r[0]) for r in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM trash").fetchone()[0])

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Photos in the trash, the latest put there first, with what a list shows of them."""
        rows = self._db.execute(
            "SELECT p.id, p.path, p.content_hash, u.name AS upload_name, p.taken_at, p.width,"
            " p.height, p.media, p.duration, t.trashed_at, t.trashed_by"
            " FROM trash t JOIN photos p ON p.id = t.photo_id"
            " LEFT JOIN upload_names u ON u.path = p.path"
            " ORDER BY t.trashed_at DESC, p.id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [dict(r) for r in rows]

    # --- files emptied from the trash ---------------------------------------------------------

    def forget_files(self, files: Sequence[tuple[str, int]], at: str) -> None:
        """Remember the content (hash, size in bytes) of files emptied from the trash and left
        on disk, so indexing them again does not bring them back."""
        self._db.executemany(
            "INSERT INTO forgotten_files (content_hash, size_bytes, forgotten_at)"
            " VALUES (?, ?, ?) ON CONFLICT(content_hash) DO NOTHING",
            [(h, size, at) for h, size in files],
        )

    def unforget(self, content_hash: str) -> int:
        """Someone added this content again (an upload): indexing may take it again."""
        return self._db.execute(
            "DELETE FROM forgotten_files WHERE content_hash = ?", (content_hash,)
        ).rowcount

    def forgotten(self) -> dict[int, set[str]]:
        """The contents emptied from the trash, by their size (so only files of such a size
        need their content hashed)."""
        out: dict[int, set[str]] = {}
        for r in self._db.execute("SELECT content_hash, size_bytes FROM forgotten_files"):
            out.setdefault(int(r[1]), set()).add(str(r[0]))
        return out
