"""The Share page with videos, in Debian's Chromium against a real server with the real
models: the stage clip handed in is anonymised as a job whose progress the page shows, and the
download is a playable video of the same length with no face left where the clip has faces;
a second one is cancelled from the page; an export of a folder with a video follows its job
and downloads the zip, the video in it. Screenshots go to test-artifacts/web-share-video/
(desktop and phone)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from tests.e2e.web_support import Shots, Watch, accessible, new_page, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    folder = tmp_path_factory.mktemp("stage-album")
    shutil.copy(shared_data / CLIP, folder / "stage.mp4")
    shutil.copy(shared_data / "photos/face_recognition/identities/obama/obama.jpg", folder)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, album: Path) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("share") / "lib", EngineConfig(workers=0)) as srv:
        with srv.host.use() as engine:
            engine.index([album])
            srv.host.accounts.create_first_owner(srv.host.accounts.setup_token(), OWNER, PASSWORD)
        yield srv


def signed_in(browser: Browser, server: Running, viewport: dict[str, int]) -> tuple[Page, Watch]:
    page, watch = new_page(browser, viewport, timeout_ms=30_000, accept_downloads=True)
    sign_in(page, server.url, OWNER, PASSWORD)
    return page, watch


shot = Shots("web-share-video")


def frames_of(data: bytes) -> tuple[list[np.ndarray], float, bool]:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(stream)]
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        return frames, duration, bool(c.streams.audio)


def test_a_video_is_anonymised_from_the_share_page(
    browser: Browser, server: Running, shared_data: Path
) -> None:
    page, watch = signed_in(browser, server, DESKTOP)
    page.goto(f"{server.url}/share")
    one = page.locator("#anonymise")
    expect(one.get_by_role("heading")).to_have_text("Anonymise a photo or a video")
    # Nothing chosen: said so, nothing sent.
    one.get_by_role("button", name="Anonymise").click()
    expect(one.get_by_role("alert")).to_have_text("Choose a photo or a video first.")
    keep_sound = one.get_by_label("Keep the sound")
    expect(keep_sound).to_be_hidden()  # a photo has none
    one.get_by_label("Photo or video", exact=True).set_input_files(str(shared_data / CLIP))
    expect(keep_sound).to_be_visible()
    with page.expect_download(timeout=240_000) as download:
        one.get_by_role("button", name="Anonymise").click()
        # While it runs: the progress and a way to stop it; the button cannot be pressed twice.
        expect(one.locator("progress")).to_be_visible()
        expect(one.get_by_role("button", name="Cancel")).to_be_visible()
        expect(one.get_by_role("button", name="Anonymise")).to_be_disabled()
        expect(one.locator(".job-detail")).to_contain_text("Frame", timeout=60_000)
        shot(page, "anonymise-running")
    assert download.value.suggested_filename == "short_hamilton_clip-anonymised.mp4"
    expect(one.get_by_role("status")).to_contain_text(
        "short_hamilton_clip.mp4: every face blurred in 275 frames, no sound, no metadata."
    )
    expect(one.get_by_role("status")).to_contain_text("no sound")
    expect(
        one.get_by_role("link", name="Download short_hamilton_clip-anonymised.mp4")
    ).to_be_visible()
    video = one.locator("video")
    expect(video).to_be_visible()
    # The page's player loads the copy (the browser reads its length).
    page.wait_for_function(
        "v => v.readyState >= 2 && v.duration > 9", arg=video.element_handle(), timeout=30_000
    )
    shot(page, "anonymise-done")
    accessible(page)

    # The download: a playable video of the same length, every face gone.
    copy, duration, sound = frames_of(Path(download.value.path()).read_bytes())
    original, original_duration, _ = frames_of((shared_data / CLIP).read_bytes())
    assert len(copy) == len(original) == 275 and not sound
    assert duration == pytest.approx(original_duration, abs=0.1)
    detector = server.host.engine.models.sensitive_detector(0.5)
    faces = 0
    for i in range(0, 275, 25):
        before = [d.box for d in detector.detect(original[i])]
        after = [d.box for d in detector.detect(copy[i])]
        assert not any(b.iou(a) > 0.2 for b in before for a in after), i
        faces += len(before)
    assert faces >= 6

    # Another, cancelled from the page: it says so and offers nothing to download.
    one.get_by_label("Photo or video", exact=True).set_input_files(str(shared_data / CLIP))
    one.get_by_role("button", name="Anonymise").click()
    expect(one.locator(".job-detail")).to_contain_text("Frame", timeout=60_000)
    one.get_by_role("button", name="Cancel").click()
    expect(one.get_by_role("alert")).to_have_text("Cancelled: nothing was kept.", timeout=30_000)
    expect(one.get_by_role("link")).to_have_count(0)
    shot(page, "anonymise-cancelled")
    page.context.close()
    assert watch.problems == []


def test_an_export_with_a_video_follows_its_job_and_downloads_the_zip(
    browser: Browser, server: Running, album: Path, shared_data: Path
) -> None:
    page, watch = signed_in(browser, server, PHONE)
    page.goto(f"{server.url}/share")
    export = page.locator("#export")
    export.get_by_label("Folder").fill(str(album))
    export.get_by_label("Blur").select_option("all")
    with page.expect_download(timeout=240_000) as download:
        export.get_by_role("button", name="Export").click()
        expect(export.locator("progress")).to_be_visible()
        shot(page, "export-running-phone")
    assert download.value.suggested_filename == "regard-export.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        report = json.loads(archive.read("report.json"))
        names = set(archive.namelist())
        (video,) = report["videos"]
        copy, duration, sound = frames_of(archive.read(video["output"]))
    assert {"report.json", "obama.jpg", "stage.mp4"} <= names
    assert report["photos"] == 1 and video["source"] == "stage.mp4"
    _, original_duration, _ = frames_of((shared_data / CLIP).read_bytes())
    assert len(copy) == 275 and duration == pytest.approx(original_duration, abs=0.1)
    assert not sound
    expect(export.get_by_role("status")).to_contain_text("1 photo and 1 video in the zip")
    shot(page, "export-done-phone")
    page.context.close()
    assert watch.problems == []
