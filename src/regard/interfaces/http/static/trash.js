// The trash: what was deleted, when it goes for good and what happens to its file then;
// restore, or delete for good (asked first, saying how many and what happens to the files).

import { get, post } from "./api.js";
import { ask } from "./dialog.js";
import { button, clear, errorText, h, plural, when } from "./dom.js";
import { duration } from "./timeline.js";

const PAGE = 200;

function day(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** What deleting these for good does to their files, in words. */
function fate(items) {
  const ours = items.filter((i) => i.file_deleted).length;
  const theirs = items.length - ours;
  const parts = [];
  if (ours) {
    parts.push(`${plural(ours, "file")} added through the web app will be deleted from the disk`);
  }
  if (theirs) {
    parts.push(
      `${plural(theirs, "file")} in your own folders will stay on the disk, ` +
        "but will not be added to the library again",
    );
  }
  return parts.join("; ");
}

export async function trashPage(ctx) {
  const { main, signal } = ctx;
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "/library", text: "Library" })),
    h("h1", { text: "Trash" }),
  );
  const intro = h("p", { class: "subtitle" });
  const live = h("p", { role: "status", class: "trash-live" });
  const grid = h("ul", { class: "trash-grid", "aria-label": "Deleted photos and videos" });
  const chosen = new Set();
  const restoreSel = button("Restore selected", { class: "small", disabled: true });
  const deleteSel = button("Delete selected for good", { class: "small danger", disabled: true });
  const emptyAll = button("Empty the trash", { class: "small danger" });
  const canEmpty = ctx.can("erase");
  const actions = h(
    "div",
    { class: "row-actions trash-actions" },
    ctx.can("upload") ? restoreSel : null,
    canEmpty ? deleteSel : null,
    canEmpty ? emptyAll : null,
  );
  main.append(intro, actions, live, grid);

  let items = [];
  let total = 0;

  function sync() {
    restoreSel.disabled = deleteSel.disabled = chosen.size === 0;
    restoreSel.textContent = chosen.size ? `Restore ${chosen.size}` : "Restore selected";
    deleteSel.textContent = chosen.size
      ? `Delete ${chosen.size} for good`
      : "Delete selected for good";
    emptyAll.disabled = total === 0;
  }

  function card(item) {
    const box = h("input", {
      type: "checkbox",
      id: `trash-${item.id}`,
      checked: chosen.has(item.id),
    });
    box.addEventListener("change", () => {
      if (box.checked) chosen.add(item.id);
      else chosen.delete(item.id);
      sync();
    });
    const restore = button("Restore", { class: "small", "aria-label": `Restore ${item.name}` });
    restore.addEventListener("click", () => restoreIds([item.id]));
    const img = h("img", {
      src: item.thumbnail,
      alt: "",
      loading: "lazy",
      decoding: "async",
      width: item.width || 256,
      height: item.height || 256,
    });
    return h(
      "li",
      { class: "trash-card", dataset: { id: item.id } },
      h(
        "label",
        { for: box.id, class: "trash-pick" },
        img,
        item.kind === "video"
          ? h("span", { class: "tl-duration", text: duration(item.duration) })
          : null,
      ),
      h(
        "div",
        { class: "trash-text" },
        h("span", { class: "trash-check" }, box, h("label", { for: box.id, text: item.name })),
        h("span", { class: "muted", text: `Deleted ${day(item.trashed_at)}; goes for good ${day(item.empties_at)}` }),
        h("span", {
          class: "muted",
          text: item.file_deleted
            ? "Its file will be deleted then (added through the web app)."
            : "Its file stays in your folder; it will not be added again.",
        }),
        item.date ? h("span", { class: "muted", text: `Taken ${when(item.date)}` }) : null,
        ctx.can("upload") ? restore : null,
      ),
    );
  }

  async function load() {
    const page = await get("/trash", { params: { limit: PAGE }, signal });
    items = page.photos;
    total = page.total;
    for (const id of [...chosen]) if (!items.some((i) => i.id === id)) chosen.delete(id);
    intro.textContent = total
      ? `${plural(total, "photo or video", "photos and videos")} deleted. Each is deleted for ` +
        `good ${page.days} days after it was put here; until then it can be restored as it was.`
      : `The trash is empty. What you delete stays here ${page.days} days, then goes for good.`;
    clear(grid).append(...items.map(card));
    if (total > items.length) {
      grid.append(h("li", { class: "muted", text: `and ${total - items.length} more` }));
    }
    sync();
  }

  async function restoreIds(ids) {
    try {
      const out = await post("/trash/restore", { json: { photo_ids: ids } });
      live.textContent = `${plural(out.changed, "item")} restored to the library.`;
      await load();
    } catch (err) {
      live.textContent = errorText(err);
    }
  }

  async function deleteForGood(ids) {
    const list = ids ? items.filter((i) => ids.includes(i.id)) : items;
    const count = ids ? ids.length : total;
    const ok = await ask({
      title: `Delete ${plural(count, "item")} for good?`,
      body: h(
        "div",
        {},
        h("p", {
          text:
            "Their faces, face data and thumbnails are deleted and cannot be restored. " +
            (fate(list) ? `${fate(list)}.` : ""),
        }),
        h("p", { text: "People who were erased stay erased." }),
      ),
      confirm: `Delete ${plural(count, "item")} for good`,
      danger: true,
    });
    if (!ok) return;
    try {
      const out = await post("/trash/empty", { json: ids ? { photo_ids: ids } : {} });
      chosen.clear();
      live.textContent =
        `Deleted ${plural(out.photos, "item")} for good: ${plural(out.files_deleted, "file")} ` +
        `deleted, ${plural(out.files_left, "file")} left in your folders.`;
      await load();
    } catch (err) {
      live.textContent = errorText(err);
    }
  }

  restoreSel.addEventListener("click", () => restoreIds([...chosen]));
  deleteSel.addEventListener("click", () => deleteForGood([...chosen]));
  emptyAll.addEventListener("click", () => deleteForGood(null));
  await load();
}
