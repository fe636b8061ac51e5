// People: the grid of everyone Regard has grouped, and one person's page where the owner
// names, merges, splits and rejects faces. Every correction is a hard constraint for Regard.
// What is hard to take back asks first and says what will happen; merges, splits and
// rejections can be undone (from the message that follows them, or from the history).

import { ApiError, del, get, post } from "./api.js";
import { ask, chosenRadio, radios } from "./dialog.js";
import {
  button,
  clear,
  field,
  form,
  h,
  input,
  messageArea,
  plural,
  uid,
  when,
} from "./dom.js";

function facesIn(p) {
  return `${plural(p.faces, "face")} in ${plural(p.photos, "photo")}`;
}

export function personLabel(p) {
  return p.name || `Unnamed person ${p.person}`;
}

function coverPlaceholder() {
  return h("span", { class: "cover placeholder", "aria-hidden": "true" });
}

/** A person's face, round; a neutral disc if there is none (or it cannot be shown). */
function cover(p, size = 96) {
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

function coverOf(person) {
  return { cover_face_id: person.cover_face ? Number(person.cover_face.slice(1)) : null };
}

// --- undo ------------------------------------------------------------------------------------

/** Say what was done, with an Undo button that takes it back exactly. */
function doneWithUndo(ctx, text, entry) {
  ctx.announce(text, { label: "Undo", run: () => undo(ctx, entry) });
}

async function undo(ctx, entry) {
  const out = await post("/people/undo", { json: { entry } });
  await ctx.navigate(out.person ? `/people/${out.person}` : "/people", { replace: true });
  ctx.announce(`Undone: ${out.text}`);
}

// --- choosing people -------------------------------------------------------------------------

/**
 * People to choose from, each with their face: nobody chosen until the owner chooses. `max`
 * 1: radio buttons; 2: two checkboxes. A filter narrows a long list by name.
 */
function personPicker(people, { legend, name, max = 1 }) {
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
            h("span", { class: "person-counts", text: facesIn(p) }),
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
async function confirmMerge(ctx, keep, other, typedName = null) {
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

function mergePanel(ctx, people, person) {
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

async function historySection(ctx) {
  const entries = await get("/people/history", { signal: ctx.signal, params: { limit: 20 } });
  const msg = messageArea();
  const section = h(
    "section",
    { class: "panel", "aria-labelledby": "history-h" },
    h("h2", { id: "history-h", text: "Recent changes" }),
    h("p", {
      class: "hint",
      text:
        "Merges, splits and “not this person” can be undone, newest first, as long as no " +
        "later change touched the same people.",
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

// --- pages -------------------------------------------------------------------------------------

export async function peoplePage(ctx) {
  const { main, signal } = ctx;
  main.append(h("h1", { text: "People" }));
  const [people, history] = await Promise.all([get("/people", { signal }), historySection(ctx)]);
  const named = people.filter((p) => p.name).length;
  const faces = people.reduce((n, p) => n + p.faces, 0);
  const msg = messageArea();
  main.append(
    h("p", {
      class: "summary",
      text: people.length
        ? `${plural(people.length, "person", "people")}, ${named} named; ` +
          `${plural(faces, "face")} in people.`
        : "Nobody yet: people form as photos with faces are indexed.",
    }),
  );
  if (ctx.can("edit_people")) {
    const regroup = button("Regroup all faces", { class: "secondary" });
    regroup.addEventListener("click", async () => {
      regroup.disabled = true;
      msg.ok("Regrouping every face; your names and corrections are kept…");
      try {
        const out = await post("/people/recluster");
        await ctx.navigate("/people", { replace: true });
        ctx.announce(
          `Regrouped ${plural(out.faces, "face")} into ` +
            `${plural(out.people, "person", "people")}; ${out.unassigned} not in any person.`,
        );
      } catch (err) {
        msg.error(err);
        regroup.disabled = false;
      }
    });
    main.append(
      h(
        "div",
        { class: "toolbar" },
        regroup,
        h("span", { class: "hint", text: "Keeps every name, merge, split and rejection." }),
      ),
    );
  }
  main.append(msg.el);
  main.append(
    h(
      "ul",
      { class: "people-grid", "aria-label": "People" },
      people.map((p) =>
        h(
          "li",
          { class: "person-card" },
          h(
            "a",
            { href: `/people/${p.person}`, class: "person-link" },
            cover(p),
            h("span", { class: "person-name", text: personLabel(p) }),
            h("span", { class: "person-counts", text: facesIn(p) }),
            p.confirmed ? h("span", { class: "tag", text: "confirmed" }) : null,
          ),
        ),
      ),
    ),
  );
  if (ctx.can("edit_people") && people.length > 1) main.append(mergePanel(ctx, people, null));
  main.append(history);
}

export async function personPage(ctx) {
  const { main, signal, params } = ctx;
  main.append(h("p", { class: "crumbs" }, h("a", { href: "/people", text: "People" })));
  const heading = h("h1", { text: params.ref });
  main.append(heading);
  const person = await get(`/people/${encodeURIComponent(params.ref)}`, { signal });
  heading.textContent = personLabel(person);
  document.title = `${personLabel(person)} · Regard`;
  const canEdit = ctx.can("edit_people");
  main.append(
    h(
      "div",
      { class: "person-head" },
      cover(coverOf(person), 128),
      h(
        "div",
        {},
        h("p", {
          text:
            `${person.person} · ${facesIn(person)} · ` +
            (person.confirmed ? "confirmed" : "grouped by Regard, not confirmed yet"),
        }),
        h(
          "p",
          { class: "links" },
          ctx.can("search")
            ? h("a", {
                href: `/search?person=${encodeURIComponent(person.person)}`,
                text: "Search for look-alikes",
              })
            : null,
          ctx.can("consent") || ctx.can("erase") || ctx.can("access_report")
            ? h("a", {
                href: `/rights?person=${encodeURIComponent(person.name || person.person)}`,
                text: "Consent & rights",
              })
            : null,
        ),
      ),
    ),
  );
  if (canEdit) main.append(nameForm(ctx, person));
  main.append(facesSection(ctx, person, canEdit));
  if (canEdit) {
    const people = await get("/people", { signal });
    if (people.length > 1) main.append(mergePanel(ctx, people, person));
    main.append(deletePanel(ctx, person));
  }
}

function nameForm(ctx, person) {
  const msg = messageArea();
  const name = input({ name: "name", value: person.name || "", maxlength: 200 });
  const offer = h("div", { class: "row-actions" });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "name-h" },
    h("h2", { id: "name-h", text: person.name ? "Rename" : "Who is this?" }),
    form(
      { class: "inline-form" },
      [
        field("Name", name, "Naming confirms every face shown here as this person."),
        h("button", { type: "submit", class: "primary", text: "Save name" }),
        msg.el,
        offer,
      ],
      async () => {
        clear(offer);
        try {
          const out = await post(`/people/${encodeURIComponent(person.person)}/name`, {
            json: { name: name.value },
          });
          await ctx.navigate(`/people/${out.person}`, { replace: true });
          ctx.announce(`Named ${out.person} ${out.name}: ${facesIn(out)}.`);
        } catch (err) {
          // The name is someone else's: offer to merge them, asking first as always.
          if (err instanceof ApiError && err.type === "NameTakenError" && err.extra.person) {
            const holder = await get(`/people/${encodeURIComponent(err.extra.person)}`);
            const typed = holder.name;
            offer.append(
              button(`Merge with ${holder.name}…`, {
                onclick: () => confirmMerge(ctx, holder, person, typed).catch(msg.error),
              }),
            );
          }
          throw err;
        }
      },
      msg,
    ),
  );
}

function facesSection(ctx, person, canEdit) {
  const msg = messageArea();
  const ref = encodeURIComponent(person.person);
  const label = personLabel(person);
  const selected = new Set();
  const split = button("Split the selected faces into a new person", { disabled: true });
  const items = person.photo_list.map((ph) =>
    h(
      "li",
      { class: "person-photo" },
      h(
        "a",
        { href: `/photos/${ph.photo_id}`, class: "thumb-link" },
        h("img", {
          src: `/api/photos/${ph.photo_id}/image?size=256`,
          alt: `Photo ${ph.photo_id}${ph.taken_at ? `, ${when(ph.taken_at)}` : ""}`,
          loading: "lazy",
          width: 256,
          height: 256,
        }),
      ),
      h(
        "ul",
        { class: "faces-in-photo" },
        ph.faces.map((f) => {
          const box = h("input", { type: "checkbox", id: `pick-${f.face}`, value: f.face });
          box.addEventListener("change", () => {
            if (box.checked) selected.add(f.face);
            else selected.delete(f.face);
            split.disabled = selected.size === 0;
          });
          const notThem = person.name ? `Not ${person.name}` : "Not this person";
          const reject = button(notThem, {
            class: "small",
            "aria-label": `${notThem} (face ${f.face})`,
          });
          reject.addEventListener("click", () => rejectFace(ctx, person, f, notThem, msg));
          return h(
            "li",
            { class: "face-chip" },
            h("img", {
              class: "face-crop",
              src: `/api/faces/${f.face_id}/crop`,
              alt: `Face ${f.face}`,
              loading: "lazy",
              width: 64,
              height: 64,
            }),
            canEdit
              ? h(
                  "div",
                  { class: "face-actions" },
                  h(
                    "div",
                    { class: "check" },
                    box,
                    h("label", { for: box.id, text: `Select ${f.face}` }),
                  ),
                  reject,
                )
              : h("span", { text: f.face }),
            f.low_quality ? h("span", { class: "muted", text: "low quality" }) : null,
          );
        }),
      ),
    ),
  );
  split.addEventListener("click", async () => {
    split.disabled = true;
    try {
      const out = await post(`/people/${ref}/split`, { json: { faces: [...selected].join(",") } });
      await ctx.navigate(`/people/${out.person}`);
      doneWithUndo(
        ctx,
        `Split off: the ${plural(out.faces, "face")} you chose now form ${out.person}, ` +
          `apart from ${label}.`,
        out.undo,
      );
    } catch (err) {
      msg.error(err);
      split.disabled = false;
    }
  });
  return h(
    "section",
    { "aria-labelledby": "photos-h" },
    h("h2", { id: "photos-h", text: "Photos and faces" }),
    canEdit
      ? h(
          "div",
          { class: "toolbar" },
          split,
          h("span", { class: "hint", text: "Select faces that are someone else." }),
        )
      : null,
    msg.el,
    h("ul", { class: "person-photos" }, items),
  );
}

async function rejectFace(ctx, person, face, notThem, msg) {
  const label = personLabel(person);
  const last = person.faces === 1;
  const ok = await ask({
    title: `${notThem}?`,
    body: [
      h("img", {
        class: "face-crop",
        src: `/api/faces/${face.face_id}/crop`,
        alt: `Face ${face.face}`,
        width: 64,
        height: 64,
      }),
      h("p", {
        text:
          `This face (${face.face}) leaves ${label}, and Regard never puts it back with ` +
          `${person.name ? "them" : "this person"}.`,
      }),
      last
        ? h("p", {
            text: `It is ${label}'s only face: ${label} will no longer be listed in People.`,
          })
        : null,
      h("p", {
        class: "hint",
        text: "You can undo this right after, or later from the history on the People page.",
      }),
    ],
    confirm: notThem,
  });
  if (!ok) return;
  try {
    const out = await post(`/people/${encodeURIComponent(person.person)}/reject`, {
      json: { face: face.face },
    });
    await ctx.navigate(out.removed ? "/people" : `/people/${person.person}`, { replace: true });
    doneWithUndo(
      ctx,
      out.removed
        ? `${face.face} is not ${label}; with no other face, ${label} is no longer listed.`
        : `${face.face} is no longer in ${label}, and will not be put back.`,
      out.undo,
    );
  } catch (err) {
    msg.error(err);
  }
}

function deletePanel(ctx, person) {
  const msg = messageArea();
  const label = personLabel(person);
  const remove = button(`Delete ${label}…`, { class: "danger" });
  remove.addEventListener("click", async () => {
    const ok = await ask({
      title: `Delete ${label}?`,
      danger: true,
      body: [
        h("p", {
          text:
            `${label} (${person.person}) and ${person.name ? "their name" : "this person"} ` +
            "go from People, for good.",
        }),
        h("p", {
          text:
            `Their ${plural(person.faces, "face")} stay in your photos, in no person; a ` +
            "regrouping may put them together again, unnamed.",
        }),
        h("p", {
          text:
            "This is not an erasure: their face data is kept. To remove that too, use Erase " +
            "a person on the Consent & rights page instead.",
        }),
      ],
      confirm: `Delete ${label}`,
    });
    if (!ok) return;
    try {
      const out = await del(`/people/${encodeURIComponent(person.person)}`);
      await ctx.navigate("/people", { replace: true });
      ctx.announce(
        `Deleted ${out.name || out.deleted}; ${plural(out.faces_unassigned, "face")} ` +
          `${out.faces_unassigned === 1 ? "is" : "are"} in no person now.`,
      );
    } catch (err) {
      msg.error(err);
    }
  });
  return h(
    "section",
    { class: "panel danger-zone", "aria-labelledby": "delete-h" },
    h("h2", { id: "delete-h", text: "Delete this person" }),
    h("p", {
      class: "hint",
      text:
        "Removes the person and their name; their faces stay, in no person, with their face " +
        "data. Erasing (Consent & rights) removes the face data too.",
    }),
    msg.el,
    remove,
  );
}
