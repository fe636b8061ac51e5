"""The message at the top of the page: news goes by itself (not while it is pointed at or
focused), an error or an offer to undo stays until closed, and any can be dismissed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.testing import FakeModels
from tests.e2e.web_support import Shots, accessible, new_page, set_up, sign_in

pytestmark = pytest.mark.slow

OWNER = "Ada Owner"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
shot = Shots("toast")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    lib = tmp_path_factory.mktemp("toast") / "lib"
    with running(lib, EngineConfig(workers=1), models=FakeModels()) as srv:
        yield srv


@pytest.fixture
def page(browser: Browser, server: Running) -> Iterator[Page]:
    page, _ = new_page(browser, DESKTOP)
    page.clock.install()
    if server.host.accounts.needs_setup():
        set_up(page, server.url, server.host.accounts.setup_token(), OWNER)
    else:
        sign_in(page, server.url, OWNER)
    yield page
    page.context.close()


def add_user(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    users = page.locator("section", has=page.get_by_role("heading", name="Who may use"))
    users.get_by_label("Name", exact=True).fill(name)
    users.get_by_label("Password", exact=True).fill("tulip lantern gravel orbit")
    users.get_by_label("Role", exact=True).select_option("viewer")
    users.get_by_role("button", name="Add account").click()


def test_news_goes_by_itself_but_not_while_it_is_read(page: Page) -> None:
    toast = page.locator("#toast")
    add_user(page, "Vic One")
    expect(toast).to_have_text("Added Vic One (viewer).")  # the message alone: no cross in it
    expect(toast.get_by_role("button", name="Dismiss")).to_be_visible()
    accessible(page)
    shot(page, "news")
    page.set_viewport_size(PHONE)
    shot(page, "news-phone")
    page.set_viewport_size(DESKTOP)
    page.clock.run_for(6000)
    expect(toast).to_have_text("Added Vic One (viewer).")
    toast.hover()  # pointed at: it stays as long as it is read
    page.clock.run_for(15000)
    expect(toast).to_have_text("Added Vic One (viewer).")
    page.mouse.move(5, 700)
    page.clock.run_for(1500)
    expect(toast).to_be_empty()
    # Focus in it holds it too (a keyboard user tabbing to Dismiss).
    add_user(page, "Vic Two")
    toast.get_by_role("button", name="Dismiss").focus()
    page.clock.run_for(15000)
    expect(toast).to_have_text("Added Vic Two (viewer).")
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_be_empty()
    expect(page.locator("main")).to_be_focused()


def test_an_error_stays_until_it_is_closed(page: Page) -> None:
    toast = page.locator("#toast")
    page.route(
        "**/api/logout",
        lambda route: route.fulfill(
            status=503,
            json={"error": {"type": "InternalError", "message": "The server is busy."}},
        ),
    )
    page.get_by_role("button", name="Sign out").click()
    expect(toast).to_contain_text("The server is busy.")
    expect(toast.locator("p")).to_have_class("toast-error")
    page.clock.run_for(60000)
    expect(toast).to_contain_text("The server is busy.")
    shot(page, "error")
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_be_empty()
