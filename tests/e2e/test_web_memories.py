"""The Memories page in Debian's Chromium against a real server with the real models: an
afternoon of real photos (dated and placed in Lyon) is a recap card with its cover, title,
dates and place; its story view turns with the arrow keys and a swipe; a person who withdrew
recaps is blurred there; the collage is made as a job and downloaded (a JPEG); hiding the
recap asks first and is undone from the message; a person is kept out of recaps. Screenshots
go to test-artifacts/web-memories/ (desktop and phone)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from tests.e2e.web_support import Watch, new_page, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web-memories"
OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PHOTOS = [
    "face_recognition/identities/obama/obama.jpg",
    "face_recognition/identities/obama/obama1.jpg",
    "face_recognition/identities/obama/obama2.jpg",
    "face_recognition/group/two_people.jpg",
    "face_recognition/group/obama_and_biden.jpg",
    "face_recognition/identities/biden/biden.jpg",
    "face_recognition/identities/biden/biden2.jpg",
    "face_recognition/group/kit_with_rose.jpg",
]
START = datetime(2025, 6, 14, 14, 0)
# Recaps take their photos' looks (sharpness, exposure) the first time: seconds on a busy
# machine.
expect.set_options(timeout=60_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Running]:
    album = tmp_path_factory.mktemp("afternoon")
    for rel in PHOTOS:
        shutil.copy(shared_data / "photos" / rel, album / Path(rel).name)
    with running(tmp_path_factory.mktemp("memories") / "lib", EngineConfig(workers=0)) as srv:
        with srv.host.use() as engine:
            engine.index([album])
            db = engine.catalog._db  # type: ignore[attr-defined]
            with engine.catalog.transaction():
                for i, rel in enumerate(PHOTOS):
                    when = (START + timedelta(minutes=5 * i)).isoformat()
                    db.execute(
                        "UPDATE photos SET taken_at = ?, gps_lat = 45.76, gps_lon = 4.83 "
                        "WHERE path = ?",
                        (when, str(album / Path(rel).name)),
                    )
            people = sorted(engine.people.summaries(), key=lambda p: -p["faces"])
            assert len(people) >= 2, people
            engine.people.name(people[0]["person"], "Barack")
            engine.people.name(people[1]["person"], "Joe")
            engine.privacy.grant("Joe", "grouping,search")
            engine.privacy.withdraw("Joe", "recaps")
            srv.host.accounts.create_first_owner(srv.host.accounts.setup_token(), OWNER, PASSWORD)
        yield srv


def signed_in(browser: Browser, server: Running, viewport: dict[str, int]) -> tuple[Page, Watch]:
    page, watch = new_page(browser, viewport, timeout_ms=60_000, accept_downloads=True)
    sign_in(page, server.url, OWNER, PASSWORD)
    return page, watch


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


def test_memories_cards_story_collage_and_hiding(browser: Browser, server: Running) -> None:
    page, watch = signed_in(browser, server, DESKTOP)
    page.get_by_role("link", name="Memories").first.click()
    page.wait_for_url("**/memories")
    page.get_by_label("Which recaps").select_option("events")
    card = page.locator(".memory-card").first
    expect(card).to_be_visible()
    expect(card.locator(".memory-title")).to_contain_text("Lyon")
    expect(card).to_contain_text("2025")
    expect(card.locator(".memory-place")).to_contain_text("Lyon")
    page.locator(".memory-cover img").first.evaluate("i => i.decode()")
    shot(page, "memories-desktop")

    # The collage, made as a job and downloaded.
    with page.expect_download(timeout=120_000) as got:
        card.get_by_role("button", name="Collage").click()
    path = got.value.path()
    with Image.open(io.BytesIO(Path(path).read_bytes())) as im:
        assert im.format == "JPEG" and im.size == (2048, 1536)
    expect(card.locator(".memory-job")).to_contain_text("blurred")

    # The story view: arrows and a swipe turn the photos; Joe's face is blurred.
    card.locator(".memory-open").click()
    page.wait_for_url("**/memories/EVENT-*")
    caption = page.locator(".story-caption")
    expect(caption).to_contain_text("1 of")
    page.keyboard.press("ArrowRight")
    expect(caption).to_contain_text("2 of")
    page.keyboard.press("ArrowLeft")
    expect(caption).to_contain_text("1 of")
    stage = page.locator(".story-stage")
    box = stage.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.8, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, y, steps=5)
    page.mouse.up()
    expect(caption).to_contain_text("2 of")
    total = int(caption.inner_text().split(" of ")[1].split()[0])
    page.keyboard.press("Home")
    blurred_at = []
    for k in range(total):
        expect(caption).to_contain_text(f"{k + 1} of")
        page.locator(".story-photo img").evaluate("i => i.decode()")
        for blur in page.locator(".story-stage .memory-blur").all():
            size = blur.bounding_box()
            assert size is not None and size["width"] > 10 and size["height"] > 10
            blurred_at.append(k)
        page.keyboard.press("ArrowRight")
    assert blurred_at  # Joe withdrew recaps: his face is blurred where he is
    expect(page.locator(".story-people")).not_to_contain_text("Joe")
    page.keyboard.press("Home")
    for _ in range(blurred_at[0]):
        page.keyboard.press("ArrowRight")
    page.locator(".story-photo img").evaluate("i => i.decode()")
    shot(page, "story-desktop")

    # Hide the recap: asked first; cancelling changes nothing; Undo brings it back.
    page.get_by_role("button", name="Hide this recap").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Hide this recap").click()
    page.get_by_role("dialog").get_by_role("button", name="Hide it").click()
    page.wait_for_url("**/memories")
    expect(page.locator("#toast")).to_contain_text("is hidden")
    page.get_by_label("Which recaps").select_option("events")
    expect(page.locator(".memory-card")).to_have_count(0)
    page.goto(f"{server.url}/memories?kind=events&hidden=1")
    expect(page.locator(".memory-card.is-hidden")).to_have_count(1)
    page.get_by_role("button", name="Show again").click()
    expect(page.locator("#toast")).to_contain_text("shown again")
    expect(page.locator(".memory-card.is-hidden")).to_have_count(0)

    # Keep Barack out of recaps (asked first), then let him back in with Undo.
    page.locator(".memory-open").first.click()
    page.wait_for_url("**/memories/EVENT-*")
    page.locator(".story-people li", has_text="Barack").get_by_role(
        "button", name="Keep out of recaps"
    ).click()
    page.get_by_role("dialog").get_by_role("button", name="Keep out of recaps").click()
    page.wait_for_url("**/memories")
    expect(page.locator("#toast")).to_contain_text("Barack is kept out of recaps")
    with server.host.use() as engine:
        listed = engine.recaps.listing("all").recaps
        assert not [r for r in listed if "Barack" in r.people]
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#toast")).to_contain_text("Barack can be in recaps again")
    assert not watch.problems, watch.problems


def test_memories_on_a_phone(browser: Browser, server: Running) -> None:
    page, watch = signed_in(browser, server, PHONE)
    page.goto(f"{server.url}/memories?kind=events")
    expect(page.locator(".memory-card").first).to_be_visible()
    page.locator(".memory-cover img").first.evaluate("i => i.decode()")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shot(page, "memories-phone")
    page.locator(".memory-open").first.click()
    page.wait_for_url("**/memories/EVENT-*")
    page.locator(".story-photo img").evaluate("i => i.decode()")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "story-phone")
    assert not watch.problems, watch.problems


def test_an_empty_choice_offers_the_recaps_there_are(browser: Browser, server: Running) -> None:
    """Most days have nothing "for today" (the page's default): the page says so and offers
    every recap, rather than "no recaps yet" in a library that has some."""
    page, watch = signed_in(browser, server, DESKTOP)
    page.goto(f"{server.url}/memories?kind=trips")  # an afternoon in Lyon is no trip
    intro = page.locator(".subtitle")
    expect(intro).to_contain_text("Nothing in “Trips”; the library has 1 recap.")
    expect(page.locator(".memory-card")).to_have_count(0)
    shot(page, "memories-nothing-of-a-kind")
    page.get_by_role("button", name="Show all").click()
    page.wait_for_url("**/memories?kind=all")
    expect(page.locator(".memory-card")).to_have_count(1)
    expect(page.get_by_label("Which recaps")).to_have_value("all")
    shot(page, "memories-empty-choice")
    assert not watch.problems, watch.problems
