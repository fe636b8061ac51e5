import os

from regard.jobs.scan import scan


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_scan_finds_images_sorted_skipping_hidden_and_others(tmp_path):
    a = touch(tmp_path / "b" / "2.JPG")
    b = touch(tmp_path / "a" / "1.heic")
    touch(tmp_path / ".thumbnails" / "t.jpg")
    touch(tmp_path / "a" / ".hidden.jpg")
    touch(tmp_path / "a" / "notes.txt")
    c = touch(tmp_path / "top.webp")
    assert list(scan([tmp_path])) == [c, b, a]


def test_scan_follows_symlinks_once_and_ends_link_loops(tmp_path):
    photo = touch(tmp_path / "real" / "p.png")
    os.symlink(tmp_path / "real", tmp_path / "real" / "loop")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    found = list(scan([tmp_path]))
    assert found == [tmp_path / "alias" / "p.png"] or photo in found
    assert len(found) == 1


def test_scan_excludes_the_library_and_reports_missing_roots(tmp_path):
    keep = touch(tmp_path / "photos" / "a.jpg")
    touch(tmp_path / "photos" / "lib" / "thumb.jpg")
    problems: list[tuple[str, str]] = []
    found = list(
        scan(
            [tmp_path / "photos", tmp_path / "nope"],
            exclude=[tmp_path / "photos" / "lib"],
            problems=problems,
        )
    )
    assert found == [keep]
    assert problems == [(str(tmp_path / "nope"), "no such file or folder")]


def test_a_root_can_be_a_single_file(tmp_path):
    one = touch(tmp_path / "one.jpg")
    assert list(scan([one, one])) == [one]
