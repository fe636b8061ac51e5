"""The timeline's first screen served by an earlier commit's code and by this checkout's,
alternately, in one run on one machine: on a machine shared with other work, whose load
moves from minute to minute, the ratio between the two is what a single timing cannot give.

    .venv/bin/python bench/timeline.py --keep /tmp/regard-timeline   # builds the library once
    .venv/bin/python bench/timeline_ab.py /tmp/regard-timeline ea00c62 --rounds 5

Each round opens the Library page once on each server, in turns (which goes first changes
every round), each time in a fresh browser (nothing cached) signed in as the bench's owner,
with the thumbnails made (a first round, not counted, makes them). "Shown" is what
`bench/timeline.py` waits for: every thumbnail on the screen loaded, six at least. The earlier
code runs from `git archive <commit> src` in a temporary folder, on a copy of the library.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import timeline as tb  # noqa: E402

from tests.e2e.web_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SERVE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from regard.engine import EngineConfig
from regard.interfaces.http.server import running
from regard.testing import FakeModels
with running(Path(sys.argv[2]), EngineConfig(workers=0), models=FakeModels()) as srv:
    print(srv.url, flush=True)
    while True:
        time.sleep(3600)
"""


class Served:
    """What `timeline.sign_up` needs of a server: its address."""

    def __init__(self, url: str) -> None:
        self.url = url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="the folder `bench/timeline.py --keep` built")
    parser.add_argument("commit", help="the earlier code: a commit, branch or tag")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not (args.work / "lib").exists():
        sys.exit(f"{args.work}/lib: no library; build it with bench/timeline.py --keep first")
    scratch = Path(tempfile.mkdtemp(prefix="regard-ab-"))
    try:
        old_src = scratch / "old"
        old_src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.commit, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
        shutil.copytree(args.work / "lib", scratch / "lib")
        runs = {
            args.commit: (old_src / "src", scratch / "lib"),
            "this checkout": (REPO / "src", args.work / "lib"),
        }
        print(compare(runs, args.rounds))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def compare(runs: dict[str, tuple[Path, Path]], rounds: int) -> str:
    procs: dict[str, subprocess.Popen[str]] = {}
    urls: dict[str, str] = {}
    times: dict[str, list[float]] = {k: [] for k in runs}
    parts: dict[str, list[dict[str, Any]]] = {k: [] for k in runs}
    try:
        for name, (src, lib) in runs.items():
            procs[name] = subprocess.Popen(
                [sys.executable, "-c", SERVE, str(src), str(lib)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert procs[name].stdout is not None
            urls[name] = procs[name].stdout.readline().strip()
        names = list(runs)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for i in range(rounds + 1):
                for name in names if i % 2 else names[::-1]:
                    context = browser.new_context(viewport=tb.VIEWPORT)
                    page = context.new_page()
                    tb.sign_up(page, Served(urls[name]))  # type: ignore[arg-type]
                    took, where = tb.first_screen(page, urls[name] + "/library", ".tl-cell img", 6)
                    if i:  # the first round makes the thumbnails
                        times[name].append(took)
                        parts[name].append(where)
                    context.close()
            browser.close()
    finally:
        for proc in procs.values():
            proc.terminate()
    lines = [f"first screen shown, thumbnails made; {rounds} rounds; Chromium 1280x900"]
    for name in runs:
        where = {k: statistics.median(p[k] for p in parts[name]) for k in parts[name][0]}
        lines.append(
            f"{name:>16}: median {statistics.median(times[name]):.2f} s"
            f" (each: {', '.join(f'{t:.2f}' for t in times[name])})"
        )
        lines.append(f"{'':>18}" + ", ".join(f"{k} {v:.0f}" for k, v in where.items()))
    a, b = (statistics.median(times[n]) for n in runs)
    lines.append(f"{'earlier/now':>16}: {a / b:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
