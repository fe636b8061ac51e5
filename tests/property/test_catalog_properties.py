"""Catalog invariants under arbitrary sequences of writes (hypothesis)."""

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.domain.face import AnalysedFace, Box, Detection, FaceQuality, Landmarks
from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoFailure, PhotoMetadata
from regard.storage.catalog import Catalog
from regard.storage.sealing import Sealer, new_key
from regard.testing import FAKE_DETECTOR, FAKE_EMBEDDER

SEALER = Sealer(new_key())
finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
unit_vectors = st.lists(st.floats(-1, 1, allow_nan=False), min_size=8, max_size=8).filter(
    lambda v: sum(x * x for x in v) > 1e-3
)
faces = st.builds(
    lambda box, pts, score, vec, low: AnalysedFace(
        Detection(Box(*box), Landmarks(tuple(zip(pts[::2], pts[1::2], strict=True))), score),
        FaceQuality(10.0, 20.0, 0.5, 0.5, low),
        (np.array(vec, np.float32) / np.linalg.norm(vec)).astype(np.float32),
        FAKE_EMBEDDER.id,
    ),
    st.tuples(finite, finite, st.floats(1, 1e4), st.floats(1, 1e4)),
    st.lists(finite, min_size=10, max_size=10),
    st.floats(0, 1),
    unit_vectors,
    st.booleans(),
)
metadata = st.builds(
    PhotoMetadata,
    format=st.sampled_from(["JPEG", "PNG", "HEIF"]),
    width=st.integers(1, 20000),
    height=st.integers(1, 20000),
    orientation=st.integers(1, 8),
    taken_at=st.none() | st.just("2020-01-01T00:00:00"),
    gps_lat=st.none() | st.floats(-90, 90),
    gps_lon=st.none() | st.floats(-180, 180),
    camera_make=st.none() | st.text(max_size=20),
)
paths = st.sampled_from([f"/p/{c}.jpg" for c in "abcdef"])


@settings(max_examples=40, deadline=None)
@given(
    path=st.text(min_size=1, max_size=40).map(lambda s: "/x/" + s),
    meta=metadata,
    found=st.lists(faces, max_size=6),
)
def test_what_is_stored_is_what_is_read(path, meta, found):
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp) / "c.sqlite")
        catalog.codec.sealer = SEALER
        catalog.runs.register_models([FAKE_DETECTOR, FAKE_EMBEDDER])
        analysis = PhotoAnalysis(FileFingerprint(path, 1, 2), "hash", meta, tuple(found), "p")
        with catalog.transaction():
            pid = catalog.photos.store_analysis(analysis, 0)
        photo = catalog.photos.get(pid)
        assert photo.path == path and photo.metadata == meta
        ids, matrix = catalog.faces.embeddings(FAKE_EMBEDDER.id)
        assert len(ids) == len(found)
        if found:
            np.testing.assert_array_equal(matrix, np.stack([f.embedding for f in found]))
        rows = catalog.faces.rows(pid)
        assert [(r["x"], r["y"], r["w"], r["h"]) for r in rows] == [
            (f.detection.box.x, f.detection.box.y, f.detection.box.w, f.detection.box.h)
            for f in found
        ]
        assert [bool(r["low_quality"]) for r in rows] == [f.quality.low for f in found]
        catalog.close()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("store"), paths, st.lists(faces, max_size=3)),
        st.tuples(st.just("fail"), paths),
        st.tuples(st.just("move"), paths, paths),
        st.tuples(st.just("copy"), paths, paths),
        st.tuples(st.just("delete"), paths),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(ops=operations)
def test_no_orphans_and_counts_agree_after_any_writes(ops):
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp) / "c.sqlite")
        catalog.codec.sealer = SEALER
        catalog.runs.register_models([FAKE_DETECTOR, FAKE_EMBEDDER])
        model: dict[str, int] = {}  # path -> faces we expect
        meta = PhotoMetadata("JPEG", 10, 10)
        for op in ops:
            with catalog.transaction():
                known = {k.path: k for k in catalog.photos.known_files().values()}
                if op[0] == "store":
                    a = PhotoAnalysis(FileFingerprint(op[1], 1, 1), "h", meta, tuple(op[2]), "p")
                    catalog.photos.store_analysis(a, 0)
                    model[op[1]] = len(op[2])
                elif op[0] == "fail":
                    catalog.photos.store_failure(
                        PhotoFailure(FileFingerprint(op[1], 1, 1), "x", "y"), 0
                    )
                    model[op[1]] = 0
                elif op[0] in ("move", "copy") and op[1] in known and op[1] != op[2]:
                    if known[op[1]].status.value != "indexed":
                        continue
                    fp = FileFingerprint(op[2], 1, 1)
                    if op[0] == "move":
                        catalog.photos.move(known[op[1]].photo_id, fp)
                        model[op[2]] = model.pop(op[1])
                    else:
                        catalog.photos.copy(known[op[1]].photo_id, fp, 0)
                        model[op[2]] = model[op[1]]
                elif op[0] == "delete" and op[1] in known:
                    catalog.photos.delete([known[op[1]].photo_id])
                    model.pop(op[1])
        got = {r["path"]: r["faces"] for r in catalog.photos.summaries()}
        assert got == model
        counts = catalog.photos.counts()
        assert counts["faces"] == counts["embeddings"] == sum(model.values())
        orphans = catalog._db.execute(
            "SELECT (SELECT COUNT(*) FROM faces WHERE photo_id NOT IN (SELECT id FROM photos))"
            " + (SELECT COUNT(*) FROM embeddings WHERE face_id NOT IN (SELECT id FROM faces))"
        ).fetchone()[0]
        assert orphans == 0
        catalog.close()
