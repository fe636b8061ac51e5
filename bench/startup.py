"""How long a `regard` command takes before it does anything: `regard --help`, `regard status`
and `regard people` run by an earlier commit's code and by this checkout's, in turns, in one
run on one machine (on a shared machine the ratio is what a single timing cannot give).

    .venv/bin/python bench/startup.py 76c204f --rounds 7

The library is made once from four photos of ../shared/data (indexed by this checkout).
Both trees run with their bytecode cached (as an installed Regard has it): a first run of
each command, not counted, writes it into a temporary PYTHONPYCACHEPREFIX. Each round runs
each command once in each tree, which goes first changing every round; the medians of wall
time and of CPU time (user + system, of the process and its children) are printed with the
ratio this checkout / the earlier commit.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "photos" / "face_recognition" / "identities"
PHOTOS = ["obama/obama.jpg", "obama/obama2.jpg", "biden/biden.jpg", "biden/biden2.jpg"]
COMMANDS = (["--help"], ["status"], ["people"])


def run(src: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from regard.interfaces.cli.main import main; main()", *args],
        env={**env, "PYTHONPATH": str(src)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="the earlier code: a commit, branch or tag")
    parser.add_argument("--rounds", type=int, default=7)
    opts = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"The photos are missing: {DATA} (see ../shared/data/README.md).")
    with tempfile.TemporaryDirectory(prefix="regard-startup-") as tmp:
        work = Path(tmp)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", opts.commit, "src"],
            capture_output=True,
            check=True,
        ).stdout
        (work / "earlier").mkdir()
        subprocess.run(["tar", "-x", "-C", str(work / "earlier")], input=archive, check=True)
        trees = {"earlier": work / "earlier" / "src", "this": REPO / "src"}
        photos = work / "photos"
        photos.mkdir()
        for i, name in enumerate(PHOTOS):
            shutil.copy(DATA / name, photos / f"{i}-{Path(name).name}")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["REGARD_LIBRARY"] = str(work / "lib")
        run(trees["this"], ["index", str(photos)], env)
        envs = {t: {**env, "PYTHONPYCACHEPREFIX": str(work / f"pyc-{t}")} for t in trees}
        for args in COMMANDS:
            times: dict[str, list[tuple[float, float]]] = {t: [] for t in trees}
            for tree, src in trees.items():
                run(src, args, envs[tree])  # writes the bytecode; not counted
            for r in range(opts.rounds):
                order = list(trees) if r % 2 == 0 else list(reversed(trees))
                for tree in order:
                    times[tree].append(run(trees[tree], args, envs[tree]))
            wall = {t: statistics.median(w for w, _ in v) for t, v in times.items()}
            cpu = {t: statistics.median(c for _, c in v) for t, v in times.items()}
            print(
                f"regard {' '.join(args):8} wall {wall['earlier']:.2f} -> {wall['this']:.2f} s "
                f"({wall['this'] / wall['earlier']:.2f}x); CPU {cpu['earlier']:.2f} -> "
                f"{cpu['this']:.2f} s ({cpu['this'] / cpu['earlier']:.2f}x); "
                f"load {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
