"""What the web app shows, against the privacy promises: a face crop never shows an opted-out
neighbour (a real server, the real models, a real photo), and nobody but an owner is told
where photos are on the server's disk (every answer that names a photo, as each role)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.interfaces.http.server import running
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

PASSWORD = "correct horse battery staple"
RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)
#: The security review's D4 photo: F3 (opted out) lies in the margin of F2's crop.
OLYMPUS = "camera/Olympus S760.jpg"
F2 = (1316, 453, 422, 707)
F3 = (1721, 1015, 166, 245)
CROP_MARGIN = 0.35  # what `Thumbnails.face_crop` puts around a face


def sign_in(client: httpx.Client | TestClient, name: str) -> dict[str, str]:
    r = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf"]}


def set_up(client: httpx.Client | TestClient, host: EngineHost) -> dict[str, str]:
    """The owner, Ann (signed in on `client`), a member Mo and a viewer Vi."""
    r = client.post(
        "/api/setup",
        json={"token": host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    csrf = {"X-CSRF-Token": r.json()["csrf"]}
    for name, role in (("Mo", "member"), ("Vi", "viewer")):
        r = client.post(
            "/api/users", json={"name": name, "password": PASSWORD, "role": role}, headers=csrf
        )
        assert r.status_code == 201, r.text
    return csrf


def region(
    img: npt.NDArray[np.uint8], box: tuple[float, ...], origin: tuple[float, float], s: float
) -> npt.NDArray[np.float64]:
    x, y, w, h = box
    ox, oy = origin
    return img[
        int((y - oy) * s) : int((y + h - oy) * s), int((x - ox) * s) : int((x + w - ox) * s)
    ].astype(float)


@pytest.mark.slow
@pytest.mark.needs_shared
def test_a_face_crop_blurs_an_opted_out_neighbour(tmp_path: Path, shared_data: Path) -> None:
    """D4: the crop of F2 showed F3, who had opted out, unblurred in its margin."""
    photo = shared_data / OLYMPUS
    with running(tmp_path / "lib", EngineConfig(workers=0)) as server:
        with server.host.use() as engine:
            engine.index([photo])
        owner = httpx.Client(base_url=server.url)
        csrf = set_up(owner, server.host)
        r = owner.post(
            "/api/optouts",
            files={"selfie": ("selfie.jpg", photo.read_bytes(), "image/jpeg")},
            data={"face_index": "2", "note": "asked in person"},
            headers=csrf,
        )
        assert r.status_code == 201 and r.json()["faces_excluded"] == 1, r.text
        viewer = httpx.Client(base_url=server.url)
        sign_in(viewer, "Vi")
        faces = viewer.get("/api/photos/1").json()["faces"]
        target = next(f for f in faces if [round(v) for v in f["box"]] == list(F2))
        opted = next(f for f in faces if f["face_data"] == "opted_out")
        assert [round(v) for v in opted["box"]] == list(F3)
        assert viewer.get(f"/api/faces/{opted['face_id']}/crop").status_code == 403
        r = viewer.get(f"/api/faces/{target['face_id']}/crop")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        served = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    # The same crop, cut from the photo as it is: where F3 is, the served one must differ.
    x, y, w, h = F2
    cut = (
        x - CROP_MARGIN * w,
        y - CROP_MARGIN * h,
        x + (1 + CROP_MARGIN) * w,
        y + (1 + CROP_MARGIN) * h,
    )
    with Image.open(photo) as im:
        plain = ImageOps.exif_transpose(im).convert("RGB").crop(tuple(int(v) for v in cut))
    plain.thumbnail((160, 160))
    naive = np.asarray(plain)
    assert served.shape == naive.shape
    scale = served.shape[1] / (cut[2] - cut[0])
    origin = (cut[0], cut[1])
    own_face = (x, y, w, h * 0.6)  # its upper part, clear of F3
    same = np.abs(
        region(served, own_face, origin, scale) - region(naive, own_face, origin, scale)
    ).mean()
    hidden = np.abs(region(served, F3, origin, scale) - region(naive, F3, origin, scale)).mean()
    assert same < 6, "the crop itself should be the photo's pixels"
    assert hidden > 12, f"the opted-out face in the crop's margin is not blurred ({hidden:.1f})"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[EngineHost]:
    album = tmp_path / "album"
    draw_faces(album / "2019" / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(album / "2019" / "b.png", [(30, 30, 40, RED)])
    draw_faces(album / "c.png", [(50, 50, 40, BLUE)])
    h = EngineHost(tmp_path / "lib", EngineConfig(workers=0, grouping=PARAMS), models=FakeModels())
    with h.use() as engine:
        engine.index([album])
    yield h
    h.close()


def test_only_owners_see_where_photos_are_on_the_disk(host: EngineHost, tmp_path: Path) -> None:
    """D8: viewers got absolute paths from 7 answers (and the library's own folder from the
    jobs); the access report given to the person held the owner's folder names."""
    owner = TestClient(create_app(host), base_url="http://localhost")
    csrf = set_up(owner, host)
    # An upload, so that there is a job whose report names the library's uploads folder.
    upload = draw_faces(tmp_path / "sent.png", [(20, 20, 40, (20, 160, 20))])
    r = owner.post(
        "/api/uploads",
        files=[("files", ("sent.png", upload.read_bytes(), "image/png"))],
        headers=csrf,
    )
    job = r.json()["job"]["id"]
    for _ in range(200):
        if owner.get(f"/api/jobs/{job}").json()["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    red = max(owner.get("/api/people").json(), key=lambda p: p["faces"])["person"]
    owner.post(f"/api/people/{red}/name", json={"name": "Grandma"}, headers=csrf)
    probe = draw_faces(tmp_path / "probe.png", [(20, 20, 40, RED)]).read_bytes()

    def answers(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
        def ok(r: httpx.Response) -> object:
            # A refusal names no path either: only an answer that shows something counts.
            assert r.status_code == 200, (r.request.url, r.text)
            return r.json()

        photos = client.get("/api/photos").json()
        first = next(p for p in photos["photos"] if p["path"].endswith("a.png"))
        export = client.post("/api/export", json={"photos": [first["id"]]}, headers=headers)
        with zipfile.ZipFile(io.BytesIO(export.content)) as z:
            report = json.loads(z.read("report.json"))
        return {
            "photos": photos,
            "photo": ok(client.get(f"/api/photos/{first['id']}")),
            "jobs": ok(client.get("/api/jobs")),
            "job": ok(client.get(f"/api/jobs/{job}")),
            "person": ok(client.get(f"/api/people/{red}")),
            "search by face": ok(
                client.post("/api/search/face", files={"photo": ("p.png", probe)}, headers=headers)
            ),
            "search by person": ok(client.get("/api/search/person/Grandma")),
            "export report": report,
        }

    disk = str(tmp_path)
    for name in ("Mo", "Vi"):
        client = TestClient(create_app(host), base_url="http://localhost")
        seen = answers(client, sign_in(client, name))
        for what, answer in seen.items():
            assert disk not in json.dumps(answer), f"{name} sees a path on the disk in {what}"
        assert {p["path"] for p in seen["photos"]["photos"]} >= {  # type: ignore[index]
            "album/2019/a.png",
            "album/2019/b.png",
            "album/c.png",
        }
        assert seen["job"]["report"]["roots"] == ["uploads"]  # type: ignore[index]
        assert seen["search by face"]["matches"][0]["path"] == "album/2019/b.png"  # type: ignore[index]
        assert seen["export report"]["files"][0]["source"] == "album/2019/a.png"  # type: ignore[index]
        # Folders are named, and filtering by a name works.
        folders = {f["folder"] for f in seen["photos"]["folders"]}  # type: ignore[index]
        assert "album/2019" in folders or "2019" in folders
        named = next(f for f in folders if f.endswith("2019"))
        assert client.get("/api/photos", params={"folder": named}).json()["total"] == 2
        assert (
            client.get("/api/photos", params={"folder": f"{disk}/album/2019"}).json()["total"] == 0
        )
    # Owners still see where everything is.
    mine = answers(owner, csrf)
    assert str(tmp_path / "album" / "2019" / "a.png") in json.dumps(mine["photo"])
    assert mine["job"]["report"]["roots"] == [str(host.uploads)]  # type: ignore[index]
    # The access report goes to the person: no folder of the owner's in it.
    r = owner.post("/api/access-report", json={"person": "Grandma"}, headers=csrf)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        manifest = z.read("manifest.json").decode()
    assert disk not in manifest
    shown = sorted(p["path"] for p in json.loads(manifest)["photos"])
    assert len(shown) == 2 and all(p.startswith("album/") for p in shown), shown
