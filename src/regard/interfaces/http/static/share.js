// Share safely: anonymised copies of library photos (a zip) and of any one photo.
// The same library calls as `regard export` and `regard anonymise`; nothing is kept.

import { post } from "./api.js";
import { field, form, h, input, messageArea, offerDownload, select } from "./dom.js";

const BLUR_MODES = [
  ["unconsented", "Everyone who has not agreed (recommended)"],
  ["all-but", "Everyone but the people named below"],
  ["all", "Everyone"],
  ["none", "Nobody (metadata is still removed)"],
];
const METHODS = [
  ["gaussian", "Gaussian blur"],
  ["mosaic", "Mosaic"],
  ["solid", "Solid fill"],
];

function names(text) {
  return text
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
}

function exportSection(ctx, params) {
  const msg = messageArea();
  const folder = input({ name: "folder", value: params.get("folder") || "" });
  const person = input({ name: "person", value: params.get("person") || "" });
  const mode = select({ name: "blur" }, BLUR_MODES, "unconsented");
  const visible = input({ name: "visible" });
  const method = select({ name: "method" }, METHODS, "gaussian");
  const rename = h("input", { type: "checkbox", name: "rename", id: "export-rename" });
  const keepDate = h("input", { type: "checkbox", name: "keep-date", id: "export-keep-date" });
  const area = h("div", { class: "download" });
  return h(
    "section",
    { class: "panel", id: "export", "aria-labelledby": "export-h" },
    h("h2", { id: "export-h", text: "Export anonymised copies" }),
    h("p", {
      class: "hint",
      text:
        "Copies of library photos with faces blurred (the whole head, at full size) and no " +
        "metadata: no location, camera serial number or thumbnail. A face whose owner opted " +
        "out, or that the library cannot name, is always blurred. Originals are not touched.",
    }),
    form(
      {},
      [
        field("Folder", folder, "A folder of the library: its photos and those under it."),
        field("Person", person, "Or everyone's photos of this person (needs their consent)."),
        field("Blur", mode),
        field("Stay recognisable", visible, "For “everyone but”: names, separated by commas."),
        field("Method", method),
        h(
          "div",
          { class: "check" },
          rename,
          h("label", { for: rename.id, text: "Name the copies photo-0001… (a file name can name a person)" }),
        ),
        h(
          "div",
          { class: "check" },
          keepDate,
          h("label", { for: keepDate.id, text: "Keep the date the photo was taken" }),
        ),
        h("button", { type: "submit", class: "primary", text: "Export" }),
        msg.el,
      ],
      async () => {
        const body = {
          folders: folder.value.trim() ? [folder.value.trim()] : [],
          people: person.value.trim() ? [person.value.trim()] : [],
          blur: mode.value,
          visible: names(visible.value),
          method: method.value,
          rename: rename.checked,
          keep: keepDate.checked ? ["DateTimeOriginal"] : [],
        };
        if (!body.folders.length && !body.people.length) {
          throw new Error("Say what to export: a folder of the library or a person.");
        }
        msg.ok("Blurring and writing the copies…");
        const blob = await post("/export", { json: body, blob: true });
        offerDownload(ctx, area, blob, "regard-export.zip");
        msg.ok("The copies are ready: the zip holds them and report.json.");
      },
      msg,
    ),
    area,
  );
}

function anonymiseSection(ctx) {
  const msg = messageArea();
  const photo = h("input", { type: "file", name: "photo", accept: "image/*" });
  const method = select({ name: "method" }, METHODS, "gaussian");
  const area = h("div", { class: "download" });
  return h(
    "section",
    { class: "panel", id: "anonymise", "aria-labelledby": "anonymise-h" },
    h("h2", { id: "anonymise-h", text: "Anonymise one photo" }),
    h("p", {
      class: "hint",
      text: "Every face in the photo blurred, no metadata. The photo is not kept or indexed.",
    }),
    form(
      {},
      [
        field("Photo", photo),
        field("Method", method),
        h("button", { type: "submit", class: "primary", text: "Anonymise" }),
        msg.el,
      ],
      async () => {
        const file = photo.files[0];
        if (!file) throw new Error("Choose a photo first.");
        const data = new FormData();
        data.append("photo", file);
        data.append("method", method.value);
        msg.ok("Blurring every face…");
        const blob = await post("/anonymise", { form: data, blob: true });
        const ext = blob.type === "image/png" ? "png" : blob.type === "image/webp" ? "webp" : "jpg";
        const stem = file.name.replace(/\.[^.]*$/, "") || "photo";
        offerDownload(ctx, area, blob, `${stem}-anonymised.${ext}`);
        msg.ok(`${file.name}: every face blurred.`);
      },
      msg,
    ),
    area,
  );
}

export async function sharePage(ctx) {
  const { main, query } = ctx;
  main.append(
    h("h1", { text: "Share safely" }),
    h("p", {
      class: "lead",
      text: "Copies to send or post, with the faces of people who did not agree blurred.",
    }),
    exportSection(ctx, query),
    anonymiseSection(ctx),
  );
}
