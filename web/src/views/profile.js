// A person's profile: flags on top, possible matches, prior concerns (theirs and their
// household's), identities across agencies, identifiers, addresses, household, timeline.
import { explain, getSession, gql } from "../api.js";
import { announce, field, h, mount, pct, plural, table } from "../dom.js";
import { POSSIBLE_MATCHES, PROFILE_CASEWORK, PROFILE_PARTNER, SPLIT } from "../queries.js";
import { agencyBadge, decisionForm, flagCard, human, personLink } from "./common.js";

const section = (title, id, ...body) =>
  h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...body);

/** A note when a list shows only its first page. */
const more = (shown, total) =>
  total != null && total > shown ? h("p", { class: "muted" }, `Showing the oldest ${shown} of ${total}.`) : null;

function eventRow(e, extra = null) {
  return h("li", { class: `event${e.isConcern ? " concern" : ""}` },
    h("time", { datetime: e.date || "" }, e.date || "undated"), " ",
    agencyBadge(e.agency), " ",
    h("strong", {}, human(e.type)),
    e.concernCategory ? ` — ${human(e.concernCategory)}` : "",
    e.system ? h("span", { class: "muted" }, ` (${e.system})`) : "",
    extra,
    e.summary ? h("div", { class: "summary" }, e.summary) : null);
}

export async function profileView(ctx, id) {
  const t0 = performance.now();
  const casework = ctx.can("casework");
  mount(ctx.main, h("p", {}, "Loading profile…"));
  const data = await gql(casework ? PROFILE_CASEWORK : PROFILE_PARTNER, { id });
  const p = data.person;
  const steward = getSession().me.role === "data_steward";
  let pmSection = null;

  const header = h("section", { class: "card person-head" },
    h("h1", {}, p.displayName || p.id),
    h("p", {}, h("span", { class: "muted" }, p.id), " · born ", p.datesOfBirth.join(" or ") || "unknown"),
    h("p", {}, "Known to: ", p.agencies.map((a) => [agencyBadge(a.agency), " "])),
    casework ? h("p", { class: "actions" },
      h("a", { class: "button primary", href: `#/network/${encodeURIComponent(p.id)}` }, "Network"),
      " ", h("a", { class: "button", href: `#/search?name=${encodeURIComponent(p.displayName || "")}` }, "Search this name")) : null);

  const flags = section(`Safeguarding flags (${p.flags.length})`, "flags-h",
    p.flags.length ? p.flags
      .slice().sort((a, b) => (a.confidence === b.confidence ? 0 : a.confidence === "CONFIRMED" ? -1 : 1))
      .map(flagCard) : h("p", {}, "No safeguarding flags."));
  flags.classList.add("flags");

  const parts = [header, flags];

  if (casework) {
    pmSection = section("Possible matches", "pm-h", h("p", { role: "status" }, "Loading possible matches…"));
    parts.push(pmSection);

    const concerns = p.concerns.edges.map((e) => e.node);
    parts.push(section(`Prior concerns, with the household's (${p.concerns.totalCount ?? concerns.length})`, "concerns-h",
      more(concerns.length, p.concerns.totalCount),
      concerns.length ? h("ol", { class: "timeline" }, concerns.map((c) => eventRow(c.event,
        c.relationship ? h("span", { class: "about" }, " about ", personLink(c.subject), ` (${human(c.relationship)})`) : h("span", { class: "about" }, " about this person"))))
        : h("p", {}, "No prior concerns recorded.")));

    const records = p.sourceRecords.edges.map((e) => e.node);
    const checks = new Map();
    const idTable = table(`${plural(records.length, "record")} across ${plural(p.agencies.length, "agency", "agencies")}`,
      [steward ? "Split off" : null, "Agency", "System", "Name as recorded", "Date of birth", "Sex", "Resolution", "Record"].filter(Boolean),
      records.map((r) => {
        const cb = h("input", { type: "checkbox", "aria-label": `Split off record ${r.key}` });
        checks.set(r.key, cb);
        return [steward ? cb : null, agencyBadge(r.agency), r.system,
          [r.forename, r.middleNames, r.surname].filter(Boolean).join(" ") + (r.aliases.length ? ` (aka ${r.aliases.join(", ")})` : ""),
          r.dateOfBirth || "", r.sex || "",
          r.resolution ? `${r.resolution.status || ""}${r.resolution.probability != null ? ` ${pct(r.resolution.probability)}` : ""}` : "",
          h("span", { class: "keys" }, r.key)].filter((x) => x !== null);
      }));
    const identities = section("Identities across agencies", "ids-h", idTable);
    if (steward) identities.append(splitForm(ctx, p.id, checks));
    parts.push(identities);

    const addresses = new Map();
    for (const r of records) {
      if (!r.address && !r.postcode) continue;
      const k = `${r.address || ""}|${r.postcode || ""}`;
      if (!addresses.has(k)) addresses.set(k, { address: r.address, postcode: r.postcode, systems: new Set() });
      addresses.get(k).systems.add(r.system);
    }
    parts.push(section("Addresses (as recorded)", "addr-h",
      addresses.size ? table(null, ["Address", "Postcode", "Recorded by"],
        [...addresses.values()].map((a) => [a.address || "", a.postcode || "", [...a.systems].join(", ")])) : h("p", {}, "No address recorded.")));

    parts.push(section("Household and relationships", "hh-h",
      h("h3", {}, "Living with them now"),
      p.household.length ? h("ul", {}, p.household.map((r) => h("li", {}, personLink(r.person), ` — ${human(r.type)}`,
        r.fromDate ? h("span", { class: "muted" }, ` since ${r.fromDate}`) : ""))) : h("p", {}, "Nobody recorded."),
      h("h3", {}, "All relationships"),
      p.relationships.edges.length ? h("ul", {}, p.relationships.edges.map(({ node: r }) => h("li", {}, personLink(r.person),
        ` — ${human(r.type)}${r.livesWith ? ", lives with" : ""}`,
        r.fromDate || r.toDate ? h("span", { class: "muted" }, ` (${r.fromDate || "?"} to ${r.toDate || "now"})`) : ""))) : h("p", {}, "None recorded.")));
  }

  parts.push(section("Identifiers", "ident-h",
    p.identifiers.length ? table(null, ["Scheme", "Value", "Valid"], p.identifiers.map((i) =>
      [human(i.scheme).toUpperCase(), i.value, i.valid == null ? "not stated" : i.valid ? "valid" : "invalid check digit"])) : h("p", {}, "None recorded.")));
  if (!casework) {
    parts.push(section("Agencies", "ag-h", table(null, ["Agency", "Systems", "Records"],
      p.agencies.map((a) => [agencyBadge(a.agency), a.systems.join(", "), String(a.recordCount)]))));
  }
  const timeline = p.timeline.edges.map((e) => e.node);
  parts.push(section(`Timeline (${p.timeline.totalCount ?? timeline.length} events)`, "tl-h",
    more(timeline.length, p.timeline.totalCount),
    timeline.length ? h("ol", { class: "timeline" }, timeline.map((e) => eventRow(e))) : h("p", {}, "No events.")));

  mount(ctx.main, ...parts);
  ctx.focus(p.displayName || p.id);
  if (pmSection) loadPossibleMatches(ctx, id, pmSection, steward, t0); // after the page shows
}

async function loadPossibleMatches(ctx, id, el, steward, t0) {
  const heading = el.querySelector("h2");
  let pm;
  let meaning;
  try {
    const data = await gql(POSSIBLE_MATCHES, { id });
    pm = data.person.possibleMatches;
    // what each reason means, from the linkage's own catalogue (as the review queue shows it)
    meaning = new Map(data.keptApartReasons.map((r) => [r.code, r.description]));
  } catch (err) {
    mount(el, heading, h("p", { class: "error", role: "alert" }, explain(err)));
    return;
  }
  heading.textContent = `Possible matches (${pm.length})`;
  mount(el, heading,
    h("p", {}, "Other persons linkage kept apart but could not rule out. They are not the same person unless a data steward decides so."),
    pm.length ? h("ul", { class: "possible-matches" }, pm.map((m) => h("li", { class: "possible-match" },
      h("span", { class: "badge possible" }, "Possible match"), " ",
      personLink(m.person), h("span", { class: "muted" }, ` ${m.person.id}, born ${m.person.datesOfBirth.join(" or ") || "unknown"}`),
      h("div", {}, `Probability ${pct(m.probability)} · kept apart: ${human(m.reason)} · evidence: ${m.evidence.map(human).join(", ") || "name and date of birth only"} · agencies: ${m.agencies.join(", ")}`),
      meaning.has(m.reason) ? h("div", { class: "muted reason-meaning" }, meaning.get(m.reason)) : null,
      steward && m.candidateIds.length ? h("details", {}, h("summary", {}, "Decide this match"),
        decisionForm(m.candidateIds[0], null, () => setTimeout(() => profileView(ctx, id), 600), `Decide the match with ${m.person.displayName || m.person.id}`)) : null)))
      : h("p", {}, "None."));
  performance.measure("cpgraph:profile:possible-matches", { start: t0 });
}

function splitForm(ctx, personId, checks) {
  const reason = h("input", { name: "split-reason", autocomplete: "off", required: true });
  const out = h("p", { role: "status" });
  return h("form", { class: "steward-tools", onsubmit: async (e) => {
    e.preventDefault();
    const keys = [...checks].filter(([, cb]) => cb.checked).map(([k]) => k);
    if (!keys.length) { out.textContent = "Tick the records to split off first."; return; }
    if (!reason.value.trim()) { out.textContent = "Give a reason."; return; }
    try {
      const r = (await gql(SPLIT, { id: personId, keys, reason: reason.value.trim() })).splitPerson;
      out.textContent = `Split recorded (decision ${r.decisionId}): ${r.after.map((a) => `${a.personId} has ${plural(a.recordKeys.length, "record")}`).join("; ")}.`;
      announce(out.textContent);
    } catch (err) { out.textContent = explain(err); }
  } },
    h("h3", {}, "Split ticked records off this person"),
    field("Reason for the split", reason, "Recorded in the audit log"),
    h("button", { type: "submit", class: "danger" }, "Split"), out);
}
