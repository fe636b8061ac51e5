// The Events page: what the cameras saw, newest first, with snapshots; filters by camera, kind
// and day; new events (and events that end or get a name) appear without reloading, pushed by
// the server over Server-Sent Events. Snapshots come from the server like photos do: faces
// blurred but those of household members who consented to camera recognition.

import { get } from "./api.js";
import { button, clear, errorText, field, h, plural, select } from "./dom.js";

const PAGE = 30;
const KINDS = [
  ["", "Any kind"],
  ["person", "People"],
  ["pet", "Pets"],
  ["car", "Cars"],
];

function clock(seconds, live) {
  if (seconds === null || seconds === undefined) return "";
  if (!live) return `${seconds.toFixed(1)} s into the video`;
  return new Date(seconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "medium",
  });
}

function span(event) {
  if (event.end === null || event.end === undefined) return `Since ${clock(event.start, event.live)}`;
  if (!event.live) return `${event.start.toFixed(1)}–${event.end.toFixed(1)} s into the video`;
  const end = new Date(event.end * 1000).toLocaleTimeString(undefined, { timeStyle: "medium" });
  return `${clock(event.start, true)} – ${end}`;
}

function who(event) {
  if (event.kind !== "person") return null;
  if (event.who === "unknown") return "Someone unknown";
  if (event.who) return event.who;
  return "Face not seen";
}

function what(event) {
  const label = event.label && event.label !== event.kind ? event.label : event.kind;
  return label.charAt(0).toUpperCase() + label.slice(1);
}

function card(event) {
  const title = `${what(event)} at ${event.camera}`;
  const person = who(event);
  const snapshot = event.has_snapshot
    ? h("img", {
        class: "event-snapshot",
        src: `/api/events/${encodeURIComponent(event.id)}/snapshot?v=${event.seq}`,
        alt: `Snapshot: ${title}${person ? `, ${person}` : ""}`,
        loading: "lazy",
        decoding: "async",
        width: 320,
        height: 180,
      })
    : h("div", { class: "event-snapshot event-nosnap", text: "No snapshot" });
  return h(
    "li",
    { class: ["event-card", `event-${event.kind}`], dataset: { id: event.id } },
    snapshot,
    h(
      "div",
      { class: "event-text" },
      h("h2", { class: "event-title", text: title }),
      person ? h("p", { class: "event-who", text: person }) : null,
      h("p", { class: "event-time small", text: span(event) }),
      event.end === null || event.end === undefined
        ? h("p", { class: "event-live", text: "Going on now" })
        : null,
      event.has_clip ? clipButton(event, title) : null,
    ),
  );
}

// The clip replaces the snapshot in its card when asked for (never loaded before: a page of
// events does not download every clip).
function clipButton(event, title) {
  const play = button("Play clip", { class: "small event-play" });
  play.addEventListener("click", () => {
    const cardEl = play.closest(".event-card");
    const shown = cardEl && cardEl.querySelector(".event-snapshot");
    if (!shown || shown.tagName === "VIDEO") return;
    const video = h("video", {
      class: "event-snapshot event-clip",
      src: `/api/events/${encodeURIComponent(event.id)}/clip`,
      controls: true,
      autoplay: true,
      muted: true,
      playsinline: true,
      preload: "metadata",
      width: 320,
      height: 180,
      "aria-label": `Clip: ${title}`,
    });
    video.muted = true;
    shown.replaceWith(video);
    play.hidden = true;
    video.focus();
  });
  return play;
}

function dayRange(day) {
  if (!day) return {};
  const start = new Date(`${day}T00:00:00`);
  if (Number.isNaN(start.getTime())) return {};
  const end = new Date(start);
  end.setDate(end.getDate() + 1);
  return { since: start.getTime() / 1000, until: end.getTime() / 1000 };
}

export async function eventsPage(ctx) {
  const { main, query, signal } = ctx;
  const filters = {
    camera: query.get("camera") || "",
    kind: query.get("kind") || "",
    day: query.get("day") || "",
  };
  const range = dayRange(filters.day);
  const params = { camera: filters.camera, kind: filters.kind, ...range };
  const first = await get("/events", { params: { ...params, limit: PAGE }, signal });

  const cameraSelect = select(
    { name: "camera" },
    [["", "All cameras"], ...first.cameras.map((c) => [c, c])],
    filters.camera,
  );
  const kindSelect = select({ name: "kind" }, KINDS, filters.kind);
  const dayInput = h("input", { type: "date", name: "day", value: filters.day });
  const filterForm = h(
    "form",
    { class: "filters event-filters", role: "search", "aria-label": "Filter events" },
    field("Camera", cameraSelect),
    field("Kind", kindSelect),
    field("Day", dayInput),
    h("button", { type: "submit", class: "small", text: "Show" }),
  );
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    if (cameraSelect.value) q.set("camera", cameraSelect.value);
    if (kindSelect.value) q.set("kind", kindSelect.value);
    if (dayInput.value) q.set("day", dayInput.value);
    const text = q.toString();
    ctx.navigate(`/events${text ? `?${text}` : ""}`);
  });

  const live = h("p", { class: "event-stream small", role: "status", text: "Connecting…" });
  const count = h("p", { class: "small event-count" });
  const list = h("ul", { class: "event-list", "aria-label": "Events, newest first" });
  const empty = h("p", {
    class: "event-empty",
    text:
      "No events yet. When a camera sees a person, a pet or a car, it appears here at once.",
  });
  const more = button("Show older events", { class: "small" });
  main.append(
    h("h1", { text: "Events" }),
    h("p", {
      class: "lead",
      text:
        "What your cameras saw, decided on this machine. Faces are blurred in snapshots and clips " +
        "except those of household members who agreed to be recognised by the cameras.",
    }),
    filterForm,
    live,
    count,
    list,
    empty,
    more,
  );

  const shown = new Map();
  let total = first.total;
  let offset = 0;

  function matches(event) {
    if (filters.camera && event.camera !== filters.camera) return false;
    if (filters.kind && event.kind !== filters.kind) return false;
    if (range.since !== undefined && !(event.start >= range.since && event.start < range.until)) {
      return false;
    }
    return true;
  }

  function refresh() {
    empty.hidden = shown.size > 0;
    more.hidden = offset >= total;
    count.textContent = shown.size ? `${plural(total, "event")}` : "";
  }

  function put(event, { atTop }) {
    const el = card(event);
    const old = shown.get(event.id);
    // An event's end does not change its snapshot: keep the image (or the clip playing).
    const oldImg =
      old && event.phase === "end" ? old.querySelector("img.event-snapshot, video") : null;
    const newImg = el.querySelector("img.event-snapshot");
    if (oldImg && newImg) newImg.replaceWith(oldImg);
    if (oldImg && oldImg.tagName === "VIDEO") el.querySelector(".event-play")?.remove();
    if (old) old.replaceWith(el);
    else if (atTop) list.prepend(el);
    else list.append(el);
    shown.set(event.id, el);
  }

  function add(page) {
    for (const event of page.events) put(event, { atTop: false });
    offset += page.events.length;
    total = page.total;
    refresh();
  }

  add(first);
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      add(await get("/events", { params: { ...params, offset, limit: PAGE }, signal }));
    } catch (err) {
      live.textContent = errorText(err);
    } finally {
      more.disabled = false;
    }
  });

  // The live stream. The browser reconnects by itself (sending Last-Event-ID); the server
  // ends the stream when the session does.
  const stream = new EventSource("/api/events/stream");
  ctx.onCleanup(() => stream.close());
  stream.addEventListener("open", () => {
    live.textContent = "Live: new events appear here as they happen.";
  });
  stream.addEventListener("error", () => {
    if (!ctx.isCurrent()) return;
    live.textContent =
      stream.readyState === EventSource.CLOSED
        ? "The live connection closed. Reload the page to see new events."
        : "Connection to the server lost; trying again…";
  });
  stream.addEventListener("camera-event", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!matches(event)) return;
    if (!shown.has(event.id)) {
      total += 1;
      offset += 1;
    }
    put(event, { atTop: !shown.has(event.id) });
    if (!cameraSelect.querySelector(`option[value="${CSS.escape(event.camera)}"]`)) {
      cameraSelect.append(h("option", { value: event.camera, text: event.camera }));
    }
    refresh();
  });
  stream.addEventListener("signed-out", () => {
    stream.close();
    clear(live).append("You are signed out. ");
    live.append(h("a", { href: "/login?next=/events", text: "Sign in again" }));
  });
}
