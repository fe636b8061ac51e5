"""Damaged files are told apart from Regard's own bugs, are not decoded again on every run,
and what the image libraries say about them goes to the log, not the terminal."""

from __future__ import annotations

import collections
import io
import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regard.engine import Engine, EngineConfig
from regard.jobs.pool import analyse_one
from regard.pipeline.analyse import AnalysisSettings
from regard.testing import FakeModels

pytestmark = [pytest.mark.needs_shared]

REGARD = Path(sys.executable).with_name("regard")


def seeds(shared: Path) -> dict[str, bytes]:
    """Real photos, in every format Regard reads (and the layouts that broke it: multi-page
    and 16-bit TIFF, EXIF in TIFF, PNG and WebP, a real iPhone HEIC)."""
    photo = Image.open(shared / "photos/face_recognition/identities/biden/biden.jpg")
    photo = photo.convert("RGB")
    photo.thumbnail((240, 240))
    exif = Image.open(shared / "exif/jpg/Canon_40D.jpg").getexif()

    def saved(img: Image.Image, fmt: str, **kw: object) -> bytes:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    gray16 = Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257)
    return {
        "photo.jpg": saved(photo, "JPEG"),
        "photo.png": saved(photo, "PNG", exif=exif),
        "photo.webp": saved(photo, "WEBP", exif=exif),
        "photo.gif": saved(photo, "GIF"),
        "photo.bmp": saved(photo, "BMP"),
        "lzw.tif": saved(photo, "TIFF", compression="tiff_lzw"),
        "exif.tif": saved(photo, "TIFF", exif=exif),
        "jpeg.tif": saved(photo, "TIFF", compression="jpeg"),
        "pages.tif": saved(
            photo, "TIFF", save_all=True, append_images=[photo.rotate(90), photo.convert("L")]
        ),
        "gray16.tif": saved(gray16, "TIFF"),
        "camera.jpg": (shared / "exif/jpg/Canon_40D.jpg").read_bytes(),
        "phone.heic": (shared / "exif/heic/IMG_5195.HEIC").read_bytes(),
    }


def mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        d = bytearray(data)
        kind = rng.choice(("cut", "flip", "insert", "delete", "zero"))
        if kind == "cut":
            d = d[: rng.randrange(8, len(d))]
        elif kind == "flip":
            for _ in range(rng.randint(1, 20)):
                # Mostly in the header, where the structure is.
                at = (
                    rng.randrange(min(len(d), 4096))
                    if rng.random() < 0.7
                    else rng.randrange(len(d))
                )
                d[at] = rng.randrange(256)
        elif kind == "insert":
            at = rng.randrange(len(d))
            d[at:at] = rng.randbytes(rng.randint(1, 64))
        elif kind == "delete":
            at = rng.randrange(len(d))
            del d[at : at + rng.randint(1, 64)]
        else:
            at = rng.randrange(len(d))
            d[at : at + 256] = bytes(len(d[at : at + 256]))
        out.append(bytes(d))
    return out


def heic_size_edits(heic: bytes) -> list[bytes]:
    """The HEIC with each `ispe` box (image size) declaring sizes from nothing to 2^31."""
    out, at = [], heic.find(b"ispe")
    while at >= 0:
        for w, h in ((65535, 65535), (2**31, 2**31), (20000, 20000), (0, 0), (1, 1)):
            edited = bytearray(heic)
            edited[at + 8 : at + 16] = struct.pack(">II", w, h)
            out.append(bytes(edited))
        at = heic.find(b"ispe", at + 1)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    rng = random.Random(20261201)
    for name, data in seeds(shared_data).items():
        stem, suffix = name.rsplit(".", 1)
        (folder / name).write_bytes(data)
        for i, mutated in enumerate(mutations(data, rng, 40)):
            (folder / f"{stem}-{i}.{suffix}").write_bytes(mutated)
    for i, edited in enumerate(heic_size_edits(seeds(shared_data)["phone.heic"])):
        (folder / f"ispe-{i}.heic").write_bytes(edited)
    return folder


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_no_damaged_file_is_called_a_bug_of_ours(corpus: Path, shared_data: Path) -> None:
    analyser = FakeModels()(AnalysisSettings())  # real decoding, fake models: fast
    files = sorted(corpus.iterdir()) + sorted(
        p for p in (shared_data / "exif").rglob("*") if p.is_file()
    )
    codes: collections.Counter[str] = collections.Counter()
    internal = []
    for path in files:
        result = analyse_one(analyser, path)
        code = getattr(result, "code", "indexed")
        codes[code] += 1
        if code == "internal":
            internal.append(getattr(result, "message", ""))
    assert internal == []
    assert codes["corrupt"] > 150 and codes["too-large"] >= 2 and codes["indexed"] > 150, codes
    # The security review's cases by name: a HEIC whose image size is over libheif's security
    # limit, and multi-page TIFFs cut short ("Missing dimensions").
    heif = analyse_one(analyser, corpus / "ispe-0.heic")
    assert heif.code == "too-large"  # type: ignore[union-attr]
    assert "the decoder refuses the size it declares (" in heif.message  # type: ignore[union-attr]
    for cut in (1000, 20_000, 40_000):
        path = corpus / f"pages-cut-{cut}.tif"
        path.write_bytes((corpus / "pages.tif").read_bytes()[:cut])
        assert analyse_one(analyser, path).code == "corrupt"  # type: ignore[union-attr]


def test_failed_files_are_retried_only_when_changed_or_asked(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    Image.new("RGB", (64, 64), "white").save(folder / "fine.png")
    config = EngineConfig(workers=0)
    with Engine(tmp_path / "lib", create=True, config=config, models=FakeModels()) as engine:
        first = engine.index([folder])
        assert (first.counts.files_failed, first.counts.files_new) == (1, 1)
        again = engine.index([folder])
        assert (again.counts.files_failed, again.counts.files_unchanged) == (0, 2)
        os.utime(broken, ns=(1, 1))  # changed: looked at again
        changed = engine.index([folder])
        assert (changed.counts.files_failed, changed.counts.files_unchanged) == (1, 1)
        asked = engine.index([folder], retry_failed=True)
        assert (asked.counts.files_failed, asked.counts.files_unchanged) == (1, 1)
    # A limit changed since the failure: what failed is looked at again.
    raised = EngineConfig(workers=0, task_timeout=600.0)
    with Engine(tmp_path / "lib", config=raised, models=FakeModels()) as engine:
        assert engine.index([folder]).counts.files_failed == 1
        assert engine.index([folder]).counts.files_failed == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "1"])
def test_library_warnings_go_to_the_log_not_the_terminal(
    corpus: Path, tmp_path: Path, workers: str
) -> None:
    lib = tmp_path / "lib"
    done = subprocess.run(
        [str(REGARD), "--library", str(lib), "index", str(corpus), "--workers", workers, "--json"],
        capture_output=True,
        timeout=900,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == b""
    report = json.loads(done.stdout)
    assert report["counts"]["files_failed"] > 150
    assert all(f["code"] != "internal" for f in report["failures"])
    log = (lib / "regard.log").read_text()
    # Pillow's warnings and what libtiff writes to standard error, with the file's name.
    assert "UserWarning: " in log
    assert any(said in log for said in ("LZWDecode", "Using code not yet in table", "JPEGLib"))
    assert str(corpus) in log
