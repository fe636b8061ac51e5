"""Naming a face from the photo viewer's info panel, in Debian's Chromium driven by Playwright,
against a real server on port 0 with the real models on real photos (../shared/data): each
face is listed with who it is, "Name…" (the naming dialog of the people pages) and "Not <them>"
(undoable from the message); a refusal from the server is told in the panel in words, never a
command; an opted-out face is listed without its crop and cannot be named; a viewer (who may
not edit people) sees no naming buttons. Screenshots at desktop and phone width go to
test-artifacts/web-viewer-faces/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from tests.e2e.web_support import SIDEWAYS, Shots, Watch, accessible, sign_in, watch

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
FR = "photos/face_recognition/identities"
PHOTOS = [f"obama/obama{n}.jpg" for n in ("", "1", "2", "3")] + ["biden/biden.jpg"]
CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"
#: What only a command line user can act on (as tests/unit/test_web_errors.py).
COMMAND_WORDS = re.compile(r"`|--|\bregard ")

shot = Shots("web-viewer-faces", full=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Running]:
    pictures = tmp_path_factory.mktemp("pictures")
    for source in PHOTOS:
        shutil.copy(shared_data / FR / source, pictures / Path(source).name)
    shutil.copy(shared_data / CLIP, pictures / "stage.mp4")
    with running(tmp_path_factory.mktemp("viewer-faces") / "lib", EngineConfig(workers=0)) as srv:
        with srv.host.use() as engine:
            engine.index([pictures])
            srv.host.accounts.create_first_owner(srv.host.accounts.setup_token(), OWNER, PASSWORD)
            owner = srv.host.accounts.login(OWNER, PASSWORD).user
            srv.host.accounts.add_user(owner, "Vic Viewer", PASSWORD, "viewer")
        yield srv


def signed_in(
    browser: Browser, server: Running, viewport: dict[str, int], name: str = OWNER
) -> tuple[BrowserContext, Page, Watch]:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    page = context.new_page()
    seen = watch(page)
    sign_in(page, server.url, name, PASSWORD)
    return context, page, seen


def photo_of(server: Running, name: str) -> dict[str, Any]:
    with server.host.use() as engine:
        photo = next(p for p in engine.pages.page(limit=500).photos if p["name"] == name)
        detail: dict[str, Any] = engine.photo_detail(photo["id"]).as_dict()
        return detail


def open_info(page: Page, server: Running, photo_id: int) -> Any:
    page.goto(f"{server.url}/photos/{photo_id}")
    # The photo has loaded (an SVG <image> has no `complete`: load it again).
    page.wait_for_function(
        """() => { const i = document.querySelector('.viewer-photo image');
          if (!i) return false; const img = new Image(); img.src = i.getAttribute('href');
          return img.complete && img.naturalWidth > 0; }"""
    )
    page.get_by_role("button", name="Show details").click()
    info = page.get_by_role("complementary")
    expect(info.get_by_role("heading", name="Faces")).to_be_visible()
    return info


def test_a_face_is_named_and_taken_out_of_its_person_from_the_info_panel(
    browser: Browser, server: Running
) -> None:
    photo = photo_of(server, "obama.jpg")
    [face] = photo["faces"]
    assert face["person"] and face["name"] is None, "the four Obama photos made no person"
    context, page, seen = signed_in(browser, server, DESKTOP)
    info = open_info(page, server, photo["id"])
    row = info.locator(f'.viewer-face-row[data-face="{face["face_id"]}"]')
    expect(row).to_contain_text(f"Face 1 ({face['face']})Unnamed person {face['person']}")
    expect(row.get_by_role("link")).to_have_attribute("href", f"/people/{face['person']}")
    accessible(page)
    shot(page, "info-faces")

    # Name…: the naming dialog of the people pages, over the viewer.
    row.get_by_role("button", name="Name face 1: who is this?").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Who is this?")).to_be_visible()
    expect(dialog.get_by_role("button", name=re.compile("^Not a person"))).to_be_visible()
    shot(page, "info-name-dialog")
    dialog.get_by_role("combobox", name="Name").fill("Barack Obama")
    dialog.get_by_role("combobox", name="Name").press("Enter")
    expect(dialog).to_be_hidden()
    expect(row.get_by_role("link", name="Barack Obama")).to_be_visible()
    assert photo_of(server, "obama.jpg")["faces"][0]["name"] == "Barack Obama"
    assert page.url.endswith(f"/photos/{photo['id']}")
    shot(page, "info-named")

    # Not Barack Obama: out of him for good, undoable from the message.
    row.get_by_role("button", name="Not Barack Obama").click()
    expect(row).to_contain_text("In no person")
    toast = page.locator("#toast")
    expect(toast).to_contain_text(f"{face['face']} is not Barack Obama")
    assert photo_of(server, "obama.jpg")["faces"][0]["person"] is None
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone")
    expect(row.get_by_role("link", name="Barack Obama")).to_be_visible()
    assert photo_of(server, "obama.jpg")["faces"][0]["name"] == "Barack Obama"

    # The panel is out of date (another tab took the face out of him): the server's refusal
    # is told in the panel, in words.
    with server.host.use() as engine:
        engine.faces.someone_else(face["face_id"])
    row.get_by_role("button", name="Not Barack Obama").click()
    said = info.locator(".viewer-face-said")
    expect(said).to_have_text(
        f"Barack Obama: not changed. {face['face']} is in no person: there is nobody to take "
        "it from. Name it, or say it is not a person."
    )
    expect(said).to_have_attribute("role", "alert")
    assert not COMMAND_WORDS.search(said.inner_text())
    accessible(page)
    shot(page, "info-refused")
    context.close()
    assert seen.problems == []


def test_the_faces_in_the_info_panel_on_a_phone(browser: Browser, server: Running) -> None:
    photo = photo_of(server, "obama2.jpg")
    context, page, seen = signed_in(browser, server, PHONE)
    info = open_info(page, server, photo["id"])
    name = info.get_by_role("button", name="Name face 1: who is this?")
    name.scroll_into_view_if_needed()
    expect(name).to_be_in_viewport()
    assert page.evaluate(SIDEWAYS) <= 0
    accessible(page)
    shot(page, "info-faces-phone")
    # Named on the phone: the dialog fits the screen, and the message leaves the buttons free.
    name.click()
    dialog = page.get_by_role("dialog")
    box = dialog.get_by_role("combobox", name="Name")
    expect(box).to_be_in_viewport()
    assert page.evaluate(SIDEWAYS) <= 0
    shot(page, "info-name-dialog-phone")
    box.fill("Obama on a phone")
    box.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("is Obama on a phone now")
    not_them = info.get_by_role("button", name="Not Obama on a phone")
    not_them.scroll_into_view_if_needed()
    shot(page, "info-named-phone")
    # The message is over the photo, not over the panel's faces.
    message = page.locator("#toast p").bounding_box()
    panel = info.bounding_box()
    assert message is not None and panel is not None
    assert message["y"] + message["height"] <= panel["y"], (message, panel)
    not_them.click()  # not under the message: a click that landed on it would fail here
    expect(info.locator(".viewer-face-row")).to_contain_text("In no person")
    context.close()
    assert seen.problems == []


def test_a_video_lists_its_moments_then_each_face_with_when_it_is_on_screen(
    browser: Browser, server: Running
) -> None:
    video = photo_of(server, "stage.mp4")
    first = video["faces"][0]
    assert any(m["face_id"] == first["face_id"] for m in video["moments"])
    context, page, seen = signed_in(browser, server, DESKTOP)
    page.goto(f"{server.url}/photos/{video['id']}")
    page.get_by_role("button", name="Show details").click()
    info = page.get_by_role("complementary")
    headings = info.get_by_role("heading", level=3)
    expect(headings).to_have_text(["People", "Moments", "Faces"])
    row = info.locator(f'.viewer-face-row[data-face="{first["face_id"]}"]')
    # When it is on screen, as the moments say it: "00:00:00\u201300:00:01".
    when = r"\d\d:\d\d:\d\d\u2013\d\d:\d\d:\d\d"
    title = re.compile(rf"^Face 1 \({first['face']}\) · {when}$")
    expect(row.locator("strong")).to_have_text(title)
    expect(row.get_by_role("button", name="Name face 1: who is this?")).to_be_visible()
    accessible(page)
    row.scroll_into_view_if_needed()
    shot(page, "info-video")
    context.close()
    assert seen.problems == []


def test_a_viewer_sees_the_faces_without_naming_buttons(browser: Browser, server: Running) -> None:
    photo = photo_of(server, "biden.jpg")
    context, page, seen = signed_in(browser, server, DESKTOP, name="Vic Viewer")
    page.goto(f"{server.url}/photos/{photo['id']}")
    page.get_by_role("button", name="Show details").click()
    info = page.get_by_role("complementary")
    expect(info.get_by_role("heading", name="Details")).to_be_visible()
    expect(info.get_by_role("heading", name="Faces")).to_have_count(0)
    expect(info.get_by_role("button")).to_have_count(0)
    context.close()
    assert seen.problems == []


def test_an_opted_out_face_is_listed_without_its_crop_and_cannot_be_named(
    browser: Browser, server: Running, shared_data: Path
) -> None:
    """Last in this module: it records an opt-out."""
    with server.host.use() as engine:
        engine.privacy.optout(shared_data / FR / "obama/obama1.jpg", note="asked")
    photo = photo_of(server, "obama3.jpg")
    [face] = photo["faces"]
    assert face["face_data"] == "opted_out"
    context, page, seen = signed_in(browser, server, DESKTOP)
    info = open_info(page, server, photo["id"])
    row = info.locator(".viewer-face-row")
    expect(row).to_have_text("Face 1someone who opted out of being recognised")
    expect(row.locator("img")).to_have_count(0)
    expect(row.get_by_role("button")).to_have_count(0)
    accessible(page)
    shot(page, "info-opted-out")
    context.close()
    assert seen.problems == []
