"""The library's timeline in Debian's Chromium (Playwright) against a real server on port 0,
with the fake models: months and days with headings, a justified grid that keeps each photo's
shape, the scrubber, selection (download, delete with Undo), the trash (restore, delete for
good after a confirmation), uploads with per-file progress that keep their date, a video with
its duration, the phone's first screen, and keyboard-only use. Screenshots go to
test-artifacts/web/timeline-*.png."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.testing import FakeModels, draw_faces
from tests.e2e.web_support import (
    IMAGES_LOADED,
    PASSWORD,
    SIDEWAYS,
    Shots,
    Watch,
    accessible,
    fill_setup,
    new_page,
)

pytestmark = pytest.mark.slow

OWNER = "Ada Owner"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
shot = Shots("web")
#: (date, width, height): three years, portraits and landscapes, two on one day.
ALBUM = [
    ("2024:08:10 10:00:00", 320, 240),
    ("2024:08:10 11:30:00", 240, 320),
    ("2024:08:02 09:00:00", 400, 200),
    ("2024:07:14 18:00:00", 240, 360),
    ("2023:12:24 19:00:00", 320, 240),
    ("2023:12:24 19:05:00", 320, 240),
    ("2023:06:01 12:00:00", 200, 300),
    ("2019:05:04 08:00:00", 360, 240),
]


def dated(path: Path, when: str, size: tuple[int, int], shade: int) -> Path:
    """A JPEG taken `when`, on a coloured gradient (so screenshots show each tile's shape)."""
    draw_faces(path.with_suffix(".png"), [(20, 20, 40, (200, 20 + shade, 20))], size)
    rgb = np.asarray(Image.open(path.with_suffix(".png")).convert("RGB")).copy()
    white = (rgb == 255).all(axis=2)
    ramp = np.linspace(0, 1, size[1])[:, None]
    sky = np.stack([90 + 60 * ramp, 140 + 40 * ramp, (220 - shade) - 60 * ramp], axis=2)
    rgb[white] = np.broadcast_to(sky, rgb.shape)[white].astype(np.uint8)
    img = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0132] = when
    img.save(path, "JPEG", exif=exif, quality=90)
    path.with_suffix(".png").unlink()
    return path


def clip(path: Path, seconds: int = 3) -> Path:
    """A small H.264 video (a moving square), no faces the fakes would need."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(seconds * 10):
            rgb = np.full((120, 160, 3), 230, dtype=np.uint8)
            rgb[20:60, 10 + i : 50 + i] = (20, 20, 200)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    album = tmp_path_factory.mktemp("album")
    for i, (when, w, h) in enumerate(ALBUM):
        dated(album / f"p{i}.jpg", when, (w, h), shade=i * 20)
    lib = tmp_path_factory.mktemp("timeline") / "lib"
    with running(lib, EngineConfig(workers=0), models=FakeModels()) as srv:
        with srv.host.use() as engine:
            engine.index([album])
        yield srv


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    page, watch = new_page(browser, DESKTOP, accept_downloads=True)
    yield page, watch
    page.context.close()


def sign_in(page: Page, server: Running) -> None:
    page.goto(server.url + "/")
    page.wait_for_url(re.compile(r".*/(setup|login)"))
    if "/setup" in page.url:
        fill_setup(page, server.host.accounts.setup_token(), OWNER)
        # A library indexed before the web app was first opened is not told to add photos.
        expect(page.get_by_text(re.compile(r"^Welcome, "))).to_have_text(f"Welcome, {OWNER}.")
    elif "/login" in page.url:
        page.get_by_label("Name").fill(OWNER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/library$|.*/$"))
    expect(page.locator(".tl-cell").first).to_be_visible()


def test_the_timeline_groups_by_month_and_day_in_each_photos_shape(
    server: Running, watched: tuple[Page, Watch]
) -> None:
    page, watch = watched
    sign_in(page, server)
    expect(page.locator(".tl-month-h")).to_have_text(
        ["August 2024", "July 2024", "December 2023", "June 2023", "May 2019"]
    )
    expect(page.locator(".tl-cell")).to_have_count(len(ALBUM))
    page.wait_for_function(IMAGES_LOADED, arg=".tl-cell img")
    # Each tile has its photo's shape (no square crops), and a row fills the width.
    shapes = page.locator(".tl-cell img").evaluate_all(
        "imgs => imgs.map(i => [i.width / i.height, i.naturalWidth / i.naturalHeight])"
    )
    for shown, natural in shapes:
        assert shown == pytest.approx(natural, rel=0.06), shapes
    expect(page.locator(".tl-day-h")).to_have_text(
        [
            "Sat, Aug 10, 2024",
            "Fri, Aug 2, 2024",
            "Sun, Jul 14, 2024",
            "Sun, Dec 24, 2023",
            "Thu, Jun 1, 2023",
            "Sat, May 4, 2019",
        ]
    )
    accessible(page)
    shot(page, "timeline-desktop")
    assert watch.problems == []


def test_the_scrubber_jumps_to_a_year_by_pointer_and_keyboard(
    server: Running, watched: tuple[Page, Watch]
) -> None:
    page, watch = watched
    page.set_viewport_size({"width": 1280, "height": 500})
    sign_in(page, server)
    scrubber = page.get_by_role("navigation", name="Jump to a year or month")
    expect(scrubber.get_by_role("button")).to_have_text(["2024", "2023", "2019"])
    scrubber.get_by_role("button", name="Jump to 2019").click()
    may = page.locator("section.tl-month[data-month='2019-05']")
    expect(may).to_be_in_viewport()
    expect(page.get_by_role("heading", name="May 2019")).to_be_focused()
    # Keyboard: the year buttons move with the arrow keys, and jump as they go.
    scrubber.get_by_role("button", name="Jump to 2019").focus()
    page.keyboard.press("ArrowUp")
    expect(scrubber.get_by_role("button", name="Jump to 2023")).to_be_focused()
    expect(page.locator("section.tl-month[data-month='2023-12']")).to_be_in_viewport()
    # Dragging along the track lands on months in between, and says which.
    box = page.locator(".tl-track").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.98, steps=8)
    expect(page.locator(".tl-scrub-label")).to_have_text("May 2019")
    page.mouse.up()
    expect(may).to_be_in_viewport()
    shot(page, "timeline-scrubbed")
    assert watch.problems == []


def test_select_download_delete_undo_and_the_trash(
    server: Running, watched: tuple[Page, Watch]
) -> None:
    page, watch = watched
    sign_in(page, server)
    cells = page.locator(".tl-cell")
    expect(cells).to_have_count(len(ALBUM))
    # Select the first photo by its checkbox, then Shift-click the third: three selected.
    cells.nth(0).hover()
    cells.nth(0).locator(".tl-check").click()
    cells.nth(2).locator(".tl-link").click(modifiers=["Shift"])
    bar = page.get_by_role("region", name="Selected photos")
    expect(bar).to_contain_text("3 items selected")
    expect(cells.nth(1).locator(".tl-check")).to_have_attribute("aria-checked", "true")
    assert re.search(r"/(library)?$", page.url), "a click while selecting selects, not opens"
    shot(page, "timeline-selected")
    accessible(page)

    with page.expect_download() as download:
        bar.get_by_role("button", name="Download").click()
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert len(zf.namelist()) == 3 and all(n.endswith(".jpg") for n in zf.namelist())

    # "Name a face in these": the naming popover lists the faces of the chosen photos.
    bar.get_by_role("button", name="Name a face in these").click()
    faces = page.get_by_role("list", name="Faces in these photos")
    expect(faces).to_be_visible()
    page.keyboard.press("Escape")
    expect(faces).to_be_hidden()

    # Delete: out of the timeline at once, with an Undo that brings them back.
    bar.get_by_role("button", name="Delete").click()
    expect(page.locator("#toast")).to_contain_text("3 items moved to the trash.")
    expect(cells).to_have_count(len(ALBUM) - 3)
    expect(bar).to_be_hidden()
    shot(page, "timeline-deleted-undo")
    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(page.locator("#toast")).to_contain_text("3 items restored.")
    expect(cells).to_have_count(len(ALBUM))

    # Delete two again, then the trash page: restore one, delete the other for good.
    cells.nth(0).locator(".tl-check").click()
    cells.nth(1).locator(".tl-link").click()
    bar.get_by_role("button", name="Delete").click()
    expect(cells).to_have_count(len(ALBUM) - 2)
    page.get_by_role("link", name="Trash").click()
    expect(page.get_by_role("heading", name="Trash", level=1)).to_be_visible()
    expect(page.locator(".trash-card")).to_have_count(2)
    expect(page.locator(".trash-card").first).to_contain_text(
        "Its file stays in your folder; it will not be added again."
    )
    page.wait_for_function(IMAGES_LOADED, arg=".trash-card img")
    accessible(page)
    shot(page, "trash")
    page.locator(".trash-card").first.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status").filter(has_text="restored")).to_have_text(
        "1 item restored to the library."
    )
    expect(page.locator(".trash-card")).to_have_count(1)
    page.get_by_role("button", name="Empty the trash").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete 1 item for good?")
    expect(dialog).to_contain_text(
        "1 file in your own folders will stay on the disk, but will not be added to the "
        "library again."
    )
    shot(page, "trash-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".trash-card")).to_have_count(1)
    page.get_by_role("button", name="Empty the trash").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete 1 item for good").click()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    page.get_by_role("link", name="Library").first.click()
    expect(page.locator(".tl-cell")).to_have_count(len(ALBUM) - 1)

    # Share anonymised: the Share page, with the chosen photos.
    cells.nth(0).locator(".tl-check").click()
    cells.nth(1).locator(".tl-link").click()
    ids = [cells.nth(i).get_attribute("data-id") for i in (0, 1)]
    bar.get_by_role("button", name="Share anonymised").click()
    page.wait_for_url(re.compile(r".*/share\?photos=\d+,\d+$"))
    assert sorted(page.url.split("=")[1].split(",")) == sorted(ids)
    expect(page.locator(".chosen-photos")).to_have_text(
        "2 photos chosen in the library; a folder or a person adds more."
    )
    assert watch.problems == []


def test_uploads_show_each_files_progress_keep_dates_and_take_videos(
    server: Running, watched: tuple[Page, Watch], tmp_path: Path
) -> None:
    page, watch = watched
    sign_in(page, server)
    before_total = int(page.locator(".tl-summary").inner_text().split()[0])
    undated = draw_faces(tmp_path / "beach.png", [(20, 20, 40, (20, 160, 20))], (300, 200))
    # The browser sends each file's date (lastModified) with it: the photo has none of its own.
    os.utime(undated, (1_560_000_000, 1_560_000_000))  # 8 June 2019
    video = clip(tmp_path / "walk.mp4")
    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"not a photo at all" * 10)
    page.get_by_text("Add photos and videos", exact=True).click()
    page.get_by_label("Into the folder").fill("Holiday 2019")
    page.get_by_label("Photos and videos to add").set_input_files(
        [
            str(undated),
            str(video),
            str(junk),
        ]
    )
    files = page.locator(".upload-file")
    expect(files).to_have_count(3)
    expect(files.filter(has_text="notes.jpg")).to_contain_text("not added: not a photo or video")
    expect(page.get_by_text(re.compile(r"^Indexing finished"))).to_be_visible(timeout=60_000)
    expect(files.filter(has_text="beach.png")).to_contain_text("added")
    expect(files.filter(has_text="walk.mp4")).to_contain_text("added")
    expect(page.locator(".upload-live")).to_have_text(
        "Sent 3 of 3 files: 2 new files, 0 already in the library, 1 not added."
    )
    shot(page, "timeline-uploaded")
    # Both in the timeline without a reload: the photo at its file's date, the video with
    # its duration.
    june = page.locator("section.tl-month[data-month='2019-06']")
    june.scroll_into_view_if_needed()
    expect(june.locator(".tl-day-h")).to_have_text(["Sat, Jun 8, 2019"])
    expect(june.locator(".tl-cell")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator(".tl-duration")).to_have_text(["0:03"])
    expect(page.locator(".tl-cell").first.locator(".tl-link")).to_have_attribute(
        "aria-label", re.compile(r"^Video, 0:03, ")
    )
    expect(page.locator(".tl-summary")).to_have_text(f"{before_total + 2} photos and videos")
    assert watch.problems == []


def test_on_a_phone_the_first_screen_is_photos_with_people_and_search_a_tap_away(
    server: Running, browser: Browser
) -> None:
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    try:
        sign_in(page, server)
        page.wait_for_function(IMAGES_LOADED, arg=".tl-cell img")
        first = page.locator(".tl-cell").first.bounding_box()
        assert first is not None and first["y"] + 40 < PHONE["height"], first
        bottom = page.get_by_role("navigation", name="Sections")
        expect(bottom.get_by_role("link")).to_have_text(["Photos", "People", "Search"])
        for link in bottom.get_by_role("link").all():
            box = link.bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 44
        assert page.evaluate(SIDEWAYS) <= 0
        expect(page.get_by_role("button", name="Menu")).to_be_visible()
        shot(page, "timeline-phone", full=False)
        page.get_by_role("button", name="Menu").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        shot(page, "timeline-phone-menu", full=False)
        page.get_by_role("button", name="Menu").click()
        bottom.get_by_role("link", name="People").tap()
        page.wait_for_url("**/people")
        expect(bottom.get_by_role("link", name="People")).to_have_attribute("aria-current", "page")
    finally:
        context.close()


def test_keyboard_only_select_and_open(server: Running, watched: tuple[Page, Watch]) -> None:
    page, watch = watched
    sign_in(page, server)
    first = page.locator(".tl-link").first
    page.locator("body").focus()
    for _ in range(40):  # from the top of the page, by Tab alone
        page.keyboard.press("Tab")
        if first.evaluate("el => el === document.activeElement"):
            break
    expect(first).to_be_focused()
    outline = first.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid", "the focused photo shows a focus ring"
    page.keyboard.press("Space")
    expect(page.get_by_role("region", name="Selected photos")).to_contain_text("1 item selected")
    page.keyboard.press("Tab")
    expect(page.locator(".tl-link").nth(1)).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("region", name="Selected photos")).to_contain_text("2 items selected")
    page.keyboard.press("Escape")
    expect(page.get_by_role("region", name="Selected photos")).to_be_hidden()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/photos/\d+$"))
    assert watch.problems == []


# The newest month's photos held back a moment (boot.js's early request and the page's own):
# the month after it is answered first, as it was once in CI.
HOLD_MONTH = """(() => {
  const real = window.fetch;
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    const wait = url.includes("month=MONTH") ? 800 : 0;
    return new Promise((r) => setTimeout(r, wait)).then(() => real(input, init));
  };
})();"""


def test_a_click_on_the_first_photo_as_soon_as_it_shows_opens_that_photo(
    server: Running, watched: tuple[Page, Watch]
) -> None:
    page, watch = watched
    sign_in(page, server)
    with server.host.use() as engine:
        newest = engine.pages.months().months[0].month
        first = engine.pages.page(limit=1, month=newest).photos[0]
    page.add_init_script(HOLD_MONTH.replace("MONTH", newest))
    page.reload()
    # As soon as a photo is there: months are shown top to bottom, so the first photo shown
    # is the newest, and it stays where it was clicked.
    page.locator(".tl-link").first.click()
    expect(page).to_have_url(re.compile(rf".*/photos/{first.id}$"), timeout=5_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(first.name)
    assert watch.problems == []


# What a month does when indexing changes it (`Month.update`): fetched again and redrawn.
REDRAW_FIRST_MONTH = "() => document.querySelector('.tl-month').month.load(true)"


def test_a_press_and_release_with_a_redraw_between_them_is_a_click(
    server: Running, watched: tuple[Page, Watch]
) -> None:
    """The redraw takes each tile out of the page and puts it back in its row: Chrome then
    gives the press and release on it no click. The timeline finishes that click, once."""
    page, watch = watched
    sign_in(page, server)
    page.wait_for_function(IMAGES_LOADED, arg=".tl-link img")
    link = page.locator(".tl-link").first
    photo = link.get_attribute("data-id")
    box = link.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def press_redraw_release(at_x: float, at_y: float) -> None:
        page.mouse.move(at_x, at_y)
        page.mouse.down()
        redraws = page.evaluate("() => document.querySelector('.tl-month').month.redraws")
        page.evaluate(REDRAW_FIRST_MONTH)
        assert page.evaluate("() => document.querySelector('.tl-month').month.redraws") > redraws
        page.mouse.up()

    # The checkbox (shown on hover): pressed, redrawn, released: the photo is selected.
    check = page.locator(f'.tl-check[data-id="{photo}"]')
    link.hover()
    check_box = check.bounding_box()
    assert check_box is not None
    press_redraw_release(
        check_box["x"] + check_box["width"] / 2, check_box["y"] + check_box["height"] / 2
    )
    expect(check).to_have_attribute("aria-checked", "true")
    page.keyboard.press("Escape")  # nothing selected: a click on a photo opens it
    expect(check).to_have_attribute("aria-checked", "false")

    # The photo's link: it opens, and only once (one entry added to the history).
    before = page.evaluate("() => history.length")
    press_redraw_release(x, y)
    expect(page).to_have_url(re.compile(rf".*/photos/{photo}$"))
    page.wait_for_timeout(300)  # a second click would have come by now
    assert page.evaluate("() => history.length") == before + 1
    # Without a redraw the browser's own click opens it, and the timeline adds none.
    page.goto(server.url + "/library")
    page.wait_for_function(IMAGES_LOADED, arg=".tl-link img")
    before = page.evaluate("() => history.length")
    page.locator(f'.tl-link[data-id="{photo}"]').click()
    expect(page).to_have_url(re.compile(rf".*/photos/{photo}$"))
    page.wait_for_timeout(300)
    assert page.evaluate("() => history.length") == before + 1
    assert watch.problems == []


def test_on_a_phone_the_viewer_has_the_whole_screen(server: Running, browser: Browser) -> None:
    page, watch = new_page(
        browser,
        {"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        sign_in(page, server)
        page.wait_for_function(IMAGES_LOADED, arg=".tl-cell img")
        page.locator(".tl-link").first.tap()
        page.wait_for_url(re.compile(r".*/photos/\d+$"))
        viewer = page.get_by_role("region", name="Photo viewer")
        expect(viewer.get_by_role("heading", level=1)).to_be_visible()
        # The bottom bar is not over the viewer: its Back button leads out.
        expect(page.get_by_role("navigation", name="Sections")).to_be_hidden()
        page.get_by_role("button", name="Show details").tap()
        info = page.get_by_role("complementary")
        expect(info.get_by_role("heading", name="Details")).to_be_visible()
        # Every tool, and the foot of the details, is on top where it is drawn.
        on_top = """(el) => { const r = el.getBoundingClientRect();
          const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
          return at !== null && (el.contains(at) || at.contains(el)); }"""
        tools = viewer.get_by_role("toolbar", name="Photo").locator(".viewer-tool:visible")
        assert tools.count() >= 4  # Faces, Info, Download, Delete (a photo has zoom too)
        for tool in tools.all():
            assert tool.evaluate(on_top), tool.get_attribute("aria-label")
        last = info.locator("dd:visible, p:visible, li:visible").last
        last.scroll_into_view_if_needed()
        assert last.evaluate(on_top)
        foot = page.evaluate(
            "() => document.elementFromPoint(innerWidth / 2, innerHeight - 6)?.closest('.viewer')"
            " !== null"
        )
        assert foot, "the foot of the screen is the viewer's"
        shot(page, "viewer-phone-details", full=False)
        # Back: the timeline, with its bottom bar again.
        page.get_by_role("button", name="Close the viewer").tap()
        expect(page.get_by_role("navigation", name="Sections")).to_be_visible()
        assert watch.problems == []
    finally:
        page.context.close()
