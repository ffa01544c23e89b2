// The n-hop network around a person, drawn with Cytoscape.js (bundled, no CDN):
// people and events as nodes, relationships and shared events as edges, coloured by
// agency, flagged people outlined; a node expands on click (or with its Expand button),
// and paths between two chosen people are found with `connections`.
import cytoscape from "cytoscape";
import { explain, gql } from "../api.js";
import { announce, field, h, mount, plural } from "../dom.js";
import { CONNECTIONS, NETWORK } from "../queries.js";
import { AGENCY_COLOURS, agencyBadge, agencyColour, hopItem, human, personLink } from "./common.js";

const FIRST = 150;

function flagLevel(person) {
  const flags = person?.flags || [];
  if (flags.some((f) => f.confidence === "CONFIRMED")) return "confirmed";
  if (flags.length) return "possible";
  return "none";
}

function nodeData(n, rootId) {
  if (n.kind === "PERSON" && n.person) {
    const agencies = [...new Set(n.person.agencies.map((a) => a.agency))];
    const d = {
      id: n.id, kind: "person", label: n.person.displayName || n.label || n.id, personId: n.person.id,
      flag: flagLevel(n.person), root: n.person.id === rootId ? 1 : 0, hops: n.hops, agencies,
      colour: agencies.length ? agencyColour(agencies[0]) : "#4a4a4a",
    };
    // a pie of the agencies that know the person (up to 4 slices)
    agencies.slice(0, 4).forEach((a, i) => {
      d[`pie${i + 1}`] = agencyColour(a);
      d[`pie${i + 1}size`] = 100 / Math.min(agencies.length, 4);
    });
    return d;
  }
  const e = n.event || {};
  return {
    id: n.id, kind: "event", hops: n.hops, concern: e.isConcern ? 1 : 0,
    label: `${human(e.type || n.label || "event")}${e.date ? ` ${e.date}` : ""}`,
    agency: e.agency, colour: agencyColour(e.agency), date: e.date, eventType: e.type,
  };
}

const STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 9, color: "#1a1a1a", "text-valign": "bottom", "text-margin-y": 3,
    "text-wrap": "ellipsis", "text-max-width": 110, "background-color": "data(colour)", "text-background-color": "#fff",
    "text-background-opacity": 0.85, "text-background-padding": 1 } },
  { selector: "node[kind = 'person']", style: { width: 28, height: 28, "border-width": 1, "border-color": "#333",
    "pie-size": "100%" } },
  { selector: "node[pie1]", style: { "pie-1-background-color": "data(pie1)", "pie-1-background-size": "data(pie1size)" } },
  { selector: "node[pie2]", style: { "pie-2-background-color": "data(pie2)", "pie-2-background-size": "data(pie2size)" } },
  { selector: "node[pie3]", style: { "pie-3-background-color": "data(pie3)", "pie-3-background-size": "data(pie3size)" } },
  { selector: "node[pie4]", style: { "pie-4-background-color": "data(pie4)", "pie-4-background-size": "data(pie4size)" } },
  { selector: "node[root = 1]", style: { width: 40, height: 40, "font-weight": "bold", "font-size": 11 } },
  { selector: "node[flag = 'confirmed']", style: { "border-width": 5, "border-color": "#c00000", "border-style": "solid" } },
  { selector: "node[flag = 'possible']", style: { "border-width": 5, "border-color": "#b35900", "border-style": "dashed" } },
  { selector: "node[kind = 'event']", style: { shape: "round-rectangle", width: 12, height: 12, "font-size": 7, opacity: 0.9 } },
  { selector: "node[concern = 1]", style: { shape: "diamond", width: 16, height: 16 } },
  { selector: "edge", style: { width: 1.5, "line-color": "#666", "curve-style": "bezier", label: "data(label)", "font-size": 7,
    color: "#333", "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
  { selector: "edge[kind = 'INVOLVED_IN']", style: { width: 1, "line-style": "dotted", "line-color": "#999", label: "" } },
  { selector: "edge[livesWith = 1]", style: { width: 3, "line-color": "#333" } },
  { selector: ".selected", style: { "overlay-color": "#005ea5", "overlay-opacity": 0.25, "overlay-padding": 6 } },
  { selector: ".on-path", style: { "line-color": "#005ea5", width: 5, "border-color": "#005ea5", "z-index": 10 } },
];

export async function networkView(ctx, id) {
  mount(ctx.main, h("p", {}, "Loading network…"));
  performance.mark("cpgraph:network:request");
  const data = await gql(NETWORK, { id, depth: 2, first: FIRST });
  performance.mark("cpgraph:network:data");
  const net = data.network;
  const rootId = net.root.id;
  const people = new Map(); // personId -> node data
  const expanded = new Set([rootId]);

  const canvas = h("div", { class: "graph", role: "img", "aria-label": `Network around ${net.root.displayName || rootId}; the same people are listed below.` });
  const legend = h("div", { class: "legend", "aria-label": "Legend" },
    h("strong", {}, "Agencies: "), Object.keys(AGENCY_COLOURS).map((a) => [agencyBadge(a), " "]),
    h("span", { class: "key confirmed" }, "solid red ring: confirmed flag"), " ",
    h("span", { class: "key possible" }, "dashed orange ring: possible flag"), " ",
    h("span", { class: "key" }, "◆ concern event, ■ other event, thick line: lives with"));
  const status = h("p", { class: "muted", role: "status" });
  const list = h("ul", { class: "node-list" });
  const selectedPanel = h("div", { class: "selected-panel", "aria-live": "polite" }, h("p", {}, "Select a person to see more."));
  const fromSel = h("select", { name: "from" });
  const toSel = h("select", { name: "to" });
  const pathOut = h("div", { class: "paths", "aria-live": "polite" });
  const pathForm = h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); findPaths(); } },
    h("h2", { id: "paths-h" }, "Paths between two people"),
    h("div", { class: "row" }, field("From", fromSel), field("To", toSel)),
    h("button", { type: "submit", class: "primary" }, "Find paths"), pathOut);

  mount(ctx.main,
    h("section", { class: "card" },
      h("h1", {}, `Network of ${net.root.displayName || rootId}`),
      h("p", {}, personLink(net.root), " · two hops, with events · click a person (or their Expand button) to grow the network"),
      legend, status,
      h("div", { class: "network-layout" }, canvas, selectedPanel)),
    pathForm,
    h("section", { class: "card", "aria-labelledby": "people-h" }, h("h2", { id: "people-h" }, "People in this network"), list));

  const cy = cytoscape({ container: canvas, style: STYLE, elements: [], minZoom: 0.2, maxZoom: 3 });

  function add(network) {
    const els = [];
    for (const n of network.nodes) {
      if (cy.getElementById(n.id).nonempty()) continue;
      const d = nodeData(n, rootId);
      if (d.kind === "person") people.set(d.personId, d);
      els.push({ group: "nodes", data: d });
    }
    for (const e of network.edges) {
      const eid = `${e.source}|${e.kind}|${e.relationship || ""}|${e.target}`;
      if (cy.getElementById(eid).nonempty()) continue;
      els.push({ group: "edges", data: { id: eid, source: e.source, target: e.target, kind: e.kind,
        livesWith: e.livesWith ? 1 : 0, label: e.kind === "RELATED_TO" ? human(e.relationship || "") : "" } });
    }
    const have = new Set([...cy.nodes().map((n) => n.id()), ...els.filter((x) => x.group === "nodes").map((x) => x.data.id)]);
    cy.add(els.filter((x) => x.group === "nodes" || (have.has(x.data.source) && have.has(x.data.target))));
    return els.filter((x) => x.group === "nodes").length;
  }

  function layout() {
    cy.layout({ name: "concentric", concentric: (n) => 10 - (n.data("hops") ?? 3) + (n.data("kind") === "person" ? 0.5 : 0),
      levelWidth: () => 1, minNodeSpacing: 18, animate: false }).run();
  }

  function refreshLists() {
    const sorted = [...people.values()].sort((a, b) => a.hops - b.hops || a.label.localeCompare(b.label));
    mount(list, sorted.map((d) => h("li", {},
      h("button", { type: "button", class: "link", onclick: () => select(d.personId) }, d.label),
      h("span", { class: "muted" }, ` ${d.personId} · ${d.hops} hop${d.hops === 1 ? "" : "s"}`),
      d.flag !== "none" ? h("span", { class: `badge ${d.flag}` }, d.flag === "possible" ? "possible flag" : "flagged") : "",
      " ", d.agencies.map((a) => [agencyBadge(a), " "]),
      expanded.has(d.personId) ? h("span", { class: "muted" }, "expanded")
        : h("button", { type: "button", class: "small", "aria-label": `Expand ${d.label}`, onclick: () => expand(d.personId) }, "Expand"))));
    for (const sel of [fromSel, toSel]) {
      const keep = sel.value;
      mount(sel, sorted.map((d) => h("option", { value: d.personId }, `${d.label} (${d.personId})`)));
      if (keep) sel.value = keep;
    }
    if (!fromSel.value || fromSel.value === "") fromSel.value = rootId;
    const events = cy.nodes("[kind = 'event']").length;
    status.textContent = `${plural(people.size, "person", "people")}, ${plural(events, "event")}, ${plural(cy.edges().length, "edge")}${net.truncated ? " (cut short by limits)" : ""}.`;
  }

  function select(personId) {
    const d = people.get(personId);
    if (!d) return;
    cy.elements().removeClass("selected");
    cy.getElementById(`person:${personId}`).addClass("selected");
    const node = cy.getElementById(d.id);
    if (node.nonempty()) node.addClass("selected");
    mount(selectedPanel,
      h("h2", {}, d.label),
      h("p", {}, h("span", { class: "muted" }, d.personId), " · ", d.hops, " hop(s) from ", net.root.displayName || rootId),
      h("p", {}, d.agencies.map((a) => [agencyBadge(a), " "])),
      d.flag !== "none" ? h("p", {}, h("span", { class: `badge ${d.flag}` }, d.flag === "possible" ? "Possible flag — awaiting a data steward" : "Flagged")) : null,
      h("p", { class: "actions" },
        h("a", { class: "button", href: `#/person/${encodeURIComponent(personId)}` }, "Open profile"), " ",
        expanded.has(personId) ? null : h("button", { type: "button", onclick: () => expand(personId) }, "Expand"), " ",
        h("button", { type: "button", onclick: () => { toSel.value = personId; findPaths(); } }, `Paths from ${fromSel.selectedOptions[0]?.textContent.split(" (")[0] || "root"}`)));
  }

  async function expand(personId) {
    if (expanded.has(personId)) return;
    status.textContent = "Expanding…";
    try {
      const more = await gql(NETWORK, { id: personId, depth: 1, first: FIRST });
      expanded.add(personId);
      const base = people.get(personId)?.hops ?? 0;
      for (const n of more.network.nodes) n.hops = Math.min(n.hops + base, 9);
      const added = add(more.network);
      layout();
      refreshLists();
      select(personId);
      announce(`Expanded: ${plural(added, "new node")}.`);
    } catch (err) {
      status.textContent = explain(err);
    }
  }

  async function findPaths() {
    const from = fromSel.value, to = toSel.value;
    if (!from || !to || from === to) { mount(pathOut, h("p", {}, "Choose two different people.")); return; }
    mount(pathOut, h("p", {}, "Searching paths…"));
    cy.elements().removeClass("on-path");
    try {
      const c = (await gql(CONNECTIONS, { from, to, maxDepth: 4 })).connections;
      if (!c.paths.length) { mount(pathOut, h("p", {}, `No path of up to 4 hops between ${c.from.displayName} and ${c.to.displayName}.`)); return; }
      mount(pathOut,
        h("p", {}, `${plural(c.paths.length, "shortest path")} of ${plural(c.length, "hop")} from `, personLink(c.from), " to ", personLink(c.to), c.truncated ? " (search cut short by limits)" : "", ":"),
        c.paths.map((path, i) => h("section", { class: "path-card" }, h("h3", {}, `Path ${i + 1}`), h("ol", { class: "path" }, path.hops.map(hopItem)))));
      for (const hop of c.paths[0].hops) {
        const a = cy.getElementById(`person:${hop.from.id}`), b = cy.getElementById(`person:${hop.to.id}`);
        a.addClass("on-path"); b.addClass("on-path");
        a.edgesWith(b).addClass("on-path");
      }
      announce(`${plural(c.paths.length, "path")} found.`);
    } catch (err) {
      mount(pathOut, h("p", { class: "error", role: "alert" }, explain(err)));
    }
  }

  cy.on("tap", "node[kind = 'person']", (evt) => { const pid = evt.target.data("personId"); select(pid); expand(pid); });
  cy.on("tap", "node[kind = 'event']", (evt) => {
    const d = evt.target.data();
    mount(selectedPanel, h("h2", {}, human(d.eventType || "event")), h("p", {}, d.date || "undated", " · ", agencyBadge(d.agency)));
  });

  add(net);
  layout();
  refreshLists();
  select(rootId);
  performance.mark("cpgraph:network:drawn");
  try { performance.measure("cpgraph:network", "cpgraph:network:request", "cpgraph:network:drawn"); } catch { /* marks missing */ }
  ctx.focus(`Network of ${net.root.displayName || rootId}`);
}
