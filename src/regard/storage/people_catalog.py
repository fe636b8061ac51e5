"""The people part of the catalog: persons, which faces are in them, the owner's corrections.

Same database, same connection and transactions as `Catalog` (it owns one of these as
`catalog.people`); all people SQL lives here.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box
from regard.storage.clock import utc_now


class VectorCodecLike(Protocol):
    def decode_many(self, rows: Sequence[tuple[int, str, bytes]]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    name: str | None
    confirmed: bool
    merged_into: int | None
    cover_face_id: int | None


@dataclass(frozen=True, slots=True)
class GroupingRows:
    """Faces of one embedding model as the grouper needs them, row-aligned."""

    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    photos: npt.NDArray[np.int64]
    low: npt.NDArray[np.bool_]
    person: npt.NDArray[np.int64]
    owner: npt.NDArray[np.bool_]
    grouped: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PersonFace:
    face_id: int
    photo_id: int
    path: str
    box: Box
    quality: float
    low_quality: bool
    assigned_by: str
    taken_at: str | None


class PeopleCatalog:
    def __init__(self, db: sqlite3.Connection, codec: VectorCodecLike) -> None:
        self._db = db
        self._codec = codec

    # --- persons ---------------------------------------------------------------------------

    def create(self, confirmed: bool = False) -> int:
        now = utc_now()
        cur = self._db.execute(
            "INSERT INTO people (confirmed, created_at, updated_at) VALUES (?, ?, ?)",
            (int(confirmed), now, now),
        )
        return int(cur.lastrowid or 0)

    def get(self, person_id: int) -> PersonRow | None:
        row = self._db.execute(
            "SELECT id, name, confirmed, merged_into, cover_face_id FROM people WHERE id = ?",
            (person_id,),
        ).fetchone()
        return PersonRow(row[0], row[1], bool(row[2]), row[3], row[4]) if row else None

    def by_name(self, name: str) -> PersonRow | None:
        row = self._db.execute(
            "SELECT id FROM people WHERE name_key = ?", (name_key(name),)
        ).fetchone()
        return self.get(int(row[0])) if row else None

    def set_name(self, person_id: int, name: str | None) -> None:
        self._db.execute(
            "UPDATE people SET name = ?, name_key = ?, confirmed = 1, updated_at = ? WHERE id = ?",
            (name, name_key(name) if name else None, utc_now(), person_id),
        )

    def confirm(self, person_id: int) -> None:
        """The owner has looked at this person: its faces become the owner's."""
        self._db.execute(
            "UPDATE people SET confirmed = 1, updated_at = ? WHERE id = ?", (utc_now(), person_id)
        )
        self._db.execute("UPDATE faces SET assigned_by = 'owner' WHERE person_id = ?", (person_id,))

    def merge(self, source: int, target: int) -> int:
        """Move everything of `source` into `target`; `source` remains as a redirect."""
        moved = self._db.execute(
            "UPDATE faces SET person_id = ?, assigned_by = 'owner' WHERE person_id = ?",
            (target, source),
        ).rowcount
        self._db.execute(
            "INSERT OR IGNORE INTO rejections (face_id, person_id, created_at)"
            " SELECT face_id, ?, created_at FROM rejections WHERE person_id = ?",
            (target, source),
        )
        self._db.execute("DELETE FROM rejections WHERE person_id = ?", (source,))
        self._db.execute(
            "UPDATE people SET merged_into = ?, name = NULL, name_key = NULL, updated_at = ?"
            " WHERE id = ?",
            (target, utc_now(), source),
        )
        self._db.execute(
            "UPDATE people SET merged_into = ? WHERE merged_into = ?", (target, source)
        )
        return int(moved)

    def delete_person(self, person_id: int) -> int:
        """Erasure: the person row and any ids merged into it (their faces are unlinked)."""
        self._db.execute(
            "UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE person_id = ?",
            (person_id,),
        )
        merged = self._db.execute("DELETE FROM people WHERE merged_into = ?", (person_id,)).rowcount
        return int(merged) + int(
            self._db.execute("DELETE FROM people WHERE id = ?", (person_id,)).rowcount
        )

    def delete_empty_unconfirmed(self) -> int:
        """Automatic persons that lost all their faces go; named/confirmed ones stay."""
        return int(
            self._db.execute(
                "DELETE FROM people WHERE confirmed = 0 AND merged_into IS NULL AND id NOT IN"
                " (SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL)"
            ).rowcount
        )

    def set_cover(self, person_id: int, face_id: int | None) -> None:
        self._db.execute("UPDATE people SET cover_face_id = ? WHERE id = ?", (face_id, person_id))

    # --- faces ---------------------------------------------------------------------------------

    def assign(self, face_ids: Iterable[int], person_id: int | None, by: str | None) -> None:
        self._db.executemany(
            "UPDATE faces SET person_id = ?, assigned_by = ?, grouped = 1 WHERE id = ?",
            [(person_id, by if person_id else None, fid) for fid in face_ids],
        )

    def mark_grouped(self, face_ids: Iterable[int]) -> None:
        self._db.executemany("UPDATE faces SET grouped = 1 WHERE id = ?", [(f,) for f in face_ids])

    def reject(self, face_id: int, person_id: int) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO rejections (face_id, person_id, created_at) VALUES (?, ?, ?)",
            (face_id, person_id, utc_now()),
        )
        self._db.execute(
            "UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE id = ? AND person_id = ?",
            (face_id, person_id),
        )

    def rejections(self) -> dict[int, set[int]]:
        out: dict[int, set[int]] = defaultdict(set)
        for face_id, person_id in self._db.execute("SELECT face_id, person_id FROM rejections"):
            out[int(face_id)].add(int(person_id))
        return dict(out)

    def face_exists(self, face_id: int) -> bool:
        return (
            self._db.execute("SELECT 1 FROM faces WHERE id = ?", (face_id,)).fetchone() is not None
        )

    def face_person(self, face_id: int) -> int | None:
        row = self._db.execute("SELECT person_id FROM faces WHERE id = ?", (face_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def grouping_rows(self, model_id: str, pending_only: bool = False) -> GroupingRows:
        """Faces with a vector of `model_id` (only those not grouped yet, if asked)."""
        rows = self._db.execute(
            "SELECT f.id, e.vector, f.photo_id, f.low_quality, COALESCE(f.person_id, 0),"
            " f.assigned_by = 'owner', f.grouped FROM faces f"
            " JOIN embeddings e ON e.face_id = f.id AND e.model_id = ?"
            + (" WHERE f.grouped = 0" if pending_only else "")
            + " ORDER BY f.id",
            (model_id,),
        ).fetchall()
        n = len(rows)
        vectors = (
            self._codec.decode_many([(int(r[0]), model_id, r[1]) for r in rows])
            if n
            else np.zeros((0, 0), dtype=np.float32)
        )
        return GroupingRows(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            vectors=vectors,
            photos=np.array([r[2] for r in rows], dtype=np.int64),
            low=np.array([bool(r[3]) for r in rows], dtype=bool),
            person=np.array([r[4] for r in rows], dtype=np.int64),
            owner=np.array([bool(r[5]) for r in rows], dtype=bool),
            grouped=np.array([bool(r[6]) for r in rows], dtype=bool),
        )

    def faces_of(self, person_id: int) -> list[PersonFace]:
        rows = self._db.execute(
            "SELECT f.id, f.photo_id, p.path, f.x, f.y, f.w, f.h, f.quality, f.low_quality,"
            " f.assigned_by, p.taken_at FROM faces f JOIN photos p ON p.id = f.photo_id"
            " WHERE f.person_id = ? ORDER BY p.taken_at IS NULL, p.taken_at DESC, p.path, f.id",
            (person_id,),
        )
        return [
            PersonFace(
                r[0],
                r[1],
                r[2],
                Box(r[3], r[4], r[5], r[6]),
                r[7],
                bool(r[8]),
                r[9] or "auto",
                r[10],
            )
            for r in rows
        ]

    def summaries(self) -> list[dict[str, Any]]:
        """Every live person with face and photo counts and the cover face's photo."""
        rows = self._db.execute(
            "SELECT pe.id, pe.name, pe.confirmed, pe.cover_face_id, COUNT(f.id) AS faces,"
            " COUNT(DISTINCT f.photo_id) AS photos,"
            " COALESCE(SUM(f.assigned_by = 'owner'), 0) AS confirmed_faces,"
            " (SELECT p.path FROM faces cf JOIN photos p ON p.id = cf.photo_id"
            "  WHERE cf.id = pe.cover_face_id) AS cover_path,"
            " (SELECT json_array(cf.x, cf.y, cf.w, cf.h) FROM faces cf"
            "  WHERE cf.id = pe.cover_face_id) AS cover_box"
            " FROM people pe LEFT JOIN faces f ON f.person_id = pe.id"
            " WHERE pe.merged_into IS NULL GROUP BY pe.id"
            " HAVING COUNT(f.id) > 0 OR pe.name IS NOT NULL"
            " ORDER BY faces DESC, pe.id"
        )
        out = []
        for r in rows:
            d = dict(r)
            d["confirmed"] = bool(d["confirmed"])
            d["cover_box"] = (
                [round(v, 1) for v in json.loads(d["cover_box"])] if d["cover_box"] else None
            )
            out.append(d)
        return out

    def counts(self) -> dict[str, int]:
        row = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM people WHERE merged_into IS NULL AND (name IS NOT NULL"
            " OR id IN (SELECT person_id FROM faces WHERE person_id IS NOT NULL))),"
            " (SELECT COUNT(*) FROM people WHERE name IS NOT NULL AND merged_into IS NULL),"
            " (SELECT COUNT(*) FROM faces WHERE person_id IS NOT NULL),"
            " (SELECT COUNT(*) FROM faces WHERE grouped = 0)"
        ).fetchone()
        return {
            "people": row[0],
            "named_people": row[1],
            "faces_in_people": row[2],
            "faces_waiting_to_be_grouped": row[3],
        }

    def record(self, action: str, detail: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO people_history (at, action, detail) VALUES (?, ?, ?)",
            (utc_now(), action, json.dumps(detail, sort_keys=True)),
        )

    def history(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT at, action, detail FROM people_history ORDER BY id")
        return [{"at": r[0], "action": r[1], "detail": json.loads(r[2])} for r in rows]

    def live_people(self) -> list[PersonRow]:
        rows = self._db.execute(
            "SELECT id, name, confirmed, merged_into, cover_face_id FROM people"
            " WHERE merged_into IS NULL ORDER BY id"
        )
        return [PersonRow(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def reset_auto(self, face_ids: Sequence[int]) -> None:
        """Before a regrouping writes its result: automatic assignments are recomputed."""
        self._db.executemany(
            "UPDATE faces SET person_id = NULL, assigned_by = NULL"
            " WHERE id = ? AND (assigned_by IS NULL OR assigned_by = 'auto')",
            [(f,) for f in face_ids],
        )


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()
