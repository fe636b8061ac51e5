"""The decoded-size limit: pixels x bands x bytes per band, checked from the header before a
single pixel is decoded, for every format."""

from __future__ import annotations

import io
import resource
import time

import numpy as np
import pytest
from PIL import Image

from regard.errors import ImageTooLargeError, InvalidRequestError
from regard.pipeline.decode import DecodeLimits, OpenedImage
from tests.bombs import rgba16_png_bomb


def test_a_png_bomb_under_the_pixel_limit_is_refused_from_its_header() -> None:
    bomb = rgba16_png_bomb(14_000)  # 196 MP: under the 200 MP limit; 1.5 GiB decoded
    assert len(bomb) < 2 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ImageTooLargeError) as caught:
        OpenedImage("bomb.png", bomb, DecodeLimits())
    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB
    assert str(caught.value) == (
        "bomb.png: too large to decode: 14000\N{MULTIPLICATION SIGN}14000 pixels at 16 bits, "
        "4 channels = 1.5 GiB; the limit is 572.2 MiB (3 bytes a pixel at the 200 MP limit). "
        "If it is a genuine photo, raise the limit with --max-megapixels."
    )
    assert caught.value.code == "too-large"


def encoded(arr: np.ndarray, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "what"),
    [
        (
            encoded(np.zeros((60, 50), np.uint16), "TIFF"),
            "x.tif",
            "60 pixels at 16 bits, 1 channel",
        ),
        (encoded(np.zeros((60, 50), np.uint16), "PNG"), "x.png", "60 pixels at 16 bits, 1 channel"),
        (
            encoded(np.zeros((60, 50, 3), np.uint8), "JPEG"),
            "x.jpg",
            "60 pixels at 8 bits, 3 channels",
        ),
        (
            encoded(np.zeros((60, 50, 4), np.uint8), "WEBP", lossless=True),
            "x.webp",
            "60 pixels at 8 bits, 4 channels",
        ),
        (
            encoded(np.zeros((60, 50, 3), np.uint8), "BMP"),
            "x.bmp",
            "60 pixels at 8 bits, 3 channels",
        ),
    ],
)
def test_every_format_is_measured_by_bands_and_bits(data: bytes, name: str, what: str) -> None:
    limits = DecodeLimits(max_decoded_bytes=50 * 60 * 2 - 1)
    with pytest.raises(ImageTooLargeError) as caught:
        OpenedImage(name, data, limits)
    assert f"50\N{MULTIPLICATION SIGN}{what}" in str(caught.value)
    # Just enough room: it opens.
    per_pixel = 2 if "16 bits" in what else int(what.split(", ")[1][0])
    OpenedImage(name, data, DecodeLimits(max_decoded_bytes=50 * 60 * per_pixel))


@pytest.mark.needs_shared
def test_heic_is_measured_too(shared_data) -> None:
    data = (shared_data / "exif/heic/IMG_5195.HEIC").read_bytes()
    with pytest.raises(ImageTooLargeError) as caught:
        OpenedImage("phone.heic", data, DecodeLimits(max_decoded_bytes=10 * 2**20))
    assert "2566\N{MULTIPLICATION SIGN}3313 pixels at 8 bits, 3 channels = 24.3 MiB" in str(
        caught.value
    )


def test_the_default_follows_the_pixel_limit() -> None:
    assert DecodeLimits().decoded_bytes == 600_000_000
    assert DecodeLimits(max_pixels=10).decoded_bytes == 30
    assert DecodeLimits(max_pixels=10, max_decoded_bytes=7).decoded_bytes == 7
    for bad in ({"max_pixels": 0}, {"max_file_bytes": -5}, {"max_decoded_bytes": 0}):
        with pytest.raises(InvalidRequestError):
            DecodeLimits(**bad)  # type: ignore[arg-type]
