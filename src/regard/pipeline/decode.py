"""Decode: turn a file's bytes into upright RGB pixels, at the resolution each later stage needs.

Large JPEGs are decoded at reduced size for detection (libjpeg's DCT scaling through Pillow's
draft mode), so a 50 MP original costs a 1/4- or 1/8-size decode. Face crops are taken from an
image decoded at the size where the smallest face still has its full native detail — the
full-resolution image whenever the faces are small.
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from regard.errors import (
    CorruptImageError,
    ImageError,
    ImageTooLargeError,
    InvalidRequestError,
    UnsupportedFormatError,
)

RGBImage = npt.NDArray[np.uint8]

#: Formats Regard indexes. Anything else Pillow might open (PSD, ICO, ...) is refused plainly.
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF", "TIFF", "BMP", "GIF"})
#: File name endings the scanner picks up.
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".webp",
        ".heic",
        ".heif",
        ".hif",
        ".tif",
        ".tiff",
        ".bmp",
        ".gif",
    }
)

_heif_registered = False


def _register_heif() -> None:
    # Registration mutates Pillow's plugin table, so it happens on first decode, not at import.
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_pixels: int = 200_000_000  # a 200 MP phone sensor still fits; bombs do not
    max_file_bytes: int = 1 << 30
    #: What the pixels take decoded, as the file stores them: pixels x bands x bytes per band.
    #: None: 3 bytes a pixel at `max_pixels` (a photo at the pixel limit, in 8-bit RGB). The
    #: pixel count alone lets a 1.5 MB PNG of 196 MP in 16-bit RGBA through (1.5 GiB decoded,
    #: 4-8 GiB while converting).
    max_decoded_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_file_bytes", "max_decoded_bytes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidRequestError(f"The decoding limit {name} must be positive.")

    @property
    def decoded_bytes(self) -> int:
        if self.max_decoded_bytes is not None:
            return self.max_decoded_bytes
        return self.max_pixels * 3


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """Upright RGB pixels and how they relate to the full-resolution upright photo."""

    rgb: RGBImage
    scale: float  # pixels of this image per pixel of the full-resolution photo (<= 1)


class OpenedImage:
    """A file whose header has been checked; it can be decoded at several sizes."""

    def __init__(self, name: str, data: bytes, limits: DecodeLimits) -> None:
        self.name = name
        self._data = data
        self._limits = limits
        header = self._open()
        self.format: str = header.format or "unknown"
        self.raw_size: tuple[int, int] = header.size
        self.exif = _header_exif(self.name, header)
        self.orientation = _effective_orientation(self.exif, self.raw_size)
        w, h = self.raw_size
        self.size = (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)

    def _open(self) -> Image.Image:
        _register_heif()
        Image.MAX_IMAGE_PIXELS = self._limits.max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(self._data))
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(
                self.name,
                f"the image declares more pixels than the limit of "
                f"{self._limits.max_pixels / 1e6:.0f} MP (possibly a decompression bomb)",
                "If it is a genuine photo, raise the limit with --max-megapixels.",
                web_advice="If it is a genuine photo, whoever runs the server can raise the limit.",
            ) from exc
        except UnidentifiedImageError as exc:
            if _looks_supported(self._data):
                # The first bytes say JPEG, PNG, TIFF...: what follows them is damaged.
                raise CorruptImageError(
                    self.name,
                    "the image header cannot be read (the file starts like an image Regard "
                    "reads, but what follows is damaged)",
                    "Restore the file from a backup or re-export it.",
                ) from exc
            raise UnsupportedFormatError(
                self.name,
                "not a recognised image format",
                "Regard indexes JPEG, PNG, WebP, HEIC/HEIF, TIFF, BMP and GIF files.",
            ) from exc
        except Exception as exc:
            failure = decoder_failure(self.name, exc, "header")
            if failure is None:
                raise
            raise failure from exc
        if img.format not in SUPPORTED_FORMATS:
            raise UnsupportedFormatError(
                self.name,
                f"{img.format} images are not supported",
                "Convert it to JPEG, PNG, WebP, HEIC or TIFF.",
            )
        if img.format == "HEIF" and not _boxes_complete(self._data):
            # libheif decodes a cut-off file without complaint, filling what is missing.
            raise CorruptImageError(
                self.name,
                "the HEIF file is truncated (its last box runs past the end of the file)",
                "Restore the file from a backup or copy it from the phone again.",
            )
        w, h = img.size
        if w <= 0 or h <= 0:
            raise CorruptImageError(self.name, "the image has no pixels", "The file is damaged.")
        if w * h > self._limits.max_pixels:
            raise ImageTooLargeError(
                self.name,
                f"{w}x{h} is {w * h / 1e6:.0f} MP, over the limit of "
                f"{self._limits.max_pixels / 1e6:.0f} MP",
                "If it is a genuine photo, raise the limit with --max-megapixels.",
                web_advice="If it is a genuine photo, whoever runs the server can raise the limit.",
            )
        self._check_decoded_size(img)
        return img

    def _check_decoded_size(self, img: Image.Image) -> None:
        w, h = img.size
        bands = len(img.getbands())
        bits = _bits_per_band(img)
        decoded = w * h * bands * math.ceil(bits / 8)
        limit = self._limits.decoded_bytes
        if decoded > limit:
            where = (
                f"{self._limits.max_pixels / 1e6:g} MP"
                if self._limits.max_decoded_bytes is None
                else ""
            )
            raise ImageTooLargeError(
                self.name,
                f"too large to decode: {w}\N{MULTIPLICATION SIGN}{h} pixels at {bits} bits, "
                f"{bands} channel{'s' if bands != 1 else ''} = {_size(decoded)}; the limit is "
                f"{_size(limit)}" + (f" (3 bytes a pixel at the {where} limit)" if where else ""),
                "If it is a genuine photo, raise the limit with --max-megapixels.",
                web_advice="If it is a genuine photo, whoever runs the server can raise the limit.",
            )

    def decode_for_detection(self, max_side: int) -> DecodedImage:
        """Upright RGB with at most `max_side` pixels on the long side."""
        full_w, full_h = self.size
        target = min(1.0, max_side / max(full_w, full_h))
        return self._decode(target, exact=True)

    def decode_at_least(self, scale: float) -> DecodedImage:
        """Upright RGB at `scale` of full resolution or more (JPEG: the next DCT scale up;
        other formats: full resolution)."""
        return self._decode(min(1.0, scale), exact=False)

    def _decode(self, target: float, exact: bool) -> DecodedImage:
        full_w, full_h = self.size
        img = self._open()
        try:
            if target < 1.0 and img.format in ("JPEG", "MPO"):
                # libjpeg scales by 1/2, 1/4 or 1/8 while decoding; draft picks the largest
                # reduction that still gives at least the requested size.
                rw, rh = self.raw_size
                img.draft("RGB", (math.ceil(rw * target), math.ceil(rh * target)))
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)
            img.load()
            if self.orientation != 1:
                img = img.transpose(_TRANSPOSE[self.orientation])
            img = _to_rgb(img)
            want = (max(1, round(full_w * target)), max(1, round(full_h * target)))
            if exact and img.size[0] > want[0] + 1:
                img = img.resize(want, Image.Resampling.BILINEAR, reducing_gap=2.0)
        except Exception as exc:
            failure = decoder_failure(self.name, exc, "data")
            if failure is None:
                raise
            raise failure from exc
        rgb = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
        return DecodedImage(rgb=rgb, scale=rgb.shape[1] / full_w)


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _header_exif(name: str, header: Image.Image) -> Image.Exif:
    """The EXIF block, read without decoding the pixels. A PNG's eXIf chunk may follow the
    image data, where Pillow would decode the whole image to reach it: only one before the
    data (where Pillow and phones write it) is read."""
    if header.format == "PNG":
        exif = Image.Exif()
        raw = header.info.get("exif")
        if isinstance(raw, bytes):
            exif.load(raw)
        return exif
    try:
        return header.getexif()
    except Exception as exc:
        failure = decoder_failure(name, exc, "metadata")
        if failure is None:
            raise
        raise failure from exc


#: Where the image libraries live: an exception raised in them is about the file they were
#: given (a hostile file can make Pillow raise TypeError, KeyError, struct.error...).
_DECODERS = (os.path.dirname(Image.__file__ or "PIL") + os.sep, "pillow_heif" + os.sep)
#: Raised by decoders on bad data whichever code raises them.
_BAD_DATA = (OSError, SyntaxError, ValueError, EOFError, struct.error)


def decoder_failure(name: str, exc: BaseException, stage: str) -> ImageError | None:
    """The error to report for `exc`, raised while reading `stage` ("header", "metadata" or
    "data") of the file `name`: too large when a decoder ran out of room or refused the size
    the file declares, corrupt when the decoder choked on the file. Anything else is a bug of
    ours and is returned as it is (reported as internal)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MemoryError) or "security limit exceeded" in message.lower():
        return ImageTooLargeError(
            name,
            f"there is not enough memory to decode it ({message})"
            if isinstance(exc, MemoryError)
            else f"the decoder refuses the size it declares ({message})",
            "If it is a genuine photo, check its size with another program; lower "
            "--max-megapixels to have such files refused up front.",
            web_advice="If it is a genuine photo, check its size with another program.",
        )
    if isinstance(exc, _BAD_DATA) or _raised_in_decoder(exc):
        what = {
            "header": "the image header cannot be read",
            "metadata": "the image's metadata is truncated or damaged",
        }.get(stage, "the image data is truncated or damaged")
        return CorruptImageError(
            name,
            f"{what} ({message})",
            "Restore the file from a backup or re-export it from the original.",
        )
    return None


def _raised_in_decoder(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and any(d in frames[-1].filename for d in _DECODERS)


def _looks_supported(data: bytes) -> bool:
    from regard.pipeline.sniff import IMAGE_TYPES, sniff

    kind = sniff(data[:32])
    return kind is not None and kind in IMAGE_TYPES and kind != "image/avif"


def _bits_per_band(img: Image.Image) -> int:
    """Bits of each band of a pixel as the file stores them (Pillow may keep fewer)."""
    depth = img.info.get("bit_depth")  # HEIF, from pillow-heif
    if isinstance(depth, int) and depth > 0:
        return depth
    for tile in getattr(img, "tile", ()):
        args = tile[3] if len(tile) > 3 else None
        raw = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) else None)
        if isinstance(raw, str) and (m := re.search(r";(\d+)", raw)):
            return int(m.group(1))
    if img.mode in ("I", "F"):
        return 32
    return 16 if img.mode.startswith("I;16") else 8


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _effective_orientation(exif: Image.Exif, raw_size: tuple[int, int]) -> int:
    """The EXIF orientation to apply, 1..8.

    Editors sometimes rotate the pixels and resave without clearing the tag. When a
    quarter-turn tag (5-8) comes with EXIF pixel dimensions whose aspect is the opposite of
    the stored image's, the pixels were already turned: applying the tag again would lay the
    photo on its side."""
    try:
        orientation = int(exif.get(0x0112, 1) or 1)
    except (TypeError, ValueError):
        return 1
    if not 1 <= orientation <= 8:
        return 1
    if orientation >= 5:
        try:
            sub = exif.get_ifd(0x8769)
            ew, eh = int(sub.get(0xA002, 0) or 0), int(sub.get(0xA003, 0) or 0)
        except Exception:  # hostile IFD offsets raise all sorts
            ew = eh = 0
        w, h = raw_size
        if ew > 0 and eh > 0 and w != h and ew != eh and (ew > eh) != (w > h):
            return 1
    return orientation


def _boxes_complete(data: bytes) -> bool:
    """Whether the top-level ISO-BMFF boxes of a HEIF file fit exactly in `data`."""
    pos, end = 0, len(data)
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        header = 8
        if size == 1:
            if pos + 16 > end:
                return False
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            return True  # the last box runs to the end of the file
        if size < header or pos + size > end:
            return False
        pos += size
    return pos == end


def _rows_to_gray(
    arr: npt.NDArray[Any], scale: Callable[[npt.NDArray[np.float64]], npt.NDArray[Any]]
) -> RGBImage:
    """`scale` applied in float64 a band of rows at a time: the same bytes as on the whole
    image, without a float64 copy of it (1.6 GB for 200 MP), which a worker's memory cap
    would refuse."""
    out = np.empty(arr.shape, dtype=np.uint8)
    for top in range(0, arr.shape[0], 512):
        out[top : top + 512] = scale(arr[top : top + 512].astype(np.float64)).astype(np.uint8)
    return out


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = _rows_to_gray(arr, lambda a: np.clip(a * (255.0 / peak), 0, 255))
        return Image.fromarray(gray, "L").convert("RGB")
    if img.mode == "F":
        arr = np.asarray(img)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        span = hi - lo if hi > lo else 1.0
        gray = _rows_to_gray(arr, lambda a: np.nan_to_num((a - lo) * (255.0 / span)))
        return Image.fromarray(gray, "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # On white, as alpha_composite(white, rgba) would (the same bytes), with two fewer
        # full-size copies: a 150 MP RGBA photo fits in a worker's memory cap.
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return img.convert("RGB")
