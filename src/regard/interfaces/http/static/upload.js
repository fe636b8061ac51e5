// Adding photos and videos: choose them or drop them anywhere on the page, optionally into a
// named folder. Each file shows its own progress as it is sent, then what became of it (added,
// already in the library, refused and why), and the indexing that follows; the timeline shows
// each photo as it is indexed.

import { get, upload } from "./api.js";
import { acceptFiles, clear, errorText, field, h, plural, sleep } from "./dom.js";

// As the server takes them (api.py: MAX_FILES, MAX_UPLOAD_BYTES, UPLOAD_LIMITS).
const MAX_FILES = 50;
const MAX_BATCH_BYTES = 512 * 2 ** 20;
const MAX_PHOTO_BYTES = 250 * 2 ** 20;
const MAX_VIDEO_BYTES = 500 * 2 ** 20;
const TYPES =
  "image/jpeg,image/png,image/webp,image/heic,image/heif,image/tiff,image/bmp,image/gif," +
  "video/mp4,video/quicktime,video/webm,video/x-matroska,video/3gpp," +
  ".jpg,.jpeg,.jpe,.png,.webp,.heic,.heif,.hif,.tif,.tiff,.bmp,.gif," +
  ".mp4,.m4v,.mov,.webm,.mkv,.3gp";

function isVideo(f) {
  return f.type.startsWith("video/") || /\.(mp4|m4v|mov|webm|mkv|3gp)$/i.test(f.name);
}

/** Files in requests of at most MAX_FILES files and MAX_BATCH_BYTES; a file larger than any
 * Regard keeps is refused here, without sending it. */
function batches(rows) {
  const out = [];
  let batch = [];
  let size = 0;
  for (const row of rows) {
    const f = row.file;
    const limit = isVideo(f) ? MAX_VIDEO_BYTES : MAX_PHOTO_BYTES;
    if (f.size > limit) {
      row.done("refused", `over ${limit / 2 ** 20} MiB`);
      continue;
    }
    if (batch.length && (batch.length >= MAX_FILES || size + f.size > MAX_BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(row);
    size += f.size;
  }
  if (batch.length) out.push(batch);
  return out;
}

function jobText(job) {
  const files = `${job.done} of ${job.total || "?"} files`;
  return `${files} · ${plural(job.faces, "face")} · ${plural(job.errors, "error")}`;
}

const STATES = {
  waiting: "waiting",
  sending: "sending",
  stored: "added, indexing…",
  duplicate: "already in the library",
  refused: "not added",
  indexed: "added",
  failed: "kept, but could not be used",
};

/** One file's line: its name, a progress bar, and what became of it. */
function fileRow(file) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": `Sending ${file.name}` });
  const state = h("span", { class: "upload-state", text: STATES.waiting });
  const li = h(
    "li",
    { class: "upload-file", dataset: { state: "waiting" } },
    h("span", { class: "upload-name", text: file.name }),
    bar,
    state,
  );
  const row = {
    file,
    li,
    sent(fraction) {
      bar.value = fraction;
      li.dataset.state = "sending";
      state.textContent = `${Math.round(fraction * 100)} %`;
    },
    done(kind, reason) {
      li.dataset.state = kind;
      bar.value = 1;
      bar.hidden = kind === "refused";
      state.textContent = reason ? `${STATES[kind]}: ${reason}` : STATES[kind];
    },
  };
  return row;
}

/** The panel; `onChange()` is called as photos are stored and indexed (to show them). */
export function uploadPanel(ctx, onChange, dropTarget) {
  const live = h("p", { class: "upload-live", role: "status" });
  const indexing = h("p", { class: "upload-indexing", role: "status" });
  const progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Indexing" });
  const list = h("ul", { class: "upload-files", "aria-label": "Files sent" });
  const failures = h("div");
  const files = h("input", { type: "file", name: "files", multiple: true, accept: TYPES });
  const folder = h("input", {
    type: "text",
    name: "folder",
    autocomplete: "off",
    maxlength: 80,
    placeholder: "By month",
  });
  const zone = h(
    "div",
    { class: "dropzone" },
    h("p", {
      class: "dropzone-text",
      text: "Drop photos or videos here, anywhere on the page, or choose them.",
    }),
    field(
      "Photos and videos to add",
      files,
      "JPEG, PNG, WebP, HEIC, TIFF, BMP, GIF; MP4, MOV, WebM, MKV. " +
        `Up to ${MAX_FILES} files at a time; more are sent in turns.`,
    ),
    field(
      "Into the folder",
      folder,
      "Optional: a name such as Holiday 2019 (one folder, not a path). Otherwise by month.",
    ),
  );
  acceptFiles(zone, files, send);
  if (dropTarget) acceptFiles(dropTarget, files, send);

  let busy = false;
  async function send(chosen) {
    if (busy) {
      live.textContent = "Wait until the files being sent are in.";
      return;
    }
    busy = true;
    files.disabled = true;
    panel.open = true;
    clear(list);
    clear(failures);
    const rows = chosen.map(fileRow);
    list.append(...rows.map((r) => r.li));
    const counts = { stored: 0, duplicates: 0, refused: 0 };
    const jobs = [];
    const summary = () =>
      `Sent ${counts.stored + counts.duplicates + counts.refused} of ${rows.length} files: ` +
      `${plural(counts.stored, "new file")}, ${counts.duplicates} already in the library, ` +
      `${counts.refused} not added.`;
    try {
      for (const row of rows) if (row.li.dataset.state === "refused") counts.refused += 1;
      for (const batch of batches(rows)) {
        live.textContent = `Sending ${plural(batch.length, "file")}…`;
        const body = new FormData();
        for (const row of batch) {
          body.append("files", row.file, row.file.name);
          body.append("modified", String(row.file.lastModified || 0));
        }
        if (folder.value.trim()) body.append("folder", folder.value.trim());
        const total = batch.reduce((n, r) => n + r.file.size, 0) || 1;
        const out = await upload("/uploads", body, {
          signal: ctx.signal,
          onProgress: (loaded) => {
            // The batch's bytes go in order: each file's share of what has been sent.
            let before = 0;
            for (const row of batch) {
              const part = (loaded - before) / (row.file.size || 1);
              row.sent(Math.min(Math.max(part, 0), 1));
              before += row.file.size;
            }
            if (loaded >= total) live.textContent = "Checking what was sent…";
          },
        });
        const byName = new Map();
        for (const row of batch) {
          if (!byName.has(row.file.name)) byName.set(row.file.name, []);
          byName.get(row.file.name).push(row);
        }
        const take = (name) => (byName.get(name) || []).shift();
        for (const s of out.stored) take(s.name)?.done("stored");
        for (const d of out.duplicates) take(d.name)?.done("duplicate");
        for (const r of out.refused) take(r.name)?.done("refused", r.reason);
        counts.stored += out.stored.length;
        counts.duplicates += out.duplicates.length;
        counts.refused += out.refused.length;
        live.textContent = summary();
        if (out.job) jobs.push(out.job);
        onChange();
      }
      live.textContent = summary();
      const failed = [];
      for (const job of jobs) failed.push(...(await follow(job)));
      for (const row of rows) {
        if (row.li.dataset.state !== "stored") continue;
        // The job's failures name each file as it was sent.
        const why = failed.find((f) => f.message.startsWith(`${row.file.name}: `));
        if (why) row.done("failed", why.message.slice(row.file.name.length + 2));
        else row.done("indexed");
      }
      if (!jobs.length) indexing.textContent = "Nothing new to index.";
    } catch (err) {
      if (err.name !== "AbortError") {
        live.textContent = summary();
        failures.append(h("p", { class: "error", role: "alert", text: errorText(err) }));
        for (const row of rows) {
          if (row.li.dataset.state === "sending" || row.li.dataset.state === "waiting") {
            row.done("refused", "not sent");
          }
        }
      }
    } finally {
      busy = false;
      files.disabled = false;
    }
  }

  async function follow(first) {
    let job = first;
    progress.hidden = false;
    indexing.textContent = "Indexing the new photos and videos…";
    while (job.state === "queued" || job.state === "running") {
      progress.max = Math.max(job.total, 1);
      progress.value = job.done;
      indexing.textContent =
        job.state === "queued" ? "Waiting for the indexer…" : `Indexing: ${jobText(job)}`;
      await sleep(700, ctx.signal);
      job = await get(`/jobs/${job.id}`, { signal: ctx.signal });
      onChange(); // what is indexed shows in the timeline as it is
    }
    progress.max = Math.max(job.total, 1);
    progress.value = job.state === "done" ? progress.max : job.done;
    if (job.state === "done") {
      indexing.textContent =
        `Indexing finished: ${plural(job.done, "file")} looked at, ` +
        `${plural(job.faces, "face")} found, ${job.errors} could not be used.`;
      const failed = job.report?.failures || [];
      if (failed.length) {
        failures.append(
          h("p", { text: "Files that could not be used:" }),
          h("ul", { class: "failures" }, failed.map((f) => h("li", { class: "path", text: f.message }))),
        );
      }
    } else {
      indexing.textContent = `Indexing failed: ${job.message}`;
    }
    onChange();
    return job.report?.failures || [];
  }

  // Indexing already under way (started before this page was opened) is followed too.
  get("/jobs", { params: { limit: 5 }, signal: ctx.signal })
    .then((jobs) => {
      const running = jobs.find(
        (j) => j.kind === "index" && (j.state === "queued" || j.state === "running"),
      );
      if (running && !busy) follow(running).catch(() => null);
    })
    .catch(() => null);

  const panel = h(
    "details",
    { class: "panel upload-panel" },
    h("summary", { class: "upload-summary", text: "Add photos and videos" }),
    zone,
    live,
    list,
    indexing,
    progress,
    failures,
  );
  return panel;
}
