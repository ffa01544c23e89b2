// The auditor's view of the audit log: by user and person (server-side filters) and
// purpose (filtered here, on the entries loaded), with a check of the chain's links.
import { explain, gql } from "../api.js";
import { field, h, mount, plural } from "../dom.js";
import { AUDIT_LOG } from "../queries.js";

export async function auditView(ctx) {
  const user = h("input", { name: "user", autocomplete: "off" });
  const person = h("input", { name: "person", autocomplete: "off", placeholder: "P0000000001" });
  const purpose = h("input", { name: "purpose", autocomplete: "off" });
  const out = h("div", { class: "audit", "aria-live": "polite" });
  let entries = [];
  let cursor = null;
  let total = null;

  const form = h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); load(false); } },
    h("h1", {}, "Audit log"),
    h("div", { class: "row" }, field("User", user), field("Person id", person), field("Purpose contains", purpose, "Filtered on the entries loaded")),
    h("button", { type: "submit", class: "primary" }, "Show"));
  mount(ctx.main, form, out);

  function chainStatus(list) {
    if (user.value.trim() || person.value.trim()) {
      return "Filtered view: links between consecutive entries are not checked here.";
    }
    let broken = 0;
    for (let i = 1; i < list.length; i++) {
      if (list[i].seq === list[i - 1].seq + 1 && list[i].prevHash !== list[i - 1].hash) broken++;
    }
    return broken
      ? `${plural(broken, "entry", "entries")} whose previous-hash does not match the entry before it.`
      : `The ${plural(list.length, "entry", "entries")} shown link to one another (each previous-hash matches).`;
  }

  function draw() {
    const needle = purpose.value.trim().toLowerCase();
    const shown = needle ? entries.filter((e) => (e.purpose || "").toLowerCase().includes(needle)) : entries;
    mount(out,
      h("section", { class: "card", "aria-labelledby": "chain-h" },
        h("h2", { id: "chain-h" }, "Chain"),
        h("p", { "data-testid": "chain-status" }, chainStatus(entries)),
        h("p", { class: "muted" }, "The keyed (HMAC) verification of the whole chain is not exposed by the API: run cpgraph audit verify on the server.")),
      h("table", { class: "card audit-table" },
        h("caption", {}, `${plural(shown.length, "entry", "entries")} shown${total != null ? ` of ${total}` : ""}`),
        h("thead", {}, h("tr", {}, ["Seq", "When", "User", "Role", "Action", "Purpose", "Persons", "Fields", "Hash"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, shown.map((e) => h("tr", {},
          h("td", {}, String(e.seq)), h("td", {}, e.at.replace("T", " ").slice(0, 19)), h("td", {}, e.user), h("td", {}, e.role),
          h("td", {}, e.action), h("td", {}, e.purpose || "—"),
          h("td", {}, e.persons.length > 4 ? `${e.persons.slice(0, 4).join(", ")} +${e.persons.length - 4}` : e.persons.join(", ")),
          h("td", {}, h("details", {}, h("summary", {}, plural(e.fields.length, "field")), h("p", { class: "keys" }, e.fields.join(", ")))),
          h("td", { class: "keys" }, e.hash.slice(0, 12)))))),
      cursor ? h("button", { type: "button", onclick: () => load(true) }, "Load more") : null);
  }

  let asked = 0; // only the latest request's answer is shown
  async function load(more) {
    const mine = ++asked;
    try {
      const data = await gql(AUDIT_LOG, { first: 100, after: more ? cursor : null, user: user.value.trim() || null, person: person.value.trim() || null });
      if (mine !== asked) return;
      const log = data.auditLog;
      entries = (more ? entries : []).concat(log.edges.map((e) => e.node));
      cursor = log.pageInfo.hasNextPage ? log.pageInfo.endCursor : null;
      total = log.totalCount;
      draw();
    } catch (err) {
      mount(out, h("p", { class: "error", role: "alert" }, explain(err)));
    }
  }
  purpose.addEventListener("input", () => draw());
  await load(false);
  ctx.focus("Audit log");
}
