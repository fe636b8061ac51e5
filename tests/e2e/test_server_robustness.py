"""A real server (uvicorn on port 0) under the security review's denial-of-service attacks:
whatever one request sends or costs, another user's request is answered in under half a
second, nothing is read or kept that should not be, and what is refused says why."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from PIL import Image

from regard.engine import EngineConfig
from regard.interfaces.http.server import Running, running
from regard.testing import HANG_SIZE, SIGN_IN_FLOOD, FakeModels, draw_faces
from tests.bombs import rgba16_png_bomb

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
RED = (200, 20, 20)
#: What "stays responsive" means here (the review measured 5.3 s to 21.8 s).
RESPONSIVE = 0.5
BOMB_MESSAGE = (
    "bomb.png: too large to decode: 14000\N{MULTIPLICATION SIGN}14000 pixels at 16 bits, "
    "4 channels = 1.5 GiB; the limit is 572.2 MiB (3 bytes a pixel at the 200 MP limit). If it "
    "is a genuine photo, whoever runs the server can raise the limit."
)


class User:
    """A browser's worth of state: cookie, CSRF token, the server's address."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)
        self.csrf = ""

    def login(self, name: str) -> User:
        r = self.http.post("/api/login", json={"name": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf"]
        return self

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers={"X-CSRF-Token": self.csrf}, **kw)


class Watcher(threading.Thread):
    """Another signed-in user, asking for the library every 50 ms, timing each answer."""

    def __init__(self, user: User) -> None:
        super().__init__(daemon=True)
        self.user = user
        self.times: list[float] = []
        self.statuses: set[int] = set()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            started = time.monotonic()
            r = self.user.http.get("/api/photos", params={"limit": 20})
            self.times.append(time.monotonic() - started)
            self.statuses.add(r.status_code)
            self._done.wait(0.05)

    def __enter__(self) -> Watcher:
        self.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.join(10)

    @property
    def slowest(self) -> float:
        return max(self.times)


def watched(user: User, action: Callable[[], T]) -> tuple[Watcher, T]:
    """`action()` while `user` asks for the library, timing each answer. The machine the tests
    run on may be shared (two cores, other test runs): a run is tried up to three times, so a
    hiccup of the machine's own is not taken for the server's. Before these fixes every run
    failed by far (5.3 s to 21.8 s in the security review)."""
    for _attempt in range(3):
        with Watcher(user) as other:
            result = action()
        if other.slowest < RESPONSIVE:
            break
        time.sleep(1.5)
    # Only answers that listed the library count: a refused one (a session gone, 401) is
    # quick whatever the server is doing, and would make any wait look short.
    assert other.statuses == {200} and len(other.times) >= 3, (other.statuses, other.times)
    return other, result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A real server with the fakes (a photo of 666x666 pixels hangs them) and a worker per
    photo handed in, 5 s allowed each."""
    album = tmp_path_factory.mktemp("album")
    draw_faces(album / "a.png", [(10, 10, 40, RED)])
    config = EngineConfig(workers=1, task_timeout=5.0)
    lib = tmp_path_factory.mktemp("robust") / "lib"
    with running(lib, config, models=FakeModels(misbehave=True)) as srv:
        with srv.host.use() as engine:
            engine.index([album])
        owner = User(srv.url)
        r = owner.http.post(
            "/api/setup",
            json={"token": srv.host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
        )
        owner.csrf = r.json()["csrf"]
        for name, role in (("Mo", "member"), ("Vi", "viewer")):
            r = owner.post("/api/users", json={"name": name, "password": PASSWORD, "role": role})
            assert r.status_code == 201, r.text
        yield srv


@pytest.fixture(scope="module")
def member(server: Running) -> User:
    return User(server.url).login("Mo")


@pytest.fixture(scope="module")
def viewer(server: Running) -> User:
    return User(server.url).login("Vi")


def error(r: httpx.Response) -> dict[str, str]:
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]  # type: ignore[no-any-return]


def port_of(server: Running) -> int:
    return int(server.url.rsplit(":", 1)[1])


def raw(server: Running, head: str, body: bytes = b"", wait: float = 5.0) -> bytes:
    """Send `head` (and `body`) on a socket of its own; what came back within `wait` s."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        return receive_all(sock, wait)


def receive_all(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                headers, _, rest = data.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: (\d+)", headers, re.IGNORECASE)
                if m and len(rest) >= int(m.group(1)):
                    break
    except (TimeoutError, ConnectionResetError):
        pass
    return data


# --- D2, D11: photos handed in are read in worker processes, never in the server ------------


def test_a_bomb_is_refused_and_a_hanging_photo_holds_nobody_up(
    server: Running, member: User, viewer: User, tmp_path: Path
) -> None:
    bomb = rgba16_png_bomb()
    hang = tmp_path / "hang.png"
    Image.new("RGB", HANG_SIZE, "white").save(hang)

    def send() -> None:
        for route, field, who in (
            ("/api/anonymise", "photo", viewer),
            ("/api/probe", "photo", viewer),
            ("/api/search/face", "photo", viewer),
            ("/api/optouts", "selfie", member),
        ):
            started = time.monotonic()
            r = who.post(route, files={field: ("bomb.png", bomb, "image/png")})
            assert time.monotonic() - started < 2.0
            assert r.status_code == 422 and error(r)["message"] == BOMB_MESSAGE, (route, r.text)
        r = member.post(
            "/api/consents",
            data={"subject": "Sam", "purposes": "search", "evidence_text": "form 7"},
            files={"face": ("bomb.png", bomb, "image/png")},
        )
        assert r.status_code == 422 and error(r)["message"] == BOMB_MESSAGE
        # A photo that keeps its decoder busy (here, hangs it) until the time allowed.
        started = time.monotonic()
        r = viewer.post("/api/probe", files={"photo": ("slow.png", hang.read_bytes())})
        took = time.monotonic() - started
        assert r.status_code == 422 and 5.0 <= took < 10.0
        assert error(r)["message"] == (
            "slow.png: reading it took longer than 5 s and was stopped. The file may be crafted "
            "to stall decoders; check it. If it is a genuine, very large photo, whoever runs "
            "the server can allow more time."
        )

    other, _ = watched(member, send)
    assert other.statuses == {200} and len(other.times) > 20
    assert other.slowest < RESPONSIVE, sorted(other.times)[-5:]
    # And the server still reads photos: a fresh worker replaced the stuck one.
    photo = draw_faces(tmp_path / "p.png", [(20, 20, 40, RED)]).read_bytes()
    assert len(viewer.post("/api/probe", files={"photo": ("p.png", photo)}).json()["faces"]) == 1


def test_a_big_photos_pictures_are_made_without_holding_anyone_up(
    server: Running, member: User, viewer: User, tmp_path: Path
) -> None:
    """The viewer's zoomed copy, a face's crop and a moment's still decode the photo: under
    the server's lock every other request would wait for them (a page of covers, a 35-MP
    photo opened to zoom). They read the catalog under it and decode without it."""
    # 50 MP: its zoomed copy takes well over RESPONSIVE to make even on a fast day (35 MP took
    # 0.50 s once, too close to tell a held lock from none).
    big = draw_faces(tmp_path / "big" / "big.png", [(900, 700, 300, RED)], size=(8400, 6000))
    with server.host.use() as engine:
        engine.index([big.parent])
        photo = next(p for p in engine.catalog.photos.all() if p.path == str(big))
        face = next(int(r["id"]) for r in engine.catalog.faces.rows(photo.id))
    took: list[float] = []

    def look() -> None:
        for route in (f"/api/photos/{photo.id}/full", f"/api/faces/{face}/crop") * 2 + (
            f"/api/faces/{face}/still?size=2048",
        ):
            started = time.monotonic()
            r = viewer.http.get(route)
            took.append(time.monotonic() - started)
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text

    other, _ = watched(member, look)
    # The zoomed copy takes longer than the wait allowed: under the lock it would show.
    assert max(took) > RESPONSIVE, took
    assert other.slowest < RESPONSIVE, sorted(other.times)[-5:]


# --- D5: request bodies are limited, and a stranger's is not read at all --------------------


def test_a_strangers_upload_is_refused_before_its_body_is_read(server: Running) -> None:
    port = port_of(server)
    head = (
        "POST /api/uploads HTTP/1.1\n"
        f"Host: 127.0.0.1:{port}\n"
        "Content-Type: multipart/form-data; boundary=x\n"
        f"Content-Length: {512 * 2**20}\n"
    )
    # Not one byte of the 512 MiB is sent: the answer comes anyway.
    started = time.monotonic()
    answer = raw(server, head)
    assert time.monotonic() - started < 2.0
    assert answer.startswith(b"HTTP/1.1 401 ")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["error"]["type"] == "NotSignedInError"


def test_bodies_over_a_routes_limit_are_refused_declared_or_streamed(
    server: Running, member: User
) -> None:
    port = port_of(server)
    json_head = (
        f"POST /api/login HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\n"
    )
    declared = raw(server, json_head + f"Content-Length: {64 * 2**20}\n")
    assert declared.startswith(b"HTTP/1.1 413 ")
    assert json.loads(declared.partition(b"\r\n\r\n")[2])["error"] == {
        "type": "UploadTooLargeError",
        "message": "The request is larger than the 64 KiB this route takes.",
    }

    # Chunked, with no length: counted as it arrives, refused past 64 KiB, the rest unread.
    def stream() -> tuple[int, bytes]:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            head = json_head + "Transfer-Encoding: chunked\n\n"
            sock.sendall(head.replace("\n", "\r\n").encode())
            chunk = b'{"name":"x","password":"y","z":[' + b"1," * 8000
            sent = 0
            try:
                while sent < 64 * 2**20:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return sent, receive_all(sock, 5.0)

    other, (sent, answer) = watched(member, stream)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < 8 * 2**20  # the server stopped reading long before 64 MiB
    assert other.slowest < RESPONSIVE
    # A signed-in member's photo over the probe limit (50 MiB): refused on its length.
    r = member.post(
        "/api/probe",
        files={"photo": ("big.jpg", b"\xff\xd8\xff" + b"\0" * (51 * 2**20))},
    )
    assert r.status_code == 413
    assert error(r)["message"] == "The request is larger than the 50 MiB this route takes."


# --- D6: a flood of sign-ins ----------------------------------------------------------------


def flood(server: Running) -> list[tuple[int, dict[str, str], dict[str, Any]]]:
    """Each answer's status, headers and JSON body."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGN_IN_FLOOD, str(port_of(server))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # past the interpreter's start-up
    out, _ = proc.communicate("go\n", timeout=120)
    answers = []
    for text in json.loads(out):
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        answers.append((int(lines[0].split()[1]), headers, json.loads(body)))
    return answers


def test_a_flood_of_sign_ins_freezes_nobody(server: Running, member: User) -> None:
    other, answers = watched(member, lambda: flood(server))
    assert other.slowest < RESPONSIVE, sorted(other.times)[-5:]
    codes = [status for status, _, _ in answers]
    assert set(codes) <= {401, 429} and codes.count(429) >= 20, codes
    _, headers, busy = next(a for a in answers if a[0] == 429)
    assert headers["retry-after"] == "1"
    assert busy["error"] == {
        "type": "SignInBusyError",
        "message": "Too many sign-ins at once. Try again in 1 seconds.",
    }
    # Only the sign-ins actually checked left a row (and the table is bounded).
    with sqlite3.connect(server.host.library / "catalog.sqlite") as db:
        rows = db.execute("SELECT COUNT(*) FROM login_failures").fetchone()[0]
    assert rows <= 3 * 40 and rows >= codes.count(401)
    # Right after, a real user signs in as usual.
    time.sleep(1)
    User(server.url).login("Mo")


# --- D9: the Host header, and the same origin for sign-in and setup ------------------------


def test_only_this_machines_host_names_are_answered(server: Running, member: User) -> None:
    port = port_of(server)
    request = "GET /api/setup HTTP/1.1\nHost: {}\nConnection: close\n"
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert raw(server, request.format(good)).startswith(b"HTTP/1.1 200 "), good
    for bad in (f"evil.example:{port}", "127.0.0.1:1", f"127.0.0.1.evil.example:{port}", ""):
        answer = raw(server, request.format(bad))
        assert answer.startswith(b"HTTP/1.1 421 "), (bad, answer[:100])
    # The review's rebinding request: a valid cookie and token, Origin matching the Host.
    cookie = "; ".join(f"{k}={v}" for k, v in member.http.cookies.items())
    body = b'{"name": "Rebound"}'
    answer = raw(
        server,
        f"POST /api/people/P1/name HTTP/1.1\nHost: evil.example:{port}\n"
        f"Origin: http://evil.example:{port}\nCookie: {cookie}\nX-CSRF-Token: {member.csrf}\n"
        f"Content-Type: application/json\nContent-Length: {len(body)}\n",
        body,
    )
    assert answer.startswith(b"HTTP/1.1 421 ")
    message = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["message"]
    assert message == (
        f"This server answers to 127.0.0.1:{port}, localhost:{port}, [::1]:{port} only, not to "
        f"'evil.example:{port}'. Open Regard at http://127.0.0.1:{port}/."
    )
    # Sign-in and setup from another site's page are refused like any change.
    for path, payload in (
        ("/api/login", {"name": "Mo", "password": PASSWORD}),
        ("/api/setup", {"token": "x", "name": "Eve", "password": PASSWORD}),
    ):
        r = httpx.post(server.url + path, json=payload, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and error(r)["type"] == "CrossSiteRequestError", r.text


# --- D10, D16: uploads are what the library will show, or refused with nothing kept ---------


def test_uploads_keep_only_what_regard_indexes(
    server: Running, member: User, shared_data: Path, tmp_path: Path
) -> None:
    uploads = server.host.library / "uploads"
    before = set(uploads.rglob("*")) if uploads.exists() else set()
    video = (shared_data / "photos/face_recognition/video/short_hamilton_clip.mp4").read_bytes()
    junk = b"\0\0\0\x18ftypisom" + b"NOT A VIDEO" * 200_000
    avif = tmp_path / "x.avif"
    Image.new("RGB", (64, 64)).save(avif)
    camera = (shared_data / "camera/Canon PowerShot A560.jpg").read_bytes()
    photo = draw_faces(tmp_path / "new.png", [(30, 30, 40, (20, 160, 20))]).read_bytes()
    r = member.post(
        "/api/uploads",
        files=[
            ("files", ("clip.mp4", video, "video/mp4")),
            ("files", ("holiday.jpg", junk, "image/jpeg")),
            ("files", ("x.avif", avif.read_bytes(), "image/avif")),
            ("files", ("bomb.png", rgba16_png_bomb(), "image/png")),
            ("files", ("cut.jpg", camera[:3000], "image/jpeg")),
            ("files", ("new.png", photo, "image/png")),
        ],
    )
    assert r.status_code == 200, r.text
    out = r.json()
    # Videos are indexed now, so a real one is kept; bytes that only look like one are not.
    assert [s["name"] for s in out["stored"]] == ["clip.mp4", "new.png"]
    assert [s["kind"] for s in out["stored"]] == ["video", "photo"]
    refused = {x["name"]: x["reason"] for x in out["refused"]}
    assert "holiday.jpg" in refused and "clip.mp4" not in refused
    assert refused["x.avif"] == (
        "AVIF photos are not indexed yet, so Regard does not keep them: nothing was stored. "
        "Convert it to JPEG or HEIC."
    )
    assert refused["bomb.png"] == BOMB_MESSAGE.removeprefix("bomb.png: ")
    assert refused["cut.jpg"].startswith("the image data is truncated or damaged") or refused[
        "cut.jpg"
    ].startswith("the image header cannot be read"), refused["cut.jpg"]
    kept = {p for p in set(uploads.rglob("*")) - before if p.is_file()}
    assert sorted(p.suffix for p in kept) == [".mp4", ".png"]
    # The upload box says what it takes: photos and videos.
    script = httpx.get(server.url + "/static/upload.js").text
    assert "Drop photos or videos here" in script and "video/mp4" in script


# --- D7: setup ----------------------------------------------------------------------------


def test_a_refused_setup_keeps_the_token(tmp_path: Path) -> None:
    with running(tmp_path / "lib", EngineConfig(workers=0), models=FakeModels()) as srv:
        token = srv.host.accounts.setup_token()
        for name, password, message in (
            ("Ann", "short", "A password has 12 to 128 characters"),
            ("   ", PASSWORD, "A user name has 1 to 64 characters."),
            ("Ann", "x" * 129, "A password has 12 to 128 characters"),
        ):
            r = httpx.post(
                srv.url + "/api/setup", json={"token": token, "name": name, "password": password}
            )
            assert r.status_code == 400 and error(r)["message"].startswith(message)
        r = httpx.post(
            srv.url + "/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text


@pytest.mark.slow
def test_serve_prints_one_address_with_the_token(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    regard = Path(sys.executable).with_name("regard")
    proc = subprocess.Popen(
        [str(regard), "--library", str(tmp_path / "lib"), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        found = None
        deadline = time.monotonic() + 120
        while found is None and time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            found = re.search(r"(http://127\.0\.0\.1:\d+)/setup\?token=([\w-]+)", line)
        assert found, "serve printed no setup address"
        base, token = found.groups()
        for _ in range(100):
            try:
                page = httpx.get(f"{base}/setup?token={token}")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        r = httpx.post(
            f"{base}/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
def test_the_setup_page_takes_the_token_from_the_address(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.web_support import CHROMIUM, CHROMIUM_ARGS

    with (
        running(tmp_path / "lib", EngineConfig(workers=0), models=FakeModels()) as srv,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        token = srv.host.accounts.setup_token()
        page.goto(f"{srv.url}/setup?token={token}")
        expect(page.get_by_label("Setup token")).to_have_value(token)
        assert page.url == f"{srv.url}/setup"  # not left in the address bar or the history
        page.get_by_label("Your name").fill("Ann")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_label("Password again").fill("short")
        page.get_by_role("button", name="Create owner and sign in").click()
        expect(page.get_by_role("alert")).to_have_text(
            "A password has 12 to 128 characters; a few unrelated words make a good one."
        )
        assert sent == []  # said by the page itself: nothing sent, the token untouched
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create owner and sign in").click()
        page.wait_for_url("**/library")
        browser.close()


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.slow
def test_with_the_real_models_a_big_photo_is_blurred_in_a_worker(
    tmp_path: Path, shared_data: Path
) -> None:
    """The security review's attack on a real server with the real models: the bomb through
    /api/anonymise (21.8 s, 7.7 GiB and everyone blocked), and a big genuine photo blurred
    while another user browses; the server's own memory does not grow."""
    album = tmp_path / "album"
    album.mkdir()
    people = shared_data / "photos/face_recognition/identities"
    for name in ("obama/obama.jpg", "biden/biden.jpg"):
        (album / name.replace("/", "-")).write_bytes((people / name).read_bytes())
    big = tmp_path / "big.jpg"
    group = Image.open(shared_data / "photos/face_recognition/group/two_people.jpg")
    group.convert("RGB").resize((6000, 4000)).save(big, quality=90)  # 24 MP
    with running(tmp_path / "lib", EngineConfig(workers=1)) as srv:
        with srv.host.use() as engine:
            engine.index([album])
        owner = User(srv.url)
        r = owner.http.post(
            "/api/setup",
            json={"token": srv.host.accounts.setup_token(), "name": "Ann", "password": PASSWORD},
        )
        owner.csrf = r.json()["csrf"]
        owner.post("/api/users", json={"name": "Vi", "password": PASSWORD, "role": "viewer"})
        viewer = User(srv.url).login("Vi")
        before = _rss_mib()
        peak = [before]

        def blur() -> httpx.Response:
            r = viewer.post("/api/anonymise", files={"photo": ("bomb.png", rgba16_png_bomb())})
            assert r.status_code == 422 and error(r)["message"] == BOMB_MESSAGE
            answer = viewer.post("/api/anonymise", files={"photo": ("big.jpg", big.read_bytes())})
            peak.append(_rss_mib())
            return answer

        other, answer = watched(owner, blur)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(answer.content)).size == (6000, 4000)
        assert other.slowest < RESPONSIVE, sorted(other.times)[-5:]
        assert max(peak) - before < 150  # MiB: the photo was decoded elsewhere
