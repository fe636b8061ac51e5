// The library: the timeline of every photo and video (timeline.js) with uploads (upload.js)
// and selection (selection.js); the same photos filtered by year or folder; and the indexing
// status. One photo full screen is the viewer (viewer.js).

import { get } from "./api.js";
import {
  bytes,
  clear,
  dl,
  errorText,
  field,
  form,
  h,
  plural,
  select,
  sleep,
  when,
} from "./dom.js";
import { timeline } from "./timeline.js";
import { uploadPanel } from "./upload.js";

const PAGE = 60;

function facesText(p) {
  if (!p.faces) return "no faces";
  const inPeople = p.faces_in_people ?? 0;
  return `${plural(p.faces, "face")}, ${inPeople} in people`;
}

const KINDS = { index: "Indexing", anonymise: "Anonymising", export: "Export" };

function jobText(job) {
  const done = `${job.done} of ${job.total || "?"} ${job.unit || "files"}`;
  if (job.kind !== "index") return done;
  return `${done} · ${plural(job.faces, "face")} · ${plural(job.errors, "error")}`;
}

function thumbnail(p) {
  const alt = `${p.name}${p.taken_at ? `, ${when(p.taken_at)}` : ""}: ${facesText(p)}`;
  return h(
    "li",
    { class: "thumb" },
    h(
      "a",
      { href: `/photos/${p.id}`, class: "thumb-link", dataset: { photoId: p.id, faces: p.faces } },
      h("img", {
        src: `/api/photos/${p.id}/image?size=256`,
        alt,
        loading: "lazy",
        decoding: "async",
        width: 256,
        height: 256,
      }),
      h("span", { class: "badge", "aria-hidden": "true", text: p.faces ? `${p.faces}` : "" }),
    ),
  );
}

/** The library's first screen: its photos and videos, newest first, by month and day. */
export async function libraryPage(ctx) {
  const { main, query } = ctx;
  if (["year", "folder", "undated"].some((k) => query.has(k))) return filteredPage(ctx);
  const summary = h("p", { class: "summary tl-summary", role: "status" });
  const empty = h("p", { class: "empty", hidden: true });
  const tools = h(
    "div",
    { class: "tl-tools" },
    h("a", { href: "/library?folder=", class: "button-link small", text: "Folders and years" }),
    h("a", { href: "/trash", class: "button-link small", text: "Trash" }),
  );
  main.append(h("div", { class: "tl-head" }, h("h1", { text: "Library" }), summary, tools));
  const host = h("section", { class: "tl-host", "aria-label": "Photos and videos, newest first" });
  let view = null;
  if (ctx.can("upload")) {
    const panel = uploadPanel(ctx, () => view?.refresh().catch(() => null), main);
    main.append(panel);
  }
  main.append(empty, host);
  view = await timeline(ctx, host, {
    summary: (total) => {
      summary.textContent = total ? `${plural(total, "photo or video", "photos and videos")}` : "";
    },
    onEmpty: (isEmpty) => {
      empty.hidden = !isEmpty;
      empty.textContent = ctx.can("upload")
        ? "No photos yet. Add some with “Add photos and videos” above, or drop them here."
        : "No photos yet. Someone who may add photos can add them here.";
    },
  });
}

/** The photos of a year, a folder, or without a date (the filters of the address). */
async function filteredPage(ctx) {
  const { main, query, signal } = ctx;
  const undated = query.get("undated") === "1";
  const year = undated ? "" : query.get("year") || "";
  const folder = query.get("folder") || "";
  const filtered = Boolean(year || folder || undated);
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "/library", text: "Library" })),
    h("h1", { text: "Folders and years" }),
  );

  // "undated" is a choice of the year list, sent to the server as its own filter.
  const yearSelect = select({ name: "year" }, [["", "All years"]], undated ? "undated" : year);
  const folderSelect = select({ name: "folder" }, [["", "All folders"]], folder);
  const filters = form(
    { class: "filters", role: "search", "aria-label": "Filter photos" },
    [
      field("Year", yearSelect),
      field("Folder", folderSelect, "With the folders inside it."),
      h(
        "div",
        { class: "filter-actions" },
        h("button", { type: "submit", text: "Show" }),
        h("a", { href: "/library", class: "button-link", text: "Clear filters" }),
      ),
    ],
    async () => {
      const q = new URLSearchParams();
      if (yearSelect.value === "undated") q.set("undated", "1");
      else if (yearSelect.value) q.set("year", yearSelect.value);
      if (folderSelect.value) q.set("folder", folderSelect.value);
      const text = q.toString();
      await ctx.navigate(text ? `/library?${text}` : "/library");
    },
  );
  const summary = h("p", { class: "summary", role: "status" });
  const grid = h("ul", { class: "photo-grid", "aria-label": "Photos, newest first" });
  const more = h("button", { type: "button", class: "more", hidden: true, text: "Show more" });
  const problem = h("div");
  main.append(
    h(
      "section",
      { "aria-labelledby": "photos-h" },
      h("h2", { id: "photos-h", text: "Photos" }),
      filters,
      summary,
      grid,
      more,
      problem,
    ),
  );

  let offset = 0;
  let total = null;
  let loading = false;
  let generation = 0; // a reset makes pages still on their way stale
  let choicesShown = false;

  /** The years and folders to choose from, as the first page of photos tells them. */
  function showChoices(page) {
    choicesShown = true;
    for (const el of [yearSelect, folderSelect]) {
      while (el.options.length > 1) el.lastElementChild.remove();
    }
    for (const y of page.years) {
      yearSelect.append(
        h("option", {
          value: y.year,
          text: `${y.year} (${y.photos})`,
          selected: String(y.year) === year,
        }),
      );
    }
    if (page.undated) {
      yearSelect.append(
        h("option", { value: "undated", text: `No date (${page.undated})`, selected: undated }),
      );
    }
    const listed = page.folders.some((f) => f.folder === folder);
    if (folder && !listed) {
      // A folder from an address (a bookmark) that holds no photo now: shown as it was given.
      folderSelect.append(h("option", { value: folder, text: folder, selected: true }));
    }
    for (const f of page.folders) {
      folderSelect.append(
        h("option", {
          value: f.folder,
          text: `${f.name} (${f.photos})`,
          selected: f.folder === folder,
        }),
      );
    }
  }

  async function loadMore() {
    if (loading || (total !== null && offset >= total)) return;
    const mine = generation;
    loading = true;
    more.disabled = true;
    try {
      const page = await get("/photos", {
        params: { offset, limit: PAGE, year, folder, undated: undated || null },
        signal,
      });
      if (mine !== generation) return;
      total = page.total;
      if (!choicesShown) showChoices(page);
      for (const p of page.photos) grid.append(thumbnail(p));
      offset += page.photos.length;
      summary.textContent = total
        ? `${plural(total, "photo")}${filtered ? " matching the filters" : ""}, newest first; ` +
          `showing ${offset}.`
        : filtered
          ? "No photos match these filters."
          : "No photos yet. Add some on the Library page.";
      more.hidden = offset >= total;
    } catch (err) {
      if (err.name === "AbortError") return;
      clear(problem).append(h("p", { class: "error", role: "alert", text: errorText(err) }));
    } finally {
      if (mine === generation) {
        loading = false;
        more.disabled = false;
      }
    }
  }

  function reset() {
    generation += 1;
    clear(grid);
    offset = 0;
    total = null;
    loading = false;
    choicesShown = false; // new photos may bring new years and folders
    loadMore();
  }

  more.addEventListener("click", loadMore);
  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    });
    observer.observe(more);
    ctx.onCleanup(() => observer.disconnect());
  }
  await loadMore();
}

export async function statusPage(ctx) {
  const { main, signal } = ctx;
  main.append(h("h1", { text: "Status" }));
  const live = h("div", { role: "status", class: "visually-hidden" });
  const body = h("div");
  main.append(live, body);
  let wasRunning = false;
  for (;;) {
    const [info, jobs] = await Promise.all([
      get("/status", { signal }),
      get("/jobs", { signal }),
    ]);
    if (!ctx.isCurrent()) return;
    clear(body).append(statusView(info), jobsView(jobs));
    const running = jobs.some((j) => j.state === "queued" || j.state === "running");
    if (wasRunning && !running) live.textContent = "Indexing finished.";
    wasRunning = running;
    if (!running) return;
    await sleep(1000, signal);
  }
}

function statusView(s) {
  const section = (title, id, ...content) =>
    h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id, text: title }), content);
  const biometric = Object.entries(s.biometric || {})
    .map(([k, v]) => `${v} ${k.replace("_", " ")}`)
    .join(", ");
  const run = s.last_run;
  return h(
    "div",
    { class: "status-grid" },
    section(
      "Library",
      "st-library",
      dl([
        ["Photos", s.photos],
        ["Indexed", s.indexed],
        ["Could not be used", s.errors],
        ["Photos with faces", s.photos_with_faces],
        ["Faces", s.faces],
        ["Low-quality faces", s.low_quality_faces],
        ["People", s.people],
        ["Named people", s.named_people],
        ["Faces in people", s.faces_in_people],
        ["Faces waiting to be grouped", s.faces_waiting_to_be_grouped],
        ["Size on disk", bytes(s.size_bytes)],
      ]),
    ),
    section(
      "Search",
      "st-search",
      dl([
        ["Threshold in force", s.search_threshold],
        ["Expected strangers per search", s.expected_false_matches_per_search],
        ["Face vectors", s.embeddings],
        ["Vector index", s.vector_index],
      ]),
    ),
    section(
      "Privacy",
      "st-privacy",
      dl([
        ["Policy", s.policy],
        [
          "Face data encryption",
          [s.encryption.scheme, s.encryption.key, s.encryption.unlocked ? "unlocked" : "locked"]
            .join(", "),
        ],
        ["Face data", biometric || "none"],
        ["People with consent records", s.consent_subjects],
        ["Opt-outs", s.opt_outs],
        ["Audit log entries", s.audit_entries],
      ]),
    ),
    section(
      "Last indexing run",
      "st-run",
      run
        ? dl([
            ["Status", run.status],
            ["Started", when(run.started_at)],
            ["Finished", run.finished_at ? when(run.finished_at) : "not yet"],
            ["Files seen", run.files_seen],
            ["New", run.files_new],
            ["Changed", run.files_changed],
            ["Unchanged", run.files_unchanged],
            ["Failed", run.files_failed],
            ["Faces found", run.faces_found],
          ])
        : h("p", { text: "Nothing indexed yet." }),
    ),
    section(
      "Models",
      "st-models",
      h(
        "ul",
        { class: "plain" },
        (s.models || []).map((m) =>
          h(
            "li",
            {},
            h("strong", { text: m.id }),
            ` (${m.kind}) from ${m.package}; ${m.licence}`,
            m.kind === "embedder" ? `; ${plural(m.vectors, "vector")}` : "",
          ),
        ),
      ),
    ),
  );
}

function jobsView(jobs) {
  const list = [...jobs].sort((a, b) => b.started_at - a.started_at);
  return h(
    "section",
    { class: "panel", "aria-labelledby": "st-jobs" },
    h("h2", { id: "st-jobs", text: "Jobs" }),
    list.length
      ? h(
          "ul",
          { class: "jobs" },
          list.map((j) =>
            h(
              "li",
              { class: "job" },
              h(
                "p",
                {},
                h("strong", { text: `${KINDS[j.kind] || j.kind}: ${j.state}` }),
                ` · started ${when(new Date(j.started_at * 1000).toISOString())}`,
              ),
              h("progress", {
                max: Math.max(j.total, 1),
                value: j.state === "done" ? Math.max(j.total, 1) : j.done,
                "aria-label": `Job ${j.id}`,
              }),
              h("p", {
                text: jobText(j),
              }),
              j.message ? h("p", { class: "error", text: j.message }) : null,
              (j.report?.failures || []).length
                ? h(
                    "details",
                    {},
                    h("summary", {
                      text: `${plural(j.report.failures.length, "file")} could not be used`,
                    }),
                    h(
                      "ul",
                      {},
                      j.report.failures.map((f) => h("li", { class: "path", text: f.message })),
                    ),
                  )
                : null,
            ),
          ),
        )
      : h("p", { text: "No indexing since the server started." }),
  );
}
