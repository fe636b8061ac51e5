"""The timeline at 100,000 photos: how soon the first screen of thumbnails shows, what scrolling
through five years costs the browser (requests, elements on the page), and how long the API
takes for its first and a deep page — beside the library page before the timeline (the old
`/api/photos` listing, 60 at a time by offset, every photo kept on the page), in the same run.

    .venv/bin/python bench/timeline.py                  # 100,000 photos
    .venv/bin/python bench/timeline.py --photos 20000   # a quicker look

The library is synthetic: its rows are written through the catalog's repositories (no photo is
decoded, no face model runs), dated over 15 years the way a family's are (more photos in later
years, in bursts of days with many), 3 % videos, in the shapes phones and cameras make (4:3,
3:4, 16:9, 9:16, 1:1). Each row points at a hard link to one of a few small real JPEGs of its
shape, so the thumbnails the browser asks for are made by the server as they would be (cold:
nothing is made in advance). Debian's Chromium, driven by Playwright, at 1280x900.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from regard.domain.photo import FileFingerprint, PhotoAnalysis, PhotoMetadata  # noqa: E402
from regard.engine import Engine, EngineConfig  # noqa: E402
from regard.interfaces.http.server import Running, running  # noqa: E402
from regard.testing import FakeModels  # noqa: E402
from tests.e2e.web_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PASSWORD = "correct horse battery staple"
SHAPES = [
    (4032, 3024, 0.45),
    (3024, 4032, 0.3),
    (1920, 1080, 0.1),
    (1080, 1920, 0.1),
    (2048, 2048, 0.05),
]
VIEWPORT = {"width": 1280, "height": 900}

# Every thumbnail on the screen is in and decoded; `min` of them at least.
SCREEN_SHOWN = """(min) => {
  const imgs = [...document.querySelectorAll(%s)].filter((i) => {
    const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.width > 0;
  });
  return imgs.length >= min && imgs.every((i) => i.complete && i.naturalWidth > 0);
}"""


def sources(folder: Path) -> tuple[list[Path], Path]:
    """One small real JPEG per shape (what every row of that shape points at), and a short
    real video (what every video points at)."""
    out = []
    for i, (w, h, _share) in enumerate(SHAPES):
        path = folder / f"shape{i}.jpg"
        img = Image.new("RGB", (w // 8, h // 8), (60 + 40 * i, 120, 200 - 30 * i))
        img.save(path, "JPEG", quality=80)
        out.append(path)
    return out, clip(folder / "clip.mp4")


def clip(path: Path) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(20):
            rgb = np.full((180, 320, 3), 200, dtype=np.uint8)
            rgb[40:120, 10 + i * 5 : 90 + i * 5] = (30, 60, 200)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def family_dates(n: int, rng: random.Random, end: datetime) -> list[datetime]:
    """`n` dates over 15 years: later years hold more, in bursts (holidays, birthdays)."""
    years = 15
    weights = [1.0 + 0.35 * y for y in range(years)]  # more photos every year
    dates: list[datetime] = []
    start = end - timedelta(days=365 * years)
    while len(dates) < n:
        y = rng.choices(range(years), weights)[0]
        day = start + timedelta(days=365 * y + rng.randrange(365))
        burst = rng.choice([1, 1, 2, 3, 5, 8, 20, 40])  # an ordinary day, or an event
        for _ in range(burst):
            dates.append(day + timedelta(seconds=rng.randrange(8 * 3600, 22 * 3600)))
    return dates[:n]


def build(library: Path, files: Path, n: int) -> None:
    rng = random.Random(12)
    shape_files, video_file = sources(files)
    links = files / "links"
    links.mkdir()
    t0 = time.perf_counter()
    engine = Engine(library, create=True, config=EngineConfig(workers=0), models=FakeModels())
    try:
        catalog = engine.catalog
        run_id = catalog.runs.start([str(links)], "synthetic")
        dates = family_dates(n, rng, datetime(2026, 11, 30))
        batch = 5000
        for start in range(0, n, batch):
            with catalog.transaction():
                for i in range(start, min(n, start + batch)):
                    k = rng.choices(range(len(SHAPES)), [s[2] for s in SHAPES])[0]
                    video = rng.random() < 0.03
                    w, h, _ = (320, 180, 0) if video else SHAPES[k]
                    path = links / f"{i:06d}.{'mp4' if video else 'jpg'}"
                    os.link(video_file if video else shape_files[k], path)
                    meta = PhotoMetadata(
                        format="MP4" if video else "JPEG",
                        width=w,
                        height=h,
                        taken_at=dates[i].strftime("%Y-%m-%dT%H:%M:%S"),
                        media="video" if video else "photo",
                        duration=round(rng.uniform(3, 180), 1) if video else None,
                    )
                    analysis = PhotoAnalysis(
                        FileFingerprint(str(path), 1000 + i, i),
                        f"{i:064x}",
                        meta,
                        (),
                        "synthetic",
                    )
                    catalog.photos.store_analysis(analysis, run_id)
        catalog.compact()
    finally:
        engine.close()
    print(
        f"built {n:,} photos in {time.perf_counter() - t0:.1f} s (rows written, no decoding)",
        flush=True,
    )


def sign_up(page: Page, srv: Running) -> None:
    page.goto(srv.url + "/")
    page.wait_for_url(re.compile(r".*/(setup|login)"))
    if "/login" in page.url:  # a library kept from a run before
        page.get_by_label("Name").fill("Ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    else:
        page.get_by_label("Setup token").fill(srv.host.accounts.setup_token())
        page.get_by_label("Your name").fill("Ada")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create owner and sign in").click()
    page.wait_for_url(re.compile(r".*/(library)?$"))


# Where the first screen's time went, from the browser's own timings (ms from navigation):
# the page, its scripts run, the first API answer, the first page of photos, the thumbnails.
BREAKDOWN = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const end = (test) => Math.round(Math.max(0, ...res.filter(test).map((r) => r.responseEnd)));
  const firstEnd = (test) =>
    Math.round(Math.min(1e9, ...res.filter(test).map((r) => r.responseEnd)));
  const start = (test) => Math.round(Math.min(1e9, ...res.filter(test).map((r) => r.startTime)));
  const path = (r) => new URL(r.name).pathname + new URL(r.name).search;
  const api = (r) => path(r).startsWith("/api/") && !path(r).includes("/image");
  const first = (r) => /^\\/api\\/(timeline\\?|photos\\?)/.test(path(r));
  return {
    html: Math.round(nav.responseEnd),
    scripts_run: Math.round(nav.domContentLoadedEventEnd),
    modules: res.filter((r) => path(r).endsWith(".js")).length,
    first_api_start: start(api),
    first_page_in: firstEnd(first),
    thumbnails_start: start((r) => path(r).includes("/image")),
    thumbnails_in: end((r) => path(r).includes("/image")),
  };
}"""


def first_screen(page: Page, url: str, images: str, minimum: int) -> tuple[float, dict[str, int]]:
    """Seconds from navigation to every thumbnail on the screen loaded and decoded (none
    cached), and where that time went."""
    page.goto("about:blank")
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(SCREEN_SHOWN % repr(images), arg=minimum, timeout=120_000)
    took = time.perf_counter() - t0
    return took, page.evaluate(BREAKDOWN)


def scroll_until(page: Page, done: str, limit_s: float) -> tuple[float, bool]:
    """Scroll a screen at a time until `done` (a JS expression) holds; seconds, reached."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        if page.evaluate(done):
            return time.perf_counter() - t0, True
        page.mouse.wheel(0, VIEWPORT["height"] * 2)
        page.wait_for_timeout(40)
    return time.perf_counter() - t0, False


def settle(limit_s: float = 120.0) -> float:
    """Wait until the server (in this process) has finished what a closed page asked of it —
    thumbnails requested while scrolling are still being made after the page is gone — so
    the next first screen is timed on a server as idle as a later visit finds it."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        cpu = time.process_time()
        time.sleep(0.5)
        if time.process_time() - cpu < 0.05:
            break
    return time.perf_counter() - t0


def latency(client: httpx.Client, url: str, params: dict[str, Any], n: int = 9) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url, params=params)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5, help="how far to scroll back")
    parser.add_argument(
        "--repeat", type=int, default=5, help="first screens timed, cold and warm (median shown)"
    )
    parser.add_argument(
        "--keep", type=Path, help="build the library here, or use the one built there before"
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="regard-timeline-"))
    if not (work / "lib").exists():
        work.mkdir(parents=True, exist_ok=True)
        build(work / "lib", work, args.photos)
    # Thumbnails cold, as on a first visit (a kept library's were made by the run before).
    shutil.rmtree(work / "lib" / "thumbs", ignore_errors=True)
    cutoff = f"{2026 - args.years}-11"
    results: dict[str, dict[str, Any]] = {"timeline": {}, "before": {}}
    with running(work / "lib", EngineConfig(workers=0), models=FakeModels()) as srv:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name, url, images in (
                ("timeline", srv.url + "/library", ".tl-cell img"),
                ("before", srv.url + "/library?folder=", ".photo-grid img"),
            ):
                # Each page as on a first visit: a browser with nothing cached, and no
                # thumbnail made yet on the server.
                context = browser.new_context(viewport=VIEWPORT)
                page = context.new_page()
                sign_up(page, srv)
                settle()
                shutil.rmtree(work / "lib" / "thumbs", ignore_errors=True)
                requests: list[str] = []
                page.goto("about:blank")

                def seen(request: Any, out: list[str] = requests) -> None:
                    out.append(request.url)

                page.on("request", seen)
                r = results[name]
                r["first_screen_s"], r["breakdown_cold"] = first_screen(page, url, images, 6)
                r["requests_first"] = len(requests)
                if name == "timeline":
                    done = (
                        "[...document.querySelectorAll('.tl-month')].some(s => s.dataset.month"
                        f" <= '{cutoff}' && s.getBoundingClientRect().top < innerHeight"
                        " && s.month.items)"
                    )
                else:
                    # The old page shows no dates: its photos' dates are in the API answers
                    # it fetched, newest first — so it is done once it has shown every photo
                    # newer than the cutoff (counted on the server).
                    with srv.host.use() as engine:
                        newer = engine.catalog.timeline.months()
                    need = sum(c for m, c in newer if m != "undated" and m > cutoff)
                    done = f"document.querySelectorAll('.photo-grid .thumb').length >= {need}"
                r["scroll_s"], r["reached"] = scroll_until(page, done, 240)
                page.wait_for_timeout(1500)
                r["requests"] = len(requests)
                r["api_requests"] = sum("/api/" in u and "/image" not in u for u in requests)
                r["thumbnails"] = sum("/image" in u for u in requests)
                r["dom_nodes"] = page.evaluate("document.getElementsByTagName('*').length")
                r["heap_mb"] = page.evaluate(
                    "performance.memory ? performance.memory.usedJSHeapSize / 2**20 : null"
                )
                print(f"{name}: {r}", flush=True)
                page.remove_listener("request", seen)
                context.close()
                # Again, as on any later visit: a fresh browser, the thumbnails made already.
                context = browser.new_context(viewport=VIEWPORT)
                page = context.new_page()
                sign_up(page, srv)
                r["settled_s"] = settle()
                r["first_screen_warm_s"], r["breakdown_warm"] = first_screen(page, url, images, 6)
                context.close()
                # More visits of each kind, the server idle before each: one sample is noise.
                cold, warm = [r["first_screen_s"]], [r["first_screen_warm_s"]]
                for _ in range(args.repeat - 1):
                    for samples, fresh in ((cold, True), (warm, False)):
                        context = browser.new_context(viewport=VIEWPORT)
                        page = context.new_page()
                        sign_up(page, srv)
                        settle()
                        if fresh:
                            shutil.rmtree(work / "lib" / "thumbs", ignore_errors=True)
                        samples.append(first_screen(page, url, images, 6)[0])
                        context.close()
                r["cold_samples"], r["warm_samples"] = cold, warm
                r["first_screen_s"] = statistics.median(cold)
                r["first_screen_warm_s"] = statistics.median(warm)
                print(f"{name}: {r}", flush=True)
            browser.close()
        cookies = {}
        with httpx.Client(base_url=srv.url) as c:
            r = c.post("/api/login", json={"name": "Ada", "password": PASSWORD})
            cookies = dict(r.cookies)
        with httpx.Client(base_url=srv.url, cookies=cookies, timeout=300) as client:
            with srv.host.use() as engine:
                rows = engine.catalog.timeline.page(None, args.photos - 200 + 1)
            from regard.services.timeline import encode_cursor

            deep = rows[-1]
            cursor = encode_cursor(deep["sort_key"], deep["id"])
            results["timeline"]["api_first_ms"] = latency(client, "/api/timeline", {"limit": 200})
            results["timeline"]["api_deep_ms"] = latency(
                client, "/api/timeline", {"limit": 200, "cursor": cursor}
            )
            results["timeline"]["api_months_ms"] = latency(client, "/api/timeline/months", {})
            print(f"timeline: {results['timeline']}", flush=True)
            results["before"]["api_first_ms"] = latency(client, "/api/photos", {"limit": 200}, 3)
            results["before"]["api_deep_ms"] = latency(
                client, "/api/photos", {"limit": 200, "offset": args.photos - 200}, 3
            )
    report(results, args)


def shown(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    t, b = results["timeline"], results["before"]
    print(f"\n{args.photos:,} photos; scrolled back {args.years} years; Chromium 1280x900\n")
    rows = [
        ("first screen, thumbnails not made yet (s, median)", "first_screen_s", "{:.2f}"),
        ("first screen, thumbnails made (s, median)", "first_screen_warm_s", "{:.2f}"),
        (f"scrolling back {args.years} years (s)", "scroll_s", "{:.1f}"),
        ("... got there", "reached", "{}"),
        ("requests in all", "requests", "{:,}"),
        ("... API requests", "api_requests", "{:,}"),
        ("... thumbnails", "thumbnails", "{:,}"),
        ("elements on the page after", "dom_nodes", "{:,}"),
        ("JS heap after (MiB)", "heap_mb", "{:.0f}"),
        ("API first page of 200 (ms, median)", "api_first_ms", "{:.1f}"),
        (f"API page at {args.photos - 200:,} (ms, median)", "api_deep_ms", "{:.1f}"),
    ]
    print(f"{'':48} {'timeline':>12} {'before':>12} {'before/timeline':>16}")
    for label, key, fmt in rows:
        a, z = t.get(key), b.get(key)
        ratio = ""
        if (
            isinstance(a, (int, float))
            and isinstance(z, (int, float))
            and not isinstance(a, bool)
            and a
        ):
            ratio = f"{z / a:.1f}x"
        print(f"{label:48} {shown(a, fmt):>12} {shown(z, fmt):>12} {ratio:>16}")
    print(f"{'API months for the scrubber (ms, median)':48} {t['api_months_ms']:>12.1f}")
    for name in ("timeline", "before"):
        for key in ("cold_samples", "warm_samples"):
            got = results[name].get(key) or []
            print(f"  {name:9} {key.split('_')[0]:5} " + ", ".join(f"{v:.2f}" for v in got))
    print("\nWhere the first screen's time went (ms from navigation; browser timings):")
    for key in ("breakdown_cold", "breakdown_warm"):
        for name in ("timeline", "before"):
            got = results[name].get(key) or {}
            print(
                f"  {name:9} {key.split('_')[1]:5} " + ", ".join(f"{k} {v}" for k, v in got.items())
            )


if __name__ == "__main__":
    main()
