"""Analyse: run the stages on one file — read, decode, detect, align, embed, assess quality.

This composes the single-job stages; it holds no logic of its own beyond choosing the
resolution each stage works at.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from regard.domain.face import AnalysedFace, Detection
from regard.domain.models import ModelSpec
from regard.domain.photo import FileFingerprint, PhotoAnalysis
from regard.errors import ImageTooLargeError, UnreadableFileError
from regard.inference.protocols import FaceDetector, FaceEmbedder
from regard.pipeline.align import align_face, similarity_transform
from regard.pipeline.decode import DecodedImage, DecodeLimits, OpenedImage
from regard.pipeline.detect import detect_faces
from regard.pipeline.metadata import read_metadata
from regard.pipeline.quality import QualityRules, assess_quality
from regard.pipeline.stages import StageTimes

#: Bump when a change to the stages would change stored faces, so libraries re-analyse.
ANALYSIS_VERSION = 1


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    detect_max_side: int = 1280  # long side of the image YuNet sees at most
    #: Long side of a first look (0: one look at `detect_max_side`). A photo larger than
    #: this is looked at again at `detect_max_side` only where that can find more: no face
    #: found, or a face under `closer_below_px` wide at the first look's scale (small faces
    #: come in crowds and far-away groups, whose smaller members the first look can miss).
    #: Off: measured at 640 px on bench/ingest.py's 72 photos, it cost 26 % less CPU but
    #: missed 3 true faces (a baby, a dark face, a man at 83 px) and found 4 false ones.
    first_look_side: int = 0
    closer_below_px: float = 40.0
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    quality: QualityRules = field(default_factory=QualityRules)


def pipeline_id(detector: ModelSpec, embedder: ModelSpec) -> str:
    """Names the models (and analysis version) that produced a photo's faces. A photo analysed
    by another pipeline is analysed again: embedding spaces are never mixed."""
    return f"{detector.id}+{embedder.id}+a{ANALYSIS_VERSION}"


def read_file(path: Path, limits: DecodeLimits) -> tuple[FileFingerprint, bytes]:
    """The file's bytes and fingerprint, read once (hashing and decoding share them)."""
    try:
        st = path.stat()
        if not path.is_file():
            raise UnreadableFileError(path, "not a regular file", "Point Regard at image files.")
        if st.st_size > limits.max_file_bytes:
            raise ImageTooLargeError(
                path,
                f"the file is {st.st_size / 2**20:.0f} MiB, over the limit of "
                f"{limits.max_file_bytes / 2**20:.0f} MiB",
                "If it is a genuine photo, raise the limit with --max-file-mb.",
                web_advice="If it is a genuine photo, whoever runs the server can raise the limit.",
            )
        with path.open("rb") as fh:
            # As much as the file holds (read(limit) would reserve the whole limit first, which
            # a worker's memory cap refuses), and what it grew by while being read.
            data = fh.read(min(st.st_size, limits.max_file_bytes) + 1)
            if len(data) > st.st_size:
                grown = bytearray(data)
                while len(grown) <= limits.max_file_bytes and (chunk := fh.read(1 << 20)):
                    grown += chunk
                data = bytes(grown)
    except FileNotFoundError as exc:
        raise UnreadableFileError(
            path, "the file disappeared", "It was moved or deleted during the run."
        ) from exc
    except PermissionError as exc:
        raise UnreadableFileError(
            path, "permission denied", "Give your user read access to it, or leave it out."
        ) from exc
    except IsADirectoryError as exc:
        raise UnreadableFileError(path, "is a directory", "Point Regard at image files.") from exc
    except OSError as exc:
        raise UnreadableFileError(
            path, f"cannot be read ({exc.strerror or exc})", "Check the disk and try again."
        ) from exc
    if len(data) > limits.max_file_bytes:
        raise ImageTooLargeError(path, "the file grew past the size limit while being read", "")
    return FileFingerprint(str(path), st.st_size, st.st_mtime_ns), data


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Analyser:
    """Turns files into `PhotoAnalysis` records. One per process: it owns the model sessions."""

    def __init__(
        self,
        detector: FaceDetector,
        embedder: FaceEmbedder,
        settings: AnalysisSettings | None = None,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.settings = settings or AnalysisSettings()
        self.pipeline_id = pipeline_id(detector.spec, embedder.spec)
        #: Where the time goes, stage by stage (bench/ingest.py's profile); None: not timed.
        self.times: StageTimes | None = None

    def _stage(self, name: str) -> AbstractContextManager[None]:
        return nullcontext() if self.times is None else self.times(name)

    def analyse_path(self, path: Path) -> PhotoAnalysis:
        with self._stage("read+header"):
            fingerprint, data = read_file(path, self.settings.limits)
        return self.analyse_bytes(fingerprint, data)

    def analyse_bytes(self, fingerprint: FileFingerprint, data: bytes) -> PhotoAnalysis:
        with self._stage("read+header"):
            opened = OpenedImage(os.fspath(fingerprint.path), data, self.settings.limits)
            metadata = read_metadata(opened.exif, opened.format, opened.size, opened.orientation)
        faces = self.faces_in(opened)
        with self._stage("hashing"):
            digest = content_hash(data)
        return PhotoAnalysis(
            fingerprint=fingerprint,
            content_hash=digest,
            metadata=metadata,
            faces=tuple(faces),
            pipeline_id=self.pipeline_id,
        )

    def detections_in(self, opened: OpenedImage) -> tuple[DecodedImage, list[Detection]]:
        """The faces found, and the image they were found in: a first look at
        `first_look_side`, then one at `detect_max_side` where it can find more."""
        settings = self.settings
        first = settings.first_look_side or settings.detect_max_side
        first = min(first, settings.detect_max_side)
        with self._stage("decode for detection"):
            image = opened.decode_for_detection(first)
        with self._stage("detection"):
            detections = detect_faces(self.detector, image)
        if max(opened.size) <= first or first >= settings.detect_max_side:
            return image, detections  # the first look saw the photo at its largest
        smallest = min((d.box.w * image.scale for d in detections), default=0.0)
        if detections and smallest >= settings.closer_below_px:
            return image, detections
        with self._stage("decode for detection"):
            image = opened.decode_for_detection(settings.detect_max_side)
        with self._stage("detection"):
            detections = detect_faces(self.detector, image)
        return image, detections

    def faces_in(self, opened: OpenedImage) -> list[AnalysedFace]:
        small, detections = self.detections_in(opened)
        if not detections:
            return []
        with self._stage("crop decode"):
            source = self._crop_source(opened, small, detections)
        with self._stage("align+embed"):
            size = self.embedder.input_size
            crops = np.stack(
                [
                    align_face(
                        source.rgb, d.landmarks.scaled(source.scale), self.embedder.template, size
                    )
                    for d in detections
                ]
            )
            vectors = self.embedder.embed(crops)
            return [
                AnalysedFace(
                    detection=d,
                    quality=assess_quality(d, crop, self.settings.quality),
                    embedding=vec,
                    model_id=self.embedder.spec.id,
                )
                for d, crop, vec in zip(detections, crops, vectors, strict=True)
            ]

    def _crop_source(
        self, opened: OpenedImage, small: DecodedImage, detections: list[Detection]
    ) -> DecodedImage:
        """The detection image if every face already has full detail in it, else a decode at
        the resolution the smallest face needs (never upsampling a face into its crop)."""
        template = self.embedder.template
        needed = 0.0
        for d in detections:
            m = similarity_transform(d.landmarks.as_array(), template)
            needed = max(needed, float(np.sqrt(abs(np.linalg.det(m[:, :2])))))
        if small.scale >= min(1.0, needed) - 1e-6:
            return small
        return opened.decode_at_least(needed)
