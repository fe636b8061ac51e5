"""Detection with the real models on real photos."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regard.pipeline.decode import DecodeLimits, OpenedImage

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

COUNTS_CSV = Path(__file__).resolve().parents[1] / "data" / "face_counts.csv"
COUNTS = list(
    csv.DictReader(line for line in COUNTS_CSV.read_text().splitlines() if not line.startswith("#"))
)


@pytest.mark.parametrize("row", COUNTS, ids=[r["path"] for r in COUNTS])
def test_every_face_in_the_group_photos_is_found(analyser, shared_data, row):
    result = analyser.analyse_path(shared_data / row["path"])
    assert abs(len(result.faces) - int(row["faces"])) <= 1, (
        f"{row['path']}: found {len(result.faces)} faces, {row['faces']} are visible "
        f"({row['note']})"
    )


def test_a_photo_with_a_stale_rotation_tag_is_read_upright(analyser, shared_data):
    # Pixels already portrait, EXIF still says "rotate 90" and 640x480: one woman, upright.
    result = analyser.analyse_path(shared_data / "camera/Sony Cybershot (3).jpg")
    assert (result.metadata.width, result.metadata.height) == (311, 450)
    assert len(result.faces) == 1


def faces_of(analyser, data, name="x.jpg"):
    return analyser.faces_in(OpenedImage(name, data, DecodeLimits()))


# What to store so that EXIF orientation N shows the upright picture again.
STORE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(2, 9))
def test_rotated_photos_give_the_same_faces_as_the_upright_one(analyser, shared_data, orientation):
    upright = Image.open(shared_data / "photos/facenet_pytorch/group/multiface.jpg").convert("RGB")
    buf = io.BytesIO()
    upright.save(buf, "JPEG", quality=95)
    reference = faces_of(analyser, buf.getvalue())
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    upright.transpose(STORE[orientation]).save(buf, "JPEG", quality=95, exif=exif)
    rotated = faces_of(analyser, buf.getvalue())
    assert len(rotated) == len(reference) == 6
    for ref, rot in zip(reference, rotated, strict=True):
        assert ref.detection.box.iou(rot.detection.box) > 0.8
        assert float(ref.embedding @ rot.embedding) > 0.9


def test_the_orientation_samples_all_decode_upright(shared_data):
    """Each sample paints its own digit in the middle; apart from that they are one picture,
    so the upright decode must be much closer to orientation 1 than any flip of it is."""
    import cv2

    def thumb(rgb):
        size = (24, 18) if rgb.shape[1] > rgb.shape[0] else (18, 24)
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(float)

    folder = shared_data / "exif/jpg/orientation"
    for kind in ("landscape", "portrait"):
        ref = OpenedImage("1", (folder / f"{kind}_1.jpg").read_bytes(), DecodeLimits())
        base = thumb(ref.decode_for_detection(4000).rgb)
        for n in range(2, 9):
            img = OpenedImage(str(n), (folder / f"{kind}_{n}.jpg").read_bytes(), DecodeLimits())
            assert img.orientation == n
            rgb = img.decode_for_detection(4000).rgb
            assert rgb.shape[:2] == ref.decode_for_detection(4000).rgb.shape[:2]
            same = np.abs(thumb(rgb) - base).mean()
            for wrong in (rgb[:, ::-1], rgb[::-1]):
                assert same * 2 < np.abs(thumb(np.ascontiguousarray(wrong)) - base).mean(), (
                    f"{kind}_{n}.jpg is not upright"
                )
