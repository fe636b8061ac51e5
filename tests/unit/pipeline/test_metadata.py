import io

from PIL import Image

from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.metadata import read_metadata


def metadata_of(exif: Image.Exif):
    buf = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buf, format="JPEG", exif=exif)
    img = OpenedImage("x.jpg", buf.getvalue(), DecodeLimits())
    return read_metadata(img.exif, img.format, img.size, img.orientation)


def test_camera_time_and_place():
    exif = Image.Exif()
    exif[0x010F] = "Canon\x00 "
    exif[0x0110] = "EOS 7D"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2021:04:11 15:47:53"
    sub[0x9011] = "-05:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (39.0, 3.0, 4.84)
    gps[3], gps[4] = "W", (94.0, 17.0, 19.58)
    gps[5], gps[6] = 0, 250.5
    m = metadata_of(exif)
    assert (m.camera_make, m.camera_model) == ("Canon", "EOS 7D")
    assert m.taken_at == "2021-04-11T15:47:53-05:00"
    assert round(m.gps_lat, 5) == 39.05134 and round(m.gps_lon, 5) == -94.28877
    assert m.gps_alt == 250.5
    assert (m.width, m.height, m.format) == (40, 30, "JPEG")


def test_junk_is_left_empty_not_fatal():
    exif = Image.Exif()
    exif[0x0132] = "0000:00:00 00:00:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (0.0, 0.0, 0.0)
    gps[3], gps[4] = "E", (0.0, 0.0, 0.0)
    exif[0x010F] = b"\xff\xfe\x00"
    m = metadata_of(exif)
    assert m.taken_at is None
    assert m.gps_lat is None and m.gps_lon is None  # (0, 0) is "no fix", not a place


def test_out_of_range_gps_is_dropped():
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (123.0, 0.0, 0.0)
    gps[3], gps[4] = "E", (10.0, 0.0, 0.0)
    assert metadata_of(exif).gps_lat is None
