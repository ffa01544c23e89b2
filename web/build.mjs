// Builds the web app into ../src/cpgraph/web/static (committed, served by `cpgraph serve`),
// the bundled GraphiQL page into ../src/cpgraph/web/graphiql (dev only), and copies
// axe-core for the browser tests' accessibility check. Nothing is loaded from a CDN.
//   npm ci && npm run build
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "src", "cpgraph", "web");
const app = join(pkg, "static");
const graphiql = join(pkg, "graphiql");
const common = {
  bundle: true,
  minify: true,
  legalComments: "linked",
  target: ["es2020"],
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
};

for (const dir of [app, graphiql]) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
await build({ ...common, entryPoints: [join(here, "src", "main.js")], outfile: join(app, "app.js"), format: "esm" });
await build({ ...common, entryPoints: [join(here, "src", "app.css")], outfile: join(app, "app.css") });
copyFileSync(join(here, "src", "index.html"), join(app, "index.html"));
copyFileSync(join(here, "src", "favicon.svg"), join(app, "favicon.svg"));
await build({
  ...common,
  entryPoints: [join(here, "src", "graphiql.jsx")],
  outfile: join(graphiql, "graphiql.js"),
  format: "iife",
  jsx: "automatic",
  loader: { ".css": "css" },
});
copyFileSync(join(here, "src", "graphiql.html"), join(graphiql, "index.html"));
for (const dir of [app, graphiql]) {
  for (const f of readdirSync(dir)) if (statSync(join(dir, f)).size === 0) rmSync(join(dir, f));
}
const vendor = join(here, "..", "tests", "browser", "vendor");
mkdirSync(vendor, { recursive: true });
copyFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), join(vendor, "axe.min.js"));
console.log(`built ${app}, ${graphiql} and ${vendor}/axe.min.js`);
