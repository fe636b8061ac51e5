"""The people part of the catalog: persons, which faces are in them, the owner's corrections.

Same database, same connection and transactions as `Catalog` (it owns one of these as
`catalog.people`); all people SQL lives here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from regard.domain.appearance import scene_keys
from regard.domain.clock import utc_now
from regard.domain.face import Box
from regard.domain.people import mentioned
from regard.storage.sql import Connection, not_trashed


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
    #: {face id: scene keys} of the faces of videos (`domain.appearance.scene_keys`): what
    #: a face of a photo's photo id is to the rule "never twice in one photo".
    scenes: dict[int, frozenset[int]] = field(default_factory=dict)

    def scenes_by_row(self) -> dict[int, frozenset[int]]:
        row_of = {int(fid): i for i, fid in enumerate(self.ids.tolist())}
        return {row_of[f]: keys for f, keys in self.scenes.items() if f in row_of}


@dataclass(frozen=True, slots=True)
class PeopleState:
    """What a correction can change about the people and faces it touches: each person's row
    (None: no such person), each face's person and who put it there, and the rejections of
    those faces or by those people. Taken before and after a correction, it is what undoes it."""

    persons: dict[int, dict[str, Any] | None]
    faces: dict[int, dict[str, Any]]
    rejections: dict[tuple[int, int], str]  # (face, person) -> when it was made

    def as_json(self) -> dict[str, Any]:
        return {
            "persons": [[pid, row] for pid, row in sorted(self.persons.items())],
            "faces": [[fid, row] for fid, row in sorted(self.faces.items())],
            "rejections": [[f, p, at] for (f, p), at in sorted(self.rejections.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PeopleState:
        return cls(
            persons={int(pid): row for pid, row in data["persons"]},
            faces={int(fid): row for fid, row in data["faces"]},
            rejections={(int(f), int(p)): at for f, p, at in data["rejections"]},
        )


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
    def __init__(self, db: Connection, codec: VectorCodecLike) -> None:
        self._db = db
        self._codec = codec

    # --- persons ---------------------------------------------------------------------------

    def create(self, confirmed: bool = False) -> int:
        # The next number never given (a gone person's stays theirs: migration 16).
        (person_id,) = self._db.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'people_ids' RETURNING value"
        ).fetchone()
        now = utc_now()
        self._db.execute(
            "INSERT INTO people (id, confirmed, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (int(person_id), int(confirmed), now, now),
        )
        return int(person_id)

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

    def remove_empty(self) -> list[int]:
        """Persons left without a face (after an opt-out, a withdrawal, an erasure…) go, named
        ones too, with their corrections history: a name kept on nobody is only a name kept.
        A person enrolled by consent (a template, no photo yet) stays, and so does one who
        withdrew every consent (unlisted: the row only holds the templates that keep their new
        photos out until they agree again). Covers that point to a face no longer in its
        person are cleared. Returns the ids removed."""
        empty = [
            int(r[0])
            for r in self._db.execute(
                "SELECT id FROM people pe WHERE merged_into IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = pe.id)"
                " AND NOT EXISTS (SELECT 1 FROM templates t WHERE t.person_id = pe.id)"
            )
        ]
        for pid in empty:
            gone = [pid, *self.redirects_to(pid)]
            self.forget_history(gone)
            self.delete_person(pid)
        self._db.execute(
            "UPDATE people SET cover_face_id = NULL WHERE cover_face_id IS NOT NULL AND NOT"
            " EXISTS (SELECT 1 FROM faces f WHERE f.id = people.cover_face_id"
            " AND f.person_id = people.id AND f.biometric = 'kept')"
        )
        return empty

    def redirects_to(self, person_id: int) -> list[int]:
        """Ids merged into this person (they lead to it)."""
        rows = self._db.execute("SELECT id FROM people WHERE merged_into = ?", (person_id,))
        return [int(r[0]) for r in rows]

    def enrolled(self, person_id: int) -> bool:
        """Whether a consent enrolment template is kept for this person."""
        row = self._db.execute(
            "SELECT 1 FROM templates WHERE person_id = ? AND kind = 'enrolment' LIMIT 1",
            (person_id,),
        ).fetchone()
        return row is not None

    def set_cover(self, person_id: int, face_id: int | None) -> None:
        self._db.execute("UPDATE people SET cover_face_id = ? WHERE id = ?", (face_id, person_id))

    # --- what a correction changes, to undo it ---------------------------------------------

    def state(self, person_ids: Iterable[int], face_ids: Iterable[int]) -> PeopleState:
        persons: dict[int, dict[str, Any] | None] = {}
        for pid in sorted(set(person_ids)):
            row = self._db.execute(
                "SELECT name, confirmed, merged_into, cover_face_id, created_at, hidden,"
                " chosen_cover_face_id FROM people WHERE id = ?",
                (pid,),
            ).fetchone()
            persons[pid] = (
                {
                    "name": row[0],
                    "confirmed": bool(row[1]),
                    "merged_into": row[2],
                    "cover_face_id": row[3],
                    "created_at": row[4],
                    "hidden": bool(row[5]),
                    "chosen_cover_face_id": row[6],
                }
                if row
                else None
            )
        faces: dict[int, dict[str, Any]] = {}
        for fid in sorted(set(face_ids)):
            row = self._db.execute(
                "SELECT person_id, assigned_by, biometric, not_a_person FROM faces WHERE id = ?",
                (fid,),
            ).fetchone()
            if row:
                faces[fid] = {
                    "person_id": row[0],
                    "assigned_by": row[1],
                    "biometric": row[2],
                    "not_a_person": bool(row[3]),
                }
        rejections: dict[tuple[int, int], str] = {}
        rows = self._db.execute("SELECT face_id, person_id, created_at FROM rejections")
        for fid, pid, at in rows:
            if fid in faces or pid in persons:
                rejections[(int(fid), int(pid))] = at
        return PeopleState(persons, faces, rejections)

    def put_person(self, person_id: int, row: dict[str, Any] | None) -> None:
        """Make the person's row what `row` says (None: no such person)."""
        if row is None:
            self._db.execute("DELETE FROM people WHERE id = ?", (person_id,))
            return
        name = row["name"]
        cover, chosen = row["cover_face_id"], row.get("chosen_cover_face_id")
        if cover is not None and not self.face_exists(cover):
            cover = None
        if chosen is not None and not self.face_exists(chosen):
            chosen = None
        values = (
            name,
            name_key(name) if name else None,
            int(row["confirmed"]),
            row["merged_into"],
            cover,
            int(row.get("hidden", False)),
            chosen,
            utc_now(),
        )
        if self.get(person_id) is None:
            self._db.execute(
                "INSERT INTO people (name, name_key, confirmed, merged_into, cover_face_id,"
                " hidden, chosen_cover_face_id, updated_at, created_at, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, row["created_at"], person_id),
            )
        else:
            self._db.execute(
                "UPDATE people SET name = ?, name_key = ?, confirmed = ?, merged_into = ?,"
                " cover_face_id = ?, hidden = ?, chosen_cover_face_id = ?, updated_at = ?"
                " WHERE id = ?",
                (*values, person_id),
            )

    def put_face(
        self,
        face_id: int,
        person_id: int | None,
        assigned_by: str | None,
        not_a_person: bool = False,
    ) -> None:
        self._db.execute(
            "UPDATE faces SET person_id = ?, assigned_by = ?, grouped = 1, not_a_person = ?"
            " WHERE id = ?",
            (person_id, assigned_by if person_id else None, int(not_a_person), face_id),
        )

    def set_not_a_person(self, face_id: int) -> None:
        """The owner says this detection is no face: out of its person, of grouping and of
        every count (the row stays, so it can be undone and is never detected as new)."""
        self.put_face(face_id, None, None, not_a_person=True)

    def set_hidden(self, person_id: int, hidden: bool) -> None:
        self._db.execute(
            "UPDATE people SET hidden = ?, updated_at = ? WHERE id = ?",
            (int(hidden), utc_now(), person_id),
        )

    def choose_cover(self, person_id: int, face_id: int) -> None:
        """The owner's cover: kept as long as the face is theirs (see `chosen_cover`)."""
        self._db.execute(
            "UPDATE people SET chosen_cover_face_id = ?, cover_face_id = ? WHERE id = ?",
            (face_id, face_id, person_id),
        )

    def chosen_cover(self, person_id: int) -> int | None:
        """The cover the owner chose, if it is still one of their faces with its data."""
        row = self._db.execute(
            "SELECT f.id FROM people pe JOIN faces f ON f.id = pe.chosen_cover_face_id"
            " AND f.person_id = pe.id AND f.biometric = 'kept'"
            f" WHERE pe.id = ? AND {not_trashed('f.photo_id')}",
            (person_id,),
        ).fetchone()
        return int(row[0]) if row else None

    def unnamed_faces(self) -> list[dict[str, Any]]:
        """Faces that may be named and are not: in no person, or in a person with no name who
        is not hidden; with their face data, and not said to be no face."""
        rows = self._db.execute(
            "SELECT f.id AS face_id, f.photo_id, f.person_id, f.quality, f.low_quality,"
            " p.media, p.taken_at, a.start_time, a.best_time FROM faces f"
            " JOIN photos p ON p.id = f.photo_id"
            " LEFT JOIN people pe ON pe.id = f.person_id"
            " LEFT JOIN appearances a ON a.face_id = f.id"
            " WHERE f.biometric = 'kept' AND f.not_a_person = 0"
            f" AND {not_trashed('p.id')}"
            " AND (f.person_id IS NULL OR (pe.name IS NULL AND pe.hidden = 0))"
            " ORDER BY f.id"
        )
        return [dict(r) for r in rows]

    def put_rejection(self, face_id: int, person_id: int, at: str | None) -> None:
        """Add the rejection made `at`, or (None) take it away."""
        if at is None:
            self._db.execute(
                "DELETE FROM rejections WHERE face_id = ? AND person_id = ?", (face_id, person_id)
            )
        else:
            self._db.execute(
                "INSERT OR IGNORE INTO rejections (face_id, person_id, created_at)"
                " VALUES (?, ?, ?)",
                (face_id, person_id, at),
            )

    def release(self, face_ids: Iterable[int]) -> None:
        """Faces back to no person, to be grouped again (as new faces are)."""
        self._db.executemany(
            "UPDATE faces SET person_id = NULL, assigned_by = NULL, grouped = 0 WHERE id = ?",
            [(f,) for f in face_ids],
        )

    def face_ids_of(self, person_id: int) -> list[int]:
        rows = self._db.execute(
            "SELECT id FROM faces WHERE person_id = ? ORDER BY id", (person_id,)
        )
        return [int(r[0]) for r in rows]

    def twice_in_a_photo(self, person_ids: Iterable[int]) -> tuple[int, int] | None:
        """A (person, photo) where the person has two faces, if any — or a video where two
        appearances of theirs are on screen together: that must never be."""
        for pid in person_ids:
            row = self._db.execute(
                "SELECT photo_id FROM faces f WHERE person_id = ?"
                " AND NOT EXISTS (SELECT 1 FROM appearances a WHERE a.face_id = f.id)"
                " GROUP BY photo_id HAVING COUNT(*) > 1"
                " UNION ALL SELECT a1.photo_id FROM faces f1"
                " JOIN appearances a1 ON a1.face_id = f1.id"
                " JOIN appearances a2 ON a2.photo_id = a1.photo_id AND a2.face_id > a1.face_id"
                " JOIN faces f2 ON f2.id = a2.face_id AND f2.person_id = f1.person_id"
                " WHERE f1.person_id = ? AND a1.start_time < a2.end_time"
                " AND a2.start_time < a1.end_time LIMIT 1",
                (pid, pid),
            ).fetchone()
            if row:
                return pid, int(row[0])
        return None

    # --- faces ---------------------------------------------------------------------------------

    def assign(self, face_ids: Iterable[int], person_id: int | None, by: str | None) -> None:
        # A face given to someone is a person's face: no longer "not a person" (grouping would
        # not see it, and could give its person a second face in the same photo).
        self._db.executemany(
            "UPDATE faces SET person_id = ?, assigned_by = ?, grouped = 1,"
            " not_a_person = CASE WHEN CAST(? AS INTEGER) IS NULL THEN not_a_person ELSE 0 END"
            " WHERE id = ?",
            [(person_id, by if person_id else None, person_id, fid) for fid in face_ids],
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

    def rejections_by(self, person_id: int) -> set[tuple[int, int]]:
        rows = self._db.execute("SELECT face_id FROM rejections WHERE person_id = ?", (person_id,))
        return {(int(r[0]), person_id) for r in rows}

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
        """Faces with a vector of `model_id` (only those not grouped yet, if asked), but those
        of photos in the trash: they keep their person (or turn) for when they are restored."""
        rows = self._db.execute(
            "SELECT f.id, e.vector, f.photo_id, f.low_quality, COALESCE(f.person_id, 0),"
            " f.assigned_by = 'owner', f.grouped, a.start_time, a.end_time FROM faces f"
            " JOIN embeddings e ON e.face_id = f.id AND e.model_id = ?"
            " LEFT JOIN appearances a ON a.face_id = f.id WHERE f.not_a_person = 0"
            f" AND {not_trashed('f.photo_id')}"
            + (" AND f.grouped = 0" if pending_only else "")
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
            scenes={
                int(r[0]): scene_keys(int(r[2]), float(r[7]), float(r[8]))
                for r in rows
                if r[7] is not None
            },
        )

    def faces_of(self, person_id: int) -> list[PersonFace]:
        rows = self._db.execute(
            "SELECT f.id, f.photo_id, p.path, f.x, f.y, f.w, f.h, f.quality, f.low_quality,"
            " f.assigned_by, p.taken_at FROM faces f JOIN photos p ON p.id = f.photo_id"
            f" WHERE f.person_id = ? AND {not_trashed('p.id')}"
            " ORDER BY p.taken_at IS NULL, p.taken_at DESC, p.path, f.id",
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
            "SELECT pe.id, pe.name, pe.confirmed, pe.hidden,"
            # A cover is one of the person's own faces, never one whose data has gone.
            " (SELECT cf.id FROM faces cf WHERE cf.id = pe.cover_face_id AND cf.person_id = pe.id"
            f"  AND cf.biometric = 'kept' AND {not_trashed('cf.photo_id')}) AS cover_face_id,"
            " COUNT(f.id) AS faces,"
            " COUNT(DISTINCT f.photo_id) AS photos,"
            " COUNT(DISTINCT CASE WHEN ph.media = 'video' THEN f.photo_id END) AS videos,"
            " COUNT(CASE WHEN f.assigned_by = 'owner' THEN 1 END) AS confirmed_faces,"
            " (SELECT p.path FROM faces cf JOIN photos p ON p.id = cf.photo_id"
            "  WHERE cf.id = pe.cover_face_id) AS cover_path,"
            " (SELECT json_array(cf.x, cf.y, cf.w, cf.h) FROM faces cf"
            "  WHERE cf.id = pe.cover_face_id) AS cover_box"
            " FROM people pe LEFT JOIN faces f ON f.person_id = pe.id"
            f" AND {not_trashed('f.photo_id')}"
            " LEFT JOIN photos ph ON ph.id = f.photo_id"
            " WHERE pe.merged_into IS NULL GROUP BY pe.id"
            # Nobody without a face is listed, but someone enrolled by consent, waiting for
            # their photos.
            " HAVING COUNT(f.id) > 0"
            " OR EXISTS (SELECT 1 FROM templates t WHERE t.person_id = pe.id"
            "  AND t.kind = 'enrolment')"
            # Named people first, then by how many photos and videos they are in.
            " ORDER BY pe.name IS NULL, COUNT(DISTINCT f.photo_id) DESC, pe.name_key, pe.id"
        )
        out = []
        for r in rows:
            d = dict(r)
            d["confirmed"] = bool(d["confirmed"])
            d["hidden"] = bool(d["hidden"])
            d["cover_box"] = (
                [round(v, 1) for v in json.loads(d["cover_box"])] if d["cover_box"] else None
            )
            out.append(d)
        return out

    def counts(self) -> dict[str, int]:
        row = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM people WHERE merged_into IS NULL AND ("
            "id IN (SELECT person_id FROM faces WHERE person_id IS NOT NULL"
            f" AND {not_trashed('faces.photo_id')})"
            " OR id IN (SELECT person_id FROM templates WHERE person_id IS NOT NULL))),"
            " (SELECT COUNT(*) FROM people WHERE name IS NOT NULL AND merged_into IS NULL),"
            " (SELECT COUNT(*) FROM faces WHERE person_id IS NOT NULL"
            f" AND {not_trashed('faces.photo_id')}),"
            " (SELECT COUNT(*) FROM faces WHERE grouped = 0 AND not_a_person = 0"
            f" AND {not_trashed('faces.photo_id')})"
        ).fetchone()
        return {
            "people": row[0],
            "named_people": row[1],
            "faces_in_people": row[2],
            "faces_waiting_to_be_grouped": row[3],
        }

    def record(self, action: str, detail: dict[str, Any]) -> int:
        cur = self._db.execute(
            "INSERT INTO people_history (at, action, detail) VALUES (?, ?, ?)",
            (utc_now(), action, json.dumps(detail, sort_keys=True)),
        )
        return int(cur.lastrowid or 0)

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The corrections, oldest first (the last `limit` of them)."""
        last = "(SELECT * FROM people_history ORDER BY id DESC LIMIT ?) AS last"
        table, args = ("people_history", ()) if limit is None else (last, (limit,))
        rows = self._db.execute(f"SELECT id, at, action, detail FROM {table} ORDER BY id", args)
        return [{"id": r[0], "at": r[1], "action": r[2], "detail": json.loads(r[3])} for r in rows]

    def history_entry(self, entry_id: int) -> dict[str, Any] | None:
        r = self._db.execute(
            "SELECT id, at, action, detail FROM people_history WHERE id = ?", (entry_id,)
        ).fetchone()
        return {"id": r[0], "at": r[1], "action": r[2], "detail": json.loads(r[3])} if r else None

    def forget_history(self, person_ids: Iterable[int]) -> int:
        """Remove the corrections that mention these persons (they may hold their names)."""
        ids = set(person_ids)
        rows = self._db.execute("SELECT id, detail FROM people_history").fetchall()
        doomed = [int(r[0]) for r in rows if ids & mentioned(json.loads(r[1]))]
        self._db.executemany("DELETE FROM people_history WHERE id = ?", [(h,) for h in doomed])
        return len(doomed)

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
