"""Metadata: capture time, place and camera from EXIF, tolerant of the junk real cameras write.

A field that cannot be parsed is left empty; a broken EXIF block never fails the photo.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from PIL import Image

from regard.domain.photo import PhotoMetadata

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL = 0x9003, 0x9011
_DATE_RE = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def read_metadata(
    exif: Image.Exif, fmt: str, size: tuple[int, int], orientation: int
) -> PhotoMetadata:
    base: Mapping[int, Any] = exif
    sub = _ifd(exif, _EXIF_IFD)
    gps = _ifd(exif, _GPS_IFD)
    taken = _parse_datetime(sub.get(_DATETIME_ORIGINAL)) or _parse_datetime(base.get(_DATETIME))
    if taken is not None:
        offset = _text(sub.get(_OFFSET_ORIGINAL))
        if offset and re.fullmatch(r"[+-]\d{2}:\d{2}", offset):
            taken += offset
    lat = _gps_coordinate(gps.get(2), gps.get(1), "NS")
    lon = _gps_coordinate(gps.get(4), gps.get(3), "EW")
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        # (0, 0) is what phones write when they had no fix, not a place in the Gulf of Guinea.
        lat = lon = None
    alt = _rational(gps.get(6)) if lat is not None else None
    if alt is not None and _int(gps.get(5)) == 1:
        alt = -alt
    return PhotoMetadata(
        format=fmt,
        width=size[0],
        height=size[1],
        orientation=orientation,
        taken_at=taken,
        gps_lat=lat,
        gps_lon=lon,
        gps_alt=alt,
        camera_make=_text(base.get(_MAKE)),
        camera_model=_text(base.get(_MODEL)),
    )


def _ifd(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        return exif.get_ifd(tag)
    except Exception:  # Pillow raises many kinds of error on hostile IFD offsets
        return {}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned[:200] or None


def _parse_datetime(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    m = _DATE_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    if not (1800 <= y <= 2200 and 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{min(s, 59):02d}"


def _rational(value: Any) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            num, den = float(value[0]), float(value[1])
            result = num / den if den else math.nan
        else:
            result = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return result if math.isfinite(result) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _gps_coordinate(dms: Any, ref: Any, hemispheres: str) -> float | None:
    if not isinstance(dms, tuple | list) or len(dms) != 3:
        return None
    parts = [_rational(p) for p in dms]
    if any(p is None for p in parts):
        return None
    deg, minutes, seconds = (float(p) for p in parts if p is not None)
    value = deg + minutes / 60.0 + seconds / 3600.0
    limit = 90.0 if hemispheres == "NS" else 180.0
    if not (0.0 <= value <= limit):
        return None
    ref_text = (_text(ref) or hemispheres[0]).upper()[:1]
    if ref_text == hemispheres[1]:
        value = -value
    return round(value, 7)
