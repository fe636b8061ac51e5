"""Thumbnails for the web app: made once per photo and size, cached in the library folder.

Faces whose owners opted out are blurred in every thumbnail, display copy and face crop (a
neighbour's crop can hold them in its margin), and no copy carries metadata. Face crops
(covers) are cut on demand and never stored: they are biometric. Erased faces are shown like
any face in no person: the photos are the owner's, only what identified them is gone.

A video's thumbnail is its poster: the picture at the best moment of its largest appearance
(at 1 s if nobody is in it); the crop of one of its faces is cut from the picture at that
appearance's best moment. Opted-out faces on screen at that moment are blurred there.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from regard.atomic import private_dirs, write_atomically
from regard.domain.appearance import Moment
from regard.domain.face import Box
from regard.domain.people import face_label
from regard.domain.photo import Photo
from regard.errors import (
    FaceNotFoundError,
    OptedOutError,
    PhotoNotFoundError,
    UnreadableFileError,
)
from regard.pipeline.anonymise.blur import blur_faces
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.video_still import still_at
from regard.storage.repositories import Store

SIZES = (256, 1024, 2048)
#: The long side of a full-resolution display copy at most (a 64-megapixel photo's).
FULL_SIDE = 9248


Hold = Callable[[], AbstractContextManager[Any]]


class Thumbnails:
    """Every method reads the catalog while holding `hold()` (a server's engine lock; nothing
    outside a server) and decodes and encodes without it: a server makes several pictures at
    once while its other requests are answered. A picture kept is written under `hold()` only
    if no photo was forgotten since its catalog was read (an opt-out meanwhile blurs a face
    the picture was made without: it is sent this once, never kept)."""

    def __init__(self, catalog: Store, folder: Path, limits: DecodeLimits) -> None:
        self.catalog = catalog
        self.folder = folder
        self.limits = limits
        self._forgotten = 0  # how many times photos were forgotten (their pictures outdated)

    def path(self, photo_id: int, size: int) -> Path:
        return self.folder / f"{photo_id // 1000:04d}" / f"{photo_id}-{size}.jpg"

    def get(self, photo_id: int, size: int) -> bytes:
        return self.get_held(photo_id, size, nullcontext)

    def get_held(self, photo_id: int, size: int, hold: Hold) -> bytes:
        """The thumbnail (made now if it was not kept)."""
        size = min(SIZES, key=lambda s: abs(s - size))
        cached = self.path(photo_id, size)
        if cached.exists():
            return cached.read_bytes()
        with hold():
            mark = self._forgotten
            photo = self.catalog.photos.get(photo_id)
            if photo is None:
                raise PhotoNotFoundError(photo_id)
            if _is_video(photo):
                make = self._video_maker(photo, size)
            else:
                make = partial(self._render, photo.path, self._opted_out_boxes(photo_id), size)
        data = make()
        self._keep(cached, data, mark, hold)
        return data

    def full(self, photo_id: int, hold: Hold = nullcontext) -> bytes:
        """A display copy at full resolution (up to `FULL_SIDE` pixels on the long side), to
        zoom into: upright, opted-out faces blurred, no metadata. Not cached: it is as large
        as the photo, and looked at closely only now and then."""
        with hold():
            photo = self.catalog.photos.get(photo_id)
            if photo is None:
                raise PhotoNotFoundError(photo_id)
            hidden = [] if _is_video(photo) else self._opted_out_boxes(photo_id)
        if _is_video(photo):
            return self.get_held(photo_id, max(SIZES), hold)
        return self._render(photo.path, hidden, FULL_SIDE, quality=90)

    def _keep(self, cached: Path, data: bytes, mark: int, hold: Hold) -> None:
        with hold():
            if self._forgotten == mark:
                private_dirs(cached.parent)
                write_atomically(cached, data, private=True)

    def _opted_out_boxes(self, photo_id: int) -> list[Box]:
        return [
            Box(r["x"], r["y"], r["w"], r["h"])
            for r in self.catalog.faces.rows(photo_id)
            if r["biometric"] == "opted_out"
        ]

    def _render(self, path: str, opted_out: list[Box], size: int, quality: int = 85) -> bytes:
        raw = _read(path)
        img = OpenedImage(path, raw, self.limits).decode_for_detection(size)
        s = img.scale
        hidden = [Box(b.x * s, b.y * s, b.w * s, b.h * s) for b in opted_out]
        return _jpeg(blur_faces(img.rgb, hidden) if hidden else img.rgb, quality)

    def _video_maker(self, photo: Photo, size: int) -> Callable[[], bytes]:
        """What the catalog says of the video's poster (read now), and how to make it (later)."""
        moments = self.catalog.appearances.of_video(photo.id)
        opted = self._opted_out(photo.id)
        return partial(self._render_video, photo, moments, opted, size)

    def _render_video(
        self, photo: Photo, moments: list[Moment], opted: set[int], size: int
    ) -> bytes:
        biggest = max(moments, key=lambda m: m.box.w * m.box.h, default=None)
        duration = photo.metadata.duration if photo.metadata else None
        t = biggest.best_time if biggest else min(1.0, (duration or 0.0) / 2)
        return _jpeg(_still(photo, t, size, moments, opted))

    def _opted_out(self, photo_id: int) -> set[int]:
        return {
            int(r["id"]) for r in self.catalog.faces.rows(photo_id) if r["biometric"] == "opted_out"
        }

    def moment_still(self, face_id: int, size: int, hold: Hold = nullcontext) -> bytes:
        """The whole picture of a video at the best moment of this face's appearance (a
        search result's poster for the moment), opted-out faces there blurred; cached. For a
        face of a photo, the photo."""
        size = min(SIZES, key=lambda s: abs(s - size))
        with hold():
            mark = self._forgotten
            moment = self.catalog.appearances.of_faces([face_id]).get(face_id)
            if moment is None:  # a face of a photo: the photo
                row = self.catalog.faces.row(face_id)
                if row is None:
                    raise FaceNotFoundError(face_label(face_id))
                photo_id = int(row["photo_id"])
            else:
                found = self.catalog.photos.get(moment.photo_id)
                if found is None:
                    raise PhotoNotFoundError(moment.photo_id)
                photo: Photo = found
                cached = self.path(photo.id, size).with_name(f"{photo.id}-f{face_id}-{size}.jpg")
                if cached.exists():
                    return cached.read_bytes()
                moments = self.catalog.appearances.of_video(photo.id)
                opted = self._opted_out(photo.id)
        if moment is None:
            return self.get_held(photo_id, size, hold)
        data = _jpeg(_still(photo, moment.best_time, size, moments, opted))
        self._keep(cached, data, mark, hold)
        return data

    def face_crop(self, face_id: int, size: int = 160, hold: Hold = nullcontext) -> bytes:
        """A face, cut from its photo (or its video's picture at its appearance's best moment)
        with a margin, opted-out faces in that margin blurred; never kept."""
        with hold():
            r = self.catalog.faces.row(face_id)
            if r is None:
                raise FaceNotFoundError(face_label(face_id))
            if r["biometric"] == "opted_out":
                raise OptedOutError("This person opted out: their face is not shown.")
            photo_id = int(r["photo_id"])
            photo = self.catalog.photos.get(photo_id)
            if photo is None:
                raise PhotoNotFoundError(photo_id)
            moment = self.catalog.appearances.of_faces([face_id]).get(face_id)
            moments = self.catalog.appearances.of_video(photo_id) if moment else []
            opted = self._opted_out(photo_id) if moment else set()
            others = [] if moment else self._opted_out_boxes(photo_id)
        if moment is not None:
            rgb, s = still_at(Path(photo.path), moment.best_time), 1.0
        else:
            raw = _read(photo.path)
            opened = OpenedImage(photo.path, raw, self.limits)
            img = opened.decode_at_least(min(1.0, size * 2 / max(r["w"], r["h"], 1.0)))
            rgb, s = img.rgb, img.scale
        m = 0.35
        x0 = max(0, int((r["x"] - m * r["w"]) * s))
        y0 = max(0, int((r["y"] - m * r["h"]) * s))
        x1 = min(rgb.shape[1], int((r["x"] + (1 + m) * r["w"]) * s))
        y1 = min(rgb.shape[0], int((r["y"] + (1 + m) * r["h"]) * s))
        region = rgb[y0:y1, x0:x1]
        if moment is not None:
            region = _hide_opted_out(region, opted, moments, moment.best_time, s, x0, y0)
        elif others:
            hidden = [Box(o.x * s - x0, o.y * s - y0, o.w * s, o.h * s) for o in others]
            region = blur_faces(np.ascontiguousarray(region), hidden)
        crop = Image.fromarray(region)
        crop.thumbnail((size, size))
        return _jpeg(np.asarray(crop))

    def forget(self, photo_ids: list[int]) -> None:
        """The photos' pictures are outdated (a face opted out, the file changed): those kept
        go, and none being made meanwhile is kept. Call it under the lock the readers hold."""
        self._forgotten += 1
        for pid in photo_ids:
            for size in SIZES:
                self.path(pid, size).unlink(missing_ok=True)
            folder = self.path(pid, SIZES[0]).parent
            if folder.is_dir():
                for still in folder.glob(f"{pid}-f*.jpg"):  # a video's moment stills
                    still.unlink(missing_ok=True)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableFileError(
            Path(path),
            f"the photo file cannot be read ({exc.strerror})",
            "It was moved or deleted since it was indexed: run `regard index` on its folder.",
            web_advice="It was moved or deleted since it was indexed: put it back, or add it "
            "again on the Library page.",
        ) from exc


def _still(photo: Photo, t: float, size: int, moments: list[Moment], opted: set[int]) -> np.ndarray:
    """The video's picture at `t`, at most `size` pixels long, opted-out faces blurred."""
    rgb = still_at(Path(photo.path), t)
    scale = min(1.0, size / max(rgb.shape[:2]))
    if scale < 1.0:
        small = Image.fromarray(rgb)
        small.thumbnail((size, size))
        rgb = np.asarray(small)
    return _hide_opted_out(rgb, opted, moments, t, scale, 0, 0)


def _jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _is_video(photo: Photo) -> bool:
    return photo.metadata is not None and photo.metadata.media == "video"


def _hide_opted_out(
    rgb: np.ndarray,
    opted: set[int],
    moments: list[Moment],
    t: float,
    scale: float,
    x0: int,
    y0: int,
) -> np.ndarray:
    """`rgb` (a picture of the video at `t`, scaled and cut at x0, y0) with the faces of the
    appearances in `opted` blurred where they are at `t`."""
    hidden = [
        Box(b.x * scale - x0, b.y * scale - y0, b.w * scale, b.h * scale)
        for m in moments
        if m.face_id in opted and (b := m.box_at(t)) is not None
    ]
    return blur_faces(np.ascontiguousarray(rgb), hidden) if hidden else rgb
