// Share safely: anonymised copies of library photos (a zip) and of any one photo.
// The same library calls as `regard export` and `regard anonymise`; nothing is kept.
// Before a zip is made the page shows what will be blurred (POST /api/export/preview: the
// export's own redaction, run on the first photos) and warns when a person chosen by name
// would come out blurred, with the choice to keep them recognisable.

import { get, post } from "./api.js";
import {
  clear,
  field,
  form,
  framedPhoto,
  h,
  input,
  messageArea,
  offerDownload,
  plural,
  select,
} from "./dom.js";

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
const PREVIEW_IMAGES = 3;

function names(text) {
  return text
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
}

/** The preview: warnings with their choices, who is blurred, and the first copies. */
function previewView(result, { keepVisible, exportAnyway }) {
  const files = result.files;
  const blurred = files.reduce((n, f) => n + f.blurred.length, 0);
  const kept = files.reduce((n, f) => n + f.visible.length, 0);
  const parts = [
    h("h3", { text: "What the copies will look like" }),
    h("p", {
      class: "summary",
      text:
        `${plural(result.photos, "photo")}: ${plural(blurred, "head")} blurred, ` +
        `${kept} left as they are` +
        (result.searched < result.photos
          ? ` (the first ${result.searched} searched as the export will; the others from ` +
            "the faces the library holds, and searched again when exported)."
          : "."),
    }),
  ];
  const warned = result.people.filter((p) => p.warning);
  if (warned.length) {
    parts.push(
      h(
        "div",
        { class: "notice warning", role: "alert" },
        warned.map((p) =>
          h(
            "div",
            { class: "warning-item" },
            h("p", { text: p.warning }),
            p.can_stay_visible
              ? h(
                  "div",
                  { class: "row-actions" },
                  h("button", {
                    type: "button",
                    class: "primary",
                    text: `Keep ${p.name} visible`,
                    onclick: () => keepVisible(p.name),
                  }),
                  h("button", {
                    type: "button",
                    text: `Export with ${p.name} blurred`,
                    onclick: exportAnyway,
                  }),
                )
              : h(
                  "p",
                  {},
                  `Under this library's policy ${p.name} can stay recognisable only once their ` +
                    "consent is recorded: ",
                  h("a", {
                    href: `/rights?person=${encodeURIComponent(p.name)}`,
                    text: "Consent & rights",
                  }),
                  ".",
                ),
            p.can_stay_visible
              ? h("p", {
                  class: "hint",
                  text:
                    `Keeping ${p.name} visible is your choice as the library's owner: the ` +
                    "copies leave your hands, so be sure they agree.",
                })
              : null,
          ),
        ),
      ),
    );
  }
  const named = result.people.filter((p) => p.name);
  const unnamed = result.people.filter((p) => !p.name);
  if (result.people.length) {
    const faces = (list) => list.reduce((n, p) => n + p.faces, 0);
    const hidden = unnamed.filter((p) => !p.visible);
    parts.push(
      h(
        "ul",
        { class: "fates plain" },
        named.map((p) =>
          h(
            "li",
            { class: p.visible ? "fate-visible" : "fate-blurred" },
            h("strong", { text: p.name }),
            p.visible
              ? ` (${plural(p.faces, "face")}): stays recognisable.`
              : ` (${plural(p.faces, "face")}): blurred — ${p.reason}.`,
          ),
        ),
        hidden.length
          ? h(
              "li",
              { class: "fate-blurred" },
              h("strong", { text: plural(hidden.length, "person", "people") }),
              ` the library cannot name here (${plural(faces(hidden), "face")}): blurred.`,
            )
          : null,
        unnamed.length > hidden.length
          ? h(
              "li",
              { class: "fate-visible" },
              h("strong", { text: plural(unnamed.length - hidden.length, "person", "people") }),
              " without a name: stay recognisable.",
            )
          : null,
      ),
    );
  }
  const shown = files.filter((f) => f.image);
  if (shown.length) {
    parts.push(
      h(
        "div",
        { class: "preview-grid" },
        shown.map((f) => {
          const photo = framedPhoto({
            src: f.image,
            alt:
              `Preview of ${f.name}: ${plural(f.blurred.length, "head")} blurred, ` +
              `${f.visible.length} left as they are`,
            width: f.width,
            height: f.height,
            boxes: [
              ...f.blurred.map((box) => ({ box, kind: "blurred" })),
              ...f.visible.map((box) => ({ box, kind: "kept", label: "stays" })),
            ],
            imgClass: "preview-img",
          });
          return h("figure", { class: "preview-card" }, photo.el, h("figcaption", { text: f.name }));
        }),
      ),
      h("p", {
        class: "hint",
        text:
          "Dashed outlines: heads blurred. Green outlines: left as they are. The pictures " +
          "are made by the export itself, small, and kept nowhere.",
      }),
    );
  }
  const rest = files.filter((f) => !f.image);
  if (rest.length) {
    parts.push(
      h(
        "ul",
        { class: "preview-list plain" },
        rest.map((f) =>
          h("li", {
            text:
              `${f.name}: ${plural(f.blurred.length, "head")} blurred, ` +
              `${f.visible.length} left as they are` +
              (f.searched ? "." : " (from the faces the library holds)."),
          }),
        ),
      ),
    );
  }
  for (const s of result.skipped) {
    parts.push(h("p", { class: "error", text: `${s.path}: ${s.reason}` }));
  }
  return parts;
}

function exportSection(ctx, params) {
  const msg = messageArea();
  // No autocomplete: the browser's own suggestions would fill (and restyle) empty fields.
  // Suggestions are the library's own folders (as the Library page names them) and people.
  const folder = input({
    name: "folder",
    value: params.get("folder") || "",
    autocomplete: "off",
    list: "share-folders",
  });
  const person = input({
    name: "person",
    value: params.get("person") || "",
    autocomplete: "off",
    list: "share-people",
  });
  const mode = select({ name: "blur" }, BLUR_MODES, "unconsented");
  const visible = input({ name: "visible", autocomplete: "off" });
  const visibleField = field(
    "Stay recognisable",
    visible,
    "Names, separated by commas: they must be people this library may identify.",
  );
  const method = select({ name: "method" }, METHODS, "gaussian");
  const rename = h("input", { type: "checkbox", name: "rename", id: "export-rename" });
  const keepDate = h("input", { type: "checkbox", name: "keep-date", id: "export-keep-date" });
  const area = h("div", { class: "download" });
  const previewArea = h("div", { class: "preview", "aria-live": "polite" });
  // The settings the person has seen a preview of and chose to export anyway, warnings and all.
  let accepted = null;

  const showVisibleField = () => {
    visibleField.hidden = mode.value !== "all-but";
  };
  mode.addEventListener("change", showVisibleField);
  showVisibleField();

  // Photos chosen in the library's timeline (its selection bar's "Share anonymised").
  const chosenPhotos = (params.get("photos") || "")
    .split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const request = () => {
    const body = {
      photos: chosenPhotos,
      folders: folder.value.trim() ? [folder.value.trim()] : [],
      people: person.value.trim() ? [person.value.trim()] : [],
      blur: mode.value,
      visible: mode.value === "all-but" ? names(visible.value) : [],
      method: method.value,
      rename: rename.checked,
      keep: keepDate.checked ? ["DateTimeOriginal"] : [],
    };
    if (!body.photos.length && !body.folders.length && !body.people.length) {
      throw new Error("Say what to export: a folder of the library or a person.");
    }
    return body;
  };
  const key = (body) => JSON.stringify(body);

  let el = null;
  const submit = () => el.requestSubmit(el.querySelector('button[type="submit"]'));
  const preview = async (body) => {
    msg.ok("Looking at the photos as the export will…");
    const result = await post("/export/preview", { json: { ...body, images: PREVIEW_IMAGES } });
    clear(previewArea).append(
      ...previewView(result, {
        keepVisible: (name) => {
          mode.value = "all-but";
          showVisibleField();
          visible.value = [...new Set([...names(visible.value), name])].join(", ");
          previewButton.click();
        },
        exportAnyway: () => {
          accepted = key(request());
          submit();
        },
      }),
    );
    return result;
  };
  const previewButton = h("button", {
    type: "button",
    text: "Preview",
    onclick: async () => {
      try {
        msg.clear();
        const result = await preview(request());
        if (result.warnings.length) msg.clear();
        else msg.ok("This is what the copies will look like. Export when ready.");
      } catch (err) {
        msg.error(err);
      }
    },
  });

  el = form(
    {},
    [
      chosenPhotos.length
        ? h("p", {
            class: "notice chosen-photos",
            text: `${chosenPhotos.length} photos chosen in the library; a folder or a person adds more.`,
          })
        : null,
      field("Folder", folder, "A folder of the library: its photos and those under it."),
      field("Person", person, "Or everyone's photos of this person (needs their consent)."),
      field("Blur", mode),
      visibleField,
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
      h(
        "div",
        { class: "row-actions" },
        previewButton,
        h("button", { type: "submit", class: "primary", text: "Export" }),
      ),
      msg.el,
    ],
    async () => {
      const body = request();
      if (body.people.length && accepted !== key(body)) {
        // Nobody downloads a zip of copies blurred against their wish: a person chosen by
        // name who would come out blurred is asked about first (with the preview).
        const result = await preview(body);
        if (result.warnings.length) {
          msg.clear();
          return;
        }
      }
      accepted = null;
      msg.ok("Blurring and writing the copies…");
      const blob = await post("/export", { json: body, blob: true });
      offerDownload(ctx, area, blob, "regard-export.zip");
      msg.ok("The copies are ready: the zip holds them and report.json.");
    },
    msg,
  );
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
    el,
    previewArea,
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

async function choices(ctx) {
  const [library, people] = await Promise.all([
    get("/photos?limit=1", { signal: ctx.signal }),
    ctx.can("search") ? get("/people", { signal: ctx.signal }) : [],
  ]);
  return [
    h(
      "datalist",
      { id: "share-folders" },
      library.folders.map((f) => h("option", { value: f.folder, text: plural(f.photos, "photo") })),
    ),
    h(
      "datalist",
      { id: "share-people" },
      people.filter((p) => p.name).map((p) => h("option", { value: p.name })),
    ),
  ];
}

export async function sharePage(ctx) {
  const { main, query } = ctx;
  main.append(
    ...(await choices(ctx)),
    h("h1", { text: "Share safely" }),
    h("p", {
      class: "lead",
      text: "Copies to send or post, with the faces of people who did not agree blurred.",
    }),
    exportSection(ctx, query),
    anonymiseSection(ctx),
  );
}
