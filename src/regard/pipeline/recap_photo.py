"""A photo of a recap, anonymised as an export is before any render shows it.

The library knows the faces indexing found: worth recognising, from a score of 0.6 at 1280
pixels. A face it never found (small, turned, half hidden) has no person and no consent, and
a blur drawn from the library's boxes alone leaves it as it is; a blurred head can also still
read as a face. So a photo that has anything to hide (a face that may not be shown, or, where
faces in no person may not be shown, any face at all) is first written as a copy of its own
through the export's anonymiser (`regard.pipeline.anonymise.redact.redact_photo`): every face
found blurred, the blurred heads searched again, the faces that may be shown left as they are.
The renders then show that copy, in which nothing is left to blur.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regard.atomic import write_atomically
from regard.domain.face import Box
from regard.inference.protocols import FaceDetector, RGBImage
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise.clean_encode import encode_clean, format_for
from regard.pipeline.anonymise.redact import DETECT_LONG_SIDE, overlaps, redact_photo
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.recap_tiles import PHOTO_BLUR, SkippedTile, Tile, TileFace, reworked

#: The copy's long side at most: the anonymiser searches no finer, and no render shows more
#: (a collage is 2048 pixels wide, a slideshow 1920).
COPY_LONG_SIDE = DETECT_LONG_SIDE


@dataclass(frozen=True, slots=True)
class AnonymisedPhotos:
    tiles: list[Tile]  # every tile, a photo with anything to hide replaced by its copy
    skipped: list[SkippedTile]  # photos that could not be read, and why
    found: int  # faces blurred that the library did not know of


def needs_anonymising(tile: Tile, *, unknown_hidden: bool) -> bool:
    """Whether a photo tile has anything to hide: a face that may not be shown, or, where
    faces in no person may not be shown (`unknown_hidden`), possibly a face indexing missed."""
    return not tile.is_video and (unknown_hidden or any(not f.keep for f in tile.faces))


def anonymised_photos(
    tiles: Sequence[Tile],
    detector: FaceDetector,
    folder: Path,
    *,
    unknown_hidden: bool,
    limits: DecodeLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> AnonymisedPhotos:
    """`tiles` with each photo that has anything to hide (`needs_anonymising`) replaced by
    its anonymised copy (written in `folder`), and the photos that could not be read (left
    out, with the reason). `progress(done, total)` counts those photos; `cancel()` is asked
    before each."""
    found = 0

    def copy(n: int, tile: Tile) -> Tile:
        nonlocal found
        shown, new = anonymised_photo(tile, detector, folder / f"photo-{n}.jpg", limits)
        found += new
        return shown

    out, skipped = reworked(
        tiles,
        lambda t: needs_anonymising(t, unknown_hidden=unknown_hidden),
        copy,
        folder.name,
        progress,
        cancel,
    )
    return AnonymisedPhotos(out, skipped, found)


def anonymised_photo(
    tile: Tile, detector: FaceDetector, output: Path, limits: DecodeLimits | None = None
) -> tuple[Tile, int]:
    """The photo written to `output` (a JPEG, upright, at most `COPY_LONG_SIDE` pixels long,
    no metadata) with every face blurred but those kept; the tile showing it (its faces and
    the faces found beside them, all kept: their pixels are what may be shown) and how many
    faces were blurred that the library did not know of."""
    limits = limits or DecodeLimits()
    path = Path(tile.path)
    opened = OpenedImage(str(path), read_file(path, limits)[1], limits)
    w, h = opened.size
    decoded = opened.decode_at_least(min(1.0, COPY_LONG_SIDE / max(w, h)))
    rgb, scale = decoded.rgb, decoded.scale
    long = max(rgb.shape[:2])
    if long > COPY_LONG_SIDE:  # a DCT step above it (or not a JPEG): the rest by resizing
        rgb, scale = _shrunk(rgb, COPY_LONG_SIDE / long), scale * COPY_LONG_SIDE / long
    faces = [_scaled(f, scale) for f in tile.faces]
    boxes = [Box(*f.box) for f in faces]
    done = redact_photo(
        rgb,
        detector,
        blur=PHOTO_BLUR,
        known=[b for b, f in zip(boxes, faces, strict=True) if not f.keep],
        keep=[b for b, f in zip(boxes, faces, strict=True) if f.keep],
    )
    write_atomically(output, encode_clean(done.rgb, format_for(output), quality=95))
    # The heads it blurred of faces the library did not know: held whole by a crop too.
    fresh = [
        TileFace((round(b.x), round(b.y), round(b.w), round(b.h)), keep=True)
        for b in done.blurred
        if not overlaps(b, boxes)
    ]
    shown = tuple(TileFace(f.box, keep=True) for f in faces) + tuple(fresh)
    return Tile(str(output), shown), done.found


def _scaled(face: TileFace, scale: float) -> TileFace:
    x, y, w, h = face.box
    box = (round(x * scale), round(y * scale), round(w * scale), round(h * scale))
    return TileFace(box, face.keep)


def _shrunk(rgb: RGBImage, factor: float) -> RGBImage:
    import cv2  # lazily: start-up of commands that make no recap

    h, w = rgb.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
