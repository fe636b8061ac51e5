"""What a server asks its probe workers (`ProbePool`) to do with a photo someone handed in.

Each function runs in a worker process: it gets the worker's context and the photo's path,
and returns plain data (faces, a report, an image's size) or raises an `ImageError` about the
photo. The server's own process never decodes a photo it was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from regard.domain.face import AnalysedFace
from regard.domain.photo import is_video
from regard.domain.sharing import BlurMethod
from regard.jobs.pool import InProcessPool, ProbePool, WorkerContext
from regard.pipeline.analyse import AnalysisSettings, read_file
from regard.pipeline.anonymise.blur import BlurSettings
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.anonymise.still import StillReport, anonymise_image
from regard.pipeline.clip import open_clip
from regard.pipeline.decode import OpenedImage
from regard.pipeline.models import ModelLoader


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an image's header says, checked against the decoding limits."""

    format: str
    width: int
    height: int


def faces_task(context: WorkerContext, path: str) -> list[AnalysedFace]:
    limits = context.analyser.settings.limits
    _fingerprint, data = read_file(Path(path), limits)
    return context.analyser.faces_in(OpenedImage(path, data, limits))


def header_task(context: WorkerContext, path: str) -> ImageHeader:
    if is_video(path):
        # A video's container and stream, checked against the video limits (frame size,
        # declared duration): what indexing would refuse at once is refused here.
        with open_clip(Path(path)) as clip:
            f = clip.facts
            return ImageHeader(f"{f.container}/{f.codec}", f.coded_width, f.coded_height)
    limits = context.analyser.settings.limits
    _fingerprint, data = read_file(Path(path), limits)
    opened = OpenedImage(path, data, limits)
    return ImageHeader(opened.format, *opened.size)


def anonymise_task(context: WorkerContext, path: str, output: str, method: str) -> StillReport:
    return anonymise_image(
        Path(path),
        Path(output),
        context.sensitive_detector(ANONYMISE_SCORE_THRESHOLD),
        settings=BlurSettings(method=cast(BlurMethod, method)),
        limits=context.analyser.settings.limits,
    )


class Probes:
    """Photos handed in, read in worker processes (see `ProbePool`): the server's
    `regard.pipeline.probe.FaceSource`."""

    def __init__(self, pool: ProbePool | InProcessPool) -> None:
        self.pool = pool
        self._held: dict[str, list[AnalysedFace]] = {}

    def faces(self, photo: Path) -> list[AnalysedFace]:
        """The faces in `photo`, left to right: those `held` for it, or read now."""
        found = self._held.get(str(photo))
        return found if found is not None else self.pool.run(photo, faces_task)

    @contextmanager
    def held(self, photo: Path) -> Iterator[list[AnalysedFace]]:
        """Read `photo`'s faces now and keep them for the block: the server reads a photo
        outside its lock, then the engine, used in the block under the lock, finds its faces
        here instead of reading the photo there, where every user would wait."""
        faces = self.pool.run(photo, faces_task)
        key = str(photo)
        self._held[key] = faces
        try:
            yield faces
        finally:
            self._held.pop(key, None)

    def header(self, photo: Path) -> ImageHeader:
        """`photo`'s format and upright size, once its header passed the decoding limits."""
        return self.pool.run(photo, header_task)

    def anonymise(self, photo: Path, output: Path, method: str) -> StillReport:
        """Write `output`, `photo` with every face blurred and no metadata."""
        return self.pool.run(photo, anonymise_task, str(output), method)

    def close(self) -> None:
        self.pool.close()


#: Seconds a photo handed in (search by photo, anonymise...) may take to read; it is one
#: photo, so this is far below indexing's per-file timeout.
PROBE_TIMEOUT = 60.0


def worker_probes(
    workers: int, settings: AnalysisSettings, models: ModelLoader, task_timeout: float
) -> Probes:
    """Photos handed in, read by `workers` processes of their own (0: in this process, where
    indexing analyses too)."""
    if workers <= 0:
        return Probes(InProcessPool(settings, models))
    return Probes(
        ProbePool(workers, settings, models, task_timeout=min(task_timeout, PROBE_TIMEOUT))
    )
