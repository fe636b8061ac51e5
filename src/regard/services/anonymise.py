"""Copies that are safe to share: a photo or a video handed in with every face blurred (no
library needed), and a library export packed as one zip.

The engine exposes these as `Engine.anonymise` (and `regard.engine.anonymise`, without a
library) and `Engine.export_zip`; the skins only parse, call and render.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from regard.domain.face import Box
from regard.domain.sharing import BLUR_METHODS
from regard.errors import RegardError
from regard.pipeline.anonymise.blur import BlurSettings
from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
from regard.pipeline.models import STANDARD_MODELS, ModelLoader
from regard.pipeline.sniff import sniff
from regard.services.export import Exporter, ExportOptions, Selection

#: Called with frames done and frames in all (None when the video does not say).
FrameProgress = Callable[[int, int | None], None]
#: The faces of a video to leave as they are at a moment (seconds): their boxes.
KeepAt = Callable[[float], Sequence[Box]]


@dataclass(frozen=True, slots=True)
class AnonymisedPhoto:
    """A photo's copy: every face blurred, no metadata."""

    source: str
    output: str
    faces_blurred: int
    kind: Literal["photo"] = "photo"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "kind": self.kind,
            "faces_blurred": self.faces_blurred,
        }


@dataclass(frozen=True, slots=True)
class AnonymisedVideo:
    """A video's copy: every face blurred in every frame, no metadata (sound if kept)."""

    source: str
    output: str
    frames: int
    faces_blurred: int  # face boxes blurred, summed over frames
    tracks: int  # faces followed
    audio_kept: bool
    seconds: float
    kind: Literal["video"] = "video"

    @property
    def frames_per_second(self) -> float:
        return self.frames / max(self.seconds, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "kind": self.kind,
            "frames": self.frames,
            "faces_blurred": self.faces_blurred,
            "tracks": self.tracks,
            "audio_kept": self.audio_kept,
            "seconds": round(self.seconds, 2),
        }


AnonymisedCopy = AnonymisedPhoto | AnonymisedVideo


def blur_settings(method: str) -> BlurSettings:
    """How faces are hidden, by the method's name (one of `BLUR_METHODS`)."""
    if method not in BLUR_METHODS:
        raise RegardError(f"{method!r} is not a blur method: use one of {', '.join(BLUR_METHODS)}.")
    return BlurSettings(method=method)


class Anonymiser:
    """Blur every face of a photo or a video handed in; nothing is kept or indexed."""

    def __init__(self, models: ModelLoader) -> None:
        self.models = models

    def anonymise(
        self,
        source: Path,
        output: Path,
        *,
        method: str = "gaussian",
        keep_audio: bool = False,
        progress: FrameProgress | None = None,
        keep_at: KeepAt | None = None,
    ) -> AnonymisedCopy:
        """Write `output`, a copy of `source` (a photo, or a video: told by its bytes) with
        every face blurred and no metadata; a video's sound only with `keep_audio`; in a
        video, the faces `keep_at` gives at each moment left as they are."""
        settings = blur_settings(method)
        try:
            with source.open("rb") as fh:
                kind = sniff(fh.read(32)) or ""
        except OSError as exc:
            raise RegardError(f"{source}: cannot be read ({exc.strerror}).") from None
        if keep_audio and kind.startswith("image/"):
            raise RegardError(
                "--keep-audio is for videos; a photo has no sound.",
                web="Keeping the sound is for videos; a photo has no sound.",
            )
        self.models.verify()  # a missing or altered model fails here, before any work
        detector = self.models.sensitive_detector(ANONYMISE_SCORE_THRESHOLD)
        if kind.startswith("image/"):
            from regard.pipeline.anonymise.still import anonymise_image

            still = anonymise_image(source, output, detector, settings=settings)
            return AnonymisedPhoto(str(still.source), str(still.output), still.faces_blurred)
        # Imported here: the video stack (PyAV) loads only when a video is anonymised.
        from regard.pipeline.anonymise.video import VideoSettings, anonymise_video

        report = anonymise_video(
            source,
            output,
            detector,
            settings=VideoSettings(blur=settings),
            keep_audio=keep_audio,
            progress=None
            if progress is None
            else (lambda p: progress(p.frames_done, p.frames_total)),
            keep_at=keep_at,
        )
        return AnonymisedVideo(
            source=str(report.source),
            output=str(report.output),
            frames=report.frames,
            faces_blurred=report.boxes_blurred,
            tracks=report.tracks,
            audio_kept=report.audio_kept,
            seconds=report.seconds,
        )


def anonymise(
    source: Path,
    output: Path,
    *,
    method: str = "gaussian",
    keep_audio: bool = False,
    progress: FrameProgress | None = None,
    models: ModelLoader = STANDARD_MODELS,
) -> AnonymisedCopy:
    """Write `output`, a copy of the photo or video `source` with every face blurred and no
    metadata (a video's sound only with `keep_audio`). No library is needed: nothing is kept
    or indexed."""
    return Anonymiser(models).anonymise(
        source, output, method=method, keep_audio=keep_audio, progress=progress
    )


def export_zip(
    exporter: Exporter, selection: Selection, options: ExportOptions, folder: Path
) -> Path:
    """Export `selection` into `folder` and pack the copies, with `report.json` (the export's
    report, naming each copy as it is in the zip), into `folder/export.zip`."""
    report: dict[str, Any] = exporter.export(selection, folder / "copies", options).as_dict()
    report["output"] = "the zip"
    zipped = folder / "export.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for entry in report["files"]:
            copy = Path(entry["output"])
            z.write(copy, copy.name)
            entry["output"] = copy.name
        z.writestr("report.json", json.dumps(report, indent=1))
    return zipped
