// Consent and the rights of the people in the photos: the consent ledger (grant, withdraw),
// opt-out by selfie, access reports, erasure with a confirmation step; and the audit log.

import { get, post } from "./api.js";
import { ask } from "./dialog.js";
import {
  button,
  checkboxes,
  checked,
  clear,
  dl,
  errorText,
  field,
  form,
  h,
  input,
  messageArea,
  offerDownload,
  plural,
  when,
} from "./dom.js";
import { facePicker, facesIn } from "./faces.js";

const PURPOSES = [
  ["grouping", "Grouping: show their photos together under their name"],
  ["search", "Search: find their photos by name or by photo"],
  ["camera", "Camera: recognise them on the owner's cameras"],
  ["recaps", "Recaps: show them unblurred in collages and slideshows"],
];
const POLICIES = {
  household:
    "Household library: grouping, naming and searching are allowed; anyone with a consent " +
    "record is held to it, and a withdrawn purpose stops at once.",
  organisation:
    "Organisation library: nobody is identified without an active consent for that purpose.",
};

export async function rightsPage(ctx) {
  const { main, signal, query } = ctx;
  const person = query.get("person") || "";
  main.append(h("h1", { text: "Consent & rights" }));
  const [status, people] = await Promise.all([
    get("/status", { signal }),
    get("/people", { signal }),
  ]);
  main.append(
    h("p", { class: "lead", text: POLICIES[status.policy] || `Policy: ${status.policy}.` }),
    peopleList(people),
  );
  const contents = h("nav", { class: "contents", "aria-label": "On this page" });
  const links = [];
  main.append(contents);
  const add = (id, title, el) => {
    links.push(h("li", {}, h("a", { href: `#${id}`, text: title })));
    main.append(el);
  };
  let reload = async () => {};
  if (ctx.can("consent")) {
    const ledger = h("section", { class: "panel", id: "ledger", "aria-labelledby": "ledger-h" });
    reload = () => ledgerSection(ctx, ledger, reload);
    add("ledger", "Consent ledger", ledger);
    add("grant", "Record a consent", grantSection(ctx, person, reload));
    add("withdraw", "Withdraw a consent", withdrawSection(ctx, person, reload));
    const optouts = h("section", { class: "panel", id: "optout", "aria-labelledby": "optout-h" });
    add("optout", "Opt-out", optouts);
    await Promise.all([reload(), optoutSection(ctx, optouts)]);
  }
  if (ctx.can("access_report")) add("report", "Access report", reportSection(ctx, person));
  if (ctx.can("erase")) add("erase", "Erase a person", eraseSection(ctx, person, () => reload()));
  contents.append(h("ul", {}, links));
}

function peopleList(people) {
  return h(
    "datalist",
    { id: "people-refs" },
    people.map((p) => h("option", { value: p.name || p.person, text: p.person })),
  );
}

function personInput(value, name = "person") {
  return input({ name, value, list: "people-refs", maxlength: 200, autocomplete: "off" });
}

async function ledgerSection(ctx, section, reload) {
  const subjects = await get("/consents", { signal: ctx.signal });
  const msg = messageArea();
  clear(section).append(h("h2", { id: "ledger-h", text: "Consent ledger" }));
  section.append(
    h("p", {
      class: "hint",
      text: "Append-only: a record is never edited or deleted; a withdrawal is a new record.",
    }),
    msg.el,
  );
  if (!subjects.length) {
    section.append(h("p", { text: "No consent recorded yet." }));
    return;
  }
  const withdraw = async (s, purposes) => {
    const ok = await confirmWithdrawal(s.subject, purposes ? [purposes] : s.allowed, s.allowed);
    if (!ok) return;
    try {
      const out = await post("/consents/withdraw", { json: { subject: s.subject, purposes } });
      await reload();
      ctx.announce(withdrawnText(out));
    } catch (err) {
      msg.error(err);
    }
  };
  for (const s of subjects) {
    const allowed = s.allowed.length ? s.allowed.join(", ") : "nothing";
    const actions = h("div", { class: "row-actions" });
    for (const purpose of s.allowed) {
      actions.append(
        button(`Withdraw ${purpose}`, {
          "aria-label": `Withdraw ${purpose} for ${s.subject}`,
          onclick: () => withdraw(s, purpose),
        }),
      );
    }
    if (s.allowed.length > 1) {
      actions.append(
        button("Withdraw everything", {
          class: "danger",
          "aria-label": `Withdraw every purpose for ${s.subject}`,
          onclick: () => withdraw(s, null),
        }),
      );
    }
    section.append(
      h(
        "article",
        { class: "subject", dataset: { subject: s.key } },
        h("h3", { text: s.subject || "(name erased)" }),
        h(
          "p",
          {},
          s.person ? h("a", { href: `/people/${s.person}`, text: s.person }) : "no person",
          " · allowed: ",
          h("strong", { class: "allowed", text: allowed }),
        ),
        actions,
        h(
          "table",
          { class: "table" },
          h("caption", { class: "visually-hidden", text: `Consent records of ${s.subject}` }),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["#", "Action", "Purposes", "When", "Until", "By", "Evidence"].map((t) =>
                h("th", { scope: "col", text: t }),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            s.records.map((r) =>
              h(
                "tr",
                {},
                h("td", { "data-label": "#", text: r.id }),
                h("td", { "data-label": "Action", text: r.action }),
                h("td", { "data-label": "Purposes", text: r.purposes.join(", ") }),
                h("td", { "data-label": "When", text: when(r.at) }),
                h("td", { "data-label": "Until", text: r.expires || "—" }),
                h("td", { "data-label": "By", text: r.actor }),
                h("td", { "data-label": "Evidence", text: evidence(r) }),
              ),
            ),
          ),
        ),
      ),
    );
  }
}

function evidence(r) {
  if (!r.evidence_kind) return "—";
  return r.evidence_name ? `${r.evidence_kind}: ${r.evidence_name}` : r.evidence_kind;
}

/**
 * Ask before a withdrawal, saying what it does: `purposes` are withdrawn from `allowed` (the
 * purposes allowed now, if known). Withdrawing the last one deletes their face data.
 */
function confirmWithdrawal(subject, purposes, allowed = null) {
  const what = purposes.length ? purposes.join(", ") : "every purpose";
  const left = allowed ? allowed.filter((p) => !purposes.includes(p)) : null;
  const everything = left !== null && left.length === 0;
  const body = [
    h("p", {
      text:
        `Regard stops using ${subject}'s face for ${what} at once. The withdrawal is a new ` +
        "record in the consent ledger: it cannot be taken back, only followed by a new consent.",
    }),
    everything
      ? h("p", {
          class: "notice",
          text:
            `Nothing stays allowed, so ${subject}'s face data (the vectors of their faces and ` +
            "any enrolment photo's) is deleted now, and they are no longer grouped as a person. " +
            "Their photos stay.",
        })
      : h("p", {
          text:
            left === null
              ? "If nothing stays allowed, their face data is deleted too (their photos stay)."
              : `Still allowed afterwards: ${left.join(", ")}.`,
        }),
  ];
  const title = everything
    ? `Withdraw everything for ${subject}?`
    : `Withdraw ${what} for ${subject}?`;
  return ask({
    title,
    body,
    confirm: everything ? "Withdraw and delete face data" : "Withdraw",
    danger: true,
  });
}

/**
 * A photo input whose faces are chosen by clicking them: with several faces, the photo is shown
 * with its faces numbered; `index()` is the face chosen (null with one face or no photo).
 */
function photoWithFace(ctx, { label, name, hint, whose, onPick }) {
  const file = h("input", { type: "file", name, accept: "image/*,.heic,.heif" });
  const area = h("div", { class: "face-choice" });
  let found = Promise.resolve(null);
  let picker = null;
  let latest = 0;
  file.addEventListener("change", () => {
    clear(area);
    picker = null;
    latest += 1;
    const mine = latest;
    const photo = file.files[0];
    if (!photo) {
      found = Promise.resolve(null);
      return;
    }
    area.append(h("p", { class: "hint", role: "status", text: "Looking for faces…" }));
    found = facesIn(photo, ctx.signal).then(
      (faces) => {
        if (mine !== latest) return null; // another photo was chosen meanwhile
        clear(area);
        if (!faces.length) {
          // Said as a note: the server's answer, on sending, is the error.
          area.append(
            h("p", {
              class: "notice",
              role: "status",
              text:
                "No face found in this photo. Use a photo where the face is clearly visible, " +
                "at least about 40 pixels wide.",
            }),
          );
        } else if (faces.length === 1) {
          area.append(h("p", { class: "hint", role: "status", text: "One face found: this one." }));
        } else {
          picker = facePicker(ctx, {
            photo,
            faces,
            prompt: `${faces.length} faces in this photo: click ${whose()}.`,
            onPick,
          });
          area.append(picker.el);
        }
        return faces;
      },
      (err) => {
        if (mine === latest) {
          // Told politely: on sending, the server's answer is the alert.
          clear(area).append(h("p", { class: "error", role: "status", text: errorText(err) }));
        }
        return null;
      },
    );
  });
  return {
    el: h("div", {}, field(label, file, hint), area),
    file,
    async index() {
      const faces = await found;
      if (!faces || faces.length < 2) return null;
      const face = picker?.chosen();
      if (!face) throw new Error(`Click ${whose()} in the photo first.`);
      return face.index;
    },
    reset() {
      clear(area);
      picker = null;
      found = Promise.resolve(null);
    },
  };
}

function withdrawnText(out) {
  const still = out.still_allowed.length ? out.still_allowed.join(", ") : "nothing";
  const removed = out.removed || {};
  const kept = out.kept
    ? ` Kept, sealed, only to keep their new photos out until they agree again: ` +
      `${plural(out.kept.withdrawal_templates, "template")}.`
    : "";
  return (
    `Withdrawn for ${out.subject}: ${out.withdrawn.join(", ")}. Still allowed: ${still}. ` +
    `Face data deleted: ${plural(removed.embeddings || 0, "vector")}, ` +
    `${plural(removed.templates || 0, "template")}.${kept}`
  );
}

function grantSection(ctx, person, reload) {
  const msg = messageArea();
  const subject = personInput(person, "subject");
  const purposes = checkboxes("Purposes", "purposes", PURPOSES, ["grouping", "search"]);
  const evidenceText = h("textarea", { name: "evidence_text", rows: 3, maxlength: 2000 });
  const evidenceFile = h("input", { type: "file", name: "evidence" });
  const expires = input({ type: "date", name: "expires" });
  const face = photoWithFace(ctx, {
    label: "Enrolment photo (optional)",
    name: "face",
    hint: "A photo of them, so they are recognised; only their face data is kept.",
    onPick: () => msg.clear(),
    whose: () =>
      subject.value.trim()
        ? `${subject.value.trim()}'s face`
        : "the face of the person who consents",
  });
  return h(
    "section",
    { class: "panel", id: "grant", "aria-labelledby": "grant-h" },
    h("h2", { id: "grant-h", text: "Record a consent" }),
    form(
      { class: "stack" },
      [
        field("Person", subject, "Their name as you know it; a person Regard knows is linked."),
        purposes,
        field("Evidence", evidenceText, "What they signed or said, and when."),
        field("Or an evidence file", evidenceFile, "Only its SHA-256 is kept, not the file."),
        field("Valid until (optional)", expires),
        face.el,
        msg.el,
        h("button", { type: "submit", class: "primary", text: "Record consent" }),
      ],
      async (el) => {
        const chosen = checked(el, "purposes");
        if (!subject.value.trim()) throw new Error("Name the person who gave consent.");
        if (!chosen.length) throw new Error("Choose at least one purpose.");
        const body = new FormData();
        body.append("subject", subject.value.trim());
        body.append("purposes", chosen.join(","));
        if (evidenceText.value.trim()) body.append("evidence_text", evidenceText.value.trim());
        if (evidenceFile.files[0]) body.append("evidence", evidenceFile.files[0]);
        if (expires.value) body.append("expires", expires.value);
        if (face.file.files[0]) {
          const index = await face.index();
          body.append("face", face.file.files[0]);
          if (index !== null) body.append("face_index", String(index));
        }
        const out = await post("/consents", { form: body });
        el.reset();
        face.reset();
        for (const box of el.querySelectorAll('input[name="purposes"]')) {
          box.checked = ["grouping", "search"].includes(box.value);
        }
        await reload();
        msg.ok(
          `Recorded consent #${out.record} for ${out.subject}` +
            `${out.person ? ` (${out.person})` : ""}: ${out.purposes.join(", ")}` +
            `${out.expires ? `, until ${out.expires}` : ""}.` +
            (out.photos_to_recheck
              ? ` ${plural(out.photos_to_recheck, "photo")} with faces kept out until now ` +
                "are being looked at again (see Jobs on the Library page)."
              : ""),
        );
      },
      msg,
    ),
  );
}

function withdrawSection(ctx, person, reload) {
  const msg = messageArea();
  const subject = personInput(person, "subject");
  const purposes = checkboxes("Purposes to withdraw (none ticked: all)", "wpurposes", PURPOSES);
  return h(
    "section",
    { class: "panel", id: "withdraw", "aria-labelledby": "withdraw-h" },
    h("h2", { id: "withdraw-h", text: "Withdraw a consent" }),
    h("p", {
      class: "hint",
      text: "Takes effect at once. Withdrawing the last purpose deletes their face data.",
    }),
    form(
      { class: "stack" },
      [
        field("Person", subject),
        purposes,
        msg.el,
        h("button", { type: "submit", class: "primary", text: "Withdraw" }),
      ],
      async (el) => {
        if (!subject.value.trim()) throw new Error("Name the person who withdraws consent.");
        const chosen = checked(el, "wpurposes");
        const purposesText = chosen.length ? chosen.join(",") : null;
        if (!(await confirmWithdrawal(subject.value.trim(), chosen))) return;
        const out = await post("/consents/withdraw", {
          json: { subject: subject.value.trim(), purposes: purposesText },
        });
        await reload();
        msg.ok(withdrawnText(out));
      },
      msg,
    ),
  );
}

async function optoutSection(ctx, section) {
  const list = await get("/optouts", { signal: ctx.signal });
  const msg = messageArea();
  const selfie = photoWithFace(ctx, {
    label: "Selfie",
    name: "selfie",
    whose: () => "the face of the person who opts out",
    onPick: () => msg.clear(),
  });
  const note = input({ name: "note", maxlength: 500 });
  clear(section).append(
    h("h2", { id: "optout-h", text: "Opt-out" }),
    h("p", {
      class: "hint",
      text:
        "Someone who never wants to be recognised: their selfie becomes a sealed template used " +
        "only to exclude them. Matching faces lose their face data and their person; the " +
        "selfie itself is not kept.",
    }),
    form(
      { class: "stack" },
      [
        selfie.el,
        field("Note (optional)", note, "For example: asked by email on 20 November."),
        msg.el,
        h("button", { type: "submit", class: "primary", text: "Record opt-out" }),
      ],
      async () => {
        if (!selfie.file.files[0]) {
          throw new Error("Choose the selfie of the person who opts out.");
        }
        const index = await selfie.index();
        const body = new FormData();
        body.append("selfie", selfie.file.files[0]);
        if (index !== null) body.append("face_index", String(index));
        if (note.value.trim()) body.append("note", note.value.trim());
        const out = await post("/optouts", { form: body });
        await optoutSection(ctx, section);
        ctx.announce(
          `Opt-out #${out.optout} recorded: ${plural(out.faces_excluded, "face")} excluded, ` +
            `${plural(out.vectors_deleted, "vector")} deleted.`,
        );
      },
      msg,
    ),
    list.length
      ? h(
          "ul",
          { class: "plain" },
          list.map((o) =>
            h(
              "li",
              {},
              `#${o.optout}, ${when(o.created_at)} by ${o.actor}: ` +
                `${plural(o.faces_excluded, "face")} excluded`,
              o.note ? ` (${o.note})` : "",
            ),
          ),
        )
      : h("p", { text: "No opt-outs." }),
  );
}

function reportSection(ctx, person) {
  const msg = messageArea();
  const who = personInput(person);
  const download = h("div", { class: "download" });
  return h(
    "section",
    { class: "panel", id: "report", "aria-labelledby": "report-h" },
    h("h2", { id: "report-h", text: "Access report" }),
    h("p", {
      class: "hint",
      text:
        "Everything held about a person (GDPR art. 15), as a zip: what is processed and why, " +
        "their consents, the audit entries about them, their photos, and a still of each " +
        "of their moments in videos (with the video's name and the times), every other " +
        "face blurred.",
    }),
    form(
      { class: "inline-form" },
      [
        field("Person", who),
        h("button", { type: "submit", class: "primary", text: "Make report" }),
        msg.el,
      ],
      async () => {
        const ref = who.value.trim();
        if (!ref) throw new Error("Name the person the report is for.");
        msg.ok("Making the report…");
        const blob = await post("/access-report", { json: { person: ref }, blob: true });
        const name = `access-report-${ref.replace(/[^\w.-]+/g, "_")}.zip`;
        offerDownload(ctx, download, blob, name);
        msg.ok(`The access report for ${ref} is ready.`);
      },
      msg,
    ),
    download,
  );
}

function eraseSection(ctx, person, erased) {
  const msg = messageArea();
  const who = personInput(person);
  const step = h("div", { class: "erase-step" });
  const section = h(
    "section",
    { class: "panel danger-zone", id: "erase", "aria-labelledby": "erase-h" },
    h("h2", { id: "erase-h", text: "Erase a person" }),
    h("p", {
      class: "hint",
      text:
        "GDPR art. 17. Their face data, name, corrections and links go for good, also from " +
        "backups restored later; consent records keep only what proves lawful processing.",
    }),
    form(
      { class: "inline-form" },
      [field("Person", who), h("button", { type: "submit", text: "Preview erasure" }), msg.el],
      async () => {
        const ref = who.value.trim();
        if (!ref) throw new Error("Name the person to erase.");
        const preview = await post("/erase/preview", { json: { person: ref } });
        clear(step).append(confirmStep(ctx, ref, preview, step, erased));
        step.querySelector("input")?.focus();
      },
      msg,
    ),
    step,
  );
  return section;
}

function confirmStep(ctx, ref, preview, step, erased) {
  const msg = messageArea();
  const names = preview.people.map((p) => (p.name ? `${p.name} (P${p.id})` : `P${p.id}`));
  const target = preview.people[0];
  const expected = target?.name || `P${target?.id}`;
  const confirm = input({ name: "confirm", autocomplete: "off", spellcheck: "false" });
  const withPhotos = h("input", { type: "checkbox", id: "erase-photos", name: "with_photos" });
  return h(
    "div",
    { class: "confirm-box" },
    h("h3", { text: "Check before erasing" }),
    h("p", {
      text:
        `Erasing ${names.join(", ")} removes the face data of ${plural(preview.faces, "face")}, ` +
        "their name, their corrections history and their links. Photos stay unless you " +
        "tick the box.",
    }),
    form(
      { class: "stack narrow" },
      [
        field(
          `Type ${expected} to confirm`,
          confirm,
          "Exactly as shown, capital letters included.",
        ),
        h(
          "div",
          { class: "check" },
          withPhotos,
          h("label", { for: "erase-photos", text: "Also delete the photos they are in" }),
        ),
        msg.el,
        h("div", { class: "row-actions" },
          h("button", { type: "submit", class: "danger", text: `Erase ${expected} permanently` }),
          button("Cancel", { onclick: () => clear(step) }),
        ),
      ],
      async () => {
        const receipt = await post("/erase", {
          json: { person: ref, confirm: confirm.value, with_photos: withPhotos.checked },
        });
        clear(step).append(receiptView(receipt, expected));
        step.querySelector("h3")?.focus();
        ctx.announce(`${expected} was erased.`);
        await erased();
      },
      msg,
    ),
  );
}

function receiptView(r, who) {
  const v = r.verification || {};
  const removed = r.removed || {};
  const kept = r.kept || {};
  return h(
    "div",
    { class: "receipt", role: "region", "aria-label": "Erasure receipt" },
    h("h3", { tabindex: "-1", text: `Erasure receipt: ${who}` }),
    dl([
      ["Request", r.request],
      ["Face vectors removed", removed.vectors],
      ["Templates removed", removed.templates],
      ["Names removed", removed.names],
      ["People removed", removed.people],
      ["Faces unlinked", removed.faces_unlinked],
      ["Corrections removed", removed.history_entries],
      ["Consent records with the name blanked", removed.consent_names_blanked],
      ["Photos deleted", removed.photos],
      ["Photos involved", r.photos_involved],
      ["Erasure templates kept", kept.erasure_templates],
      ["Journal entry", r.journal_entry],
    ]),
    kept.why ? h("p", { class: "hint", text: `The templates kept are ${kept.why}.` }) : null,
    h("p", {
      class: v.clean ? "ok" : "error",
      text: v.clean
        ? "Verified: none of the erased face data remains in the library's " +
          `${v.files_searched} files.`
        : `Verification found erased data still present: ${JSON.stringify(v.occurrences)}.`,
    }),
    v.method ? h("p", { class: "hint", text: `How: ${v.method}.` }) : null,
  );
}

export async function auditPage(ctx) {
  const { main, signal, query } = ctx;
  const since = query.get("since") || "";
  main.append(h("h1", { text: "Audit log" }));
  const [check, entries] = await Promise.all([
    get("/audit/verify", { signal }),
    get("/audit", { signal, params: { since } }),
  ]);
  main.append(
    check.ok
      ? h("p", {
          class: "ok verify",
          role: "status",
          text:
            `The log is intact: ${plural(check.entries, "entry", "entries")}, ` +
            "hash chain verified.",
        })
      : h(
          "div",
          { class: "error verify", role: "alert" },
          h("p", {
            text: check.first_bad_entry
              ? `The log has been altered, from entry #${check.first_bad_entry}.`
              : "The log has been altered.",
          }),
          h(
            "ul",
            {},
            check.problems.map((p) =>
              h("li", { text: typeof p === "string" ? p : JSON.stringify(p) }),
            ),
          ),
        ),
    h("p", {
      class: "hint",
      text:
        "Every naming, search, match, consent change, opt-out, access report, erasure and key " +
        "change: who, when, why and how many results, never names or face data.",
    }),
  );
  const sinceInput = input({ type: "date", name: "since", value: since.slice(0, 10) });
  main.append(
    form(
      { class: "filters", "aria-label": "Filter the audit log" },
      [
        field("Since", sinceInput),
        h(
          "div",
          { class: "filter-actions" },
          h("button", { type: "submit", text: "Show" }),
          h("a", { href: "/audit", class: "button-link", text: "Everything" }),
        ),
      ],
      async () => {
        await ctx.navigate(sinceInput.value ? `/audit?since=${sinceInput.value}` : "/audit");
      },
    ),
  );
  if (!entries.length) {
    main.append(h("p", { text: since ? "Nothing since then." : "Nothing recorded yet." }));
    return;
  }
  const rows = [...entries].reverse().map((e) =>
    h(
      "tr",
      { dataset: { action: e.action } },
      h("td", { "data-label": "#", text: e.id }),
      h("td", { "data-label": "When", text: when(e.at) }),
      h("td", { "data-label": "Who", text: e.actor }),
      h("td", { "data-label": "Action", text: e.action }),
      h("td", { "data-label": "Purpose", text: e.purpose || "—" }),
      h(
        "td",
        { "data-label": "Subject" },
        e.subject && /^P\d+$/.test(e.subject)
          ? h("a", { href: `/people/${e.subject}`, text: e.subject })
          : e.subject || "—",
      ),
      h("td", { "data-label": "Results", text: e.result_count ?? "—" }),
      h("td", { "data-label": "Details", class: "details" }, details(e)),
    ),
  );
  main.append(
    h(
      "table",
      { class: "table audit" },
      h("caption", { text: `${plural(entries.length, "entry", "entries")}, newest first` }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["#", "When", "Who", "Action", "Purpose", "Subject", "Results", "Details"].map((t) =>
            h("th", { scope: "col", text: t }),
          ),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function details(e) {
  const shown = (v) => {
    if (Array.isArray(v)) return v.join(", ");
    return v && typeof v === "object" ? JSON.stringify(v) : v;
  };
  const parts = Object.entries(e.detail || {}).map(
    ([k, v]) => `${k.replace(/_/g, " ")}: ${shown(v)}`,
  );
  if (e.probe_hash) parts.push(`probe: ${e.probe_hash.slice(0, 12)}…`);
  return parts.join("; ") || "—";
}

