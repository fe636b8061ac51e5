"""The small look recaps take of a photo: near-duplicates hash alike, sharpness, exposure."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from regard.domain.recap_choice import DUPLICATE_BITS
from regard.pipeline.decode import DecodeLimits
from regard.pipeline.recap_looks import look_at


def _copy(src: Path, out: Path, *, scale: float = 1.0, quality: int = 90, **edit: float) -> Path:
    img = Image.open(src).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    arr = np.asarray(img).astype(np.float32)
    arr = arr * edit.get("gain", 1.0)
    if edit.get("blur"):
        arr = cv2.GaussianBlur(arr, (0, 0), edit["blur"])
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    out.write_bytes(buf.getvalue())
    return out


def test_near_duplicates_hash_alike_and_other_photos_do_not(
    shared_data: Path, tmp_path: Path
) -> None:
    limits = DecodeLimits()
    gps = sorted((shared_data / "exif/jpg/gps").glob("*.jpg"))
    original = gps[0]
    smaller = _copy(original, tmp_path / "small.jpg", scale=0.5, quality=60)
    looks = [look_at(p, limits) for p in (original, smaller, *gps[1:])]
    assert all(looks)
    a, b, *others = [lk.dhash for lk in looks if lk]
    assert (a ^ b).bit_count() <= DUPLICATE_BITS
    # The same afternoon's other photos (one town, similar light) are not duplicates of it.
    assert all((a ^ o).bit_count() > DUPLICATE_BITS for o in others)


def test_sharpness_and_exposure_say_which_copy_is_better(shared_data: Path, tmp_path: Path) -> None:
    limits = DecodeLimits()
    original = sorted((shared_data / "exif/jpg/gps").glob("*.jpg"))[0]
    good = look_at(original, limits)
    soft = look_at(_copy(original, tmp_path / "soft.jpg", blur=4.0), limits)
    dark = look_at(_copy(original, tmp_path / "dark.jpg", gain=0.15), limits)
    assert good and soft and dark
    assert soft.sharpness < good.sharpness / 2
    assert dark.exposure < good.exposure - 0.3


def test_a_file_that_cannot_be_read_has_no_look(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    assert look_at(bad, DecodeLimits()) is None
    assert look_at(tmp_path / "missing.jpg", DecodeLimits()) is None
