"""The paged timeline, cached thumbnails and the trash through the HTTP API, with the fake
models: pages stay exact while photos arrive, thumbnails answer 304 to their ETag, and a photo
in the trash is out of everything until restored — and, emptied, stays out of the library
even when its folder is indexed again."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from regard.engine import EngineConfig
from regard.interfaces.http.host import EngineHost
from regard.testing import FakeModels, draw_faces
from tests.e2e.test_http_api import PARAMS, PASSWORD, Api, as_user, error_of

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)


def dated(path: Path, when: str, size: tuple[int, int] = (320, 240), shade: int = 0) -> Path:
    """A JPEG taken at `when` ("2019:05:04 12:00:00"), with a face square for the fakes."""
    draw_faces(path.with_suffix(".png"), [(20 + shade % 50, 20, 40, (200, 20 + shade, 20))], size)
    img = Image.open(path.with_suffix(".png")).convert("RGB")
    exif = Image.Exif()
    exif[0x0132] = when  # DateTime
    img.save(path, "JPEG", exif=exif, quality=90)
    path.with_suffix(".png").unlink()
    return path


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    for i, when in enumerate(
        [
            "2019:05:04 12:00:00",
            "2019:05:04 13:00:00",
            "2019:05:20 09:00:00",
            "2018:12:24 18:00:00",
            "2018:12:24 18:00:00",  # the same second: the id decides
            "2011:07:01 10:00:00",
        ]
    ):
        dated(folder / f"p{i}.jpg", when, shade=i * 20)
    draw_faces(folder / "undated.png", [(50, 50, 40, BLUE)], size=(240, 320))
    return folder


@pytest.fixture
def host(album: Path, tmp_path: Path) -> Iterator[EngineHost]:
    h = EngineHost(tmp_path / "lib", EngineConfig(workers=0, grouping=PARAMS), models=FakeModels())
    with h.use() as engine:
        engine.index([album])
    yield h
    h.close()


@pytest.fixture
def owner(host: EngineHost) -> Api:
    api = Api(host)
    token = host.accounts.setup_token()
    r = api.client.post("/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    api.csrf = r.json()["csrf"]
    for name, role in (("Mo", "member"), ("Vi", "viewer")):
        r = api.post("/api/users", json={"name": name, "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.text
    return api


def all_pages(api: Api, limit: int, **params: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        q = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = api.get("/api/timeline", params=q)
        assert r.status_code == 200, r.text
        items += r.json()["photos"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def test_the_timeline_pages_newest_first_and_stays_exact_while_photos_arrive(
    host: EngineHost, owner: Api, album: Path
) -> None:
    everything = all_pages(owner, 100)
    dates = [i["date"] for i in everything]
    assert dates == [
        "2019-05-20T09:00:00",
        "2019-05-04T13:00:00",
        "2019-05-04T12:00:00",
        "2018-12-24T18:00:00",
        "2018-12-24T18:00:00",
        "2011-07-01T10:00:00",
        None,
    ]
    # Same date: the larger id first, always.
    assert everything[3]["id"] > everything[4]["id"]
    first = everything[0]
    assert first == {
        "id": first["id"],
        "kind": "photo",
        "name": "p2.jpg",
        "width": 320,
        "height": 240,
        "date": "2019-05-20T09:00:00",
        "duration": None,
        "thumbnail": f"/api/photos/{first['id']}/image?size=256",
    }
    assert (everything[-1]["width"], everything[-1]["height"]) == (240, 320)

    # Page by 2; between pages, newer and older photos arrive: the pages go on exactly where
    # they were, nothing twice, nothing skipped of what was there.
    r = owner.get("/api/timeline", params={"limit": 2}).json()
    seen = [i["id"] for i in r["photos"]]
    dated(album / "newer.jpg", "2024:01:01 08:00:00", shade=140)
    dated(album / "older.jpg", "2015:03:03 08:00:00", shade=160)
    with host.use() as engine:
        engine.index([album])
    cursor = r["next_cursor"]
    while cursor:
        r = owner.get("/api/timeline", params={"limit": 2, "cursor": cursor}).json()
        seen += [i["id"] for i in r["photos"]]
        cursor = r["next_cursor"]
    before = [i["id"] for i in everything]
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in before] == before
    assert len(seen) == len(before) + 1  # the older one came after the cursor; the newer not

    months = owner.get("/api/timeline/months").json()
    assert months == {
        "total": 9,
        "months": [
            {"month": "2024-01", "year": 2024, "count": 1},
            {"month": "2019-05", "year": 2019, "count": 3},
            {"month": "2018-12", "year": 2018, "count": 2},
            {"month": "2015-03", "year": 2015, "count": 1},
            {"month": "2011-07", "year": 2011, "count": 1},
            {"month": "undated", "year": None, "count": 1},
        ],
    }
    may = all_pages(owner, 2, month="2019-05")
    assert [i["date"][:10] for i in may] == ["2019-05-20", "2019-05-04", "2019-05-04"]
    assert [i["date"] for i in all_pages(owner, 5, month="undated")] == [None]

    for params, message in (
        ({"cursor": "not-a-cursor!"}, "This cursor is not one the timeline gave"),
        ({"month": "2019-13"}, "'2019-13' is not a month: months go from 01 to 12."),
        ({"month": "May"}, "'May' is not a month: write it as 2019-05, or undated."),
    ):
        r = owner.get("/api/timeline", params=params)
        assert r.status_code == 422 and error_of(r)["message"].startswith(message), r.text
    assert owner.get("/api/timeline", params={"limit": 501}).status_code == 422


def test_thumbnails_are_made_once_and_answer_304_to_their_etag(owner: Api) -> None:
    photo = owner.get("/api/timeline").json()["photos"][0]
    r = owner.get(photo["thumbnail"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    tag = r.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert r.headers["cache-control"] == "private, no-cache"
    assert Image.open(io.BytesIO(r.content)).size == (256, 192)  # whole, not cropped square
    again = owner.get(photo["thumbnail"], headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    other = owner.get(photo["thumbnail"], headers={"If-None-Match": '"something else"'})
    assert other.status_code == 200 and other.content == r.content
    # Everything else personal is still never cached.
    assert owner.get("/api/timeline").headers["cache-control"] == "no-store"
    assert owner.get("/api/photos/999999/image").status_code == 404


def test_the_trash_takes_photos_out_of_everything_until_restored(
    host: EngineHost, owner: Api, album: Path
) -> None:
    everything = all_pages(owner, 100)
    status = owner.get("/api/status").json()
    people = owner.get("/api/people").json()
    victims = [everything[0]["id"], everything[1]["id"]]
    member = as_user(host, "Mo")
    r = member.post("/api/trash", json={"photo_ids": victims})
    assert r.status_code == 200, r.text
    assert r.json() == {"changed": 2, "unchanged": 0, "photo_ids": sorted(victims)}
    again = member.post("/api/trash", json={"photo_ids": [victims[0]]}).json()
    assert again == {"changed": 0, "unchanged": 1, "photo_ids": []}

    # Out of the timeline, the months, the old listing, the counts and people's faces.
    left = [i["id"] for i in all_pages(owner, 100)]
    assert left == [i["id"] for i in everything[2:]]
    assert owner.get("/api/timeline/months").json()["total"] == len(everything) - 2
    listing = owner.get("/api/photos", params={"limit": 100}).json()
    assert victims[0] not in [p["id"] for p in listing["photos"]]
    after = owner.get("/api/status").json()
    assert after["photos"] == status["photos"] - 2
    assert after["faces"] == status["faces"] - 2
    assert sum(p["faces"] for p in owner.get("/api/people").json()) <= sum(
        p["faces"] for p in people
    )
    # Nor exported, nor downloaded.
    r = owner.get("/api/originals.zip", params={"ids": str(victims[0])})
    assert r.status_code == 404

    # The trash lists them, with when they go and what happens to their files.
    trash = owner.get("/api/trash").json()
    assert trash["total"] == 2 and trash["days"] == 30
    item = trash["photos"][0]
    assert set(item) == {
        "id", "kind", "name", "width", "height", "date", "duration", "thumbnail",
        "trashed_at", "empties_at", "file_deleted",
    }  # fmt: skip
    assert item["file_deleted"] is False  # in the owner's folder: left on disk
    assert "/" not in item["name"] and str(album) not in str(trash)
    assert owner.get(item["thumbnail"]).status_code == 200  # the trash page shows them

    # A viewer may not delete; a member may not empty.
    viewer = as_user(host, "Vi")
    assert viewer.post("/api/trash", json={"photo_ids": [left[0]]}).status_code == 403
    assert member.post("/api/trash/empty", json={}).status_code == 403
    r = owner.post("/api/trash", json={"photo_ids": []})
    assert r.status_code == 422

    # Restore one: back as it was, in its place.
    r = owner.post("/api/trash/restore", json={"photo_ids": [victims[1], 424242]}).json()
    assert r == {"changed": 1, "unchanged": 1, "photo_ids": [victims[1]]}
    assert [i["id"] for i in all_pages(owner, 100)] == [i["id"] for i in everything[1:]]

    # Empty: gone for good; its file stays on disk and indexing does not bring it back.
    path = next(p for p in album.iterdir() if p.name == "p2.jpg")  # 2019-05-20, the newest
    r = owner.post("/api/trash/empty", json={})
    assert r.json() == {"photos": 1, "files_deleted": 0, "files_left": 1, "faces": 1}
    assert path.exists()
    with host.use() as engine:
        report = engine.index([album])
        assert report.counts.files_new == 0 and report.counts.files_failed == 0
        assert engine.photo(victims[0]) is None
    ids = [i["id"] for i in all_pages(owner, 100)]
    assert victims[0] not in ids and len(ids) == len(everything) - 1
    assert owner.get("/api/trash").json()["total"] == 0
    # The audit log says who emptied it, and how much.
    with host.use() as engine:
        entry = engine.privacy.audit_entries()[-1]
    assert entry["action"] == "trash_empty" and entry["actor"] == "Ann"


def test_uploads_keep_their_date_and_folder_and_emptying_deletes_their_files(
    host: EngineHost, owner: Api, tmp_path: Path
) -> None:
    photo = draw_faces(tmp_path / "beach.png", [(20, 20, 40, GREEN)]).read_bytes()
    sent = 1_560_000_000_000  # 2019-06-08T13:20:00Z, as a browser's lastModified
    r = owner.post(
        "/api/uploads",
        files=[("files", ("beach.png", photo, "image/png"))],
        data={"modified": [str(sent)], "folder": "Holiday 2019"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["stored"][0]["kind"] == "photo"
    job = r.json()["job"]
    for _ in range(200):
        job = owner.get(f"/api/jobs/{job['id']}").json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done"
    (kept,) = (host.library / "uploads" / "Holiday 2019").iterdir()
    june = all_pages(owner, 100, month="2019-06")
    assert [i["date"] for i in june] == ["2019-06-08T13:20:00"]

    for bad in ("../escape", "a/b", ".hidden", "..", "x" * 81):
        r = owner.post(
            "/api/uploads",
            files=[("files", ("b.png", photo, "image/png"))],
            data={"folder": bad},
        )
        assert r.status_code == 422, (bad, r.text)
        assert "cannot be a folder name" in error_of(r)["message"]
    assert not (host.library / "escape").exists()

    uploaded = june[0]["id"]
    owner.post("/api/trash", json={"photo_ids": [uploaded]})
    assert owner.get("/api/trash").json()["photos"][0]["file_deleted"] is True
    r = owner.post("/api/trash/empty", json={"photo_ids": [uploaded]}).json()
    assert r == {"photos": 1, "files_deleted": 1, "files_left": 0, "faces": 1}
    assert not kept.exists()


def test_originals_come_as_a_streamed_zip(owner: Api, album: Path) -> None:
    photos = all_pages(owner, 100)[:3]
    ids = ",".join(str(p["id"]) for p in photos)
    r = owner.get("/api/originals.zip", params={"ids": ids})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == 'attachment; filename="regard-3-photos.zip"'
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        assert sorted(names) == ["p0.jpg", "p1.jpg", "p2.jpg"]
        assert zf.read("p2.jpg") == (album / "p2.jpg").read_bytes()
    r = owner.get("/api/originals.zip", params={"ids": "1,x"})
    assert r.status_code == 422


def test_emptying_the_trash_never_brings_an_erased_person_back(tmp_path: Path) -> None:
    from regard.engine import Engine

    folder = tmp_path / "album"
    a = draw_faces(folder / "a.png", [(10, 10, 40, RED)])
    draw_faces(folder / "b.png", [(30, 30, 40, RED)])
    draw_faces(folder / "c.png", [(50, 50, 40, BLUE)])
    config = EngineConfig(workers=0, grouping=PARAMS)
    lib = tmp_path / "lib"
    with Engine(lib, create=True, config=config, models=FakeModels()) as engine:
        engine.index([folder])
        red = next(p for p in engine.people.summaries() if p["faces"] == 2)
        engine.privacy.erase_person(red["person"])
        kept = engine.catalog.templates.counts()
        assert kept.get("erasure", 0) >= 1, kept
        photo = engine.catalog.photos.by_path(str(a))
        assert photo is not None
        engine.trash.put([photo.id])
        assert engine.trash.empty().photos == 1
        assert engine.catalog.templates.counts() == kept  # the tombstones stay
    # Opened again (the erasure journal is replayed), and the folder indexed again, with a
    # copy of the emptied photo and a new photo of the erased person: nobody comes back.
    (folder / "a-copy.png").write_bytes(a.read_bytes())
    draw_faces(folder / "d.png", [(60, 20, 40, RED)])
    with Engine(lib, config=config, models=FakeModels()) as engine:
        report = engine.index([folder])
        assert report.counts.files_new == 1  # d.png; a.png and its copy stay out
        assert engine.catalog.photos.by_path(str(folder / "a-copy.png")) is None
        assert engine.catalog.templates.counts() == kept
        people = engine.people.summaries()
        assert all(p["faces"] == 1 for p in people)  # only the blue face is someone
        assert engine.status()["biometric"].get("erased", 0) >= 2  # b.png's and d.png's


def test_regard_trash_lists_restores_and_empties(tmp_path: Path, album: Path) -> None:
    import json

    from typer.testing import CliRunner

    from regard.engine import Engine
    from regard.interfaces.cli.main import app

    lib = tmp_path / "lib"
    with Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels()) as engine:
        engine.index([album])
        ids = [i["id"] for i in engine.pages.page(limit=3).photos]
        engine.trash.put(ids)
    runner = CliRunner()

    def regard(*args: str) -> tuple[int, str]:
        r = runner.invoke(app, ["--library", str(lib), *args], catch_exceptions=False)
        return r.exit_code, r.stdout

    code, out = regard("trash", "list")
    assert code == 0, out
    assert out.startswith("3 in the trash; each is deleted for good 30 days on.")
    assert "p2.jpg" in out and "file left on disk, not indexed again" in out
    assert str(album) not in out
    code, out = regard("trash", "restore", str(ids[0]), "999999")
    assert (code, out.strip()) == (0, "Restored 1; not in the trash: 1.")
    code, out = regard("trash", "empty", "--json")
    assert code == 1 and "Add --yes" in out
    code, out = regard("trash", "empty", str(ids[1]), "--yes", "--json")
    assert code == 0 and json.loads(out) == {
        "photos": 1,
        "files_deleted": 0,
        "files_left": 1,
        "faces": 1,
    }
    code, out = regard("trash", "list", "--json")
    assert [p["id"] for p in json.loads(out)["photos"]] == [ids[2]]
