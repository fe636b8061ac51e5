"""Recaps at 100,000 photos: how long finding every recap (and choosing each one's photos)
takes, against the 5 s aimed for — and, the other side, whether what it finds is what is
there: the events and trips planted in the synthetic library, found or missed, and the
trips' places named right.

    .venv/bin/python bench/recaps.py                  # 100,000 photos
    .venv/bin/python bench/recaps.py --photos 20000   # a quicker look

The library is synthetic, its rows written straight into a new library's catalog (no photo
is decoded, no model runs): ten years of a family living in Lyon, events of 6 to 300 photos
shot at their own pace (every 5 s to every 4 min), 2 to 5 a month at home, and trips of 2 to
9 days to towns 150 km or more away, three or four events a day there. A fifth of the
photos have no GPS (they join by time); 3 % are videos with appearances; 30 people, 20
named, 0 to 4 faces a photo. Each photo has its small look already kept (as after a first
listing), so what is timed is finding and choosing, not decoding. Timed: the first listing
of every recap in a process (it loads the place names' data, once per process), the listing
again with the catalog unchanged (kept from the first), the listing after a change to the
catalog (all worked out again, as after a photo added or a consent changed), and today's
recaps after a change and unchanged.

The other side: what is found against what was planted (events, trips, their places), and
the listing itself against the one the code before recaps were worked out on columns made
of this library (its digest in bench/recaps_listing.json, for the sizes there): a faster
listing must be the same listing, recap for recap and photo for photo.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from regard.domain.recaps import TRIP_KM, km_between  # noqa: E402
from regard.engine import Engine, EngineConfig  # noqa: E402
from regard.testing import FakeModels  # noqa: E402

TARGET_S = 5.0
HOME = (45.7640, 4.8357, "Lyon")
AWAY = [
    (43.2965, 5.3698, "Marseille"),
    (41.9028, 12.4964, "Rome"),
    (41.3874, 2.1686, "Barcelona"),
    (51.5072, -0.1276, "London"),
    (48.8566, 2.3522, "Paris"),
    (45.4408, 12.3155, "Venice"),
    (38.7223, -9.1393, "Lisbon"),
    (46.2044, 6.1432, "Genève"),  # GeoNames names towns in their own language
    (52.3676, 4.9041, "Amsterdam"),
    (40.4168, -3.7038, "Madrid"),
]
TODAY = date(2026, 6, 1)
#: sha256 of every recap's listing (`as_dict`, keys sorted) by library size, as the code
#: before recaps were worked out on columns made of the catalog's rows listed them.
LISTED = REPO / "bench" / "recaps_listing.json"


class Planted:
    def __init__(self) -> None:
        self.events: list[set[int]] = []  # photo ids of each event at home
        self.trips: list[tuple[set[int], str]] = []  # photo ids of each trip, its town


def build(engine: Engine, photos: int, seed: int = 7) -> Planted:
    rng = random.Random(seed)
    planted = Planted()
    rows: list[tuple[object, ...]] = []
    faces: list[tuple[object, ...]] = []
    looks: list[tuple[object, ...]] = []
    people = list(range(1, 31))
    next_id = [1]

    def event(start: datetime, n: int, where: tuple[float, float] | None) -> set[int]:
        pace = rng.choice([5, 15, 30, 60, 120, 240])  # seconds between photos
        t = start
        ids = set()
        family = rng.sample(people, rng.randint(2, 8))
        for _ in range(n):
            pid = next_id[0]
            next_id[0] += 1
            ids.add(pid)
            video = rng.random() < 0.03
            located = where is not None and rng.random() > 0.2
            lat = where[0] + rng.gauss(0, 0.01) if located and where else None
            lon = where[1] + rng.gauss(0, 0.01) if located and where else None
            rows.append(
                (
                    pid,
                    f"/synthetic/{t.year}/{pid:06d}.{'mp4' if video else 'jpg'}",
                    f"h{pid}",
                    t.isoformat(timespec="seconds"),
                    lat,
                    lon,
                    "video" if video else "photo",
                    30.0 if video else None,
                )
            )
            for k in range(rng.choice([0, 0, 1, 1, 2, 2, 3, 4])):
                person = rng.choice(family)
                faces.append(
                    (
                        pid,
                        k,
                        100.0 + 300 * k,
                        200.0,
                        180.0,
                        180.0,
                        round(rng.uniform(0.2, 1.0), 3),
                        int(rng.random() < 0.15),
                        person,
                        video,
                    )
                )
            looks.append((pid, f"h{pid}", rng.getrandbits(63), rng.random(), rng.random()))
            t += timedelta(seconds=pace * rng.uniform(0.3, 1.7))
        return ids

    day = datetime(2016, 1, 1, 9)
    per_event = max(6, photos // 1150)
    while next_id[0] <= photos:
        day += timedelta(days=rng.randint(4, 12))
        if rng.random() < 0.08:  # a trip
            lat, lon, town = rng.choice(AWAY)
            trip: set[int] = set()
            for d in range(rng.randint(2, 9)):
                start = day + timedelta(days=d)
                for e in range(rng.randint(3, 4)):
                    at = start + timedelta(hours=3.5 * e, minutes=rng.randint(0, 30))
                    trip |= event(at, rng.randint(6, per_event), (lat, lon))
            planted.trips.append((trip, town))
            day += timedelta(days=10)
        else:
            at = day + timedelta(hours=rng.randint(0, 8))
            planted.events.append(event(at, rng.randint(6, per_event * 2), (HOME[0], HOME[1])))
    _write(engine, rows, faces, looks)
    return planted


def _write(engine: Engine, rows, faces, looks) -> None:  # type: ignore[no-untyped-def]
    db = engine.catalog._db  # type: ignore[attr-defined]
    now = datetime.now().isoformat()
    with engine.catalog.transaction():
        for n in range(1, 31):
            db.execute(
                "INSERT INTO people (id, name, name_key, confirmed, created_at, updated_at)"
                " VALUES (?, ?, ?, 1, ?, ?)",
                (
                    n,
                    f"Person {n}" if n <= 20 else None,
                    f"person {n}" if n <= 20 else None,
                    now,
                    now,
                ),
            )
        db.executemany(
            "INSERT INTO photos (id, path, content_hash, size_bytes, mtime_ns, status, format,"
            " width, height, orientation, taken_at, gps_lat, gps_lon, media, duration,"
            " indexed_at) VALUES (?, ?, ?, 1000, 0, 'indexed', 'JPEG', 4032, 3024, 1, ?, ?, ?,"
            " ?, ?, '" + now + "')",
            rows,
        )
        db.executemany(
            "INSERT INTO faces (photo_id, ordinal, x, y, w, h, landmarks, det_score, size_px,"
            " sharpness, frontalness, quality, low_quality, person_id, assigned_by, grouped)"
            " VALUES (?, ?, ?, ?, ?, ?, '[]', 0.9, 180, 0.5, 0.9, ?, ?, ?, 'auto', 1)",
            [f[:9] for f in faces],
        )
        video_faces = db.execute(
            "SELECT f.id, f.photo_id FROM faces f JOIN photos p ON p.id = f.photo_id"
            " WHERE p.media = 'video'"
        ).fetchall()
        db.executemany(
            "INSERT INTO appearances (face_id, photo_id, start_time, end_time, best_time, path,"
            " frames) VALUES (?, ?, 2.0, 12.0, 6.0, '[]', '[]')",
            [(r[0], r[1]) for r in video_faces],
        )
        db.executemany(
            "INSERT INTO photo_looks (photo_id, content_hash, dhash, sharpness, exposure)"
            " VALUES (?, ?, ?, ?, ?)",
            looks,
        )


def score(found: list[set[int]], planted: list[set[int]]) -> tuple[int, int]:
    """(found that match a planted one, planted that some found one matches): a match shares
    at least 90 % of its photos both ways."""

    def match(a: set[int], b: set[int]) -> bool:
        both = len(a & b)
        return both >= 0.9 * len(a) and both >= 0.9 * len(b)

    by_photo = {pid: n for n, p in enumerate(planted) for pid in p}
    hits = set()
    right = 0
    for f in found:
        votes = Counter(by_photo[p] for p in f if p in by_photo)
        if votes:
            n = votes.most_common(1)[0][0]
            if match(f, planted[n]):
                right += 1
                hits.add(n)
    return right, len(hits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(
            Path(tmp) / "lib", create=True, models=FakeModels(), config=EngineConfig(workers=0)
        )
        t = time.perf_counter()
        planted = build(engine, args.photos)
        built = time.perf_counter() - t
        total = engine.catalog._db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]  # type: ignore[attr-defined]
        print(f"synthetic library: {total:,} photos written in {built:.1f} s")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        def timed(kind: str):  # type: ignore[no-untyped-def]
            t, c = time.perf_counter(), time.process_time()
            found = engine.recaps.listing(kind, today=TODAY)
            return found, time.perf_counter() - t, time.process_time() - c

        def change() -> None:
            """A change to the catalog (a recap hidden and shown again): what was worked out
            is worked out again."""
            first = every.recaps[0].id
            engine.recaps.hide(first)
            engine.recaps.hide(first, False)

        every, cold, cold_cpu = timed("all")
        again, warm, warm_cpu = timed("all")
        assert again.as_dict() == every.as_dict()
        change()
        after, anew, anew_cpu = timed("all")
        assert after.as_dict() == every.as_dict()
        change()
        today, quick, quick_cpu = timed("today")
        _, quick_kept, quick_kept_cpu = timed("today")
        kinds = Counter(r.kind for r in every.recaps)
        digest = hashlib.sha256(json.dumps(every.as_dict(), sort_keys=True).encode()).hexdigest()
        before = json.loads(LISTED.read_text()).get(str(args.photos))
        if before is None:
            print(f"listing: sha256 {digest} (none kept for {args.photos:,} photos to compare)")
        else:
            same = "the same as" if digest == before else "NOT the same as"
            print(f"listing: {same} the earlier code's (sha256 {digest[:16]}...)")
        print(f"recaps found: {len(every.recaps):,} ({dict(sorted(kinds.items()))})")

        def verdict(s: float) -> str:
            return f"{TARGET_S / s:.1f}x under" if s < TARGET_S else f"{s / TARGET_S:.1f}x over"

        print(
            f"every recap, photos chosen: first in a process {cold:.2f} s wall, {cold_cpu:.2f} s "
            f"CPU (with loading the place names): CPU {verdict(cold_cpu)}; after a change to "
            f"the catalog {anew:.2f} s wall, {anew_cpu:.2f} s CPU: CPU {verdict(anew_cpu)}; "
            f"unchanged (kept) {warm:.3f} s wall, {warm_cpu:.3f} s CPU"
        )
        print(
            f"today's recaps ({len(today.recaps)}): after a change {quick:.2f} s wall, "
            f"{quick_cpu:.2f} s CPU: CPU {verdict(quick_cpu)}; unchanged {quick_kept:.3f} s "
            f"wall, {quick_kept_cpu:.3f} s CPU"
        )

        shots_of = _shots_by_recap(engine, every)
        found_events = [shots_of[r.id] for r in every.recaps if r.kind == "event"]
        found_trips = [r for r in every.recaps if r.kind == "trip"]
        right, hit = score(found_events, planted.events)
        print(
            f"events at home: planted {len(planted.events)}, found {len(found_events)}; "
            f"precision {right / max(1, len(found_events)):.3f}, "
            f"recall {hit / max(1, len(planted.events)):.3f}"
        )
        if os.environ.get("BENCH_VERBOSE"):
            for r in found_trips:
                print(f"  found {r.id} {r.start}..{r.end} {r.place} {len(shots_of[r.id])}")
            for p, town in planted.trips:
                print(f"  planted {town} {len(p)} photos, ids {min(p)}..{max(p)}")
        right_t, hit_t = score([shots_of[r.id] for r in found_trips], [p for p, _ in planted.trips])
        named = 0
        for r in found_trips:
            best = max(
                planted.trips,
                key=lambda p: len(p[0] & shots_of[r.id]),
            )
            right_place = bool(r.place and r.place.split(",")[0] == best[1])
            named += right_place
            if not right_place and os.environ.get("BENCH_VERBOSE"):
                print(f"  {r.id}: named {r.place!r}, planted in {best[1]}")
        print(
            f"trips: planted {len(planted.trips)}, found {len(found_trips)}; precision "
            f"{right_t / max(1, len(found_trips)):.3f}, recall "
            f"{hit_t / max(1, len(planted.trips)):.3f}; place named right "
            f"{named}/{len(found_trips)}"
        )
        far = all(km_between((HOME[0], HOME[1]), (a[0], a[1])) > TRIP_KM for a in AWAY)
        assert far
        engine.close()


def _shots_by_recap(engine: Engine, found) -> dict[str, set[int]]:  # type: ignore[no-untyped-def]
    """Every photo each recap was chosen from (not only those shown)."""
    drafts, _, lib, _ = engine.recaps._drafts(TODAY)
    ids = {r.id for r in found.recaps}
    return {d.id: set(lib.cols.ids[d.rows].tolist()) for d in drafts if d.id in ids}


if __name__ == "__main__":
    main()
