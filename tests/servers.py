"""Real servers for the camera tests, from Debian packages, on free loopback ports.

- `Mosquitto`: Debian's MQTT broker (`mosquitto`), optionally with a user and password.
- `RtspCamera`: GStreamer's RTSP server (`tests/rtsp_server.py`, run with Debian's Python and
  gi) streaming real footage in a loop, H.264 over TCP and UDP.
- `MjpegCamera`: an HTTP MJPEG camera (multipart/x-mixed-replace), a small server in this
  process serving a real clip's frames in a loop.

Each starts in `__enter__` and is stopped (and waited for) in `__exit__`; the fixtures in
`tests/conftest.py` make them session-wide. A missing package fails with the command that
installs it (`scripts/setup test` does). Used by the benchmarks too (bench/alert_latency.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
DEBIAN_PYTHON = "/usr/bin/python3"
RTSP_PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav"
)


class MissingPackageError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    port: int, process: subprocess.Popen[Any] | None, what: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it listened")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def stop(process: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


# --- MQTT ---------------------------------------------------------------------------------------


class Mosquitto:
    """Debian's mosquitto on 127.0.0.1:<free port>; with `user`, only that user may connect."""

    def __init__(
        self,
        folder: Path,
        user: tuple[str, str] | None = None,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        """`tls`: (CA certificate, the broker's certificate, its key): mqtts:// only."""
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.access(binary, os.X_OK):
            raise MissingPackageError(
                "The MQTT tests need Debian's mosquitto broker: apt-get install mosquitto "
                "(scripts/setup test installs it)."
            )
        self.binary = binary
        self.folder = folder
        self.user = user
        self.tls = tls
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.tls:
            return f"mqtts://localhost:{self.port}"
        if self.user:
            return f"mqtt://{self.user[0]}:{self.user[1]}@127.0.0.1:{self.port}"
        return f"mqtt://127.0.0.1:{self.port}"

    def __enter__(self) -> Mosquitto:
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr"]
        if os.geteuid() == 0:
            # As root it would switch to the `mosquitto` user, who cannot read the test's
            # private folder; stay the test's user.
            lines.append("user root")
        if self.user:
            passwords = self.folder / "passwords"
            passwords.write_text(f"{self.user[0]}:{self.user[1]}\n")
            passwords.chmod(0o600)
            tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            subprocess.run([tool, "-U", str(passwords)], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            ca, cert, key = self.tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        log = (self.folder / "mosquitto.log").open("wb")
        self.process = subprocess.Popen(
            [self.binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, self.process, "mosquitto", 10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)


def make_certificates(folder: Path, name: str = "localhost") -> tuple[Path, Path, Path]:
    """A private certificate authority and a certificate it signed for `name` (and
    127.0.0.1), made with the openssl command: (CA certificate, certificate, key)."""
    tool = shutil.which("openssl")
    if tool is None:
        raise MissingPackageError(
            "The TLS tests need the openssl command: apt-get install openssl."
        )
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    cert, key, csr = folder / "broker.crt", folder / "broker.key", folder / "broker.csr"
    extra = folder / "san.cnf"
    extra.write_text(f"subjectAltName=DNS:{name},IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run([tool, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
        str(ca), "-days", "2", "-subj", f"/CN=Regard test CA {folder.name}")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", f"/CN={name}")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extra))  # fmt: skip
    return ca, cert, key


# --- RTSP ---------------------------------------------------------------------------------------


def check_rtsp_packages() -> None:
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
        "missing = [e for e in 'x264enc avdec_h264 rtph264pay h264parse qtdemux appsrc'.split()"
        " if Gst.ElementFactory.find(e) is None]; print(' '.join(missing))"
    )
    try:
        done = subprocess.run(
            [DEBIAN_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError:
        done = None
    if done is None or done.returncode != 0 or done.stdout.strip():
        what = done.stdout.strip() if done is not None and done.returncode == 0 else "gi"
        raise MissingPackageError(
            f"The RTSP camera of the tests needs GStreamer's RTSP server ({what} missing): "
            f"apt-get install {RTSP_PACKAGES} (scripts/setup test installs them)."
        )


class RtspCamera:
    """An RTSP camera streaming `clips` in a loop (then `gap` seconds of an empty grey scene)."""

    def __init__(
        self, clips: list[Path], *, size: str = "640x360", fps: int = 10, gap: float = 0.0
    ) -> None:
        self.clips = clips
        self.size = size
        self.fps = fps
        self.gap = gap
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/stream"
        self.process: subprocess.Popen[str] | None = None
        self.segments: list[dict[str, Any]] = []  # {"segment", "clip", "at", "frames"}
        self._reader: threading.Thread | None = None

    def __enter__(self) -> RtspCamera:
        check_rtsp_packages()
        for clip in self.clips:
            if not clip.is_file():
                raise FileNotFoundError(f"{clip} is missing (see ../shared/data/README.md)")
        command = [
            DEBIAN_PYTHON,
            str(TESTS / "rtsp_server.py"),
            "--port",
            str(self.port),
            "--size",
            self.size,
            "--fps",
            str(self.fps),
            "--gap",
            str(self.gap),
            *map(str, self.clips),
        ]
        # Debian's Python, with none of the venv's variables (its site-packages are not gi's).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert self.process.stdout is not None
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                if line.startswith("READY"):
                    ready.set()
                elif line.startswith("{"):
                    self.segments.append(json.loads(line))

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                stop(self.process)
                raise RuntimeError(f"the RTSP camera did not start ({' '.join(command)})")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)


# --- MJPEG over HTTP ----------------------------------------------------------------------------


def jpeg_frames(clip: Path, size: tuple[int, int] = (640, 360), limit: int = 300) -> list[bytes]:
    import av

    frames = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            image = frame.to_image().resize(size)
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80)
            frames.append(out.getvalue())
            if len(frames) >= limit:
                break
    return frames


class MjpegCamera:
    """An HTTP MJPEG camera at `url` (`/video`; `/snapshot.jpg` gives one frame) serving a
    clip's frames at `fps` in a loop, like the cheap cameras and ESP32-CAMs that speak it."""

    BOUNDARY = "regardframe"

    def __init__(self, clip: Path, fps: int = 10) -> None:
        self.frames = jpeg_frames(clip)
        self.fps = fps
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/video"

    def __enter__(self) -> MjpegCamera:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/snapshot.jpg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(camera.frames[0])))
                    self.end_headers()
                    self.wfile.write(camera.frames[0])
                    return
                if self.path != "/video":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header(
                    "Content-Type", f"multipart/x-mixed-replace; boundary={camera.BOUNDARY}"
                )
                self.end_headers()
                with contextlib.suppress(OSError):
                    for frame in camera.loop():
                        self.wfile.write(
                            f"--{camera.BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(frame)}\r\n\r\n".encode()
                            + frame
                            + b"\r\n"
                        )
                        time.sleep(1 / camera.fps)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def loop(self) -> Iterator[bytes]:
        while self.server is not None:
            yield from self.frames

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            server.shutdown()
            server.server_close()
