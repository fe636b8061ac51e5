"""The search page's two tiers in Debian's Chromium (Playwright) against a real server on port
0, with the fake models (`tests/unit/services/test_search_tiers.py`: a red probe against a
bluish library): the matches, then the possible matches each with why it is only possible,
and confirming one as the person of the best match with its button (twice clicked, linked
once). Desktop and phone; screenshots go to test-artifacts/web-search-tiers/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.testing import draw_faces
from tests.e2e.web_support import ACCESSIBILITY_PROBLEMS, SIDEWAYS, new_page, sign_in
from tests.unit.services.test_search_tiers import PARAMS, RED, AdaptiveFakes, album  # noqa: F401

pytestmark = [pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web-search-tiers"
OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, album: Path) -> Iterator[Running]:  # noqa: F811
    lib = tmp_path_factory.mktemp("tiers-web") / "lib"
    config = EngineConfig(workers=0, grouping=PARAMS)
    with running(lib, config, models=AdaptiveFakes()) as srv:
        with srv.host.use() as engine:
            engine.index([album])
            [red] = [r["id"] for r in engine.catalog.faces.rows() if r["path"].endswith("/red.png")]
            engine.faces.assign([red], name="Ann")
            srv.host.accounts.create_first_owner(srv.host.accounts.setup_token(), OWNER, PASSWORD)
        yield srv


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_faces(tmp_path_factory.mktemp("probe") / "ann-as-a-child.png", [(30, 30, 40, RED)])


def searched(browser: Browser, server: Running, probe: Path, viewport: dict[str, int]):
    page, watch = new_page(browser, viewport, timeout_ms=30_000)
    sign_in(page, server.url, OWNER, PASSWORD)
    page.goto(f"{server.url}/search")
    page.get_by_label("Photo to search with").set_input_files(str(probe))
    expect(page.get_by_role("heading", name="Possible matches (2)")).to_be_visible()
    return page, watch


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


def test_the_two_tiers_and_confirming_a_possible_match(
    browser: Browser, server: Running, probe: Path
) -> None:
    page, watch = searched(browser, server, probe, {"width": 1280, "height": 900})
    matches = page.locator("ol.results:not(.possible) > li.result")
    expect(matches).to_have_count(2)
    possible = page.locator("li.possible-match")
    expect(possible).to_have_count(2)
    reddish = possible.filter(has_text="reddish.png")
    blurred = possible.filter(has_text="red-blurred.png")
    expect(reddish).to_contain_text("Possible")
    expect(reddish).to_contain_text("Why only possible: looks alike, but not enough")
    expect(blurred).to_contain_text("a blurry, turned or unclear face")
    # The results' heading is shown once: the status line says it to a screen reader unseen.
    said = page.get_by_text(re.compile(r"with this face, best first\.$"))
    expect(said).to_have_count(2)
    seen = said.evaluate_all(
        "els => els.filter((e) => e.getBoundingClientRect().width > 1).map((e) => e.tagName)"
    )
    assert seen == ["H3"], seen
    assert page.evaluate(ACCESSIBILITY_PROBLEMS) == []
    shot(page, "desktop-two-tiers")
    button = reddish.get_by_role("button", name="Yes, face")
    face = int(reddish.get_attribute("data-face-id") or 0)
    button.dblclick()
    expect(reddish.get_by_role("status")).to_have_text(f"Confirmed: F{face} is Ann.")
    expect(reddish.get_by_role("button")).to_have_count(0)
    shot(page, "desktop-confirmed")
    with server.host.use() as engine:
        ann = engine.people.resolve("Ann").id
        assert engine.catalog.people.face_person(face) == ann
        named = [e for e in engine.context.audit.entries() if e["action"] == "name-face"]
        assert len(named) == 2  # Ann's first face, then this one: the double click linked once
    page.context.close()
    assert watch.problems == []


def test_the_tiers_on_a_phone(browser: Browser, server: Running, probe: Path) -> None:
    page, watch = searched(browser, server, probe, {"width": 390, "height": 844})
    assert page.evaluate(SIDEWAYS) == 0  # nothing wider than the phone
    shot(page, "phone-two-tiers")
    page.context.close()
    assert watch.problems == []
