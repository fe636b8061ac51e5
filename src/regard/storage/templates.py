"""Templates: face vectors kept for one purpose only, sealed - a consent enrolment, or
exclusion (an opt-out, an erasure, a withdrawn consent)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.domain.clock import utc_now
from regard.storage.codec import VectorCodec, template_context
from regard.storage.sql import Connection


class SqliteTemplates:
    """`TemplateRepository` over the catalog's connection. Writes go inside
    `Catalog.transaction()`."""

    def __init__(self, db: Connection, codec: VectorCodec) -> None:
        self._db = db
        self._codec = codec

    def raw(self) -> list[tuple[int, str, bytes]]:
        rows = self._db.execute("SELECT id, kind, model_id, vector FROM templates").fetchall()
        return [
            (int(r[0]), template_context(int(r[0]), str(r[1]), str(r[2])), bytes(r[3]))
            for r in rows
        ]

    def replace_blob(self, template_id: int, blob: bytes) -> None:
        self._db.execute("UPDATE templates SET vector = ? WHERE id = ?", (blob, template_id))

    def add(
        self,
        kind: str,
        model_id: str,
        vector: npt.NDArray[np.float32],
        *,
        person_id: int | None = None,
        optout_id: int | None = None,
        erasure_id: str | None = None,
    ) -> int:
        """A face vector kept for one purpose only, sealed: a consent enrolment, or exclusion
        (an opt-out, an erasure, a withdrawn consent)."""
        cur = self._db.execute(
            "INSERT INTO templates (kind, person_id, optout_id, erasure_id, model_id, vector,"
            " created_at) VALUES (?, ?, ?, ?, ?, x'', ?)",
            (kind, person_id, optout_id, erasure_id, model_id, utc_now()),
        )
        template_id = int(cur.lastrowid or 0)
        sealed = self._codec.seal_raw(
            np.asarray(vector, dtype="<f4").tobytes(), template_context(template_id, kind, model_id)
        )
        self.replace_blob(template_id, sealed)
        return template_id

    def vectors(
        self, kind: str, model_id: str
    ) -> tuple[list[tuple[int, int | None, int | None]], npt.NDArray[np.float32]]:
        """[(template id, person id, opt-out id)] and their vectors, opened."""
        rows = self._db.execute(
            "SELECT id, person_id, optout_id, vector FROM templates WHERE kind = ? AND"
            " model_id = ? ORDER BY id",
            (kind, model_id),
        ).fetchall()
        meta = [(int(r[0]), r[1], r[2]) for r in rows]
        if not rows:
            return meta, np.zeros((0, 0), dtype=np.float32)
        raw = b"".join(
            self._codec.open_raw(bytes(r[3]), template_context(int(r[0]), kind, model_id))
            for r in rows
        )
        return meta, np.frombuffer(raw, dtype="<f4").reshape(len(rows), -1).astype(np.float32)

    def of_person(self, person_id: int) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """(model id, vector) of every template of a person (enrolment, withdrawal), opened."""
        rows = self._db.execute(
            "SELECT id, kind, model_id, vector FROM templates WHERE person_id = ? ORDER BY id",
            (person_id,),
        ).fetchall()
        return [
            (
                str(r[2]),
                np.frombuffer(
                    self._codec.open_raw(
                        bytes(r[3]), template_context(int(r[0]), str(r[1]), str(r[2]))
                    ),
                    dtype="<f4",
                ).astype(np.float32),
            )
            for r in rows
        ]

    def counts(self, person_id: int | None = None) -> dict[str, int]:
        """How many templates of each kind (of one person's, if given)."""
        rows = self._db.execute(
            "SELECT kind, COUNT(*) FROM templates"
            + (" WHERE person_id = ?" if person_id is not None else "")
            + " GROUP BY kind",
            (person_id,) if person_id is not None else (),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def erasures(self, model_id: str) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """(erasure journal entry, vector) of every erasure template of a model, opened."""
        meta, vecs = self.vectors("erasure", model_id)
        ids = {
            int(r[0]): str(r[1])
            for r in self._db.execute(
                "SELECT id, erasure_id FROM templates WHERE kind = 'erasure' AND model_id = ?",
                (model_id,),
            )
        }
        return [(ids[m[0]], vec) for m, vec in zip(meta, vecs, strict=True)]

    def delete(
        self, *, person_id: int | None = None, optout_id: int | None = None, kind: str | None = None
    ) -> int:
        if person_id is not None:
            return int(
                self._db.execute(
                    "DELETE FROM templates WHERE person_id = ? AND kind = COALESCE(?, kind)",
                    (person_id, kind),
                ).rowcount
            )
        if optout_id is not None:
            return int(
                self._db.execute("DELETE FROM templates WHERE optout_id = ?", (optout_id,)).rowcount
            )
        return 0
