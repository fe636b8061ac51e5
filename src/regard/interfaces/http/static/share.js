// Share safely: anonymised copies of library photos and videos (a zip) and of any one photo or
// video. The same library calls as `regard export` and `regard anonymise`; nothing is kept.
// An export and a video handed in are background jobs (POST /api/export/jobs,
// /api/anonymise/jobs): the page follows the job's progress, offers to cancel it, and
// downloads the result (GET /api/jobs/{id}/result) when it is done.
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
  sleep,
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
const VIDEO_NAME = /\.(mp4|m4v|mov|mkv|webm|avi|3gp)$/i;

function isVideo(file) {
  return file.type.startsWith("video/") || VIDEO_NAME.test(file.name);
}

/**
 * Follow a background job in `area` until it ends: a progress bar, what it is doing, and a
 * button to cancel it. Resolves with the job as it ended.
 */
export async function followJob(ctx, area, job, describe) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Progress" });
  const detail = h("p", { class: "job-detail", "aria-live": "polite" });
  const cancel = h("button", {
    type: "button",
    text: "Cancel",
    onclick: async () => {
      cancel.disabled = true;
      try {
        await post(`/jobs/${job.id}/cancel`);
        detail.textContent = "Cancelling…";
      } catch (err) {
        detail.textContent = err.message;
      }
    },
  });
  clear(area).append(h("div", { class: "share-job" }, bar, detail, cancel));
  while (job.state === "queued" || job.state === "running") {
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    detail.textContent =
      job.state === "queued" ? "Waiting for the jobs before it…" : describe(job);
    await sleep(500, ctx.signal);
    job = await get(`/jobs/${job.id}`, { signal: ctx.signal });
  }
  bar.max = Math.max(job.total, 1);
  bar.value = job.state === "done" ? bar.max : job.done;
  cancel.remove();
  detail.textContent = "";
  return job;
}

/** The result of a job that is done, as a link that downloads it (clicked at once). */
export function offerResult(area, job, name) {
  const link = h("a", {
    href: `/api/jobs/${job.id}/result`,
    download: name,
    class: "button-link",
    text: `Download ${name}`,
  });
  area.append(link);
  link.click();
  return link;
}

function jobFailed(job) {
  const err = new Error(
    job.state === "cancelled" ? "Cancelled: nothing was kept." : job.message || `The job ${job.state}.`,
  );
  return err;
}

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
      let job = await post("/export/jobs", { json: body });
      job = await followJob(
        ctx,
        area,
        job,
        (j) => j.message || `${j.done} of ${plural(j.total, "file")} copied`,
      );
      if (job.state !== "done") {
        clear(area);
        throw jobFailed(job);
      }
      clear(area);
      offerResult(area, job, "regard-export.zip");
      const r = job.report;
      msg.ok(
        `The copies are ready: ${plural(r.photos, "photo")}` +
          (r.videos ? ` and ${plural(r.videos, "video")}` : "") +
          " in the zip, with report.json." +
          (r.skipped.length ? ` ${plural(r.skipped.length, "file")} could not be copied (see report.json).` : ""),
      );
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
        "Copies of library photos and videos with faces blurred (the whole head, at full " +
        "size; in a video, in every frame) and no metadata: no location, camera serial number " +
        "or thumbnail, no sound. A face whose owner opted out, or that the library cannot " +
        "name, is always blurred. Originals are not touched.",
    }),
    el,
    previewArea,
    area,
  );
}

function anonymiseSection(ctx) {
  const msg = messageArea();
  const file = h("input", {
    type: "file",
    name: "file",
    accept: "image/*,video/*,.mp4,.m4v,.mov,.mkv,.webm,.avi,.3gp",
  });
  const method = select({ name: "method" }, METHODS, "gaussian");
  const audio = h("input", { type: "checkbox", name: "keep-audio", id: "anonymise-audio" });
  const audioField = h(
    "div",
    { class: "check", hidden: true },
    audio,
    h("label", { for: audio.id, text: "Keep the sound (a voice can identify someone too)" }),
  );
  file.addEventListener("change", () => {
    const chosen = file.files[0];
    audioField.hidden = !(chosen && isVideo(chosen));
  });
  const area = h("div", { class: "download" });

  const photo = async (chosen) => {
    const data = new FormData();
    data.append("photo", chosen);
    data.append("method", method.value);
    msg.ok("Blurring every face…");
    const blob = await post("/anonymise", { form: data, blob: true });
    const ext = blob.type === "image/png" ? "png" : blob.type === "image/webp" ? "webp" : "jpg";
    const stem = chosen.name.replace(/\.[^.]*$/, "") || "photo";
    offerDownload(ctx, area, blob, `${stem}-anonymised.${ext}`);
    msg.ok(`${chosen.name}: every face blurred.`);
  };
  const video = async (chosen) => {
    const data = new FormData();
    data.append("file", chosen);
    data.append("method", method.value);
    data.append("keep_audio", audio.checked ? "true" : "false");
    msg.ok(`Sending ${chosen.name}…`);
    let job = await post("/anonymise/jobs", { form: data });
    msg.ok(`Blurring every face of ${chosen.name}, frame by frame…`);
    job = await followJob(ctx, area, job, (j) =>
      j.total ? `Frame ${j.done} of ${j.total}` : `${plural(j.done, "frame")} done`,
    );
    if (job.state !== "done") {
      clear(area);
      throw jobFailed(job);
    }
    const r = job.report;
    const src = `/api/jobs/${job.id}/result`;
    clear(area).append(
      h("video", {
        src,
        controls: true,
        preload: "auto",
        class: "share-video",
        "aria-label": `The anonymised copy of ${chosen.name}`,
      }),
    );
    offerResult(area, job, r.download);
    msg.ok(
      `${chosen.name}: every face blurred in ${plural(r.frames, "frame")}, ` +
        `${r.audio_kept ? "sound kept" : "no sound"}, no metadata.`,
    );
  };

  return h(
    "section",
    { class: "panel", id: "anonymise", "aria-labelledby": "anonymise-h" },
    h("h2", { id: "anonymise-h", text: "Anonymise a photo or a video" }),
    h("p", {
      class: "hint",
      text:
        "Every face blurred (in a video, in every frame), no metadata. A video's sound is " +
        "dropped unless you keep it. Nothing is kept or indexed; a video's copy is kept for " +
        "a day for you to download.",
    }),
    form(
      {},
      [
        field("Photo or video", file),
        field("Method", method),
        audioField,
        h("button", { type: "submit", class: "primary", text: "Anonymise" }),
        msg.el,
      ],
      async () => {
        const chosen = file.files[0];
        if (!chosen) throw new Error("Choose a photo or a video first.");
        clear(area);
        await (isVideo(chosen) ? video(chosen) : photo(chosen));
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
