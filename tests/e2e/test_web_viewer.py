"""The photo viewer in Debian's Chromium, driven by Playwright, against a real server on port 0
with the real models on real photos and the stage clip (../shared/data): the keyboard journey
(arrows, F, I, zoom, Escape), a phone with swipes, the original downloaded, the info panel,
and — issue 11 — a search with a reference photo that finds a video moment and plays it from
there, the face boxed over the face. Screenshots go to test-artifacts/web-viewer/.
"""

from __future__ import annotations

import itertools
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from tests.e2e.web_support import (
    IMAGES_LOADED,
    SIDEWAYS,
    Shots,
    Watch,
    accessible,
    sign_in,
    watch,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
FR = "photos/face_recognition"
CLIP = f"{FR}/video/short_hamilton_clip.mp4"
LIN = f"{FR}/identities/lin_manuel_miranda/lin-manuel-miranda.png"
PHOTOS = {
    "group.jpg": "photos/insightface_pypi/group/t1.jpg",
    "obama.jpg": f"{FR}/identities/obama/obama.jpg",
    "biden.jpg": f"{FR}/identities/biden/biden.jpg",
    "gps.jpg": "exif/jpg/gps/DSCN0010.jpg",
}


@pytest.fixture(scope="module")
def pictures(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    shutil.copy(shared_data / CLIP, folder / "stage.mp4")
    for name, source in PHOTOS.items():
        shutil.copy(shared_data / source, folder / name)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pictures: Path) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("viewer") / "lib", EngineConfig(workers=0)) as srv:
        with srv.host.use() as engine:
            engine.index([pictures])
            srv.host.accounts.create_first_owner(srv.host.accounts.setup_token(), OWNER, PASSWORD)
        yield srv


def signed_in(context: BrowserContext, server: Running, name: str = OWNER) -> tuple[Page, Watch]:
    context.set_default_timeout(20_000)
    page = context.new_page()
    seen = watch(page)
    sign_in(page, server.url, name, PASSWORD)
    return page, seen


@pytest.fixture
def page(browser: Browser, server: Running) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page, watch = signed_in(context, server)
    yield page
    context.close()
    assert watch.problems == []


shot = Shots("web-viewer", full=False)


def timeline(server: Running) -> list[Any]:
    """The photos and videos in the timeline's order (the viewer's previous and next)."""
    with server.host.use() as engine:
        return list(engine.pages.page(limit=500).photos)


def detail(server: Running, photo_id: int) -> dict[str, Any]:
    with server.host.use() as engine:
        return engine.photo_detail(photo_id).as_dict()


def viewer_photo_loaded(page: Page) -> None:
    """The photo in the viewer has loaded (an SVG <image> has no `complete`: load it again)."""
    page.wait_for_function(
        """() => { const i = document.querySelector('.viewer-photo image');
          if (!i) return false; const img = new Image(); img.src = i.getAttribute('href');
          return img.complete && img.naturalWidth > 0; }"""
    )


def test_the_viewer_by_keyboard(page: Page, server: Running) -> None:
    order = timeline(server)
    ids = [p["id"] for p in order]
    names = {p["id"]: p["name"] for p in order}
    page.wait_for_function(IMAGES_LOADED, arg=".tl-link img")  # the first screen is shown
    page.locator(".tl-link").first.click()
    page.wait_for_url(f"**/photos/{ids[0]}")
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_text(names[ids[0]])
    viewer_photo_loaded(page)
    expect(page.get_by_role("button", name="Previous photo")).to_be_hidden()
    accessible(page)
    shot(page, "viewer")

    # Next and previous with the arrow keys, in the timeline's order.
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/photos/{ids[1]}")
    expect(title).to_have_text(names[ids[1]])
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(names[ids[2]])
    page.keyboard.press("ArrowLeft")
    expect(title).to_have_text(names[ids[1]])
    page.get_by_role("button", name="Next photo").click()
    expect(title).to_have_text(names[ids[2]])
    page.get_by_role("button", name="Previous photo").click()
    expect(title).to_have_text(names[ids[1]])

    # The group photo: F shows its faces as buttons, and hides them again.
    group = next(p["id"] for p in order if p["name"] == "group.jpg")
    while not page.url.endswith(f"/photos/{group}"):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(100)
    faces = detail(server, group)["faces"]
    boxes = page.locator(".viewer-faces .viewer-face")
    expect(boxes.first).to_be_hidden()
    page.keyboard.press("f")
    expect(page.get_by_role("button", name="Show face boxes")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Unnamed face")).to_have_count(len(faces))
    expect(boxes.first).to_be_visible()
    # Each box is over its face: the box's place on the screen from the photo's pixels.
    viewer_photo_loaded(page)
    svg = page.locator(".viewer-photo").bounding_box()
    w, h = detail(server, group)["metadata"]["width"], detail(server, group)["metadata"]["height"]
    scale = min(svg["width"] / w, svg["height"] / h)
    left = svg["x"] + (svg["width"] - w * scale) / 2
    top = svg["y"] + (svg["height"] - h * scale) / 2
    for i, f in enumerate(faces):
        got = page.locator(f'.viewer-face[data-face="{f["face_id"]}"]').bounding_box()
        assert centre_and_width(got) == screen(f["box"], left, top, scale), i
    # Reachable by Tab, with a visible focus ring.
    page.locator(".viewer-face").first.focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    accessible(page)
    shot(page, "viewer-faces")

    # I opens the details: date, place, camera, file, people.
    page.keyboard.press("i")
    info = page.get_by_role("complementary")
    expect(info.get_by_role("heading", name="Details")).to_be_visible()
    expect(info).to_contain_text("File")
    expect(info).to_contain_text(f"{Path(detail(server, group)['path']).parent.name}/group.jpg")
    expect(info).to_contain_text("6 faces in no person yet.")
    shot(page, "viewer-info")
    page.keyboard.press("f")
    expect(boxes.first).to_be_hidden()

    # Zoom: + brings the full-resolution copy, - and Escape come back to the whole photo.
    photo = page.locator(".viewer-photo")
    fit = photo.get_attribute("viewBox")
    zoom_out = page.get_by_role("button", name="Zoom out")
    expect(zoom_out).to_be_disabled()
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(photo).to_have_attribute("data-resolution", "full")
    zoomed = [float(v) for v in photo.get_attribute("viewBox").split()]
    assert zoomed[2] < float(fit.split()[2]) / 2
    expect(zoom_out).to_be_enabled()
    page.keyboard.press("ArrowLeft")  # zoomed in, the arrows pan
    panned = [float(v) for v in photo.get_attribute("viewBox").split()]
    assert panned[0] < zoomed[0] and page.url.endswith(f"/photos/{group}")
    shot(page, "viewer-zoomed")
    page.keyboard.press("-")
    page.keyboard.press("Escape")
    expect(photo).to_have_attribute("viewBox", fit)
    assert page.url.endswith(f"/photos/{group}")
    # A click zooms to full size where it was clicked; a second click fits again.
    box = photo.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(photo).to_have_class(re.compile("zoomed"))
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(photo).to_have_attribute("viewBox", fit)

    # Escape goes back to where the viewer was opened from.
    page.keyboard.press("Escape")
    page.wait_for_url("**/library")
    expect(page.get_by_role("heading", level=1)).to_have_text("Library")


def test_the_viewer_on_a_phone(browser: Browser, server: Running) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page, watch = signed_in(context, server)
    ids = [p["id"] for p in timeline(server)]
    names = {p["id"]: p["name"] for p in timeline(server)}
    page.goto(f"{server.url}/photos/{ids[0]}")
    viewer_photo_loaded(page)
    assert page.evaluate(SIDEWAYS) <= 0
    accessible(page)
    shot(page, "viewer-phone")
    cdp = context.new_cdp_session(page)

    def swipe(dx: float) -> None:
        """A finger's swipe: ten moves a frame apart, with their times (without them the
        browser sees an infinitely fast fling, and takes the next tap as stopping it)."""
        y = PHONE["height"] / 2
        x0 = PHONE["width"] / 2 - dx / 2
        t = time.time()
        touch = "Input.dispatchTouchEvent"
        cdp.send(touch, {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}], "timestamp": t})
        for k in range(1, 11):
            point = {"x": x0 + dx * k / 10, "y": y}
            moved = {"type": "touchMove", "touchPoints": [point], "timestamp": t + 0.016 * k}
            cdp.send(touch, moved)
        cdp.send(touch, {"type": "touchEnd", "touchPoints": [], "timestamp": t + 0.25})

    title = page.get_by_role("heading", level=1)
    swipe(-200)  # to the left: the next photo
    expect(page).to_have_url(re.compile(rf"/photos/{ids[1]}$"))
    expect(title).to_have_text(names[ids[1]])
    swipe(-200)
    expect(page).to_have_url(re.compile(rf"/photos/{ids[2]}$"))
    expect(title).to_have_text(names[ids[2]])
    swipe(200)  # to the right: back
    expect(page).to_have_url(re.compile(rf"/photos/{ids[1]}$"))
    expect(title).to_have_text(names[ids[1]])
    viewer_photo_loaded(page)
    page.get_by_role("button", name="Show details").tap()
    expect(page.get_by_role("complementary")).to_be_visible()
    assert page.evaluate(SIDEWAYS) <= 0
    shot(page, "viewer-phone-info")
    context.close()
    assert watch.problems == []


def test_the_original_is_downloaded(page: Page, server: Running, pictures: Path) -> None:
    gps = next(p["id"] for p in timeline(server) if p["name"] == "gps.jpg")
    page.goto(f"{page.url.rsplit('/', 1)[0]}/photos/{gps}")
    viewer_photo_loaded(page)
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download the original").click()
    download = caught.value
    assert download.suggested_filename == "gps.jpg"
    assert Path(download.path()).read_bytes() == (pictures / "gps.jpg").read_bytes()
    # The details: where it was taken (no map: nothing leaves the machine) and the camera.
    page.get_by_role("button", name="Show details").click()
    info = page.get_by_role("complementary")
    expect(info).to_contain_text("43.46")
    expect(info).to_contain_text("° N")
    expect(info).to_contain_text("NIKON COOLPIX P6000")
    expect(info).to_contain_text("No faces found.")


def test_a_search_with_a_reference_photo_plays_the_video_from_its_moment(
    page: Page, server: Running, shared_data: Path
) -> None:
    """Issue 11: search with a photo of a performer, find his moment in the stage clip, and
    play it from there with his face boxed."""
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Photo to search with").set_input_files(str(shared_data / LIN))
    expect(
        page.get_by_role("heading", name=re.compile(r"moments? in videos with this face"))
    ).to_be_visible()
    moment = page.locator(".result.moment").first
    expect(moment).to_contain_text("stage.mp4")
    expect(moment).to_contain_text("00:00:03\u201300:00:07")  # an en dash
    expect(moment).to_contain_text(re.compile(r"Score 0\.\d{3}"))
    page.wait_for_function(IMAGES_LOADED, arg=".moment img")
    accessible(page)
    shot(page, "search-moments")

    video_id = int(moment.get_attribute("data-video-id"))
    face_id = int(moment.get_attribute("data-face-id"))
    m = next(x for x in detail(server, video_id)["moments"] if x["face_id"] == face_id)
    moment.get_by_role("link", name=re.compile(r"^Play from 00:00:03")).click()
    page.wait_for_url(re.compile(rf"/photos/{video_id}\?t=[\d.]+&face={face_id}$"))
    video = page.locator("video")
    expect(video).to_be_visible()
    # It starts at the moment and plays.
    page.wait_for_function("() => document.querySelector('video')?.currentTime > 0")
    t0 = page.evaluate("() => document.querySelector('video').currentTime")
    assert m["start"] <= t0 <= m["end"], (t0, m)
    page.wait_for_function(
        "(t0) => { const v = document.querySelector('video');"
        " return !v.paused && v.currentTime > t0 + 0.3; }",
        arg=t0,
    )
    # The face is boxed over the face while the moment lasts.
    page.evaluate("() => document.querySelector('video').pause()")
    t = page.evaluate("() => document.querySelector('video').currentTime")
    assert m["start"] <= t <= m["end"]
    box = page.locator(f'.viewer-overlay .viewer-face[data-face="{face_id}"]')
    expect(box).to_be_visible()
    expect(box).to_have_attribute("aria-label", re.compile(r"^(Face of|Unnamed face)"))
    frame = video.bounding_box()
    w, h = (
        detail(server, video_id)["metadata"]["width"],
        detail(server, video_id)["metadata"]["height"],
    )
    scale = min(frame["width"] / w, frame["height"] / h)
    left = frame["x"] + (frame["width"] - w * scale) / 2
    top = frame["y"] + (frame["height"] - h * scale) / 2
    got = box.bounding_box()
    assert centre_and_width(got) == screen(along(m["path"], t), left, top, scale)
    shot(page, "viewer-video-moment")
    # Outside the moment the box goes.
    page.evaluate(
        f"() => {{ document.querySelector('video').currentTime = {max(0.0, m['start'] - 1.5)}; }}"
    )
    expect(box).to_be_hidden()
    # The video's moments in the details, each seeking the player.
    page.keyboard.press("i")
    page.get_by_role("button", name=re.compile(r"^Play from 00:00:03")).first.click()
    page.wait_for_function(
        "([a, b]) => { const t = document.querySelector('video').currentTime;"
        " return t >= a && t <= b; }",
        arg=[m["start"] - 0.05, m["end"]],
    )
    expect(box).to_be_visible()
    accessible(page)


def along(path: list[list[float]], t: float) -> list[float]:
    """The box at `t` along a moment's path, as the player interpolates it."""
    if t <= path[0][0]:
        return path[0][1:]
    for a, b in itertools.pairwise(path):
        if t <= b[0]:
            f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0.0
            return [a[k] + (b[k] - a[k]) * f for k in range(1, 5)]
    return path[-1][1:]


def screen(box: list[float], left: float, top: float, scale: float) -> list[Any]:
    """A box in the picture's pixels, on the screen: its centre and width, give or take the
    stroke drawn around it."""
    x, y, w, h = box
    cx, cy = left + (x + w / 2) * scale, top + (y + h / 2) * scale
    return [pytest.approx(cx, abs=3), pytest.approx(cy, abs=3), pytest.approx(w * scale, abs=7)]


def centre_and_width(got: Any) -> list[float]:
    return [got["x"] + got["width"] / 2, got["y"] + got["height"] / 2, got["width"]]


def test_a_face_box_asks_to_be_named_and_else_leads_to_its_person(
    page: Page, server: Running
) -> None:
    """The contract with the naming popover: a click on a face box dispatches
    `regard:name-face` (cancelable, with the face, the photo, the box and `onDone`); if nobody
    takes it, a face in a person leads to that person. In the app the naming popover
    (namer.js) takes it: the face opens its naming dialog over the player."""
    video = next(p["id"] for p in timeline(server) if p["name"] == "stage.mp4")
    moments = detail(server, video)["moments"]
    known = max((m for m in moments if m["person"]), key=lambda m: m["end"] - m["start"])
    middle = (known["start"] + known["end"]) / 2
    page.goto(f"{server.url}/photos/{video}?t={middle}&face={known['face_id']}")
    page.wait_for_function("() => document.querySelector('video')?.currentTime > 0")
    page.evaluate("() => document.querySelector('video').pause()")
    box = page.locator(f'.viewer-overlay .viewer-face[data-face="{known["face_id"]}"]')
    expect(box).to_be_visible()
    # A listener takes it: the viewer does nothing else, and onDone reloads the faces.
    page.evaluate(
        """() => { window.asked = [];
          document.addEventListener('regard:name-face', (e) => {
            e.preventDefault();
            window.asked.push({faceId: e.detail.faceId, photoId: e.detail.photoId,
              anchor: e.detail.anchor.dataset.face, done: typeof e.detail.onDone});
          }, { once: true, capture: true }); }"""
    )
    box.click()
    asked = page.evaluate("() => window.asked")
    assert asked == [
        {
            "faceId": known["face_id"],
            "photoId": video,
            "anchor": str(known["face_id"]),
            "done": "function",
        }
    ]
    assert page.url.startswith(f"{server.url}/photos/{video}")
    # The app's own listener (the naming popover) takes it: a dialog to name this face.
    box.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name=re.compile("^Not a person"))).to_be_visible()
    assert page.url.startswith(f"{server.url}/photos/{video}")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Nobody takes it (no naming popover on the page): the face's person.
    page.evaluate(
        """() => document.addEventListener('regard:name-face', (e) => {
             e.stopImmediatePropagation(); }, { capture: true, once: true })"""
    )
    box.click()
    page.wait_for_url(f"**/people/{known['person']}")

    # A search by that person lists the moment too, and plays it.
    page.goto(f"{server.url}/search?person={known['person']}")
    moment = page.locator(f'.result.moment[data-face-id="{known["face_id"]}"]')
    expect(moment).to_contain_text("stage.mp4")
    expect(page.get_by_role("heading", level=3)).to_contain_text("moment")
    accessible(page)
    moment.get_by_role("link", name=re.compile("^Play from")).click()
    page.wait_for_url(re.compile(rf"/photos/{video}\?t=[\d.]+&face={known['face_id']}$"))
    page.wait_for_function(
        "(a) => document.querySelector('video')?.currentTime >= a", arg=known["start"] - 0.05
    )


def test_escape_from_a_search_result_goes_back_to_the_results_as_they_were(
    page: Page, server: Running, shared_data: Path
) -> None:
    """A result opened from a search by photo, then Escape (or the browser's Back): the
    results are there again as they were, the link that was opened focused, without the
    photo sent again."""
    searches: list[str] = []
    page.on(
        "request",
        lambda r: searches.append(r.url) if r.method == "POST" and "/api/search/" in r.url else 0,
    )
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Photo to search with").set_input_files(str(shared_data / LIN))
    heading = page.get_by_role("heading", name=re.compile(r"with this face, best first"))
    expect(heading).to_be_visible()
    results = page.locator("#main .results-area").first
    shown = results.inner_text()
    count = page.locator(".result").count()
    assert count >= 1 and len(searches) == 1
    first = page.locator(".result").first.get_by_role("link", name=re.compile("^(Photo|Play)"))
    href = first.get_attribute("href")
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/photos/\d+"))
    expect(page.get_by_role("button", name="Close the viewer")).to_be_visible()
    page.keyboard.press("Escape")
    page.wait_for_url("**/search")
    expect(heading).to_be_visible()
    assert results.inner_text() == shown and page.locator(".result").count() == count
    focused = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert focused == href
    accessible(page)
    shot(page, "search-kept")
    # The browser's Back and Forward: the same.
    page.go_forward()
    page.wait_for_url(re.compile(r"/photos/\d+"))
    page.go_back()
    expect(heading).to_be_visible()
    assert results.inner_text() == shown
    assert len(searches) == 1  # never sent again
    # A new visit of the page starts empty.
    page.get_by_role("link", name="Library").first.click()
    page.get_by_role("link", name="Search").first.click()
    expect(page.get_by_role("heading", name="Search by photo")).to_be_visible()
    expect(page.locator(".result")).to_have_count(0)


def touch(cdp: Any, kind: str, points: list[tuple[float, float]], t: float) -> None:
    """One touch event of fingers at `points` (each finger keeps its id)."""
    pts = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": pts, "timestamp": t})


def drag(cdp: Any, start: list[tuple[float, float]], end: list[tuple[float, float]]) -> None:
    """Fingers from `start` to `end` in ten moves a frame apart, then lifted."""
    t = time.time()
    touch(cdp, "touchStart", start, t)
    for k in range(1, 11):
        now = [
            (a + (c - a) * k / 10, b + (d - b) * k / 10)
            for (a, b), (c, d) in zip(start, end, strict=True)
        ]
        touch(cdp, "touchMove", now, t + 0.016 * k)
    touch(cdp, "touchEnd", [], t + 0.25)


def test_on_a_phone_a_photo_pinches_to_zoom_and_a_video_swipes(
    browser: Browser, server: Running
) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page, watch = signed_in(context, server)
    cdp = context.new_cdp_session(page)
    order = timeline(server)
    ids = [p["id"] for p in order]
    group = next(p["id"] for p in order if p["name"] == "group.jpg")
    page.goto(f"{server.url}/photos/{group}")
    viewer_photo_loaded(page)
    svg = page.locator(".viewer-photo")
    width = detail(server, group)["metadata"]["width"]
    box = svg.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def shown_width() -> float:
        return float(svg.get_attribute("viewBox").split()[2])

    fit = shown_width()
    assert fit >= width - 1  # the whole photo
    # Two fingers apart: zoomed in about the pinch's centre, three times or so.
    drag(cdp, [(cx - 30, cy), (cx + 30, cy)], [(cx - 120, cy), (cx + 120, cy)])
    expect(svg).to_have_class(re.compile(r"\bzoomed\b"))
    assert fit / shown_width() == pytest.approx(4, rel=0.2)
    assert page.url.endswith(f"/photos/{group}")  # a pinch is no swipe
    shot(page, "viewer-phone-pinched")
    # Zoomed, one finger pans (and is no swipe either).
    before = svg.get_attribute("viewBox")
    drag(cdp, [(cx, cy)], [(cx - 80, cy)])
    assert svg.get_attribute("viewBox") != before
    assert page.url.endswith(f"/photos/{group}")
    # Together again: back to the whole photo.
    drag(cdp, [(cx - 120, cy), (cx + 120, cy)], [(cx - 20, cy), (cx + 20, cy)])
    expect(svg).not_to_have_class(re.compile(r"\bzoomed\b"))
    assert shown_width() == pytest.approx(fit, rel=0.01)

    # A playing video: a swipe goes to the next, or back; one on its controls does not.
    video = next(p["id"] for p in order if p["name"] == "stage.mp4")
    at = ids.index(video)
    page.goto(f"{server.url}/photos/{video}")
    player = page.locator("video")
    expect(player).to_be_visible()
    page.evaluate("() => document.querySelector('video').play().catch(() => null)")
    frame = player.bounding_box()
    y = frame["y"] + frame["height"] / 2
    foot = frame["y"] + frame["height"] - 12
    x0, x1 = PHONE["width"] * 0.75, PHONE["width"] * 0.25
    drag(cdp, [(x0, foot)], [(x1, foot)])  # along the scrub bar: the player's
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/photos/{video}")
    if at + 1 < len(ids):
        drag(cdp, [(x0, y)], [(x1, y)])  # to the left: the next
        expect(page).to_have_url(re.compile(rf"/photos/{ids[at + 1]}$"))
    else:
        drag(cdp, [(x1, y)], [(x0, y)])  # to the right: the one before
        expect(page).to_have_url(re.compile(rf"/photos/{ids[at - 1]}$"))
    context.close()
    assert watch.problems == []


def test_a_viewer_is_told_why_a_video_with_an_opted_out_face_does_not_play(
    browser: Browser, server: Running, shared_data: Path
) -> None:
    """Last in this module: it records an opt-out. The file as it is would show that face
    unblurred, so only owners get it; a viewer sees the poster (blurred) and the reason, and
    no Download."""
    with server.host.use() as engine:
        engine.privacy.optout(shared_data / LIN, note="asked after the show")
        owner = server.host.accounts.login(OWNER, PASSWORD).user
        server.host.accounts.add_user(owner, "Vic Viewer", PASSWORD, "viewer")
    video = next(p["id"] for p in timeline(server) if p["name"] == "stage.mp4")
    context = browser.new_context(viewport=DESKTOP)
    page, seen = signed_in(context, server, "Vic Viewer")
    page.goto(f"{server.url}/photos/{video}")
    expect(page.get_by_role("alert")).to_have_text(
        "Someone in this video opted out, so only the library's owners can play it. Its "
        "poster, with their face blurred, is shown."
    )
    expect(page.locator("video")).not_to_have_attribute("src", re.compile("."))
    expect(page.get_by_role("link", name="Download the original")).to_be_hidden()
    expect(page.get_by_role("button", name="Move to the trash")).to_have_count(0)
    # Nothing is drawn over the poster: the covers follow faces in a playing video only.
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.viewer-overlay .viewer-face')]"
        ".filter((g) => g.getClientRects().length && getComputedStyle(g).display !== 'none')"
        ".length"
    )
    assert shown == 0
    accessible(page)
    shot(page, "viewer-video-opted-out")
    context.close()
    assert seen.problems == []
