"""Thumbnails for the web app: made once per photo and size, cached in the library folder.

Faces whose owners opted out are blurred in every thumbnail, display copy and face crop (a
neighbour's crop can hold them in its margin), and no copy carries metadata. Face crops
(covers) are cut on demand and never stored: they are biometric. Erased faces are shown like
any face in no person: the photos are the owner's, only what identified them is gone.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from regard.atomic import private_dirs, write_atomically
from regard.domain.face import Box
from regard.domain.people import face_label
from regard.errors import (
    FaceNotFoundError,
    OptedOutError,
    PhotoNotFoundError,
    UnreadableFileError,
)
from regard.pipeline.anonymise.blur import blur_faces
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.storage.repositories import Store

SIZES = (256, 1024, 2048)


class Thumbnails:
    def __init__(self, catalog: Store, folder: Path, limits: DecodeLimits) -> None:
        self.catalog = catalog
        self.folder = folder
        self.limits = limits

    def path(self, photo_id: int, size: int) -> Path:
        return self.folder / f"{photo_id // 1000:04d}" / f"{photo_id}-{size}.jpg"

    def get(self, photo_id: int, size: int) -> bytes:
        size = min(SIZES, key=lambda s: abs(s - size))
        cached = self.path(photo_id, size)
        if cached.exists():
            return cached.read_bytes()
        photo = self.catalog.photos.get(photo_id)
        if photo is None:
            raise PhotoNotFoundError(photo_id)
        data = self._render(photo.path, photo_id, size)
        private_dirs(cached.parent)
        write_atomically(cached, data, private=True)
        return data

    def _render(self, path: str, photo_id: int, size: int) -> bytes:
        raw = _read(path)
        img = OpenedImage(path, raw, self.limits).decode_for_detection(size)
        hidden = [
            Box(r["x"] * img.scale, r["y"] * img.scale, r["w"] * img.scale, r["h"] * img.scale)
            for r in self.catalog.faces.rows(photo_id)
            if r["biometric"] == "opted_out"
        ]
        rgb = blur_faces(img.rgb, hidden) if hidden else img.rgb
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=85)
        return buf.getvalue()

    def face_crop(self, face_id: int, size: int = 160) -> bytes:
        r = self.catalog.faces.row(face_id)
        if r is None:
            raise FaceNotFoundError(face_label(face_id))
        if r["biometric"] == "opted_out":
            raise OptedOutError("This person opted out: their face is not shown.")
        photo = self.catalog.photos.get(int(r["photo_id"]))
        if photo is None:
            raise PhotoNotFoundError(int(r["photo_id"]))
        raw = _read(photo.path)
        opened = OpenedImage(photo.path, raw, self.limits)
        img = opened.decode_at_least(min(1.0, size * 2 / max(r["w"], r["h"], 1.0)))
        s = img.scale
        m = 0.35
        x0 = max(0, int((r["x"] - m * r["w"]) * s))
        y0 = max(0, int((r["y"] - m * r["h"]) * s))
        x1 = min(img.rgb.shape[1], int((r["x"] + (1 + m) * r["w"]) * s))
        y1 = min(img.rgb.shape[0], int((r["y"] + (1 + m) * r["h"]) * s))
        region = img.rgb[y0:y1, x0:x1]
        hidden = [
            Box(o["x"] * s - x0, o["y"] * s - y0, o["w"] * s, o["h"] * s)
            for o in self.catalog.faces.rows(int(r["photo_id"]))
            if o["biometric"] == "opted_out"
        ]
        if hidden:
            region = blur_faces(np.ascontiguousarray(region), hidden)
        crop = Image.fromarray(region)
        crop.thumbnail((size, size))
        buf = io.BytesIO()
        crop.save(buf, "JPEG", quality=85)
        return buf.getvalue()

    def forget(self, photo_ids: list[int]) -> None:
        for pid in photo_ids:
            for size in SIZES:
                self.path(pid, size).unlink(missing_ok=True)


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
