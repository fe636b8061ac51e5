"""The catalog on PostgreSQL against SQLite, in the same run, on synthetic faces.

    .venv/bin/python bench/postgres.py                  # 1,000,000 faces
    .venv/bin/python bench/postgres.py --faces 100000   # fewer (a loaded machine)

Both catalogs get the same photos (4 faces each, 128-dimensional vectors sealed as Regard
seals them, a date each) through the same repository calls Regard's indexer makes
(`photos.store_analysis` in transactions of 250 photos), the faces shared among people of
heavy-tailed sizes (`people.assign`). PostgreSQL is Debian's server started for the run
(tests/postgres_server.py) with its default durability (fsync on), on this machine, over its
unix socket; SQLite is the library file as Regard opens it (WAL, synchronous NORMAL). Measured:

1. Insert rate: faces a second (photo rows, face rows and sealed vectors, committed).
2. Timeline page: the first page and one 90 % of the way down (100 photos), p50 of 20.
3. Person page: a large and a middle-sized person's faces (`people.faces_of`), p50 of 20.
4. Erasure: one middle-sized person's vectors deleted and their faces marked erased (one
   transaction), then the compaction Regard runs after an erasure (SQLite: VACUUM of the
   whole file; PostgreSQL: VACUUM FULL of the tables that held what was erased).

Both sides of each figure are printed side by side; JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from regard.domain.face import AnalysedFace, Box, Detection, FaceQuality, Landmarks
from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoMetadata
from regard.storage.catalog import Catalog
from regard.storage.sealing import Sealer, new_key
from regard.testing import FAKE_DETECTOR, FAKE_EMBEDDER
from tests.postgres_server import PostgresServer

FACES_PER_PHOTO = 4
BATCH = 250
DIM = 128
EMBEDDER = replace(FAKE_EMBEDDER, id="bench-128", dim=DIM)


def photos(n_photos: int, seed: int = 7) -> list[PhotoAnalysis]:
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n_photos):
        vectors = rng.normal(size=(FACES_PER_PHOTO, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        faces = tuple(
            AnalysedFace(
                Detection(
                    Box(20.0 + 60 * i, 30.0, 50.0, 60.0),
                    Landmarks(((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))),
                    0.9,
                ),
                FaceQuality(50, 80, 0.9, 0.8, False),
                vectors[i],
                EMBEDDER.id,
            )
            for i in range(FACES_PER_PHOTO)
        )
        day = f"{2000 + p % 25:04d}-{1 + p % 12:02d}-{1 + p % 28:02d}T12:00:00"
        out.append(
            PhotoAnalysis(
                FileFingerprint(f"/photos/{p // 1000:04d}/{p:08d}.jpg", 100_000 + p, p),
                f"{p:064x}",
                PhotoMetadata("JPEG", 4000, 3000, taken_at=day),
                faces,
                "bench",
            )
        )
    return out


def p50(call: Callable[[], Any], times: int = 20) -> float:
    took = []
    for _ in range(times):
        t = time.perf_counter()
        call()
        took.append(time.perf_counter() - t)
    return statistics.median(took) * 1000


def measure(catalog: Catalog, analyses: list[PhotoAnalysis]) -> dict[str, float]:
    catalog.codec.sealer = Sealer(new_key())
    catalog.runs.register_models([FAKE_DETECTOR, EMBEDDER])
    run = catalog.runs.start(["/photos"], "bench")
    t = time.perf_counter()
    for i in range(0, len(analyses), BATCH):
        with catalog.transaction():
            for a in analyses[i : i + BATCH]:
                catalog.photos.store_analysis(a, run)
    insert_s = time.perf_counter() - t
    faces = len(analyses) * FACES_PER_PHOTO
    # People of heavy-tailed sizes: person k has about faces / (k + 1) / H faces.
    ids = np.arange(1, faces + 1)
    rng = np.random.default_rng(3)
    rng.shuffle(ids)
    sizes = (faces * 0.6 / np.arange(1, 2001) / np.log(2000)).astype(int) + 1
    people, start = [], 0
    with catalog.transaction():
        for size in sizes:
            person = catalog.people.create()
            catalog.people.assign(ids[start : start + size].tolist(), person, "auto")
            people.append(person)
            start += size
    big, middle = people[0], people[len(people) // 20]
    total = len(analyses)
    out = {
        "faces": faces,
        "insert_faces_per_s": faces / insert_s,
        "timeline_first_ms": p50(lambda: catalog.photos.timeline(0, 100, None, None, False)),
        "timeline_deep_ms": p50(
            lambda: catalog.photos.timeline(int(total * 0.9), 100, None, None, False)
        ),
        "person_big_ms": p50(lambda: catalog.people.faces_of(big)),
        "person_big_faces": len(catalog.people.faces_of(big)),
        "person_middle_ms": p50(lambda: catalog.people.faces_of(middle)),
        "person_middle_faces": len(catalog.people.faces_of(middle)),
    }
    doomed = catalog.people.face_ids_of(middle)
    t = time.perf_counter()
    with catalog.transaction():
        catalog.privacy.drop_embeddings(doomed, "erased")
    out["erase_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    catalog.compact()
    out["erase_compact_s"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    analyses = photos(args.faces // FACES_PER_PHOTO)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = Catalog(Path(tmp) / "catalog.sqlite")
        results["sqlite"] = measure(sqlite, analyses)
        sqlite.close()
        with PostgresServer(fast=False) as server:
            pg = Catalog(Path(tmp) / "unused", database=server.database())
            results["postgresql"] = measure(pg, analyses)
            pg.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.faces:,} faces ({len(analyses):,} photos), same run")
    print(f"{'':28}{'SQLite':>14}{'PostgreSQL':>14}")
    for key in results["sqlite"]:
        a, b = results["sqlite"][key], results["postgresql"][key]
        print(f"{key:28}{a:>14,.1f}{b:>14,.1f}")


if __name__ == "__main__":
    main()
