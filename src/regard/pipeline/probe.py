"""Photos handed in: a search photo, a consent's enrolment photo, an opt-out selfie, the photo
of an erasure or an access request. Each is read once (`ProbeReader.read`), gives its faces
left to right, the one meant (`Probe.select`) and its content hash, for the audit log.

Where a photo's faces are read is a seam (`FaceSource`): in this process, by models loaded on
first use (`InProcessFaces`, the command line), or in the server's worker processes
(`regard.jobs.probes.Probes`), so that a photo sent to the server is never decoded in its
own process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from regard.domain.face import AnalysedFace
from regard.domain.search import ProbeFace
from regard.errors import AmbiguousProbeError, FaceIndexError, NoFaceInProbeError
from regard.files import file_sha256
from regard.pipeline.analyse import Analyser, AnalysisSettings, read_file
from regard.pipeline.decode import OpenedImage
from regard.pipeline.models import ModelLoader


class FaceSource(Protocol):
    def faces(self, photo: Path) -> list[AnalysedFace]:
        """The faces in `photo`, left to right (an `ImageError` if it cannot be read)."""
        ...


class InProcessFaces:
    """Faces read in this process, by models loaded when first needed."""

    def __init__(self, models: ModelLoader, settings: AnalysisSettings) -> None:
        self.models = models
        self.settings = settings
        self._analyser: Analyser | None = None

    @property
    def analyser(self) -> Analyser:
        if self._analyser is None:
            self._analyser = self.models(self.settings)
        return self._analyser

    def faces(self, photo: Path) -> list[AnalysedFace]:
        limits = self.settings.limits
        fingerprint, data = read_file(Path(photo), limits)
        return self.analyser.faces_in(OpenedImage(fingerprint.path, data, limits))


class Probe:
    """One photo handed in, read: its faces, and (when asked, once) its content hash."""

    def __init__(self, path: Path, faces: list[AnalysedFace]) -> None:
        self.path = path
        self.faces = faces
        self._hash: str | None = None

    def described(self) -> list[ProbeFace]:
        """The faces as they are listed for the user to choose one."""
        return [ProbeFace.of(i, f) for i, f in enumerate(self.faces)]

    def select(self, face_index: int | None) -> int:
        """The index of the face meant: `face_index`, or the only face there is."""
        if not self.faces:
            raise NoFaceInProbeError(self.path)
        if face_index is None:
            if len(self.faces) > 1:
                raise AmbiguousProbeError(self.path, self.described())
            face_index = 0
        if not 0 <= face_index < len(self.faces):
            raise FaceIndexError(self.path, face_index, len(self.faces))
        return face_index

    def face(self, face_index: int | None) -> AnalysedFace:
        return self.faces[self.select(face_index)]

    @property
    def content_hash(self) -> str:
        """The SHA-256 of the photo's bytes (what the audit log keeps of a probe)."""
        if self._hash is None:
            self._hash = file_sha256(self.path)
        return self._hash


class ProbeReader:
    """Reads photos handed in through a `FaceSource`."""

    def __init__(self, source: FaceSource) -> None:
        self.source = source

    def read(self, photo: Path) -> Probe:
        return Probe(photo, self.source.faces(photo))

    def face(self, photo: Path, face_index: int | None) -> AnalysedFace:
        """The face meant in `photo` (see `Probe.select`)."""
        return self.read(photo).face(face_index)
