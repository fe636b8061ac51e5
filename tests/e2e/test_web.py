"""The web app in Debian's Chromium, driven by Playwright, against a real server on port 0 with
the real models: first run, sign-in, upload and live indexing, a photo with its face boxes,
people, search by photo (picking a face in a group photo), naming, consent granted and
withdrawn, an access report, erasure with its confirmation step, the audit log, roles, and
sign-out. Screenshots of each main page go to test-artifacts/web/; phone-sized screens are
checked for sideways scrolling."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    expect,
)

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.pipeline.sniff import IMAGE_TYPES, sniff
from tests.e2e.web_support import (
    ARTIFACTS_ROOT,
    IMAGES_LOADED,
    SIDEWAYS,
    Shots,
    Watch,
    accessible,
    new_page,
)

pytestmark = pytest.mark.slow

ARTIFACTS = ARTIFACTS_ROOT / "web"
OWNER, PASSWORD = "Ada Owner", "correct horse battery staple"
VIEWER, VIEWER_PASSWORD = "Vic Viewer", "tulip lantern gravel orbit"
VIEWER_RESET = "marble fern quiet harbour"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("web") / "lib", EngineConfig(workers=2)) as srv:
        yield srv


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    page, watch = new_page(browser, DESKTOP, accept_downloads=True)
    yield page, watch
    page.context.close()


def stored_name(path: Path) -> str:
    """The name an upload is kept under: the start of its sha256 and its real type's suffix."""
    data = path.read_bytes()
    kind = sniff(data[:32])
    assert kind is not None
    return hashlib.sha256(data).hexdigest()[:20] + IMAGE_TYPES[kind]


shot = Shots("web")


def go(page: Page, link: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
    expect(page.locator("main")).not_to_have_attribute("aria-busy", "true")


def test_the_web_app_from_first_run_to_erasure(server: Running, watched, sample_dir: Path):
    page, watch = watched
    url = server.url

    # --- first run: the setup token, then the owner is signed in -----------------------------
    page.goto(f"{url}/library")
    page.wait_for_url("**/setup")
    page.get_by_label("Setup token").fill("not-the-token")
    page.get_by_label("Your name").fill(OWNER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The setup token is wrong. Copy it from the console where `regard serve` was started."
    )
    accessible(page)
    page.get_by_label("Setup token").fill(server.host.accounts.setup_token())
    page.get_by_role("button", name="Create owner and sign in").click()
    page.wait_for_url("**/library")
    expect(page.get_by_role("heading", level=1)).to_have_text("Library")
    expect(page.get_by_text(re.compile(r"^Welcome, "))).to_have_text(
        f"Welcome, {OWNER}. Add photos to start."
    )

    # --- sign out, and in again with the keyboard only ---------------------------------------
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.get_by_label("Name").focus()
    page.keyboard.type(OWNER)
    page.keyboard.press("Tab")
    page.keyboard.type("wrong password!")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    page.get_by_label("Password").fill("")
    page.get_by_label("Password").focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.textContent, getComputedStyle(document.activeElement)"
        ".outlineStyle]"
    )
    assert focused == ["Sign in", "solid"], "the focused button shows a visible focus ring"
    page.keyboard.press("Enter")
    page.wait_for_url("**/library")

    # --- upload the sample and watch it being indexed -----------------------------------------
    photos = sorted(p for p in (sample_dir / "photos").rglob("*") if p.is_file())
    page.get_by_text("Add photos and videos", exact=True).click()
    page.get_by_label("Photos and videos to add").set_input_files([str(p) for p in photos])
    expect(page.get_by_text("Indexing finished")).to_have_text(
        re.compile(
            r"^Indexing finished: 10 files looked at, 2\d faces found, 1 could not be used\.$"
        ),
        timeout=90_000,
    )
    expect(page.get_by_text("Files that could not be used:")).to_be_visible()
    expect(page.locator(".failures li")).to_have_text(re.compile(r"^truncated\.jpg: .*damaged"))
    # Each file's line says what became of it.
    expect(page.locator(".upload-file").filter(has_text="truncated.jpg")).to_contain_text(
        "kept, but could not be used: the image data is truncated or damaged"
    )
    expect(page.locator(".upload-file").filter(has_text="cat.png")).to_contain_text("added")
    # The timeline (issue 12) shows them as they are indexed, each in its own shape.
    expect(page.locator(".tl-cell")).to_have_count(9)
    expect(page.locator(".tl-summary")).to_have_text("9 photos and videos")
    page.wait_for_function(IMAGES_LOADED, arg=".tl-cell img")
    accessible(page)
    shot(page, "library")
    # Photos are described by the names they were sent with, not the stored ones (read once
    # every tile has its link: a month fetched again after indexing redraws its tiles).
    expect(page.locator(".tl-link")).to_have_count(9)
    labels = page.locator(".tl-link").evaluate_all(
        "links => links.map(a => a.getAttribute('aria-label'))"
    )
    assert {a.rsplit(": ", 1)[1] for a in labels} == {p.name for p in photos} - {"truncated.jpg"}
    # Filters: the folders photos are in (uploads are in the library's own), and years.
    page.get_by_role("link", name="Folders and years").click()
    uploads = "uploads/" + time.strftime("%Y/%m")
    expect(page.get_by_label("Folder")).to_contain_text(f"{uploads} (9)")
    # Uploads keep the date their files had (the browser's lastModified): none is undated.
    expect(page.get_by_label("Year")).not_to_contain_text("No date")
    page.get_by_label("Folder").select_option(label=f"{uploads} (9)")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(r"/library\?folder=%2F.*uploads%2F\d{4}%2F\d\d$"))
    expect(
        page.get_by_text("9 photos matching the filters, newest first; showing 9.")
    ).to_be_visible()
    page.goto(f"{url}/library?folder=%2Fnowhere")
    expect(page.get_by_text("No photos match these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator(".tl-cell")).to_have_count(9)

    # --- a photo in the viewer, with its face boxes ------------------------------------------
    # (The photo page became a full-screen viewer: its own tests are in test_web_viewer.py.)
    page.goto(f"{url}/library?folder=")
    page.locator('.thumb-link[data-faces="6"]').first.click()
    page.wait_for_url(re.compile(r".*/photos/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^group-poker.*\.(jpg|webp)$")
    )
    page.keyboard.press("f")
    expect(page.locator(".viewer-faces .viewer-face")).to_have_count(6)
    faces = page.get_by_role(
        "button", name=re.compile(r"^(Face of unnamed person P\d+|Unnamed face)$")
    )
    expect(faces).to_have_count(6)
    image = page.locator(".viewer-photo image")
    size = (image.get_attribute("width"), image.get_attribute("height"))
    assert size in {("1280", "886"), ("640", "443")}, size  # boxes in full-resolution pixels
    accessible(page)
    shot(page, "photo")
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r".*/library(\?folder=)?$"))

    # --- search by photo: one face, then a group photo where a face is picked ----------------
    group = sample_dir / "photos/people"
    poker = {p.name for p in group.glob("group-poker*")}  # as sent, not as kept
    assert len({stored_name(p) for p in group.glob("group-poker*")}) == 3
    photo_details: list[str] = []

    def per_match(request: Request) -> None:
        if re.search(r"/api/photos/\d+$", request.url):
            photo_details.append(request.url)

    page.on("request", per_match)
    go(page, "Search")
    page.get_by_label("Photo to search with").set_input_files(str(sample_dir / "probe.jpg"))
    expect(page.get_by_role("heading", name="3 photos with this face, best first.")).to_be_visible()
    expect(page.locator(".result")).to_have_count(3)
    found = page.locator(".result .path").all_text_contents()
    assert set(found) == poker, found
    page.get_by_label("Photo to search with").set_input_files(str(group / "group-poker.jpg"))
    expect(page.get_by_text("6 faces found in the photo: choose one.")).to_be_visible()
    expect(page.locator(".probe .face-box")).to_have_count(6)
    page.locator(".probe .face-box").nth(5).click()  # the rightmost face: the probe's person
    expect(page.get_by_role("heading", name="3 photos with this face, best first.")).to_be_visible()
    expect(page.get_by_role("button", name="Face 6")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".result")).to_have_count(3)
    assert set(page.locator(".result .path").all_text_contents()) == poker
    expect(page.locator(".result .face-layer .face-box")).to_have_count(3)
    page.wait_for_function(IMAGES_LOADED, arg=".result img")
    page.remove_listener("request", per_match)
    assert not photo_details, "search results come with all they show: no request per match"
    accessible(page)
    shot(page, "search")

    # --- name the person found ----------------------------------------------------------------
    page.locator(".result").first.get_by_role("link", name=re.compile("Unnamed person P")).click()
    page.wait_for_url(re.compile(r".*/people/P\d+$"))
    ref = page.url.rsplit("/", 1)[1]
    page.get_by_label("Name", exact=True).fill("Lisa")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lisa")
    expect(page.get_by_text(f"Named {ref} Lisa: 3 faces in 3 photos.")).to_be_visible()
    expect(page.locator(".face-chip")).to_have_count(3)
    page.wait_for_function(IMAGES_LOADED, arg=".person-photos img")
    accessible(page)
    shot(page, "person")

    page.get_by_role("link", name="Search for look-alikes").click()
    expect(page.get_by_role("status").filter(has_text="of Lisa")).to_have_text(
        "3 photos of Lisa, best first."
    )

    # --- share Lisa's photos: she has no consent record, so the page warns first -------------
    go(page, "Share")
    export = page.locator("#export")
    expect(export.get_by_label("Stay recognisable")).to_be_hidden()
    export.get_by_label("Person", exact=True).fill("Lisa")
    export.get_by_role("button", name="Export").click()  # no zip yet: a warning and a preview
    warning = export.locator(".warning")
    expect(warning).to_contain_text(
        "Lisa has no consent record, so Lisa will be blurred in every copy.", timeout=60_000
    )
    expect(export.locator(".preview-card")).to_have_count(3)
    page.wait_for_function(IMAGES_LOADED, arg=".preview-card img")
    expect(export.locator(".preview-card .face-box-blurred")).to_have_count(18)
    expect(export.locator(".preview-card .face-box-kept")).to_have_count(0)
    expect(export.locator(".fate-blurred").first).to_have_text(
        "Lisa (3 faces): blurred — has no consent record."
    )
    accessible(page)
    shot(page, "share-warning")
    # Keep her visible: the mode and the names change, the preview is made again.
    export.get_by_role("button", name="Keep Lisa visible").click()
    expect(export.get_by_label("Blur")).to_have_value("all-but")
    expect(export.get_by_label("Stay recognisable")).to_have_value("Lisa")
    expect(warning).to_have_count(0)
    expect(export.locator(".preview-card .face-box-kept")).to_have_count(3, timeout=60_000)
    expect(export.locator(".preview-card .face-box-blurred")).to_have_count(15)
    expect(export.locator(".fate-visible")).to_have_text("Lisa (3 faces): stays recognisable.")
    page.wait_for_function(IMAGES_LOADED, arg=".preview-card img")
    accessible(page)
    shot(page, "share-preview-kept")
    with page.expect_download() as download:
        export.get_by_role("button", name="Export").click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        kept = json.loads(archive.read("report.json"))
    assert kept["photos"] == 3 and kept["faces_visible"] == 3
    # Or export her blurred, knowingly: the warning's other choice.
    export.get_by_label("Blur").select_option("unconsented")
    export.get_by_role("button", name="Export").click()
    expect(warning).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        export.get_by_role("button", name="Export with Lisa blurred").click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        blurred = json.loads(archive.read("report.json"))
    assert blurred["photos"] == 3 and blurred["faces_visible"] == 0
    assert blurred["faces_blurred"] == 18

    # --- corrections on someone else: split a face off, merge it back, reject one -------------
    go(page, "People")
    other = page.locator(".person-card").filter(has_not_text="Lisa").first
    other_ref = other.locator(".person-name").inner_text().rsplit(" ", 1)[1]
    other.click()
    expect(page.locator(".face-chip")).to_have_count(3)
    page.get_by_label(re.compile(r"^Select this face \(F\d+\)$")).first.check()
    page.get_by_role("button", name="Split the selected faces into a new person").click()
    expect(page.locator("#toast")).to_contain_text("Split off: the 1 face you chose now form P")
    expect(page.locator(".face-chip")).to_have_count(1)
    merge = page.locator("details.merge-panel")
    merge.locator("summary").click()
    merge.get_by_text(f"Unnamed person {other_ref}", exact=True).click()
    merge.get_by_role("button", name="Merge…").click()
    page.get_by_role("dialog").get_by_role("button", name="Merge", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("now has 3 faces")
    expect(page.locator(".face-chip")).to_have_count(3)
    page.get_by_role("button", name=re.compile(r"^Not this person")).first.click()
    page.get_by_role("dialog").get_by_role("button", name="Not this person").click()
    expect(page.locator("#toast")).to_contain_text("will not be put back")
    expect(page.locator(".face-chip")).to_have_count(2)
    accessible(page)

    go(page, "People")
    expect(page.locator(".person-card")).to_have_count(6)
    expect(page.locator(".person-card").filter(has_text="Lisa")).to_have_count(1)
    page.wait_for_function(IMAGES_LOADED, arg=".people-grid img")
    accessible(page)
    shot(page, "people")

    # --- phone-sized screens: nothing scrolls sideways ----------------------------------------
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator(".person-card")).to_have_count(6)
    assert page.evaluate(SIDEWAYS) <= 0, "the people page scrolls sideways at 375 px"
    shot(page, "people-phone")
    # On a phone the header folds behind Menu; Photos is in the bottom bar.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Photos").click()
    expect(page.locator(".tl-cell")).to_have_count(9)
    page.wait_for_function(IMAGES_LOADED, arg=".tl-cell img")
    assert page.evaluate(SIDEWAYS) <= 0, "the library scrolls sideways at 375 px"
    shot(page, "library-phone")
    page.set_viewport_size(DESKTOP)

    # --- consent: grant, then withdraw search; a person search is then refused ---------------
    page.goto(f"{url}/people/{ref}")
    page.locator("main").get_by_role("link", name="Consent & rights").click()
    expect(page).to_have_url(re.compile(r"/rights\?person=Lisa$"))
    grant = page.locator("#grant")
    expect(grant.get_by_label("Person")).to_have_value("Lisa")
    grant.get_by_label("Evidence", exact=True).fill("Signed form 12, given in person.")
    grant.get_by_role("button", name="Record consent").click()
    expect(grant.get_by_role("status")).to_have_text(
        f"Recorded consent #1 for Lisa ({ref}): grouping, search."
    )
    ledger = page.locator("#ledger")
    # A household member keeps what the owner's word allows (recaps) beside what they granted.
    expect(ledger.locator(".allowed")).to_have_text("grouping, recaps, search")
    ledger.get_by_role("button", name="Withdraw search for Lisa").click()
    page.get_by_role("dialog").get_by_role("button", name="Withdraw").click()
    expect(ledger.locator(".allowed")).to_have_text("grouping, recaps")
    expect(page.locator("#toast")).to_contain_text(
        "Withdrawn for Lisa: search. Still allowed: grouping, recaps."
    )
    accessible(page)

    page.goto(f"{url}/search?person=Lisa")
    expect(page.locator(".refused")).to_have_text(
        "Nothing is shown: they have withdrawn consent for search."
    )

    # --- an opt-out needs a face; the server's message says so ---------------------------------
    page.goto(f"{url}/rights?person=Lisa")
    optout = page.locator("#optout")
    optout.get_by_label("Selfie", exact=True).set_input_files(
        str(sample_dir / "photos/things/cat.png")
    )
    optout.get_by_role("button", name="Record opt-out").click()
    expect(optout.get_by_role("alert")).to_contain_text("no face found")

    # --- an access report, downloaded from a blob URL -----------------------------------------
    report = page.locator("#report")
    with page.expect_download() as download:
        report.get_by_role("button", name="Make report").click()
    assert download.value.suggested_filename == "access-report-Lisa.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        assert {"manifest.json", "summary.html"} <= set(archive.namelist())

    # --- share safely: an export zip and one anonymised photo ----------------------------------
    go(page, "Share")
    export = page.locator("#export")
    export.get_by_label("Folder").fill(str(server.host.library / "uploads"))
    export.get_by_label("Blur").select_option("all")
    export.get_by_label("Name the copies photo-0001").check()
    with page.expect_download() as download:
        export.get_by_role("button", name="Export").click()
    assert download.value.suggested_filename == "regard-export.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        names = set(archive.namelist())
        shared = json.loads(archive.read("report.json"))
    assert "report.json" in names and {"photo-0001.webp", "photo-0002.jpg"} <= names
    assert shared["photos"] == len(names) - 1 and shared["faces_visible"] == 0
    assert shared["faces_blurred"] >= 6
    expect(export.get_by_role("status")).to_contain_text("The copies are ready")
    one = page.locator("#anonymise")
    one.get_by_label("Photo or video", exact=True).set_input_files(str(sample_dir / "probe.jpg"))
    with page.expect_download() as download:
        one.get_by_role("button", name="Anonymise").click()
    assert download.value.suggested_filename == "probe-anonymised.jpg"
    assert Image.open(Path(download.value.path())).format == "JPEG"
    expect(one.get_by_role("status")).to_contain_text("probe.jpg: every face blurred.")
    export.get_by_label("Folder").fill("/nowhere")
    export.get_by_role("button", name="Export").click()
    expect(export.get_by_role("alert")).to_contain_text("/nowhere: no indexed photo is there")
    accessible(page)
    shot(page, "share")
    page.goto(f"{url}/rights?person=Lisa")

    # --- erasure, with its confirmation step ---------------------------------------------------
    erase = page.locator("#erase")
    expect(erase.get_by_label("Person")).to_have_value("Lisa")
    erase.get_by_role("button", name="Preview erasure").click()
    expect(erase.locator(".confirm-box")).to_contain_text(
        f"Erasing Lisa ({ref}) removes the face data of 3 faces"
    )
    erase.get_by_label("Type Lisa to confirm").fill("Lis")
    erase.get_by_role("button", name="Erase Lisa permanently").click()
    expect(erase.get_by_role("alert")).to_have_text(
        "To confirm, type the person's name (or id) exactly as shown."
    )
    erase.get_by_label("Type Lisa to confirm").fill("Lisa")
    erase.get_by_role("button", name="Erase Lisa permanently").click()
    expect(erase.get_by_role("heading", name="Erasure receipt: Lisa")).to_be_visible()
    expect(erase.locator(".receipt .ok")).to_contain_text(
        "Verified: none of the erased face data remains"
    )
    expect(page.locator("#ledger h3")).to_have_text(["[erased]"])
    accessible(page)
    shot(page, "rights")

    go(page, "People")
    expect(page.locator(".person-card")).to_have_count(5)
    expect(page.locator(".person-card").filter(has_text="Lisa")).to_have_count(0)
    page.goto(f"{url}/people/{ref}")
    expect(page.get_by_role("alert")).to_contain_text(f"No person '{ref}'.")

    # --- the audit log -------------------------------------------------------------------------
    go(page, "Audit log")
    expect(page.locator(".verify")).to_contain_text("The log is intact")
    actions = set(page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)"))
    assert {
        "search-face",
        "name",
        "search-person",
        "consent-grant",
        "consent-withdraw",
        "access-report",
        "erasure",
    } <= actions, actions
    accessible(page)
    shot(page, "audit")

    go(page, "Status")
    expect(page.locator("#st-library + dl")).to_contain_text("Photos10")
    accessible(page)
    shot(page, "status")

    # --- accounts: a viewer sees only what a viewer may do ------------------------------------
    go(page, "Account")
    users = page.locator("section", has=page.get_by_role("heading", name="Who may use"))
    users.get_by_label("Name", exact=True).fill(VIEWER)
    users.get_by_label("Password", exact=True).fill(VIEWER_PASSWORD)
    users.get_by_label("Role", exact=True).select_option("viewer")
    users.get_by_role("button", name="Add account").click()
    expect(page.locator("#toast")).to_have_text(f"Added {VIEWER} (viewer).")
    expect(users.locator("tbody tr")).to_have_count(2)
    # The owner sets a new password for someone who forgot theirs: no current one asked.
    row = users.locator("tbody tr").filter(has_text=VIEWER)
    row.get_by_role("button", name="Set new password").click()
    row.get_by_label(f"New password for {VIEWER}").fill(VIEWER_RESET)
    accessible(page)
    row.get_by_role("button", name="Save password").click()
    expect(page.locator("#toast")).to_have_text(f"{VIEWER} has a new password.")
    accessible(page)
    shot(page, "account")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.get_by_label("Name").fill(VIEWER)
    page.get_by_label("Password").fill(VIEWER_RESET)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/library")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["Library", "People", "Search", "Memories", "Share", "Events", "Status", "Account"]
    )
    expect(page.get_by_role("heading", name="Add photos")).to_have_count(0)
    go(page, "People")
    expect(page.locator(".person-card")).to_have_count(5)
    expect(page.get_by_role("button", name="Regroup all faces")).to_have_count(0)

    # --- a new password needs the current one, and ends every session, this one too ----------
    go(page, "Account")
    page.get_by_label("Current password").fill(VIEWER_PASSWORD)  # the one before the reset
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your current password is not right, so the password was not changed."
    )
    page.get_by_label("Current password").fill(VIEWER_RESET)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/login")
    expect(page.locator("#toast")).to_have_text(
        "Your password was changed. Sign in with the new one."
    )
    page.get_by_label("Name").fill(VIEWER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/library")

    # --- signed out, the pages ask to sign in --------------------------------------------------
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    expect(page.locator("#toast")).to_have_text("You are signed out.")
    page.goto(f"{url}/people")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fpeople$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    assert watch.problems == []
