"""Broken, hostile and odd files: a clear per-file error each, and the run goes on."""

import os
import shutil
import struct
import zlib

import pytest

from regard.domain.photo import PhotoStatus

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


def png_bomb() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def test_the_exif_samples_and_damaged_copies(real_engine, shared_data, tmp_path):
    bad = tmp_path / "damaged"
    bad.mkdir()
    camera = (shared_data / "camera" / "Canon PowerShot A560.jpg").read_bytes()
    heic = (shared_data / "exif/heic/IMG_5195.HEIC").read_bytes()
    (bad / "truncated.jpg").write_bytes(camera[: len(camera) // 3])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.jpg").write_bytes(b"Not a photo at all.\n" * 50)
    (bad / "bomb.png").write_bytes(png_bomb())
    (bad / "truncated.heic").write_bytes(heic[: len(heic) // 2])
    (bad / "header-only.jpg").write_bytes(camera[:2000])
    unreadable = bad / "locked.jpg"
    shutil.copy(shared_data / "exif/jpg/Canon_40D.jpg", unreadable)
    unreadable.chmod(0)
    good = tmp_path / "good.jpg"
    shutil.copy(shared_data / "photos/face_recognition/identities/biden/biden.jpg", good)

    report = real_engine.index([shared_data / "exif", bad, good])
    problems = {f.path: f for f in report.failures}

    def problem(name):
        return problems[str(bad / name)]

    assert problem("truncated.jpg").code == "corrupt"
    assert problem("truncated.jpg").message.startswith(
        f"{bad / 'truncated.jpg'}: the image data is truncated or damaged (image file is truncated"
    )
    assert problem("empty.jpg").message == (
        f"{bad / 'empty.jpg'}: not a recognised image format. Regard indexes JPEG, PNG, WebP, "
        "HEIC/HEIF, TIFF, BMP and GIF files."
    )
    assert problem("text.jpg").code == "unsupported"
    assert problem("bomb.png").message == (
        f"{bad / 'bomb.png'}: the image declares more pixels than the limit of 200 MP (possibly "
        "a decompression bomb). If it is a genuine photo, raise the limit with --max-megapixels."
    )
    assert problem("truncated.heic").code == "corrupt"
    assert problem("header-only.jpg").code == "corrupt"
    if os.geteuid() != 0:  # root reads files whatever their mode
        assert problem("locked.jpg").message == (
            f"{unreadable}: permission denied. Give your user read access to it, or leave it out."
        )
    # Everything from the exif samples decodes (their damage is in the metadata only).
    exif_paths = {
        str(p)
        for p in (shared_data / "exif").rglob("*")
        if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".heic")
    }
    assert not exif_paths & set(problems)
    readable_locked = 1 if os.geteuid() == 0 else 0
    assert report.counts.files_new == len(exif_paths) + 1 + readable_locked
    assert report.counts.files_failed == 6 + (1 - readable_locked)
    status = {p.path: p for p in real_engine.catalog.photos.all()}
    assert status[str(good)].status == PhotoStatus.INDEXED
    assert status[str(shared_data / "exif/jpg/invalid/image00971.jpg")].metadata.taken_at is None
    heic_photo = status[str(shared_data / "exif/heic/IMG_5195.HEIC")]
    assert heic_photo.metadata.format == "HEIF"
    assert heic_photo.metadata.camera_model == "iPhone 11 Pro Max"
    # The failures are kept for `status --errors` and survive another run.
    assert {p.path for p in real_engine.failures()} >= {
        str(bad / n) for n in ("truncated.jpg", "bomb.png")
    }
