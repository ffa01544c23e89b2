// cpgraph web app: sign-in, purpose, and the screens each role may use.
// Routes live in the URL hash (#/search, #/person/P1, #/network/P1, #/review, #/audit).
import { explain, getSession, needsPurpose, setPurpose, signIn, signOut } from "./api.js";
import { announce, field, h, mount } from "./dom.js";
import { auditView } from "./views/audit.js";
import { networkView } from "./views/network.js";
import { profileView } from "./views/profile.js";
import { reviewView } from "./views/review.js";
import { searchView } from "./views/search.js";

const CASEWORK = ["investigator", "data_steward"];

/** Screens per role: [route, nav label, roles]. */
const SCREENS = [
  ["search", "Search", [...CASEWORK, "partner_system"]],
  ["review", "Review queue", ["data_steward"]],
  ["audit", "Audit log", ["auditor"]],
];

const top = () => document.getElementById("top");
const main = () => document.getElementById("main");
let wanted = null; // the route asked for before signing in
let renders = 0;

export const can = (what) => {
  const role = getSession().me?.role;
  if (what === "casework") return CASEWORK.includes(role);
  if (what === "review") return role === "data_steward";
  if (what === "audit") return role === "auditor";
  if (what === "search") return [...CASEWORK, "partner_system"].includes(role);
  return false;
};

function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

function defaultRoute(role) {
  if (role === "auditor") return "#/audit";
  if (role === "admin") return "#/";
  return "#/search";
}

function renderHeader() {
  const { me, purpose } = getSession();
  const brand = h("a", { class: "brand", href: me ? defaultRoute(me.role) : "#/" }, "cpgraph");
  if (!me) return mount(top(), brand);
  const nav = h("nav", { "aria-label": "Main" }, h("ul", {},
    SCREENS.filter(([, , roles]) => roles.includes(me.role)).map(([r, label]) =>
      h("li", {}, h("a", { href: `#/${r}`, "aria-current": parseRoute().parts[0] === r ? "page" : false }, label)))));
  const purposeBox = needsPurpose(me.role)
    ? h("div", { class: "purpose", "data-testid": "purpose" },
        h("span", { class: "label" }, "Purpose: "),
        h("span", { class: "value" }, purpose || "not set"),
        " ",
        h("button", { type: "button", class: "link", onclick: () => purposeScreen(true) }, "Change purpose"))
    : null;
  const who = h("div", { class: "who" },
    h("span", {}, `${me.name} (${me.role.replace("_", " ")})`), " ",
    h("button", { type: "button", class: "link", onclick: () => { signOut(); location.hash = "#/"; render(); } }, "Sign out"));
  mount(top(), brand, nav, purposeBox, who);
}

function focusMain(title) {
  document.title = title ? `${title} — cpgraph` : "cpgraph";
  const h1 = main().querySelector("h1");
  (h1 || main()).setAttribute("tabindex", "-1");
  (h1 || main()).focus({ preventScroll: false });
}

function signInScreen(message) {
  const token = h("input", { type: "password", name: "token", autocomplete: "off", required: true, spellcheck: false });
  const error = h("p", { class: "error", role: "alert" }, message || "");
  const form = h("form", { class: "card narrow", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      await signIn(token.value.trim());
      token.value = "";
      renderHeader();
      if (needsPurpose(getSession().me.role)) purposeScreen(false);
      else go();
    } catch (err) {
      error.textContent = err.code === "UNAUTHENTICATED" ? "That token was not accepted." : explain(err);
    }
  } },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste your cpgraph API token. It is kept in this page's memory only: reloading the page signs you out."),
    field("API token", token),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  mount(main(), form);
  focusMain("Sign in");
}

function purposeScreen(changing) {
  const current = getSession().purpose || "";
  const [c0, r0] = current ? current.split(/;\s*/, 2) : ["", ""];
  const caseRef = h("input", { name: "case", required: true, autocomplete: "off", value: c0 || "", placeholder: "CP-2024-0193" });
  const reason = h("input", { name: "reason", required: true, autocomplete: "off", value: r0 || "", placeholder: "section 47 enquiry" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card narrow", onsubmit: (e) => {
    e.preventDefault();
    const problem = setPurpose(caseRef.value, reason.value);
    if (problem) { error.textContent = problem; return; }
    renderHeader();
    announce(`Purpose set: ${getSession().purpose}`);
    go();
  } },
    h("h1", {}, changing ? "Change purpose" : "Why are you looking?"),
    h("p", {}, "Every read of person data is recorded in the audit log with this purpose. It is sent as X-Purpose: case reference; reason."),
    field("Case reference", caseRef, "e.g. CP-2024-0193"),
    field("Reason", reason, "e.g. section 47 enquiry"),
    error,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Continue"),
      changing && getSession().purpose ? h("button", { type: "button", onclick: () => go() }, "Cancel") : null));
  mount(main(), form);
  focusMain(changing ? "Change purpose" : "Purpose");
}

function go() {
  if (wanted) {
    const target = wanted;
    wanted = null;
    if (location.hash !== target) { location.hash = target; return; }
  }
  const { me } = getSession();
  if (!location.hash || location.hash === "#/" || location.hash === "#") {
    if (defaultRoute(me.role) !== "#/") { location.hash = defaultRoute(me.role); return; }
  }
  render();
}

function notAllowed(what) {
  mount(main(), h("section", { class: "card" }, h("h1", {}, "Not available to your role"),
    h("p", {}, `Your role (${getSession().me.role.replace("_", " ")}) may not use ${what}. Nothing was requested from the server.`)));
  focusMain("Not available");
}

async function render() {
  const { me, purpose } = getSession();
  if (!me) {
    if (location.hash && location.hash !== "#/") wanted = location.hash;
    renderHeader();
    signInScreen();
    return;
  }
  if (needsPurpose(me.role) && !purpose) { renderHeader(); purposeScreen(false); return; }
  renderHeader();
  const { parts, params } = parseRoute();
  const ctx = { main: main(), params, focus: focusMain, can, onUnauthenticated: () => { signOut(); signInScreen("Your session ended: sign in again."); } };
  const [screen, id] = parts;
  // a measure per screen shown (data fetched and drawn): read by bench/web_load.py
  const seq = ++renders;
  performance.mark(`cpgraph:view:${seq}`);
  try {
    if (screen === "search" && can("search")) await searchView(ctx);
    else if (screen === "person" && id && can("search")) await profileView(ctx, id);
    else if (screen === "network" && id) {
      if (can("casework")) await networkView(ctx, id);
      else notAllowed("the network drawing");
    } else if (screen === "review") {
      if (can("review")) await reviewView(ctx);
      else notAllowed("the review queue");
    } else if (screen === "audit") {
      if (can("audit")) await auditView(ctx);
      else notAllowed("the audit log");
    } else if (me.role === "admin") {
      mount(main(), h("section", { class: "card" }, h("h1", {}, "Administration"),
        h("p", {}, "Admins manage users from the command line (cpgraph users add); over the API they read no person data.")));
      focusMain("Administration");
    } else if (screen) notAllowed("this screen");
    else location.hash = defaultRoute(me.role);
    if (seq === renders && screen) performance.measure(`cpgraph:view:${screen}`, `cpgraph:view:${seq}`);
  } catch (err) {
    if (err?.code === "UNAUTHENTICATED") { ctx.onUnauthenticated(); return; }
    const title = err?.code === "FORBIDDEN" ? "Not available to your role" : "Could not load";
    mount(main(), h("section", { class: "card" }, h("h1", {}, title), h("p", { class: "error", role: "alert" }, explain(err))));
    focusMain("Error");
  }
}

// the skip link moves focus without touching the hash (the hash is the route)
document.querySelector("a.skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  const target = main().querySelector("h1") || main();
  target.setAttribute("tabindex", "-1");
  target.focus();
});
window.addEventListener("hashchange", () => render());
render();
