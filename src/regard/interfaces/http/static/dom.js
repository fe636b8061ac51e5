// Building the page from data without ever parsing data as HTML (no innerHTML anywhere), and
// the small pieces every page shares: form fields, messages, SVG face boxes.

const SVG = "http://www.w3.org/2000/svg";
const PROPERTIES = new Set(["value", "checked", "selected", "disabled", "hidden", "multiple"]);

function apply(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.setAttribute("class", [].concat(value).filter(Boolean).join(" "));
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") Object.assign(el.dataset, value);
    else if (PROPERTIES.has(key) && el.namespaceURI !== SVG) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("a", {href: "/x", class: "b"}, "text", child). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  return append(el, children);
}

/** An SVG element. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG, tag);
  apply(el, props);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled input (or select/textarea given as `control`), with an optional hint. */
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const parts = [h("label", { for: id, text: label })];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId, text: hint }));
  }
  parts.push(control);
  return h("div", { class: "field" }, parts);
}

export function input(props) {
  return h("input", { type: "text", ...props });
}

export function select(props, options, selected) {
  const el = h("select", props);
  for (const opt of options) {
    const [value, label] = Array.isArray(opt) ? opt : [opt, opt];
    el.append(h("option", { value, text: label, selected: String(value) === String(selected) }));
  }
  return el;
}

/** A group of checkboxes in a fieldset with a legend. */
export function checkboxes(legend, name, options, checked = []) {
  return h(
    "fieldset",
    { class: "checks" },
    h("legend", { text: legend }),
    options.map(([value, label]) => {
      const id = uid(name);
      return h(
        "div",
        { class: "check" },
        h("input", { type: "checkbox", id, name, value, checked: checked.includes(value) }),
        h("label", { for: id, text: label }),
      );
    }),
  );
}

export function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

export function button(text, props = {}) {
  return h("button", { type: "button", ...props, text });
}

/** A message area for a form: errors are announced at once (role=alert), successes politely. */
export function messageArea() {
  const el = h("div", { class: "messages" });
  return {
    el,
    error(err) {
      clear(el);
      el.append(h("p", { class: "error", role: "alert", text: errorText(err) }));
    },
    ok(text) {
      clear(el);
      el.append(h("p", { class: "ok", role: "status", text }));
    },
    clear() {
      clear(el);
    },
  };
}

export function errorText(err) {
  if (err && err.message) return err.message;
  return String(err);
}

/** A form whose submit runs `action`; the submit button is disabled while it runs. */
export function form(props, children, action, messages) {
  const el = h("form", { novalidate: true, ...props }, children);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = el.querySelector('button[type="submit"]');
    if (submit) submit.disabled = true;
    el.setAttribute("aria-busy", "true");
    try {
      if (messages) messages.clear();
      await action(el);
    } catch (err) {
      if (messages) messages.error(err);
      else throw err;
    } finally {
      if (submit) submit.disabled = false;
      el.removeAttribute("aria-busy");
    }
  });
  return el;
}

/** Definition list from [term, value] pairs (values may be nodes). */
export function dl(pairs, props) {
  return h(
    "dl",
    { class: "facts", ...props },
    pairs
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", {}, v ?? "—"))),
  );
}

export function fileName(path) {
  return String(path || "").split(/[\\/]/).pop();
}

export function folderOf(path) {
  const p = String(path || "");
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i > 0 ? p.slice(0, i + 1) : p;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many || `${one}s`}`;
}

export function when(iso) {
  if (!iso) return "undated";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/**
 * A photo with face boxes over it. The boxes are in full-resolution pixels of the upright
 * photo; an SVG with that viewBox, stretched over the displayed image, puts them in place at
 * any display size without a single inline style.
 */
export function framedPhoto({ src, alt, width, height, boxes, imgClass }) {
  const img = h("img", { src, alt, class: imgClass, decoding: "async" });
  if (width && height) {
    img.width = width;
    img.height = height;
  }
  const frame = h("div", { class: "photo-frame" }, img);
  const layer = s("svg", {
    class: "face-layer",
    "aria-hidden": "true",
    focusable: "false",
    preserveAspectRatio: "none",
  });
  frame.append(layer);
  const shapes = new Map();
  const draw = (w, hgt) => {
    clear(layer);
    shapes.clear();
    if (!w || !hgt) return;
    layer.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    const fontSize = Math.max(w, hgt) / 38;
    for (const box of boxes || []) {
      const [x, y, bw, bh] = box.box;
      const g = s("g", { class: ["face-box", box.kind && `face-box-${box.kind}`] });
      g.append(
        s("rect", { class: "face-box-shadow", x, y, width: bw, height: bh }),
        s("rect", { class: "face-box-line", x, y, width: bw, height: bh }),
      );
      if (box.label) {
        const above = y - fontSize * 0.3 > fontSize;
        g.append(
          s("text", {
            class: "face-box-label",
            x: x + 2,
            y: above ? y - fontSize * 0.3 : y + bh + fontSize,
            "font-size": fontSize,
            text: box.label,
          }),
        );
      }
      if (box.onclick) g.addEventListener("click", box.onclick);
      if (box.onclick) g.classList.add("clickable");
      layer.append(g);
      shapes.set(box.key ?? shapes.size, g);
    }
  };
  if (width && height) draw(width, height);
  else img.addEventListener("load", () => draw(img.naturalWidth, img.naturalHeight));
  return {
    el: frame,
    img,
    highlight(key, on) {
      const g = shapes.get(key);
      if (g) g.classList.toggle("active", on);
    },
  };
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new DOMException("aborted", "AbortError"));
    });
  });
}

/** Offer `blob` as a download named `name` in `area` (a link, with its size), and start it. */
export function offerDownload(ctx, area, blob, name) {
  const url = URL.createObjectURL(blob);
  ctx.onCleanup(() => URL.revokeObjectURL(url));
  const link = h("a", { href: url, download: name, class: "button-link", text: `Download ${name}` });
  clear(area).append(link, h("span", { class: "hint", text: ` ${bytes(blob.size)}` }));
  link.click();
}

/** Files chosen with `input` or dropped on `zone` go to `onFiles` (a non-empty array). */
export function acceptFiles(zone, input, onFiles) {
  input.addEventListener("change", () => {
    const chosen = [...input.files];
    input.value = "";
    if (chosen.length) onFiles(chosen);
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const dropped = [...(event.dataTransfer?.files || [])];
    if (dropped.length) onFiles(dropped);
  });
}

