"""Anonymising a video and exporting videos as background jobs through the HTTP API, real
models: the stage clip handed in comes back a playable video of the same length with no face
left where there were faces; the job shows its progress in frames on the job list, can be
cancelled (nothing kept), and only its submitter or an owner downloads it. An export of a
library folder with a video keeps the consented person recognisable in every frame and blurs
the other."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from regard.domain.face import Box
from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from tests.footage_maker import TWO_PEOPLE, photo_faces, write_video

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

PASSWORD = "correct horse battery staple"
CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"
OBAMA = "photos/face_recognition/identities/obama/obama.jpg"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[EngineHost]:
    h = EngineHost(tmp_path / "lib", EngineConfig(workers=0))
    yield h
    h.close()


def signed_in(host: EngineHost) -> TestClient:
    client = TestClient(create_app(host), base_url="http://localhost")
    token = host.accounts.setup_token()
    r = client.post("/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf"]
    return client


def wait(client: TestClient, job_id: str, timeout: float = 300.0) -> dict[str, Any]:
    """The job once it ends; the progress seen on the way (done, total) is recorded."""
    deadline = time.monotonic() + timeout
    seen: list[tuple[int, int]] = []
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        seen.append((job["done"], job["total"]))
        if job["state"] not in ("queued", "running"):
            job["seen"] = seen
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def frames_of(data: bytes) -> tuple[list[tuple[float, np.ndarray]], float, bool]:
    """Every frame (time, RGB) of a video, its duration and whether it has sound."""
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        frames = [(float(f.time or 0.0), f.to_ndarray(format="rgb24")) for f in c.decode(stream)]
        return frames, duration or float(c.duration or 0) / 1e6, bool(c.streams.audio)


def test_a_video_handed_in_comes_back_with_every_face_blurred(host, shared_data) -> None:
    client = signed_in(host)
    clip = (shared_data / CLIP).read_bytes()
    r = client.post(
        "/api/anonymise/jobs",
        files={"file": ("stage night.mp4", clip, "video/mp4")},
        data={"method": "gaussian"},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "anonymise" and job["unit"] == "frames"
    assert job["state"] in ("queued", "running")
    # On the job list, with the others.
    assert job["id"] in [j["id"] for j in client.get("/api/jobs").json()]
    # Asked for before it is done: not yet.
    early = client.get(f"/api/jobs/{job['id']}/result")
    assert early.status_code in (200, 409)

    done = wait(client, job["id"])
    assert done["state"] == "done", done["message"]
    assert done["total"] == done["done"] == 275
    assert any(0 < d < 275 for d, _ in done["seen"]), "progress moved frame by frame"
    assert done["faces"] >= 5  # people followed through the clip
    report = done["report"]
    assert report["download"] == "stage night-anonymised.mp4"
    assert report["audio_kept"] is False and "/" not in report["source"]

    r = client.get(f"/api/jobs/{job['id']}/result")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert "stage%20night-anonymised.mp4" in r.headers["content-disposition"]
    copy, duration, sound = frames_of(r.content)
    original, original_duration, _ = frames_of(clip)
    # Playable, as long as the original, frame for frame, without its sound.
    assert len(copy) == len(original) == 275
    assert duration == pytest.approx(original_duration, abs=0.1)
    assert not sound
    # Where the original shows a face, the copy shows none (YuNet at 0.5), and the blur is
    # about the heads: most of each frame is as it was.
    detector = host.engine.models.sensitive_detector(0.5)
    checked = 0
    for i in range(0, 275, 15):
        before = [d.box for d in detector.detect(original[i][1])]
        after = [d.box for d in detector.detect(copy[i][1])]
        for face in before:
            assert not any(face.iou(a) > 0.2 for a in after), (i, face)
        changed = np.abs(copy[i][1].astype(int) - original[i][1].astype(int)).max(axis=2) > 24
        assert changed.mean() < 0.35, (i, changed.mean())
        checked += len(before)
    assert checked >= 10
    # Nothing of the upload is kept but the copy.
    shares = host.engine.paths.root / "shares"
    assert [p.name for p in shares.rglob("*") if p.is_file()] == ["stage night-anonymised.mp4"]


def test_a_job_is_cancelled_and_nothing_is_kept(host, shared_data) -> None:
    client = signed_in(host)
    clip = (shared_data / CLIP).read_bytes()
    first = client.post("/api/anonymise/jobs", files={"file": ("a.mp4", clip)}).json()
    second = client.post("/api/anonymise/jobs", files={"file": ("b.mp4", clip)}).json()
    # The second waits behind the first: cancelled at once.
    r = client.post(f"/api/jobs/{second['id']}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["state"] in ("cancelled", "running")
    # The first, running: stopped at its next frame.
    while client.get(f"/api/jobs/{first['id']}").json()["done"] < 10:
        time.sleep(0.1)
    assert client.post(f"/api/jobs/{first['id']}/cancel").status_code == 200
    for job in (first, second):
        ended = wait(client, job["id"], timeout=60)
        assert ended["state"] == "cancelled", ended
        assert ended["done"] < 275
        r = client.get(f"/api/jobs/{job['id']}/result")
        assert r.status_code == 409 and "cancelled" in r.json()["error"]["message"]
    assert client.post(f"/api/jobs/{first['id']}/cancel").status_code == 409
    shares = host.engine.paths.root / "shares"
    assert not [p for p in shares.rglob("*") if p.is_file()]
    assert client.post("/api/jobs/nope/cancel").status_code == 404


def test_only_the_submitter_or_an_owner_downloads_or_cancels(host, shared_data) -> None:
    owner = signed_in(host)
    r = owner.post("/api/users", json={"name": "Vic", "password": PASSWORD, "role": "viewer"})
    assert r.status_code in (200, 201), r.text
    viewer = TestClient(create_app(host), base_url="http://localhost")
    r = viewer.post("/api/login", json={"name": "Vic", "password": PASSWORD})
    viewer.headers["X-CSRF-Token"] = r.json()["csrf"]
    photo = (shared_data / OBAMA).read_bytes()
    job = owner.post("/api/anonymise/jobs", files={"file": ("o.jpg", photo)}).json()
    assert wait(owner, job["id"])["state"] == "done"
    r = viewer.get(f"/api/jobs/{job['id']}/result")
    assert r.status_code == 403
    assert viewer.post(f"/api/jobs/{job['id']}/cancel").status_code == 403
    assert owner.get(f"/api/jobs/{job['id']}/result").headers["content-type"] == "image/jpeg"
    # The viewer's own job is theirs, and the owner's too.
    mine = viewer.post("/api/anonymise/jobs", files={"file": ("v.jpg", photo)}).json()
    assert wait(viewer, mine["id"])["state"] == "done"
    assert viewer.get(f"/api/jobs/{mine['id']}/result").status_code == 200
    assert owner.get(f"/api/jobs/{mine['id']}/result").status_code == 200


def test_a_file_that_is_no_video_fails_its_job_with_the_reason(host) -> None:
    client = signed_in(host)
    job = client.post("/api/anonymise/jobs", files={"file": ("x.mp4", b"not a video")}).json()
    ended = wait(client, job["id"])
    assert ended["state"] == "failed"
    # Named as it was sent, never by where the server kept it.
    assert ended["message"].startswith("x.mp4: ")
    assert "shares" not in ended["message"] and "source" not in ended["message"]
    assert client.get(f"/api/jobs/{job['id']}/result").status_code == 409


@pytest.fixture(scope="module")
def party(shared_data, analyser, tmp_path_factory) -> tuple[Path, Any]:
    """A folder with the two-people video (Obama on the left from 1.3 s, Kit Harington on the
    right from 2 s) and a photo of Obama."""
    out = tmp_path_factory.mktemp("party")
    truth = write_video(
        out / "party.mp4", TWO_PEOPLE, photo_faces(shared_data, analyser), shared_data
    )
    shutil.copy(shared_data / OBAMA, out / "obama.jpg")
    return out, truth


def test_an_export_with_a_video_keeps_who_agreed_and_blurs_the_rest(
    host, party, shared_data
) -> None:
    folder, truth = party
    with host.use() as engine:
        engine.index([folder])
        # The owner names him (his photo and his appearance are one person) and records his
        # consent; Kit Harington, in no person with a name, has none.
        photo = engine.catalog.photos.by_path(str(folder / "obama.jpg"))
        face = engine.catalog.faces.rows(photo.id)[0]["id"]
        engine.people.name(f"P{engine.catalog.people.face_person(face)}", "Barack Obama")
        engine.privacy.grant("Barack Obama", "grouping,search", evidence_text="form 3")
    client = signed_in(host)
    r = client.post("/api/export/jobs", json={"folders": [str(folder)], "blur": "unconsented"})
    assert r.status_code == 202, r.text
    done = wait(client, r.json()["id"])
    assert done["state"] == "done", done["message"]
    assert done["kind"] == "export" and done["total"] == done["done"] == 2
    assert done["report"]["videos"] == 1 and done["report"]["photos"] == 1
    zipped = client.get(f"/api/jobs/{done['id']}/result")
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as z:
        report = json.loads(z.read("report.json"))
        (video,) = report["videos"]
        assert video["source"] == "party.mp4" and video["appearances_visible"] == 1
        copy, duration, sound = frames_of(z.read(video["output"]))
    assert duration == pytest.approx(8.0, abs=0.1) and not sound
    detector = host.engine.models.sensitive_detector(0.5)
    tracks = {t.person: t for t in truth.tracks}
    checked = 0
    for i in range(int(3.6 * truth.fps), int(5.2 * truth.fps), 8):  # both on screen
        found = [d.box for d in detector.detect(copy[i][1])]
        obama = Box(*tracks["obama"].boxes[i])
        kit = Box(*tracks["kit_harington"].boxes[i])
        assert any(obama.iou(f) > 0.3 for f in found), i  # he agreed: as he is
        assert not any(kit.iou(f) > 0.1 for f in found), i  # Kit did not: blurred
        checked += 1
    assert checked >= 5
    # The audit log has the video's export, with who stayed visible.
    with host.use() as engine:
        entries = [e for e in engine.context.audit.entries() if e["action"] == "export"]
    assert any(e["result_count"] == 1 and "P" in (e["subject"] or "") for e in entries)


def test_the_sound_is_kept_when_asked(host, shared_data) -> None:
    client = signed_in(host)
    clip = (shared_data / CLIP).read_bytes()
    job = client.post(
        "/api/anonymise/jobs",
        files={"file": ("stage.mp4", clip)},
        data={"keep_audio": "true", "method": "mosaic"},
    ).json()
    done = wait(client, job["id"])
    assert done["state"] == "done" and done["report"]["audio_kept"] is True
    _, _, sound = frames_of(client.get(f"/api/jobs/{job['id']}/result").content)
    assert sound
    # A photo has no sound: said so in the job.
    photo = (shared_data / OBAMA).read_bytes()
    job = client.post(
        "/api/anonymise/jobs", files={"file": ("o.jpg", photo)}, data={"keep_audio": "true"}
    ).json()
    failed = wait(client, job["id"])
    assert failed["state"] == "failed"
    assert failed["message"] == "Keeping the sound is for videos; a photo has no sound."
