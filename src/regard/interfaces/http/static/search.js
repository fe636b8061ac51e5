// Search by photo (drop a photo, pick the face if there are several) and by person. What the
// library's policy or a person's consent does not allow, the server leaves out or refuses; the
// page says so plainly.

import { get, post } from "./api.js";
import {
  acceptFiles,
  clear,
  errorText,
  field,
  form,
  framedPhoto,
  h,
  input,
  plural,
  when,
} from "./dom.js";
import { facePicker, facesIn } from "./faces.js";
import { personLabel } from "./people.js";
import { clock, span } from "./player.js";

const SOURCES = {
  owner: "confirmed by you",
  auto: "grouped by Regard",
  suggested: "look-alike, not in this person yet",
};

// Searches' results by the history entry that showed them: going back to it (Escape from the
// viewer, the browser's Back) shows them as they were, scrolled where they were, without
// sending the photo again or searching (and auditing) again. Kept in this tab's memory only: a
// reload or signing out forgets them.
const KEPT = new Map();
const KEEP_AT_MOST = 8;
let keys = 0;

// Signing out forgets every search shown.
window.addEventListener("regard:signed-out", () => KEPT.clear());

/** What this visit of the page shows, kept for its history entry once something is shown. */
function pageState(ctx) {
  let key = window.history.state?.search;
  const st = KEPT.get(key) || {};
  const recalled = KEPT.has(key) ? { ...st } : {};
  let opened = null;
  ctx.main.addEventListener("click", (event) => {
    const a = event.target.closest("a[href]");
    if (a) opened = a.getAttribute("href");
  });
  // Run as the page is left, while its results and scrolling are still there.
  ctx.onCleanup(() => {
    st.scroll = window.scrollY;
    st.opened = opened;
  });
  return {
    recalled,
    save(kind, value) {
      st[kind] = value;
      if (KEPT.has(key) || !ctx.isCurrent()) return;
      keys += 1;
      key = `${Date.now().toString(36)}-${keys}`;
      KEPT.set(key, st);
      if (KEPT.size > KEEP_AT_MOST) KEPT.delete(KEPT.keys().next().value);
      window.history.replaceState({ ...(window.history.state || {}), search: key }, "");
    },
    /** Back on kept results: scrolled where they were, the result opened from them focused. */
    restore() {
      if (!("scroll" in recalled)) return;
      setTimeout(() => {
        window.scrollTo(0, recalled.scroll || 0);
        const link = recalled.opened
          ? ctx.main.querySelector(`.results a[href="${CSS.escape(recalled.opened)}"]`)
          : null;
        link?.focus({ preventScroll: true });
      }, 0);
    },
  };
}

export async function searchPage(ctx) {
  const { main, query } = ctx;
  main.append(
    h("h1", { text: "Search" }),
    h("p", {
      class: "lead",
      text:
        "Find every photo of someone, from a photo of them or from a person Regard knows. " +
        "The photo you give is not kept, and every search is written to the audit log.",
    }),
  );
  const byPhoto = h("section", { class: "panel", "aria-labelledby": "by-photo-h" });
  const byPerson = h("section", { class: "panel", "aria-labelledby": "by-person-h" });
  main.append(byPhoto, byPerson);
  const st = pageState(ctx);
  photoSearch(ctx, byPhoto, st);
  await personSearch(ctx, byPerson, query.get("person"), st);
  st.restore();
}

function photoSearch(ctx, section, st) {
  const live = h("div", { class: "search-live", role: "status" });
  const chooser = h("div", { class: "probe" });
  const results = h("div", { class: "results-area" });
  const file = h("input", { type: "file", name: "photo", accept: "image/*,.heic,.heif" });
  const zone = h(
    "div",
    { class: "dropzone" },
    h("p", { class: "dropzone-text", text: "Drop a photo of the person here, or choose one." }),
    field("Photo to search with", file),
  );
  acceptFiles(zone, file, ([chosen]) => probe(chosen));
  section.append(
    h("h2", { id: "by-photo-h", text: "Search by photo" }),
    zone,
    live,
    chooser,
    results,
  );

  const fail = (err) => {
    shown(live, "");
    clear(results).append(h("p", { class: "error", role: "alert", text: errorText(err) }));
  };

  async function probe(photo) {
    clear(chooser);
    clear(results);
    shown(live, "Looking for faces in the photo…");
    let faces;
    try {
      faces = await facesIn(photo);
    } catch (err) {
      fail(err);
      return;
    }
    if (!faces.length) {
      fail(
        new Error(
          "No face found in this photo. Use a photo where the face is clearly visible, at " +
            "least about 40 pixels wide.",
        ),
      );
      return;
    }
    if (faces.length === 1) {
      await search(photo, 0);
      return;
    }
    const picker = facePicker(ctx, {
      photo,
      faces,
      prompt: "Click the face to search for, or choose it by number (left to right):",
      onPick: (f) => search(photo, f.index),
    });
    chooser.append(picker.el);
    shown(live, `${faces.length} faces found in the photo: choose one.`);
  }

  async function search(photo, index) {
    shown(live, "Searching…");
    try {
      const body = new FormData();
      body.append("photo", photo, photo.name);
      body.append("face_index", String(index));
      const result = await post("/search/face", { form: body });
      st.save("photo", { result, name: photo.name });
      show(result, photo.name);
    } catch (err) {
      fail(err);
    }
  }

  function show(result, name) {
    clear(results);
    const count = result.matches.length;
    const moments = result.moments || [];
    const heading =
      count || moments.length
        ? `${found(count, moments.length)} with this face, best first.`
        : "No photo in the library has this face.";
    said(live, heading);
    if (result.refused) results.append(refusal(result.refused));
    results.append(
      h("h3", { text: heading }),
      h("p", {
        class: "hint",
        text:
          `Threshold ${result.threshold} (${result.threshold_source}); ` +
          `${plural(result.library_faces, "face")} searched; ` +
          `about ${result.expected_false_matches} strangers expected per search.`,
      }),
    );
    if (count || !moments.length) results.append(matchList(result.matches));
    if (moments.length) results.append(momentList(moments));
    const possible = possibleList(result.possible || [], result.confirm_as);
    if (possible) results.append(possible);
    if (name) results.append(h("p", { class: "hint", text: `Searched with ${name}.` }));
  }

  if (st.recalled.photo) show(st.recalled.photo.result, st.recalled.photo.name);
}

async function personSearch(ctx, section, initial, st) {
  const live = h("div", { class: "search-live", role: "status" });
  const results = h("div", { class: "results-area" });
  const who = input({ name: "person", list: "people-names", value: initial || "", maxlength: 200 });
  const names = h("datalist", { id: "people-names" });
  const people = await get("/people", { signal: ctx.signal });
  for (const p of people) {
    names.append(h("option", { value: p.name || p.person, text: personLabel(p) }));
  }
  const run = async () => {
    const ref = who.value.trim();
    if (!ref) throw new Error("Type a name, or a person's number such as P12.");
    shown(live, "Searching…");
    clear(results);
    const result = await get(`/search/person/${encodeURIComponent(ref)}`, { signal: ctx.signal });
    st.save("person", { result, ref });
    show(result);
  };
  const show = (result) => {
    const label = personLabel(result.person);
    if (result.refused) {
      shown(live, `Nothing shown for ${label}.`);
      results.append(refusal(`Nothing is shown: ${result.refused}.`));
      return;
    }
    const moments = result.moments || [];
    const heading = `${found(result.matches.length, moments.length)} of ${label}, best first.`;
    said(live, heading);
    results.append(
      h(
        "h3",
        {},
        h("a", { href: `/people/${result.person.person}`, text: label }),
        ` — ${heading}`,
      ),
      matchList(result.matches),
      ...(moments.length ? [momentList(moments)] : []),
    );
    const possible = possibleList(result.possible || [], {
      person: result.person.person,
      name: result.person.name,
    });
    if (possible) results.append(possible);
  };
  const fail = (err) => {
    shown(live, "");
    clear(results).append(h("p", { class: "error", role: "alert", text: errorText(err) }));
  };
  section.append(
    h("h2", { id: "by-person-h", text: "Search by person" }),
    form(
      { class: "inline-form", role: "search", "aria-label": "Search by person" },
      [
        field("Name or number", who, "A name you gave, or a number such as P12."),
        names,
        h("button", { type: "submit", class: "primary", text: "Find their photos" }),
      ],
      () => run().catch(fail),
    ),
    live,
    results,
  );
  if (st.recalled.person) {
    who.value = st.recalled.person.ref;
    show(st.recalled.person.result);
  } else if (initial) await run().catch(fail);
}

/** Progress or a problem, shown on the status line. */
function shown(live, text) {
  live.textContent = text;
  live.classList.remove("visually-hidden");
}

/** What the results' heading says, told to a screen reader by the status line without
 * showing it a second time above the heading; progress ("Searching…") stays visible. */
function said(live, text) {
  live.textContent = text;
  live.classList.add("visually-hidden");
}

function refusal(text) {
  return h("p", { class: "notice refused", role: "status", text });
}

/**
 * Matches, best first: each photo with the matched faces outlined and their scores, and who
 * each face is where the library's policy allows saying so. All of it comes with the results.
 */
function matchList(matches) {
  return h(
    "ol",
    { class: "results" },
    matches.map((m, i) =>
      h(
        "li",
        { class: "result", dataset: { photoId: m.photo_id } },
        h("div", { class: "result-photo" }, matchPhoto(m)),
        h(
          "div",
          {},
          h(
            "p",
            {},
            h("strong", { text: `${i + 1}. Score ${m.score.toFixed(3)}` }),
            " · ",
            h("a", { href: `/photos/${m.photo_id}`, text: `Photo ${m.photo_id}` }),
          ),
          h("p", { class: "path small", text: m.name }),
          m.taken_at ? h("p", { class: "small", text: when(m.taken_at) }) : null,
          h("div", { class: "result-facts" }, matchFacts(m)),
        ),
      ),
    ),
  );
}

function matchPhoto(m) {
  const framed = framedPhoto({
    src: `/api/photos/${m.photo_id}/image?size=256`,
    alt: `${m.name}, the matching face outlined`,
    width: m.width,
    height: m.height,
    imgClass: "result-img",
    // Boxes are in the photo's pixels: without its size they cannot be placed.
    boxes:
      m.width && m.height
        ? m.faces.map((f) => ({
            key: f.face_id,
            box: f.box,
            kind: "match",
            label: f.score.toFixed(2),
          }))
        : [],
  });
  return h("a", { href: `/photos/${m.photo_id}`, class: "frame-link" }, framed.el);
}

function matchFacts(m) {
  const best = m.faces[0];
  return [
    best
      ? h("img", {
          class: "face-crop",
          src: `/api/faces/${best.face_id}/crop`,
          alt: `The matching face, F${best.face_id}`,
          loading: "lazy",
          width: 64,
          height: 64,
        })
      : null,
    h(
      "ul",
      { class: "matched-faces" },
      m.faces.map((f) => {
        const [x, y, w, hgt] = f.box.map((v) => Math.round(v));
        return h(
          "li",
          {},
          `F${f.face_id}: score ${f.score.toFixed(3)}, box ${w}×${hgt} at (${x}, ${y})`,
          f.source ? ` · ${SOURCES[f.source] || f.source}` : "",
          f.low_quality ? " · low quality" : "",
          f.person
            ? h(
                "span",
                {},
                " · ",
                h("a", {
                  href: `/people/${f.person}`,
                  text: f.name || `Unnamed person ${f.person}`,
                }),
              )
            : "",
        );
      }),
    ),
  ];
}

/** "3 photos", "3 photos and 2 moments in videos" or "2 moments in videos". */
function found(photos, moments) {
  if (!moments) return plural(photos, "photo");
  const inVideos = `${plural(moments, "moment")} in videos`;
  return photos ? `${plural(photos, "photo")} and ${inVideos}` : inVideos;
}

/**
 * Video moments whose face matched, best first: the picture at the face's best moment with
 * the face outlined, the video's name, when the moment starts and ends, and its score. Each
 * opens the viewer playing from the moment, with the face boxed.
 */
function momentList(moments) {
  if (!moments.length) return null;
  return h(
    "section",
    { class: "moment-results", "aria-label": "Moments in videos" },
    h("h4", { text: `Moments in videos (${moments.length})` }),
    h(
      "ol",
      { class: "results" },
      moments.map((m, i) => {
        const href = `/photos/${m.video_id}?t=${m.start}&face=${m.face_id}`;
        const still = framedPhoto({
          src: `/api/faces/${m.face_id}/still?size=256`,
          alt: `${m.name} at ${clock(m.best_time)}, the matching face outlined`,
          width: m.width,
          height: m.height,
          imgClass: "result-img",
          boxes:
            m.width && m.height
              ? [{ key: m.face_id, box: m.box, kind: "match", label: m.score.toFixed(2) }]
              : [],
        });
        return h(
          "li",
          { class: "result moment", dataset: { videoId: m.video_id, faceId: m.face_id } },
          h("div", { class: "result-photo" }, h("a", { href, class: "frame-link" }, still.el)),
          h(
            "div",
            {},
            h(
              "p",
              {},
              h("strong", { text: `${i + 1}. Score ${m.score.toFixed(3)}` }),
              " · ",
              h("a", { href, text: `Play from ${clock(m.start)}` }),
            ),
            h("p", { class: "path small", text: m.name }),
            h("p", { class: "small moment-times", text: span(m.start, m.end) }),
            h(
              "p",
              { class: "small" },
              `F${m.face_id}`,
              m.source ? ` · ${SOURCES[m.source] || m.source}` : "",
              m.low_quality ? " · low quality" : "",
              m.person
                ? h(
                    "span",
                    {},
                    " · ",
                    h("a", {
                      href: `/people/${m.person}`,
                      text: m.person_name || `Unnamed person ${m.person}`,
                    }),
                  )
                : "",
            ),
          ),
        );
      }),
    ),
  );
}

/**
 * The second tier: a few photos beyond the threshold that may be the same person (another age,
 * a small or blurry face), each with why it is only possible. The owner confirms one with a
 * button: the face is linked to the person, and grouping keeps it with them.
 */
function possibleList(possible, confirmAs) {
  if (!possible.length) return null;
  const who = confirmAs ? confirmAs.name || `person ${confirmAs.person}` : null;
  return h(
    "section",
    { class: "possible-results", "aria-labelledby": "possible-h" },
    h("h4", { id: "possible-h", text: `Possible matches (${possible.length})` }),
    h("p", {
      class: "hint",
      text:
        "Not sure enough to count as matches: look at each one yourself. " +
        (who
          ? `If one is ${who}, confirm it and it joins them.`
          : "If one is someone you know, name the face from its photo."),
    }),
    h(
      "ol",
      { class: "results possible" },
      possible.map((m) => {
        const f = m.faces[0];
        return h(
          "li",
          { class: "result possible-match", dataset: { photoId: m.photo_id, faceId: f.face_id } },
          h("div", { class: "result-photo" }, matchPhoto(m)),
          h(
            "div",
            {},
            h(
              "p",
              {},
              h("span", { class: "tier-badge", text: "Possible" }),
              " ",
              h("strong", { text: `Score ${f.score.toFixed(3)}` }),
              " · ",
              h("a", { href: `/photos/${m.photo_id}`, text: `Photo ${m.photo_id}` }),
            ),
            h("p", { class: "possible-reason", text: `Why only possible: ${f.reason}.` }),
            h("p", { class: "path small", text: m.name }),
            m.taken_at ? h("p", { class: "small", text: when(m.taken_at) }) : null,
            confirmAs ? confirmButton(f, confirmAs, who) : null,
          ),
        );
      }),
    ),
  );
}

function confirmButton(face, confirmAs, who) {
  const said = h("p", { class: "small", role: "status" });
  const button = h("button", {
    type: "button",
    class: "confirm-match",
    text: `Yes, this is ${who}`,
    "aria-label": `Yes, face F${face.face_id} is ${who}`,
  });
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true;
    said.textContent = "Linking…";
    try {
      const done = await post(`/faces/F${face.face_id}/confirm`, {
        json: { person: confirmAs.person },
      });
      said.textContent = done.text;
      button.remove();
    } catch (err) {
      said.textContent = errorText(err);
      said.classList.add("error");
      button.disabled = false;
    }
  });
  return h("div", { class: "confirm-row" }, button, said);
}
