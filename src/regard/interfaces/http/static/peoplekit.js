// What the People page, a person's page and "Who is this?" share: how a person is called and
// shown, undo, choosing people, merging (always asked first), and the history of corrections.

import { get, post } from "./api.js";
import { ask, chosenRadio, radios } from "./dialog.js";
import { button, field, form, h, input, messageArea, plural, uid, when } from "./dom.js";

export function facesIn(p) {
  return `${plural(p.faces, "face")} in ${plural(p.photos, "photo")}`;
}

/** "12 photos · 3 videos": where a person appears (`photos` counts both). */
export function appearsIn(p) {
  const videos = p.videos || 0;
  const photos = (p.photos || 0) - videos;
  const parts = [];
  if (photos || !videos) parts.push(plural(photos, "photo"));
  if (videos) parts.push(plural(videos, "video"));
  return parts.join(" · ");
}

export function personLabel(p) {
  return p.name || `Unnamed person ${p.person}`;
}

function coverPlaceholder() {
  return h("span", { class: "cover placeholder", "aria-hidden": "true" });
}

/** A person's face, round; a neutral disc if there is none (or it cannot be shown). */
export function cover(p, size = 96) {
  if (p.cover_face_id == null) return coverPlaceholder();
  const img = h("img", {
    class: "cover",
    src: `/api/faces/${p.cover_face_id}/crop`,
    alt: "",
    loading: "lazy",
    width: size,
    height: size,
  });
  img.addEventListener("error", () => img.replaceWith(coverPlaceholder()));
  return img;
}

export function coverOf(person) {
  return { cover_face_id: person.cover_face ? Number(person.cover_face.slice(1)) : null };
}

// --- undo ------------------------------------------------------------------------------------

/** Say what was done, with an Undo button that takes it back exactly. */
export function doneWithUndo(ctx, text, entry) {
  ctx.announce(text, { label: "Undo", run: () => undo(ctx, entry) });
}

export async function undo(ctx, entry) {
  const out = await post("/people/undo", { json: { entry } });
  await ctx.navigate(out.person ? `/people/${out.person}` : "/people", { replace: true });
  ctx.announce(`Undone: ${out.text}`);
}

// --- choosing people -------------------------------------------------------------------------

/**
 * People to choose from, each with their face: nobody chosen until the owner chooses. `max`
 * 1: radio buttons; 2: two checkboxes. A filter narrows a long list by name.
 */
export function personPicker(people, { legend, name, max = 1 }) {
  const list = h("ul", { class: "picker-list" });
  const filter = input({ type: "search", name: `${name}-filter`, autocomplete: "off" });
  for (const p of people) {
    const id = uid(name);
    const choice = h("input", {
      type: max === 1 ? "radio" : "checkbox",
      id,
      name,
      value: p.person,
      class: "picker-input",
    });
    list.append(
      h(
        "li",
        { class: "picker-item", dataset: { label: personLabel(p).toLowerCase() } },
        choice,
        h(
          "label",
          { for: id, class: "picker-label" },
          cover(p, 48),
          h(
            "span",
            { class: "picker-text" },
            h("span", { class: "picker-name", text: personLabel(p) }),
            h("span", { class: "person-counts", text: appearsIn(p) }),
          ),
        ),
      ),
    );
  }
  const boxes = () => [...list.querySelectorAll("input")];
  if (max > 1) {
    list.addEventListener("change", () => {
      const full = boxes().filter((b) => b.checked).length >= max;
      for (const b of boxes()) b.disabled = full && !b.checked;
    });
  }
  filter.addEventListener("input", () => {
    const want = filter.value.trim().toLowerCase();
    for (const item of list.children) {
      item.hidden = Boolean(want) && !item.dataset.label.includes(want);
    }
  });
  const el = h(
    "fieldset",
    { class: "picker" },
    h("legend", { text: legend }),
    people.length > 8 ? field("Find by name", filter) : null,
    list,
  );
  return {
    el,
    chosen: () =>
      boxes()
        .filter((b) => b.checked)
        .map((b) => people.find((p) => p.person === b.value)),
  };
}

// --- merging ---------------------------------------------------------------------------------

/**
 * Ask, then merge: `other`'s faces join `keep`. The dialog says exactly what happens, and when
 * both are named asks which name stays (none chosen, unless the owner just typed one).
 */
export async function confirmMerge(ctx, keep, other, typedName = null) {
  const both = keep.name && other.name;
  const choice = both
    ? radios(
        "Which name stays?",
        "keep_name",
        [
          [keep.name, keep.name],
          [other.name, other.name],
        ],
        typedName,
      )
    : null;
  const body = () => {
    const total = keep.faces + other.faces;
    const lines = [
      h("p", {
        text:
          `${personLabel(other)}'s ${plural(other.faces, "face")} join ${personLabel(keep)}'s ` +
          `${plural(keep.faces, "face")}: one person with ${plural(total, "face")}.`,
      }),
    ];
    let naming;
    if (both) {
      const kept = chosenRadio(choice, "keep_name");
      const dropped = kept === keep.name ? other.name : keep.name;
      naming = kept
        ? `The name '${dropped}' is dropped; they are all '${kept}'.`
        : "Both have a name: choose the one to keep.";
    } else if (keep.name || other.name) {
      naming = `They are all named '${keep.name || other.name}'.`;
    } else {
      naming = "They stay unnamed.";
    }
    lines.push(h("p", { class: "ask-naming", text: naming }));
    lines.push(
      h("p", {
        class: "hint",
        text: "You can undo this right after, or later from the history on the People page.",
      }),
    );
    return lines;
  };
  const ok = await ask({
    title: `Merge ${personLabel(other)} into ${personLabel(keep)}?`,
    body,
    choices: choice,
    confirm: "Merge",
    check: () =>
      both && !chosenRadio(choice, "keep_name") ? "Choose the name that stays." : null,
  });
  if (!ok) return null;
  const keepName = both ? chosenRadio(choice, "keep_name") : null;
  const out = await post("/people/merge", {
    json: { keep: keep.person, other: other.person, keep_name: keepName },
  });
  await ctx.navigate(`/people/${out.person}`, { replace: true });
  doneWithUndo(
    ctx,
    `Merged: ${personLabel(other)} joined ${personLabel(out)}, who now has ` +
      `${plural(out.faces, "face")}.`,
    out.undo,
  );
  return out;
}

export function mergePanel(ctx, people, person) {
  const msg = messageArea();
  const others = person ? people.filter((p) => p.person !== person.person) : people;
  const picker = personPicker(others, {
    legend: person ? `${personLabel(person)} is the same person as…` : "Choose two people",
    name: person ? "same-as" : "merge-pair",
    max: person ? 1 : 2,
  });
  const details = h(
    "details",
    { class: "panel merge-panel" },
    h("summary", {
      text: person ? "Same person as someone else?" : "Merge two people",
    }),
    h("p", {
      class: "hint",
      text: person
        ? `Choose who ${personLabel(person)} also is: their faces join this person. ` +
          "You will be asked before anything changes."
        : "Choose the two people who are one person. You will be asked before anything " +
          "changes.",
    }),
    form(
      { class: "stack wide" },
      [picker.el, msg.el, h("button", { type: "submit", text: "Merge…" })],
      async () => {
        const chosen = picker.chosen();
        if (person) {
          if (!chosen.length) throw new Error("Choose who they are the same person as.");
          await confirmMerge(ctx, person, chosen[0]);
          return;
        }
        if (chosen.length !== 2) throw new Error("Choose two people.");
        // The person with more faces keeps their number.
        const [keep, other] = [...chosen].sort((a, b) => b.faces - a.faces);
        await confirmMerge(ctx, keep, other);
      },
      msg,
    ),
  );
  return details;
}

// --- the history of corrections ------------------------------------------------------------

export async function historySection(ctx) {
  const entries = await get("/people/history", { signal: ctx.signal, params: { limit: 20 } });
  const msg = messageArea();
  const section = h(
    "section",
    { class: "panel", "aria-labelledby": "history-h" },
    h("h2", { id: "history-h", text: "Recent changes" }),
    h("p", {
      class: "hint",
      text:
        "Merges, splits, “not this person”, faces named or moved, “not a person”, hiding " +
        "and covers can be undone, newest first, as long as no later change touched the " +
        "same people.",
    }),
    msg.el,
  );
  if (!entries.length) {
    section.append(h("p", { text: "No changes yet." }));
    return section;
  }
  const canEdit = ctx.can("edit_people");
  section.append(
    h(
      "ol",
      { class: "history" },
      entries.map((e) => {
        let state = null;
        if (e.undone) state = h("span", { class: "tag", text: "undone" });
        else if (e.can_undo && canEdit) {
          const b = button("Undo", { class: "small", "aria-label": `Undo: ${e.text}` });
          b.addEventListener("click", async () => {
            const ok = await ask({
              title: "Undo this change?",
              body: [
                h("p", { text: e.text }),
                h("p", { text: "Everything it changed is put back as it was before it." }),
              ],
              confirm: "Undo",
            });
            if (!ok) return;
            try {
              const out = await post("/people/undo", { json: { entry: e.entry } });
              await ctx.navigate("/people", { replace: true });
              ctx.announce(`Undone: ${out.text}`);
            } catch (err) {
              msg.error(err);
            }
          });
          state = b;
        } else if (e.why_not && e.action !== "undo") {
          state = h("span", { class: "hint", text: `Cannot be undone now: ${e.why_not}` });
        }
        return h(
          "li",
          { class: "history-entry", dataset: { entry: e.entry, action: e.action } },
          h("span", { class: "history-when", text: when(e.at) }),
          h("span", { class: "history-text", text: e.text }),
          state,
        );
      }),
    ),
  );
  return section;
}


/**
 * Ask, then merge several people into one: the one whose name stays (asked when more than one
 * is named), else the one with the most faces, keeps their number. Each merge is its own
 * entry in the history; Undo takes them all back, newest first.
 */
export async function confirmMergeMany(ctx, chosen) {
  const named = chosen.filter((p) => p.name);
  const choice =
    named.length > 1
      ? radios(
          "Which name stays?",
          "keep_name",
          named.map((p) => [p.name, p.name]),
        )
      : null;
  const total = chosen.reduce((n, p) => n + p.faces, 0);
  const labels = chosen.map(personLabel);
  const listed = `${labels.slice(0, -1).join(", ")} and ${labels[labels.length - 1]}`;
  const body = () => [
    h("div", { class: "merge-covers" }, chosen.map((p) => cover(p, 64))),
    h("p", { text: `${listed} become one person with ${plural(total, "face")}.` }),
    h("p", {
      class: "ask-naming",
      text:
        named.length > 1
          ? chosenRadio(choice, "keep_name")
            ? `They are all '${chosenRadio(choice, "keep_name")}'; the other names are dropped.`
            : "More than one has a name: choose the one to keep."
          : named.length === 1
            ? `They are all named '${named[0].name}'.`
            : "They stay unnamed.",
    }),
    h("p", {
      class: "hint",
      text: "You can undo this right after, or later from the history on the People page.",
    }),
  ];
  const ok = await ask({
    title: `Merge ${plural(chosen.length, "person", "people")}?`,
    body,
    choices: choice,
    confirm: "Merge",
    check: () =>
      named.length > 1 && !chosenRadio(choice, "keep_name") ? "Choose the name that stays." : null,
  });
  if (!ok) return null;
  const keepName = named.length > 1 ? chosenRadio(choice, "keep_name") : null;
  const keep =
    chosen.find((p) => p.name && p.name === keepName) ||
    named[0] ||
    [...chosen].sort((a, b) => b.faces - a.faces)[0];
  const entries = [];
  let out = null;
  for (const other of chosen.filter((p) => p.person !== keep.person)) {
    const both = keep.name && other.name;
    out = await post("/people/merge", {
      json: { keep: keep.person, other: other.person, keep_name: both ? keepName : null },
    });
    entries.push(out.undo);
  }
  await ctx.navigate(`/people/${out.person}`, { replace: true });
  ctx.announce(`Merged into ${personLabel(out)}, who now has ${plural(out.faces, "face")}.`, {
    label: "Undo",
    run: async () => {
      for (const entry of entries.reverse()) await post("/people/undo", { json: { entry } });
      await ctx.navigate("/people", { replace: true });
      ctx.announce("Undone: the people are apart again.");
    },
  });
  return out;
}
