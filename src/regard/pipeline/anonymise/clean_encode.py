"""Clean encode: write pixels to JPEG, PNG or WebP bytes that carry nothing but the pixels.

The image is built afresh from the array, so nothing of the source file can ride along: no
EXIF (GPS, serial numbers, maker notes, owner names), no embedded thumbnail or preview (a small
copy of the *unblurred* photo), no XMP, IPTC, comments or ICC profile. The pixels are written
upright (as `OpenedImage` decodes them), so no orientation tag is needed either.

The owner may ask to carry a few EXIF fields over from the source (`keep`): only those that
say when and with what kind of camera and settings a photo was taken. Anything that says where,
with which individual device, by whom, or that holds a picture or free-form maker data, is
refused with `UnsafeMetadataError` rather than silently dropped, so nobody believes a field was
kept when it was not.

The pixels are treated as sRGB: Regard decodes without colour management, and an ICC profile
can carry device and software descriptions, so none is written.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Final, Literal

from PIL import Image, TiffImagePlugin

from regard.domain.sharing import IFD0, KEEPABLE
from regard.errors import OutputError, UnsafeMetadataError
from regard.pipeline.decode import RGBImage

ImageFormat = Literal["jpeg", "png", "webp"]


_NEVER: Final = (
    # (what the name contains, lower case) -> why it is never carried over
    ("gps", "it says where the photo was taken"),
    ("serial", "it identifies the individual camera or lens"),
    ("owner", "it names the camera's owner"),
    ("uniqueid", "it identifies the individual photo and camera"),
    (
        "makernote",
        "maker notes are the camera maker's undocumented data, with serial numbers, "
        "owner names and sometimes face positions in them",
    ),
    ("thumbnail", "an embedded thumbnail is a small copy of the original, unblurred photo"),
    ("preview", "an embedded preview is a copy of the original, unblurred photo"),
    ("jpeginterchange", "it locates the embedded thumbnail, a copy of the unblurred photo"),
    ("orientation", "the pixels are written upright; an orientation tag would turn them again"),
)

_SUFFIXES: Final[Mapping[str, ImageFormat]] = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".png": "png",
    ".webp": "webp",
}


def format_for(path: Path) -> ImageFormat:
    """The format a file name asks for, by its suffix."""
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise OutputError(
            path,
            f"cannot tell which image format to write from the suffix {path.suffix!r}",
            "Name the output .jpg, .png or .webp.",
        ) from None


def check_keep(keep: Collection[str]) -> None:
    """Raise `UnsafeMetadataError` for the first field in `keep` that may not be kept."""
    for name in sorted(keep):
        if name in KEEPABLE:
            continue
        lowered = name.lower().replace("_", "").replace(" ", "")
        reason = next((why for part, why in _NEVER if part in lowered), None)
        if reason is None:
            reason = (
                "it is not one of the fields Regard carries over (dates, camera and lens "
                "model, exposure settings)"
            )
        raise UnsafeMetadataError(name, reason, KEEPABLE)


def encode_clean(
    rgb: RGBImage,
    fmt: ImageFormat,
    *,
    quality: int = 90,
    keep: Collection[str] = (),
    source_exif: Image.Exif | None = None,
) -> bytes:
    """`rgb` (upright, H x W x 3) encoded as `fmt` with no metadata but the EXIF fields named
    in `keep`, copied from `source_exif` (those the source lacks are simply absent)."""
    check_keep(keep)
    if fmt not in ("jpeg", "png", "webp"):
        raise ValueError(f"unknown image format {fmt!r}")
    image = Image.fromarray(rgb, "RGB")  # a new image: its `info` is empty
    params: dict[str, object] = {}
    exif = _kept_exif(source_exif, keep) if keep and source_exif is not None else None
    if exif is not None:
        params["exif"] = exif
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.save(buf, "JPEG", quality=quality, **params)
    elif fmt == "png":
        image.save(buf, "PNG", compress_level=6, **params)
    else:
        image.save(buf, "WEBP", quality=quality, method=4, **params)
    return buf.getvalue()


def _kept_exif(source: Image.Exif, keep: Collection[str]) -> bytes | None:
    out = Image.Exif()
    kept = 0
    for name in sorted(keep):
        ifd, tag = KEEPABLE[name]
        try:
            table = source if ifd == IFD0 else source.get_ifd(ifd)
            value = table.get(tag)
        except Exception:  # a hostile IFD offset raises all sorts; the field is then absent
            continue
        if not _plain(value):
            continue
        if ifd == IFD0:
            out[tag] = value
        else:
            out.get_ifd(ifd)[tag] = value
        kept += 1
    return out.tobytes() if kept else None


def _plain(value: object) -> bool:
    """Text or numbers only: a kept field never carries a binary blob."""
    if isinstance(value, str):
        return "\x00" not in value.rstrip("\x00")
    if isinstance(value, int | float | TiffImagePlugin.IFDRational):
        return True
    if isinstance(value, tuple):
        return 0 < len(value) <= 8 and all(
            isinstance(v, int | float | TiffImagePlugin.IFDRational) for v in value
        )
    return False
