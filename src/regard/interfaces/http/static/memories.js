// Memories: the recaps Regard found in the library (on this day, events, trips, a person's
// year...), as cards; a story view that shows a recap's photos one by one (arrow keys, swipe);
// its collage and video made as background jobs (POST /api/recaps/{id}/collage|video, followed
// and downloaded like the share page's jobs); a recap hidden (asked first, undone from the
// message), a person kept out of recaps. Faces of people who may not be shown are blurred here
// as in the collages and videos.

import { get, post } from "./api.js";
import { ask } from "./dialog.js";
import { button, clear, errorText, h, plural } from "./dom.js";
import { followJob, offerResult } from "./share.js";

const KINDS = [
  ["today", "For today"],
  ["all", "All"],
  ["on-this-day", "On this day"],
  ["events", "Events"],
  ["trips", "Trips"],
  ["people", "People's years"],
  ["together", "Together"],
  ["years", "Years"],
];

function dates(recap) {
  const fmt = (iso) => {
    const d = new Date(`${iso}T12:00:00`);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { dateStyle: "medium" });
  };
  return recap.start === recap.end ? fmt(recap.start) : `${fmt(recap.start)} – ${fmt(recap.end)}`;
}

/** A photo of a recap with the faces that may not be shown blurred over it. */
function picture(photo, size, { cls = "", alt = "" } = {}) {
  const img = h("img", {
    src: `/api/photos/${photo.photo_id}/image?size=${size}`,
    alt,
    decoding: "async",
    width: photo.width || size,
    height: photo.height || size,
  });
  const frame = h("div", { class: `memory-picture ${cls}` }, img);
  for (const face of photo.faces) {
    if (!face.blur || !photo.width || !photo.height) continue;
    const [x, y, w, hgt] = face.box;
    // The head, not only the face's box: as the anonymiser grows it.
    const gx = x - 0.15 * w;
    const gy = y - 0.35 * hgt;
    const blur = h("span", { class: "memory-blur", "aria-hidden": "true" });
    // Set through the style object: the page's Content-Security-Policy refuses style attributes.
    blur.style.left = `${(100 * gx) / photo.width}%`;
    blur.style.top = `${(100 * gy) / photo.height}%`;
    blur.style.width = `${(130 * w) / photo.width}%`;
    blur.style.height = `${(140 * hgt) / photo.height}%`;
    frame.append(blur);
  }
  return frame;
}

/** Make a recap's collage or video as a job in `area`, then download it. */
async function make(ctx, area, recap, what) {
  const name = `recap-${recap.id.toLowerCase()}.${what === "video" ? "mp4" : "jpg"}`;
  try {
    let job = await post(`/recaps/${encodeURIComponent(recap.id)}/${what}`);
    job = await followJob(ctx, area, job, (j) =>
      j.message === "anonymising"
        ? `Blurring the faces it may not show first: ${j.done} of ${j.total || "?"} photos and moments`
        : what === "video"
          ? `Making the video: frame ${j.done} of ${j.total || "?"}`
          : `Making the collage: photo ${j.done} of ${j.total || "?"}`,
    );
    if (job.state !== "done") {
      area.append(
        h("p", {
          class: "error",
          role: "alert",
          text: job.state === "cancelled" ? "Cancelled: nothing was kept." : job.message,
        }),
      );
      return;
    }
    const r = job.report || {};
    area.append(
      h("p", {
        class: "muted",
        text:
          `${plural(r.photos || 0, "photo")}, ${plural(r.faces_blurred || 0, "face")} blurred` +
          (r.skipped && r.skipped.length ? `; left out: ${r.skipped.map((s) => s.reason).join("; ")}` : ""),
      }),
    );
    offerResult(area, job, name);
  } catch (err) {
    if (err.name === "AbortError") return;
    area.append(h("p", { class: "error", role: "alert", text: errorText(err) }));
  }
}

function makeButtons(ctx, recap) {
  const area = h("div", { class: "memory-job", "aria-live": "polite" });
  const collage = button("Collage", { class: "small" });
  const video = button("Video", { class: "small" });
  for (const [b, what] of [
    [collage, "collage"],
    [video, "video"],
  ]) {
    b.addEventListener("click", async () => {
      collage.disabled = video.disabled = true; // one job at a time per card: no double click
      await make(ctx, area, recap, what);
      collage.disabled = video.disabled = false;
    });
  }
  return { collage, video, area };
}

async function hideRecap(ctx, recap, after) {
  const ok = await ask({
    title: `Hide “${recap.title}”?`,
    body: h("p", {
      text: "It will no longer be listed in Memories. Nothing is deleted: you can show it again.",
    }),
    confirm: "Hide it",
  });
  if (!ok) return;
  try {
    await post(`/recaps/${encodeURIComponent(recap.id)}/hide`);
    await after(); // first: a page change clears the message
    ctx.announce(`“${recap.title}” is hidden.`, {
      label: "Undo",
      run: async () => {
        await post(`/recaps/${encodeURIComponent(recap.id)}/unhide`);
        await after();
        ctx.announce(`“${recap.title}” is shown again.`);
      },
    });
  } catch (err) {
    ctx.announce(errorText(err), null, { error: true });
  }
}

async function hidePerson(ctx, name, after) {
  const ok = await ask({
    title: `Keep ${name} out of recaps?`,
    body: h("p", {
      text:
        `No recap of ${name}'s own, and no photo ${name} is in, will be chosen for any recap. ` +
        "Their photos stay in the library. You can let them back in.",
    }),
    confirm: "Keep out of recaps",
  });
  if (!ok) return;
  const ref = encodeURIComponent(name);
  try {
    await post(`/people/${ref}/hide-from-recaps`, { json: { hidden: true } });
    await after();
    ctx.announce(`${name} is kept out of recaps.`, {
      label: "Undo",
      run: async () => {
        await post(`/people/${ref}/hide-from-recaps`, { json: { hidden: false } });
        await after();
        ctx.announce(`${name} can be in recaps again.`);
      },
    });
  } catch (err) {
    ctx.announce(errorText(err), null, { error: true });
  }
}

function emptyLibrary(hidden) {
  return (
    "No recaps yet: they come from photos with dates (and places), once a day or an event has " +
    "a few." +
    (hidden ? ` ${plural(hidden, "recap")} hidden: tick “Hidden ones too” to see them.` : "")
  );
}

export async function memoriesPage(ctx) {
  const { main, signal } = ctx;
  const kind = ctx.query.get("kind") || "today";
  const showHidden = ctx.query.get("hidden") === "1";
  const choose = h(
    "select",
    { id: "memories-kind", "aria-label": "Which recaps" },
    ...KINDS.map(([value, text]) => h("option", { value, text, selected: value === kind })),
  );
  const hiddenBox = h("input", { type: "checkbox", id: "memories-hidden", checked: showHidden });
  const go = () => {
    const q = new URLSearchParams({ kind: choose.value });
    if (hiddenBox.checked) q.set("hidden", "1");
    ctx.navigate(`/memories?${q}`, { replace: true });
  };
  choose.addEventListener("change", go);
  hiddenBox.addEventListener("change", go);
  const intro = h("p", { class: "subtitle" });
  const grid = h("ul", { class: "memory-grid", "aria-label": "Recaps" });
  main.append(
    h("h1", { text: "Memories" }),
    h(
      "div",
      { class: "row-actions memory-filters" },
      h("label", { for: choose.id, text: "Show " }),
      choose,
      h("span", { class: "check" }, hiddenBox, h("label", { for: hiddenBox.id, text: "Hidden ones too" })),
    ),
    intro,
    grid,
  );

  function card(recap) {
    const cover = recap.photos[0];
    const { collage, video, area } = makeButtons(ctx, recap);
    const open = h("a", { href: `/memories/${encodeURIComponent(recap.id)}`, class: "memory-open" });
    open.append(
      cover ? picture(cover, 512, { cls: "memory-cover" }) : h("div", { class: "memory-cover empty" }),
      h("span", { class: "memory-title", text: recap.title }),
    );
    const actions = h("div", { class: "row-actions" }, collage, video);
    if (ctx.can("edit_people")) {
      const toggle = button(recap.hidden ? "Show again" : "Hide", { class: "small" });
      toggle.addEventListener("click", async () => {
        if (recap.hidden) {
          try {
            await post(`/recaps/${encodeURIComponent(recap.id)}/unhide`);
            await load();
            ctx.announce(`“${recap.title}” is shown again.`);
          } catch (err) {
            ctx.announce(errorText(err), null, { error: true });
          }
        } else {
          await hideRecap(ctx, recap, load);
        }
      });
      actions.append(toggle);
    }
    return h(
      "li",
      { class: `memory-card${recap.hidden ? " is-hidden" : ""}`, dataset: { id: recap.id } },
      open,
      h(
        "div",
        { class: "memory-text" },
        h("span", { class: "muted", text: dates(recap) }),
        recap.place ? h("span", { class: "memory-place", text: recap.place }) : null,
        h("span", {
          class: "muted",
          text:
            `${plural(recap.photos.length, "photo")} chosen of ${recap.total}` +
            (recap.hidden ? " · hidden" : ""),
        }),
        actions,
        area,
      ),
    );
  }

  async function load() {
    const list = await get("/recaps", { params: { kind, hidden: showHidden }, signal });
    clear(intro);
    if (list.recaps.length) {
      intro.textContent =
        `${plural(list.recaps.length, "recap")}, made here from your library; nothing is uploaded.` +
        (list.hidden && !showHidden ? ` ${plural(list.hidden, "recap")} hidden.` : "");
    } else if (kind !== "all") {
      // None of this kind (most days have nothing "for today"): say what there is instead.
      const all = await get("/recaps", { params: { kind: "all", hidden: showHidden }, signal });
      if (all.recaps.length) {
        const every = button("Show all", { class: "small" });
        every.addEventListener("click", () => {
          choose.value = "all";
          go();
        });
        const label = KINDS.find(([value]) => value === kind)?.[1] ?? kind;
        const none = kind === "today" ? "for today" : `in “${label}”`;
        intro.append(`Nothing ${none}; the library has ${plural(all.recaps.length, "recap")}. `, every);
      } else intro.textContent = emptyLibrary(all.hidden && !showHidden ? all.hidden : 0);
    } else intro.textContent = emptyLibrary(list.hidden && !showHidden ? list.hidden : 0);
    clear(grid).append(...list.recaps.map(card));
  }
  await load();
}

export async function memoryPage(ctx) {
  const { main, signal } = ctx;
  const recap = await get(`/recaps/${encodeURIComponent(ctx.params.id)}`, { signal });
  document.title = `${recap.title} · Regard`;
  const photos = recap.photos;
  let at = Math.min(Math.max(0, Number(ctx.query.get("at")) || 0), Math.max(0, photos.length - 1));
  const stage = h("div", { class: "story-stage", tabindex: "0", "aria-label": "Photo" });
  const caption = h("p", { class: "story-caption", "aria-live": "polite" });
  const bars = h("ol", { class: "story-bars", "aria-hidden": "true" });
  const prev = button("‹ Previous", { class: "small" });
  const next = button("Next ›", { class: "small" });
  const { collage, video, area } = makeButtons(ctx, recap);
  const people = h("ul", { class: "story-people", "aria-label": "People in this recap" });
  for (const name of recap.people) {
    const item = h("li", {}, h("span", { text: name }));
    if (ctx.can("edit_people")) {
      const out = button("Keep out of recaps", { class: "small" });
      out.addEventListener("click", () =>
        hidePerson(ctx, name, () => ctx.navigate("/memories", { replace: true })),
      );
      item.append(" ", out);
    }
    people.append(item);
  }
  const actions = h("div", { class: "row-actions" }, collage, video);
  if (ctx.can("edit_people")) {
    const hide = button("Hide this recap", { class: "small" });
    hide.addEventListener("click", () =>
      hideRecap(ctx, recap, () => ctx.navigate("/memories", { replace: true })),
    );
    actions.append(hide);
  }
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "/memories", text: "Memories" })),
    h("h1", { text: recap.title }),
    h("p", { class: "subtitle", text: [dates(recap), recap.place].filter(Boolean).join(" · ") }),
    h("div", { class: "story" }, bars, stage, h("div", { class: "story-nav" }, prev, caption, next)),
    actions,
    area,
    recap.people.length ? h("h2", { text: "People" }) : null,
    recap.people.length ? people : null,
  );

  function show(i) {
    if (!photos.length) {
      clear(stage).append(h("p", { class: "muted", text: "This recap has no photos left." }));
      return;
    }
    at = Math.min(Math.max(0, i), photos.length - 1);
    const p = photos[at];
    const moment =
      p.media === "video" && p.start !== null
        ? ` · a moment of a video, ${p.start.toFixed(1)}–${p.end.toFixed(1)} s`
        : "";
    clear(stage).append(picture(p, 1600, { cls: "story-photo", alt: `Photo ${at + 1} of ${photos.length}` }));
    caption.textContent = `${at + 1} of ${photos.length}${moment}`;
    clear(bars).append(...photos.map((_, k) => h("li", { class: k <= at ? "seen" : "" })));
    prev.disabled = at === 0;
    next.disabled = at === photos.length - 1;
    window.history.replaceState(window.history.state, "", `?at=${at}`);
  }
  prev.addEventListener("click", () => show(at - 1));
  next.addEventListener("click", () => show(at + 1));
  const onKey = (e) => {
    if (e.target instanceof HTMLInputElement || document.querySelector("dialog[open]")) return;
    if (e.key === "ArrowRight") show(at + 1);
    else if (e.key === "ArrowLeft") show(at - 1);
    else if (e.key === "Home") show(0);
    else if (e.key === "End") show(photos.length - 1);
    else if (e.key === "Escape") ctx.navigate("/memories");
    else return;
    e.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  ctx.onCleanup(() => document.removeEventListener("keydown", onKey));
  // Swipe: a horizontal drag of a third of the stage's width or more turns the page; a tap
  // on its left or right third does too.
  let downX = null;
  stage.addEventListener("pointerdown", (e) => {
    downX = e.clientX;
  });
  stage.addEventListener("pointerup", (e) => {
    if (downX === null) return;
    const dx = e.clientX - downX;
    const width = stage.clientWidth || 1;
    downX = null;
    if (Math.abs(dx) >= width / 6) show(at + (dx < 0 ? 1 : -1));
    else {
      const x = e.clientX - stage.getBoundingClientRect().left;
      if (x < width / 3) show(at - 1);
      else if (x > (2 * width) / 3) show(at + 1);
    }
  });
  show(at);
}
