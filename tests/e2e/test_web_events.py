"""The Events page in Debian's Chromium: an event pushed by the server appears without a
reload (and its end updates the same card), filters, keyboard, a phone-sized screen, and the
accessibility checks every page gets. Screenshots go to test-artifacts/web/events-*.png."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from playwright.sync_api import Browser, Page, expect

from regard.domain.events import UNKNOWN, CameraEvent, EventKind, EventPhase
from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.testing import FakeModels
from tests.e2e.web_support import (
    IMAGES_LOADED,
    SIDEWAYS,
    Shots,
    accessible,
    new_page,
    set_up,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]
OWNER, PASSWORD = "Ada Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
shot = Shots("web")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    lib = tmp_path_factory.mktemp("web-events") / "lib"
    with running(lib, EngineConfig(workers=0), models=FakeModels()) as srv:
        yield srv


@pytest.fixture(scope="module")
def frames(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real frames of the stage clip, as snapshots."""
    folder = tmp_path_factory.mktemp("snaps")
    out = []
    clip = shared_data / "photos/face_recognition/video/short_hamilton_clip.mp4"
    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in (10, 60):
                path = folder / f"frame{i}.jpg"
                frame.to_image().save(path, "JPEG", quality=85)
                out.append(path)
            if len(out) == 2:
                break
    return out


def publish(srv: Running, event: CameraEvent, phase: EventPhase) -> None:
    with srv.host.use() as engine:
        broadcaster = engine.alerts.broadcaster
    broadcaster.publish(event, phase)


def person(i: int, snapshot: Path | None, **kw: object) -> CameraEvent:
    fields: dict[str, object] = {
        "id": f"e{i}", "camera": "front door", "kind": EventKind.PERSON, "label": "person",
        "start": time.time(), "live": True, "score": 0.9, "snapshot": snapshot,
    }  # fmt: skip
    fields.update(kw)
    return CameraEvent(**fields)  # type: ignore[arg-type]


def sign_in(page: Page, srv: Running) -> None:
    set_up(page, srv.url, srv.host.accounts.setup_token(), OWNER, PASSWORD)


def test_events_page_shows_pushed_events_live(
    server: Running,
    browser: Browser,
    frames: list[Path],
) -> None:
    page, watch = new_page(browser, DESKTOP, timeout_ms=15_000)
    context = page.context
    try:
        sign_in(page, server)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Events").click()
        page.wait_for_url("**/events")
        expect(page.get_by_role("heading", level=1)).to_have_text("Events")
        expect(page.get_by_text("No events yet.")).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        accessible(page)

        # Pushed while the page is open: it appears, no reload.
        page.evaluate("window.__same_page = true")
        publish(server, person(1, frames[0], who=UNKNOWN), EventPhase.START)
        card = page.locator(".event-card[data-id='e1']")
        expect(card).to_be_visible()
        expect(card.get_by_role("heading")).to_have_text("Person at front door")
        expect(card.get_by_text("Someone unknown")).to_be_visible()
        expect(card.get_by_text("Going on now")).to_be_visible()
        expect(card.get_by_role("img")).to_have_attribute(
            "alt", "Snapshot: Person at front door, Someone unknown"
        )
        page.wait_for_function(
            "document.querySelector(\".event-card[data-id='e1'] img\").naturalWidth > 0"
        )
        cat = person(2, frames[1], kind=EventKind.PET, label="cat", camera="garden")
        publish(server, cat, EventPhase.START)
        expect(page.locator(".event-card")).to_have_count(2)
        # The newest first; the end of an event updates its card in place.
        expect(page.locator(".event-card").first).to_have_attribute("data-id", "e2")
        publish(server, person(1, frames[0], who=UNKNOWN, end=time.time() + 4), EventPhase.END)
        expect(card.get_by_text("Going on now")).to_have_count(0)
        expect(page.locator(".event-card")).to_have_count(2)
        assert page.evaluate("window.__same_page") is True  # never reloaded
        expect(page.get_by_text("2 events")).to_be_visible()
        page.wait_for_function(IMAGES_LOADED, arg=".event-snapshot[src]")
        accessible(page)
        shot(page, "events-desktop")

        # Filters, by keyboard: only pets; a person pushed now does not show up here.
        page.get_by_label("Kind").focus()
        page.keyboard.press("ArrowDown")  # People
        page.keyboard.press("ArrowDown")  # Pets
        page.get_by_role("button", name="Show").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/events?kind=pet")
        expect(page.locator(".event-card")).to_have_count(1)
        expect(page.locator(".event-card").first).to_have_attribute("data-id", "e2")
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        publish(server, person(3, None), EventPhase.START)
        publish(server, person(4, None, kind=EventKind.PET, label="dog"), EventPhase.START)
        expect(page.locator(".event-card")).to_have_count(2)
        expect(page.locator(".event-card[data-id='e3']")).to_have_count(0)
        expect(page.locator(".event-card[data-id='e4']").get_by_text("No snapshot")).to_be_visible()

        # A phone: no sideways scrolling, the cards in one column.
        page.set_viewport_size(PHONE)
        page.goto(f"{server.url}/events")
        expect(page.locator(".event-card")).to_have_count(4)
        assert page.evaluate(SIDEWAYS) <= 0
        page.wait_for_function(IMAGES_LOADED, arg=".event-snapshot[src]")
        accessible(page)
        shot(page, "events-phone")
        assert watch.problems == []
    finally:
        context.close()


def test_a_separate_watchers_event_and_its_clip_play_on_the_page(
    server: Running, browser: Browser, shared_data: Path, frames: list[Path]
) -> None:
    """`regard watch` in another process writes only the catalog: the open page shows its
    event at once and plays its clip (H.264 in an MP4, as the watcher writes them)."""
    from regard.cameras.clips import ClipBuffer, write_clip
    from regard.cameras.sources import read_file
    from regard.domain.cameras import Camera
    from regard.pipeline.camera_frames import MaskPlane
    from regard.pipeline.models import STANDARD_MODELS

    page, watch = new_page(browser, DESKTOP, timeout_ms=15_000)
    context = page.context
    try:
        sign_in_or_in(page, server)
        page.goto(f"{server.url}/events")
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()

        # A clip of the stage clip's close-up, written as the watcher writes them.
        with server.host.use() as engine:
            root = engine.paths.root
        buffer = ClipBuffer(1.0)
        source = shared_data / "photos/face_recognition/video/short_hamilton_clip.mp4"
        for frame in read_file(Camera("stage", str(source)), source, clips=buffer):
            if frame.t >= 4.0 and "v" not in buffer._pins:
                buffer.pin("v", 4.0)
            if frame.t >= 6.0:
                break
        take = buffer.take("v", 5.5, [], MaskPlane(()))
        assert take is not None
        relative = Path("cameras/stage/clip-w.mp4")
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        assert write_clip(take, root / relative, STANDARD_MODELS.sensitive_detector(0.5)) > 10
        stored = person(
            9, Path("cameras/stage/w.jpg"), camera="stage", who=UNKNOWN, end=time.time() + 2,
            clip=relative,
        )  # fmt: skip
        (root / "cameras/stage/w.jpg").write_bytes(frames[1].read_bytes())
        with server.host.use() as engine, engine.catalog.transaction():
            engine.catalog.cameras.save_event(
                stored, last_seen=stored.start, alert=True, recorded_at=time.time()
            )
        card = page.locator(".event-card[data-id='e9']")
        expect(card).to_be_visible()
        play = card.get_by_role("button", name="Play clip")
        play.focus()
        page.keyboard.press("Enter")
        video = card.locator("video")
        expect(video).to_have_attribute("aria-label", "Clip: Person at stage")
        deadline = time.monotonic() + 15
        while video.evaluate("v => v.currentTime") < 0.3 and time.monotonic() < deadline:
            time.sleep(0.1)
        # It plays: Chromium decodes the H.264 the watcher writes.
        assert video.evaluate("v => v.currentTime") >= 0.3, video.evaluate("v => v.error?.code")
        expect(play).to_be_hidden()
        accessible(page)
        shot(page, "events-clip-desktop")
        page.set_viewport_size(PHONE)
        assert page.evaluate(SIDEWAYS) <= 0
        shot(page, "events-clip-phone")
        assert watch.problems == []
    finally:
        context.close()


def sign_in_or_in(page: Page, srv: Running) -> None:
    """Sign in as the owner (set up by an earlier test of the module, or now)."""
    if srv.host.accounts.needs_setup():
        sign_in(page, srv)
        return
    page.goto(f"{srv.url}/login")
    page.get_by_label("Name", exact=True).fill(OWNER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/library")
