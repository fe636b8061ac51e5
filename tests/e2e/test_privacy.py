"""Nothing leaves the machine: indexing and searching open no network connection at all.

Every Python process of the run (the CLI and its spawned analysis workers) gets an audit hook
through sitecustomize that records any attempt to resolve a host name or to connect, bind or
send on a network socket. Local pipes between processes (AF_UNIX socket pairs) are allowed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HOOK = """
import os, socket, sys
_LOG = os.environ["REGARD_NET_LOG"]
def _hook(event, args):
    if event == "socket.getaddrinfo" or event == "socket.gethostbyname":
        _record(event, args)
    elif event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        sock = args[0]
        if getattr(sock, "family", None) != socket.AF_UNIX:
            _record(event, args)
def _record(event, args):
    with open(_LOG, "a") as fh:
        fh.write(f"{os.getpid()} {event} {args[1:]!r}\\n")
    raise PermissionError("network access attempted: " + event)
sys.addaudithook(_hook)
"""


def test_index_and_search_touch_no_network(tmp_path, sample_dir):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK)
    log = tmp_path / "net.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]),
        "REGARD_NET_LOG": str(log),
    }
    lib = tmp_path / "lib"

    def regard(*args: object) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "regard", "--library", str(lib), *map(str, args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    regard("index", sample_dir / "photos", "--workers", "2")
    assert "group-poker.jpg" in regard("search", "--face", sample_dir / "probe.jpg")
    regard("status")
    assert not log.exists(), f"network access attempted:\n{log.read_text()}"
    # The hook itself works: a lookup from a hooked process is caught.
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.getaddrinfo('example.org', 80)"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0 and Path(log).read_text().count("getaddrinfo") == 1
