"""Decoding: orientation, reduced-size JPEG decode, and a clear error for every bad file."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from regard.errors import (
    CorruptImageError,
    ImageTooLargeError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from regard.pipeline.analyse import read_file
from regard.pipeline.decode import DecodeLimits, OpenedImage

LIMITS = DecodeLimits()


def gradient(w=400, h=300):
    # Built by broadcasting: a 12 MP one in 0.2 s (mgrid's int64 planes took 2 s).
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = (np.arange(w) * 255 // w)[None, :]
    img[..., 1] = (np.arange(h) * 255 // h)[:, None]
    img[..., 2] = (np.arange(h)[:, None] + np.arange(w)[None, :]) % 256
    return img


def encode(arr, fmt="JPEG", **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def opened(data, name="x.jpg", limits=LIMITS):
    return OpenedImage(name, data, limits)


# The inverse of what each EXIF orientation asks the viewer to do.
STORE = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.transpose(a, (1, 0, 2)),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a[:, ::-1], -1),
    8: lambda a: np.rot90(a, -1),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    upright = gradient()
    stored = np.ascontiguousarray(STORE[orientation](upright))
    exif = Image.Exif()
    exif[0x0112] = orientation
    img = opened(encode(stored, "PNG", exif=exif), "x.png")
    assert img.size == (400, 300)
    out = img.decode_for_detection(10_000).rgb
    assert out.shape == upright.shape
    assert np.abs(out.astype(int) - upright.astype(int)).mean() < 1.0


def test_a_stale_quarter_turn_tag_is_not_applied_twice():
    """An editor turned the pixels upright but left 'rotate 90' in the EXIF: the EXIF pixel
    dimensions (landscape) contradict the stored image (portrait), so the tag is ignored."""
    upright = gradient(300, 400)
    exif = Image.Exif()
    exif[0x0112] = 6
    sub = exif.get_ifd(0x8769)
    sub[0xA002], sub[0xA003] = 640, 480
    img = opened(encode(upright, "JPEG", exif=exif, quality=95))
    assert img.orientation == 1 and img.size == (300, 400)
    genuine = Image.Exif()
    genuine[0x0112] = 6
    gsub = genuine.get_ifd(0x8769)
    gsub[0xA002], gsub[0xA003] = 400, 300
    turned = opened(encode(np.ascontiguousarray(np.rot90(upright, 1)), "JPEG", exif=genuine))
    assert turned.orientation == 6 and turned.size == (300, 400)


def test_large_jpegs_are_decoded_small_for_detection():
    data = encode(gradient(4000, 3000), quality=80)
    img = opened(data)
    small = img.decode_for_detection(1000)
    assert small.rgb.shape == (750, 1000, 3)
    assert small.scale == pytest.approx(0.25)
    crop_source = img.decode_at_least(0.3)  # the next DCT scale up is 1/2
    assert crop_source.rgb.shape == (1500, 2000, 3)
    assert crop_source.scale == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("mode", "make"),
    [
        ("RGBA", lambda: Image.new("RGBA", (64, 48), (10, 20, 30, 0))),
        ("LA", lambda: Image.new("LA", (64, 48), (100, 255))),
        ("P", lambda: Image.new("RGB", (64, 48), (50, 60, 70)).convert("P")),
        ("I;16", lambda: Image.fromarray(np.full((48, 64), 65535, np.uint16))),
        ("1", lambda: Image.new("1", (64, 48), 1)),
        ("CMYK", lambda: Image.new("CMYK", (64, 48), (0, 0, 0, 0))),
    ],
)
def test_unusual_pixel_modes_become_rgb(mode, make):
    img = make()
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
    rgb = opened(buf.getvalue(), "x.png").decode_for_detection(1000).rgb
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    if mode == "RGBA":  # fully transparent pixels are shown on white, not black
        assert rgb.min() == 255
    if mode == "I;16":
        assert rgb.min() == 255


def test_truncated_jpeg(tmp_path):
    data = encode(gradient(), quality=90)
    img = opened(data[: len(data) // 2], "cut.jpg")
    with pytest.raises(CorruptImageError) as info:
        img.decode_for_detection(1000)
    assert str(info.value).startswith("cut.jpg: the image data is truncated or damaged (")
    assert str(info.value).endswith(
        "). Restore the file from a backup or re-export it from the original."
    )
    assert info.value.code == "corrupt"


def test_not_an_image():
    with pytest.raises(UnsupportedFormatError) as info:
        opened(b"this is a text file, not a photo\n" * 10, "notes.jpg")
    assert str(info.value) == (
        "notes.jpg: not a recognised image format. Regard indexes JPEG, PNG, WebP, HEIC/HEIF, "
        "TIFF, BMP and GIF files."
    )


def test_empty_file():
    with pytest.raises(UnsupportedFormatError, match=r"^empty\.jpg: not a recognised image"):
        opened(b"", "empty.jpg")


def test_a_format_we_do_not_index():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="ICO")
    with pytest.raises(UnsupportedFormatError) as info:
        opened(buf.getvalue(), "icon.png")
    assert str(info.value) == (
        "icon.png: ICO images are not supported. Convert it to JPEG, PNG, WebP, HEIC or TIFF."
    )


def png_header_only(width, height):
    """A PNG that declares width x height pixels but carries almost no data: a bomb."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError) as info:
        opened(png_header_only(60_000, 60_000), "bomb.png")
    assert str(info.value) == (
        "bomb.png: the image declares more pixels than the limit of 200 MP (possibly a "
        "decompression bomb). If it is a genuine photo, raise the limit with --max-megapixels."
    )


def test_over_the_pixel_limit():
    small_limit = DecodeLimits(max_pixels=100_000)
    with pytest.raises(ImageTooLargeError) as info:
        opened(encode(gradient(400, 300)), "big.jpg", small_limit)
    assert str(info.value) == (
        "big.jpg: 400x300 is 0 MP, over the limit of 0 MP. If it is a genuine photo, raise the "
        "limit with --max-megapixels."
    )


def test_file_over_the_byte_limit(tmp_path):
    path = tmp_path / "huge.jpg"
    path.write_bytes(encode(gradient()))
    with pytest.raises(ImageTooLargeError) as info:
        read_file(path, DecodeLimits(max_file_bytes=1000))
    assert "huge.jpg: the file is 0 MiB, over the limit of 0 MiB." in str(info.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UnreadableFileError) as info:
        read_file(tmp_path / "gone.jpg", LIMITS)
    assert str(info.value) == (
        f"{tmp_path / 'gone.jpg'}: the file disappeared. It was moved or deleted during the run."
    )
    with pytest.raises(UnreadableFileError, match="not a regular file"):
        read_file(tmp_path, LIMITS)
