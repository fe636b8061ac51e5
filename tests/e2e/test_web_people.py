"""People as people expect, in Debian's Chromium (Playwright) against a real server on port 0
with the real models on real photos (../shared/data): a face in no person named through the
naming popover (as the photo viewer opens it), a name someone has offered instead of a
duplicate, the "Who is this?" queue accepting a suggestion and naming a new person from the
keyboard, hiding and showing a person, choosing a cover, merging two ticked people and
undoing it from the history, the person's timeline by month with a video's moments linking
to the viewer, and a phone-sized screen. Screenshots go to test-artifacts/web-people/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from tests.e2e.web_support import (
    IMAGES_LOADED,
    SIDEWAYS,
    Shots,
    Watch,
    accessible,
    new_page,
    sign_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PHOTOS = {
    "obama": ["obama.jpg", "obama1.jpg", "obama2.jpg", "obama3.jpg"],
    "kit_harington": ["john1.jpeg", "john2.jpeg", "johnsnow_test1.jpg"],
    "rose_leslie": ["img1.jpg", "img2.jpg"],
    "biden": ["biden.jpg", "biden2.jpg"],
    "alex_lacamoire": ["alex-lacamoire.png", "alex_lacamoire1.jpg", "img1.jpg"],
    "lin_manuel_miranda": ["lin-manuel-miranda.png"],
}
NAMED = {"obama": "Barack Obama", "kit_harington": "Kit Harington"}


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    source = shared_data / "photos" / "face_recognition"
    folder = tmp_path_factory.mktemp("album")
    for who, files in PHOTOS.items():
        (folder / who).mkdir()
        for f in files:
            shutil.copy(source / "identities" / who / f, folder / who / f)
    shutil.copy(source / "video" / "short_hamilton_clip.mp4", folder / "hamilton.mp4")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, album: Path) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("people") / "lib", EngineConfig(workers=0)) as srv:
        host = srv.host
        with host.use() as engine:
            engine.index([album])
            for who, name in NAMED.items():
                engine.people.name(person_of(engine, album / who / PHOTOS[who][0]), name)
            # Two of Obama's faces as grouping might leave them: alone
            # (one for the popover to give back to him, one for the queue to suggest him for)
            for name in ("obama1.jpg", "obama2.jpg"):
                [photo] = [p for p in engine.catalog.photos.all() if p.path.endswith(name)]
                [loose] = [f["id"] for f in engine.catalog.faces.rows(photo.id)]
                with engine.catalog.transaction():
                    engine.catalog.people.put_face(loose, None, None)
            host.accounts.create_first_owner(host.accounts.setup_token(), OWNER, PASSWORD)
        yield srv


def person_of(engine: Any, photo: Path) -> str:
    for p in engine.people.summaries():
        shown = engine.people.show(p["person"])
        if any(ph["path"] == str(photo) for ph in shown["photo_list"]):
            return str(p["person"])
    raise AssertionError(f"nobody in {photo}")


def face_in(server: Running, photo: Path) -> tuple[int, int, int | None]:
    """(face id, photo id, person id) of the (largest) face in a photo of the album."""
    with server.host.use() as engine:
        [row] = [p for p in engine.catalog.photos.all() if p.path == str(photo)]
        faces = engine.catalog.faces.rows(row.id)
        best = max(faces, key=lambda f: f["w"] * f["h"])
        return int(best["id"]), int(row.id), best["person_id"]


def people(server: Running) -> dict[str, dict[str, Any]]:
    with server.host.use() as engine:
        return {p["name"]: p for p in engine.people.summaries() if p["name"]}


def signed_in(browser: Browser, server: Running, viewport: dict[str, int]) -> tuple[Page, Watch]:
    page, watch = new_page(browser, viewport, timeout_ms=30_000)
    sign_in(page, server.url, OWNER, PASSWORD)
    return page, watch


@pytest.fixture
def page(browser: Browser, server: Running) -> Iterator[Page]:
    page, watch = signed_in(browser, server, DESKTOP)
    yield page
    page.context.close()
    assert watch.problems == []


@pytest.fixture
def phone(browser: Browser, server: Running) -> Iterator[Page]:
    page, watch = signed_in(browser, server, PHONE)
    yield page
    page.context.close()
    assert watch.problems == []


shot = Shots("web-people")


def ask_to_name(page: Page, face_id: int, photo_id: int) -> None:
    """What the photo viewer does when a face is clicked: it asks, the namer answers."""
    handled = page.evaluate(
        """([faceId, photoId]) => {
          const anchor = document.querySelector("main h1");
          const event = new CustomEvent("regard:name-face", {
            cancelable: true,
            detail: { faceId, photoId, anchor, onDone: (out) => { window.named = out; } },
          });
          document.dispatchEvent(event);
          return event.defaultPrevented;
        }""",
        [face_id, photo_id],
    )
    assert handled, "nobody answered regard:name-face"


def test_a_face_in_no_person_is_named_in_the_popover(page: Page, server: Running) -> None:
    # Appearances in the video no one else shares: in no person, which nothing could name.
    with server.host.use() as engine:
        loose = [
            r
            for r in engine.catalog.people.unnamed_faces()
            if r["person_id"] is None and r["media"] == "video"
        ]
    assert loose, "the Hamilton clip gave no appearance in no person"
    face, photo = loose[0]["face_id"], loose[0]["photo_id"]
    page.goto(f"{server.url}/photos/{photo}")
    ask_to_name(page, face, photo)
    dialog = page.get_by_role("dialog", name="Who is this?")
    expect(dialog).to_contain_text("Now in no person.")
    box = dialog.get_by_role("combobox", name="Name")
    expect(box).to_be_focused()
    box.press_sequentially("Lin-Manuel")
    listbox = dialog.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_text(["New person: “Lin-Manuel”"])
    shot(page, "popover-new-name", full=False)
    accessible(page)
    box.press("Enter")
    toast = page.locator("#toast")
    expect(toast).to_contain_text(f"F{face} is Lin-Manuel now.")
    assert page.evaluate("window.named.name") == "Lin-Manuel"
    assert "Lin-Manuel" in people(server)
    # Undo from the message: the new person goes, the face is in no person again.
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone: F")
    assert "Lin-Manuel" not in people(server)


def test_a_name_someone_has_is_offered_never_doubled(
    page: Page, server: Running, album: Path
) -> None:
    with server.host.use() as engine:
        loose = next(
            r
            for r in engine.catalog.people.unnamed_faces()
            if r["person_id"] is None
            and engine.catalog.faces.row(r["face_id"])["path"].endswith("obama1.jpg")
        )
    page.goto(f"{server.url}/people")
    ask_to_name(page, loose["face_id"], loose["photo_id"])
    dialog = page.get_by_role("dialog", name="Who is this?")
    box = dialog.get_by_role("combobox")
    box.fill("barack obama")
    box.press("Enter")
    offer = dialog.get_by_role("button", name="Yes, this is Barack Obama")
    expect(offer).to_be_focused()
    shot(page, "popover-offer", full=False)
    offer.press("Enter")
    expect(page.locator("#toast")).to_contain_text("is Barack Obama now.")
    assert list(people(server)).count("Barack Obama") == 1
    with server.host.use() as engine:
        assert (
            engine.catalog.people.face_person(loose["face_id"])
            == engine.people.resolve("Barack Obama").id
        )
    # Keyboard only: type part of a name, arrow down to them, Enter.
    face, photo, _person = face_in(server, album / "alex_lacamoire" / "img1.jpg")
    ask_to_name(page, face, photo)
    dialog = page.get_by_role("dialog", name="Who is this?")
    box = dialog.get_by_role("combobox")
    box.press_sequentially("kit")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", re.compile(r".+-0$"))
    expect(dialog.get_by_role("option", selected=True)).to_contain_text("Kit Harington")
    box.press("Escape")  # the list closes, the dialog stays
    expect(dialog).to_be_visible()
    box.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_who_is_this_accepts_a_suggestion_and_names_someone_new(
    page: Page, server: Running
) -> None:
    page.goto(f"{server.url}/who")
    card = page.locator(".who-card")
    expect(card).to_be_visible()
    page.wait_for_function(IMAGES_LOADED, arg=".who-card img")
    shot(page, "who-first")
    accessible(page)
    # Skip (S) to a group Regard can suggest someone for, then take it with Y.
    for _ in range(25):
        if card.locator(".who-suggestion").count():
            break
        left = card.locator(".who-left").inner_text()
        page.keyboard.press("s")
        expect(card.locator(".who-left")).not_to_have_text(left)
    suggestion = card.locator(".who-suggestion")
    expect(suggestion).to_contain_text(re.compile(r"looks like (Barack Obama|Kit Harington) in"))
    page.wait_for_function(IMAGES_LOADED, arg=".who-card img")
    shot(page, "who-suggestion")
    who = "Barack Obama" if "Obama" in suggestion.inner_text() else "Kit Harington"
    left = card.locator(".who-left").inner_text()
    page.keyboard.press("y")
    expect(page.locator("#toast")).to_contain_text(who)
    # The queue moves on; on the next group N goes to the name box, a new name, Enter.
    expect(card.locator(".who-left")).not_to_have_text(left)
    expect(card.locator("#who-h")).to_be_focused()
    page.keyboard.press("n")
    box = card.get_by_role("combobox")
    expect(box).to_be_focused()
    box.fill("Alex Lacamoire")
    box.press("Enter")
    shot(page, "who-named")
    expect(page.locator("#toast")).to_contain_text("Alex Lacamoire now.")
    assert "Alex Lacamoire" in people(server)
    with server.host.use() as engine:
        audit = [e for e in engine.context.audit.entries() if e["action"] == "suggest-names"]
    assert audit and all(e["purpose"] == "search" for e in audit)


def test_hide_and_show_a_person(page: Page, server: Running) -> None:
    page.goto(f"{server.url}/people")
    page.wait_for_function(IMAGES_LOADED, arg=".people-grid img")
    names = page.locator(".person-card .person-name").all_inner_texts()
    named = [n for n in names if not n.startswith("Unnamed")]
    assert names[: len(named)] == named, "named people come first"
    shot(page, "people")
    accessible(page)
    card = page.locator(".person-card").filter(has_text="Kit Harington")
    card.get_by_label("Select Kit Harington").check()
    page.get_by_role("button", name="Hide selected").click()
    expect(page.locator("#toast")).to_contain_text("Hidden: Kit Harington.")
    expect(page.locator(".person-card").filter(has_text="Kit Harington")).to_have_count(0)
    hidden = page.locator("details.hidden-people")
    expect(hidden.locator("summary")).to_have_text("Hidden (1)")
    hidden.locator("summary").click()
    shot(page, "people-hidden")
    hidden.get_by_role("button", name="Show Kit Harington again").click()
    expect(page.locator("#toast")).to_contain_text("Kit Harington is shown in People again.")
    expect(page.locator(".person-card").filter(has_text="Kit Harington")).to_have_count(1)


def test_choose_a_cover_and_the_timeline(page: Page, server: Running) -> None:
    ref = people(server)["Barack Obama"]["person"]
    page.goto(f"{server.url}/people/{ref}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Barack Obama")
    expect(page.locator(".month-heading").first).to_be_visible()
    page.wait_for_function(IMAGES_LOADED, arg=".person-head img")
    shot(page, "person-timeline")
    accessible(page)
    make = page.get_by_role("button", name=re.compile(r"^Make face F\d+ the cover$")).first
    label = make.get_attribute("aria-label") or ""
    face = re.search(r"F\d+", label).group(0)  # type: ignore[union-attr]
    make.click()
    expect(page.locator("#toast")).to_contain_text("Cover chosen for Barack Obama.")
    expect(page.get_by_role("button", name=f"Face {face} is the cover")).to_be_visible()
    assert people(server)["Barack Obama"]["cover_face"] == face


def test_move_a_chosen_face_to_someone_and_undo(page: Page, server: Running) -> None:
    before = people(server)["Barack Obama"]["faces"]
    page.goto(f"{server.url}/people/{people(server)['Barack Obama']['person']}")
    page.get_by_label(re.compile(r"^Select this face")).first.check()
    page.get_by_role("button", name="Move the selected faces to…").click()
    dialog = page.get_by_role("dialog", name="Move 1 face to…")
    box = dialog.get_by_role("combobox")
    expect(box).to_be_focused()
    box.press_sequentially("Joe")
    box.press("Enter")
    expect(page.locator("#toast")).to_contain_text("is Joe now.")
    assert people(server)["Barack Obama"]["faces"] == before - 1
    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(page.locator("#toast")).to_contain_text("Undone:")
    assert people(server)["Barack Obama"]["faces"] == before
    assert "Joe" not in people(server)


def test_a_video_moment_links_to_the_viewer_at_the_moment(page: Page, server: Running) -> None:
    with server.host.use() as engine:
        moments = [
            (p["person"], m)
            for p in engine.people.summaries()
            for m in engine.people.show(p["person"])["moment_list"]
        ]
    if not moments:
        pytest.fail("the Hamilton clip gave no appearance in any person", pytrace=False)
    ref, m = moments[0]
    page.goto(f"{server.url}/people/{ref}")
    link = page.locator(
        f'a[href="/photos/{m["video_id"]}?t={int(m["start"])}&face={m["face_id"]}"]'
    )
    expect(link).to_have_count(1)
    expect(page.locator(".person-appears")).to_contain_text("video")
    shot(page, "person-with-video")


def test_merge_two_ticked_people_and_undo_from_the_history(page: Page, server: Running) -> None:
    page.goto(f"{server.url}/people")
    expect(page.locator(".person-card").first).to_be_visible()
    unnamed = page.locator(".person-card").filter(has_text="Unnamed person")
    assert unnamed.count() >= 2
    first = unnamed.nth(0).locator(".person-name").inner_text()
    second = unnamed.nth(1).locator(".person-name").inner_text()
    before = page.locator(".person-card").count()
    page.get_by_label(f"Select {first}").check()
    page.get_by_label(f"Select {second}").check()
    expect(page.locator(".selection-count")).to_have_text("2 people selected")
    page.get_by_role("button", name="Merge selected…").click()
    dialog = page.get_by_role("dialog", name="Merge 2 people?")
    expect(dialog).to_contain_text("They stay unnamed.")
    shot(page, "merge-selected", full=False)
    dialog.get_by_role("button", name="Merge").click()
    expect(page.locator("#toast")).to_contain_text("Merged into")
    page.goto(f"{server.url}/people")
    expect(page.locator(".person-card")).to_have_count(before - 1)
    entry = page.locator(".history-entry").filter(has_text="joined").first
    entry.get_by_role("button", name=re.compile("^Undo")).click()
    page.get_by_role("dialog", name="Undo this change?").get_by_role("button", name="Undo").click()
    expect(page.locator("#toast")).to_contain_text("Undone:")
    expect(page.locator(".person-card")).to_have_count(before)
    shot(page, "people-after-undo")


def test_naming_faces_across_photos(page: Page, server: Running, album: Path) -> None:
    ids = []
    for f in PHOTOS["rose_leslie"]:
        _face, photo, _person = face_in(server, album / "rose_leslie" / f)
        ids.append(photo)
    page.goto(f"{server.url}/library")
    page.evaluate(
        """(photoIds) => document.dispatchEvent(new CustomEvent("regard:name-faces-in", {
             cancelable: true, detail: { photoIds, onDone: () => { window.done = true; } } }))""",
        ids,
    )
    dialog = page.get_by_role("dialog", name="Name a face across these photos")
    toggles = dialog.locator(".namer-face-toggle:not([disabled])")
    expect(toggles.first).to_be_focused()
    for i in range(toggles.count()):
        toggles.nth(i).click()
    expect(dialog.locator('.namer-face-toggle[aria-pressed="true"]')).to_have_count(toggles.count())
    shot(page, "name-across-photos", full=False)
    box = dialog.get_by_role("combobox")
    box.fill("Rose Leslie")
    box.press("Enter")
    expect(page.locator("#toast")).to_contain_text("are Rose Leslie now.")
    assert page.evaluate("window.done") is True


def test_on_a_phone(phone: Page, server: Running, album: Path) -> None:
    for path, name, ready in (
        ("/people", "phone-people", ".people-grid"),
        ("/who", "phone-who", ".who-card"),
    ):
        phone.goto(f"{server.url}{path}")
        # The page has drawn (before the app starts, main is not busy yet either).
        expect(phone.locator(ready)).to_be_visible()
        expect(phone.locator("main")).not_to_have_attribute("aria-busy", "true")
        assert phone.evaluate(SIDEWAYS) <= 0, f"{path} scrolls sideways on a phone"
        shot(phone, name)
        accessible(phone)
    face, photo, _person = face_in(server, album / "biden" / "biden2.jpg")
    phone.goto(f"{server.url}/library")
    ask_to_name(phone, face, photo)
    dialog = phone.get_by_role("dialog", name="Who is this?")
    expect(dialog.get_by_role("button", name=re.compile("^Not a person"))).to_be_visible()
    shot(phone, "phone-popover", full=False)
    dialog.get_by_role("button", name=re.compile("^Not a person")).click()
    expect(phone.locator("#toast")).to_contain_text("is not a person")
    with server.host.use() as engine:
        assert engine.catalog.faces.row(face)["not_a_person"] == 1
    phone.locator("#toast").get_by_role("button", name="Undo").click()
    expect(phone.locator("#toast")).to_contain_text("Undone:")
