// Asking before a change that is hard to take back: a modal <dialog> that says exactly what
// will happen. The browser's own modal dialog keeps focus inside it, Escape cancels, and the
// page behind cannot be clicked; focus returns to where it was when the dialog closes.

import { append, button, clear, h, uid } from "./dom.js";

/**
 * Ask first. `body` is a node or a function returning nodes, called again whenever a choice in
 * `choices` changes (so the text can say what the choice does); `check()` returns why the
 * answer cannot be taken yet, or nothing. Resolves true when confirmed, false when cancelled.
 */
export function ask({ title, body, choices = null, confirm, danger = false, check = null }) {
  const titleId = uid("ask-title");
  const bodyId = uid("ask-body");
  const text = h("div", { class: "ask-body", id: bodyId });
  const problem = h("div", { class: "messages" });
  const render = () => {
    append(clear(text), [typeof body === "function" ? body() : body]);
  };
  render();
  if (choices) choices.addEventListener("change", render);
  const yes = button(confirm, { class: danger ? "danger" : "primary" });
  const no = button("Cancel");
  const dialog = h(
    "dialog",
    { class: "ask", "aria-labelledby": titleId, "aria-describedby": bodyId },
    h("h2", { id: titleId, text: title }),
    text,
    choices,
    problem,
    h("div", { class: "row-actions ask-actions" }, yes, no),
  );
  const opener = document.activeElement;
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(answer);
    });
    no.addEventListener("click", () => dialog.close());
    yes.addEventListener("click", () => {
      const why = check ? check() : null;
      if (why) {
        clear(problem).append(h("p", { class: "error", role: "alert", text: why }));
        return;
      }
      answer = true;
      dialog.close();
    });
    dialog.showModal();
    // The first choice if there is one to make; otherwise the harmless button.
    const first = choices?.querySelector("input");
    (first || no).focus();
  });
}

/** Radio buttons for a dialog: [[value, label], …]; nothing chosen unless `chosen` says. */
export function radios(legend, name, options, chosen = null) {
  return h(
    "fieldset",
    { class: "checks" },
    h("legend", { text: legend }),
    options.map(([value, label]) => {
      const id = uid(name);
      return h(
        "div",
        { class: "check" },
        h("input", { type: "radio", id, name, value, checked: value === chosen }),
        h("label", { for: id, text: label }),
      );
    }),
  );
}

export function chosenRadio(el, name) {
  return el?.querySelector(`input[name="${name}"]:checked`)?.value ?? null;
}
