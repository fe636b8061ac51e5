// "Who is this?": the faces nobody has named, one group at a time, largest first (a group is
// an unnamed person Regard formed, or one face alone), with the photos and video moments it
// is in and the named person it most looks like, and why. Accept the suggestion, type a name,
// skip, or say it is not a person; the queue moves on. Keys: Y accepts, S skips, N names.

import { ApiError, get, post } from "./api.js";
import { button, clear, h, messageArea, plural } from "./dom.js";
import { nameBox } from "./namer.js";
import { personLabel } from "./peoplekit.js";

const PAGE = 10;

function seenIn(group) {
  return h(
    "ul",
    { class: "who-photos", "aria-label": "Where these faces are seen" },
    group.seen_in.map((s) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: s.link, class: "thumb-link" },
          h("img", {
            src: `/api/photos/${s.photo_id}/image?size=256`,
            alt:
              s.media === "video"
                ? `A video, at ${Math.floor(s.start || 0)} seconds`
                : `Photo ${s.photo_id}`,
            loading: "lazy",
            width: 128,
            height: 128,
          }),
          s.media === "video" ? h("span", { class: "moment-badge", text: "▶ video" }) : null,
        ),
      ),
    ),
  );
}

export async function whoIsThisPage(ctx) {
  const { main, signal } = ctx;
  main.append(h("h1", { text: "Who is this?" }));
  if (!ctx.can("edit_people")) {
    main.append(h("p", { text: "Naming faces is for the library's owners and members." }));
    return;
  }
  main.append(
    h("p", {
      class: "hint",
      text:
        "Faces nobody has named yet, the most often seen first. Keys: Y takes the suggestion, " +
        "N goes to the name box, S skips.",
    }),
  );
  const msg = messageArea();
  const stage = h("div", { class: "who-stage", "aria-live": "polite" });
  main.append(msg.el, stage);
  const skipped = new Set();
  let people = await get("/people", { signal });
  let keys = null;

  async function next() {
    msg.clear();
    const limit = Math.min(100, skipped.size + PAGE);
    const queue = await get("/faces/unnamed", { signal, params: { limit } });
    const left = queue.groups.filter((g) => !skipped.has(g.key));
    clear(stage);
    if (keys) document.removeEventListener("keydown", keys);
    keys = null;
    if (!left.length) {
      stage.append(
        h("p", {
          class: "summary",
          text: queue.total
            ? `You skipped the ${plural(queue.total, "group")} left. Reload the page to see them again.`
            : "Every face has a name. New ones appear here as photos are added.",
        }),
        h("a", { href: "/people", text: "Go to People" }),
      );
      return;
    }
    show(left[0], queue.total - skipped.size);
  }

  async function run(request, done) {
    try {
      const out = await request();
      const undoEntry = out.undo;
      ctx.announce(done(out), {
        label: "Undo",
        run: async () => {
          const back = await post("/people/undo", { json: { entry: undoEntry } });
          ctx.announce(`Undone: ${back.text}`);
          people = await get("/people");
          await next();
        },
      });
      people = await get("/people");
      await next();
      return out;
    } catch (err) {
      if (err instanceof ApiError && err.type === "NameTakenError") throw err;
      msg.error(err);
      return null;
    }
  }

  function show(group, left) {
    const faces = group.face_ids.map((id) => `F${id}`).join(",");
    const label = group.person ? `these ${group.faces} faces` : "this face";
    const giveTo = (person) =>
      group.person
        ? run(
            () => post("/people/merge", { json: { keep: person.person, other: group.person } }),
            (out) => `${plural(group.faces, "face")} joined ${personLabel(out)}.`,
          )
        : run(
            () => post("/faces/name", { json: { faces, person: person.person } }),
            (out) => out.text,
          );
    const nameNew = async (name) => {
      try {
        // All the group's faces to someone new (the group's person, emptied, goes): undoable.
        await run(
          () => post("/faces/name", { json: { faces, name } }),
          (out) => out.text,
        );
      } catch (err) {
        const holder = people.find((p) => p.person === err.extra.person);
        offerHolder(holder || { person: err.extra.person, name });
      }
    };
    const offerArea = h("div", { class: "who-offer", role: "status" });
    const offerHolder = (holder) => {
      const yes = button(`Yes, this is ${personLabel(holder)}`, { class: "primary" });
      yes.addEventListener("click", () => giveTo(holder));
      clear(offerArea).append(
        h("p", {}, `${personLabel(holder)} is already in People. `, yes),
      );
      yes.focus();
    };
    const box = nameBox({
      people,
      label: "Name",
      onPick: ({ person, name, typed }) => {
        if (person && typed) offerHolder(person);
        else if (person) giveTo(person);
        else nameNew(name);
      },
    });
    const suggestion = group.suggestion;
    const accept = suggestion
      ? button(`Yes, it's ${suggestion.name}`, {
          class: "primary",
          "aria-keyshortcuts": "Y",
        })
      : null;
    if (accept) {
      accept.addEventListener("click", () =>
        giveTo({ person: suggestion.person, name: suggestion.name }),
      );
    }
    const skip = button("Skip", { "aria-keyshortcuts": "S" });
    skip.addEventListener("click", () => {
      skipped.add(group.key);
      next();
    });
    const notPerson = button("Not a person", {
      "aria-label": `Not a person: ${label} are a false detection`,
    });
    notPerson.addEventListener("click", async () => {
      const entries = [];
      try {
        for (const id of group.face_ids) {
          entries.push((await post(`/faces/F${id}/not-a-person`)).undo);
        }
      } catch (err) {
        msg.error(err);
      }
      ctx.announce(`${plural(entries.length, "face")} marked as not a person.`, {
        label: "Undo",
        run: async () => {
          for (const entry of entries.reverse()) await post("/people/undo", { json: { entry } });
          ctx.announce("Undone.");
          await next();
        },
      });
      await next();
    });
    stage.append(
      h(
        "article",
        { class: "panel who-card", "aria-labelledby": "who-h" },
        h("p", { class: "who-left", text: `${plural(left, "group")} to name` }),
        h(
          "div",
          { class: "who-head" },
          h("img", {
            class: "cover who-face",
            src: `/api/faces/${group.face_id}/crop`,
            alt: `The clearest of ${label}`,
            width: 128,
            height: 128,
          }),
          h(
            "div",
            {},
            h("h2", {
              id: "who-h",
              tabindex: "-1",
              text: `${plural(group.faces, "face")} in ${plural(group.photos, "photo")}`,
            }),
            suggestion
              ? h("p", { class: "who-suggestion" }, `Suggestion: ${suggestion.text}. `, accept)
              : h("p", { class: "muted", text: "No suggestion: they look like nobody named." }),
          ),
        ),
        seenIn(group),
        box.el,
        offerArea,
        h("div", { class: "row-actions" }, skip, notPerson),
      ),
    );
    keys = (e) => {
      if (e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
      if (document.querySelector("dialog[open]")) return;
      const k = e.key.toLowerCase();
      if (k === "y" && accept) accept.click();
      else if (k === "s") skip.click();
      else if (k === "n") {
        e.preventDefault();
        box.focus();
      } else return;
    };
    document.addEventListener("keydown", keys);
    ctx.onCleanup(() => document.removeEventListener("keydown", keys));
    // The group's heading: read out first, and Y, N and S work from there.
    stage.querySelector("#who-h").focus();
  }

  await next();
}
