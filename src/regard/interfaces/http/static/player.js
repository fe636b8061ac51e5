// The viewer's video player: the browser's own <video controls> over the API's video route
// (which answers HTTP Range requests, so seeking works), the poster first, and the faces of
// the video's moments boxed while they are on screen. A moment opened from a search or a
// person (`/photos/<id>?t=<seconds>&face=<face id>`) starts the player there, with that face
// boxed for as long as the appearance lasts. Faces of people who opted out are covered.

import { h, s } from "./dom.js";

/** `83.4` -> `00:01:23`, as the command line and the player's own clock show it. */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds || 0));
  const two = (n) => String(n).padStart(2, "0");
  const [hours, minutes] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60)];
  return `${two(hours)}:${two(minutes)}:${two(whole % 60)}`;
}

/** `00:01:23–00:01:31`: the stretch of a moment. */
export function span(start, end) {
  return `${clock(start)}–${clock(end)}`;
}

/** What a face box is called: whose face it is, where the policy lets it be said. */
export function faceLabel(face) {
  if (face.face_data === "opted_out") return "Face of someone who opted out";
  if (face.person) return `Face of ${face.name || `unnamed person ${face.person}`}`;
  return "Unnamed face";
}

/**
 * A face's box in an SVG whose viewBox is in the photo's (or video's) pixels: a button
 * (role, name, Enter and Space) that calls `onPick(face, box)`; an opted-out face is a plain
 * cover, not a button.
 */
export function faceBox(face, box, onPick) {
  const [x, y, w, hgt] = box;
  const opted = face.face_data === "opted_out";
  const g = s("g", {
    class: [
      "viewer-face",
      face.person ? "viewer-face-known" : "",
      opted ? "viewer-face-hidden" : "",
    ],
    dataset: { face: face.face_id },
  });
  const shapes = [
    s("rect", { class: "viewer-face-shadow", x, y, width: w, height: hgt }),
    s("rect", { class: "viewer-face-line", x, y, width: w, height: hgt }),
  ];
  g.append(...shapes);
  if (opted) {
    g.setAttribute("aria-hidden", "true");
  } else {
    g.setAttribute("role", "button");
    g.setAttribute("tabindex", "0");
    g.setAttribute("aria-label", faceLabel(face));
    g.append(s("title", { text: faceLabel(face) }));
    g.addEventListener("click", (e) => {
      e.stopPropagation();
      onPick(face, g);
    });
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        e.stopPropagation();
        onPick(face, g);
      }
    });
    // A face is clicked, not the photo under it: no zoom, no drag.
    g.addEventListener("pointerdown", (e) => e.stopPropagation());
  }
  return {
    el: g,
    move([nx, ny, nw, nh]) {
      for (const r of shapes) {
        r.setAttribute("x", nx);
        r.setAttribute("y", ny);
        r.setAttribute("width", nw);
        r.setAttribute("height", nh);
      }
    },
  };
}

/** The box of a moment at time `t` along its path (`[t, x, y, w, h]` points); null outside. */
export function boxAt(moment, t) {
  if (t < moment.start || t > moment.end) return null;
  const path = moment.path || [];
  if (!path.length) return moment.box;
  if (t <= path[0][0]) return path[0].slice(1);
  for (let i = 1; i < path.length; i += 1) {
    const a = path[i - 1];
    const b = path[i];
    if (t <= b[0]) {
      const f = b[0] > a[0] ? (t - a[0]) / (b[0] - a[0]) : 0;
      return [1, 2, 3, 4].map((k) => a[k] + (b[k] - a[k]) * f);
    }
  }
  return path[path.length - 1].slice(1);
}

/**
 * A player for `photo` (a video's detail), if `playable` (else its poster, and why, through
 * `onProblem`). `start`: seconds to start at (null: the start,
 * paused); `faceId`: the face to box while its moment lasts; `facesShown()`: whether every
 * face is boxed (the viewer's Faces button); `onPick(face, el)`: a face box was chosen;
 * `onProblem(text)`: the browser cannot play it.
 */
export function videoPlayer(photo, { playable, start, faceId, facesShown, onPick, onProblem }) {
  const meta = photo.metadata || {};
  const width = meta.width || 16;
  const height = meta.height || 9;
  const video = h("video", {
    class: "viewer-media",
    controls: true,
    preload: "metadata",
    playsinline: true,
    poster: `/api/photos/${photo.id}/image?size=1024`,
    "aria-label": `Video ${photo.name}`,
  });
  if (playable) video.src = `/api/photos/${photo.id}/media`;
  else {
    onProblem(
      "Someone in this video opted out, so only the library's owners can play it. Its " +
        "poster, with their face blurred, is shown.",
    );
  }
  const layer = s("svg", {
    class: "viewer-overlay",
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  const facesById = new Map(photo.faces.map((f) => [f.face_id, f]));
  let focus = faceId;
  const boxes = photo.moments.map((m) => {
    const face = { ...(facesById.get(m.face_id) || {}), ...m };
    const box = faceBox(face, m.box, onPick);
    box.el.classList.add("off");
    layer.append(box.el);
    return { m, box };
  });

  function draw() {
    const t = video.currentTime;
    const all = facesShown();
    for (const { m, box } of boxes) {
      const at = boxAt(m, t);
      const wanted = m.face_data === "opted_out" || all || m.face_id === focus;
      const on = Boolean(at) && wanted;
      box.el.classList.toggle("off", !on);
      box.el.classList.toggle("viewer-face-focus", m.face_id === focus);
      if (on) box.move(at);
    }
  }
  let frame = 0;
  const loop = () => {
    draw();
    frame = video.paused || video.ended ? 0 : requestAnimationFrame(loop);
  };
  video.addEventListener("play", () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(loop);
  });
  for (const ev of ["seeked", "timeupdate", "loadeddata", "pause"]) {
    video.addEventListener(ev, draw);
  }
  video.addEventListener("error", () => {
    onProblem(
      "This browser cannot play this video's format. Download the original to watch it " +
        "in another player.",
    );
  });

  async function play() {
    try {
      await video.play();
    } catch (err) {
      if (err.name !== "NotAllowedError") return;
      // Browsers let a page start a video by itself only without sound: start it muted,
      // the player's own button turns the sound on.
      video.muted = true;
      await video.play().catch(() => null);
    }
  }

  /** Go to `t` seconds (and box `face`, if given), and play from there. */
  function seek(t, face) {
    if (face !== undefined) focus = face;
    const go = () => {
      video.currentTime = Math.min(Math.max(0, t), Math.max(0, (video.duration || t) - 0.05));
      draw();
      play();
    };
    if (video.readyState >= 1) go();
    else video.addEventListener("loadedmetadata", go, { once: true });
  }

  if (start !== null && start !== undefined && Number.isFinite(start)) seek(start);
  return {
    el: h("div", { class: "viewer-video" }, video, layer),
    video,
    seek,
    redraw: draw,
    destroy() {
      cancelAnimationFrame(frame);
      video.pause();
      video.removeAttribute("src");
      video.load();
    },
  };
}
