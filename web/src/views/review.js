// The data steward's review queue: filters, a pair side by side with differences
// highlighted, the weight waterfall, accept / reject / defer, and merge.
import { explain, gql } from "../api.js";
import { announce, field, h, mount, pct, plural, s } from "../dom.js";
import { KEPT_APART_REASONS, MERGE, REVIEW_QUEUE } from "../queries.js";
import { agencyBadge, decisionForm, human, personLink } from "./common.js";

const FIELDS = [
  ["Forename", (r) => r.forename], ["Middle names", (r) => r.middleNames], ["Surname", (r) => r.surname],
  ["Aliases", (r) => r.aliases.join(", ")], ["Date of birth", (r) => r.dateOfBirth], ["Sex", (r) => r.sex],
  ["Postcode", (r) => r.postcode], ["Address", (r) => r.address],
  ["Identifiers", (r) => r.identifiers.map((i) => `${i.scheme} ${i.value}${i.valid === false ? " (invalid)" : ""}`).join(", ")],
  ["Agency", (r) => r.agency], ["System", (r) => r.system], ["Kind", (r) => r.kind], ["Record", (r) => r.key],
];

/** The weight waterfall: each comparison's bits from the prior to the final weight. */
export function waterfall(weights) {
  const steps = weights.steps;
  const W = 640, rowH = 22, left = 190, pad = 10;
  const H = pad * 2 + rowH * steps.length + 20;
  const vals = steps.flatMap((st) => [st.cumulative, st.cumulative - st.contribution]).concat([0]);
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const x = (v) => left + ((v - lo) / (hi - lo || 1)) * (W - left - 60);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", class: "waterfall",
    "aria-label": `Match weight waterfall: prior ${weights.prior.toFixed(1)} bits, final ${weights.final.toFixed(1)} bits, probability ${pct(weights.probability)}` },
  s("line", { x1: x(0), x2: x(0), y1: pad, y2: H - 20, stroke: "#555", "stroke-dasharray": "3 3" }));
  steps.forEach((st, i) => {
    const y = pad + i * rowH;
    const a = st.cumulative - st.contribution, b = st.cumulative;
    const pos = st.contribution >= 0;
    svg.append(
      s("text", { x: left - 6, y: y + 15, "text-anchor": "end", "font-size": 11, fill: "#1a1a1a" }, `${human(st.label)}${st.level ? ` (${human(st.level)})` : ""}`),
      s("rect", { x: Math.min(x(a), x(b)), y: y + 4, width: Math.max(1, Math.abs(x(b) - x(a))), height: rowH - 8,
        fill: st.label === "prior" ? "#505a5f" : pos ? "#1b6e3a" : "#c00000" }),
      s("text", { x: Math.max(x(a), x(b)) + 4, y: y + 15, "font-size": 10, fill: "#1a1a1a" }, `${pos ? "+" : ""}${st.contribution.toFixed(1)}`));
  });
  svg.append(s("text", { x: left, y: H - 4, "font-size": 11, fill: "#1a1a1a" },
    `final ${weights.final.toFixed(1)} bits → probability ${pct(weights.probability)} (green: for a match, red: against)`));
  return svg;
}

function sideBySide(item) {
  const a = item.recordA, b = item.recordB;
  const rows = FIELDS.map(([label, get]) => {
    const va = get(a) || "", vb = get(b) || "";
    const differs = label !== "Record" && va !== vb && va && vb;
    return h("tr", { class: differs ? "differs" : "" },
      h("th", { scope: "row" }, label, differs ? h("span", { class: "visually-hidden" }, " (differs)") : null),
      h("td", {}, va), h("td", {}, vb),
      h("td", {}, differs ? h("span", { class: "badge diff" }, "differs") : va && vb ? "same" : ""));
  });
  const who = (p) => (p ? [personLink(p), h("span", { class: "muted" }, ` ${p.id}${p.isChild ? " · child" : ""}${p.policeHistory ? " · police/prison history" : ""} · ${plural(p.concernCount, "concern")}`)] : "—");
  return h("table", { class: "pair" },
    h("caption", {}, "The two records, field by field (differences highlighted)"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Record A"), h("th", { scope: "col" }, "Record B"), h("th", { scope: "col" }, "Agreement"))),
    h("tbody", {}, h("tr", {}, h("th", { scope: "row" }, "Person now"), h("td", {}, who(item.personA)), h("td", {}, who(item.personB)), h("td", {})), rows));
}

export async function reviewView(ctx) {
  const sysIn = h("input", { name: "system", autocomplete: "off", placeholder: "any", list: "systems" });
  // The reasons come from the API (the linkage's own catalogue), so a new guard or reason
  // is offered as soon as the server knows it; each option's title says what it means.
  const { keptApartReasons } = await gql(KEPT_APART_REASONS);
  const meaning = new Map(keptApartReasons.map((r) => [r.code, r.description]));
  const reasonSel = h("select", { name: "reason" }, h("option", { value: "" }, "any"),
    keptApartReasons.map((r) => h("option", { value: r.code, title: r.description }, human(r.code))));
  const minP = h("input", { name: "minp", type: "number", min: 0, max: 1, step: 0.05, value: "0" });
  const maxP = h("input", { name: "maxp", type: "number", min: 0, max: 1, step: 0.05, value: "1" });
  const flagged = h("select", { name: "flagged" }, h("option", { value: "" }, "any"), h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no"));
  // Two records of one system's own index: a suspected duplicate inside that system (#19).
  const within = h("select", { name: "within" }, h("option", { value: "" }, "all"),
    h("option", { value: "true" }, "only within-system duplicates"), h("option", { value: "false" }, "exclude them"));
  const order = h("select", { name: "order" }, ["CONSEQUENCE", "PROBABILITY_ASC", "PROBABILITY_DESC", "NEWEST"].map((o) => h("option", { value: o }, human(o))));
  const deferred = h("input", { type: "checkbox", name: "deferred" });
  const listEl = h("div", { class: "queue", "aria-live": "polite" });
  const detail = h("div", { class: "review-detail" });
  const systems = h("datalist", { id: "systems" });
  let items = [];
  let cursor = null;

  const filters = h("form", { class: "card filters", onsubmit: (e) => { e.preventDefault(); load(false); } },
    h("h1", {}, "Review queue"),
    h("div", { class: "row" },
      field("Source system", sysIn), field("Why kept apart", reasonSel),
      field("Probability from", minP), field("to", maxP),
      field("Flagged child", flagged), field("Duplicates inside one system", within),
      field("Order", order),
      h("div", { class: "field check" }, deferred, h("label", { for: (deferred.id = "f-deferred") }, "Show deferred"))),
    systems,
    h("button", { type: "submit", class: "primary" }, "Apply filters"));
  mount(ctx.main, filters, h("div", { class: "review-layout" }, listEl, detail));

  let asked = 0; // only the latest request's answer is shown
  async function load(more) {
    const mine = ++asked;
    mount(listEl, h("p", {}, "Loading…"));
    try {
      const data = await gql(REVIEW_QUEUE, {
        first: 20, after: more ? cursor : null, orderBy: order.value, includeDeferred: deferred.checked,
        system: sysIn.value.trim() || null, reason: reasonSel.value || null,
        minP: Number(minP.value || 0), maxP: Number(maxP.value || 1),
        flagged: flagged.value === "" ? null : flagged.value === "true",
        withinSystem: within.value === "" ? null : within.value === "true",
      });
      if (mine !== asked) return;
      const q = data.reviewQueue;
      items = (more ? items : []).concat(q.edges.map((e) => e.node));
      cursor = q.pageInfo.hasNextPage ? q.pageInfo.endCursor : null;
      const seen = new Set(items.flatMap((i) => [i.recordA.system, i.recordB.system]).filter(Boolean));
      mount(systems, [...seen].sort().map((x) => h("option", { value: x })));
      drawList(q.totalCount);
      if (items.length && !more) show(items[0]);
      if (!items.length) mount(detail);
    } catch (err) {
      mount(listEl, h("p", { class: "error", role: "alert" }, explain(err)));
    }
  }

  function drawList(total) {
    mount(listEl,
      h("h2", { id: "queue-h" }, `${total ?? items.length} waiting`),
      items.length ? h("ol", { class: "queue-list", "aria-labelledby": "queue-h" }, items.map((it) => h("li", { "data-id": it.id },
        h("button", { type: "button", class: "queue-item", onclick: () => show(it) },
          h("span", {}, `${it.recordA.forename || ""} ${it.recordA.surname || ""} / ${it.recordB.forename || ""} ${it.recordB.surname || ""}`),
          h("span", { class: "muted" }, ` ${pct(it.probability)} · ${human(it.reason)}`),
          it.flaggedChild ? h("span", { class: "badge possible" }, "flagged child") : null,
          it.withinSystem ? h("span", { class: "badge within" }, `duplicate inside ${it.withinSystem}`) : null,
          it.status !== "pending" ? h("span", { class: "badge" }, it.status) : null)))) : h("p", {}, "Nothing waiting with these filters."),
      cursor ? h("button", { type: "button", onclick: () => load(true) }, "Load more") : null);
  }

  function show(item) {
    for (const li of listEl.querySelectorAll("li[data-id]")) li.classList.toggle("current", li.dataset.id === item.id);
    const mergeReason = h("input", { name: "merge-reason", autocomplete: "off" });
    const mergeOut = h("p", { role: "status" });
    mount(detail,
      h("section", { class: "card", "aria-labelledby": "pair-h" },
        h("h2", { id: "pair-h" }, `Candidate ${item.id}: ${pct(item.probability)} (${item.weight.toFixed(1)} bits)`),
        item.withinSystem ? h("p", { class: "within-note" }, h("span", { class: "badge within" }, `duplicate inside ${item.withinSystem}`),
          ` Both records are in ${item.withinSystem}'s own index: a suspected duplicate inside that system, for its agency to check.`) : null,
        h("p", {}, `Kept apart: ${human(item.reason)}`,
          meaning.has(item.reason) ? h("span", { class: "muted reason-meaning" }, ` — ${meaning.get(item.reason)}`) : "",
          item.stale ? " · a record changed since it was scored" : "", item.flaggedChild ? " · a person involved has a safeguarding flag" : ""),
        h("p", {}, h("strong", {}, "If accepted: "), item.impact.summary, item.impact.agenciesAdded.length ? [" · adds ", item.impact.agenciesAdded.map((a) => [agencyBadge(a), " "])] : null),
        sideBySide(item),
        h("h3", {}, "Why the model scored it so"),
        waterfall(item.weights),
        h("h3", {}, "Decision"),
        decisionForm(item.id, item.version, (_r) => {
          items = items.filter((i) => i.id !== item.id);
          drawList(null);
          setTimeout(() => load(false), 800);
        }, `Decide candidate ${item.id}`),
        item.personA && item.personB && item.personA.id !== item.personB.id ? h("details", {},
          h("summary", {}, "Merge the two persons directly"),
          h("form", { onsubmit: async (e) => {
            e.preventDefault();
            if (!mergeReason.value.trim()) { mergeOut.textContent = "Give a reason."; return; }
            try {
              const r = (await gql(MERGE, { ids: [item.personA.id, item.personB.id], reason: mergeReason.value.trim() })).mergePersons;
              mergeOut.textContent = `Merged (decision ${r.decisionId}); retired ${r.retired.join(", ") || "none"}.`;
              announce(mergeOut.textContent);
              setTimeout(() => load(false), 800);
            } catch (err) { mergeOut.textContent = explain(err); }
          } }, field("Reason for the merge", mergeReason), h("button", { type: "submit" }, `Merge ${item.personA.id} and ${item.personB.id}`), mergeOut)) : null));
  }

  await load(false);
  ctx.focus("Review queue");
}
