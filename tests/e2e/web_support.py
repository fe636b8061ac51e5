"""What every web test uses, in one place: Debian's Chromium, the checks every page gets
(accessibility, no sideways scrolling, images loaded), what went wrong in the browser
(`Watch`), a signed-in page, and screenshots into test-artifacts/<folder>/."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, Response

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_ROOT = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"

# What every page is checked for: labelled controls, alt text, named buttons and links, one
# h1, unique ids, and no inline style (the Content Security Policy would refuse it anyway).
ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  const visible = (el) => !el.hidden && el.getClientRects().length > 0;
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby");
    if (!named) problems.push(`no label: ${el.outerHTML.slice(0, 100)}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`no alt: ${img.src}`);
  }
  for (const b of document.querySelectorAll("button")) {
    if (!b.textContent.trim() && !b.getAttribute("aria-label")) problems.push("unnamed button");
  }
  for (const a of document.querySelectorAll("a[href]")) {
    const img = a.querySelector("img[alt]:not([alt=''])");
    if (!a.textContent.trim() && !img && !a.getAttribute("aria-label")) {
      problems.push(`unnamed link: ${a.href}`);
    }
  }
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length) problems.push(`ids used twice: ${twice.join(", ")}`);
  if (document.querySelector("[style]")) problems.push("an inline style attribute");
  return problems;
}"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
IMAGES_LOADED = """(selector) => [...document.querySelectorAll(selector)].length > 0
  && [...document.querySelectorAll(selector)].every((i) => i.complete && i.naturalWidth > 0)"""


@dataclass
class Watch:
    """What went wrong in the browser: script errors, refused resources, server errors."""

    problems: list[str] = field(default_factory=list)

    def console(self, msg: ConsoleMessage) -> None:
        # 4xx answers the test provokes on purpose (401 before sign-in, 403 on a wrong
        # confirmation, 404 for an erased person) appear as "Failed to load resource".
        if msg.type == "error" and not re.search(r"status of 4\d\d", msg.text):
            self.problems.append(f"console: {msg.text}")

    def response(self, response: Response) -> None:
        static = "/static/" in response.url
        if response.status >= 500 or (static and response.status >= 400):
            self.problems.append(f"{response.status} {response.request.method} {response.url}")


def watch(page: Page) -> Watch:
    """Watch `page` for script errors, console errors and failed answers."""
    seen = Watch()
    page.on("console", seen.console)
    page.on("pageerror", lambda exc: seen.problems.append(f"script error: {exc}"))
    page.on("response", seen.response)
    return seen


def new_page(
    browser: Browser, viewport: dict[str, int], timeout_ms: int = 20_000, **context: Any
) -> tuple[Page, Watch]:
    """A page in a context of its own (closed with `page.context.close()`), watched."""
    ctx = browser.new_context(viewport=viewport, **context)
    ctx.set_default_timeout(timeout_ms)
    page = ctx.new_page()
    return page, watch(page)


def sign_in(page: Page, url: str, name: str, password: str = PASSWORD) -> None:
    """Sign in on the sign-in page; the library is shown."""
    page.goto(f"{url}/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/library")


def set_up(page: Page, url: str, token: str, name: str, password: str = PASSWORD) -> None:
    """The first run's page: the owner is made and signed in."""
    page.goto(f"{url}/setup")
    fill_setup(page, token, name, password)
    page.wait_for_url("**/library")


def fill_setup(page: Page, token: str, name: str, password: str = PASSWORD) -> None:
    page.get_by_label("Setup token").fill(token)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Create owner and sign in").click()


def accessible(page: Page) -> None:
    problems = page.evaluate(ACCESSIBILITY_PROBLEMS)
    assert problems == [], f"{page.url}: {problems}"


class Shots:
    """Screenshots into test-artifacts/`folder`/, the whole page or the screen by default."""

    def __init__(self, folder: str, full: bool = True) -> None:
        self.folder = ARTIFACTS_ROOT / folder
        self.full = full

    def __call__(self, page: Page, name: str, full: bool | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # caret="initial": hiding the caret leaves an empty style attribute on every input,
        # which the accessibility check (no inline style) would then find on the same page.
        page.screenshot(
            path=str(self.folder / f"{name}.png"),
            full_page=self.full if full is None else full,
            caret="initial",
        )
