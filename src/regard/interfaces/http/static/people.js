// People: the grid of everyone Regard has grouped, and one person's page where the owner
// names, merges, splits and rejects faces. Every correction is a hard constraint for Regard.

import { get, post } from "./api.js";
import {
  button,
  field,
  form,
  h,
  input,
  messageArea,
  plural,
  select,
  when,
} from "./dom.js";

function facesIn(p) {
  return `${plural(p.faces, "face")} in ${plural(p.photos, "photo")}`;
}

export function personLabel(p) {
  return p.name || `Unnamed person ${p.person}`;
}

function cover(p, size = 96) {
  if (p.cover_face_id == null) {
    return h("span", { class: "cover placeholder", "aria-hidden": "true" });
  }
  return h("img", {
    class: "cover",
    src: `/api/faces/${p.cover_face_id}/crop`,
    alt: "",
    loading: "lazy",
    width: size,
    height: size,
  });
}

export async function peoplePage(ctx) {
  const { main, signal } = ctx;
  main.append(h("h1", { text: "People" }));
  const people = await get("/people", { signal });
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
  if (ctx.can("edit_people") && people.length > 1) main.append(mergeForm(ctx, people));
}

function mergeForm(ctx, people, keepRef) {
  const msg = messageArea();
  const options = people.map((p) => [p.person, `${personLabel(p)} (${p.person})`]);
  const others = keepRef ? options.filter(([ref]) => ref !== keepRef) : options;
  const keep = keepRef ? null : select({ name: "keep" }, options, options[0]?.[0]);
  const other = select({ name: "other" }, others, others[keepRef ? 0 : 1]?.[0]);
  return h(
    "section",
    { class: "panel", "aria-labelledby": "merge-h" },
    h("h2", { id: "merge-h", text: keepRef ? "Same person as someone else?" : "Merge two people" }),
    form(
      { class: "stack narrow" },
      [
        keep ? field("Keep", keep) : null,
        field(keepRef ? "Their faces join this person" : "Add the faces of", other),
        msg.el,
        h("button", { type: "submit", text: "Merge" }),
      ],
      async () => {
        const keepValue = keepRef || keep.value;
        if (keepValue === other.value) throw new Error("Choose two different people.");
        const out = await post("/people/merge", { json: { keep: keepValue, other: other.value } });
        await ctx.navigate(`/people/${out.person}`, { replace: Boolean(keepRef) });
        ctx.announce(`Merged: ${personLabel(out)} now has ${plural(out.faces, "face")}.`);
      },
      msg,
    ),
  );
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
      cover({ cover_face_id: person.cover_face ? Number(person.cover_face.slice(1)) : null }, 128),
      h(
        "div",
        {},
        h("p", {
          text:
            `${person.person} · ${facesIn(person)} · ` +
            (person.confirmed ? "confirmed by you" : "grouped by Regard, not confirmed yet"),
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
    if (people.length > 1) main.append(mergeForm(ctx, people, person.person));
  }
}

function nameForm(ctx, person) {
  const msg = messageArea();
  const name = input({ name: "name", value: person.name || "", maxlength: 200 });
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
      ],
      async () => {
        const out = await post(`/people/${encodeURIComponent(person.person)}/name`, {
          json: { name: name.value },
        });
        await ctx.navigate(`/people/${out.person}`, { replace: true });
        ctx.announce(`Named ${out.person} ${out.name}: ${facesIn(out)}.`);
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
          reject.addEventListener("click", async () => {
            reject.disabled = true;
            try {
              await post(`/people/${ref}/reject`, { json: { face: f.face } });
              await ctx.navigate(`/people/${person.person}`, { replace: true });
              ctx.announce(`${f.face} is no longer in ${label}, and will not be put back.`);
            } catch (err) {
              msg.error(err);
              reject.disabled = false;
            }
          });
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
      ctx.announce(`Split off: the ${plural(out.faces, "face")} you chose now form ${out.person}.`);
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
