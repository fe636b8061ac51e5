"""Still images, whole files: read, blur every face (`regard.pipeline.anonymise.redact`),
write a clean copy.

Indexing looks for faces worth recognising (1280 pixels, score from 0.6); anonymising looks
for every face that could be recognised: the image at up to 2560 pixels, faint detections given
a second look, and the surroundings of every blurred head searched again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from regard.atomic import write_atomically
from regard.errors import OutputError
from regard.inference.protocols import FaceDetector
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise.blur import BlurSettings
from regard.pipeline.anonymise.clean_encode import encode_clean, format_for
from regard.pipeline.anonymise.redact import redact_photo
from regard.pipeline.decode import DecodeLimits, OpenedImage


@dataclass(frozen=True, slots=True)
class StillReport:
    source: Path
    output: Path
    width: int
    height: int
    faces_blurred: int


def anonymise_image(
    source: Path,
    output: Path,
    detector: FaceDetector,
    *,
    settings: BlurSettings | None = None,
    limits: DecodeLimits | None = None,
    quality: int = 90,
) -> StillReport:
    """Write `output` (.jpg, .png or .webp), a copy of the image `source` with every face
    blurred and no metadata. Build `detector` with `ANONYMISE_SCORE_THRESHOLD`. Written whole
    or not at all; `source` is never touched."""
    source, output = Path(source), Path(output)
    fmt = format_for(output)
    if output.exists() and os.path.samefile(source, output):
        raise OutputError(output, "is the original", "Write the copy to another file.")
    if not output.parent.is_dir():
        raise OutputError(output, "its folder does not exist", "Create the folder first.")
    limits = limits or DecodeLimits()
    opened = OpenedImage(str(source), read_file(source, limits)[1], limits)
    done = redact_photo(opened.decode_at_least(1.0).rgb, detector, blur=settings or BlurSettings())
    write_atomically(output, encode_clean(done.rgb, fmt, quality=quality))
    h, w = done.rgb.shape[:2]
    return StillReport(source, output, w, h, done.faces)
