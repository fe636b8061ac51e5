// Regard's web app: a small router over the page routes, the signed-in session and the page
// shell. Each page is a function that renders into <main> and talks to the JSON API.

import { ApiError, dropEarly, get, post, setCsrf } from "./api.js";
import { button, clear, errorText, h } from "./dom.js";
import { libraryPage, statusPage } from "./library.js";

// The library (the first screen) comes with the app; every other page's module is fetched
// when it is first opened, so the first screen waits for no module it does not use.
const lazy = (load, name) => async (ctx) => {
  const [mod] = await Promise.all([load(), namer()]);
  // Left while its module loaded (Back pressed at once): the next page has <main> now.
  if (!ctx.isCurrent()) return null;
  return mod[name](ctx);
};
const accountPage = lazy(() => import("./account.js"), "accountPage");
const loginPage = lazy(() => import("./account.js"), "loginPage");
const setupPage = lazy(() => import("./account.js"), "setupPage");
const auditPage = lazy(() => import("./rights.js"), "auditPage");
const rightsPage = lazy(() => import("./rights.js"), "rightsPage");
const eventsPage = lazy(() => import("./events.js"), "eventsPage");
const peoplePage = lazy(() => import("./people.js"), "peoplePage");
const personPage = lazy(() => import("./people.js"), "personPage");
const searchPage = lazy(() => import("./search.js"), "searchPage");
const sharePage = lazy(() => import("./share.js"), "sharePage");
const viewerPage = lazy(() => import("./viewer.js"), "viewerPage");
const whoIsThisPage = lazy(() => import("./whois.js"), "whoIsThisPage");
const trashPage = lazy(() => import("./trash.js"), "trashPage");
const memoriesPage = lazy(() => import("./memories.js"), "memoriesPage");
const memoryPage = lazy(() => import("./memories.js"), "memoryPage");

// Any page may ask for a face to be named (regard:name-face…); namer.js answers, and says what
// it did here. Loaded with the first page that may ask, or once the first screen is shown.
let namerLoaded = null;
function namer() {
  namerLoaded ||= import("./namer.js").then((m) => m.setAnnouncer(announce));
  return namerLoaded;
}

// Until namer.js is in, a request to name faces is taken here (answered at once, as the pages
// expect) and handed to it, as it was sent, once it has loaded.
const NAMER_EVENTS = ["regard:name-face", "regard:name-faces", "regard:name-faces-in"];
function holdForNamer(event) {
  if (event.defaultPrevented || event.detail?.handedOn) return;
  event.preventDefault();
  const { type, detail } = event;
  namer()
    .then(() => {
      for (const t of NAMER_EVENTS) document.removeEventListener(t, holdForNamer);
      const again = { ...detail, handedOn: true };
      document.dispatchEvent(new CustomEvent(type, { cancelable: true, detail: again }));
    })
    .catch((err) => announce(errorText(err), null, { error: true }));
}
for (const t of NAMER_EVENTS) document.addEventListener(t, holdForNamer);

const ROUTES = [
  { path: "/", page: libraryPage, title: "Library", nav: "/library" },
  { path: "/library", page: libraryPage, title: "Library", nav: "/library" },
  { path: "/photos/:id", page: viewerPage, title: "Photo", nav: "/library" },
  { path: "/trash", page: trashPage, title: "Trash", nav: "/library" },
  { path: "/people", page: peoplePage, title: "People", nav: "/people" },
  { path: "/people/:ref", page: personPage, title: "Person", nav: "/people" },
  { path: "/who", page: whoIsThisPage, title: "Who is this?", nav: "/people" },
  { path: "/search", page: searchPage, title: "Search", nav: "/search" },
  { path: "/memories", page: memoriesPage, title: "Memories", nav: "/memories" },
  { path: "/memories/:id", page: memoryPage, title: "Memory", nav: "/memories" },
  { path: "/share", page: sharePage, title: "Share safely", nav: "/share" },
  { path: "/events", page: eventsPage, title: "Events", nav: "/events" },
  { path: "/rights", page: rightsPage, title: "Consent & rights", nav: "/rights" },
  { path: "/audit", page: auditPage, title: "Audit log", nav: "/audit" },
  { path: "/status", page: statusPage, title: "Status", nav: "/status" },
  { path: "/account", page: accountPage, title: "Account", nav: "/account" },
  { path: "/login", page: loginPage, title: "Sign in", public: true },
  { path: "/setup", page: setupPage, title: "First run", public: true },
];

const NAV = [
  { href: "/library", text: "Library", needs: ["view"] },
  { href: "/people", text: "People", needs: ["view"] },
  { href: "/search", text: "Search", needs: ["search"] },
  { href: "/memories", text: "Memories", needs: ["view"] },
  { href: "/share", text: "Share", needs: ["view"] },
  { href: "/events", text: "Events", needs: ["view"] },
  { href: "/rights", text: "Consent & rights", needs: ["consent", "access_report", "erase"] },
  { href: "/audit", text: "Audit log", needs: ["audit"] },
  { href: "/status", text: "Status", needs: ["view"] },
  { href: "/account", text: "Account", needs: [] },
];

// On a phone: the three places people go most, one tap away at the bottom of the screen.
const BOTTOM = [
  { href: "/library", text: "Photos", needs: ["view"] },
  { href: "/people", text: "People", needs: ["view"] },
  { href: "/search", text: "Search", needs: ["search"] },
];

const state = { session: null, current: null };

function match(pattern, path) {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i += 1) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

function can(permission) {
  return Boolean(state.session && state.session.permissions.includes(permission));
}

// How long plain news stays: an error, or a message with an action (Undo), stays until it is
// closed or replaced; nothing goes while the pointer is on it or focus is in it.
const TOAST_MS = 10000;
let toastTimer = 0;

/** A message at the top of the page; `action` ({label, run}) adds a button, such as Undo.
 * `error: true` for what went wrong. Each has a Dismiss button; plain news goes by itself. */
function announce(text, action, { error = false } = {}) {
  const toast = document.getElementById("toast");
  clearTimeout(toastTimer);
  clear(toast);
  if (!text) return;
  const line = h("p", { text, class: error ? "toast-error" : null });
  if (action) {
    const act = button(action.label, { class: "small toast-action" });
    act.addEventListener("click", async () => {
      act.disabled = true;
      try {
        await action.run();
      } catch (err) {
        announce(errorText(err), null, { error: true });
      }
    });
    line.append(" ", act);
  }
  const close = button("", { class: "toast-close", "aria-label": "Dismiss", title: "Dismiss" });
  close.addEventListener("click", () => {
    announce("");
    document.getElementById("main").focus({ preventScroll: true });
  });
  line.append(close);
  toast.append(line);
  if (!action && !error) {
    const fade = () => {
      const held = toast.matches(":hover") || toast.contains(document.activeElement);
      if (held) toastTimer = setTimeout(fade, 1000);
      else clear(toast);
    };
    toastTimer = setTimeout(fade, TOAST_MS);
  }
}

export function navigate(to, { replace = false } = {}) {
  const url = new URL(to, window.location.origin);
  if (replace) window.history.replaceState(null, "", url);
  // Where each page was opened from, so that the viewer's Escape can go back there.
  else window.history.pushState({ from: window.location.pathname + window.location.search }, "", url);
  return render();
}

async function loadSession() {
  try {
    const session = await get("/session");
    setCsrf(session.csrf);
    state.session = session;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    state.session = null;
  }
  renderHeader();
  return state.session;
}

function signedIn(session) {
  setCsrf(session.csrf);
  state.session = { permissions: [], ...session };
  // Sign-in and setup do not list permissions; the session does.
  return loadSession();
}

function signedOut() {
  state.session = null;
  setCsrf(null);
  // Pages that keep what they showed in memory (search results) forget it.
  window.dispatchEvent(new CustomEvent("regard:signed-out"));
  renderHeader();
}

async function signOut() {
  try {
    await post("/logout");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) {
      announce(errorText(err), null, { error: true });
      return;
    }
  }
  signedOut();
  await navigate("/login");
  announce("You are signed out.");
}

function renderHeader() {
  const header = document.getElementById("site-header");
  clear(header);
  const brand = h("a", { class: "brand", href: state.session ? "/library" : "/login" }, "Regard");
  header.append(brand);
  if (!state.session) {
    document.getElementById("bottom-nav")?.remove();
    return;
  }
  const list = h("ul", { class: "nav-list" });
  for (const item of NAV) {
    if (item.needs.length && !item.needs.some(can)) continue;
    list.append(h("li", {}, h("a", { href: item.href, text: item.text })));
  }
  // On a narrow screen the full list folds behind a Menu button (the bottom bar has the rest).
  const menu = button("Menu", {
    class: "link-button nav-toggle",
    "aria-expanded": "false",
    "aria-controls": "main-nav",
  });
  menu.addEventListener("click", () => {
    const open = menu.getAttribute("aria-expanded") !== "true";
    menu.setAttribute("aria-expanded", String(open));
    header.classList.toggle("nav-open", open);
  });
  list.addEventListener("click", (event) => {
    if (event.target.closest("a")) {
      menu.setAttribute("aria-expanded", "false");
      header.classList.remove("nav-open");
    }
  });
  renderBottomNav();
  header.append(
    menu,
    h("nav", { "aria-label": "Main", id: "main-nav" }, list),
    h(
      "div",
      { class: "who" },
      h("span", {
        class: "who-name",
        text: `${state.session.user.name} (${state.session.user.role})`,
      }),
      button("Sign out", { class: "link-button", onclick: signOut }),
    ),
  );
  markCurrent();
}

function renderBottomNav() {
  document.getElementById("bottom-nav")?.remove();
  if (!state.session) return;
  const items = BOTTOM.filter((item) => item.needs.some(can));
  document.body.append(
    h(
      "nav",
      { class: "bottom-nav", id: "bottom-nav", "aria-label": "Sections" },
      h(
        "ul",
        {},
        items.map((item) => h("li", {}, h("a", { href: item.href, text: item.text }))),
      ),
    ),
  );
  markCurrent();
}

function markCurrent() {
  const nav = state.current?.route?.nav;
  for (const a of document.querySelectorAll("#site-header nav a, #bottom-nav a")) {
    if (a.getAttribute("href") === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function notFound(main) {
  main.append(
    h("h1", { tabindex: "-1", text: "Page not found" }),
    h("p", {}, "There is no page here. ", h("a", { href: "/library", text: "Go to the library" })),
  );
}

async function render() {
  if (state.current) {
    state.current.controller.abort();
    for (const fn of state.current.cleanups) fn();
  }
  const url = new URL(window.location.href);
  let route = null;
  let params = null;
  for (const r of ROUTES) {
    params = match(r.path, url.pathname);
    if (params) {
      route = r;
      break;
    }
  }
  const controller = new AbortController();
  const current = { route, controller, cleanups: [] };
  state.current = current;
  const main = clear(document.getElementById("main"));
  main.setAttribute("aria-busy", "true");
  announce("");
  markCurrent();
  const ctx = {
    params: params || {},
    query: url.searchParams,
    main,
    signal: controller.signal,
    onCleanup: (fn) => current.cleanups.push(fn),
    navigate,
    can,
    announce,
    get session() {
      return state.session;
    },
    signedIn,
    signedOut,
    isCurrent: () => state.current === current,
  };
  try {
    if (!route) {
      document.title = "Not found · Regard";
      notFound(main);
      return;
    }
    document.title = `${route.title} · Regard`;
    if (!route.public && !state.session) {
      const { needed } = await get("/setup");
      if (needed) return navigate("/setup", { replace: true });
      if (!(await loadSession())) {
        const next = url.pathname + url.search;
        return navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
      }
    }
    await route.page(ctx);
  } catch (err) {
    if (err.name === "AbortError" || state.current !== current) return;
    if (err instanceof ApiError && err.status === 401 && !route?.public) {
      state.session = null;
      renderHeader();
      const next = url.pathname + url.search;
      return navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    }
    if (!main.querySelector("h1")) main.append(h("h1", { tabindex: "-1", text: route.title }));
    main.append(h("p", { class: "error", role: "alert", text: errorText(err) }));
  } finally {
    if (state.current === current) {
      main.removeAttribute("aria-busy");
      focusHeading(main);
    }
  }
}

let firstRender = true;
function focusHeading(main) {
  // After a navigation, screen readers start at the new page's heading (not on first load).
  if (firstRender) {
    firstRender = false;
    return;
  }
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/static/")) return;
  if (url.pathname === window.location.pathname && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => render());

// A file dropped beside a drop zone must not replace the app with the file.
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => event.preventDefault());
}

async function start() {
  try {
    await loadSession();
  } catch (err) {
    announce(errorText(err), null, { error: true });
  }
  await render();
  dropEarly();
  namer().catch(() => null);
}

start();
