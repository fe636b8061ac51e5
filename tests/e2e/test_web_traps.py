"""The web app does not trap anyone: a merge, "Not X", a withdrawal, a deletion ask first and
say what will happen, nothing is chosen for the owner, merges, splits and rejections are undone
from the message that follows them, an opted-out person leaves no empty card or broken image,
a face in a group photo is chosen by clicking it, and errors speak of pages and buttons.

Debian's Chromium, driven by Playwright, against a real server on port 0 with the real models
on real photos (../shared/data). Screenshots go to test-artifacts/web-traps/, phone-sized
(390x844) ones too.
"""

from __future__ import annotations

import re
import shutil
import time
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
    accessible,
    new_page,
    sign_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]

OWNER, PASSWORD = "Mara Owner", "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
COMMAND_WORDS = re.compile(r"`|--|\bregard |face_index")
PHOTOS = {
    "obama": ["obama.jpg", "obama1.jpg", "obama2.jpg", "obama3.jpg"],
    "kit_harington": ["john1.jpeg", "john2.jpeg", "johnsnow_test1.jpg"],
    "rose_leslie": ["img1.jpg", "img2.jpg"],
    "biden": ["biden.jpg", "biden2.jpg"],
}
NAMES = {
    "obama": "Barack Obama",
    "kit_harington": "Kit Harington",
    "rose_leslie": "Rose Leslie",
    "biden": "Joe Biden",
}


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    source = shared_data / "photos" / "face_recognition" / "identities"
    folder = tmp_path_factory.mktemp("album")
    for who, files in PHOTOS.items():
        (folder / who).mkdir()
        for f in files:
            shutil.copy(source / who / f, folder / who / f)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, album: Path) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("traps") / "lib", EngineConfig(workers=0)) as srv:
        host = srv.host
        with host.use() as engine:
            engine.index([album])
            for who, name in NAMES.items():
                engine.people.name(person_of(engine, album / who / PHOTOS[who][0]), name)
            host.accounts.create_first_owner(host.accounts.setup_token(), OWNER, PASSWORD)
        yield srv


def person_of(engine: Any, photo: Path) -> str:
    for p in engine.people.summaries():
        shown = engine.people.show(p["person"])
        if any(ph["path"] == str(photo) for ph in shown["photo_list"]):
            return str(p["person"])
    raise AssertionError(f"nobody in {photo}")


def people(server: Running) -> dict[str, dict[str, Any]]:
    with server.host.use() as engine:
        return {p["name"]: p for p in engine.people.summaries() if p["name"]}


@pytest.fixture
def page(browser: Browser, server: Running) -> Iterator[Page]:
    page, watch = new_page(browser, DESKTOP)
    sign_in(page, server.url, OWNER, PASSWORD)
    yield page
    page.context.close()
    assert watch.problems == []


shot = Shots("web-traps")


def open_person(page: Page, server: Running, name: str) -> None:
    page.goto(f"{server.url}/people/{people(server)[name]['person']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_merge_asks_first_chooses_nothing_and_is_undone(page: Page, server: Running) -> None:
    before = people(server)
    open_person(page, server, "Kit Harington")
    panel = page.locator("details.merge-panel")
    panel.locator("summary").click()
    choices = panel.locator('input[name="same-as"]')
    expect(choices).to_have_count(len(before) - 1)
    expect(panel.locator('input[name="same-as"]:checked')).to_have_count(0)
    page.get_by_role("button", name="Merge…").click()
    expect(panel.get_by_role("alert")).to_have_text("Choose who they are the same person as.")
    panel.get_by_text("Barack Obama", exact=True).click()
    page.get_by_role("button", name="Merge…").click()
    dialog = page.get_by_role("dialog", name="Merge Barack Obama into Kit Harington?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "Barack Obama's 4 faces join Kit Harington's 3 faces: one person with 7 faces."
    )
    expect(dialog).to_contain_text("Both have a name: choose the one to keep.")
    focused_inside = page.evaluate("() => !!document.activeElement.closest('dialog')")
    assert focused_inside, "focus moves into the dialog"
    dialog.get_by_role("button", name="Merge", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose the name that stays.")
    accessible(page)
    shot(page, "merge-dialog", full=False)
    # Escape cancels: nothing changed.
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert people(server) == before
    # Again, on a phone, with the keyboard: choose the name, then confirm.
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Merge…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Kit Harington").check()
    expect(dialog).to_contain_text(
        "The name 'Barack Obama' is dropped; they are all 'Kit Harington'."
    )
    assert page.evaluate(SIDEWAYS) <= 0, "the dialog scrolls sideways at 390 px"
    shot(page, "merge-dialog-phone", full=False)
    page.set_viewport_size(DESKTOP)
    dialog.get_by_role("button", name="Merge", exact=True).focus()
    page.keyboard.press("Enter")
    toast = page.locator("#toast")
    expect(toast).to_contain_text("Merged: Barack Obama joined Kit Harington, who now has 7 faces.")
    expect(page.locator(".face-chip")).to_have_count(7)
    after = people(server)
    assert "Barack Obama" not in after and after["Kit Harington"]["faces"] == 7
    shot(page, "merged-with-undo")
    # Undo, from the message: everything as it was.
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone: Barack Obama (P")
    assert people(server) == before
    expect(page.locator(".face-chip")).to_have_count(3)
    # The People page: both are back with their faces, the history says what happened.
    page.goto(f"{server.url}/people")
    page.wait_for_function(IMAGES_LOADED, arg=".people-grid img")
    expect(page.locator(".person-card").filter(has_text="Barack Obama")).to_have_count(1)
    history = page.locator(".history-entry")
    expect(history.first).to_contain_text("Undone: Barack Obama (P")
    expect(history.nth(1)).to_contain_text("joined Kit Harington (P")
    expect(history.nth(1)).to_contain_text("the name 'Barack Obama' was dropped.")
    expect(history.nth(1).locator(".tag")).to_have_text("undone")
    # The People page's own merge: people ticked by the owner, none beforehand.
    expect(page.locator(".person-select:checked")).to_have_count(0)
    expect(page.get_by_role("button", name="Merge selected…")).to_be_disabled()
    accessible(page)
    shot(page, "people-with-history")


def test_not_x_asks_first_and_undo_puts_the_face_back(page: Page, server: Running) -> None:
    open_person(page, server, "Barack Obama")
    expect(page.locator(".face-chip")).to_have_count(4)
    page.get_by_role("button", name=re.compile(r"^Not Barack Obama")).first.click()
    dialog = page.get_by_role("dialog", name="Not Barack Obama?")
    expect(dialog).to_contain_text("leaves Barack Obama, and Regard never puts it back")
    shot(page, "reject-dialog", full=False)
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".face-chip")).to_have_count(4)
    page.get_by_role("button", name=re.compile(r"^Not Barack Obama")).first.click()
    page.get_by_role("dialog").get_by_role("button", name="Not Barack Obama").click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text("is no longer in Barack Obama, and will not be put back.")
    expect(page.locator(".face-chip")).to_have_count(3)
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone: F")
    expect(page.locator(".face-chip")).to_have_count(4)
    with server.host.use() as engine:
        assert engine.catalog.people.rejections() == {}


def test_web_errors_speak_of_pages_and_buttons(page: Page, server: Running) -> None:
    texts = []
    open_person(page, server, "Joe Biden")
    page.get_by_label("Name", exact=True).fill("barack obama")
    page.get_by_role("button", name="Save name").click()
    alert = page.locator(".panel").filter(has=page.get_by_label("Name", exact=True))
    expect(alert.get_by_role("alert")).to_contain_text("is already the name of P")
    texts.append(alert.get_by_role("alert").inner_text())
    # The error offers the merge it speaks of; it asks first, like every merge.
    page.get_by_role("button", name="Merge with Barack Obama…").click()
    dialog = page.get_by_role("dialog", name="Merge Joe Biden into Barack Obama?")
    expect(dialog.get_by_label("Barack Obama")).to_be_checked()  # the name just typed
    shot(page, "name-taken-merge-offer", full=False)
    dialog.get_by_role("button", name="Cancel").click()
    page.goto(f"{server.url}/people/Nobody")
    texts.append(page.get_by_role("alert").inner_text())
    expect(page.get_by_role("alert")).to_have_text(
        "No person 'Nobody'. The People page lists everyone, by name or by a number like P12."
    )
    page.goto(f"{server.url}/search?person=Laura")
    texts.append(page.get_by_role("alert").inner_text())
    for text in texts:
        assert not COMMAND_WORDS.search(text), text


def test_consent_and_opt_out_choose_a_face_by_clicking_it(
    page: Page, server: Running, shared_data: Path
) -> None:
    group = shared_data / "photos" / "face_recognition" / "group" / "kit_with_rose.jpg"
    page.goto(f"{server.url}/rights?person=Rose%20Leslie")
    assert page.locator('input[name="face_index"]').count() == 0, "no face number to type"
    grant = page.locator("#grant")
    grant.get_by_label("Evidence", exact=True).fill("Signed form 7.")
    grant.get_by_label("Enrolment photo (optional)").set_input_files(str(group))
    expect(grant.get_by_text("2 faces in this photo: click Rose Leslie's face.")).to_be_visible()
    expect(grant.locator(".face-box")).to_have_count(2)
    grant.get_by_role("button", name="Record consent").click()
    expect(grant.get_by_role("alert")).to_have_text("Click Rose Leslie's face in the photo first.")
    grant.locator(".face-box").nth(0).click()  # Rose is on the left
    expect(grant.get_by_role("button", name="Face 1")).to_have_attribute("aria-pressed", "true")
    expect(grant.get_by_role("button", name="Face 2")).to_have_attribute("aria-pressed", "false")
    accessible(page)
    shot(page, "consent-pick-face")
    page.set_viewport_size(PHONE)
    grant.locator(".face-picker").scroll_into_view_if_needed()
    assert page.evaluate(SIDEWAYS) <= 0
    shot(page, "consent-pick-face-phone", full=False)
    page.set_viewport_size(DESKTOP)
    grant.get_by_role("button", name="Record consent").click()
    expect(grant.locator(".ok")).to_contain_text("Recorded consent #1 for Rose Leslie")
    # The face clicked is the one enrolled: Rose's, not Kit's beside her.
    with server.host.use() as engine:
        [(_t, person_id, _o)], [template] = engine.catalog.templates.vectors(
            "enrolment", engine.models.embedder.id
        )
        mine = engine.catalog.people.face_ids_of(person_id)
        _ids, rose = engine.catalog.faces.embeddings(engine.models.embedder.id, mine)
        kit = people(server)["Kit Harington"]["id"]
        _ids, other = engine.catalog.faces.embeddings(
            engine.models.embedder.id, engine.catalog.people.face_ids_of(kit)
        )
    assert float((rose @ template).min()) > 0.5 > float((other @ template).max())
    # The opt-out selfie chooses its face the same way.
    optout = page.locator("#optout")
    optout.get_by_label("Selfie", exact=True).set_input_files(str(group))
    expect(optout.locator(".face-box")).to_have_count(2)
    optout.get_by_role("button", name="Record opt-out").click()
    expect(optout.get_by_role("alert")).to_have_text(
        "Click the face of the person who opts out in the photo first."
    )


def test_withdrawing_asks_first_and_says_what_goes(
    page: Page, server: Running, shared_data: Path
) -> None:
    with server.host.use() as engine:
        if not engine.privacy.consent.subjects():  # when run on its own
            engine.privacy.grant("Rose Leslie", "grouping,search", evidence_text="Form 7.")
    page.goto(f"{server.url}/rights")
    ledger = page.locator("#ledger")
    expect(ledger.locator(".allowed")).to_have_text("grouping, recaps, search")
    ledger.get_by_role("button", name="Withdraw search for Rose Leslie").click()
    dialog = page.get_by_role("dialog", name="Withdraw search for Rose Leslie?")
    expect(dialog).to_contain_text("Still allowed afterwards: grouping, recaps.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(ledger.locator(".allowed")).to_have_text("grouping, recaps, search")
    ledger.get_by_role("button", name="Withdraw every purpose for Rose Leslie").click()
    dialog = page.get_by_role("dialog", name="Withdraw everything for Rose Leslie?")
    expect(dialog).to_contain_text("Rose Leslie's face data")
    expect(dialog).to_contain_text("is deleted now")
    shot(page, "withdraw-everything-dialog", full=False)
    page.set_viewport_size(PHONE)
    shot(page, "withdraw-everything-dialog-phone", full=False)
    page.set_viewport_size(DESKTOP)
    dialog.get_by_role("button", name="Withdraw and delete face data").click()
    expect(page.locator("#toast")).to_contain_text("Withdrawn for Rose Leslie")
    expect(ledger.locator(".allowed")).to_have_text("nothing")
    # Her person went with her face data: no empty card is left.
    page.goto(f"{server.url}/people")
    expect(page.locator(".person-card").filter(has_text="Rose Leslie")).to_have_count(0)
    # She agrees again, with a photo of her: her photos are looked at again at once (a job),
    # her faces come back, and "Who is this?" suggests her for them on that photo alone.
    page.goto(f"{server.url}/rights")
    grant = page.locator("#grant")
    grant.get_by_label("Person").fill("Rose Leslie")
    grant.get_by_label("Evidence", exact=True).fill("Said yes again, 2 December.")
    group = shared_data / "photos" / "face_recognition" / "group" / "kit_with_rose.jpg"
    grant.get_by_label("Enrolment photo (optional)").set_input_files(str(group))
    grant.locator(".face-box").nth(0).click()  # Rose is on the left
    grant.get_by_role("button", name="Record consent").click()
    expect(grant.get_by_role("status")).to_contain_text(
        "2 photos with faces kept out until now are being looked at again"
    )
    grant.get_by_role("status").scroll_into_view_if_needed()
    shot(page, "consent-given-again", full=False)
    with server.host.use() as engine:
        newest = engine.jobs.all()[-1]  # oldest first
    assert newest.kind == "index"
    for _ in range(100):
        with server.host.use() as engine:
            job = engine.jobs.get(newest.id)
            if job is not None and job.state in ("done", "failed"):
                back = [r for r in engine.catalog.faces.rows() if "rose_leslie" in r["path"]]
                break
        time.sleep(0.1)
    assert job is not None and job.state == "done"
    assert [r["biometric"] for r in back] == ["kept", "kept"]
    page.goto(f"{server.url}/who")
    card = page.locator(".who-card")
    expect(card.locator(".who-suggestion")).to_contain_text(
        "looks like the photo given with Rose Leslie's consent"
    )
    page.wait_for_function(IMAGES_LOADED, arg=".who-card img")
    shot(page, "who-suggests-consent-given-again")
    card.get_by_role("button", name="Yes, it's Rose Leslie").click()
    expect(page.locator("#toast")).to_contain_text("Rose Leslie")
    assert people(server)["Rose Leslie"]["faces"] == 2


def test_an_opted_out_person_disappears_without_a_broken_image(
    page: Page, server: Running, album: Path
) -> None:
    page.goto(f"{server.url}/rights")
    optout = page.locator("#optout")
    optout.get_by_label("Selfie", exact=True).set_input_files(
        str(album / "kit_harington" / "john1.jpeg")
    )
    expect(optout.get_by_text("One face found: this one.")).to_be_visible()
    optout.get_by_role("button", name="Record opt-out").click()
    expect(page.locator("#toast")).to_contain_text("Opt-out #1 recorded: 3 faces excluded")
    page.goto(f"{server.url}/people")
    expect(page.locator(".person-card").filter(has_text="Kit Harington")).to_have_count(0)
    page.wait_for_function(IMAGES_LOADED, arg=".people-grid img")
    page.get_by_role("button", name="Regroup all faces").click()
    expect(page.locator("#toast")).to_contain_text("Regrouped")
    expect(page.locator(".person-card").filter(has_text="Kit Harington")).to_have_count(0)
    count = page.locator(".person-card").count()
    expect(page.locator(".summary")).to_contain_text(
        f"{count} people" if count != 1 else "1 person"
    )
    page.wait_for_function(IMAGES_LOADED, arg=".people-grid img")
    shot(page, "people-after-optout")
    page.goto(f"{server.url}/people/Kit%20Harington")
    expect(page.get_by_role("alert")).to_contain_text("No person 'Kit Harington'.")


def test_a_person_is_deleted_after_asking(page: Page, server: Running) -> None:
    open_person(page, server, "Joe Biden")
    page.get_by_role("button", name="Delete Joe Biden…").click()
    dialog = page.get_by_role("dialog", name="Delete Joe Biden?")
    expect(dialog).to_contain_text("This is not an erasure: their face data is kept.")
    shot(page, "delete-dialog", full=False)
    dialog.get_by_role("button", name="Delete Joe Biden").click()
    page.wait_for_url("**/people")
    expect(page.locator("#toast")).to_contain_text("Deleted Joe Biden; 2 faces are in no person")
    expect(page.locator(".person-card").filter(has_text="Joe Biden")).to_have_count(0)
    assert "Joe Biden" not in people(server)


def test_erasure_needs_the_name_exactly(page: Page, server: Running) -> None:
    page.goto(f"{server.url}/rights?person=Barack%20Obama")
    erase = page.locator("#erase")
    erase.get_by_role("button", name="Preview erasure").click()
    erase.get_by_label("Type Barack Obama to confirm").fill("barack obama")
    erase.get_by_role("button", name="Erase Barack Obama permanently").click()
    expect(erase.get_by_role("alert")).to_have_text(
        "To confirm, type the person's name (or id) exactly as shown."
    )
    assert "Barack Obama" in people(server)
