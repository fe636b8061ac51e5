// Choosing one face in a photo by clicking it: the photo with its faces boxed and numbered left
// to right, and a button per face for the keyboard. Search by photo, the consent enrolment
// photo and the opt-out selfie all choose a face this way; nobody types a face's number.

import { post } from "./api.js";
import { framedPhoto, h } from "./dom.js";

/** The faces Regard finds in a photo (a File), left to right; the photo is not kept. */
export async function facesIn(photo, signal) {
  const body = new FormData();
  body.append("photo", photo, photo.name);
  return (await post("/probe", { form: body, signal })).faces;
}

/**
 * The photo with its `faces` clickable. `onPick(face, i)` runs when one is chosen, by a click
 * on its box or its button; `chosen()` is the face chosen so far (or null).
 */
export function facePicker(ctx, { photo, faces, prompt, onPick }) {
  const url = URL.createObjectURL(photo);
  ctx.onCleanup(() => URL.revokeObjectURL(url));
  let picked = null;
  const buttons = [];
  const framed = framedPhoto({
    src: url,
    alt: `The photo you chose, with its ${faces.length} faces numbered left to right`,
    imgClass: "probe-photo",
    boxes: faces.map((f, i) => ({
      key: i,
      box: f.box,
      kind: "probe",
      label: `${i + 1}`,
      onclick: () => choose(i),
    })),
  });
  const show = (i, on) => framed.highlight(i, on || i === picked);
  function choose(i) {
    picked = i;
    buttons.forEach((b, j) => {
      b.setAttribute("aria-pressed", String(j === i));
      show(j, false);
    });
    if (onPick) onPick(faces[i], i);
  }
  const list = h("ul", { class: "face-buttons" });
  faces.forEach((f, i) => {
    const b = h("button", {
      type: "button",
      "aria-pressed": "false",
      text: `Face ${i + 1}${f.low_quality ? " (low quality)" : ""}`,
    });
    b.addEventListener("click", () => choose(i));
    for (const [ev, on] of [
      ["mouseenter", true],
      ["mouseleave", false],
      ["focus", true],
      ["blur", false],
    ]) {
      b.addEventListener(ev, () => show(i, on));
    }
    buttons.push(b);
    list.append(h("li", {}, b));
  });
  return {
    el: h("div", { class: "face-picker" }, h("p", { text: prompt }), framed.el, list),
    chosen: () => (picked === null ? null : faces[picked]),
  };
}
