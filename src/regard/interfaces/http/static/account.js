// First run, signing in, and accounts: one's own password (given the current one); owners
// manage who else may use the library, with which role, and set new passwords for them.

import { del, get, patch, post } from "./api.js";
import { button, clear, field, form, h, input, messageArea, select, when } from "./dom.js";

const ROLES = [
  ["viewer", "Viewer: looks and searches"],
  ["member", "Member: also adds photos, corrects people, records consents"],
  ["owner", "Owner: everything, including erasure, the audit log and accounts"],
];
const PASSWORD_HINT = "12 to 128 characters; a few unrelated words make a good one.";
// As the server checks them (services/accounts.py): said here before anything is sent.
const MIN_PASSWORD = 12;
const MAX_PASSWORD = 128;

function checkNewAccount(name, password, repeat) {
  const clean = name.trim().split(/\s+/).join(" ");
  if (!clean || clean.length > 64) throw new Error("A user name has 1 to 64 characters.");
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new Error(
      `A password has ${MIN_PASSWORD} to ${MAX_PASSWORD} characters; a few unrelated words ` +
        "make a good one.",
    );
  }
  if (password !== repeat) throw new Error("The two passwords differ.");
}

function safeNext(query) {
  const next = query.get("next") || "/library";
  // Only a path on this site: never an address elsewhere.
  return next.startsWith("/") && !next.startsWith("//") ? next : "/library";
}

export async function setupPage(ctx) {
  const { main, query } = ctx;
  // `serve` prints the address with the one-time token in it: take it, and take it out of the
  // address bar (and so of the history) at once.
  const fromLink = query.get("token") || "";
  if (fromLink) history.replaceState(history.state, "", "/setup");
  main.append(h("h1", { text: "Welcome to Regard" }));
  const { needed } = await get("/setup");
  if (!needed) {
    main.append(
      h(
        "p",
        {},
        "This library already has an owner. ",
        h("a", { href: "/login", text: "Sign in" }),
        ".",
      ),
    );
    return;
  }
  const msg = messageArea();
  const token = input({ name: "token", autocomplete: "off", required: true, spellcheck: "false" });
  token.value = fromLink;
  const name = input({ name: "name", autocomplete: "username", required: true, maxlength: 64 });
  const limits = { minlength: MIN_PASSWORD, maxlength: MAX_PASSWORD, required: true };
  const password = input({
    type: "password",
    name: "password",
    autocomplete: "new-password",
    ...limits,
  });
  const repeat = input({
    type: "password",
    name: "repeat",
    autocomplete: "new-password",
    ...limits,
  });
  main.append(
    h(
      "p",
      { class: "lead" },
      "Create the owner's account. The owner can do everything: add photos, name people, ",
      "record consents, erase people and read the audit log.",
    ),
    form(
      { class: "stack narrow", "aria-label": "Create the owner" },
      [
        field(
          "Setup token",
          token,
          fromLink
            ? "Taken from the address regard serve printed; it works once."
            : "Printed on the console where regard serve was started (the address it " +
                "printed fills it in); it works once.",
        ),
        field("Your name", name),
        field("Password", password, PASSWORD_HINT),
        field("Password again", repeat),
        msg.el,
        h("button", { type: "submit", class: "primary", text: "Create owner and sign in" }),
      ],
      async () => {
        if (!token.value.trim()) {
          throw new Error("Paste the setup token printed where regard serve was started.");
        }
        checkNewAccount(name.value, password.value, repeat.value);
        const session = await post("/setup", {
          json: { token: token.value.trim(), name: name.value, password: password.value },
        });
        await ctx.signedIn(session);
        await ctx.navigate("/library");
        // A library indexed before the web app was first opened has photos already.
        const { total } = await get("/timeline/months").catch(() => ({ total: 0 }));
        ctx.announce(
          total
            ? `Welcome, ${session.user.name}.`
            : `Welcome, ${session.user.name}. Add photos to start.`,
        );
      },
      msg,
    ),
  );
}

export async function loginPage(ctx) {
  const { main, query } = ctx;
  if (ctx.session) {
    await ctx.navigate(safeNext(query), { replace: true });
    return;
  }
  const { needed } = await get("/setup");
  if (needed) {
    await ctx.navigate("/setup", { replace: true });
    return;
  }
  const msg = messageArea();
  const name = input({ name: "name", autocomplete: "username", required: true });
  const password = input({ type: "password", name: "password", autocomplete: "current-password" });
  main.append(
    h("h1", { text: "Sign in" }),
    form(
      { class: "stack narrow", "aria-label": "Sign in" },
      [
        field("Name", name),
        field("Password", password),
        msg.el,
        h("button", { type: "submit", class: "primary", text: "Sign in" }),
      ],
      async () => {
        const session = await post("/login", {
          json: { name: name.value, password: password.value },
        });
        await ctx.signedIn(session);
        await ctx.navigate(safeNext(query));
      },
      msg,
    ),
  );
}

export async function accountPage(ctx) {
  const { main, session } = ctx;
  const me = session.user;
  main.append(
    h("h1", { text: "Account" }),
    h("p", {}, `Signed in as ${me.name}, ${me.role}. `),
    passwordSection(ctx, me),
  );
  if (ctx.can("accounts")) {
    const users = h("section", { class: "panel", "aria-labelledby": "users-h" });
    main.append(users);
    await usersSection(ctx, users);
  }
}

function passwordSection(ctx, me) {
  const msg = messageArea();
  const current = input({
    type: "password",
    name: "current-password",
    autocomplete: "current-password",
  });
  const password = input({ type: "password", name: "password", autocomplete: "new-password" });
  const repeat = input({ type: "password", name: "repeat", autocomplete: "new-password" });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "password-h" },
    h("h2", { id: "password-h", text: "Change your password" }),
    h("p", { class: "hint", text: "Changing it signs you out everywhere, here too." }),
    form(
      { class: "stack narrow" },
      [
        // For password managers: whose password this is.
        h("input", {
          type: "text",
          name: "username",
          autocomplete: "username",
          value: me.name,
          hidden: true,
        }),
        field("Current password", current),
        field("New password", password, PASSWORD_HINT),
        field("New password again", repeat),
        msg.el,
        h("button", { type: "submit", class: "primary", text: "Change password" }),
      ],
      async () => {
        if (!current.value) throw new Error("Type your current password first.");
        if (password.value !== repeat.value) throw new Error("The two passwords differ.");
        await patch(`/users/${me.id}`, {
          json: { password: password.value, current_password: current.value },
        });
        ctx.signedOut();
        await ctx.navigate("/login");
        ctx.announce("Your password was changed. Sign in with the new one.");
      },
      msg,
    ),
  );
}

async function usersSection(ctx, section) {
  const me = ctx.session.user;
  const users = await get("/users", { signal: ctx.signal });
  clear(section);
  const msg = messageArea();
  const refresh = () => usersSection(ctx, section);
  const rows = users.map((u) => {
    const role = select({ "aria-label": `Role of ${u.name}` }, ROLES.map(([v]) => v), u.role);
    const actions = h("div", { class: "row-actions" });
    const change = async (body, done) => {
      try {
        await patch(`/users/${u.id}`, { json: body });
        await refresh();
        ctx.announce(done);
      } catch (err) {
        msg.error(err);
      }
    };
    actions.append(
      button("Save role", {
        onclick: () => change({ role: role.value }, `${u.name} is now ${role.value}.`),
      }),
    );
    if (u.id !== me.id) {
      const reset = button("Set new password");
      reset.addEventListener("click", () => {
        clear(actions);
        const password = input({
          type: "password",
          name: "password",
          autocomplete: "new-password",
          "aria-label": `New password for ${u.name}`,
        });
        actions.append(
          password,
          button("Save password", {
            class: "primary",
            onclick: () => {
              if (!password.value) {
                msg.error(new Error(`Type the new password for ${u.name}.`));
                return;
              }
              // Signs them out everywhere; they sign in with the new one.
              change({ password: password.value }, `${u.name} has a new password.`);
            },
          }),
          button("Cancel", { onclick: refresh }),
        );
        password.focus();
      });
      actions.append(reset);
      actions.append(
        button(u.disabled ? "Enable" : "Disable", {
          onclick: () =>
            change(
              { disabled: !u.disabled },
              `${u.name} is ${u.disabled ? "enabled" : "disabled"}.`,
            ),
        }),
      );
      const remove = button("Delete", { class: "danger" });
      remove.addEventListener("click", () => {
        clear(actions);
        actions.append(
          h("span", { text: `Delete ${u.name}?` }),
          button("Yes, delete", {
            class: "danger",
            onclick: async () => {
              try {
                await del(`/users/${u.id}`);
                await refresh();
                ctx.announce(`${u.name} was deleted.`);
              } catch (err) {
                msg.error(err);
              }
            },
          }),
          button("Keep", { onclick: refresh }),
        );
        actions.querySelector("button").focus();
      });
      actions.append(remove);
    }
    return h(
      "tr",
      {},
      h("td", { "data-label": "Name", text: u.name }),
      h("td", { "data-label": "Role" }, role),
      h("td", { "data-label": "State", text: u.disabled ? "disabled" : "active" }),
      h("td", { "data-label": "Since", text: when(u.created_at) }),
      h("td", { "data-label": "Actions" }, actions),
    );
  });
  const addMsg = messageArea();
  const name = input({ name: "name", autocomplete: "off", maxlength: 64 });
  const password = input({ type: "password", name: "password", autocomplete: "new-password" });
  const role = select({ name: "role" }, ROLES, "viewer");
  section.append(
    h("h2", { id: "users-h", text: "Who may use this library" }),
    msg.el,
    h(
      "table",
      { class: "table" },
      h("caption", { class: "visually-hidden", text: "Accounts" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Role", "State", "Since", "Actions"].map((t) =>
            h("th", { scope: "col", text: t }),
          ),
        ),
      ),
      h("tbody", {}, rows),
    ),
    h("h3", { text: "Add someone" }),
    form(
      { class: "stack narrow" },
      [
        field("Name", name),
        field("Password", password, PASSWORD_HINT),
        field("Role", role),
        addMsg.el,
        h("button", { type: "submit", class: "primary", text: "Add account" }),
      ],
      async () => {
        const user = await post("/users", {
          json: { name: name.value, password: password.value, role: role.value },
        });
        await refresh();
        ctx.announce(`Added ${user.name} (${user.role}).`);
      },
      addMsg,
    ),
  );
}
