"""The catalog: one SQLite file per library, the single door to the database.

Every statement Regard runs is in this module. Writes happen inside `transaction()`
(BEGIN IMMEDIATE), so a photo, its faces and their embeddings land together or not at all:
killing Regard at any moment leaves the catalog as it was after the last commit.
"""

from __future__ import annotations

import json
import operator
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from regard.domain.clock import utc_now
from regard.domain.face import AnalysedFace, Box
from regard.domain.models import ModelSpec
from regard.domain.photo import (
    FileFingerprint,
    Photo,
    PhotoAnalysis,
    PhotoFailure,
    PhotoMetadata,
    PhotoStatus,
)
from regard.domain.privacy import KEEP, FaceVerdict
from regard.errors import KeyMissingError, LibraryError, LibraryVersionError
from regard.storage.accounts_catalog import AccountsCatalog
from regard.storage.people_catalog import PeopleCatalog
from regard.storage.privacy_catalog import PrivacyCatalog
from regard.storage.schema import MIGRATIONS, SCHEMA_VERSION
from regard.storage.sealing import Sealer


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What the catalog remembers of a path, enough to decide whether to look at it again."""

    photo_id: int
    path: str
    size_bytes: int
    mtime_ns: int
    status: PhotoStatus
    pipeline: str | None
    content_hash: str | None


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


@dataclass(frozen=True, slots=True)
class RunCounts:
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_moved: int = 0
    files_copied: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    faces_found: int = 0
    files_missing: int = 0
    files_pruned: int = 0


_PHOTO_COLUMNS = (
    "id, path, content_hash, size_bytes, mtime_ns, status, error_code, error_message, error_web, "
    "format, "
    "width, height, orientation, taken_at, gps_lat, gps_lon, gps_alt, camera_make, "
    "camera_model, pipeline"
)


class Catalog:
    """A library's SQLite database. Not shared between threads; one per process."""

    def __init__(self, path: Path, shared: bool = False) -> None:
        """`shared`: used from several threads, one at a time (the web server holds a lock
        around every use)."""
        self.path = path
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=30.0, check_same_thread=not shared
            )
        except sqlite3.Error as exc:
            raise LibraryError(f"Cannot open the catalog {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        # Paths are stored as the file system's bytes, valid UTF-8 or not (see `_path_arg`);
        # read back, bad bytes become the surrogates Python's os functions use for them.
        self._db.text_factory = _decode_text
        self._after_commit: list[Callable[[], None]] = []
        self._db.execute("PRAGMA foreign_keys = ON")
        # WAL: readers (search, status) never wait for the indexer, and a crash mid-write
        # leaves the last committed state. NORMAL sync is crash-safe in WAL mode.
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows are overwritten with zeros, so erased data does not linger in free pages.
        self._db.execute("PRAGMA secure_delete = ON")
        self._migrate()
        self.codec = VectorCodec()
        self.people = PeopleCatalog(self._db, self.codec)
        self.privacy = PrivacyCatalog(self._db)
        self.accounts = AccountsCatalog(self._db)
        #: Faces whose vector went away or changed since the last `take_touched()`: the
        #: engine keeps its in-memory vector index in step with them.
        self._touched: set[int] = set()

    def close(self) -> None:
        self._db.close()

    # --- transactions and schema --------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of
        failing halfway through."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._after_commit.clear()
            raise
        self._db.execute("COMMIT")
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction commits (never if it rolls back)."""
        self._after_commit.append(callback)

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise LibraryVersionError(self.path.parent, version, SCHEMA_VERSION)
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # --- settings --------------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_setting(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def delete_setting(self, key: str) -> None:
        self._db.execute("DELETE FROM settings WHERE key = ?", (key,))

    def settings(self, prefix: str = "") -> dict[str, str]:
        rows = self._db.execute(
            "SELECT key, value FROM settings WHERE key LIKE ? ORDER BY key", (prefix + "%",)
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def compact(self) -> None:
        """Rewrite the database without free pages and empty the write-ahead log, so nothing
        deleted survives in the files."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- models and runs ------------------------------------------------------------------------

    def register_models(self, specs: Iterable[ModelSpec]) -> None:
        with self.transaction():
            for s in specs:
                self._db.execute(
                    "INSERT OR IGNORE INTO models (id, kind, package, file, sha256, licence, dim,"
                    " first_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        s.id,
                        s.kind,
                        f"{s.package}=={s.package_version}",
                        s.resource,
                        s.sha256,
                        s.licence,
                        s.dim,
                        utc_now(),
                    ),
                )

    def models(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT m.*, (SELECT COUNT(*) FROM embeddings e WHERE e.model_id = m.id) AS vectors"
            " FROM models m ORDER BY first_used_at, id"
        ).fetchall()
        return [dict(r) for r in rows]

    def start_run(self, roots: Sequence[str], pipeline: str) -> int:
        with self.transaction():
            # A run still marked running was killed: say so instead of leaving it dangling.
            self._db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            cur = self._db.execute(
                "INSERT INTO runs (started_at, status, roots, pipeline)"
                " VALUES (?, 'running', ?, ?)",
                (utc_now(), json.dumps(list(roots)), pipeline),
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, counts: RunCounts, status: str = "completed") -> None:
        fields = RunCounts.__dataclass_fields__
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction():
            self._db.execute(
                f"UPDATE runs SET status = ?, finished_at = ?, {assignments} WHERE id = ?",
                (status, utc_now(), *(getattr(counts, n) for n in fields), run_id),
            )

    def indexed_roots(self) -> list[str]:
        """Every folder (or file) an indexing run was given."""
        roots: set[str] = set()
        for (value,) in self._db.execute("SELECT DISTINCT roots FROM runs"):
            roots.update(json.loads(value))
        return sorted(roots)

    def last_run(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None

    # --- what is known about files -------------------------------------------------------------

    def known_files(self) -> dict[str, KnownFile]:
        rows = self._db.execute(
            "SELECT id, path, size_bytes, mtime_ns, status, pipeline, content_hash FROM photos"
        )
        return {
            r["path"]: KnownFile(
                r["id"],
                r["path"],
                r["size_bytes"],
                r["mtime_ns"],
                PhotoStatus(r["status"]),
                r["pipeline"],
                r["content_hash"],
            )
            for r in rows
        }

    def indexed_sizes(self, pipeline: str) -> set[int]:
        rows = self._db.execute(
            "SELECT DISTINCT size_bytes FROM photos WHERE status = 'indexed' AND pipeline = ?",
            (pipeline,),
        )
        return {int(r[0]) for r in rows}

    def indexed_with_hash(self, content_hash: str, pipeline: str) -> list[KnownFile]:
        rows = self._db.execute(
            "SELECT id, path, size_bytes, mtime_ns, status, pipeline, content_hash FROM photos"
            " WHERE content_hash = ? AND status = 'indexed' AND pipeline = ? ORDER BY id",
            (content_hash, pipeline),
        )
        return [
            KnownFile(
                r["id"],
                r["path"],
                r["size_bytes"],
                r["mtime_ns"],
                PhotoStatus(r["status"]),
                r["pipeline"],
                r["content_hash"],
            )
            for r in rows
        ]

    # --- writing photos (call inside transaction()) -----------------------------------------

    def store_analysis(
        self,
        analysis: PhotoAnalysis,
        run_id: int,
        verdicts: Sequence[FaceVerdict] | None = None,
    ) -> int:
        """Insert or update the photo at the analysis' path, with all its faces.

        A face found again where it was before (same place in the photo) keeps its row and id,
        so what the owner decided about it survives re-analysis, even by a new model.
        `verdicts` (one per face, from the privacy gate) say which vectors may be stored."""
        if verdicts is None:
            verdicts = [KEEP] * len(analysis.faces)
        fp = analysis.fingerprint
        m = analysis.metadata
        photo_id = self._upsert_photo(
            fp,
            run_id,
            status=PhotoStatus.INDEXED,
            content_hash=analysis.content_hash,
            metadata=m,
            pipeline=analysis.pipeline_id,
        )
        old = {
            int(r[0]): Box(r[1], r[2], r[3], r[4])
            for r in self._db.execute(
                "SELECT id, x, y, w, h FROM faces WHERE photo_id = ?", (photo_id,)
            )
        }
        kept = match_faces(old, [f.detection.box for f in analysis.faces])
        gone = set(old) - set(kept.values())
        self._touched.update(old)
        for face_id in gone:
            self._db.execute("DELETE FROM faces WHERE id = ?", (face_id,))
        # Park kept rows' ordinals out of the way so renumbering never collides.
        self._db.execute("UPDATE faces SET ordinal = -id WHERE photo_id = ?", (photo_id,))
        for ordinal, (face, verdict) in enumerate(zip(analysis.faces, verdicts, strict=True)):
            if ordinal in kept:
                self._update_face(kept[ordinal], ordinal, face, verdict)
            else:
                self._insert_face(photo_id, ordinal, face, verdict)
        return photo_id

    def store_failure(self, failure: PhotoFailure, run_id: int) -> int:
        photo_id = self._upsert_photo(
            failure.fingerprint,
            run_id,
            status=PhotoStatus.ERROR,
            content_hash=failure.content_hash,
            metadata=None,
            pipeline=None,
            error=(failure.code, failure.message, failure.web_message),
        )
        self._touched.update(self._face_ids_of([photo_id]))
        self._db.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
        return photo_id

    def move_photo(self, photo_id: int, fingerprint: FileFingerprint) -> None:
        """The file was renamed or moved: keep the photo (and its faces), change its path."""
        path = _path_arg(fingerprint.path)
        self._db.execute(
            f"DELETE FROM photos WHERE path = {_PATH_MARK} AND id != ?", (path, photo_id)
        )
        self._db.execute(
            f"UPDATE photos SET path = {_PATH_MARK}, size_bytes = ?, mtime_ns = ? WHERE id = ?",
            (path, fingerprint.size_bytes, fingerprint.mtime_ns, photo_id),
        )

    def touch_photo(self, photo_id: int, fingerprint: FileFingerprint) -> None:
        """Same bytes, new timestamp: nothing to analyse again."""
        self._db.execute(
            "UPDATE photos SET size_bytes = ?, mtime_ns = ? WHERE id = ?",
            (fingerprint.size_bytes, fingerprint.mtime_ns, photo_id),
        )

    def copy_photo(self, source_id: int, fingerprint: FileFingerprint, run_id: int) -> int:
        """A second copy of an indexed file: reuse its analysis instead of running the models."""
        src = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (source_id,)
        ).fetchone()
        photo = _photo_from_row(src)
        photo_id = self._upsert_photo(
            fingerprint,
            run_id,
            status=PhotoStatus.INDEXED,
            content_hash=photo.content_hash,
            metadata=photo.metadata,
            pipeline=photo.pipeline_id,
        )
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
                " frontalness, quality, low_quality, biometric, optout_id, biometric != 'kept'"
                " FROM faces WHERE id = ?",
                (photo_id, f["id"]),
            )
            for model_id, blob in self._db.execute(
                "SELECT model_id, vector FROM embeddings WHERE face_id = ?", (f["id"],)
            ).fetchall():
                vector = self.codec.decode(int(f["id"]), str(model_id), blob)
                new_id = int(cur.lastrowid or 0)
                self._db.execute(
                    "INSERT INTO embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
                    (new_id, model_id, self.codec.encode(vector, new_id, str(model_id))),
                )
        return photo_id

    def delete_photos(self, photo_ids: Iterable[int]) -> int:
        ids = list(photo_ids)
        self._touched.update(self._face_ids_of(ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            self._db.execute(
                f"DELETE FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
        return len(ids)

    def _face_ids_of(self, photo_ids: Sequence[int]) -> list[int]:
        out: list[int] = []
        for i in range(0, len(photo_ids), 500):
            chunk = list(photo_ids[i : i + 500])
            out += [
                int(r[0])
                for r in self._db.execute(
                    f"SELECT id FROM faces WHERE photo_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            ]
        return out

    def take_touched(self) -> set[int]:
        touched, self._touched = self._touched, set()
        return touched

    def _upsert_photo(
        self,
        fp: FileFingerprint,
        run_id: int,
        *,
        status: PhotoStatus,
        content_hash: str | None,
        metadata: PhotoMetadata | None,
        pipeline: str | None,
        error: tuple[str, str, str | None] | None = None,
    ) -> int:
        m = metadata
        values: dict[str, object] = {
            "path": fp.path,
            "content_hash": content_hash,
            "size_bytes": fp.size_bytes,
            "mtime_ns": fp.mtime_ns,
            "status": status.value,
            "error_code": error[0] if error else None,
            "error_message": error[1] if error else None,
            "error_web": error[2] if error else None,
            "format": m.format if m else None,
            "width": m.width if m else None,
            "height": m.height if m else None,
            "orientation": m.orientation if m else None,
            "taken_at": m.taken_at if m else None,
            "gps_lat": m.gps_lat if m else None,
            "gps_lon": m.gps_lon if m else None,
            "gps_alt": m.gps_alt if m else None,
            "camera_make": m.camera_make if m else None,
            "camera_model": m.camera_model if m else None,
            "pipeline": pipeline,
            "run_id": run_id or None,
            "indexed_at": utc_now(),
        }
        values["path"] = _path_arg(fp.path)
        cols = ", ".join(values)
        marks = ", ".join(_PATH_MARK if c == "path" else "?" for c in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "path")
        row = self._db.execute(
            f"INSERT INTO photos ({cols}) VALUES ({marks})"
            f" ON CONFLICT(path) DO UPDATE SET {updates} RETURNING id",
            tuple(values.values()),
        ).fetchone()
        return int(row[0])

    def _update_face(
        self, face_id: int, ordinal: int, face: AnalysedFace, verdict: FaceVerdict
    ) -> None:
        d, q = face.detection, face.quality
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
            "UPDATE faces SET ordinal = ?, x = ?, y = ?, w = ?, h = ?, landmarks = ?,"
            " det_score = ?, size_px = ?, sharpness = ?, frontalness = ?, quality = ?,"
            f" low_quality = ?, biometric = ?, optout_id = ?, {person_sql} WHERE id = ?",
            (
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
                *person_args,
                face_id,
            ),
        )
        # Vectors of any other model go: spaces are never mixed, and stale biometric data is
        # not kept.
        self._db.execute("DELETE FROM embeddings WHERE face_id = ?", (face_id,))
        if verdict.keep:
            self._store_vector(face_id, face)

    def _insert_face(
        self, photo_id: int, ordinal: int, face: AnalysedFace, verdict: FaceVerdict
    ) -> int:
        d, q = face.detection, face.quality
        cur = self._db.execute(
            "INSERT INTO faces (photo_id, ordinal, x, y, w, h, landmarks, det_score, size_px,"
            " sharpness, frontalness, quality, low_quality, biometric, optout_id, person_id,"
            " assigned_by, grouped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                photo_id,
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
                verdict.person_id,
                "auto" if verdict.person_id else None,
                int(verdict.person_id is not None or not verdict.keep),
            ),
        )
        face_id = int(cur.lastrowid or 0)
        if verdict.keep:
            self._store_vector(face_id, face)
        return face_id

    def _store_vector(self, face_id: int, face: AnalysedFace) -> None:
        self._db.execute(
            "INSERT INTO embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
            (face_id, face.model_id, self.codec.encode(face.embedding, face_id, face.model_id)),
        )

    # --- reading -------------------------------------------------------------------------------

    def photo(self, photo_id: int) -> Photo | None:
        row = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        return _photo_from_row(row) if row else None

    def photo_by_path(self, path: str) -> Photo | None:
        row = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = {_PATH_MARK}", (_path_arg(path),)
        ).fetchone()
        return _photo_from_row(row) if row else None

    def photos(self) -> list[Photo]:
        rows = self._db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos ORDER BY path")
        return [_photo_from_row(r) for r in rows]

    def photo_summaries(self, with_faces: bool = False) -> list[dict[str, Any]]:
        """Every photo with its face counts, in path order."""
        rows = self._db.execute(
            "SELECT p.id, p.path, p.status, p.taken_at, p.width, p.height,"
            " COUNT(f.id) AS faces, COALESCE(SUM(f.low_quality = 0), 0) AS good_faces"
            " FROM photos p LEFT JOIN faces f ON f.photo_id = p.id"
            " GROUP BY p.id"
            + (" HAVING COUNT(f.id) > 0" if with_faces else "")
            + " ORDER BY p.path"
        )
        return [dict(r) for r in rows]

    def timeline(
        self,
        offset: int,
        limit: int,
        year: int | None,
        folder: str | None,
        with_faces: bool,
        undated: bool = False,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Indexed photos newest first (undated last), with face counts and the name each
        was sent with (if it was uploaded), and how many match. `folder`: photos in it and in
        the folders under it; `undated`: only photos without a date."""
        where = ["p.status = 'indexed'"]
        args: list[Any] = []
        if year is not None:
            where.append("substr(p.taken_at, 1, 4) = ?")
            args.append(f"{year:04d}")
        if undated:
            where.append("p.taken_at IS NULL")
        if folder:
            # The folder itself, not every folder whose name starts the same ("2019" vs "2019b").
            inside = folder if folder.endswith(os.sep) else folder + os.sep
            # substr, not LIKE: LIKE ignores case, and "_" and "%" are common in names. On
            # bytes, so a name that is not valid UTF-8 is cut where the file system cuts it.
            where.append("substr(CAST(p.path AS BLOB), 1, length(?)) = ?")
            raw = os.fsencode(inside)
            args += [raw, raw]
        having = " HAVING COUNT(f.id) > 0" if with_faces else ""
        base = (
            "SELECT p.id, p.path, u.name AS upload_name, p.taken_at, p.width, p.height,"
            " COUNT(f.id) AS faces, COUNT(f.person_id) AS faces_in_people FROM photos p"
            " LEFT JOIN faces f ON f.photo_id = p.id"
            " LEFT JOIN upload_names u ON u.path = p.path"
            f" WHERE {' AND '.join(where)} GROUP BY p.id{having}"
        )
        total = int(self._db.execute(f"SELECT COUNT(*) FROM ({base})", args).fetchone()[0])
        rows = self._db.execute(
            base + " ORDER BY p.taken_at IS NULL, p.taken_at DESC, p.path LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return total, [dict(r) for r in rows]

    def years(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT substr(taken_at, 1, 4) AS year, COUNT(*) AS photos FROM photos"
            " WHERE status = 'indexed' AND taken_at IS NOT NULL GROUP BY year ORDER BY year DESC"
        )
        return [dict(r) for r in rows]

    def undated_count(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM photos WHERE status = 'indexed' AND taken_at IS NULL"
        ).fetchone()
        return int(row[0])

    def folders(self) -> list[tuple[str, int]]:
        """The folders indexed photos are in, with how many each holds directly."""
        # rtrim(path, <every character of path but the separator>) leaves its folder and the
        # separator after it.
        rows = self._db.execute(
            "SELECT rtrim(path, replace(path, ?, '')) AS folder, COUNT(*) FROM photos"
            " WHERE status = 'indexed' GROUP BY folder ORDER BY folder",
            (os.sep,),
        )
        return [(str(r[0]).rstrip(os.sep) or os.sep, int(r[1])) for r in rows]

    # --- names uploads were sent with -------------------------------------------------------

    def add_upload_name(self, path: str, name: str) -> None:
        """The name the file kept at `path` had when it was sent (the first sender's)."""
        self._db.execute(
            f"INSERT INTO upload_names (path, name, added_at) VALUES ({_PATH_MARK}, ?, ?)"
            " ON CONFLICT(path) DO NOTHING",
            (_path_arg(path), name, utc_now()),
        )

    def upload_name(self, path: str) -> str | None:
        row = self._db.execute(
            f"SELECT name FROM upload_names WHERE path = {_PATH_MARK}", (_path_arg(path),)
        ).fetchone()
        return str(row[0]) if row else None

    def photo_facts(self, photo_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Path, upload name, width and height of these photos, for search results."""
        facts: dict[int, dict[str, Any]] = {}
        ids = list(photo_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._db.execute(
                "SELECT p.id, p.path, u.name AS upload_name, p.width, p.height FROM photos p"
                " LEFT JOIN upload_names u ON u.path = p.path"
                f" WHERE p.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            facts.update({int(r["id"]): dict(r) for r in rows})
        return facts

    def content_hashes(self) -> set[str]:
        rows = self._db.execute("SELECT content_hash FROM photos WHERE content_hash IS NOT NULL")
        return {str(r[0]) for r in rows}

    def failed_photos(self) -> list[Photo]:
        rows = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE status = 'error' ORDER BY path"
        )
        return [_photo_from_row(r) for r in rows]

    def face_row(self, face_id: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT f.*, p.path FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.id = ?",
            (face_id,),
        ).fetchone()
        return dict(row) if row else None

    def face_rows(self, photo_id: int | None = None) -> list[dict[str, Any]]:
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
            wanted = list(face_ids)
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                rows += self._db.execute(
                    "SELECT face_id, vector FROM embeddings WHERE model_id = ? AND face_id IN"
                    f" ({','.join('?' * len(chunk))}) ORDER BY face_id",
                    (model_id, *chunk),
                ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, self.codec.decode_many([(int(r[0]), model_id, r[1]) for r in rows])

    def face_vectors(self, face_ids: Sequence[int]) -> list[tuple[int, str, bytes]]:
        """(face id, model id, sealed vector) of these faces, of every model."""
        out: list[tuple[int, str, bytes]] = []
        ids = list(face_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._db.execute(
                "SELECT face_id, model_id, vector FROM embeddings"
                f" WHERE face_id IN ({','.join('?' * len(chunk))}) ORDER BY face_id",
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

    def raw_templates(self) -> list[tuple[int, str, bytes]]:
        rows = self._db.execute("SELECT id, kind, model_id, vector FROM templates").fetchall()
        return [
            (int(r[0]), template_context(int(r[0]), str(r[1]), str(r[2])), bytes(r[3]))
            for r in rows
        ]

    def replace_template_blob(self, template_id: int, blob: bytes) -> None:
        self._db.execute("UPDATE templates SET vector = ? WHERE id = ?", (blob, template_id))

    def add_template(
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
        sealed = self.codec.seal_raw(
            np.asarray(vector, dtype="<f4").tobytes(), template_context(template_id, kind, model_id)
        )
        self.replace_template_blob(template_id, sealed)
        return template_id

    def templates(
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
            self.codec.open_raw(bytes(r[3]), template_context(int(r[0]), kind, model_id))
            for r in rows
        )
        return meta, np.frombuffer(raw, dtype="<f4").reshape(len(rows), -1).astype(np.float32)

    def person_templates(self, person_id: int) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """(model id, vector) of every template of a person (enrolment, withdrawal), opened."""
        rows = self._db.execute(
            "SELECT id, kind, model_id, vector FROM templates WHERE person_id = ? ORDER BY id",
            (person_id,),
        ).fetchall()
        return [
            (
                str(r[2]),
                np.frombuffer(
                    self.codec.open_raw(
                        bytes(r[3]), template_context(int(r[0]), str(r[1]), str(r[2]))
                    ),
                    dtype="<f4",
                ).astype(np.float32),
            )
            for r in rows
        ]

    def template_counts(self, person_id: int | None = None) -> dict[str, int]:
        """How many templates of each kind (of one person's, if given)."""
        rows = self._db.execute(
            "SELECT kind, COUNT(*) FROM templates"
            + (" WHERE person_id = ?" if person_id is not None else "")
            + " GROUP BY kind",
            (person_id,) if person_id is not None else (),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def erasure_templates(self, model_id: str) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """(erasure journal entry, vector) of every erasure template of a model, opened."""
        meta, vecs = self.templates("erasure", model_id)
        ids = {
            int(r[0]): str(r[1])
            for r in self._db.execute(
                "SELECT id, erasure_id FROM templates WHERE kind = 'erasure' AND model_id = ?",
                (model_id,),
            )
        }
        return [(ids[m[0]], vec) for m, vec in zip(meta, vecs, strict=True)]

    def delete_templates(
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

    def counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def face_hits(self, face_ids: Sequence[int]) -> dict[int, FaceHit]:
        hits: dict[int, FaceHit] = {}
        ids = list(face_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._db.execute(
                "SELECT f.id, f.photo_id, p.path, f.x, f.y, f.w, f.h, f.det_score, f.quality,"
                " f.low_quality, p.taken_at FROM faces f JOIN photos p ON p.id = f.photo_id"
                f" WHERE f.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for r in rows:
                hits[r[0]] = FaceHit(
                    r[0], r[1], r[2], Box(r[3], r[4], r[5], r[6]), r[7], r[8], bool(r[9]), r[10]
                )
        return hits

    def counts(self) -> dict[str, int]:
        one = self._db.execute(
            "SELECT"
            " (SELECT COUNT(*) FROM photos) AS photos,"
            " (SELECT COUNT(*) FROM photos WHERE status = 'indexed') AS indexed,"
            " (SELECT COUNT(*) FROM photos WHERE status = 'error') AS errors,"
            " (SELECT COUNT(DISTINCT photo_id) FROM faces) AS photos_with_faces,"
            " (SELECT COUNT(*) FROM faces) AS faces,"
            " (SELECT COUNT(*) FROM faces WHERE low_quality = 1) AS low_quality_faces,"
            " (SELECT COUNT(*) FROM embeddings) AS embeddings"
        ).fetchone()
        return {k: int(one[k]) for k in one.keys()}  # noqa: SIM118 (sqlite3.Row)


#: Where a path is bound: bytes become TEXT holding exactly those bytes (see `_path_arg`).
_PATH_MARK = "CAST(? AS TEXT)"


def _path_arg(path: str) -> str | bytes:
    """A path to bind, as `CAST(? AS TEXT)` stores it. A file name is bytes, not always valid
    UTF-8; sqlite3 refuses the surrogates Python uses for the bad bytes, so such a path is
    bound as its bytes and stored as TEXT holding them. Valid names stay plain text, so a
    library's existing rows and lookups are unchanged."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


#: How TEXT is read: as UTF-8, a path's bytes that are not kept as the surrogates Python's os
#: functions use for them (a C-level callable: it runs for every TEXT value read).
_decode_text = operator.methodcaller("decode", "utf-8", "surrogateescape")


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


def template_context(template_id: int, kind: str, model_id: str) -> str:
    return f"template:{template_id}:{kind}:{model_id}"


class VectorCodec:
    """How face vectors are written: float32, sealed with the library's key and bound to
    their face and model. Without a key (a locked library) vectors can be neither read
    nor written."""

    def __init__(self) -> None:
        self.sealer: Sealer | None = None

    def _require(self) -> Sealer:
        if self.sealer is None:
            raise KeyMissingError("no key or passphrase was given")
        return self.sealer

    @staticmethod
    def context(face_id: int, model_id: str) -> str:
        return f"embedding:{face_id}:{model_id}"

    def encode(self, vector: npt.NDArray[np.float32], face_id: int, model_id: str) -> bytes:
        raw = np.asarray(vector, dtype="<f4").tobytes()
        return self._require().seal(raw, self.context(face_id, model_id))

    def decode(self, face_id: int, model_id: str, blob: bytes) -> npt.NDArray[np.float32]:
        raw = self._require().open(bytes(blob), self.context(face_id, model_id))
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)

    def seal_raw(self, raw: bytes, context: str) -> bytes:
        return self._require().seal(raw, context)

    def open_raw(self, blob: bytes, context: str) -> bytes:
        return self._require().open(blob, context)

    def decode_many(self, rows: Sequence[tuple[int, str, bytes]]) -> npt.NDArray[np.float32]:
        sealer = self._require()
        raw = b"".join(sealer.open(bytes(b), self.context(f, m)) for f, m, b in rows)
        return np.frombuffer(raw, dtype="<f4").reshape(len(rows), -1).astype(np.float32)


def _photo_from_row(r: sqlite3.Row) -> Photo:
    metadata = None
    if r["status"] == PhotoStatus.INDEXED.value:
        metadata = PhotoMetadata(
            format=r["format"] or "unknown",
            width=r["width"] or 0,
            height=r["height"] or 0,
            orientation=r["orientation"] or 1,
            taken_at=r["taken_at"],
            gps_lat=r["gps_lat"],
            gps_lon=r["gps_lon"],
            gps_alt=r["gps_alt"],
            camera_make=r["camera_make"],
            camera_model=r["camera_model"],
        )
    return Photo(
        id=r["id"],
        path=r["path"],
        content_hash=r["content_hash"],
        size_bytes=r["size_bytes"],
        mtime_ns=r["mtime_ns"],
        status=PhotoStatus(r["status"]),
        metadata=metadata,
        error_code=r["error_code"],
        error_message=r["error_message"],
        error_web=r["error_web"],
        pipeline_id=r["pipeline"],
    )


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (a trigger's body holds semicolons of its own)."""
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if not _only_comments(pending.rstrip(";")):
                statements.append(pending.strip())
            pending = ""
    return statements


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())
