// The photo viewer (/photos/<id>): the photo or video full screen on black, previous / next
// in the timeline's order (arrow keys, buttons, swipes), Escape back to where it was opened
// from, zoom to full resolution (click, double tap, + and -, drag to pan), face boxes on
// demand (F), the original to download, an info panel (I), and delete to the trash.
// `/photos/<id>?t=<seconds>&face=<face id>` opens a video at a moment with that face boxed:
// other pages link to moments that way.

import { get, post } from "./api.js";
import { append, button, clear, dl, errorText, h, plural, s, when } from "./dom.js";
import { clock, faceBox, faceLabel, span, videoPlayer } from "./player.js";
import { zoomable } from "./zoom.js";

const TYPING = "input, textarea, select, [contenteditable]";
// px at the foot of a video where its own controls are (the scrub bar): no swipe starts there.
const VIDEO_CONTROLS = 64;

export async function viewerPage(ctx) {
  const { main } = ctx;
  const first = ctx.params.id;
  if (!/^\d+$/.test(first)) {
    main.append(h("h1", { text: "Photo" }));
    throw new Error(`No photo ${first}: a photo's number has only digits.`);
  }
  document.body.classList.add("viewing");
  ctx.onCleanup(() => document.body.classList.remove("viewing"));

  const state = { photo: null, faces: false, info: false, zoom: null, player: null, token: 0 };
  const title = h("h1", { class: "viewer-title", tabindex: "-1", text: "Photo" });
  const subtitle = h("p", { class: "viewer-subtitle" });
  const status = h("p", { class: "visually-hidden", role: "status" });
  const stage = h("div", { class: "viewer-stage" });
  const problem = h("p", { class: "viewer-problem", role: "alert", hidden: true });
  const tool = (text, label, keys, run) =>
    button(text, {
      class: "viewer-tool",
      "aria-label": label,
      "aria-keyshortcuts": keys,
      title: keys ? `${label} (${keys})` : label,
      onclick: run,
    });
  const back = tool("← Back", "Close the viewer", "Escape", () => close());
  const facesButton = tool("Faces", "Show face boxes", "F", () => toggleFaces());
  facesButton.setAttribute("aria-pressed", "false");
  const zoomOut = tool("−", "Zoom out", "-", () => state.zoom?.zoomOut());
  const zoomIn = tool("+", "Zoom in", "+", () => state.zoom?.zoomIn());
  const infoButton = tool("Info", "Show details", "I", () => toggleInfo());
  infoButton.setAttribute("aria-pressed", "false");
  const download = h("a", {
    class: "viewer-tool",
    download: "",
    text: "Download",
    "aria-label": "Download the original",
  });
  const remove = ctx.can("upload")
    ? tool("Delete", "Move to the trash", "Delete", () => trash())
    : null;
  const prevButton = tool("‹", "Previous photo", "ArrowLeft", () => step(-1));
  const nextButton = tool("›", "Next photo", "ArrowRight", () => step(1));
  prevButton.classList.add("viewer-step", "viewer-prev");
  nextButton.classList.add("viewer-step", "viewer-next");
  const info = h("aside", {
    class: "viewer-info",
    id: "viewer-info",
    "aria-labelledby": "viewer-info-h",
    hidden: true,
  });
  infoButton.setAttribute("aria-controls", "viewer-info");
  const root = h(
    "section",
    { class: "viewer", "aria-label": "Photo viewer", tabindex: "-1" },
    h(
      "div",
      { class: "viewer-bar" },
      back,
      h("div", { class: "viewer-heading" }, title, subtitle),
      h(
        "div",
        { class: "viewer-tools", role: "toolbar", "aria-label": "Photo" },
        facesButton,
        zoomOut,
        zoomIn,
        infoButton,
        download,
        remove,
      ),
    ),
    h("div", { class: "viewer-body" }, stage, prevButton, nextButton, info),
    problem,
    status,
  );
  main.append(root);

  // --- opening a photo ----------------------------------------------------------------------
  async function show(id, { t = null, face = null } = {}) {
    const token = ++state.token;
    const photo = await get(`/photos/${id}`, { signal: ctx.signal });
    if (token !== state.token || !ctx.isCurrent()) return;
    teardown();
    state.photo = photo;
    const video = photo.media === "video";
    document.title = `${photo.name} · Regard`;
    title.textContent = photo.name;
    const meta = photo.metadata;
    subtitle.textContent = [
      video ? `Video, ${clock(photo.duration)}` : null,
      meta?.taken_at ? when(meta.taken_at) : "No date",
      photo.faces.length ? plural(photo.faces.length, "face") : "No faces found",
    ]
      .filter(Boolean)
      .join(" · ");
    download.href = `/api/photos/${photo.id}/original`;
    // The file as it is shows an opted-out face unblurred: the server gives it to owners only.
    state.restricted =
      !ctx.can("settings") && photo.faces.some((f) => f.face_data === "opted_out");
    download.hidden = state.restricted;
    prevButton.hidden = photo.prev === null || photo.prev === undefined;
    nextButton.hidden = photo.next === null || photo.next === undefined;
    zoomIn.hidden = video;
    zoomOut.hidden = video;
    problem.hidden = true;
    clear(stage);
    if (photo.status !== "indexed" && !meta) {
      showProblem(photo.error || `This file could not be used (${photo.status}).`);
    } else if (video) {
      state.player = videoPlayer(photo, {
        playable: !state.restricted,
        start: t,
        faceId: face,
        facesShown: () => state.faces,
        onPick: pickFace,
        onProblem: showProblem,
      });
      stage.append(state.player.el);
      videoSwipes(state.player.el, state.player.video, (dir) => step(dir));
    } else {
      stage.append(photoView(photo));
    }
    renderInfo();
    preload(photo.prev);
    preload(photo.next);
  }

  /** On a phone, a sideways swipe over a video goes to the next or previous, as over a
   * photo; one that starts on the video's own controls (the scrub bar, at its foot) or that
   * seeks it is the player's, never a swipe. */
  function videoSwipes(el, video, onSwipe) {
    let start = null;
    el.addEventListener(
      "touchstart",
      (e) => {
        const t = e.touches[0];
        const foot = video.getBoundingClientRect().bottom - VIDEO_CONTROLS;
        start = e.touches.length === 1 && t.clientY < foot ? { x: t.clientX, y: t.clientY } : null;
      },
      { passive: true },
    );
    video.addEventListener("seeking", () => {
      if (start) start.seeked = true;
    });
    el.addEventListener("touchcancel", () => (start = null), { passive: true });
    el.addEventListener(
      "touchend",
      (e) => {
        const from = start;
        start = null;
        if (!from || from.seeked || e.touches.length) return;
        const t = e.changedTouches[0];
        const dx = t.clientX - from.x;
        const dy = t.clientY - from.y;
        if (Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) onSwipe(dx < 0 ? 1 : -1);
      },
      { passive: true },
    );
  }

  function photoView(photo) {
    const { width, height } = photo.metadata;
    const svg = s("svg", {
      class: "viewer-photo",
      role: "img",
      "aria-label": photo.faces.length
        ? `${photo.name}, with ${plural(photo.faces.length, "face")}`
        : photo.name,
      preserveAspectRatio: "xMidYMid meet",
      dataset: { resolution: "screen" },
    });
    const image = s("image", { href: displaySrc(photo.id), x: 0, y: 0, width, height });
    image.setAttribute("preserveAspectRatio", "none");
    const faces = s("g", { class: "viewer-faces" });
    for (const f of photo.faces) faces.append(faceBox(f, f.box, pickFace).el);
    svg.append(image, faces);
    let full = false;
    state.zoom = zoomable(svg, {
      width,
      height,
      onSwipe: (dir) => step(dir),
      onChange: (zoom) => {
        zoomOut.disabled = zoom <= 1.001;
        if (zoom > 1.001 && !full) {
          // Closer than the screen copy: the full-resolution copy, once it has loaded.
          full = true;
          const loader = new Image();
          loader.addEventListener("load", () => {
            image.setAttribute("href", loader.src);
            svg.dataset.resolution = "full";
          });
          loader.src = `/api/photos/${photo.id}/full`;
        }
      },
    });
    requestAnimationFrame(() => state.zoom?.refresh());
    return svg;
  }

  function displaySrc(id) {
    const dpr = window.devicePixelRatio || 1;
    const side = Math.max(window.screen.width, window.screen.height) * dpr;
    return `/api/photos/${id}/image?size=${side > 1100 ? 2048 : 1024}`;
  }

  function preload(id) {
    if (id === null || id === undefined) return;
    const img = new Image();
    img.src = displaySrc(id);
  }

  function teardown() {
    state.zoom?.destroy();
    state.zoom = null;
    state.player?.destroy();
    state.player = null;
  }
  ctx.onCleanup(teardown);

  function showProblem(text) {
    problem.textContent = text;
    problem.hidden = false;
  }

  // --- the info panel -----------------------------------------------------------------------
  function renderInfo() {
    const photo = state.photo;
    const meta = photo.metadata;
    const people = new Map();
    for (const f of photo.faces) {
      if (f.person && !people.has(f.person)) people.set(f.person, f.name);
    }
    const unnamed = photo.faces.filter((f) => !f.person && f.face_data !== "opted_out").length;
    append(clear(info), [
      h("h2", { id: "viewer-info-h", text: "Details" }),
      dl([
        ["Taken", meta?.taken_at ? when(meta.taken_at) : "no date in the file"],
        ["Place", place(meta)],
        ["Camera", meta ? meta.camera || "not recorded" : undefined],
        [
          "Size",
          meta ? `${meta.width} × ${meta.height} px, ${meta.format}` : undefined,
        ],
        ["Length", photo.media === "video" ? clock(photo.duration) : undefined],
        ["File", h("span", { class: "path", text: photo.file || photo.name })],
        [
          "Original",
          state.restricted
            ? "only the library's owners may have it: someone in it opted out"
            : undefined,
        ],
        [
          "On disk",
          photo.path !== photo.file ? h("span", { class: "path", text: photo.path }) : undefined,
        ],
      ]),
      h("h3", { text: "People" }),
      people.size
        ? h(
            "ul",
            { class: "viewer-people" },
            [...people].map(([ref, name]) =>
              h(
                "li",
                {},
                h("a", { href: `/people/${ref}`, text: name || `Unnamed person ${ref}` }),
              ),
            ),
          )
        : h("p", { text: photo.faces.length ? "Nobody named yet." : "No faces found." }),
      unnamed
        ? h("p", { class: "muted", text: `${plural(unnamed, "face")} in no person yet.` })
        : null,
      // A video's moments first: its faces are the same people, each with its naming buttons.
      photo.media === "video" ? momentList(photo) : null,
      faceList(photo),
    ]);
  }

  /** Each face, with what can be said of it here (as on the people pages): who it is, or
   * that it is not the person it is in. The server checks the same rules and says why not. */
  function faceList(photo) {
    if (!photo.faces.length || !ctx.can("edit_people")) return null;
    const said = h("p", { class: "viewer-face-said", role: "alert", hidden: true });
    // In a video, a face is one appearance: said with when it is on screen.
    const when = new Map((photo.moments || []).map((m) => [m.face_id, span(m.start, m.end)]));
    const items = photo.faces.map((f, i) => {
      const number = `Face ${i + 1}`;
      if (f.face_data !== "kept") {
        // Opted out, withdrawn, erased, expired: no crop shown, and never named.
        return h(
          "li",
          { class: "viewer-face-row" },
          h("span", { class: "viewer-face-none", "aria-hidden": "true" }),
          h(
            "div",
            { class: "viewer-face-text" },
            h("strong", { text: number }),
            h("span", { class: "muted", text: notNameable(f.face_data) }),
          ),
        );
      }
      const who = f.person ? f.name || `Unnamed person ${f.person}` : "In no person";
      const name = button("Name…", {
        class: "small",
        "aria-label": `Name ${number.toLowerCase()}: who is this?`,
        onclick: () => pickFace(f, name),
      });
      const notThem = f.person
        ? button(`Not ${f.name || "this person"}`, {
            class: "small",
            "aria-label": `${number} is not ${who}: take it out of them for good`,
            onclick: () => notThisPerson(f, who, notThem, said),
          })
        : null;
      return h(
        "li",
        { class: "viewer-face-row", dataset: { face: f.face_id } },
        h("img", {
          class: "face-crop",
          src: `/api/faces/${f.face_id}/crop`,
          alt: "",
          width: 48,
          height: 48,
          loading: "lazy",
        }),
        h(
          "div",
          { class: "viewer-face-text" },
          h(
            "strong",
            {},
            number,
            h("span", { class: "muted", text: ` (${f.face})` }),
            when.has(f.face_id)
              ? h("span", { class: "muted", text: ` · ${when.get(f.face_id)}` })
              : null,
          ),
          f.person ? h("a", { href: `/people/${f.person}`, text: who }) : h("span", { text: who }),
        ),
        h("div", { class: "viewer-face-actions" }, name, notThem),
      );
    });
    return [
      h("h3", { text: "Faces" }),
      h("ol", { class: "viewer-face-list", "aria-label": "Faces in this photo" }, items),
      said,
    ];
  }

  function notNameable(faceData) {
    if (faceData === "opted_out") return "someone who opted out of being recognised";
    if (faceData === "withdrawn") return "consent withdrawn: cannot be named";
    if (faceData === "erased") return "erased at their request: cannot be named";
    if (faceData === "expired") return "removed under the retention rule: cannot be named";
    return "cannot be named: this library needs their consent first";
  }

  async function notThisPerson(face, who, control, said) {
    control.disabled = true;
    said.hidden = true;
    let out;
    try {
      out = await post(`/faces/F${face.face_id}/someone-else`);
    } catch (err) {
      control.disabled = false;
      said.textContent = `${who}: not changed. ${errorText(err)}`;
      said.hidden = false;
      return;
    }
    await reload();
    info.querySelector(`.viewer-face-row[data-face="${face.face_id}"] button`)?.focus();
    ctx.announce(out.text, {
      label: "Undo",
      run: async () => {
        const back = await post("/people/undo", { json: { entry: out.undo } });
        await reload();
        ctx.announce(`Undone: ${back.text}`);
      },
    });
  }

  function momentList(photo) {
    if (!photo.moments.length) return h("p", { text: "Nobody's face was found in this video." });
    return [
      h("h3", { text: "Moments" }),
      h(
        "ol",
        { class: "viewer-moments" },
        photo.moments.map((m) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "link-button",
                onclick: () => {
                  state.player?.seek(m.start, m.face_id);
                  const url = `/photos/${photo.id}?t=${m.start}&face=${m.face_id}`;
                  window.history.replaceState(window.history.state, "", url);
                },
              },
              h("span", { class: "visually-hidden", text: "Play from " }),
              `${span(m.start, m.end)} · ${who(m)}`,
            ),
          ),
        ),
      ),
    ];
  }

  function who(m) {
    if (m.face_data === "opted_out") return "someone who opted out";
    return m.name || (m.person ? `Unnamed person ${m.person}` : "unnamed face");
  }

  function place(meta) {
    if (!meta) return undefined;
    if (meta.latitude === null || meta.latitude === undefined) return "not recorded";
    const lat = `${Math.abs(meta.latitude).toFixed(5)}° ${meta.latitude >= 0 ? "N" : "S"}`;
    const lon = `${Math.abs(meta.longitude).toFixed(5)}° ${meta.longitude >= 0 ? "E" : "W"}`;
    return `${lat}, ${lon}`;
  }

  // --- actions ------------------------------------------------------------------------------
  // Toggle buttons keep their name; aria-pressed says whether they are on.
  function toggleFaces(on = !state.faces) {
    state.faces = on;
    root.classList.toggle("faces-on", on);
    facesButton.setAttribute("aria-pressed", String(on));
    state.player?.redraw();
    status.textContent = on ? "Face boxes shown." : "Face boxes hidden.";
  }

  function toggleInfo(on = !state.info) {
    state.info = on;
    info.hidden = !on;
    root.classList.toggle("info-on", on);
    infoButton.setAttribute("aria-pressed", String(on));
    requestAnimationFrame(() => state.zoom?.refresh());
  }

  function pickFace(face, anchor) {
    const photo = state.photo;
    const event = new CustomEvent("regard:name-face", {
      detail: { faceId: face.face_id, photoId: photo.id, anchor, onDone: () => reload() },
      cancelable: true,
    });
    // The naming popover (namer.js) names faces where they are seen; a page without it
    // leads from a face in a person to that person.
    if (!document.dispatchEvent(event)) return;
    if (face.person) ctx.navigate(`/people/${face.person}`);
    else status.textContent = `${faceLabel(face)}: in no person yet.`;
  }

  async function reload() {
    const t = state.player?.video.currentTime;
    await show(state.photo.id, { t: t ?? null });
    if (state.faces) toggleFaces(true);
  }

  // Steps wait for the photo before them to load: its neighbours are known only then, and
  // three quick presses go three photos on.
  let steps = Promise.resolve();
  function step(direction) {
    steps = steps.then(async () => {
      const to = direction < 0 ? state.photo?.prev : state.photo?.next;
      if (to === null || to === undefined) {
        status.textContent = direction < 0 ? "This is the first photo." : "This is the last photo.";
        return;
      }
      // Previous and next replace this page in the history: Escape still goes back to where
      // the viewer was opened from.
      window.history.replaceState(window.history.state, "", `/photos/${to}`);
      await show(to).catch((err) => showProblem(errorText(err)));
    });
  }

  function close() {
    const from = window.history.state?.from;
    if (from && !/^\/(login|setup)\b/.test(from)) window.history.back();
    else ctx.navigate("/library");
  }

  async function trash() {
    const photo = state.photo;
    const body = { photo_ids: [photo.id] };
    try {
      await post("/trash", { json: body });
    } catch (err) {
      ctx.announce(`${photo.name} was not moved to the trash: ${errorText(err)}`, null, {
        error: true,
      });
      return;
    }
    const then = photo.next ?? photo.prev;
    ctx.announce(`Moved ${photo.name} to the trash.`, {
      label: "Undo",
      run: async () => {
        await post("/trash/restore", { json: body });
        ctx.announce(`${photo.name} is back.`);
        window.history.replaceState(window.history.state, "", `/photos/${photo.id}`);
        await show(photo.id);
      },
    });
    if (then === null || then === undefined) {
      close();
      return;
    }
    window.history.replaceState(window.history.state, "", `/photos/${then}`);
    await show(then).catch((err) => showProblem(errorText(err)));
  }

  // --- the keyboard -------------------------------------------------------------------------
  const PAN = 80;
  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest?.(TYPING) || document.querySelector("dialog[open]")) return;
    const inVideo = e.target.tagName === "VIDEO";
    const zoomed = state.zoom && state.zoom.zoom > 1.001;
    const act = {
      ArrowLeft: () => (zoomed ? state.zoom.panBy(PAN, 0) : step(-1)),
      ArrowRight: () => (zoomed ? state.zoom.panBy(-PAN, 0) : step(1)),
      ArrowUp: zoomed ? () => state.zoom.panBy(0, PAN) : null,
      ArrowDown: zoomed ? () => state.zoom.panBy(0, -PAN) : null,
      Escape: () => (zoomed ? state.zoom.reset() : close()),
      f: () => toggleFaces(),
      F: () => toggleFaces(),
      i: () => toggleInfo(),
      I: () => toggleInfo(),
      "+": () => state.zoom?.zoomIn(),
      "=": () => state.zoom?.zoomIn(),
      "-": () => state.zoom?.zoomOut(),
      0: () => state.zoom?.reset(),
      Delete: remove ? () => trash() : null,
    }[e.key];
    if (!act || (inVideo && e.key.startsWith("Arrow"))) return;
    e.preventDefault();
    act();
  }
  document.addEventListener("keydown", onKey);
  ctx.onCleanup(() => document.removeEventListener("keydown", onKey));

  const t = Number.parseFloat(ctx.query.get("t"));
  const face = Number.parseInt(ctx.query.get("face"), 10);
  await show(first, {
    t: Number.isFinite(t) ? t : null,
    face: Number.isFinite(face) ? face : null,
  });
}
