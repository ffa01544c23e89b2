// Search people by name, date of birth and postcode (searchPeople, ranked by the API).
import { explain, gql } from "../api.js";
import { announce, field, h, mount, pct } from "../dom.js";
import { SEARCH } from "../queries.js";

const AGREEMENT = {
  EXACT: "exact", TRANSPOSED: "day/month swapped", CLOSE: "close", PARTIAL: "partial",
  DISTRICT: "same district", DIFFERENT: "different", UNKNOWN: "not recorded", NOT_ASKED: "—",
};

export async function searchView(ctx) {
  const p = ctx.params;
  const name = h("input", { name: "name", required: true, value: p.get("name") || "", autocomplete: "off" });
  const dob = h("input", { name: "dob", type: "date", value: p.get("dob") || "" });
  const postcode = h("input", { name: "postcode", value: p.get("postcode") || "", autocomplete: "off", size: 10 });
  const results = h("div", { class: "results", "aria-live": "polite" });
  const form = h("form", { class: "card search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    q.set("name", name.value.trim());
    if (dob.value) q.set("dob", dob.value);
    if (postcode.value.trim()) q.set("postcode", postcode.value.trim());
    const target = `#/search?${q}`;
    if (location.hash === target) run(); else location.hash = target;
  } },
    h("h1", {}, "Search people"),
    h("div", { class: "row" },
      field("Name", name, "Typos, nicknames and word order are allowed"),
      field("Date of birth", dob),
      field("Postcode", postcode)),
    h("button", { type: "submit", class: "primary" }, "Search"));
  mount(ctx.main, form, results);

  async function run() {
    mount(results, h("p", {}, "Searching…"));
    try {
      const data = await gql(SEARCH, {
        name: name.value.trim(), dob: dob.value || null, postcode: postcode.value.trim() || null, first: 20,
      });
      const edges = data.searchPeople.edges;
      announce(`${edges.length} result${edges.length === 1 ? "" : "s"}`);
      if (!edges.length) { mount(results, h("p", {}, "Nobody matches. Try fewer or different words.")); return; }
      mount(results, h("table", { class: "card" },
        h("caption", {}, `${edges.length} ranked result${edges.length === 1 ? "" : "s"} (best first)`),
        h("thead", {}, h("tr", {}, ["Person", "Score", "Name", "Date of birth", "Postcode", "Dates of birth", "Agencies", ""]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, edges.map(({ node: c }) => h("tr", {},
          h("th", { scope: "row" }, h("a", { href: `#/person/${encodeURIComponent(c.person.id)}` }, c.person.displayName || c.person.id),
            h("span", { class: "muted" }, ` ${c.person.id}`)),
          h("td", {}, pct(c.score)),
          h("td", {}, pct(c.nameScore)),
          h("td", {}, AGREEMENT[c.dateOfBirth] || c.dateOfBirth),
          h("td", {}, AGREEMENT[c.postcode] || c.postcode),
          h("td", {}, c.person.datesOfBirth.join(", ")),
          h("td", {}, c.person.agencies.map((a) => a.agency.replace(/_/g, " ")).join(", ")),
          h("td", {}, ctx.can("casework")
            ? h("a", { href: `#/network/${encodeURIComponent(c.person.id)}`, "aria-label": `Network of ${c.person.displayName || c.person.id}` }, "Network")
            : ""))))));
    } catch (err) {
      if (err.code === "UNAUTHENTICATED") return ctx.onUnauthenticated();
      mount(results, h("p", { class: "error", role: "alert" }, explain(err)));
    }
  }
  if (p.get("name")) await run();
  ctx.focus("Search");
}
