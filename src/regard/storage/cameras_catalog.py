"""Cameras, their events and the unknown faces' crops: rows of the catalog.

Writes go inside `Catalog.transaction()`. Paths of snapshots and crops are stored relative to
the library folder, so a library moved elsewhere keeps them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from regard.domain.cameras import Camera, Mask
from regard.domain.events import CameraEvent, EventKind
from regard.storage.sql import Connection

_CAMERA_COLUMNS = (
    "name, source, alerts, night_only, public_space, masks, retention_days, enabled, transport,"
    " detect_fps, clips, pre_roll"
)
_EVENT_COLUMNS = (
    "id, camera, kind, label, who, start_time, end_time, last_seen, live, score, snapshot,"
    " clip, box, alert, state, recorded_at"
)


class SqliteCameras:
    def __init__(self, db: Connection) -> None:
        self._db = db

    # --- cameras -------------------------------------------------------------------------------

    def add(self, camera: Camera, at: float) -> None:
        self._db.execute(
            f"INSERT INTO cameras ({_CAMERA_COLUMNS}, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (*_camera_values(camera), at),
        )

    def save(self, camera: Camera) -> None:
        values = _camera_values(camera)
        self._db.execute(
            "UPDATE cameras SET source = ?, alerts = ?, night_only = ?, public_space = ?,"
            " masks = ?, retention_days = ?, enabled = ?, transport = ?, detect_fps = ?,"
            " clips = ?, pre_roll = ? WHERE name = ?",
            (*values[1:], values[0]),
        )

    def get(self, name: str) -> Camera | None:
        row = self._db.execute(
            f"SELECT {_CAMERA_COLUMNS} FROM cameras WHERE name = ?", (name,)
        ).fetchone()
        return _camera(row) if row else None

    def all(self) -> list[Camera]:
        rows = self._db.execute(f"SELECT {_CAMERA_COLUMNS} FROM cameras ORDER BY name")
        return [_camera(r) for r in rows]

    def remove(self, name: str) -> None:
        self._db.execute("DELETE FROM cameras WHERE name = ?", (name,))

    # --- events --------------------------------------------------------------------------------

    def save_event(
        self, event: CameraEvent, *, last_seen: float, alert: bool, recorded_at: float
    ) -> None:
        """Insert or replace the event as it is now (open while `event.end` is None)."""
        self._db.execute(
            f"INSERT OR REPLACE INTO camera_events ({_EVENT_COLUMNS})"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                event.id,
                event.camera,
                event.kind.value,
                event.label,
                event.who,
                event.start,
                event.end,
                last_seen,
                int(event.live),
                event.score,
                None if event.snapshot is None else str(event.snapshot),
                None if event.clip is None else str(event.clip),
                None if event.box is None else json.dumps(list(event.box)),
                int(alert),
                "open" if event.end is None else "ended",
                recorded_at,
            ),
        )

    def close_open_events(self, camera: str | None = None) -> list[str]:
        """End every event still open (its watcher died) where it was last seen."""
        where, args = ("state = 'open'", ()) if camera is None else (
            "state = 'open' AND camera = ?", (camera,)
        )  # fmt: skip
        ids = [
            str(r[0]) for r in self._db.execute(f"SELECT id FROM camera_events WHERE {where}", args)
        ]
        self._db.execute(
            f"UPDATE camera_events SET end_time = last_seen, state = 'ended' WHERE {where}", args
        )
        return ids

    def events(
        self, *, since: float | None = None, camera: str | None = None, limit: int | None = None
    ) -> list[tuple[CameraEvent, bool, float]]:
        """(event, was it an alert, recorded at), newest first."""
        clauses: list[str] = []
        args: list[object] = []
        if since is not None:
            clauses.append("recorded_at >= ?")
            args.append(since)
        if camera is not None:
            clauses.append("camera = ?")
            args.append(camera)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM camera_events {where}"
            f" ORDER BY recorded_at DESC, start_time DESC{tail}",
            args,
        )
        return [(_event(r), bool(r["alert"]), float(r["recorded_at"])) for r in rows]

    def event(self, event_id: str) -> CameraEvent | None:
        row = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM camera_events WHERE id = ?", (event_id,)
        ).fetchone()
        return _event(row) if row else None

    def event_cameras(self) -> list[str]:
        """The names of the cameras that have events (removed cameras' too)."""
        return [str(r[0]) for r in self._db.execute("SELECT DISTINCT camera FROM camera_events")]

    def expired_events(self, camera: str, before: float) -> list[CameraEvent]:
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM camera_events WHERE camera = ? AND recorded_at < ?"
            " AND state = 'ended'",
            (camera, before),
        )
        return [_event(r) for r in rows]

    def set_clip(self, event_id: str, clip: Path, recorded_at: float) -> bool:
        """The event's clip is written (it is news again: the web app's list follows
        `recorded_at`); False if the event is gone (retention, erasure) meanwhile."""
        done = self._db.execute(
            "UPDATE camera_events SET clip = ?, recorded_at = ? WHERE id = ?",
            (str(clip), recorded_at, event_id),
        )
        return done.rowcount > 0

    def naming(self, names: list[str]) -> list[CameraEvent]:
        """The events whose `who` is one of `names`."""
        out: list[CameraEvent] = []
        for name in names:
            rows = self._db.execute(
                f"SELECT {_EVENT_COLUMNS} FROM camera_events WHERE who = ?", (name,)
            )
            out += [_event(r) for r in rows]
        return out

    def forget_who(self, event_id: str, recorded_at: float) -> None:
        """The event no longer names anyone, and its pictures are gone (the person named
        withdrew their `camera` consent or was erased)."""
        self._db.execute(
            "UPDATE camera_events SET who = NULL, snapshot = NULL, clip = NULL,"
            " recorded_at = ? WHERE id = ?",
            (recorded_at, event_id),
        )

    def last_people(self) -> dict[str, str]:
        """Each camera's last person event's `who` that names someone (or `unknown`)."""
        rows = self._db.execute(
            "SELECT camera, who FROM camera_events WHERE kind = 'person' AND who IS NOT NULL"
            " ORDER BY recorded_at"
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def delete_events(self, ids: list[str]) -> None:
        for event_id in ids:
            self._db.execute("DELETE FROM camera_events WHERE id = ?", (event_id,))

    # --- unknown faces -------------------------------------------------------------------------

    def add_unknown_face(self, event_id: str, path: Path, expires_at: float) -> None:
        self._db.execute(
            "INSERT INTO unknown_faces (event_id, path, expires_at) VALUES (?, ?, ?)",
            (event_id, str(path), expires_at),
        )

    def unknown_faces(
        self, *, expired_by: float | None = None
    ) -> list[tuple[int, str, str, float]]:
        """(id, event id, path, expires at), oldest first; only those expired by a time."""
        where, args = ("WHERE expires_at <= ?", (expired_by,)) if expired_by is not None else (
            "", ()
        )  # fmt: skip
        rows = self._db.execute(
            f"SELECT id, event_id, path, expires_at FROM unknown_faces {where} ORDER BY id", args
        )
        return [(int(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows]

    def unknown_face_paths(self, event_ids: list[str]) -> list[str]:
        out: list[str] = []
        for event_id in event_ids:
            out += [
                str(r[0])
                for r in self._db.execute(
                    "SELECT path FROM unknown_faces WHERE event_id = ?", (event_id,)
                )
            ]
        return out

    def delete_unknown_face(self, face_id: int) -> None:
        self._db.execute("DELETE FROM unknown_faces WHERE id = ?", (face_id,))


def _camera_values(c: Camera) -> tuple[object, ...]:
    return (
        c.name,
        c.source,
        ",".join(c.alerts),
        ",".join(c.night_only),
        int(c.public_space),
        json.dumps([[list(p) for p in m.points] for m in c.masks]),
        c.retention_days,
        int(c.enabled),
        c.transport,
        c.detect_fps,
        int(c.clips),
        c.pre_roll,
    )


def _camera(r: sqlite3.Row) -> Camera:
    return Camera(
        name=r["name"],
        source=r["source"],
        alerts=tuple(a for a in r["alerts"].split(",") if a),
        night_only=tuple(a for a in r["night_only"].split(",") if a),
        public_space=bool(r["public_space"]),
        masks=tuple(
            Mask(tuple((int(x), int(y)) for x, y in points)) for points in json.loads(r["masks"])
        ),
        retention_days=int(r["retention_days"]),
        enabled=bool(r["enabled"]),
        transport=r["transport"],
        detect_fps=float(r["detect_fps"]),
        clips=bool(r["clips"]),
        pre_roll=float(r["pre_roll"]),
    )


def _event(r: sqlite3.Row) -> CameraEvent:
    box = json.loads(r["box"]) if r["box"] else None
    return CameraEvent(
        id=r["id"],
        camera=r["camera"],
        kind=EventKind(r["kind"]),
        label=r["label"],
        start=float(r["start_time"]),
        end=None if r["end_time"] is None else float(r["end_time"]),
        who=r["who"],
        live=bool(r["live"]),
        score=float(r["score"]),
        snapshot=Path(r["snapshot"]) if r["snapshot"] else None,
        clip=Path(r["clip"]) if r["clip"] else None,
        box=None if box is None else (int(box[0]), int(box[1]), int(box[2]), int(box[3])),
    )
