// People: everyone Regard has grouped, named people first, then by how often they appear;
// tick several to merge or hide them; hidden people wait under "Hidden"; the history of
// corrections below undoes any of them. A person's own page is in person.js.

import { get, post } from "./api.js";
import { button, h, messageArea, plural, uid } from "./dom.js";
import {
  appearsIn,
  confirmMergeMany,
  cover,
  doneWithUndo,
  historySection,
  personLabel,
} from "./peoplekit.js";

export { personLabel } from "./peoplekit.js";
export { personPage } from "./person.js";

function card(p, selection) {
  const link = h(
    "a",
    { href: `/people/${p.person}`, class: "person-link" },
    cover(p),
    h("span", { class: "person-name", text: personLabel(p) }),
    h("span", { class: "person-counts", text: appearsIn(p) }),
    p.confirmed ? h("span", { class: "tag", text: "confirmed" }) : null,
  );
  if (!selection) return h("li", { class: "person-card" }, link);
  const id = uid("select-person");
  const box = h("input", { type: "checkbox", id, class: "person-select", value: p.person });
  box.addEventListener("change", () => selection.toggle(p, box.checked));
  return h(
    "li",
    { class: "person-card selectable" },
    link,
    h(
      "div",
      { class: "check person-check" },
      box,
      h("label", { for: id, text: `Select ${personLabel(p)}` }),
    ),
  );
}

/** The bar that acts on the ticked people: merge them, hide them. */
function selectionBar(ctx, msg) {
  const chosen = new Map();
  const count = h("span", { class: "selection-count", "aria-live": "polite", text: "" });
  const merge = button("Merge selected…", { disabled: true, class: "primary" });
  const hide = button("Hide selected", { disabled: true });
  const clearAll = button("Clear selection", { disabled: true });
  const refresh = () => {
    const n = chosen.size;
    count.textContent = n ? `${plural(n, "person", "people")} selected` : "";
    merge.disabled = n < 2;
    hide.disabled = n < 1;
    clearAll.disabled = n < 1;
  };
  merge.addEventListener("click", async () => {
    try {
      await confirmMergeMany(ctx, [...chosen.values()]);
    } catch (err) {
      msg.error(err);
    }
  });
  hide.addEventListener("click", async () => {
    hide.disabled = true;
    try {
      const entries = [];
      for (const p of chosen.values()) {
        entries.push((await post(`/people/${p.person}/hide`, { json: { hidden: true } })).undo);
      }
      const names = [...chosen.values()].map(personLabel).join(", ");
      await ctx.navigate("/people", { replace: true });
      ctx.announce(`Hidden: ${names}. They are kept, under Hidden below.`, {
        label: "Undo",
        run: async () => {
          for (const entry of entries.reverse()) await post("/people/undo", { json: { entry } });
          await ctx.navigate("/people", { replace: true });
          ctx.announce("Undone: shown again.");
        },
      });
    } catch (err) {
      msg.error(err);
      refresh();
    }
  });
  clearAll.addEventListener("click", () => {
    for (const b of document.querySelectorAll(".person-select")) b.checked = false;
    chosen.clear();
    refresh();
  });
  return {
    el: h(
      "div",
      { class: "toolbar selection-bar", role: "group", "aria-label": "Selected people" },
      merge,
      hide,
      clearAll,
      count,
    ),
    toggle(p, on) {
      if (on) chosen.set(p.person, p);
      else chosen.delete(p.person);
      refresh();
    },
  };
}

function hiddenSection(ctx, hidden) {
  const msg = messageArea();
  return h(
    "details",
    { class: "panel hidden-people" },
    h("summary", { text: `Hidden (${hidden.length})` }),
    h("p", {
      class: "hint",
      text: "Hidden people are kept with their names and faces, out of the way.",
    }),
    msg.el,
    h(
      "ul",
      { class: "hidden-list" },
      hidden.map((p) => {
        const show = button("Show again", {
          class: "small",
          "aria-label": `Show ${personLabel(p)} again`,
        });
        show.addEventListener("click", async () => {
          show.disabled = true;
          try {
            const out = await post(`/people/${p.person}/hide`, { json: { hidden: false } });
            await ctx.navigate("/people", { replace: true });
            doneWithUndo(ctx, `${personLabel(out)} is shown in People again.`, out.undo);
          } catch (err) {
            msg.error(err);
            show.disabled = false;
          }
        });
        return h(
          "li",
          { class: "hidden-person" },
          cover(p, 48),
          h("a", { href: `/people/${p.person}`, text: personLabel(p) }),
          h("span", { class: "person-counts", text: appearsIn(p) }),
          ctx.can("edit_people") ? show : null,
        );
      }),
    ),
  );
}

export async function peoplePage(ctx) {
  const { main, signal } = ctx;
  main.append(h("h1", { text: "People" }));
  const [everyone, history] = await Promise.all([
    get("/people", { signal }),
    historySection(ctx),
  ]);
  const people = everyone.filter((p) => !p.hidden);
  const hidden = everyone.filter((p) => p.hidden);
  const named = people.filter((p) => p.name).length;
  const msg = messageArea();
  main.append(
    h("p", {
      class: "summary",
      text: people.length
        ? `${plural(people.length, "person", "people")}, ${named} named` +
          (hidden.length ? `; ${hidden.length} hidden.` : ".")
        : "Nobody yet: people form as photos with faces are indexed.",
    }),
  );
  const canEdit = ctx.can("edit_people");
  if (canEdit) {
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
        h("a", { href: "/who", class: "button-link primary", text: "Who is this? Name faces" }),
        regroup,
        h("span", { class: "hint", text: "Regrouping keeps every name and correction." }),
      ),
    );
  }
  main.append(msg.el);
  const selection = canEdit && people.length ? selectionBar(ctx, msg) : null;
  if (selection) {
    main.append(
      h("p", { class: "hint", text: "Tick people to merge them into one, or to hide them." }),
      selection.el,
    );
  }
  main.append(
    h(
      "ul",
      { class: "people-grid", "aria-label": "People" },
      people.map((p) => card(p, selection)),
    ),
  );
  if (hidden.length) main.append(hiddenSection(ctx, hidden));
  main.append(history);
}
