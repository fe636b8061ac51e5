"""A small synthetic library for recaps, written straight into a catalog (no photo decoded, no
model run): three years of a household in Lyon with events at home and trips away, photos
without GPS or without a date, videos with appearances, named and unnamed people, faces in
no person, low-quality faces, near-duplicate looks and photos with no look kept. Seeded: the
same library every time, so its recaps can be pinned (`tests/data/recaps_pinned.json`)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from regard.engine import Engine

HOME = (45.7640, 4.8357)
AWAY = [(43.2965, 5.3698), (41.9028, 12.4964), (46.2044, 6.1432)]
PEOPLE = 12  # the first 8 named
PINNED = Path(__file__).resolve().parents[2] / "data" / "recaps_pinned.json"


def build(engine: Engine, photos: int = 2400, seed: int = 14) -> None:
    rng = random.Random(seed)
    rows: list[tuple[object, ...]] = []
    faces: list[tuple[object, ...]] = []
    looks: list[tuple[object, ...]] = []
    next_id = 1
    day = datetime(2023, 5, 20, 9)

    def event(start: datetime, n: int, where: tuple[float, float]) -> None:
        nonlocal next_id
        pace = rng.choice([3, 20, 60, 200])
        family = rng.sample(range(1, PEOPLE + 1), rng.randint(1, 5))
        t = start
        last_hash = rng.getrandbits(63)
        for _ in range(n):
            pid = next_id
            next_id += 1
            video = rng.random() < 0.05
            located = rng.random() > 0.25
            dated = rng.random() > 0.02
            rows.append(
                (
                    pid,
                    f"/synthetic/{pid:05d}.{'mp4' if video else 'jpg'}",
                    f"h{pid}",
                    t.isoformat(timespec="seconds") if dated else None,
                    where[0] + rng.gauss(0, 0.01) if located else None,
                    where[1] + rng.gauss(0, 0.01) if located else None,
                    "video" if video else "photo",
                    rng.choice([8.0, 30.0]) if video else None,
                    rng.choice([4032, 640]),
                    rng.choice([3024, 480]),
                    rng.choice(["Canon", "Apple", None]),
                )
            )
            for k in range(rng.choice([0, 0, 1, 1, 2, 3])):
                person = rng.choice(family) if rng.random() > 0.1 else None
                faces.append(
                    (
                        pid,
                        k,
                        50.0 + 300 * k,
                        120.0,
                        160.0,
                        170.0,
                        round(rng.uniform(0.1, 1.0), 3),
                        int(rng.random() < 0.15),
                        person,
                    )
                )
            if not video and rng.random() > 0.1:  # some photos have no look kept
                # A burst: the next photo's hash a few bits from this one's.
                h = (
                    last_hash ^ (1 << rng.randrange(63))
                    if rng.random() < 0.2
                    else rng.getrandbits(63)
                )
                last_hash = h
                looks.append((pid, f"h{pid}", h, rng.random(), rng.random()))
            t += timedelta(seconds=pace * rng.uniform(0.3, 1.7))

    while next_id <= photos:
        day += timedelta(days=rng.randint(3, 15))
        if rng.random() < 0.1:
            where = rng.choice(AWAY)
            for d in range(rng.randint(2, 6)):
                for e in range(rng.randint(1, 3)):
                    at = day + timedelta(days=d, hours=4 * e, minutes=rng.randint(0, 40))
                    event(at, rng.randint(4, 25), where)
            day += timedelta(days=8)
        else:
            event(day + timedelta(hours=rng.randint(0, 9)), rng.randint(3, 40), HOME)
    for year in (2024, 2025):  # on this day (1 June) in two past years
        event(datetime(year, 6, 1, 11), 9, HOME)
    _write(engine, rows, faces, looks)


def _write(
    engine: Engine,
    rows: list[tuple[object, ...]],
    faces: list[tuple[object, ...]],
    looks: list[tuple[object, ...]],
) -> None:
    db = engine.catalog._db  # type: ignore[attr-defined]
    now = "2026-01-01T00:00:00"
    with engine.catalog.transaction():
        for n in range(1, PEOPLE + 1):
            name = f"Person {n}" if n <= 8 else None
            db.execute(
                "INSERT INTO people (id, name, name_key, confirmed, created_at, updated_at)"
                " VALUES (?, ?, ?, 1, ?, ?)",
                (n, name, name.lower() if name else None, now, now),
            )
        db.executemany(
            "INSERT INTO photos (id, path, content_hash, size_bytes, mtime_ns, status, format,"
            " taken_at, gps_lat, gps_lon, media, duration, width, height, camera_make,"
            " orientation, indexed_at) VALUES (?, ?, ?, 1000, 0, 'indexed', 'JPEG', ?, ?, ?,"
            " ?, ?, ?, ?, ?, 1, '" + now + "')",
            rows,
        )
        db.executemany(
            "INSERT INTO faces (photo_id, ordinal, x, y, w, h, landmarks, det_score, size_px,"
            " sharpness, frontalness, quality, low_quality, person_id, assigned_by, grouped)"
            " VALUES (?, ?, ?, ?, ?, ?, '[]', 0.9, 160, 0.5, 0.9, ?, ?, ?, 'auto', 1)",
            faces,
        )
        video_faces = db.execute(
            "SELECT f.id, f.photo_id, f.ordinal FROM faces f JOIN photos p ON p.id = f.photo_id"
            " WHERE p.media = 'video'"
        ).fetchall()
        db.executemany(
            "INSERT INTO appearances (face_id, photo_id, start_time, end_time, best_time, path,"
            " frames) VALUES (?, ?, ?, ?, ?, '[]', '[]')",
            [(r[0], r[1], 1.0 * r[2], 4.0 + r[2], 2.0 + r[2]) for r in video_faces],
        )
        db.executemany(
            "INSERT INTO photo_looks (photo_id, content_hash, dhash, sharpness, exposure)"
            " VALUES (?, ?, ?, ?, ?)",
            looks,
        )


def summary(found: Any) -> list[dict[str, Any]]:
    """A listing as plain data: every field of every recap and of every photo chosen."""
    return list(json.loads(json.dumps(found.as_dict()["recaps"])))


def pinned_form(recaps: list[dict[str, Any]]) -> dict[str, Any]:
    """A listing as pinned: a digest of all of it, and the gist to read when it differs
    (each recap's fields but its photos, and each photo as id, moment, score and which of
    its faces are blurred)."""
    whole = json.dumps(recaps, sort_keys=True, separators=(",", ":"))
    return {
        "sha256": hashlib.sha256(whole.encode()).hexdigest(),
        "recaps": [
            {
                **{k: v for k, v in r.items() if k != "photos"},
                "photos": [
                    f"{p['photo_id']}:{p['start']}:{p['score']}:"
                    + "".join("b" if f["blur"] else "s" for f in p["faces"])
                    for p in r["photos"]
                ],
            }
            for r in recaps
        ],
    }
