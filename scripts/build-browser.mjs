// Build the browser bundle of the library: esbuild bundles src/browser.ts (the entry with no
// Node API) into one minified ES module, dist/browser/tsformer.js, with its types beside it
// (tsformer.d.ts re-exports tsc's declarations of the entry). `platform: "browser"` makes any
// Node built-in that sneaks into the entry's import graph a build error, not a runtime one.
// Prints the bundle's size, raw and gzipped (docs/BROWSER.md quotes it).
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "browser");
mkdirSync(out, { recursive: true });
const entries = [["src/browser.ts", "tsformer"]];
for (const [entry, name] of entries) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, `${name}.js`),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    logLevel: "warning",
  });
  const dts = `../${entry.replace(/\.ts$/, ".js")}`;
  writeFileSync(join(out, `${name}.d.ts`), `export * from "${dts}";\n`);
  const code = readFileSync(join(out, `${name}.js`));
  if (!process.argv.includes("--quiet")) {
    console.log(`${name}.js: ${(code.length / 1024).toFixed(1)} KiB, gzip ${(gzipSync(code, { level: 9 }).length / 1024).toFixed(1)} KiB`);
  }
}
