// Naming a face where it is seen. Any page asks by dispatching a cancelable CustomEvent on
// `document`; this module answers it (and calls `preventDefault()` so the page knows):
//   regard:name-face      {faceId, photoId, anchor, onDone}  one face (a photo's, a video's)
//   regard:name-faces-in  {photoIds, onDone}                 faces chosen across photos
//   regard:name-faces     {faces: ["F7", ...], anchor, onDone} faces chosen already
// A dialog opens at the anchor: a name box suggesting people as you type (a combobox), the
// offer of an existing person when their name is typed (never a second person of one name),
// "Not a person", "Someone else"; then `onDone(answer)`. Every change can be undone.

import { ApiError, get, post } from "./api.js";
import { button, clear, h, plural, uid } from "./dom.js";
import { appearsIn, cover, personLabel } from "./peoplekit.js";

let announce = () => {};

/** How the namer says what it did (the app's message line, with its Undo button). */
export function setAnnouncer(fn) {
  announce = fn;
}

/** Undo a correction from its message. */
function undoAction(entry, after) {
  return {
    label: "Undo",
    run: async () => {
      const out = await post("/people/undo", { json: { entry } });
      // The page shows the change first (a navigation clears the message line), then says it.
      if (after) await after(out);
      announce(`Undone: ${out.text}`);
    },
  };
}

// --- the name box: a combobox over the people there are ------------------------------------

/**
 * A text box that suggests people as you type (arrow keys move, Enter picks, Escape closes
 * the list). `onPick({person})` for someone there is, `onPick({name})` for a new name, and
 * `onPick({person, typed: true})` when a name someone has is typed out in full: the caller
 * offers them, and never makes a second person of that name.
 */
export function nameBox({ people, label = "Name", onPick }) {
  const id = uid("namebox");
  const listId = uid("names");
  const hintId = uid("namebox-hint");
  const box = h("input", {
    id,
    type: "text",
    class: "namer-input",
    role: "combobox",
    autocomplete: "off",
    maxlength: 200,
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
    "aria-describedby": hintId,
  });
  const list = h("ul", { id: listId, role: "listbox", class: "namer-options", hidden: true });
  list.setAttribute("aria-label", "People");
  let options = [];
  let active = -1;
  let browsing = false;
  const named = people.filter((p) => p.name);
  const exactly = (text) => named.find((p) => p.name.toLowerCase() === text.toLowerCase());
  function render() {
    const typed = box.value.trim().replace(/\s+/g, " ");
    const key = typed.toLowerCase();
    const found = named.filter((p) => !key || p.name.toLowerCase().includes(key));
    options = found.slice(0, 8).map((p) => ({ person: p }));
    if (typed && !exactly(typed)) options.push({ name: typed });
    if (active >= options.length) active = options.length - 1;
    clear(list);
    options.forEach((o, i) => {
      const li = h(
        "li",
        {
          id: `${listId}-${i}`,
          role: "option",
          class: "namer-option",
          "aria-selected": String(i === active),
        },
        o.person ? cover(o.person, 32) : h("span", { class: "namer-new", "aria-hidden": "true" }),
        h("span", {
          class: "namer-option-name",
          text: o.person ? o.person.name : `New person: “${o.name}”`,
        }),
        o.person ? h("span", { class: "person-counts", text: appearsIn(o.person) }) : null,
      );
      // mousedown, not click: the box keeps the focus.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        pick(i);
      });
      list.append(li);
    });
    // Open as you type, or on ↓ (an empty box shows no list over the buttons below it).
    const open = options.length > 0 && document.activeElement === box && (typed || browsing);
    list.hidden = !open;
    box.setAttribute("aria-expanded", String(open));
    if (open && active >= 0) box.setAttribute("aria-activedescendant", `${listId}-${active}`);
    else box.removeAttribute("aria-activedescendant");
  }
  function pick(i) {
    const o = options[i];
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    if (o.person) box.value = o.person.name;
    onPick(o.person ? { person: o.person } : { name: o.name });
  }
  box.addEventListener("input", () => {
    active = -1;
    browsing = false;
    render();
  });
  box.addEventListener("focus", render);
  box.addEventListener("blur", () => {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      browsing = true;
      const step = e.key === "ArrowDown" ? 1 : -1;
      active = Math.max(-1, Math.min(options.length - 1, active + step));
      render();
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (active >= 0 && options[active]) return pick(active);
      const typed = box.value.trim().replace(/\s+/g, " ");
      if (!typed) return;
      const holder = exactly(typed);
      list.hidden = true;
      onPick(holder ? { person: holder, typed: true } : { name: typed });
    } else if (e.key === "Escape" && !list.hidden) {
      // Closes the list only; a second Escape closes the dialog.
      e.preventDefault();
      e.stopPropagation();
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
    }
  });
  const el = h(
    "div",
    { class: "field namer-field" },
    h("label", { for: id, text: label }),
    h("div", { class: "namer-combo" }, box, list),
    h("p", {
      id: hintId,
      class: "hint",
      text: "Type a name; ↑ ↓ choose someone there is, Enter takes it.",
    }),
  );
  return { el, input: box, focus: () => box.focus() };
}

// --- the dialog ------------------------------------------------------------------------------

function dialogShell(title, anchor) {
  const titleId = uid("namer-title");
  const messages = h("div", { class: "messages", role: "status", "aria-live": "polite" });
  const body = h("div", { class: "namer-body" });
  const close = button("Cancel");
  const dialog = h(
    "dialog",
    { class: ["namer", anchor && "anchored"], "aria-labelledby": titleId },
    h("h2", { id: titleId, text: title }),
    body,
    messages,
    h("div", { class: "row-actions namer-actions" }, close),
  );
  const opener = document.activeElement;
  if (anchor) anchor.classList.add("namer-anchor");
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (anchor) anchor.classList.remove("namer-anchor");
    const back = anchor?.isConnected ? anchor : opener;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  const say = (text, kind = "error", extra = null) => {
    clear(messages);
    if (text) messages.append(h("p", { class: kind, text }, extra));
  };
  return { dialog, body, actions: dialog.querySelector(".namer-actions"), say, close };
}

/** Run a change from the dialog: its answer is announced with Undo, then `onDone`. */
async function settle(shell, request, onDone) {
  for (const b of shell.dialog.querySelectorAll("button")) b.disabled = true;
  try {
    const out = await request();
    shell.dialog.close();
    if (onDone) await onDone(out);
    announce(out.text, undoAction(out.undo, onDone));
    return out;
  } catch (err) {
    for (const b of shell.dialog.querySelectorAll("button")) b.disabled = false;
    if (err instanceof ApiError && err.type === "NameTakenError" && err.extra.person) {
      return { taken: err.extra.person, message: err.message };
    }
    shell.say(err.message);
    return null;
  }
}

/** Ask "is it them?" where a name someone has was typed; `yes()` gives the faces to them. */
function offer(shell, person, yes) {
  const take = button(`Yes, this is ${personLabel(person)}`, { class: "primary" });
  take.addEventListener("click", yes);
  shell.say(`${personLabel(person)} is already in People (${appearsIn(person)}).`, "offer", [
    " ",
    take,
  ]);
  take.focus();
}

/** The name box and what it does for `faces` (["F7"]). */
function namingControls(shell, people, faces, onDone) {
  const assign = (json) => settle(shell, () => post("/faces/name", { json }), onDone);
  const box = nameBox({
    people,
    label: faces.length === 1 ? "Name" : `Name of these ${faces.length} faces`,
    onPick: async ({ person, name, typed }) => {
      if (person && typed) {
        offer(shell, person, () => assign({ faces: faces.join(","), person: person.person }));
        return;
      }
      const out = await assign(
        person ? { faces: faces.join(","), person: person.person } : { faces: faces.join(","), name },
      );
      if (out && out.taken) {
        const holder = people.find((p) => p.person === out.taken) || { person: out.taken };
        offer(shell, holder, () => assign({ faces: faces.join(","), person: out.taken }));
      }
    },
  });
  return box;
}

async function nameOneFace({ faceId, photoId, anchor, onDone }) {
  const face = `F${faceId}`;
  const shell = dialogShell("Who is this?", anchor);
  shell.say("Loading…", "muted");
  let people;
  let info = null;
  try {
    const [all, photo] = await Promise.all([
      get("/people"),
      photoId ? get(`/photos/${photoId}`) : Promise.resolve(null),
    ]);
    people = all;
    info = photo?.faces?.find((f) => f.face_id === Number(faceId)) || null;
  } catch (err) {
    shell.say(err.message);
    return;
  }
  shell.say("");
  if (info && info.face_data !== "kept") {
    // Opted out, withdrawn, erased, expired: never named (the server would refuse it too).
    shell.body.append(
      h("p", {
        class: "error",
        role: "alert",
        text:
          "This face cannot be named: the person it belongs to is not to be recognised " +
          `(face data: ${info.face_data.replace(/_/g, " ")}).`,
      }),
    );
    return;
  }
  const now = info?.person
    ? `Now in ${info.name || `Unnamed person ${info.person}`}.`
    : info
      ? "Now in no person."
      : "";
  const box = namingControls(shell, people, [face], onDone);
  shell.body.append(
    h(
      "div",
      { class: "namer-face" },
      h("img", {
        class: "face-crop",
        src: `/api/faces/${faceId}/crop`,
        alt: "The face you are naming",
        width: 72,
        height: 72,
      }),
      h("p", { class: "namer-now", text: now }),
    ),
    box.el,
  );
  const notPerson = button("Not a person", {
    "aria-label": "Not a person: a false detection, left out of people and counts",
  });
  notPerson.addEventListener("click", () =>
    settle(shell, () => post(`/faces/${face}/not-a-person`), onDone),
  );
  shell.actions.prepend(notPerson);
  if (info?.person) {
    const elsewhere = button("Someone else", {
      "aria-label": `Someone else: take it out of ${info.name || info.person} for good`,
    });
    elsewhere.addEventListener("click", () =>
      settle(shell, () => post(`/faces/${face}/someone-else`), onDone),
    );
    notPerson.after(elsewhere);
  }
  box.focus();
}

async function nameFaces({ faces, anchor, onDone }) {
  const shell = dialogShell(`Move ${plural(faces.length, "face")} to…`, anchor);
  try {
    const people = await get("/people");
    const box = namingControls(shell, people, faces, onDone);
    shell.body.append(box.el);
    box.focus();
  } catch (err) {
    shell.say(err.message);
  }
}

/** Faces of several photos, each a toggle; the chosen ones are named in one go. */
async function nameFacesIn({ photoIds, onDone }) {
  const shell = dialogShell("Name a face across these photos");
  let people;
  let photos;
  try {
    [people, photos] = await Promise.all([
      get("/people"),
      Promise.all(photoIds.slice(0, 60).map((id) => get(`/photos/${id}`))),
    ]);
  } catch (err) {
    shell.say(err.message);
    return;
  }
  const chosen = new Set();
  const list = h("ul", { class: "namer-faces", "aria-label": "Faces in these photos" });
  for (const photo of photos) {
    for (const f of photo.faces) {
      const nameable = f.face_data === "kept";
      const who = f.person ? f.name || `Unnamed person ${f.person}` : "in no person";
      const toggle = h(
        "button",
        {
          type: "button",
          class: "namer-face-toggle",
          "aria-pressed": "false",
          disabled: !nameable,
          "aria-label": nameable
            ? `Face ${f.face} in ${photo.name}, ${who}`
            : `Face ${f.face} in ${photo.name} cannot be named (face data: ${f.face_data})`,
        },
        h("img", {
          class: "face-crop",
          src: `/api/faces/${f.face_id}/crop`,
          alt: "",
          width: 64,
          height: 64,
        }),
        h("span", { class: "namer-face-who", text: nameable ? who : "cannot be named" }),
      );
      toggle.addEventListener("click", () => {
        const on = !chosen.has(f.face);
        if (on) chosen.add(f.face);
        else chosen.delete(f.face);
        toggle.setAttribute("aria-pressed", String(on));
      });
      list.append(h("li", {}, toggle));
    }
  }
  if (!list.children.length) {
    shell.body.append(h("p", { text: "No faces were found in these photos." }));
    return;
  }
  const picked = () => [...chosen];
  const box = nameBox({
    people,
    label: "Who are the faces you chose?",
    onPick: async ({ person, name, typed }) => {
      if (!picked().length) {
        shell.say("Choose the faces first: press each face that is this person.");
        return;
      }
      const faces = picked().join(",");
      const assign = (json) => settle(shell, () => post("/faces/name", { json }), onDone);
      if (person && typed) {
        offer(shell, person, () => assign({ faces, person: person.person }));
        return;
      }
      const out = await assign(person ? { faces, person: person.person } : { faces, name });
      if (out && out.taken) {
        const holder = people.find((p) => p.person === out.taken) || { person: out.taken };
        offer(shell, holder, () => assign({ faces, person: out.taken }));
      }
    },
  });
  shell.body.append(
    h("p", { class: "hint", text: "Press the faces that are one person, then type who." }),
    list,
    box.el,
  );
  list.querySelector("button:not([disabled])")?.focus();
}

const handlers = {
  "regard:name-face": nameOneFace,
  "regard:name-faces": nameFaces,
  "regard:name-faces-in": nameFacesIn,
};

for (const [type, open] of Object.entries(handlers)) {
  document.addEventListener(type, (event) => {
    if (event.defaultPrevented) return;
    event.preventDefault();
    open(event.detail || {}).catch((err) => announce(err.message, null, { error: true }));
  });
}
