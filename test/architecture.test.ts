// docs/ARCHITECTURE.md's rule, checked on the sources: each layer imports only from the layers
// above it in the table (type-only imports included, since they tie the layers just the same).

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "src");

/** Read from docs/ARCHITECTURE.md's layer table, top to bottom. */
function layerOrder(): string[] {
  const doc = readFileSync(join(root, "docs", "ARCHITECTURE.md"), "utf8");
  const order: string[] = [];
  for (const m of doc.matchAll(/^\| [a-z]+ \| `src\/([a-z]+)\/`/gm)) order.push(m[1]);
  return order;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const layerOf = (file: string): string | null => {
  const parts = relative(src, file).split(sep);
  return parts.length > 1 ? parts[0] : null;
};

test("every src/ folder is a layer of docs/ARCHITECTURE.md, and no layer imports from one below it", () => {
  const order = layerOrder();
  assert.ok(order.length >= 10, `found only ${order.length} layers in docs/ARCHITECTURE.md`);
  const rank = new Map(order.map((l, i) => [l, i]));
  const folders = readdirSync(src).filter((f) => statSync(join(src, f)).isDirectory());
  assert.deepEqual(folders.filter((f) => !rank.has(f)), [], "folders missing from the layer table");
  const upward: string[] = [];
  for (const file of sources(src)) {
    const from = layerOf(file);
    if (!from) continue; // src/index.ts re-exports everything
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\b(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
      const to = layerOf(normalize(join(dirname(file), m[1])));
      if (to && to !== from && rank.get(to)! > rank.get(from)!) {
        upward.push(`${relative(root, file)} (${from}) imports ${m[1]} (${to})`);
      }
    }
  }
  assert.deepEqual(upward, []);
});
