"""What recaps read and keep: the library's photos and faces in two plain queries (a
100,000-photo library in well under a second), the recaps and people hidden from recaps,
and the small looks taken of photos (`regard.domain.recaps.Look`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from regard.domain.recaps import Look
from regard.storage.sql import Connection, chunks, marks

_SIGN = 1 << 63
_WHOLE = 1 << 64
#: Looks wanted of more photos than this are read in one pass over the table.
_SCAN_FROM = 5000


class SqliteRecaps:
    """Recaps' repository over the catalog's connection. Writes go inside `transaction()`."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    # --- the library, as recaps see it --------------------------------------------------------

    def photo_rows(self) -> list[tuple[Any, ...]]:
        """Indexed photos and videos out of the trash, as plain tuples (a hundred thousand
        are read each time): id, path, taken_at, gps_lat, gps_lon, width, height, media,
        duration, camera, content_hash."""
        return self._tuples(
            "SELECT p.id, p.path, p.taken_at, p.gps_lat, p.gps_lon, p.width, p.height,"
            " p.media, p.duration, COALESCE(p.camera_make, '') || ' ' ||"
            " COALESCE(p.camera_model, '') AS camera, p.content_hash FROM photos p"
            " WHERE p.status = 'indexed' AND NOT EXISTS"
            " (SELECT 1 FROM trash t WHERE t.photo_id = p.id) ORDER BY p.id"
        )

    def face_rows(self) -> list[tuple[Any, ...]]:
        """Every face that is a person's face (not one the owner said is none), as plain
        tuples: photo_id, id, person_id, x, y, w, h, quality, low_quality, biometric, and a
        video's appearance's start_time, end_time and best_time."""
        return self._tuples(
            "SELECT f.photo_id, f.id, f.person_id, f.x, f.y, f.w, f.h, f.quality,"
            " f.low_quality, f.biometric, a.start_time, a.end_time, a.best_time"
            " FROM faces f LEFT JOIN appearances a ON a.face_id = f.id"
            " WHERE f.not_a_person = 0 ORDER BY f.photo_id, f.ordinal"
        )

    def change_mark(self) -> tuple[int, int] | None:
        """What changes whenever the catalog does: (PRAGMA data_version, which moves when
        another connection commits; this connection's total changes, which moves with every
        row it inserts, updates or deletes, triggers' and cascades' too). None on PostgreSQL
        (no such mark: recaps are worked out every time there)."""
        if not isinstance(self._db, sqlite3.Connection):
            return None
        return (int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._db.total_changes)

    def _tuples(self, sql: str) -> list[tuple[Any, ...]]:
        if isinstance(self._db, sqlite3.Connection):
            cur = self._db.cursor()
            cur.row_factory = None  # tuples: several times faster to read than sqlite3.Row
            return list(cur.execute(sql).fetchall())
        return [tuple(r) for r in self._db.execute(sql).fetchall()]

    def people(self) -> list[dict[str, Any]]:
        """Live people (not merged away): id, name, recaps_hidden."""
        rows = self._db.execute(
            "SELECT id, name, recaps_hidden FROM people WHERE merged_into IS NULL ORDER BY id"
        )
        return [dict(r) for r in rows]

    # --- hiding ---------------------------------------------------------------------------------

    def set_person_hidden(self, person_id: int, hidden: bool) -> bool:
        """Hide a person from recaps (or show them again); whether that changed anything."""
        cur = self._db.execute(
            "UPDATE people SET recaps_hidden = ? WHERE id = ? AND recaps_hidden != ?",
            (int(hidden), person_id, int(hidden)),
        )
        return cur.rowcount > 0

    def hidden(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM recaps_hidden")}

    def hide(self, recap_id: str, at: str, by: str) -> bool:
        cur = self._db.execute(
            "INSERT INTO recaps_hidden (id, hidden_at, hidden_by) VALUES (?, ?, ?)"
            " ON CONFLICT(id) DO NOTHING",
            (recap_id, at, by),
        )
        return cur.rowcount > 0

    def unhide(self, recap_id: str) -> bool:
        return self._db.execute("DELETE FROM recaps_hidden WHERE id = ?", (recap_id,)).rowcount > 0

    # --- looks ----------------------------------------------------------------------------------

    def looks(self, photos: Sequence[tuple[int, str | None]]) -> dict[int, Look]:
        """The looks taken of these photos ((id, content hash)), if of the same content."""
        return {pid: Look(dhash, sharp, expo) for pid, dhash, sharp, expo in self.look_rows(photos)}

    def look_rows(
        self, photos: Sequence[tuple[int, str | None]]
    ) -> list[tuple[int, int, float, float]]:
        """`looks` as plain tuples: photo id, dhash (unsigned), sharpness, exposure."""
        want = dict(photos)
        out: list[tuple[int, int, float, float]] = []
        if len(want) > _SCAN_FROM:  # most of a library: one pass over the table, not IN lists
            for pid, content, dhash, sharp, expo in self._tuples(
                "SELECT photo_id, content_hash, dhash, sharpness, exposure FROM photo_looks"
            ):
                if pid in want and content == want[pid]:
                    out.append((int(pid), int(dhash) % _WHOLE, float(sharp), float(expo)))
            return out
        for chunk in chunks(list(want)):
            rows = self._db.execute(
                "SELECT photo_id, content_hash, dhash, sharpness, exposure FROM photo_looks"
                f" WHERE photo_id IN ({marks(chunk)})",
                chunk,
            )
            for r in rows:
                if r[1] == want[r[0]]:
                    out.append((int(r[0]), int(r[2]) % _WHOLE, float(r[3]), float(r[4])))
        return out

    def put_looks(self, looks: Iterable[tuple[int, str | None, Look]]) -> None:
        self._db.executemany(
            "INSERT INTO photo_looks (photo_id, content_hash, dhash, sharpness, exposure)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(photo_id) DO UPDATE SET"
            " content_hash = excluded.content_hash, dhash = excluded.dhash,"
            " sharpness = excluded.sharpness, exposure = excluded.exposure",
            [
                (pid, h, (look.dhash ^ _SIGN) - _SIGN, look.sharpness, look.exposure)
                for pid, h, look in looks
            ],
        )
