"""Photos: one row per file, what was read from it (or why it failed), where it is, and the
name it was sent with if it was uploaded. A photo's faces are written with it, through the
face repository, in the same transaction."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from regard.domain.clock import utc_now
from regard.domain.photo import (
    FileFingerprint,
    Photo,
    PhotoAnalysis,
    PhotoFailure,
    PhotoMetadata,
    PhotoStatus,
    is_video,
)
from regard.domain.privacy import KEEP, FaceVerdict
from regard.storage.appearances import SqliteAppearances
from regard.storage.faces import SqliteFaces, match_spans
from regard.storage.sql import PATH_MARK, Connection, chunks, marks, not_trashed, path_arg


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


_PHOTO_COLUMNS = (
    "id, path, content_hash, size_bytes, mtime_ns, status, error_code, error_message, error_web, "
    "format, "
    "width, height, orientation, taken_at, gps_lat, gps_lon, gps_alt, camera_make, "
    "camera_model, pipeline, media, duration"
)


class SqlitePhotos:
    """`PhotoRepository` over the catalog's connection. Writes go inside `Catalog.transaction()`."""

    def __init__(self, db: Connection, faces: SqliteFaces, appearances: SqliteAppearances) -> None:
        self._db = db
        self._faces = faces
        self._appearances = appearances

    def known_files(self) -> dict[str, KnownFile]:
        rows = self._db.execute(
            "SELECT id, path, size_bytes, mtime_ns, status, pipeline, content_hash FROM photos"
        )
        return {r["path"]: _known(r) for r in rows}

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
        return [_known(r) for r in rows]

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
        photo_id, had_faces = self._upsert(
            fp,
            run_id,
            status=PhotoStatus.INDEXED,
            content_hash=analysis.content_hash,
            metadata=m,
            pipeline=analysis.pipeline_id,
        )
        if m.taken_at is None:
            # A web upload without a date of its own: the date its file had when it was sent.
            self._db.execute(
                "UPDATE photos SET taken_at = (SELECT u.sent_modified FROM upload_names u"
                " WHERE u.path = photos.path) WHERE id = ?",
                (photo_id,),
            )
        if not analysis.is_video:
            self._faces.replace(photo_id, analysis.faces, verdicts, fresh=not had_faces)
            return photo_id
        # A video analysed again: an appearance on screen when a stored one was is that face
        # (what the owner decided about it stays); the others are new.
        spans = [(a.start, a.end) for a in analysis.appearances]
        matched = match_spans(self._appearances.spans(photo_id), spans)
        ids = self._faces.replace(photo_id, analysis.faces, verdicts, matched)
        self._appearances.replace(photo_id, list(zip(ids, analysis.appearances, strict=True)))
        return photo_id

    def store_failure(self, failure: PhotoFailure, run_id: int) -> int:
        photo_id, _had_faces = self._upsert(
            failure.fingerprint,
            run_id,
            status=PhotoStatus.ERROR,
            content_hash=failure.content_hash,
            metadata=None,
            pipeline=None,
            error=(failure.code, failure.message, failure.web_message),
        )
        self._faces.delete_of_photo(photo_id)
        return photo_id

    def move(self, photo_id: int, fingerprint: FileFingerprint) -> None:
        """The file was renamed or moved: keep the photo (and its faces), change its path."""
        path = path_arg(fingerprint.path)
        self._db.execute(
            f"DELETE FROM photos WHERE path = {PATH_MARK} AND id != ?", (path, photo_id)
        )
        self._db.execute(
            f"UPDATE photos SET path = {PATH_MARK}, size_bytes = ?, mtime_ns = ? WHERE id = ?",
            (path, fingerprint.size_bytes, fingerprint.mtime_ns, photo_id),
        )

    def touch(self, photo_id: int, fingerprint: FileFingerprint) -> None:
        """Same bytes, new timestamp: nothing to analyse again."""
        self._db.execute(
            "UPDATE photos SET size_bytes = ?, mtime_ns = ? WHERE id = ?",
            (fingerprint.size_bytes, fingerprint.mtime_ns, photo_id),
        )

    def copy(self, source_id: int, fingerprint: FileFingerprint, run_id: int) -> int:
        """A second copy of an indexed file: reuse its analysis instead of running the models."""
        src = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (source_id,)
        ).fetchone()
        photo = _photo_from_row(src)
        photo_id, _had_faces = self._upsert(
            fingerprint,
            run_id,
            status=PhotoStatus.INDEXED,
            content_hash=photo.content_hash,
            metadata=photo.metadata,
            pipeline=photo.pipeline_id,
        )
        self._faces.copy(source_id, photo_id)
        self._appearances.copy(source_id, photo_id)
        return photo_id

    def delete(self, photo_ids: Iterable[int]) -> int:
        ids = list(photo_ids)
        self._faces.touch(self._faces.ids_of_photos(ids))
        for chunk in chunks(ids):
            self._db.execute(f"DELETE FROM photos WHERE id IN ({marks(chunk)})", chunk)
        return len(ids)

    def _upsert(
        self,
        fp: FileFingerprint,
        run_id: int,
        *,
        status: PhotoStatus,
        content_hash: str | None,
        metadata: PhotoMetadata | None,
        pipeline: str | None,
        error: tuple[str, str, str | None] | None = None,
    ) -> tuple[int, bool]:
        """The photo's row written: its id, and whether it has faces stored already (a new
        photo has none: nothing to match its faces with, one question fewer to the database)."""
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
            # A file that could not be read is a video or a photo by its name's ending.
            "media": m.media if m else ("video" if is_video(fp.path) else "photo"),
            "duration": m.duration if m else None,
            "run_id": run_id or None,
            "indexed_at": utc_now(),
        }
        values["path"] = path_arg(fp.path)
        cols = ", ".join(values)
        marks = ", ".join(PATH_MARK if c == "path" else "?" for c in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "path")
        row = self._db.execute(
            f"INSERT INTO photos ({cols}) VALUES ({marks})"
            f" ON CONFLICT(path) DO UPDATE SET {updates} RETURNING id,"
            " EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = photos.id)",
            tuple(values.values()),
        ).fetchone()
        return int(row[0]), bool(row[1])

    # --- reading -------------------------------------------------------------------------------

    def get(self, photo_id: int) -> Photo | None:
        row = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        return _photo_from_row(row) if row else None

    def by_path(self, path: str) -> Photo | None:
        row = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = {PATH_MARK}", (path_arg(path),)
        ).fetchone()
        return _photo_from_row(row) if row else None

    def all(self) -> list[Photo]:
        rows = self._db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos ORDER BY path")
        return [_photo_from_row(r) for r in rows]

    def summaries(self, with_faces: bool = False) -> list[dict[str, Any]]:
        """Every photo with its face counts, in path order."""
        rows = self._db.execute(
            "SELECT p.id, p.path, p.status, p.taken_at, p.width, p.height, p.media, p.duration,"
            " COUNT(f.id) AS faces,"
            " COALESCE(SUM(CASE WHEN f.low_quality = 0 THEN 1 ELSE 0 END), 0) AS good_faces"
            " FROM photos p LEFT JOIN faces f ON f.photo_id = p.id AND f.not_a_person = 0"
            f" WHERE {not_trashed('p.id')} GROUP BY p.id"
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
        where = ["p.status = 'indexed'", not_trashed("p.id")]
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
        if with_faces:
            where.append(
                "EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = p.id AND f.not_a_person = 0)"
            )
        # The page is chosen on the photos alone, then its faces counted: counting every
        # photo's faces to show 100 of them took 4 s a page at 250,000 photos.
        order = "p.taken_at IS NULL, p.taken_at DESC, p.path"
        chosen = f"FROM photos p WHERE {' AND '.join(where)}"
        total = int(self._db.execute(f"SELECT COUNT(*) {chosen}", args).fetchone()[0])
        rows = self._db.execute(
            "SELECT p.id, p.path, u.name AS upload_name, p.taken_at, p.width, p.height,"
            " p.media, p.duration,"
            " (SELECT COUNT(*) FROM faces f WHERE f.photo_id = p.id AND f.not_a_person = 0)"
            " AS faces,"
            " (SELECT COUNT(f.person_id) FROM faces f"
            " WHERE f.photo_id = p.id AND f.not_a_person = 0) AS faces_in_people"
            f" FROM (SELECT p.id {chosen} ORDER BY {order} LIMIT ? OFFSET ?) AS page"
            " JOIN photos p ON p.id = page.id LEFT JOIN upload_names u ON u.path = p.path"
            f" ORDER BY {order}",
            (*args, limit, offset),
        )
        return total, [dict(r) for r in rows]

    def years(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT substr(taken_at, 1, 4) AS year, COUNT(*) AS photos FROM photos"
            f" WHERE status = 'indexed' AND taken_at IS NOT NULL AND {not_trashed('photos.id')}"
            " GROUP BY year ORDER BY year DESC"
        )
        return [dict(r) for r in rows]

    def undated_count(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM photos WHERE status = 'indexed' AND taken_at IS NULL"
            f" AND {not_trashed('photos.id')}"
        ).fetchone()
        return int(row[0])

    def folders(self) -> list[tuple[str, int]]:
        """The folders indexed photos are in, with how many each holds directly."""
        # rtrim(path, <every character of path but the separator>) leaves its folder and the
        # separator after it.
        rows = self._db.execute(
            "SELECT rtrim(path, replace(path, ?, '')) AS folder, COUNT(*) FROM photos"
            f" WHERE status = 'indexed' AND {not_trashed('photos.id')}"
            " GROUP BY folder ORDER BY folder",
            (os.sep,),
        )
        return [(str(r[0]).rstrip(os.sep) or os.sep, int(r[1])) for r in rows]

    # --- names uploads were sent with -------------------------------------------------------

    def add_upload_name(self, path: str, name: str, sent_modified: str | None = None) -> None:
        """The name the file kept at `path` had when it was sent (the first sender's), and
        the date the file had then (ISO 8601), the photo's date if it has none of its own."""
        self._db.execute(
            "INSERT INTO upload_names (path, name, added_at, sent_modified)"
            f" VALUES ({PATH_MARK}, ?, ?, ?) ON CONFLICT(path) DO NOTHING",
            (path_arg(path), name, utc_now(), sent_modified),
        )

    def upload_name(self, path: str) -> str | None:
        row = self._db.execute(
            f"SELECT name FROM upload_names WHERE path = {PATH_MARK}", (path_arg(path),)
        ).fetchone()
        return str(row[0]) if row else None

    def facts(self, photo_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Path, upload name, width and height of these photos, for search results."""
        facts: dict[int, dict[str, Any]] = {}
        for chunk in chunks(photo_ids):
            rows = self._db.execute(
                "SELECT p.id, p.path, u.name AS upload_name, p.width, p.height, p.media,"
                " p.duration FROM photos p"
                " LEFT JOIN upload_names u ON u.path = p.path"
                f" WHERE p.id IN ({marks(chunk)})",
                chunk,
            )
            facts.update({int(r["id"]): dict(r) for r in rows})
        return facts

    def content_hashes(self) -> set[str]:
        rows = self._db.execute("SELECT content_hash FROM photos WHERE content_hash IS NOT NULL")
        return {str(r[0]) for r in rows}

    def failed(self) -> list[Photo]:
        rows = self._db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE status = 'error' ORDER BY path"
        )
        return [_photo_from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        # What is in the trash is not counted (its vectors are: they are still stored).
        live, live_face = not_trashed("photos.id"), not_trashed("faces.photo_id")
        one = self._db.execute(
            "SELECT"
            f" (SELECT COUNT(*) FROM photos WHERE {live}) AS photos,"
            f" (SELECT COUNT(*) FROM photos WHERE status = 'indexed' AND {live}) AS indexed,"
            f" (SELECT COUNT(*) FROM photos WHERE status = 'error' AND {live}) AS errors,"
            f" (SELECT COUNT(DISTINCT photo_id) FROM faces WHERE {live_face})"
            " AS photos_with_faces,"
            f" (SELECT COUNT(*) FROM faces WHERE {live_face}) AS faces,"
            f" (SELECT COUNT(*) FROM faces WHERE low_quality = 1 AND {live_face})"
            " AS low_quality_faces,"
            " (SELECT COUNT(*) FROM embeddings) AS embeddings"
        ).fetchone()
        return {k: int(one[k]) for k in one.keys()}  # noqa: SIM118 (sqlite3.Row)


def _known(r: sqlite3.Row) -> KnownFile:
    return KnownFile(
        r["id"],
        r["path"],
        r["size_bytes"],
        r["mtime_ns"],
        PhotoStatus(r["status"]),
        r["pipeline"],
        r["content_hash"],
    )


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
            media=r["media"],
            duration=r["duration"],
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
