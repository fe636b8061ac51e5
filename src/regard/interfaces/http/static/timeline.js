// The timeline: every photo and video, newest first, by month and day, in a justified grid
// that keeps each one's shape. Months are sections whose photos are fetched when they come
// near the screen and dropped again when far from it (their height is kept), so 100,000
// photos never make 100,000 elements. A scrubber jumps to a year or month; photos indexed
// meanwhile appear without a reload.
//
// Nothing is sized with an inline style (the pages have none): a tile is as large as its
// image's width and height attributes, and a month not shown keeps its height with an empty
// SVG of that height.

import { get } from "./api.js";
import { clear, h, plural, s, sleep } from "./dom.js";
import { selection } from "./selection.js";

const PAGE = 500; // items per request when a month is fetched...
const FIRST_PAGE = 60; // ...but its first request, which fills the screen
const GAP = 4; // px between tiles, as in app.css
const NEAR = "1200px 0px"; // a month this close to the screen is fetched...
const FAR = "6000px 0px"; // ...and one further than this is dropped
const POLL_MS = 3000; // how often the months are checked again while indexing runs
const SETTLE_MS = 120; // how long a month stays near the screen before it is fetched
const EAGER = 40; // thumbnails of the first screen fetched at once (see `tile`)

const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

export function monthTitle(month) {
  if (month === "undated") return "No date";
  const [y, m] = month.split("-");
  return `${MONTHS[Number(m) - 1]} ${y}`;
}

function dayTitle(day) {
  if (day === "undated") return "No date";
  const d = new Date(`${day}T12:00:00`);
  if (Number.isNaN(d.getTime())) return day;
  return d.toLocaleDateString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
  });
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

function aspect(item) {
  const r = item.width && item.height ? item.width / item.height : 1;
  return Math.min(Math.max(r, 0.4), 3.5); // a panorama or a strip still gets a usable tile
}

/** Rows of equal height that fill `width`, each photo in its own shape; the last row of a
 * day keeps the target height instead of being stretched. */
export function justify(items, width, target) {
  const rows = [];
  let row = [];
  let sum = 0;
  for (const item of items) {
    row.push(item);
    sum += aspect(item);
    if (sum * target + GAP * (row.length - 1) >= width) {
      rows.push({ items: row, height: (width - GAP * (row.length - 1)) / sum, full: true });
      row = [];
      sum = 0;
    }
  }
  if (row.length) rows.push({ items: row, height: target, full: false });
  return rows;
}

function rowHeight() {
  return window.matchMedia("(max-width: 40rem)").matches ? 110 : 200;
}

function tileLabel(item) {
  const what = item.kind === "video" ? `Video, ${duration(item.duration)}` : "Photo";
  if (!item.date) return `${what}, no date: ${item.name}`;
  const d = new Date(item.date);
  const shown = Number.isNaN(d.getTime())
    ? item.date
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return `${what}, ${shown}: ${item.name}`;
}

/** Empty space of a given height (where a month's photos are not shown). */
function spacer(height) {
  return s("svg", {
    class: "tl-spacer",
    width: 1,
    height: Math.max(0, Math.round(height)),
    "aria-hidden": "true",
    focusable: "false",
  });
}

// The first screen's thumbnails are asked for as their tiles are made, not a layout later (as
// lazy ones are): as many as a large screen shows.
let eager = 0;

function tile(item, width, height, sel) {
  const label = tileLabel(item);
  const first = eager > 0;
  eager -= 1;
  const img = h("img", {
    src: item.thumbnail,
    alt: "",
    loading: first ? "eager" : "lazy",
    fetchpriority: first ? "high" : "auto",
    decoding: "async",
    width,
    height,
  });
  const link = h(
    "a",
    { href: `/photos/${item.id}`, class: "tl-link", "aria-label": label, dataset: { id: item.id } },
    img,
    item.kind === "video"
      ? h("span", { class: "tl-duration", "aria-hidden": "true", text: duration(item.duration) })
      : null,
  );
  const check = h("button", {
    type: "button",
    class: "tl-check",
    role: "checkbox",
    "aria-checked": sel.has(item.id) ? "true" : "false",
    "aria-label": `Select: ${label}`,
    // One stop per photo for Tab: Space on the photo selects it too.
    tabindex: "-1",
    dataset: { id: item.id },
  });
  const cell = h("div", { class: "tl-cell", dataset: { id: item.id } }, link, check);
  if (sel.has(item.id)) cell.classList.add("selected");
  return cell;
}

/** One month: a heading, then its days, fetched when near the screen. */
class Month {
  constructor(info, timeline) {
    this.info = info;
    this.timeline = timeline;
    this.items = null; // fetched items, or null
    this.cells = new Map(); // their tiles, by id
    this.loading = null;
    this.inFar = true; // within reach of the screen (else its tiles are dropped)
    const id = `m-${info.month}`;
    this.heading = h("h2", { class: "tl-month-h", id: `${id}-h`, text: monthTitle(info.month) });
    this.count = h("span", { class: "tl-count", text: plural(info.count, "item") });
    this.body = h("div", { class: "tl-month-body" });
    this.el = h(
      "section",
      { class: "tl-month", id, "aria-labelledby": `${id}-h`, dataset: { month: info.month } },
      h("div", { class: "tl-month-head" }, this.heading, this.count),
      this.body,
    );
    this.el.month = this;
    this.estimate();
  }

  estimate() {
    if (this.items) return;
    const width = this.timeline.width();
    const perRow = Math.max(1, Math.floor(width / (rowHeight() * 1.3)));
    const rows = Math.ceil(this.info.count / perRow);
    const days = Math.min(this.info.count, 8);
    clear(this.body).append(spacer(rows * (rowHeight() + GAP) + days * 36));
  }

  update(info) {
    const changed = info.count !== this.info.count;
    this.info = info;
    this.count.textContent = plural(info.count, "item");
    if (!changed) return;
    if (this.items) this.load(true);
    else this.estimate();
  }

  async load(again = false) {
    if (this.loading) {
      if (again) this.stale = true; // fetched again once this fetch is in
      return this.loading.catch(() => null); // its first caller reports what went wrong
    }
    if (this.items && !again) return null;
    const { signal } = this.timeline.ctx;
    this.loading = (async () => {
      // A first small page shows the screen sooner; the rest follows in large ones.
      const items = [];
      let cursor = null;
      let limit = FIRST_PAGE;
      do {
        const page = await get("/timeline", {
          params: { month: this.info.month, limit, cursor },
          signal,
        });
        this.timeline.requests += 1;
        items.push(...page.photos);
        cursor = page.next_cursor;
        limit = PAGE;
        if (cursor && items.length === page.photos.length) {
          if (!this.items) await this.afterPrevious();
          this.items = items.slice();
          this.render();
        }
      } while (cursor);
      if (!this.items) await this.afterPrevious();
      this.items = items;
      this.render();
    })();
    try {
      await this.loading;
    } catch (err) {
      if (err.name !== "AbortError") this.timeline.problem(err);
    } finally {
      this.loading = null;
    }
    if (this.stale) {
      this.stale = false;
      await this.load(true);
    }
    // Scrolled far past while it was fetched: dropped at once.
    if (!this.inFar) this.unload();
    return null;
  }

  /** Waits while the month before this one is still fetching its first photos: months are
   * first shown top to bottom. Shown before the one above it, a month's photos would move down
   * under the pointer when that one came in, and a click meant for one photo would open
   * another (or none: a tile moved between press and release gets no click). */
  async afterPrevious() {
    const months = this.timeline.months;
    const before = months[months.indexOf(this) - 1];
    if (before && !before.items && before.loading) await before.loading.catch(() => null);
  }

  render() {
    if (!this.items) return;
    const width = this.timeline.width();
    const target = rowHeight();
    const sel = this.timeline.sel;
    const days = new Map();
    for (const item of this.items) {
      const day = item.date ? item.date.slice(0, 10) : "undated";
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(item);
    }
    const parts = [];
    for (const [day, items] of days) {
      const rows = justify(items, width, target).map((row) => {
        const height = Math.floor(row.height);
        let left = width - GAP * (row.items.length - 1);
        const cells = row.items.map((item, i) => {
          const last = i === row.items.length - 1;
          const w = Math.max(last && row.full ? left : Math.floor(aspect(item) * row.height), 1);
          left -= w;
          // A tile shown already is moved and resized, not made again: its image stays.
          const cell = this.cells.get(item.id);
          if (!cell) return tile(item, w, height, sel);
          const img = cell.querySelector("img");
          img.width = w;
          img.height = height;
          return cell;
        });
        return h("div", { class: "tl-row" }, cells);
      });
      parts.push(
        h(
          "div",
          { class: "tl-day" },
          h("h3", { class: "tl-day-h", text: dayTitle(day) }),
          rows,
        ),
      );
    }
    clear(this.body).append(...parts);
    this.redraws = (this.redraws || 0) + 1; // see finishClicksAcrossRedraws
    this.cells = new Map(
      [...this.body.querySelectorAll(".tl-cell")].map((c) => [Number(c.dataset.id), c]),
    );
  }

  unload() {
    if (!this.items || this.loading) return;
    // Keep the space it takes, so nothing on the screen moves.
    const height = this.body.offsetHeight;
    clear(this.body).append(spacer(height));
    this.items = null;
    this.cells = new Map();
  }
}

/** The scrubber: one button per year (Tab, arrow keys), a track to click or drag to any
 * month, and a label saying where a drag would land. */
function scrubber(timeline) {
  const label = h("span", { class: "tl-scrub-label", "aria-hidden": "true", hidden: true });
  const years = h("ol", { class: "tl-years" });
  const track = h("div", { class: "tl-track" }, label, years);
  const nav = h("nav", { class: "tl-scrubber", "aria-label": "Jump to a year or month" }, track);

  /** Each year where its photos start along the track (a spacer before it fills the rest),
   * and never closer than a button's height to the one before. */
  function render() {
    clear(years);
    const seen = new Set();
    const total = timeline.months.reduce((n, m) => n + m.info.count, 0) || 1;
    const height = track.clientHeight || 600;
    const step = window.matchMedia("(max-width: 40rem)").matches ? 44 : 28;
    let before = 0;
    let y = 0;
    for (const m of timeline.months) {
      const key = m.info.year ?? "No date";
      const at = (height * before) / total;
      before += m.info.count;
      if (seen.has(key) || at < y - 0.5 || at > height - step) continue;
      seen.add(key);
      const b = h("button", {
        type: "button",
        class: "tl-year",
        text: String(key),
        "aria-label": `Jump to ${key}`,
        dataset: { month: m.info.month },
      });
      years.append(h("li", {}, spacer(at - y), b));
      y = at + step;
    }
  }

  function monthAt(clientY) {
    const box = track.getBoundingClientRect();
    const f = Math.min(Math.max((clientY - box.top) / box.height, 0), 0.9999);
    const total = timeline.months.reduce((n, m) => n + m.info.count, 0);
    let at = f * total;
    for (const m of timeline.months) {
      if (at < m.info.count) return m;
      at -= m.info.count;
    }
    return timeline.months[timeline.months.length - 1];
  }

  // A press that moves more than a few pixels drags (even one that started on a year).
  let dragging = false;
  let pressed = null;
  track.addEventListener("pointerdown", (event) => {
    pressed = { y: event.clientY, id: event.pointerId };
    if (!event.target.closest(".tl-year")) start(event);
  });
  function start(event) {
    dragging = true;
    track.setPointerCapture(event.pointerId);
    move(event);
  }
  function move(event) {
    if (!dragging) {
      if (pressed && Math.abs(event.clientY - pressed.y) > 6) start(event);
      return;
    }
    const m = monthAt(event.clientY);
    if (!m) return;
    label.hidden = false;
    label.textContent = monthTitle(m.info.month);
    timeline.jump(m.info.month, false);
  }
  track.addEventListener("pointermove", move);
  const stop = () => {
    pressed = null;
    if (!dragging) return;
    dragging = false;
    setTimeout(() => {
      label.hidden = true;
    }, 600);
  };
  // The track is as tall as the screen or as the photos beside it: the years follow it.
  let lastHeight = 0;
  const resized = new ResizeObserver(() => {
    if (Math.abs(track.clientHeight - lastHeight) < 2) return;
    lastHeight = track.clientHeight;
    render();
  });
  resized.observe(track);
  timeline.ctx.onCleanup(() => resized.disconnect());
  track.addEventListener("pointerup", stop);
  track.addEventListener("pointercancel", stop);
  years.addEventListener("click", (event) => {
    const b = event.target.closest(".tl-year");
    if (b) timeline.jump(b.dataset.month, true);
  });
  years.addEventListener("keydown", (event) => {
    const b = event.target.closest(".tl-year");
    if (!b || !["ArrowUp", "ArrowDown", "Home", "End"].includes(event.key)) return;
    const all = [...years.querySelectorAll(".tl-year")];
    let i = all.indexOf(b);
    if (event.key === "ArrowUp") i -= 1;
    else if (event.key === "ArrowDown") i += 1;
    else if (event.key === "Home") i = 0;
    else i = all.length - 1;
    const next = all[Math.min(Math.max(i, 0), all.length - 1)];
    event.preventDefault();
    next.focus();
    timeline.jump(next.dataset.month, false);
  });
  return { el: nav, render };
}

/**
 * A press on a tile and its release with a redraw of the tile's month between them (photos
 * indexed meanwhile, a resize) get no click from the browser: the redraw takes the tile out of
 * the page and puts it back in its new row, and Chrome then aims the click at the old,
 * detached row. The list finishes such a click itself: released over the same photo's link or
 * checkbox, close to where it was pressed, with its month redrawn meanwhile and no click from
 * the browser, that element gets one (with the keys held), which the router and the selection
 * take as any other.
 */
function finishClicksAcrossRedraws(list) {
  const PART = ".tl-link, .tl-check";
  let pressed = null;
  let pending = null;
  list.addEventListener("pointerdown", (event) => {
    const part = event.isPrimary && event.button === 0 ? event.target.closest(PART) : null;
    const month = part?.closest(".tl-month")?.month;
    pressed = month
      ? { month, redraws: month.redraws, kind: part.className, id: part.dataset.id }
      : null;
    if (pressed) Object.assign(pressed, { x: event.clientX, y: event.clientY });
  });
  list.addEventListener(
    "click",
    () => {
      pending = null;
    },
    true,
  );
  list.addEventListener("pointerup", (event) => {
    const from = pressed;
    pressed = null;
    if (!from || !event.isPrimary || from.month.redraws === from.redraws) return;
    if (Math.hypot(event.clientX - from.x, event.clientY - from.y) > 10) return;
    const under = document.elementFromPoint(event.clientX, event.clientY)?.closest(PART);
    if (!under || under.className !== from.kind || under.dataset.id !== from.id) return;
    const init = { bubbles: true, cancelable: true, view: window, button: 0, detail: 1 };
    for (const k of ["shiftKey", "ctrlKey", "metaKey", "altKey", "clientX", "clientY"]) {
      init[k] = event[k];
    }
    const mine = { under, init };
    pending = mine;
    // After the browser has had its turn: its click, if it gives one, comes in this task.
    setTimeout(() => {
      if (pending !== mine || !under.isConnected) return;
      pending = null;
      under.dispatchEvent(new MouseEvent("click", init));
    }, 0);
  });
}

/** Render the timeline into `host`; `onEmpty(empty)` says whether the library is empty. */
export async function timeline(ctx, host, { onEmpty, summary }) {
  const list = h("div", { class: "tl-months" });
  const problemArea = h("div");
  const state = {
    ctx,
    months: [],
    byMonth: new Map(),
    requests: 0,
    sel: null,
    width: () => list.clientWidth || host.clientWidth || 800,
    problem: (err) =>
      clear(problemArea).append(
        h("p", { class: "error", role: "alert", text: err.message || String(err) }),
      ),
    jump: (month, focus) => {
      const m = state.byMonth.get(month);
      if (!m) return;
      m.el.scrollIntoView({ block: "start" });
      m.load();
      if (focus) {
        m.heading.setAttribute("tabindex", "-1");
        m.heading.focus({ preventScroll: true });
      }
    },
  };
  state.sel = selection(ctx, {
    container: list,
    order: () => state.months.flatMap((m) => m.items || []).map((i) => i.id),
    removed: () => refresh().catch(() => null),
  });
  const scrub = scrubber(state);
  host.append(h("div", { class: "tl" }, list, scrub.el), problemArea);
  finishClicksAcrossRedraws(list);

  // A month is fetched once it has stayed near the screen a moment: flying past it with the
  // scrubber or a fling fetches nothing.
  const near = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const m = e.target.month;
        clearTimeout(m.soon);
        m.isNear = e.isIntersecting;
        if (e.isIntersecting) {
          m.soon = setTimeout(() => {
            if (m.isNear) m.load();
          }, SETTLE_MS);
        }
      }
    },
    { rootMargin: NEAR },
  );
  const far = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        e.target.month.inFar = e.isIntersecting;
        if (!e.isIntersecting) e.target.month.unload();
      }
    },
    { rootMargin: FAR },
  );
  ctx.onCleanup(() => {
    near.disconnect();
    far.disconnect();
  });

  /** Make the sections match the server's months: new months added in their place, gone
   * ones removed, changed ones fetched again if they are shown. */
  function sync(info) {
    const wanted = info.months;
    const next = [];
    for (const mi of wanted) {
      let m = state.byMonth.get(mi.month);
      if (m) m.update(mi);
      else {
        m = new Month(mi, state);
        state.byMonth.set(mi.month, m);
        near.observe(m.el);
        far.observe(m.el);
      }
      next.push(m);
    }
    const keep = new Set(wanted.map((mi) => mi.month));
    for (const [month, m] of state.byMonth) {
      if (!keep.has(month)) {
        near.unobserve(m.el);
        far.unobserve(m.el);
        m.el.remove();
        state.byMonth.delete(month);
      }
    }
    // In order, moving only what is out of place (a month's scroll position stays).
    let prev = null;
    for (const m of next) {
      const want = prev ? prev.el.nextSibling : list.firstChild;
      if (want !== m.el) list.insertBefore(m.el, want);
      prev = m;
    }
    state.months = next;
    scrub.render();
    summary(info.total);
    onEmpty(info.total === 0);
  }

  async function refresh() {
    const info = await get("/timeline/months", { signal: ctx.signal });
    sync(info);
    return info;
  }

  let lastWidth = state.width();
  const relayout = () => {
    const w = state.width();
    if (Math.abs(w - lastWidth) < 2) return;
    lastWidth = w;
    for (const m of state.months) {
      if (m.items) m.render();
      else m.estimate();
    }
    scrub.render();
  };
  let resizeTimer = null;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(relayout, 120);
  };
  window.addEventListener("resize", onResize);
  ctx.onCleanup(() => window.removeEventListener("resize", onResize));

  await refresh();
  // The first months are fetched at once (the observers would, a frame later).
  eager = EAGER;
  await Promise.all(state.months.slice(0, 2).map((m) => m.load()));
  eager = 0;

  /** While indexing runs (an upload, or a folder indexed elsewhere), new photos appear: the
   * months are checked again whenever the jobs' progress changes. */
  async function follow() {
    const progress = async () => {
      const jobs = await get("/jobs", { params: { limit: 5 }, signal: ctx.signal });
      const indexing = jobs.filter((j) => j.kind === "index");
      return JSON.stringify(indexing.map((j) => [j.id, j.state, j.done]));
    };
    let seen = await progress();
    for (;;) {
      await sleep(POLL_MS, ctx.signal);
      const now = await progress();
      if (now !== seen) await refresh();
      seen = now;
    }
  }
  follow().catch(() => null);

  return { refresh, state };
}
