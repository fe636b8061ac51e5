"""What a shared copy may be: how its faces are hidden, and which EXIF fields it may keep.

Plain names and numbers, so the command line can offer them in its help without loading the
code that blurs and encodes (`regard.pipeline.anonymise`), which applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

BlurMethod = Literal["gaussian", "mosaic", "solid"]
BLUR_METHODS: tuple[BlurMethod, ...] = ("gaussian", "mosaic", "solid")

IFD0: Final = 0
EXIF_IFD: Final = 0x8769

#: EXIF fields that may be carried over, by their EXIF (and exiftool) name: (IFD, tag).
KEEPABLE: Final[Mapping[str, tuple[int, int]]] = {
    "DateTime": (IFD0, 0x0132),
    "DateTimeOriginal": (EXIF_IFD, 0x9003),
    "DateTimeDigitized": (EXIF_IFD, 0x9004),
    "OffsetTime": (EXIF_IFD, 0x9010),
    "OffsetTimeOriginal": (EXIF_IFD, 0x9011),
    "OffsetTimeDigitized": (EXIF_IFD, 0x9012),
    "SubSecTimeOriginal": (EXIF_IFD, 0x9291),
    "Make": (IFD0, 0x010F),
    "Model": (IFD0, 0x0110),
    "LensMake": (EXIF_IFD, 0xA433),
    "LensModel": (EXIF_IFD, 0xA434),
    "ExposureTime": (EXIF_IFD, 0x829A),
    "FNumber": (EXIF_IFD, 0x829D),
    "ExposureProgram": (EXIF_IFD, 0x8822),
    "ISOSpeedRatings": (EXIF_IFD, 0x8827),
    "ExposureBiasValue": (EXIF_IFD, 0x9204),
    "MeteringMode": (EXIF_IFD, 0x9207),
    "Flash": (EXIF_IFD, 0x9209),
    "FocalLength": (EXIF_IFD, 0x920A),
    "FocalLengthIn35mmFilm": (EXIF_IFD, 0xA405),
    "WhiteBalance": (EXIF_IFD, 0xA403),
}
