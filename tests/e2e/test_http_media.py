"""The viewer's media over HTTP, real models on the stage clip and real photos: a video is
played with Range requests (206 with the right bytes, 416 past its end, the whole file for a
Range the server does not read), the original is a download under its name, nobody signed out
gets any of it and only owners get a file someone in it opted out of; the photo detail says
where the photo stands in the timeline (prev / next), where it was taken and what the video's
moments are."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

PASSWORD = "correct horse battery staple"
FR = "photos/face_recognition"
CLIP = f"{FR}/video/short_hamilton_clip.mp4"
LIN = f"{FR}/identities/lin_manuel_miranda/lin-manuel-miranda.png"
GPS = "exif/jpg/gps/DSCN0010.jpg"


@pytest.fixture(scope="module")
def pictures(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    shutil.copy(shared_data / CLIP, folder / "stage.mp4")
    for name in ("obama.jpg", "obama2.jpg"):
        shutil.copy(shared_data / FR / "identities" / "obama" / name, folder / name)
    shutil.copy(shared_data / GPS, folder / "gps.jpg")
    return folder


@pytest.fixture(scope="module")
def host(pictures: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHost]:
    h = EngineHost(tmp_path_factory.mktemp("media") / "lib", EngineConfig(workers=0))
    with h.use() as engine:
        report = engine.index([pictures])
        assert not report.failures
    yield h
    h.close()


@pytest.fixture(scope="module")
def clients(host: EngineHost) -> tuple[TestClient, TestClient]:
    """The owner Ann and a viewer Vi, signed in."""
    owner = TestClient(create_app(host), base_url="http://localhost")
    r = owner.post(
        "/api/setup",
        json={"token": host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    owner.headers["X-CSRF-Token"] = r.json()["csrf"]
    r = owner.post("/api/users", json={"name": "Vi", "password": PASSWORD, "role": "viewer"})
    assert r.status_code == 201, r.text
    viewer = TestClient(create_app(host), base_url="http://localhost")
    r = viewer.post("/api/login", json={"name": "Vi", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return owner, viewer


def by_name(client: TestClient) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in client.get("/api/photos").json()["photos"]}


def test_a_video_is_played_in_ranges(clients, pictures: Path) -> None:
    owner, _viewer = clients
    video = by_name(owner)["stage.mp4"]["id"]
    data = (pictures / "stage.mp4").read_bytes()
    size = len(data)
    url = f"/api/photos/{video}/media"

    r = owner.get(url)
    assert r.status_code == 200 and r.content == data
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["content-disposition"] == "inline"
    for asked, first, last in (
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-500", size - 500, size - 1),
        (f"bytes={size - 10}-{size + 5000}", size - 10, size - 1),  # cut at the end
    ):
        r = owner.get(url, headers={"Range": asked})
        assert r.status_code == 206, (asked, r.status_code)
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.content == data[first : last + 1]
        assert int(r.headers["content-length"]) == last - first + 1
    for bad in (f"bytes={size}-", "bytes=500-100", "bytes=-0"):
        r = owner.get(url, headers={"Range": bad})
        assert r.status_code == 416, bad
        assert r.headers["content-range"] == f"bytes */{size}"
        assert r.json()["error"]["message"] == (
            f"The part asked for is not in this file of {size} bytes."
        )
    # What the server does not read (several ranges, another unit) gets the whole file.
    for unread in ("bytes=0-1,5-9", "items=0-5", "bytes=x-y"):
        r = owner.get(url, headers={"Range": unread})
        assert r.status_code == 200 and len(r.content) == size, unread
    # A Range for another version of the file (If-Range) gets the file as it is now.
    etag = owner.get(url, headers={"Range": "bytes=0-0"}).headers["etag"]
    assert owner.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    r = owner.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert r.status_code == 200 and len(r.content) == size

    # A photo's media is its file, inline too; the original of a video is a download.
    photo = by_name(owner)["obama.jpg"]["id"]
    r = owner.get(f"/api/photos/{photo}/media", headers={"Range": "bytes=0-2"})
    assert r.status_code == 206 and r.content == b"\xff\xd8\xff"
    assert r.headers["content-type"] == "image/jpeg"
    r = owner.get(f"/api/photos/{video}/original", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-disposition"].startswith('attachment; filename="stage.mp4"')


def test_the_original_of_a_photo_is_a_download_and_zoom_has_full_resolution(
    clients, pictures: Path
) -> None:
    owner, viewer = clients
    photo = by_name(owner)["obama.jpg"]
    r = viewer.get(f"/api/photos/{photo['id']}/original")
    assert r.status_code == 200 and r.content == (pictures / "obama.jpg").read_bytes()
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"obama.jpg\"; filename*=UTF-8''obama.jpg"
    )
    r = viewer.get(f"/api/photos/{photo['id']}/full")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    full = Image.open(io.BytesIO(r.content))
    assert full.size == (photo["width"], photo["height"])  # every pixel of it
    assert not full.getexif()  # and none of its metadata
    shown = Image.open(io.BytesIO(viewer.get(f"/api/photos/{photo['id']}/image?size=256").content))
    assert max(shown.size) == 256


def test_nobody_signed_out_gets_media(clients, host: EngineHost) -> None:
    owner, _viewer = clients
    photos = by_name(owner)
    video = photos["stage.mp4"]["id"]
    face = owner.get(f"/api/photos/{video}").json()["moments"][0]["face_id"]
    stranger = TestClient(create_app(host), base_url="http://localhost")
    for url in (
        f"/api/photos/{video}/media",
        f"/api/photos/{video}/original",
        f"/api/photos/{photos['obama.jpg']['id']}/full",
        f"/api/faces/{face}/still",
    ):
        r = stranger.get(url, headers={"Range": "bytes=0-99"})
        assert r.status_code == 401, url
        assert b"ftyp" not in r.content and r.headers["content-type"] == "application/json"
    # Nor a user who was removed, with the session they had.
    r = owner.post("/api/users", json={"name": "Gone", "password": PASSWORD, "role": "member"})
    gone_id = r.json()["id"]
    gone = TestClient(create_app(host), base_url="http://localhost")
    assert gone.post("/api/login", json={"name": "Gone", "password": PASSWORD}).status_code == 200
    assert owner.delete(f"/api/users/{gone_id}").status_code in (200, 204)
    r = gone.get(f"/api/photos/{video}/media", headers={"Range": "bytes=0-99"})
    assert r.status_code == 401


def test_the_detail_says_where_a_photo_is_and_a_video_s_moments(clients, pictures) -> None:
    owner, viewer = clients
    photos = by_name(owner)
    # The timeline: newest first, undated last; prev / next walk it both ways.
    order = [p["id"] for p in owner.get("/api/photos").json()["photos"]]
    details = {i: owner.get(f"/api/photos/{i}").json() for i in order}
    assert [details[i]["prev"] for i in order] == [None, *order[:-1]]
    assert [details[i]["next"] for i in order] == [*order[1:], None]

    gps = details[photos["gps.jpg"]["id"]]
    assert gps["metadata"]["latitude"] == pytest.approx(43.4674, abs=1e-3)
    assert gps["metadata"]["longitude"] == pytest.approx(11.8851, abs=1e-3)
    assert gps["metadata"]["camera"] == "NIKON COOLPIX P6000"
    # Everyone sees the file from its folder; only owners where it is on the disk.
    mine = details[photos["obama.jpg"]["id"]]
    assert mine["file"] == f"{pictures.name}/obama.jpg"
    assert mine["path"] == str(pictures / "obama.jpg")
    theirs = viewer.get(f"/api/photos/{photos['obama.jpg']['id']}").json()
    assert theirs["file"] == theirs["path"] == f"{pictures.name}/obama.jpg"

    video = details[photos["stage.mp4"]["id"]]
    assert video["media"] == "video" and video["duration"] == pytest.approx(10.0, abs=0.1)
    assert video["moments"] and mine["moments"] == [] and mine["media"] == "photo"
    for m in video["moments"]:
        assert m["start"] <= m["best_time"] <= m["end"]
        assert m["path"] and all(m["start"] - 0.01 <= p[0] <= m["end"] + 0.01 for p in m["path"])
        face = next(f for f in video["faces"] if f["face_id"] == m["face_id"])
        assert face["box"] == m["box"] and m["face"] == face["face"]
    # Lin-Manuel Miranda sings from 3.6 s to 7.9 s (tests/data/video_truth.csv).
    assert any(m["start"] < 4.0 and m["end"] > 7.5 for m in video["moments"])


def test_only_owners_get_a_file_someone_in_it_opted_out_of(
    clients, shared_data: Path, host: EngineHost
) -> None:
    owner, viewer = clients
    video = by_name(owner)["stage.mp4"]["id"]
    r = owner.post(
        "/api/optouts",
        files={"selfie": ("lin.png", (shared_data / LIN).read_bytes(), "image/png")},
        data={"note": "asked after the show"},
    )
    assert r.status_code == 201 and r.json()["faces_excluded"] >= 1, r.text
    moments = owner.get(f"/api/photos/{video}").json()["moments"]
    assert any(m["face_data"] == "opted_out" for m in moments)
    r = viewer.get(f"/api/photos/{video}/media", headers={"Range": "bytes=0-99"})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == (
        "Someone in this file opted out, and only the library's owners may have it as it "
        "is. Share it from the Share page, which blurs their face."
    )
    assert viewer.get(f"/api/photos/{video}/original").status_code == 403
    assert (
        owner.get(f"/api/photos/{video}/media", headers={"Range": "bytes=0-99"}).status_code == 206
    )
    # The poster and the moment stills still show the video, that face blurred.
    assert viewer.get(f"/api/photos/{video}/image?size=256").status_code == 200
