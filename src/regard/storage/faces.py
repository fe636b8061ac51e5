"""Faces and their embeddings: where each face is in its photo, what the privacy gate let be
kept of it, and its sealed vector (one per embedding model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from regard.domain.face import AnalysedFace, Box
from regard.domain.privacy import FaceVerdict
from regard.storage.codec import VectorCodec
from regard.storage.sql import Connection, chunks, marks, not_trashed


@dataclass(frozen=True, slots=True)
class FaceHit:
    """A stored face joined with its photo, as search results need it."""

    face_id: int
    photo_id: int
    path: str
    box: Box
    det_score: float
    quality: float
    low_quality: bool
    taken_at: str | None


class SqliteFaces:
    """`FaceRepository` over the catalog's connection. Writes go inside `Catalog.transaction()`."""

    def __init__(self, db: Connection, codec: VectorCodec) -> None:
        self._db = db
        self._codec = codec
        #: Faces whose vector went away or changed since the last `take_touched()`: the
        #: engine keeps its in-memory vector index in step with them.
        self._touched: set[int] = set()

    # --- keeping the vector index in step ------------------------------------------------------

    def touch(self, face_ids: Sequence[int]) -> None:
        """These faces' vectors went away or changed."""
        self._touched.update(face_ids)

    def take_touched(self) -> set[int]:
        touched, self._touched = self._touched, set()
        return touched

    def ids_of_photos(self, photo_ids: Sequence[int]) -> list[int]:
        out: list[int] = []
        for chunk in chunks(photo_ids):
            out += [
                int(r[0])
                for r in self._db.execute(
                    f"SELECT id FROM faces WHERE photo_id IN ({marks(chunk)})", chunk
                )
            ]
        return out

    # --- writing (call inside transaction()) ---------------------------------------------------

    def replace(
        self,
        photo_id: int,
        faces: Sequence[AnalysedFace],
        verdicts: Sequence[FaceVerdict],
        matched: dict[int, int] | None = None,
        *,
        fresh: bool = False,
    ) -> list[int]:
        """A photo's faces, as analysed again: a face found where it was before (same place in
        the photo) keeps its row and id, so what the owner decided about it survives
        re-analysis, even by a new model. `matched` ({new ordinal: old face id}) says which
        are the same instead (a video's appearances are matched by when they are). `fresh`:
        the photo has no faces stored (nothing to ask the database). The faces' ids, in order."""
        old: dict[int, Box] = (
            {}
            if fresh
            else {
                int(r[0]): Box(r[1], r[2], r[3], r[4])
                for r in self._db.execute(
                    "SELECT id, x, y, w, h FROM faces WHERE photo_id = ?", (photo_id,)
                )
            }
        )
        kept = (
            match_faces(old, [f.detection.box for f in faces])
            if matched is None
            else {n: i for n, i in matched.items() if i in old}
        )
        gone = set(old) - set(kept.values())
        self._touched.update(old)
        for face_id in gone:
            self._db.execute("DELETE FROM faces WHERE id = ?", (face_id,))
        if old:
            # Park kept rows' ordinals out of the way so renumbering never collides.
            self._db.execute("UPDATE faces SET ordinal = -id WHERE photo_id = ?", (photo_id,))
        new: list[tuple[int, AnalysedFace, FaceVerdict]] = []
        for ordinal, (face, verdict) in enumerate(zip(faces, verdicts, strict=True)):
            if ordinal in kept:
                self._update(kept[ordinal], ordinal, face, verdict)
            else:
                new.append((ordinal, face, verdict))
        made = self._insert(photo_id, new)
        return [kept[n] if n in kept else made[n] for n in range(len(faces))]

    def delete_of_photo(self, photo_id: int) -> None:
        self._touched.update(self.ids_of_photos([photo_id]))
        self._db.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))

    def copy(self, source_id: int, photo_id: int) -> None:
        """The faces of photo `source_id` (and their vectors, sealed anew) become `photo_id`'s."""
        self._db.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
        faces = self._db.execute(
            "SELECT * FROM faces WHERE photo_id = ? ORDER BY ordinal", (source_id,)
        ).fetchall()
        for f in faces:
            cur = self._db.execute(
                # The copy inherits what the gate decided for the original: an opted-out or
                # unconsented face stays without a vector.
                "INSERT INTO faces (photo_id, ordinal, x, y, w, h, landmarks, det_score, size_px,"
                " sharpness, frontalness, quality, low_quality, biometric, optout_id, grouped)"
                " SELECT ?, ordinal, x, y, w, h, landmarks, det_score, size_px, sharpness,"
                " frontalness, quality, low_quality, biometric, optout_id,"
                " CASE WHEN biometric = 'kept' THEN 0 ELSE 1 END"
                " FROM faces WHERE id = ?",
                (photo_id, f["id"]),
            )
            for model_id, blob in self._db.execute(
                "SELECT model_id, vector FROM embeddings WHERE face_id = ?", (f["id"],)
            ).fetchall():
                vector = self._codec.decode(int(f["id"]), str(model_id), blob)
                new_id = int(cur.lastrowid or 0)
                self._db.execute(
                    "INSERT INTO embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
                    (new_id, model_id, self._codec.encode(vector, new_id, str(model_id))),
                )

    def _update(self, face_id: int, ordinal: int, face: AnalysedFace, verdict: FaceVerdict) -> None:
        if verdict.person_id is not None:
            person_sql = "person_id = ?, assigned_by = 'auto', grouped = 1"
            person_args: tuple[object, ...] = (verdict.person_id,)
        elif verdict.keep:
            # The owner's decisions about a face stay; automatic ones are made again.
            person_sql = (
                "grouped = 0, person_id = CASE WHEN assigned_by = 'owner' THEN person_id END,"
                " assigned_by = CASE WHEN assigned_by = 'owner' THEN 'owner' END"
            )
            person_args = ()
        else:
            person_sql = "person_id = NULL, assigned_by = NULL, grouped = 1"
            person_args = ()
        self._db.execute(
            f"UPDATE faces SET {_SET_FACE}, {person_sql} WHERE id = ?",
            (*_face_values(ordinal, face, verdict), *person_args, face_id),
        )
        # Vectors of any other model go: spaces are never mixed, and stale biometric data is
        # not kept.
        self._db.execute("DELETE FROM embeddings WHERE face_id = ?", (face_id,))
        if verdict.keep:
            self._store_vector(face_id, face)

    def _insert(
        self, photo_id: int, new: Sequence[tuple[int, AnalysedFace, FaceVerdict]]
    ) -> dict[int, int]:
        """New faces of a photo ((ordinal, face, verdict)) and the vectors the gate lets be
        kept: {ordinal: face id}. A few statements for all of them, not two a face: on
        PostgreSQL each statement whose answer is read is a round trip to the server."""
        made: dict[int, int] = {}
        row = f"({', '.join('?' * (len(_FACE_COLUMNS) + 4))})"
        for start in range(0, len(new), _ROWS):
            part = new[start : start + _ROWS]
            args = [
                value
                for ordinal, face, verdict in part
                for value in (
                    photo_id,
                    *_face_values(ordinal, face, verdict),
                    verdict.person_id,
                    "auto" if verdict.person_id else None,
                    int(verdict.person_id is not None or not verdict.keep),
                )
            ]
            rows = self._db.execute(
                f"INSERT INTO faces (photo_id, {', '.join(_FACE_COLUMNS)}, person_id,"
                f" assigned_by, grouped) VALUES {', '.join([row] * len(part))}"
                " RETURNING id, ordinal",
                args,
            ).fetchall()
            made.update({int(r[1]): int(r[0]) for r in rows})
        vectors = [
            (made[n], face.model_id, self._codec.encode(face.embedding, made[n], face.model_id))
            for n, face, verdict in new
            if verdict.keep
        ]
        if vectors:
            self._db.executemany(
                "INSERT INTO embeddings (face_id, model_id, vector) VALUES (?, ?, ?)", vectors
            )
        return made

    def _store_vector(self, face_id: int, face: AnalysedFace) -> None:
        self._db.execute(
            "INSERT INTO embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
            (face_id, face.model_id, self._codec.encode(face.embedding, face_id, face.model_id)),
        )

    # --- reading -------------------------------------------------------------------------------

    def row(self, face_id: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT f.*, p.path FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.id = ?",
            (face_id,),
        ).fetchone()
        return dict(row) if row else None

    def rows(self, photo_id: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT f.*, p.path FROM faces f JOIN photos p ON p.id = f.photo_id"
            + (" WHERE f.photo_id = ?" if photo_id is not None else "")
            + " ORDER BY p.path, f.ordinal"
        )
        args: tuple[int, ...] = (photo_id,) if photo_id is not None else ()
        return [dict(r) for r in self._db.execute(sql, args)]

    def embeddings(
        self, model_id: str, face_ids: Sequence[int] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Face ids and vectors made by `model_id` (all of them, or of `face_ids`), as an id
        array and a matrix."""
        if face_ids is None:
            rows = self._db.execute(
                "SELECT face_id, vector FROM embeddings WHERE model_id = ? ORDER BY face_id",
                (model_id,),
            ).fetchall()
        elif not face_ids:
            rows = []
        else:
            rows = []
            for chunk in chunks(face_ids):
                rows += self._db.execute(
                    "SELECT face_id, vector FROM embeddings WHERE model_id = ? AND face_id IN"
                    f" ({marks(chunk)}) ORDER BY face_id",
                    (model_id, *chunk),
                ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, self._codec.decode_many([(int(r[0]), model_id, r[1]) for r in rows])

    def vectors(self, face_ids: Sequence[int]) -> list[tuple[int, str, bytes]]:
        """(face id, model id, sealed vector) of these faces, of every model."""
        out: list[tuple[int, str, bytes]] = []
        for chunk in chunks(face_ids):
            rows = self._db.execute(
                "SELECT face_id, model_id, vector FROM embeddings"
                f" WHERE face_id IN ({marks(chunk)}) ORDER BY face_id",
                chunk,
            )
            out += [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]
        return out

    def raw_embeddings(self) -> list[tuple[int, str, bytes]]:
        rows = self._db.execute("SELECT face_id, model_id, vector FROM embeddings").fetchall()
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def replace_embedding_blob(self, face_id: int, model_id: str, blob: bytes) -> None:
        self._db.execute(
            "UPDATE embeddings SET vector = ? WHERE face_id = ? AND model_id = ?",
            (blob, face_id, model_id),
        )

    def embedding_ids(self, model_id: str) -> npt.NDArray[np.int64]:
        rows = self._db.execute(
            "SELECT face_id FROM embeddings WHERE model_id = ? ORDER BY face_id", (model_id,)
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def embedding_count(self, model_id: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model_id = ?", (model_id,)
        ).fetchone()
        return int(row[0])

    def hits(self, face_ids: Sequence[int]) -> dict[int, FaceHit]:
        hits: dict[int, FaceHit] = {}
        for chunk in chunks(face_ids):
            rows = self._db.execute(
                "SELECT f.id, f.photo_id, p.path, f.x, f.y, f.w, f.h, f.det_score, f.quality,"
                " f.low_quality, p.taken_at FROM faces f JOIN photos p ON p.id = f.photo_id"
                # A detection the owner said is no face is never a match; a photo in the trash
                # is found by no search, suggested to nobody.
                f" WHERE f.id IN ({marks(chunk)}) AND f.not_a_person = 0"
                f" AND {not_trashed('p.id')}",
                chunk,
            )
            for r in rows:
                hits[r[0]] = FaceHit(
                    r[0], r[1], r[2], Box(r[3], r[4], r[5], r[6]), r[7], r[8], bool(r[9]), r[10]
                )
        return hits


#: New faces written by one statement (18 values each: SQLite before 3.32 binds 999 at most).
_ROWS = 50

#: What analysis decides about a face, in the order `_face_values` gives it.
_FACE_COLUMNS = (
    "ordinal",
    "x",
    "y",
    "w",
    "h",
    "landmarks",
    "det_score",
    "size_px",
    "sharpness",
    "frontalness",
    "quality",
    "low_quality",
    "biometric",
    "optout_id",
)
_SET_FACE = ", ".join(f"{c} = ?" for c in _FACE_COLUMNS)


def _face_values(ordinal: int, face: AnalysedFace, verdict: FaceVerdict) -> tuple[object, ...]:
    """A face's columns as analysis and the privacy gate decide them (`_FACE_COLUMNS`): written
    the same whether the face is new or found again."""
    d, q = face.detection, face.quality
    return (
        ordinal,
        d.box.x,
        d.box.y,
        d.box.w,
        d.box.h,
        json.dumps(d.landmarks.flat()),
        d.score,
        q.size_px,
        q.sharpness,
        q.frontalness,
        q.score,
        int(q.low),
        verdict.reason,
        verdict.optout_id,
    )


def match_faces(old: dict[int, Box], new: Sequence[Box], min_iou: float = 0.5) -> dict[int, int]:
    """Pair new detections with stored faces at the same place: {new ordinal: old face id}.
    Greedy by overlap, best pairs first; each face is used once."""
    pairs = sorted(
        (
            (box.iou(prev), ordinal, face_id)
            for ordinal, box in enumerate(new)
            for face_id, prev in old.items()
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    kept: dict[int, int] = {}
    used: set[int] = set()
    for iou, ordinal, face_id in pairs:
        if iou < min_iou:
            break
        if ordinal not in kept and face_id not in used:
            kept[ordinal] = face_id
            used.add(face_id)
    return kept


def match_spans(
    old: dict[int, tuple[float, float]], new: Sequence[tuple[float, float]], min_iou: float = 0.5
) -> dict[int, int]:
    """Pair a video's new appearances with stored ones on screen at the same time: {new
    ordinal: old face id}, greedy by the overlap of their time spans, best pairs first."""

    def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
        inter = min(a[1], b[1]) - max(a[0], b[0])
        union = max(a[1], b[1]) - min(a[0], b[0])
        return inter / union if inter > 0 and union > 0 else 0.0

    pairs = sorted(
        (
            (iou(span, prev), ordinal, face_id)
            for ordinal, span in enumerate(new)
            for face_id, prev in old.items()
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    kept: dict[int, int] = {}
    used: set[int] = set()
    for score, ordinal, face_id in pairs:
        if score < min_iou:
            break
        if ordinal not in kept and face_id not in used:
            kept[ordinal] = face_id
            used.add(face_id)
    return kept
