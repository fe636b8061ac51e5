"""Export and anonymise on real photos with the real models: the detector finds no face left
where one was to be blurred, the people left visible are still themselves (not one pixel of
their heads blurred), report.json says what happened, and exiftool finds no location, serial
number or thumbnail of the original in any copy."""

import hashlib
import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from PIL import Image

from regard.domain.face import Box, Landmarks
from regard.engine import Engine, EngineConfig
from regard.inference.sessions import SFaceEmbedder
from regard.pipeline.align import align_face
from regard.pipeline.anonymise.blur import head_box, pixel_rect
from regard.pipeline.anonymise.redact import overlaps
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.models import STANDARD_MODELS
from regard.services.export import ExportOptions

from .heads import HEADS, head_mask

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]
FR = "photos/face_recognition"
#: Searching the copies: from this score a detection is a face (issue 9). Below it YuNet
#: reports sleeves, hands and a chandelier in the originals (0.3-0.47), which export leaves be.
JUDGE_SCORE = 0.5


@pytest.fixture(scope="module")
def detector():
    return STANDARD_MODELS.sensitive_detector(JUDGE_SCORE)


@pytest.fixture(scope="module")
def album(exiftool, tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("album")
    for rel in (f"{FR}/group", "photos/facenet_pytorch/group", "photos/insightface_pypi/group"):
        for p in (shared_data / rel).iterdir():
            shutil.copy(p, folder / p.name)
    for who in ("obama", "biden"):
        shutil.copy(shared_data / FR / "identities" / who / f"{who}.jpg", folder / f"{who}.jpg")
    # A phone's photo: GPS, a serial number, an owner, and a thumbnail of the unblurred faces.
    tagged = folder / "tagged.jpg"
    shutil.copy(folder / "two_people.jpg", tagged)
    thumb = folder.parent / "thumb.jpg"
    Image.open(tagged).resize((160, 120)).save(thumb)
    subprocess.run(
        [
            exiftool,
            "-overwrite_original",
            "-GPSLatitude=51.5",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=0.12",
            "-GPSLongitudeRef=W",
            "-SerialNumber=SN-0042",
            "-OwnerName=Someone",
            "-DateTimeOriginal=2024:07:01 12:00:00",
            "-Model=Phone X",
            f"-ThumbnailImage<={thumb}",
            str(tagged),
        ],
        check=True,
        capture_output=True,
    )
    return folder


@pytest.fixture(scope="module")
def engine(tmp_path_factory, album, shared_data):
    lib = tmp_path_factory.mktemp("export-lib")
    with Engine(lib / "lib", create=True, config=EngineConfig(workers=2)) as e:
        e.index([album])
        e.people.group_pending()
        for who in ("obama", "biden"):
            probe = shared_data / FR / "identities" / who / f"{who}.jpg"
            hit = e.search_face(probe).matches[0].faces[0]
            e.people.name(f"P{e.catalog.people.face_person(hit.face_id)}", who.title())
        yield e


def faces_in(path, detector):
    """Faces the detector finds at full resolution or at 640 pixels (a blur that hides a face
    up close can leave a face-shaped blob that shows from afar)."""
    opened = OpenedImage(str(path), path.read_bytes(), DecodeLimits())
    full = [d for d in detector.detect(opened.decode_at_least(1.0).rgb)]
    small = opened.decode_for_detection(640)
    far = [d.scaled(1 / small.scale) for d in detector.detect(small.rgb)]
    return full + [d for d in far if not overlaps(d.box, [f.box for f in full])]


def faces_left(copy, original, detector):
    """Faces found in `copy` where `original` had one: centred in the head of a face found in
    the original, and at most half as big again as that head."""
    heads = [head_box(d.box, d.landmarks) for d in faces_in(original, detector)]
    left = []
    for d in faces_in(copy, detector):
        cx, cy = d.box.x + d.box.w / 2, d.box.y + d.box.h / 2
        if any(
            h.x <= cx <= h.x + h.w
            and h.y <= cy <= h.y + h.h
            and max(d.box.w, d.box.h) <= 1.5 * max(h.w, h.h)
            for h in heads
        ):
            left.append(d.box)
    return left


def fingerprint(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_blur_all_leaves_no_face_a_detector_can_find(engine, album, tmp_path, detector):
    before = fingerprint(album)
    out = tmp_path / "out"
    report = engine.exporter.export(engine.exporter.select([album]), out, ExportOptions(blur="all"))
    assert report.photos == len(before) and not report.skipped
    faces_before = sum(len(faces_in(p, detector)) for p in album.iterdir())
    assert faces_before >= 20
    left = {p.name: faces_left(p, album / p.name, detector) for p in out.iterdir()}
    assert not any(left.values()), left
    assert fingerprint(album) == before  # originals untouched
    # Where each face was, the copy is nobody to the face model: SFace's embedding of the
    # blurred region is below the most lenient threshold search ever uses.
    embedder = SFaceEmbedder()
    rows = engine.catalog.faces.rows()
    ids, stored = engine.catalog.faces.embeddings(
        engine.models.embedder.id, [r["id"] for r in rows]
    )
    by_id = dict(zip(ids.tolist(), stored, strict=True))
    crops, originals = [], []
    for r in rows:
        copy = out / r["path"].rsplit("/", 1)[1]
        rgb = OpenedImage(str(copy), copy.read_bytes(), DecodeLimits()).decode_at_least(1.0).rgb
        points = json.loads(r["landmarks"])
        marks = Landmarks(tuple(zip(points[0::2], points[1::2], strict=True)))
        crops.append(align_face(rgb, marks, embedder.template, embedder.input_size))
        originals.append(by_id[r["id"]])
    similarity = np.einsum("ij,ij->i", embedder.embed(np.stack(crops)), np.stack(originals))
    assert len(rows) >= 20
    assert similarity.max() < engine.calibration.min_threshold, similarity.round(2)


@pytest.mark.parametrize("method", ["mosaic", "solid"])
def test_the_other_methods_leave_no_face_either(engine, album, tmp_path, detector, method):
    out = tmp_path / method
    engine.exporter.export(
        engine.exporter.select([album / "t1.jpg", album / "multiface.jpg"]),
        out,
        ExportOptions(blur="all", method=method),
    )
    assert {p.name: faces_left(p, album / p.name, detector) for p in out.iterdir()} == {
        "t1.jpg": [],
        "multiface.jpg": [],
    }


def test_all_but_leaves_the_named_recognisable_and_only_them(engine, album, tmp_path, detector):
    out = tmp_path / "out"
    engine.exporter.export(
        engine.exporter.select([album / "two_people.jpg", album / "t1.jpg"]),
        out,
        ExportOptions(blur="all-but", visible=("Biden",)),
    )
    # The one face left in the group photo is still Biden to a face search …
    left = faces_left(out / "two_people.jpg", album / "two_people.jpg", detector)
    assert len(left) == 1
    found = engine.search_face(out / "two_people.jpg")
    biden = engine.catalog.people.by_name("Biden")
    assert biden is not None
    assert {
        engine.catalog.people.face_person(f.face_id) for m in found.matches for f in m.faces
    } == {biden.id}
    # … and nobody else is left anywhere.
    assert faces_left(out / "t1.jpg", album / "t1.jpg", detector) == []


def test_copies_carry_no_location_serial_or_thumbnail(exiftool, engine, album, tmp_path, detector):
    original = json.loads(
        subprocess.run(
            [exiftool, "-j", "-a", "-G1", str(album / "tagged.jpg")],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    )[0]
    assert "GPS:GPSLatitude" in original and "IFD1:ThumbnailImage" in original  # the test bites
    out = tmp_path / "out"
    engine.exporter.export(
        engine.exporter.select([album / "tagged.jpg"]),
        out,
        ExportOptions(blur="all", keep=("DateTimeOriginal",)),
    )
    tags = json.loads(
        subprocess.run(
            [exiftool, "-j", "-a", "-u", "-G1", "-b", str(out / "tagged.jpg")],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    )[0]
    leaked = [
        k
        for k in tags
        if any(w in k.lower() for w in ("gps", "serial", "owner", "thumbnail", "preview", "xmp"))
    ]
    assert leaked == []
    assert tags["ExifIFD:DateTimeOriginal"] == "2024:07:01 12:00:00"
    assert "IFD0:Model" not in tags  # not asked for
    with Image.open(out / "tagged.jpg") as img:
        assert img.getexif().get_ifd(0x8825) == {}  # no GPS directory at all


def test_cli_export_and_anonymise(engine, album, tmp_path, detector):
    from typer.testing import CliRunner

    from regard.interfaces.cli.main import app

    runner = CliRunner()
    engine.privacy.grant("Obama", "search", evidence_text="on stage")
    lib = str(engine.paths.root)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["--library", lib, "export", str(album / "two_people.jpg"), "-o", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["photos"] == 1 and report["faces_visible"] == 1  # Obama agreed, Biden did not
    assert len(faces_left(out / "two_people.jpg", album / "two_people.jpg", detector)) == 1

    result = runner.invoke(
        app,
        ["anonymise", str(album / "t1.jpg"), "-o", str(tmp_path / "t1-safe.png"), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["faces_blurred"] == 6
    assert faces_left(tmp_path / "t1-safe.png", album / "t1.jpg", detector) == []

    result = runner.invoke(app, ["anonymise", str(album / "t1.jpg"), "-o", str(album / "t1.jpg")])
    assert result.exit_code == 1 and "is the original" in result.output


def test_cli_anonymises_a_video_with_a_progress_bar(shared_data, tmp_path):
    from typer.testing import CliRunner

    from regard.interfaces.cli.main import app

    clip = shared_data / FR / "video" / "short_hamilton_clip.mp4"
    out = tmp_path / "safe.mp4"
    result = CliRunner().invoke(app, ["anonymise", str(clip), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "275/275" in result.output and f"Wrote {out}: 275 frames" in result.output
    assert "no sound" in result.output and out.stat().st_size > 0


def decoded(path):
    return OpenedImage(str(path), path.read_bytes(), DecodeLimits()).decode_at_least(1.0).rgb


def changed_blocks(copy, plain):
    """Pixels in 8x8 blocks whose mean difference from `plain` (the original through the same
    JPEG encoder) is over 4 grey levels: what the blur changed, above the encoder's noise."""
    h, w = copy.shape[:2]
    diff = np.abs(copy.astype(np.int16) - plain.astype(np.int16)).max(axis=2).astype(np.float32)
    blocks = cv2.resize(diff, (w // 8, h // 8), interpolation=cv2.INTER_AREA) > 4
    return cv2.resize(blocks.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


def test_all_but_obama_keeps_him_whole_and_blurs_only_heads(engine, album, tmp_path, detector):
    """The first-use review's export (issue 9): obama_and_biden.jpg, everyone blurred but Barack
    Obama. Two thirds of the copy were smeared, his face included, while report.json said he
    was visible."""
    from regard.pipeline.anonymise.clean_encode import encode_clean

    engine.privacy.grant("Obama", "grouping", evidence_text="on stage")
    out = tmp_path / "out"
    source = album / "obama_and_biden.jpg"
    report = engine.exporter.export(
        engine.exporter.select([source]), out, ExportOptions(blur="all-but", visible=("Obama",))
    )
    (entry,) = report.files
    copy, original = decoded(out / "obama_and_biden.jpg"), decoded(source)
    plain = OpenedImage("plain.jpg", encode_clean(original, "jpeg", quality=90), DecodeLimits())
    plain_rgb = plain.decode_at_least(1.0).rgb
    biden, obama, girl = HEADS["photos/face_recognition/group/obama_and_biden.jpg"]
    # His head is the original's, pixel for pixel (through the same encoder) …
    x0, y0, x1, y1 = pixel_rect(obama)
    assert np.array_equal(copy[y0:y1, x0:x1], plain_rgb[y0:y1, x0:x1])
    # … he is still found, and nobody else is.
    left = faces_left(out / "obama_and_biden.jpg", source, detector)
    assert [obama.x <= b.x + b.w / 2 <= obama.x + obama.w for b in left] == [True]
    # Almost nothing but heads changed (it was 71 %).
    h, w = original.shape[:2]
    changed = changed_blocks(copy, plain_rgb)
    assert (changed & ~head_mask([biden, obama, girl], w, h)).mean() < 0.02
    for head in (biden, girl):
        x0, y0, x1, y1 = pixel_rect(head)
        assert changed[y0:y1, x0:x1].mean() > 0.5
    # report.json says what happened: one face visible (where Obama is), the heads blurred
    # listed where they are, and nothing blurred outside them.
    assert report.faces_visible == entry["faces_visible"] == 1
    (vx, vy, vw, vh) = entry["visible"][0]
    assert vx <= obama.x + obama.w / 2 <= vx + vw and vy <= obama.y + obama.h / 2 <= vy + vh
    assert entry["faces_blurred"] == len(entry["blurred"]) >= 2
    listed = head_mask([Box(*b) for b in entry["blurred"]], w, h)
    assert (changed & ~listed).mean() < 0.002
    known = len(engine.catalog.faces.rows(engine.catalog.photos.by_path(str(source)).id))
    assert entry["found_again"] == entry["faces_blurred"] - (known - 1)
