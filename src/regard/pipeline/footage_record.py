"""A video as the catalog stores it: `analyse_video`'s appearances turned into the record a
photo's analysis is (`PhotoAnalysis`), so one ingestion, one privacy gate and one catalog
write serve both.

Each appearance becomes one face of the video: the box and quality of its best frame, and as
its vector the mean of its embedded frames (a few looks of one person, in the photo faces'
space; their mean is a steadier likeness than any one of them). The frames' own vectors travel
with the record as far as the privacy gate, which checks each of them against opt-outs and
erasures, and no further.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regard.domain.appearance import Appearance, VideoAnalysis
from regard.domain.face import AnalysedFace
from regard.domain.models import ModelSpec
from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoMetadata
from regard.errors import UnreadableFileError
from regard.files import file_sha256
from regard.inference.protocols import FaceDetector, FaceEmbedder
from regard.pipeline.analyse import pipeline_id
from regard.pipeline.footage import FOOTAGE_VERSION, analyse_video
from regard.pipeline.footage_settings import FootageSettings


def video_pipeline_id(detector: ModelSpec, embedder: ModelSpec) -> str:
    """`footage_pipeline_id` from the models' specs: what analysed a video."""
    return f"{pipeline_id(detector, embedder)}+v{FOOTAGE_VERSION}"


def analyse_video_file(
    path: Path,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    settings: FootageSettings | None = None,
) -> PhotoAnalysis:
    """The video at `path` analysed, as the catalog stores it. Raises what `analyse_video`
    raises (an `ImageError`) when it cannot be analysed at all."""
    try:
        st = path.stat()
        digest = file_sha256(path)
    except OSError as exc:
        raise UnreadableFileError(
            path, f"cannot be read ({exc.strerror or exc})", "Check its permissions."
        ) from exc
    analysis = analyse_video(path, detector, embedder, settings)
    return video_record(FileFingerprint(str(path), st.st_size, st.st_mtime_ns), digest, analysis)


def video_record(
    fingerprint: FileFingerprint, content_hash: str, analysis: VideoAnalysis
) -> PhotoAnalysis:
    return PhotoAnalysis(
        fingerprint=fingerprint,
        content_hash=content_hash,
        metadata=PhotoMetadata(
            format=analysis.container,
            width=analysis.width,
            height=analysis.height,
            media="video",
            duration=analysis.duration,
        ),
        faces=tuple(appearance_face(a) for a in analysis.appearances),
        pipeline_id=analysis.pipeline_id,
        appearances=analysis.appearances,
    )


def appearance_face(appearance: Appearance) -> AnalysedFace:
    """The face that stands for an appearance: its best frame, with the mean of its embedded
    frames as the vector."""
    best = appearance.best.face
    vectors = np.stack([f.face.embedding for f in appearance.faces]).astype(np.float32)
    mean = vectors.mean(axis=0)
    mean /= max(float(np.linalg.norm(mean)), 1e-9)
    return AnalysedFace(best.detection, best.quality, mean.astype(np.float32), best.model_id)
