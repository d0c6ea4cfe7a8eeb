// The native addon keeps freed tensor memory in the process (mallopt at load, glibc only), so
// a training loop reuses its pages instead of faulting fresh zero pages in every step. Counted
// in minor page faults, not time: allocate, touch and free an 8 MB buffer 20 times in a child
// process, with the addon's setting and with TSFORMER_MALLOC_CACHE=0.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { addonLoadError, loadAddon } from "../src/backend/native/index.js";

const addonModule = fileURLToPath(new URL("../src/backend/native/index.js", import.meta.url));
const glibc = Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime);

const child = `
const { loadAddon } = await import(${JSON.stringify(addonModule)});
if (!loadAddon()) throw new Error("no addon");
const n = 2 << 20; // 8 MB of float32
const cycle = () => { let b = Buffer.allocUnsafeSlow(n * 4); new Float32Array(b.buffer, 0, n).fill(1); b = null; globalThis.gc(); };
cycle(); cycle();
const before = process.resourceUsage().minorPageFault;
for (let i = 0; i < 20; i++) cycle();
console.log(process.resourceUsage().minorPageFault - before);
`;

function faults(env: NodeJS.ProcessEnv): number {
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", child], { env: { ...process.env, ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test("freed tensor memory is reused without page faults; TSFORMER_MALLOC_CACHE=0 turns that off", (t) => {
  if (!loadAddon()) { t.skip(`native addon not available: ${addonLoadError()}`); return; }
  if (!glibc) { t.skip("malloc tuning is glibc-only"); return; }
  const pages = (20 * 8 * 2 ** 20) / 4096; // what 20 fresh 8 MB buffers fault in
  const cached = faults({ TSFORMER_MALLOC_CACHE: "" });
  const uncached = faults({ TSFORMER_MALLOC_CACHE: "0" });
  // glibc's own sliding threshold keeps some of them (8,146 faults here); the cache keeps all
  assert.ok(uncached > 0.1 * pages, `without the cache ${uncached} faults for ${pages} pages: the test measures nothing`);
  assert.ok(cached < 0.02 * pages, `with the cache ${cached} faults for ${pages} pages touched`);
});
