// Build the explorer page (web/) into dist/web/: esbuild bundles web/explorer.ts into one
// minified ES module; index.html and explorer.css are copied as they are. Runs in `npm run build`
// (and so in `npm install`'s prepare and `npm test`).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "web");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "web", "explorer.ts")],
  outfile: join(out, "explorer.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
for (const f of ["index.html", "explorer.css"]) copyFileSync(join(root, "web", f), join(out, f));
