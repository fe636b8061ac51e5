// A person's page: their timeline (photos and video moments by month), naming them, choosing
// their cover, hiding them, and correcting their faces: split some off, move some to someone
// else (the naming popover), "Not them". What is hard to take back asks first; each change is
// undone from the message that follows it or from the history on the People page.

import { ApiError, del, get, post } from "./api.js";
import { ask } from "./dialog.js";
import {
  button,
  clear,
  field,
  form,
  h,
  input,
  messageArea,
  plural,
  when,
} from "./dom.js";
import {
  appearsIn,
  confirmMerge,
  cover,
  coverOf,
  doneWithUndo,
  facesIn,
  mergePanel,
  personLabel,
} from "./peoplekit.js";

const MONTH = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric" });

/** "0:31" from seconds. */
function clockTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  const hh = Math.floor(m / 60);
  const mm = String(m % 60).padStart(hh ? 2 : 1, "0");
  return `${hh ? `${hh}:` : ""}${mm}:${String(s % 60).padStart(2, "0")}`;
}

function monthOf(iso) {
  if (!iso) return { key: "~", label: "No date" };
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return { key: "~", label: "No date" };
  return { key: iso.slice(0, 7), label: MONTH.format(d) };
}

export async function personPage(ctx) {
  const { main, signal, params } = ctx;
  main.append(h("p", { class: "crumbs" }, h("a", { href: "/people", text: "People" })));
  const heading = h("h1", { text: params.ref });
  main.append(heading);
  const [person, people] = await Promise.all([
    get(`/people/${encodeURIComponent(params.ref)}`, { signal }),
    get("/people", { signal }),
  ]);
  heading.textContent = personLabel(person);
  document.title = `${personLabel(person)} · Regard`;
  const summary = people.find((p) => p.person === person.person) || {};
  const videos = new Set(person.moment_list.map((m) => m.video_id)).size;
  const shown = { photos: person.photo_list.length + videos, videos };
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
          class: "person-appears",
          text:
            `${appearsIn(shown)} · ${plural(person.faces, "face")} · ` +
            (person.confirmed ? "confirmed" : "grouped by Regard, not confirmed yet") +
            (summary.hidden ? " · hidden" : ""),
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
          canEdit ? hideButton(ctx, person, Boolean(summary.hidden)) : null,
        ),
      ),
    ),
  );
  if (canEdit) main.append(nameForm(ctx, person));
  main.append(timeline(ctx, person, canEdit));
  if (canEdit) {
    if (people.length > 1) main.append(mergePanel(ctx, people, person));
    main.append(deletePanel(ctx, person));
  }
}

function hideButton(ctx, person, hidden) {
  const b = button(hidden ? "Show in People again" : "Hide from People", { class: "small" });
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      const out = await post(`/people/${encodeURIComponent(person.person)}/hide`, {
        json: { hidden: !hidden },
      });
      await ctx.navigate(hidden ? `/people/${out.person}` : "/people", { replace: true });
      doneWithUndo(
        ctx,
        hidden
          ? `${personLabel(out)} is shown in People again.`
          : `${personLabel(out)} is hidden: kept, and listed under Hidden on this page.`,
        out.undo,
      );
    } catch (err) {
      b.disabled = false;
      ctx.announce(err.message, null, { error: true });
    }
  });
  return b;
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


/** The person's photos and video moments, newest first, under a heading per month. */
function timeline(ctx, person, canEdit) {
  const msg = messageArea();
  const ref = encodeURIComponent(person.person);
  const label = personLabel(person);
  const selected = new Set();
  const split = button("Split the selected faces into a new person", { disabled: true });
  const move = button("Move the selected faces to…", { disabled: true });
  const changed = () => {
    split.disabled = selected.size === 0;
    move.disabled = selected.size === 0;
  };
  const currentCover = person.cover_face;
  const chip = (face, photoId) => {
    const crop = h("img", {
      class: "face-crop",
      src: `/api/faces/${face.face_id}/crop`,
      alt: `Face ${face.face}`,
      loading: "lazy",
      width: 64,
      height: 64,
    });
    if (!canEdit) return h("li", { class: "face-chip" }, crop);
    const box = h("input", {
      type: "checkbox",
      id: `pick-${face.face}`,
      value: face.face,
      "aria-label": `Select this face (${face.face})`,
    });
    box.addEventListener("change", () => {
      if (box.checked) selected.add(face.face);
      else selected.delete(face.face);
      changed();
    });
    const notThem = person.name ? `Not ${person.name}` : "Not this person";
    const reject = button(notThem, { class: "small", "aria-label": `${notThem} (face ${face.face})` });
    reject.addEventListener("click", () => rejectFace(ctx, person, face, notThem, msg));
    const isCover = currentCover === face.face;
    const coverBtn = button(isCover ? "Cover" : "Make cover", {
      class: "small",
      "aria-pressed": String(isCover),
      "aria-label": isCover ? `Face ${face.face} is the cover` : `Make face ${face.face} the cover`,
    });
    coverBtn.addEventListener("click", async () => {
      if (isCover) return;
      try {
        const out = await post(`/people/${ref}/cover`, { json: { face: face.face } });
        await ctx.navigate(`/people/${out.person}`, { replace: true });
        doneWithUndo(ctx, `Cover chosen for ${label}.`, out.undo);
      } catch (err) {
        msg.error(err);
      }
    });
    const who = button("Move…", {
      class: "small",
      "aria-label": `Move face ${face.face} to someone else, or say it is not a person`,
    });
    who.addEventListener("click", () => {
      document.dispatchEvent(
        new CustomEvent("regard:name-face", {
          cancelable: true,
          detail: {
            faceId: face.face_id,
            photoId,
            anchor: who,
            onDone: () => ctx.navigate(`/people/${person.person}`, { replace: true }),
          },
        }),
      );
    });
    return h(
      "li",
      { class: ["face-chip", isCover && "is-cover"] },
      crop,
      h(
        "div",
        { class: "face-actions" },
        h("div", { class: "check" }, box, h("label", { for: box.id, text: "Select" })),
        coverBtn,
        who,
        reject,
      ),
      face.low_quality ? h("span", { class: "muted", text: "low quality" }) : null,
    );
  };
  const items = [
    ...person.photo_list.map((ph) => ({
      at: ph.taken_at,
      el: h(
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
        h("ul", { class: "faces-in-photo" }, ph.faces.map((f) => chip(f, ph.photo_id))),
      ),
    })),
    ...person.moment_list.map((m) => ({
      at: m.taken_at,
      el: h(
        "li",
        { class: "person-photo person-moment" },
        h(
          "a",
          {
            // The viewer's contract: the video, the moment, the face.
            href: `/photos/${m.video_id}?t=${Math.floor(m.start)}&face=${m.face_id}`,
            class: "thumb-link",
          },
          h("img", {
            src: `/api/photos/${m.video_id}/image?size=256`,
            alt: `${m.name}, ${clockTime(m.start)} to ${clockTime(m.end)}`,
            loading: "lazy",
            width: 256,
            height: 256,
          }),
          h("span", {
            class: "moment-badge",
            text: `▶ ${clockTime(m.start)}–${clockTime(m.end)}`,
          }),
        ),
        h(
          "ul",
          { class: "faces-in-photo" },
          chip({ ...m, face: m.face, face_id: m.face_id }, m.video_id),
        ),
      ),
    })),
  ];
  items.sort((a, b) => (b.at || "").localeCompare(a.at || "") || 0);
  const months = new Map();
  for (const item of items) {
    const { key, label: monthLabel } = monthOf(item.at);
    if (!months.has(key)) months.set(key, { label: monthLabel, items: [] });
    months.get(key).items.push(item.el);
  }
  const keys = [...months.keys()].sort((a, b) => (a === "~" ? 1 : b === "~" ? -1 : b.localeCompare(a)));
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
  move.addEventListener("click", () => {
    document.dispatchEvent(
      new CustomEvent("regard:name-faces", {
        cancelable: true,
        detail: {
          faces: [...selected],
          anchor: move,
          onDone: () => ctx.navigate(`/people/${person.person}`, { replace: true }),
        },
      }),
    );
  });
  return h(
    "section",
    { "aria-labelledby": "photos-h" },
    h("h2", { id: "photos-h", text: "Photos and videos" }),
    canEdit
      ? h(
          "div",
          { class: "toolbar" },
          split,
          move,
          h("span", { class: "hint", text: "Select faces that are someone else." }),
        )
      : null,
    msg.el,
    keys.length ? null : h("p", { text: "No photos of them yet." }),
    keys.map((key) => {
      const id = `month-${key.replace(/[^0-9a-z]/gi, "")}`;
      return h(
        "section",
        { class: "month", "aria-labelledby": id },
        h("h3", { id, class: "month-heading", text: months.get(key).label }),
        h("ul", { class: "person-photos" }, months.get(key).items),
      );
    }),
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
