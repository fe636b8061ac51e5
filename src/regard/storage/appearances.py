"""Appearances: what a face of a video has that a face of a photo has not — when it starts and
ends, its best moment and the path of its box. One row per face of a video, deleted with it
(and with its video); the face row holds the box at the best moment, the vector and the
person, so everything that holds for faces holds for appearances."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from regard.domain.appearance import Appearance, Moment, PathPoint
from regard.domain.face import Box
from regard.storage.sql import Connection, chunks, marks

_COLUMNS = "a.face_id, a.photo_id, a.start_time, a.end_time, a.best_time, a.path"


class SqliteAppearances:
    """`AppearanceRepository` over the catalog's connection. Writes go inside
    `Catalog.transaction()`, with the faces they belong to."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    # --- writing -------------------------------------------------------------------------------

    def spans(self, photo_id: int) -> dict[int, tuple[float, float]]:
        """{face id: (start, end)} of the video's appearances as stored now."""
        rows = self._db.execute(
            "SELECT face_id, start_time, end_time FROM appearances WHERE photo_id = ?",
            (photo_id,),
        )
        return {int(r[0]): (float(r[1]), float(r[2])) for r in rows}

    def replace(self, photo_id: int, items: Sequence[tuple[int, Appearance]]) -> None:
        """The video's appearances, each with the face (id) that stands for it."""
        self._db.execute("DELETE FROM appearances WHERE photo_id = ?", (photo_id,))
        self._db.executemany(
            "INSERT INTO appearances (face_id, photo_id, start_time, end_time, best_time, path,"
            " frames) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    face_id,
                    photo_id,
                    a.start,
                    a.end,
                    a.best_time,
                    json.dumps([_point(p.time, p.box) for p in a.path]),
                    json.dumps([_point(f.time, f.face.detection.box) for f in a.faces]),
                )
                for face_id, a in items
            ],
        )

    def copy(self, source_id: int, photo_id: int) -> None:
        """A copy of a video whose faces were just copied (same ordinals): its appearances."""
        self._db.execute(
            "INSERT INTO appearances (face_id, photo_id, start_time, end_time, best_time, path,"
            " frames) SELECT nf.id, nf.photo_id, a.start_time, a.end_time, a.best_time, a.path,"
            " a.frames FROM appearances a JOIN faces f ON f.id = a.face_id"
            " JOIN faces nf ON nf.photo_id = ? AND nf.ordinal = f.ordinal"
            " WHERE a.photo_id = ?",
            (photo_id, source_id),
        )

    # --- reading -------------------------------------------------------------------------------

    def of_video(self, photo_id: int) -> list[Moment]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS}, f.x, f.y, f.w, f.h FROM appearances a JOIN faces f"
            " ON f.id = a.face_id WHERE a.photo_id = ? ORDER BY a.start_time, f.ordinal",
            (photo_id,),
        )
        return [_moment(r) for r in rows]

    def of_faces(self, face_ids: Sequence[int]) -> dict[int, Moment]:
        """{face id: its appearance} for those of `face_ids` that are faces of videos."""
        out: dict[int, Moment] = {}
        for chunk in chunks(face_ids):
            rows = self._db.execute(
                f"SELECT {_COLUMNS}, f.x, f.y, f.w, f.h FROM appearances a JOIN faces f"
                f" ON f.id = a.face_id WHERE a.face_id IN ({marks(chunk)})",
                chunk,
            )
            out.update({int(r[0]): _moment(r) for r in rows})
        return out

    def counts(self) -> dict[str, int]:
        """Indexed videos, and the appearances found in them."""
        one = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM photos WHERE media = 'video' AND status = 'indexed'),"
            " (SELECT COUNT(*) FROM appearances)"
        ).fetchone()
        return {"videos": int(one[0]), "appearances": int(one[1])}


def _point(t: float, b: Box) -> list[float]:
    return [round(t, 3), round(b.x, 1), round(b.y, 1), round(b.w, 1), round(b.h, 1)]


def _moment(r: sqlite3.Row) -> Moment:
    path = tuple(
        PathPoint(float(p[0]), Box(float(p[1]), float(p[2]), float(p[3]), float(p[4])))
        for p in json.loads(r["path"])
    )
    return Moment(
        face_id=int(r["face_id"]),
        photo_id=int(r["photo_id"]),
        start=float(r["start_time"]),
        end=float(r["end_time"]),
        best_time=float(r["best_time"]),
        box=Box(float(r["x"]), float(r["y"]), float(r["w"]), float(r["h"])),
        path=path,
    )
