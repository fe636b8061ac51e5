// Selecting several photos of the timeline, and what can be done with them: download the
// originals (a zip), share anonymised copies, name a face in them, delete them (to the trash,
// with Undo).
//
// A photo is selected with its checkbox (shown on hover and focus), by Space on a focused
// photo, or — once something is selected — by a click; Shift-click selects the range from
// the last photo chosen.

import { post } from "./api.js";
import { button, errorText, h, plural } from "./dom.js";

/** Trash these photos; the answer says how many moved. The Undo restores them. */
export async function toTrash(ctx, ids, after) {
  const out = await post("/trash", { json: { photo_ids: ids } });
  after();
  ctx.announce(`${plural(out.changed, "item")} moved to the trash.`, {
    label: "Undo",
    run: async () => {
      const back = await post("/trash/restore", { json: { photo_ids: out.photo_ids } });
      after();
      ctx.announce(`${plural(back.changed, "item")} restored.`);
    },
  });
}

export function selection(ctx, { container, order, removed }) {
  const chosen = new Set();
  let anchor = null;
  const count = h("span", { class: "tl-selcount", "aria-live": "polite" });
  const download = button("Download", { class: "small" });
  const share = button("Share anonymised", { class: "small" });
  const faces = button("Name a face in these", { class: "small" });
  const remove = button("Delete", { class: "small danger" });
  const done = button("Clear selection", { class: "small link-button" });
  const bar = h(
    "div",
    { class: "tl-selbar", role: "region", "aria-label": "Selected photos", hidden: true },
    count,
    h("div", { class: "tl-selactions" }, download, share, faces, ctx.can("upload") ? remove : null, done),
  );
  document.body.append(bar);
  ctx.onCleanup(() => bar.remove());

  function show() {
    bar.hidden = chosen.size === 0;
    count.textContent = `${plural(chosen.size, "item")} selected`;
    container.classList.toggle("selecting", chosen.size > 0);
    for (const cell of container.querySelectorAll(".tl-cell")) {
      const on = chosen.has(Number(cell.dataset.id));
      cell.classList.toggle("selected", on);
      cell.querySelector(".tl-check")?.setAttribute("aria-checked", on ? "true" : "false");
    }
  }

  function toggle(id, range) {
    if (range && anchor !== null) {
      const ids = order();
      const a = ids.indexOf(anchor);
      const b = ids.indexOf(id);
      if (a >= 0 && b >= 0) {
        const on = !chosen.has(id) || chosen.has(anchor);
        for (const x of ids.slice(Math.min(a, b), Math.max(a, b) + 1)) {
          if (on) chosen.add(x);
          else chosen.delete(x);
        }
        anchor = id;
        show();
        return;
      }
    }
    if (chosen.has(id)) chosen.delete(id);
    else chosen.add(id);
    anchor = id;
    show();
  }

  function clearAll() {
    chosen.clear();
    anchor = null;
    show();
  }

  container.addEventListener("click", (event) => {
    const check = event.target.closest(".tl-check");
    const link = event.target.closest(".tl-link");
    if (check) {
      event.preventDefault();
      toggle(Number(check.dataset.id), event.shiftKey);
    } else if (link && (chosen.size > 0 || event.shiftKey)) {
      // Selecting: a click chooses the photo instead of opening it.
      event.preventDefault();
      event.stopPropagation();
      toggle(Number(link.dataset.id), event.shiftKey);
    }
  }, true);
  container.addEventListener("keydown", (event) => {
    const link = event.target.closest(".tl-link");
    if (link && event.key === " ") {
      event.preventDefault();
      toggle(Number(link.dataset.id), event.shiftKey);
    }
  });
  const onKey = (event) => {
    if (event.key === "Escape" && chosen.size && !document.querySelector("dialog[open]")) {
      clearAll();
    }
  };
  document.addEventListener("keydown", onKey);
  ctx.onCleanup(() => document.removeEventListener("keydown", onKey));

  const ids = () => [...chosen];
  download.addEventListener("click", () => {
    const a = h("a", { href: `/api/originals.zip?ids=${ids().join(",")}`, download: "" });
    document.body.append(a);
    a.click();
    a.remove();
    ctx.announce(`Downloading ${plural(chosen.size, "original")} as a zip.`);
  });
  share.addEventListener("click", () => ctx.navigate(`/share?photos=${ids().join(",")}`));
  faces.addEventListener("click", () => {
    const photoIds = ids();
    const event = new CustomEvent("regard:name-faces-in", {
      detail: { photoIds, onDone: () => clearAll() },
      cancelable: true,
    });
    document.dispatchEvent(event);
    if (!event.defaultPrevented) ctx.announce("Open a photo to name its faces.");
  });
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      const gone = ids();
      await toTrash(ctx, gone, () => removed());
      clearAll();
    } catch (err) {
      ctx.announce(errorText(err), null, { error: true });
    } finally {
      remove.disabled = false;
    }
  });
  done.addEventListener("click", clearAll);

  return { has: (id) => chosen.has(id), clear: clearAll, ids };
}
