"""One user against everyone else: the security review's denial-of-service requests sent to a
real `regard serve` (a process of its own, fresh library, real models) while another signed-in
user asks for their session every 50 ms; for each, how long it took, what it answered, the
server's memory and the other user's slowest answer.

    .venv/bin/python bench/robustness.py                    # this checkout
    .venv/bin/python bench/robustness.py --against OTHER    # and another checkout's src/, e.g.
                                                            # `git archive 1f0b4d2 src | tar -x`

The peer is Regard itself before the fixes (give its checkout with --against): the same
requests, in the same run, side by side. The bomb is the review's: a valid 1.5 MB PNG of
14000x14000 RGBA at 16 bits (196 MP, under the 200 MP limit; 1.5 GiB decoded). Before the
fixes it costs 4-8 GiB of memory: run it on a machine that has them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from regard.testing import SIGN_IN_FLOOD  # noqa: E402
from tests.bombs import rgba16_png_bomb  # noqa: E402

PASSWORD = "correct horse battery staple"


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return int(next(x for x in fh if x.startswith("VmRSS:")).split()[1]) / 1024
    except (OSError, StopIteration):
        return 0.0


class Watch(threading.Thread):
    """Another user, asking every 50 ms; and the server's memory, sampled as often."""

    def __init__(self, url: str, cookies: httpx.Cookies, pid: int) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=url, cookies=cookies, timeout=300)
        self.pid = pid
        self.times: list[float] = []
        self.peak = rss_mib(pid)
        self.done = threading.Event()

    def run(self) -> None:
        threading.Thread(target=self._sample, daemon=True).start()
        while not self.done.is_set():
            started = time.monotonic()
            self.http.get("/api/session")
            self.times.append(time.monotonic() - started)
            self.done.wait(0.05)

    def _sample(self) -> None:
        # On a thread of its own: the requests above may wait for as long as the server does.
        while not self.done.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self.done.wait(0.05)


class Server:
    def __init__(self, src: Path) -> None:
        self.home = tempfile.mkdtemp(prefix="regard-bench-")
        env = {**os.environ, "HOME": self.home, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"}
        self.library = Path(self.home) / "lib"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "regard",
                "--library",
                str(self.library),
                "serve",
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        url = token = None
        assert self.proc.stdout is not None
        while not (url and token):
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"regard serve from {src} did not start")
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            url = url or (found.group(1) if found else None)
            found = re.search(r"token=([\w-]+)", line) or re.search(r"^\s{4}([\w-]{30,})$", line)
            token = token or (found.group(1) if found else None)
        threading.Thread(target=lambda: [None for _ in self.proc.stdout or ()], daemon=True).start()
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.owner = httpx.Client(base_url=url, timeout=300)
        for _ in range(100):
            try:
                r = self.owner.post(
                    "/api/setup", json={"token": token, "name": "Ann", "password": PASSWORD}
                )
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        csrf = r.json()["csrf"]
        self.owner.post(
            "/api/users",
            json={"name": "Vi", "password": PASSWORD, "role": "viewer"},
            headers={"X-CSRF-Token": csrf},
        )
        self.viewer = httpx.Client(base_url=url, timeout=300)
        login = self.viewer.post("/api/login", json={"name": "Vi", "password": PASSWORD})
        self.viewer.headers["X-CSRF-Token"] = login.json()["csrf"]

    def watched(self, action: Callable[[], Any]) -> dict[str, Any]:
        watch = Watch(self.url, self.owner.cookies, self.proc.pid)
        before = rss_mib(self.proc.pid)
        watch.start()
        time.sleep(0.5)
        started = time.monotonic()
        answer = action()
        took = time.monotonic() - started
        time.sleep(0.3)
        watch.done.set()
        watch.join()
        return {
            "answer": answer,
            "seconds": round(took, 2),
            "other_user_slowest_s": round(max(watch.times), 3),
            "server_mib": [round(before), round(watch.peak), round(rss_mib(self.proc.pid))],
        }

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def measure(src: Path) -> dict[str, Any]:
    server = Server(src)
    bomb = rgba16_png_bomb()
    out: dict[str, Any] = {}
    try:
        for route in ("/api/probe", "/api/anonymise"):
            out[f"bomb to {route}"] = server.watched(
                lambda route=route: (
                    server.viewer.post(
                        route, files={"photo": ("bomb.png", bomb, "image/png")}
                    ).status_code
                )
            )
        body = b'{"name":"x","password":"y","z":[' + b"1," * (32 * 2**20) + b"1]}"
        out["64 MiB JSON to /api/login"] = server.watched(
            lambda: (
                httpx.post(
                    server.url + "/api/login",
                    content=body,
                    headers={"Content-Type": "application/json"},
                    timeout=300,
                ).status_code
            )
        )

        def stranger() -> str:
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(
                    f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                    "Content-Type: multipart/form-data; boundary=x\r\n"
                    f"Content-Length: {512 * 2**20}\r\n\r\n".encode()
                )
                s.settimeout(5)
                try:
                    return s.recv(100).split(b"\r\n")[0].decode()
                except TimeoutError:
                    return "no answer in 5 s (waiting for the 512 MiB)"

        out["512 MiB upload, signed out, headers only"] = server.watched(stranger)

        def flood() -> dict[int, int]:
            proc = subprocess.Popen(
                [sys.executable, "-c", SIGN_IN_FLOOD, str(server.port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(0.5)
            res, _ = proc.communicate("go\n", timeout=600)
            codes = [int(t.split()[1]) for t in json.loads(res)]
            return {c: codes.count(c) for c in sorted(set(codes))}

        out["40 sign-ins at once"] = server.watched(flood)
        with sqlite3.connect(server.library / "catalog.sqlite") as db:
            rows = db.execute("SELECT COUNT(*) FROM login_failures").fetchone()[0]
        out["40 sign-ins at once"]["login_failures_rows"] = rows
        foreign = httpx.get(
            server.url + "/api/setup", headers={"Host": f"evil.example:{server.port}"}
        )
        out["Host: evil.example"] = {"answer": foreign.status_code}
    finally:
        server.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout's src/ to measure too")
    args = parser.parse_args()
    runs = {"this checkout": measure(REPO / "src")}
    if args.against:
        runs[f"--against {args.against}"] = measure(args.against)
    print(json.dumps(runs, indent=1))
    print()
    names = list(runs)
    print(f"| request | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for case in runs[names[0]]:
        cells = []
        for name in names:
            r = runs[name].get(case, {})
            cell = f"{r.get('answer')}"
            if "seconds" in r:
                cell += f", {r['seconds']} s"
            if "server_mib" in r:
                cell += (
                    f", server {r['server_mib'][0]}→{r['server_mib'][1]}→{r['server_mib'][2]} MiB"
                )
            if "other_user_slowest_s" in r:
                cell += f", other user ≤ {r['other_user_slowest_s']} s"
            cells.append(cell)
        print(f"| {case} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
