"""A video as the catalog stores it and as the privacy gate sees it, with fake vectors: one
face per appearance, the mean of its frames as the vector; an opted-out person seen in any
one frame drops the appearance's vector."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from regard.domain.appearance import Appearance, FrameFace, PathPoint, VideoAnalysis
from regard.domain.face import AnalysedFace, Box, Detection, FaceQuality, Landmarks
from regard.domain.photo import FileFingerprint
from regard.pipeline.footage_record import video_record

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")

DIM = 16


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _face(v: np.ndarray, x: float = 10.0) -> AnalysedFace:
    box = Box(x, 10.0, 60.0, 60.0)
    marks = Landmarks(
        ((x + 20, 30.0), (x + 40, 30.0), (x + 30, 40.0), (x + 22, 50.0), (x + 38, 50.0))
    )
    return AnalysedFace(
        Detection(box, marks, 0.9), FaceQuality(60.0, 100.0, 1.0, 0.9, False), v, "model"
    )


def _appearance(vectors: list[np.ndarray], start: float, end: float) -> Appearance:
    faces = tuple(FrameFace(start + i * 0.5, _face(v)) for i, v in enumerate(vectors))
    path = (
        PathPoint(start, faces[0].face.detection.box),
        PathPoint(end, faces[0].face.detection.box),
    )
    return Appearance(start, end, faces, path)


def _analysis(*appearances: Appearance) -> VideoAnalysis:
    """A 5-second video in which these appearances were found."""
    return VideoAnalysis(
        duration=5.0,
        width=640,
        height=360,
        frame_rate=Fraction(30),
        codec="h264",
        container="mov",
        rotation=0,
        frames_decoded=10,
        frames_looked_at=5,
        appearances=appearances,
        pipeline_id="p+v1",
    )


def test_a_video_record_has_one_face_per_appearance_its_frames_mean_as_vector():
    a, b = unit(np.eye(DIM)[0] + np.eye(DIM)[1]), unit(np.eye(DIM)[0] - np.eye(DIM)[1])
    appearance = _appearance([a, b], 1.0, 3.0)
    analysis = _analysis(appearance)
    record = video_record(FileFingerprint("/v.mp4", 1, 1), "hash", analysis)
    assert record.is_video and record.metadata.duration == 5.0
    (face,) = record.faces
    assert face.embedding == pytest.approx(np.eye(DIM)[0], abs=1e-6)
    assert face.detection == appearance.best.face.detection


def test_the_gate_drops_an_appearance_an_opted_out_person_is_seen_in_one_frame_of(fake_engine):
    """The appearance's mean is far from the opt-out's template; one of its frames is it."""
    catalog = fake_engine.catalog
    gate = fake_engine.privacy.gate
    dim, model = gate.model.dim, gate.model.id
    rng = np.random.default_rng(5)
    them = unit(rng.standard_normal(dim))
    others = [unit(rng.standard_normal(dim)) for _ in range(4)]
    with catalog.transaction():
        optout = catalog.privacy.optout_add("owner", None, "0" * 64)
        catalog.templates.add("optout", model, them, optout_id=optout)
    gate.refresh()
    seen_once = _appearance([others[0], others[1], them], 0.0, 4.0)
    never = _appearance([others[2], others[3]], 0.0, 4.0)
    analysis = _analysis(seen_once, never)
    record = video_record(FileFingerprint("/v.mp4", 1, 1), "hash", analysis)
    record = type(record)(
        record.fingerprint,
        record.content_hash,
        record.metadata,
        tuple(AnalysedFace(f.detection, f.quality, f.embedding, model) for f in record.faces),
        record.pipeline_id,
        record.appearances,
    )
    assert float(record.faces[0].embedding @ them) < gate.optout_threshold()
    verdicts = gate.screen(record)
    assert [v.reason for v in verdicts] == ["opted_out", "kept"]
    assert verdicts[0].optout_id == optout and not verdicts[0].keep


def _video(appearances: tuple[Appearance, ...], path: str = "/v.mp4") -> VideoAnalysis:
    return VideoAnalysis(
        duration=20.0,
        width=640,
        height=360,
        frame_rate=Fraction(30),
        codec="h264",
        container="mov",
        rotation=0,
        frames_decoded=10,
        frames_looked_at=5,
        appearances=appearances,
        pipeline_id="p+v1",
    )


def test_a_person_may_be_in_a_video_twice_but_never_twice_at_once(fake_engine):
    """Stored, a video's appearances are faces of it; the owner's corrections refuse a person
    on screen twice at once, as twice in one photo, and allow them one after the other."""
    catalog = fake_engine.catalog
    model = fake_engine.privacy.gate.model.id
    rng = np.random.default_rng(9)
    spans = [(0.0, 4.0), (2.0, 6.0), (10.0, 12.0)]
    apps = tuple(_appearance([unit(rng.standard_normal(DIM))], start, end) for start, end in spans)
    record = video_record(FileFingerprint("/v.mp4", 1, 1), "hash", _video(apps))
    record = type(record)(
        record.fingerprint,
        record.content_hash,
        record.metadata,
        tuple(AnalysedFace(f.detection, f.quality, f.embedding, model) for f in record.faces),
        record.pipeline_id,
        record.appearances,
    )
    catalog.runs.register_models((fake_engine.models.detector, fake_engine.models.embedder))
    with catalog.transaction():
        video_id = catalog.photos.store_analysis(record, 0)
        a, b, c = (m.face_id for m in catalog.appearances.of_video(video_id))
        person = catalog.people.create()
        catalog.people.assign([a, c], person, "owner")
    assert [(m.start, m.end) for m in catalog.appearances.of_video(video_id)] == spans
    assert catalog.people.twice_in_a_photo([person]) is None
    with catalog.transaction():
        catalog.people.assign([b], person, "owner")
    assert catalog.people.twice_in_a_photo([person]) == (person, video_id)
