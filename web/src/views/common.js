// Pieces shared by the screens: person links, flag cards, agency colours, steward decisions.
import { explain, gql } from "../api.js";
import { announce, field, h } from "../dom.js";

/** Colour per agency (text on it passes WCAG AA contrast with white). */
export const AGENCY_COLOURS = {
  police: "#1d4f91",
  health: "#1b6e3a",
  education: "#6a3d9a",
  childrens_services: "#a34700",
  prisons: "#5c4033",
};
const FALLBACK = ["#4a4a4a", "#00607a", "#8a2c5b", "#3d5a00"];

export function agencyColour(agency) {
  const key = String(agency || "").toLowerCase().replace(/[^a-z]+/g, "_");
  for (const [k, v] of Object.entries(AGENCY_COLOURS)) if (key.includes(k)) return v;
  let hsh = 0;
  for (const ch of key) hsh = (hsh * 31 + ch.charCodeAt(0)) >>> 0;
  return FALLBACK[hsh % FALLBACK.length];
}

const slug = (agency) => String(agency || "").toLowerCase().replace(/[^a-z]+/g, "_");

/** An agency's name on its colour (classes in app.css: no inline styles under the CSP). */
export const agencyBadge = (agency) =>
  h("span", { class: `agency a-${AGENCY_COLOURS[slug(agency)] ? slug(agency) : "other"}` }, human(agency));

export function personLink(p) {
  if (!p) return "someone";
  return h("a", { href: `#/person/${encodeURIComponent(p.id)}` }, p.displayName || p.id);
}

export const human = (s) => String(s ?? "").replace(/_/g, " ").toLowerCase();

/** A badge saying how sure a flag is; the text says it, the colour only repeats it. */
export function confidenceBadge(confidence) {
  return confidence === "POSSIBLE"
    ? h("span", { class: "badge possible" }, "Possible — awaiting a data steward's decision")
    : h("span", { class: "badge confirmed" }, "Confirmed");
}

function hopText(hop) {
  const rel = hop.kind === "POSSIBLE_MATCH" ? "possibly the same person as"
    : hop.kind === "SHARED_EVENT" ? `shares an event (${human(hop.relationship || "event")}) with`
    : `${human(hop.relationship || "related")}${hop.livesWith ? ", lives with" : ""}`;
  const dates = [hop.fromDate && `from ${hop.fromDate}`, hop.toDate && `to ${hop.toDate}`].filter(Boolean).join(" ");
  return { rel, dates };
}

/** One hop of a path, with its evidence (what the role may see). */
export function hopItem(hop) {
  const { rel, dates } = hopText(hop);
  return h("li", { class: `hop ${hop.kind.toLowerCase()}` },
    hop.from ? [personLink(hop.from), " → "] : null,
    h("strong", {}, rel),
    hop.to ? [" → ", personLink(hop.to)] : null,
    dates ? h("span", { class: "muted" }, ` (${dates})`) : null,
    hop.events?.length ? h("ul", {}, hop.events.map((e) => h("li", {}, `${e.date || "undated"} · ${e.agency || ""} · ${human(e.type)}`))) : null,
    hop.sources?.length ? h("div", { class: "keys" }, "Records: ", hop.sources.join(", ")) : null);
}

/** A safeguarding flag: title, confidence, reason, and its evidence in a disclosure. */
export function flagCard(flag) {
  const ev = flag.evidence || {};
  return h("article", { class: `flag ${flag.confidence === "POSSIBLE" ? "possible" : "confirmed"}`, "data-code": flag.code },
    h("h3", {}, flag.title, " ", confidenceBadge(flag.confidence)),
    h("p", {}, flag.reason),
    h("p", { class: "muted" }, `${flag.code} · as of ${flag.asOf}`),
    h("details", {},
      h("summary", {}, "Evidence"),
      ev.path?.length ? [h("h4", {}, "Path"), h("ol", { class: "path" }, ev.path.map(hopItem))] : null,
      ev.events?.length ? [h("h4", {}, "Events"), h("ul", {}, ev.events.map((e) =>
        h("li", {}, `${e.date || "undated"} · `, agencyBadge(e.agency), ` ${human(e.type)}${e.concernCategory ? ` (${human(e.concernCategory)})` : ""}`)))] : null,
      ev.recordKeys?.length ? [h("h4", {}, "Records"), h("p", { class: "keys" }, ev.recordKeys.join(", "))] : null,
      !ev.path?.length && !ev.events?.length && !ev.recordKeys?.length ? h("p", {}, "No further evidence is shown to your role.") : null));
}

/**
 * A steward's decision form: a required reason and one button per decision.
 * `onDone(result, decision)` runs after the API recorded it.
 */
export function decisionForm(candidateId, version, onDone, label = "Decision") {
  const reason = h("input", { name: "reason", required: true, autocomplete: "off", minlength: 3 });
  const out = h("p", { class: "result", role: "status" });
  const send = async (decision) => {
    if (!reason.value.trim()) { out.textContent = "Give a reason for the decision."; reason.focus(); return; }
    out.textContent = "Recording…";
    try {
      const data = await gql(`mutation Decide($id: ID!, $d: MatchDecision!, $r: String!, $v: Int) {
        decideMatch(candidateId: $id, decision: $d, reason: $r, expectedVersion: $v) {
          decisionId decision auditSeq after { personId } } }`, { id: candidateId, d: decision, r: reason.value.trim(), v: version ?? null });
      const r = data.decideMatch;
      out.textContent = `Recorded: ${human(r.decision)} (decision ${r.decisionId}, audit entry ${r.auditSeq ?? "—"}).`;
      announce(out.textContent);
      onDone?.(r, decision);
    } catch (err) {
      out.textContent = explain(err);
    }
  };
  return h("form", { class: "decision", "aria-label": label, onsubmit: (e) => e.preventDefault() },
    field("Reason for the decision", reason, "Recorded in the audit log"),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => send("LINK") }, "Accept: same person"),
      h("button", { type: "button", class: "danger", onclick: () => send("NO_LINK") }, "Reject: different people"),
      h("button", { type: "button", onclick: () => send("DEFER") }, "Defer")),
    out);
}
