"""The catalog on PostgreSQL against SQLite, in the same run, on synthetic faces.

    .venv/bin/python bench/postgres.py                  # 1,000,000 faces
    .venv/bin/python bench/postgres.py --faces 100000   # fewer (a loaded machine)

Both catalogs get the same photos (4 faces each, 128-dimensional vectors sealed as Regard
seals them, a date each) through the repository calls Regard's indexer makes
(`photos.store_analysis`, in transactions of 16 photos as the indexer commits them), the faces
shared among 2,000 people of heavy-tailed sizes (`people.assign`). PostgreSQL is Debian's
server started for the run (tests/postgres_server.py) with its default durability (fsync on),
on this machine, over its unix socket; SQLite is the library file as Regard opens it (WAL,
synchronous NORMAL). Measured, both sides:

1. Insert rate: faces a second (photo rows, face rows and sealed vectors, committed), over the
   whole run and over its first and last tenth (does it slow down as the catalog grows?).
2. Timeline page, as the web app asks for it (`catalog.timeline`): the months and the first
   month's page (60 photos), and a page 90 % of the way down (keyset); and the photo list of
   GET /api/photos (`photos.timeline`: 100 photos with their face counts, by offset), first
   and 90 % down. p50 of each.
3. Person page: the largest and a middle-sized person's faces (`people.faces_of`), p50.
4. Erasure of the middle-sized person by Regard's own eraser (`privacy.erasure.Eraser`): the
   transaction (vectors, person, name, history; erasure templates kept; audit entry), then
   the database rewritten (SQLite VACUUM of the file; PostgreSQL VACUUM FULL of the tables
   that held it). Then checked: the person's vectors, faces linked to them, their person row
   and templates left in the catalog (must be 0), and a sample of their sealed vectors
   searched for in the database's files (SQLite's file and WAL; PostgreSQL's data folder). The
   eraser's own final check (a byte search of the library folder for every erased vector) is
   timed apart, for 8 vectors, since it grows with vectors x folder size.
5. Size: bytes a face on disk (the SQLite file; PostgreSQL's database), and the faces,
   embeddings and photos tables with their indexes.

Both sides of each figure are printed side by side; JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from regard.domain.face import AnalysedFace, Box, Detection, FaceQuality, Landmarks
from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoMetadata
from regard.privacy.acting import Acting, Actor
from regard.privacy.audit import AuditLog
from regard.privacy.erasure import Eraser
from regard.storage.catalog import Catalog
from regard.storage.postgres import PgConnection
from regard.storage.sealing import Sealer, new_key
from regard.storage.vector_store import VectorStore
from regard.testing import FAKE_CALIBRATION, FAKE_DETECTOR, FAKE_EMBEDDER
from tests.postgres_server import PostgresServer

FACES_PER_PHOTO = 4
#: Photos a transaction, as the indexer commits them (`Ingestor.commit_every`).
COMMIT_EVERY = 16
DIM = 128
PEOPLE = 2000
EMBEDDER = replace(FAKE_EMBEDDER, id="bench-128", dim=DIM)


def photo_batches(n_photos: int) -> Iterator[list[PhotoAnalysis]]:
    """The photos, COMMIT_EVERY at a time (made as they are needed: a million faces' objects
    held at once would measure the memory, not the catalog)."""
    for first in range(0, n_photos, COMMIT_EVERY):
        count = min(COMMIT_EVERY, n_photos - first)
        rng = np.random.default_rng(first)
        vectors = rng.normal(size=(count * FACES_PER_PHOTO, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        batch = []
        for k in range(count):
            p = first + k
            faces = tuple(
                AnalysedFace(
                    Detection(
                        Box(20.0 + 60 * i, 30.0, 50.0, 60.0),
                        Landmarks(((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))),
                        0.9,
                    ),
                    FaceQuality(50, 80, 0.9, 0.8, False),
                    vectors[k * FACES_PER_PHOTO + i],
                    EMBEDDER.id,
                )
                for i in range(FACES_PER_PHOTO)
            )
            day = f"{2000 + p % 25:04d}-{1 + p % 12:02d}-{1 + p % 28:02d}T12:00:00"
            batch.append(
                PhotoAnalysis(
                    FileFingerprint(f"/photos/{p // 1000:04d}/{p:08d}.jpg", 100_000 + p, p),
                    f"{p:064x}",
                    PhotoMetadata("JPEG", 4000, 3000, taken_at=day),
                    faces,
                    "bench",
                )
            )
        yield batch


def p50(call: Callable[[], Any], times: int = 15) -> float:
    took = []
    for _ in range(times):
        t = time.perf_counter()
        call()
        took.append(time.perf_counter() - t)
    return statistics.median(took) * 1000


def insert(catalog: Catalog, n_photos: int, out: dict[str, float]) -> None:
    run = catalog.runs.start(["/photos"], "bench")
    spent, tenths = 0.0, []
    tenth = max(1, n_photos // COMMIT_EVERY // 10)
    window = 0.0
    for i, batch in enumerate(photo_batches(n_photos)):
        t = time.perf_counter()
        with catalog.transaction():
            for a in batch:
                catalog.photos.store_analysis(a, run)
        took = time.perf_counter() - t
        spent += took
        window += took
        if (i + 1) % tenth == 0:
            tenths.append(tenth * COMMIT_EVERY * FACES_PER_PHOTO / window)
            window = 0.0
    faces = n_photos * FACES_PER_PHOTO
    out["insert_faces_per_s"] = faces / spent
    out["insert_first_tenth_faces_per_s"] = tenths[0] if tenths else out["insert_faces_per_s"]
    out["insert_last_tenth_faces_per_s"] = tenths[-1] if tenths else out["insert_faces_per_s"]
    out["insert_s"] = spent


def make_people(catalog: Catalog, faces: int) -> list[int]:
    """2,000 people of heavy-tailed sizes: person k has about faces * 0.6 / (k + 1) / H."""
    ids = np.arange(1, faces + 1)
    np.random.default_rng(3).shuffle(ids)
    sizes = (faces * 0.6 / np.arange(1, PEOPLE + 1) / np.log(PEOPLE)).astype(int) + 1
    people, start = [], 0
    with catalog.transaction():
        for size in sizes:
            person = catalog.people.create()
            catalog.people.assign(ids[start : start + size].tolist(), person, "auto")
            people.append(person)
            start += size
    return people


def sizes(catalog: Catalog, files: list[Path]) -> dict[str, float]:
    db = catalog._db
    if isinstance(db, PgConnection):
        total = float(db.raw("SELECT pg_database_size(current_database())")[0][0])
        tables = {
            t: float(db.raw("SELECT pg_total_relation_size(%s)", (t,))[0][0])
            for t in ("faces", "embeddings", "photos")
        }
    else:
        total = float(sum(f.stat().st_size for f in files if f.exists()))
        tables = {}
        for t in ("faces", "embeddings", "photos"):
            # The table and its indexes (dbstat: SQLite's page accounting).
            row = db.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN"
                " (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?)",
                (t, t),
            ).fetchone()
            tables[t] = float(row[0] or 0)
    return {"database_bytes": total, **{f"{t}_bytes": v for t, v in tables.items()}}


class TimedEraser(Eraser):
    """Regard's eraser, with its final byte search of the library folder timed apart and run
    for 8 of the erased vectors (it reads every file once per vector)."""

    verify_s = 0.0
    verify_vectors = 0

    def verify(self, patterns: list[bytes]) -> dict[str, Any]:
        self.verify_vectors = len(patterns)
        t = time.perf_counter()
        result = super().verify(patterns[:8])
        self.verify_s = time.perf_counter() - t
        return result


def erase(catalog: Catalog, person: int, root: Path, sealer: Sealer) -> dict[str, float]:
    state = root / "state"
    state.mkdir(parents=True, exist_ok=True)
    audit = AuditLog(catalog, state)
    audit.use_key(sealer)
    eraser = TimedEraser(
        catalog=catalog,
        vectors=VectorStore(catalog, root / "vectors", EMBEDDER),
        audit=audit,
        acting=Acting(Actor("bench")),
        calibration=FAKE_CALIBRATION,
        state_dir=state,
        library_root=root,
        photos_changed=lambda _ids: None,
    )
    row = catalog.people.get(person)
    assert row is not None
    faces = catalog.privacy.faces_of_person(person)
    sealed = [blob for _f, _m, blob in catalog.faces.vectors(faces)]
    t = time.perf_counter()
    receipt = eraser.erase([row], faces, with_photos=False, what="bench")
    total = time.perf_counter() - t
    db = catalog._db
    left_vectors = sum(
        int(db.execute(f"SELECT COUNT(*) FROM embeddings WHERE face_id IN ({ids})").fetchone()[0])
        for ids in (",".join(map(str, faces[i : i + 500])) for i in range(0, len(faces), 500))
    )
    left = {
        "erase_faces": float(len(faces)),
        "erase_vectors_removed": float(receipt.removed["vectors"]),
        "erase_s": total - eraser.verify_s,
        "erase_verify_8_vectors_s": eraser.verify_s,
        "erase_verify_vectors": float(eraser.verify_vectors),
        "left_vectors": float(left_vectors),
        "left_faces_linked": float(
            db.execute("SELECT COUNT(*) FROM faces WHERE person_id = ?", (person,)).fetchone()[0]
        ),
        "left_person_rows": float(
            db.execute("SELECT COUNT(*) FROM people WHERE id = ?", (person,)).fetchone()[0]
        ),
        "left_templates": float(
            db.execute("SELECT COUNT(*) FROM templates WHERE person_id = ?", (person,)).fetchone()[
                0
            ]
        ),
    }
    left["sealed_sample"] = float(min(8, len(sealed)))
    left["sealed_sample_found_in_db_files"] = float(found_in_files(catalog, sealed[:8]))
    left["sealed_sample_found_in_pg_wal"] = float(found_in_files(catalog, sealed[:8], wal=True))
    return left


def found_in_files(catalog: Catalog, blobs: list[bytes], wal: bool = False) -> int:
    """How many of `blobs` are still in the database's files: its tables' (SQLite's file and
    WAL; PostgreSQL's files of this database), or (`wal`) PostgreSQL's write-ahead log, which
    keeps them until its segments are recycled (the administrator's: see the README)."""
    if isinstance(catalog._db, PgConnection):
        folder = Path(catalog._db.raw("SHOW data_directory")[0][0])
        oid = catalog._db.raw("SELECT oid FROM pg_database WHERE datname = current_database()")
        where = folder / "pg_wal" if wal else folder / "base" / str(oid[0][0])
        files = [p for p in where.rglob("*") if p.is_file()]
    elif wal:
        return 0
    else:
        files = [catalog.path, catalog.path.with_name(catalog.path.name + "-wal")]
    probes = [bytes(b)[:48] for b in blobs]
    found: set[int] = set()
    for path in files:
        # In pieces that overlap by a probe's length (a file may be larger than memory).
        try:
            with path.open("rb") as fh:
                tail = b""
                while piece := fh.read(64 << 20):
                    data = tail + piece
                    found.update(i for i, p in enumerate(probes) if p in data)
                    tail = data[-48:]
        except OSError:
            continue
    return len(found)


def measure(
    catalog: Catalog, n_photos: int, root: Path, times: int = 15, timeline: bool = True
) -> dict[str, float]:
    sealer = Sealer(new_key())
    catalog.codec.sealer = sealer
    catalog.runs.register_models([FAKE_DETECTOR, EMBEDDER])
    out: dict[str, float] = {}
    insert(catalog, n_photos, out)
    faces = n_photos * FACES_PER_PHOTO
    out["faces"] = faces
    t = time.perf_counter()
    people = make_people(catalog, faces)
    out["group_2000_people_s"] = time.perf_counter() - t
    big, middle = people[0], people[len(people) // 20]
    if timeline:
        deep = catalog._db.execute(
            "SELECT COALESCE(taken_at, ''), id FROM photos"
            " ORDER BY COALESCE(taken_at, '') DESC, id DESC LIMIT 1 OFFSET ?",
            (int(n_photos * 0.9),),
        ).fetchone()

        def web_first() -> None:  # the web app's first view: the months, then a month's page
            first = catalog.timeline.months()[0][0]
            catalog.timeline.page(None, 60, first)

        out |= {
            "timeline_first_ms": p50(web_first, times),
            "timeline_deep_ms": p50(
                lambda: catalog.timeline.page((str(deep[0]), int(deep[1])), 60), times
            ),
            "photo_list_first_ms": p50(
                lambda: catalog.photos.timeline(0, 100, None, None, False), times
            ),
            "photo_list_deep_ms": p50(
                lambda: catalog.photos.timeline(int(n_photos * 0.9), 100, None, None, False),
                times,
            ),
        }
    out |= {
        "person_big_ms": p50(lambda: catalog.people.faces_of(big), times),
        "person_big_faces": len(catalog.people.faces_of(big)),
        "person_middle_ms": p50(lambda: catalog.people.faces_of(middle), times),
        "person_middle_faces": len(catalog.people.faces_of(middle)),
    }
    files = [catalog.path, catalog.path.with_name(catalog.path.name + "-wal")]
    out |= sizes(catalog, files)
    out["bytes_per_face"] = out["database_bytes"] / faces
    # This process's peak resident memory, before the erasure's checks read the files.
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out |= erase(catalog, middle, root, sealer)
    return out


def share_priority(server: PostgresServer, stop: threading.Event) -> None:
    """Give the server's processes this process's scheduling priority, as they start (each
    backend is a session of its own, and pg_ctl's server is no child of this process: under
    `priority_run.sh` the server would otherwise run at the priority this run was raised above,
    and the comparison would measure that)."""
    try:
        mine = Path("/proc/self/autogroup").read_text().split("nice")[1].strip()
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return
    while not stop.wait(1.0):
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid = int(stat.parent.name)
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                if pid == postmaster or parent == postmaster:
                    group = stat.parent / "autogroup"
                    if group.read_text().split("nice")[1].strip() != mine:
                        group.write_text(mine)
            except (OSError, IndexError, ValueError):
                continue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one side only")
    parser.add_argument("--times", type=int, default=15, help="runs of each read (p50)")
    parser.add_argument("--no-timeline", action="store_true", help="leave out the timeline")
    args = parser.parse_args()
    n_photos = args.faces // FACES_PER_PHOTO
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("REGARD_BENCH_TMP")) as tmp:
        if args.only in (None, "sqlite"):
            root = Path(tmp) / "sqlite"
            root.mkdir()
            sqlite = Catalog(root / "catalog.sqlite")
            results["sqlite"] = measure(sqlite, n_photos, root, args.times, not args.no_timeline)
            sqlite.close()
            print(json.dumps({"sqlite": results["sqlite"]}), file=sys.stderr, flush=True)
        if args.only in (None, "postgresql"):
            with PostgresServer(fast=False) as server:
                stop = threading.Event()
                threading.Thread(target=share_priority, args=(server, stop), daemon=True).start()
                root = Path(tmp) / "postgresql"
                root.mkdir()
                url = server.database()
                pg = Catalog(root / "unused", database=url)
                results["postgresql"] = measure(
                    pg, n_photos, root, args.times, not args.no_timeline
                )
                pg.close()
                stop.set()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.faces:,} faces ({n_photos:,} photos), same run")
    sides = list(results)
    print(f"{'':34}" + "".join(f"{s:>16}" for s in sides))
    for key in results[sides[0]]:
        print(f"{key:34}" + "".join(f"{results[s].get(key, float('nan')):>16,.2f}" for s in sides))


if __name__ == "__main__":
    main()
