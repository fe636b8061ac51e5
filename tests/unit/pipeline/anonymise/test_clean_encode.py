"""Clean encode on synthetic images: what may be kept, and nothing else rides along.

The same guarantees on real camera files, read back with exiftool, are in
tests/integration/test_clean_encode_exiftool.py."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regard.domain.sharing import KEEPABLE
from regard.errors import OutputError, UnsafeMetadataError
from regard.pipeline.anonymise.clean_encode import check_keep, encode_clean, format_for

FORMATS = ["jpeg", "png", "webp"]


def gradient(w=64, h=48):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256]).astype(np.uint8)


def source_exif():
    """EXIF as a camera writes it: date, model, GPS, serial, owner, orientation, maker note."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 600D"
    exif[0x0112] = 6
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2014:03:05 05:28:09"
    sub[0xA431] = "142066080698"  # BodySerialNumber
    sub[0xA430] = "Jane Doe"  # CameraOwnerName
    sub[0x927C] = b"maker note bytes"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    return exif


def reopen(data):
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize("fmt", FORMATS)
def test_nothing_but_pixels_is_written_by_default(fmt):
    data = encode_clean(gradient(), fmt, source_exif=source_exif())
    img = reopen(data)
    assert len(img.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp"} & set(img.info)
    assert data.count(b"\xff\xd8\xff") == (1 if fmt == "jpeg" else 0), "an embedded JPEG"


@pytest.mark.parametrize("fmt", FORMATS)
def test_kept_fields_are_copied_and_nothing_else(fmt):
    data = encode_clean(
        gradient(), fmt, keep={"DateTimeOriginal", "Model"}, source_exif=source_exif()
    )
    exif = reopen(data).getexif()
    assert dict(exif.items()) == {0x0110: "Canon EOS 600D", 0x8769: exif[0x8769]}
    assert dict(exif.get_ifd(0x8769)) == {0x9003: "2014:03:05 05:28:09"}
    assert exif.get_ifd(0x8825) == {}


def test_a_field_the_source_lacks_is_simply_absent():
    data = encode_clean(gradient(), "jpeg", keep={"LensModel"}, source_exif=source_exif())
    assert len(reopen(data).getexif()) == 0


def test_pixels_survive_a_lossless_round_trip():
    rgb = gradient()
    assert np.array_equal(np.asarray(reopen(encode_clean(rgb, "png")).convert("RGB")), rgb)


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("GPSLatitude", "it says where the photo was taken"),
        ("GPSInfo", "it says where the photo was taken"),
        ("BodySerialNumber", "it identifies the individual camera or lens"),
        ("LensSerialNumber", "it identifies the individual camera or lens"),
        ("CameraOwnerName", "it names the camera's owner"),
        ("ImageUniqueID", "it identifies the individual photo and camera"),
        ("ThumbnailImage", "an embedded thumbnail is a small copy of the original, unblurred"),
        ("PreviewImage", "an embedded preview is a copy of the original, unblurred photo"),
        ("Orientation", "the pixels are written upright"),
        ("ImageDescription", "it is not one of the fields Regard carries over"),
    ],
)
def test_unsafe_fields_are_refused_with_the_reason(field, reason):
    with pytest.raises(UnsafeMetadataError) as err:
        check_keep({"DateTimeOriginal", field})
    assert str(err.value).startswith(f"Cannot keep the metadata field {field!r}: {reason}")
    assert "Fields that can be kept: DateTime, DateTimeDigitized, DateTimeOriginal" in str(
        err.value
    )


def test_maker_notes_are_refused_with_the_exact_message():
    with pytest.raises(UnsafeMetadataError) as err:
        encode_clean(gradient(), "jpeg", keep={"MakerNote"}, source_exif=source_exif())
    assert str(err.value) == (
        "Cannot keep the metadata field 'MakerNote': maker notes are the camera maker's "
        "undocumented data, with serial numbers, owner names and sometimes face positions in "
        f"them. Fields that can be kept: {', '.join(sorted(KEEPABLE))}."
    )


def test_every_keepable_field_passes_the_check():
    check_keep(set(KEEPABLE))


def test_binary_values_are_never_carried_even_in_a_keepable_field():
    exif = Image.Exif()
    exif[0x0110] = b"\x00\xff binary"
    data = encode_clean(gradient(), "jpeg", keep={"Model"}, source_exif=exif)
    assert len(reopen(data).getexif()) == 0


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.jpg", "jpeg"), ("a.JPEG", "jpeg"), ("b.png", "png"), ("c.webp", "webp")]
)
def test_the_format_follows_the_suffix(name, fmt):
    assert format_for(Path(name)) == fmt


def test_an_unknown_suffix_is_refused_plainly():
    with pytest.raises(OutputError) as err:
        format_for(Path("out/copy.tiff"))
    assert str(err.value) == (
        "out/copy.tiff: cannot tell which image format to write from the suffix '.tiff'. "
        "Name the output .jpg, .png or .webp."
    )
