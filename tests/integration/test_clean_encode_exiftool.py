"""Clean encode on real camera files, read back with exiftool: no location, no serial number,
no thumbnail of the unblurred photo, no XMP/IPTC/maker notes/ICC — unless a safe field was
asked for, and then only that field."""

import io
import json
import subprocess

import pytest
from PIL import ExifTags, Image

from regard.domain.face import Box
from regard.domain.sharing import KEEPABLE
from regard.pipeline.anonymise.blur import blur_faces
from regard.pipeline.anonymise.clean_encode import encode_clean
from regard.pipeline.decode import DecodeLimits, OpenedImage

pytestmark = pytest.mark.needs_shared

#: Camera files and what makes each one a test: tags (exiftool -G1 names) each must lose.
SOURCES = {
    "camera/Samsung GT-I9000 (Galaxy S).jpg": [
        "GPS:GPSLatitude",
        "IFD1:ThumbnailImage",
        "IFD0:Orientation",
    ],
    "camera/Canon EOS REBEL T3i.jpg": [
        "IFD0:SerialNumber",
        "Canon:InternalSerialNumber",
        "Canon:LensSerialNumber",
        "Canon:OwnerName",
        "IFD1:ThumbnailImage",
    ],
    "camera/Olympus S760.jpg": [
        "Olympus:SerialNumber",
        "Olympus:InternalSerialNumber",
        "IFD1:ThumbnailImage",
    ],
    "exif/jpg/gps/DSCN0029.jpg": ["GPS:GPSLatitude", "XMP-x:XMPToolkit", "IFD1:ThumbnailImage"],
    "exif/jpg/hdr/iphone_hdr_YES.jpg": ["GPS:GPSLatitude", "GPS:GPSImgDirection"],
    "exif/jpg/Nikon_D70.jpg": [
        "XMP-crs:RawFileName",
        "ICC-header:ProfileCMMType",
        "File:Comment",
        "IFD1:ThumbnailImage",
    ],
    "exif/jpg/xmp/BlueSquare.jpg": [
        "IPTC:ApplicationRecordVersion",
        "XMP-x:XMPToolkit",
        "ICC-header:ProfileCMMType",
        "Photoshop:XResolution",
    ],
}
IDS = [", ".join(t.partition(":")[2] for t in tags) for tags in SOURCES.values()]
WITH_THUMBNAIL = [r for r, t in SOURCES.items() if "IFD1:ThumbnailImage" in t]
#: exiftool groups (-G1) a clean file may show: the file's own structure, and, with `keep`,
#: the two EXIF directories the kept fields live in.
STRUCTURE = {"ExifTool", "System", "File", "JFIF", "PNG", "RIFF", "Composite"}


def tags(exiftool, path):
    """Every tag exiftool finds, as {"Group:Name": value}, unknown and duplicate ones too."""
    out = subprocess.run(
        [exiftool, "-j", "-a", "-u", "-G1", "-s", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(out.stdout)[0]
    del found["SourceFile"]
    return found


def leaks(found):
    """The tags of `found` that would say where, with which device, or show the original."""
    bad = {}
    for key, value in found.items():
        group, _, name = key.partition(":")
        lowered = name.lower()
        if (
            "gps" in key.lower()
            or "serial" in lowered
            or "thumbnail" in lowered
            or "preview" in lowered
            or "owner" in lowered
            or group.startswith(("XMP", "IPTC", "ICC", "Photoshop", "MakerNotes", "IFD1"))
        ):
            bad[key] = value
    return bad


def anonymised(shared_data, rel, fmt, keep=()):
    """The source decoded upright (at most 1024 pixels long: the metadata is what is tested
    here), a box in it blurred, written clean; and the upright size written."""
    opened = OpenedImage(rel, (shared_data / rel).read_bytes(), DecodeLimits())
    rgb = opened.decode_for_detection(1024).rgb
    h, w = rgb.shape[:2]
    assert (w > h) == (opened.size[0] > opened.size[1]), "not decoded upright"
    rgb = blur_faces(rgb, [Box(w * 0.4, h * 0.3, w * 0.2, h * 0.3)])
    return (w, h), encode_clean(rgb, fmt, keep=keep, source_exif=opened.exif)


def blocks(data, fmt):
    """The file's top-level structure: JPEG markers up to the image data, PNG chunks or WebP
    chunks, by name. A second image (a thumbnail) or a metadata block shows up here whatever
    a metadata reader makes of it."""
    names = []
    if fmt == "jpeg":
        assert data[:2] == b"\xff\xd8"
        pos = 2
        while True:
            marker = data[pos + 1]
            size = int.from_bytes(data[pos + 2 : pos + 4], "big")
            body = data[pos + 4 : pos + 2 + size]
            tag = {0xE0: "APP0", 0xE1: "APP1", 0xDB: "DQT", 0xC4: "DHT", 0xDA: "SOS"}.get(
                marker, f"{marker:02X}"
            )
            if tag in ("APP0", "APP1"):
                tag += ":" + body[:4].decode("latin-1")
            names.append(tag)
            if tag == "SOS":  # entropy-coded data follows, in which 0xFF is always escaped
                assert data.count(b"\xff\xd8") == 1, "a second JPEG inside"
                return names
            pos += 2 + size
    if fmt == "png":
        pos = 8
        while pos < len(data):
            size = int.from_bytes(data[pos : pos + 4], "big")
            names.append(data[pos + 4 : pos + 8].decode("latin-1"))
            pos += 12 + size
        return names
    pos = 12
    while pos < len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        names.append(data[pos : pos + 4].decode("latin-1"))
        pos += 8 + size + size % 2
    return names


#: What a clean file is made of; "+ kept" also allows the one EXIF block of kept fields.
CLEAN = {
    "jpeg": {"APP0:JFIF", "DQT", "C0", "DHT", "SOS"},
    "png": {"IHDR", "IDAT", "IEND"},
    "webp": {"VP8 ", "VP8L"},
}
KEPT = {"jpeg": {"APP1:Exif"}, "png": {"eXIf"}, "webp": {"VP8X", "EXIF"}}


@pytest.mark.parametrize("rel", list(SOURCES), ids=IDS)
def test_the_sources_do_carry_what_must_be_removed(exiftool, shared_data, rel):
    """The tests have teeth: each source has the metadata it is listed for."""
    found = tags(exiftool, shared_data / rel)
    assert set(SOURCES[rel]) <= set(found)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("rel", list(SOURCES), ids=IDS)
def test_a_clean_copy_carries_no_metadata_at_all(exiftool, shared_data, tmp_path, rel, fmt):
    size, data = anonymised(shared_data, rel, fmt)
    assert set(blocks(data, fmt)) <= CLEAN[fmt]
    out = tmp_path / f"copy.{fmt}"
    out.write_bytes(data)
    found = tags(exiftool, out)
    groups = {key.partition(":")[0] for key in found}
    assert groups <= STRUCTURE, f"unexpected metadata: {sorted(groups - STRUCTURE)}"
    assert not leaks(found)
    assert "File:Comment" not in found
    assert "IFD0:Orientation" not in found
    # Written upright: the size is the upright size of the source.
    assert found["Composite:ImageSize"] == "{}x{}".format(*size)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("rel", list(SOURCES), ids=IDS)
def test_only_the_date_survives_when_it_is_kept(exiftool, shared_data, tmp_path, rel, fmt):
    source = tags(exiftool, shared_data / rel)
    _, data = anonymised(shared_data, rel, fmt, keep={"DateTimeOriginal"})
    assert set(blocks(data, fmt)) <= CLEAN[fmt] | KEPT[fmt]
    out = tmp_path / f"copy.{fmt}"
    out.write_bytes(data)
    found = tags(exiftool, out)
    exif = {k: v for k, v in found.items() if k.partition(":")[0] not in STRUCTURE}
    if "ExifIFD:DateTimeOriginal" in source:
        assert exif == {"ExifIFD:DateTimeOriginal": source["ExifIFD:DateTimeOriginal"]}
    else:
        assert exif == {}
    assert not leaks(found)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("rel", WITH_THUMBNAIL, ids=[r.rpartition("/")[2] for r in WITH_THUMBNAIL])
def test_the_sources_thumbnail_never_reaches_the_copy(exiftool, shared_data, rel, fmt):
    """The EXIF thumbnail is the unblurred photo in small: not a byte of it may be copied,
    even with every field that may be kept asked for."""
    thumb = subprocess.run(
        [exiftool, "-b", "-ThumbnailImage", str(shared_data / rel)],
        capture_output=True,
        check=True,
    ).stdout
    assert thumb.startswith(b"\xff\xd8"), "the source has no thumbnail to leak"
    _, data = anonymised(shared_data, rel, fmt, keep=set(KEEPABLE))
    assert thumb[:64] not in data and thumb[-64:] not in data
    assert set(blocks(data, fmt)) <= CLEAN[fmt] | KEPT[fmt]
    exif = Image.open(io.BytesIO(data)).getexif()
    assert exif.get_ifd(0x8769) and not exif.get_ifd(ExifTags.IFD.IFD1), "a thumbnail IFD"
