// Zoom and pan for the viewer's photo, by changing what part of the photo its SVG shows (its
// viewBox): the photo and its face boxes move together, and nothing needs an inline style
// (the Content Security Policy refuses them). Zoom 1 fits the photo in the screen; the largest
// zoom shows it at twice its full resolution. Mouse: a click toggles fit / full size at the
// point clicked, the wheel zooms, dragging pans. Touch: double tap, pinch, drag; a swipe
// at zoom 1 is left to the viewer (previous / next).

const STEP = 1.5;

/**
 * Zoom for `svg` showing a photo of `width` x `height` pixels. `onChange(zoom)` runs after
 * each change; `onSwipe(direction)` (-1: to the previous, 1: to the next) for a swipe at fit.
 */
export function zoomable(svg, { width, height, onChange, onSwipe }) {
  let zoom = 1;
  let cx = width / 2;
  let cy = height / 2;

  const stage = () => {
    const r = svg.getBoundingClientRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height), left: r.left, top: r.top };
  };
  // Screen pixels per photo pixel when the photo fits.
  const fitScale = () => {
    const { w, h } = stage();
    return Math.min(w / width, h / height);
  };
  // Zoom at which one photo pixel is one device pixel (or twice the fit, for a small photo).
  const fullZoom = () => Math.max(2, 1 / fitScale() / (window.devicePixelRatio || 1));
  const maxZoom = () => fullZoom() * 2;

  function apply() {
    const { w, h } = stage();
    const scale = fitScale() * zoom;
    const vw = w / scale;
    const vh = h / scale;
    // Keep the photo on the screen: its centre may not leave the part it can cover.
    cx = vw >= width ? width / 2 : Math.min(Math.max(cx, vw / 2), width - vw / 2);
    cy = vh >= height ? height / 2 : Math.min(Math.max(cy, vh / 2), height - vh / 2);
    svg.setAttribute("viewBox", `${cx - vw / 2} ${cy - vh / 2} ${vw} ${vh}`);
    svg.classList.toggle("zoomed", zoom > 1.001);
    if (onChange) onChange(zoom);
  }

  /** The photo pixel under a point of the screen. */
  function photoPoint(clientX, clientY) {
    const { w, h, left, top } = stage();
    const scale = fitScale() * zoom;
    return { x: cx + (clientX - left - w / 2) / scale, y: cy + (clientY - top - h / 2) / scale };
  }

  /** Zoom to `to`, keeping the photo pixel under (clientX, clientY) where it is. */
  function zoomTo(to, clientX, clientY) {
    const next = Math.min(Math.max(to, 1), maxZoom());
    if (clientX !== undefined) {
      const p = photoPoint(clientX, clientY);
      const ratio = zoom / next;
      cx = p.x - (p.x - cx) * ratio;
      cy = p.y - (p.y - cy) * ratio;
    }
    zoom = next;
    apply();
  }

  function panBy(dx, dy) {
    const scale = fitScale() * zoom;
    cx -= dx / scale;
    cy -= dy / scale;
    apply();
  }

  // --- pointers: drag to pan, pinch to zoom, double click / tap to toggle, swipe at fit ----
  const pointers = new Map();
  let pinch = null;
  let swipe = null;
  let lastTap = 0;

  svg.addEventListener("pointerdown", (e) => {
    if (e.target.closest(".viewer-face")) return; // a face box is a button
    svg.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { distance: Math.hypot(a.x - b.x, a.y - b.y), zoom };
      swipe = null;
    } else {
      swipe = { x: e.clientX, y: e.clientY };
    }
  });
  svg.addEventListener("pointermove", (e) => {
    const was = pointers.get(e.pointerId);
    if (!was) return;
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      zoomTo((pinch.zoom * d) / Math.max(1, pinch.distance), (a.x + b.x) / 2, (a.y + b.y) / 2);
    } else if (zoom > 1.001) {
      panBy(e.clientX - was.x, e.clientY - was.y);
    }
  });
  const release = (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (swipe && e.type === "pointerup") {
      const dx = e.clientX - swipe.x;
      const dy = e.clientY - swipe.y;
      // At fit a drag moves nothing: however slow, a mostly sideways one is a swipe.
      if (zoom <= 1.001 && Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) {
        if (onSwipe) onSwipe(dx < 0 ? 1 : -1);
      } else if (Math.hypot(dx, dy) < 10 && e.pointerType !== "touch") {
        toggle(e.clientX, e.clientY); // a click, not a drag
      } else if (Math.hypot(dx, dy) < 10) {
        const now = performance.now();
        if (now - lastTap < 350) {
          toggle(e.clientX, e.clientY);
          lastTap = 0;
        } else {
          lastTap = now;
        }
      }
    }
    swipe = null;
  };
  svg.addEventListener("pointerup", release);
  svg.addEventListener("pointercancel", release);
  svg.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      zoomTo(zoom * (e.deltaY < 0 ? 1.2 : 1 / 1.2), e.clientX, e.clientY);
    },
    { passive: false },
  );
  const onResize = () => apply();
  window.addEventListener("resize", onResize);

  function toggle(clientX, clientY) {
    if (zoom > 1.001) zoomTo(1);
    else zoomTo(fullZoom(), clientX, clientY);
  }

  apply();
  return {
    get zoom() {
      return zoom;
    },
    zoomIn: () => zoomTo(zoom * STEP),
    zoomOut: () => zoomTo(zoom / STEP),
    reset: () => zoomTo(1),
    full: () => zoomTo(fullZoom()),
    panBy,
    refresh: apply,
    destroy: () => window.removeEventListener("resize", onResize),
  };
}
