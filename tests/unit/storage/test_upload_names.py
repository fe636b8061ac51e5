"""Names uploads were sent with: made safe to show, kept beside their photos, gone with them."""

import pytest

from regard.domain.photo import FileFingerprint, display_name, folder_names, shown_name
from regard.storage.catalog import Catalog
from regard.storage.sealing import Sealer, new_key
from regard.testing import FAKE_DETECTOR, FAKE_EMBEDDER
from tests.unit.storage.test_catalog import analysis


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("IMG_0001.JPG", "IMG_0001.JPG"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\Pictures\\Grandma.jpg", "Grandma.jpg"),
        ("gpj\u202e.exe", "gpj.exe"),  # a right-to-left override would show it as "exe.jpg"
        ("new\nline\t.png", "new line .png"),
        ("a\x00b\x1b[31m.png", "ab[31m.png"),
        ("   ", None),
        ("..", None),
        ("dir/", None),
        (None, None),
        ("x" * 300 + ".jpeg", "x" * 194 + "….jpeg"),
        ("y" * 300, "y" * 199 + "…"),
        ("é" * 150 + ".png", "é" * 124 + "….png"),  # 255 bytes at most: a valid file name
    ],
)
def test_a_sent_name_is_made_safe_to_show(sent, kept):
    assert display_name(sent) == kept
    assert kept is None or (len(kept) <= 200 and len(kept.encode()) <= 255)


def test_a_photo_is_shown_by_the_name_it_was_sent_with_else_its_own():
    assert shown_name("/lib/uploads/2025/06/47f6a.jpg", "Grandma.jpg") == "Grandma.jpg"
    assert shown_name("/home/ann/Pictures/beach.jpg") == "beach.jpg"


def test_folders_are_named_relative_to_what_holds_them():
    assert folder_names(["/h/a/P/2019", "/h/a/P/2020"]) == {
        "/h/a/P/2019": "2019",
        "/h/a/P/2020": "2020",
    }
    assert folder_names(["/h/a/P", "/h/a/P/2020"]) == {"/h/a/P": "P", "/h/a/P/2020": "P/2020"}
    assert folder_names(["/lib/uploads/2025/06", "/h/a/P"], library="/lib") == {
        "/lib/uploads/2025/06": "uploads/2025/06",
        "/h/a/P": "P",
    }
    assert folder_names([]) == {}


def test_a_name_follows_its_photo_and_goes_with_it(tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite")
    catalog.codec.sealer = Sealer(new_key())
    catalog.runs.register_models([FAKE_DETECTOR, FAKE_EMBEDDER])
    with catalog.transaction():
        photo_id = catalog.photos.store_analysis(analysis("/lib/uploads/a.jpg"), 0)
        catalog.photos.add_upload_name("/lib/uploads/a.jpg", "Grandma.jpg")
        catalog.photos.add_upload_name("/lib/uploads/a.jpg", "second sender.jpg")  # the first stays
    assert catalog.photos.upload_name("/lib/uploads/a.jpg") == "Grandma.jpg"
    with catalog.transaction():
        catalog.photos.move(photo_id, FileFingerprint("/lib/uploads/b.jpg", 123, 456))
    assert catalog.photos.upload_name("/lib/uploads/a.jpg") is None
    assert catalog.photos.upload_name("/lib/uploads/b.jpg") == "Grandma.jpg"
    assert catalog.photos.facts([photo_id])[photo_id]["upload_name"] == "Grandma.jpg"
    with catalog.transaction():
        catalog.photos.delete([photo_id])
    assert catalog.photos.upload_name("/lib/uploads/b.jpg") is None
    catalog.close()
