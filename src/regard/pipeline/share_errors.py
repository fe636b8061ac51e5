"""Errors of the anonymisation core ("share safely"), hung on the tree drawn in `regard.errors`:

    RegardError
    ├── ImageError                    one input file (carries .path and .code)
    │   └── VideoError                one input video
    │       ├── UnsupportedVideoError not a video Regard can decode (no video track, unknown codec)
    │       └── CorruptVideoError     truncated or damaged video data
    └── ShareError                    an anonymised copy cannot be made as asked
        ├── UnsafeMetadataError       a metadata field that would identify someone was asked for
        └── OutputError               the copy cannot be written where asked

A missing or unreadable video raises `regard.errors.UnreadableFileError`, as a photo does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from regard.errors import ImageError, RegardError


class VideoError(ImageError):
    """One input video could not be used."""

    code = "video-error"


class UnsupportedVideoError(VideoError):
    code = "unsupported"


class CorruptVideoError(VideoError):
    code = "corrupt"


class ShareError(RegardError):
    """An anonymised copy cannot be made as asked."""


class UnsafeMetadataError(ShareError):
    def __init__(self, field: str, reason: str, allowed: Iterable[str]) -> None:
        super().__init__(
            f"Cannot keep the metadata field {field!r}: {reason}. Fields that can be kept: "
            f"{', '.join(sorted(allowed))}."
        )
        self.field = field


class OutputError(ShareError):
    def __init__(self, path: Path | str, problem: str, advice: str) -> None:
        super().__init__(f"{path}: {problem}. {advice}")
        self.path = str(path)
        self.problem = problem
        self.advice = advice
