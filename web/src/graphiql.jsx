// GraphiQL bundled with React from npm (no CDN): the development page of /graphql.
// Headers (Authorization, X-Purpose) go in the headers tab; nothing is kept in localStorage.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import "./graphiql-page.css";
import { createRoot } from "react-dom/client";

const memory = new Map();
const storage = {
  getItem: (k) => (memory.has(k) ? memory.get(k) : null),
  setItem: (k, v) => memory.set(k, String(v)),
  removeItem: (k) => memory.delete(k),
  clear: () => memory.clear(),
  get length() { return memory.size; },
};
const fetcher = createGraphiQLFetcher({ url: "/graphql" });
const headers = JSON.stringify(
  { Authorization: "Bearer cpg_PASTE_YOUR_TOKEN", "X-Purpose": "CP-2024-0193; section 47 enquiry" }, null, 2);
createRoot(document.getElementById("graphiql")).render(
  <GraphiQL fetcher={fetcher} storage={storage} defaultHeaders={headers} shouldPersistHeaders={false}
    defaultQuery={"{ me { name role } }\n"} />,
);
