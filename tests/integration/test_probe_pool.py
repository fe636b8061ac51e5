"""The server's probe workers: a photo handed in is read in a worker process, with a time
limit and a memory cap; a worker that hangs, crashes or runs out of room costs that photo an
error, and the next photo is read as usual."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from regard.errors import (
    DecoderCrashError,
    DecoderTimeoutError,
    ImageTooLargeError,
)
from regard.jobs.pool import ProbePool
from regard.jobs.probes import Probes
from regard.pipeline.analyse import AnalysisSettings
from regard.pipeline.decode import DecodeLimits
from regard.testing import CRASH_SIZE, HANG_SIZE, FakeModels, draw_faces
from tests.bombs import png_of_zeros

RED = (200, 20, 20)


@pytest.fixture
def probes() -> Iterator[Probes]:
    # Decoding limits wide open, a memory cap of 300 MiB beyond the loaded worker: what the
    # limits would let through, the cap still stops.
    settings = AnalysisSettings(limits=DecodeLimits(max_decoded_bytes=4 << 30))
    pool = ProbePool(
        1, settings, FakeModels(misbehave=True), task_timeout=3.0, memory_limit=300 << 20
    )
    yield Probes(pool)
    pool.close()


def test_hangs_crashes_and_memory_hogs_cost_one_photo(probes: Probes, tmp_path: Path) -> None:
    good = draw_faces(tmp_path / "good.png", [(20, 20, 40, RED)])
    hang = tmp_path / "hang.png"
    Image.new("RGB", HANG_SIZE, "white").save(hang)
    crash = tmp_path / "crash.png"
    Image.new("RGB", CRASH_SIZE, "white").save(crash)
    hog = tmp_path / "hog.png"
    hog.write_bytes(png_of_zeros(10_000))  # 300 MB decoded, 400 MB in Pillow: over the cap

    assert len(probes.faces(good)) == 1
    with pytest.raises(DecoderTimeoutError) as timed_out:
        probes.faces(hang)
    assert str(timed_out.value) == (
        f"{hang}: reading it took longer than 3 s and was stopped. The file may be crafted to "
        "stall decoders; check it, or raise --timeout if it is a genuine, very large photo."
    )
    with pytest.raises(DecoderCrashError) as crashed:
        probes.faces(crash)
    assert "(the worker was killed by SIGSEGV)" in str(crashed.value)
    with pytest.raises(ImageTooLargeError) as hogged:
        probes.faces(hog)
    assert "there is not enough memory to decode it" in str(hogged.value)
    assert len(probes.faces(good)) == 1  # a fresh worker took over each time
    header = probes.header(good)
    assert (header.format, header.width, header.height) == ("PNG", 320, 240)


def test_what_the_decoders_say_goes_to_the_log_with_the_photo(
    probes: Probes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photo = draw_faces(tmp_path / "photo.png", [(20, 20, 40, RED)])
    # An EXIF block cut short: Pillow warns about it.
    img = Image.open(photo)
    exif = img.getexif()
    exif[0x010F] = "Camera maker" * 10
    img.save(tmp_path / "exif.jpg", exif=exif.tobytes()[:-40])
    with caplog.at_level(logging.WARNING, logger="regard.decode"):
        probes.header(tmp_path / "exif.jpg")
    said = [r.getMessage() for r in caplog.records if r.name == "regard.decode"]
    assert said and all(m.startswith(f"{tmp_path / 'exif.jpg'}: ") for m in said), said
