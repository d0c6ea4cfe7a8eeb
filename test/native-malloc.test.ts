// The native addon keeps freed tensor memory in the process (mallopt at load, glibc only), so
// a training loop reuses its pages instead of faulting fresh zero pages in every step. Counted
// in minor page faults, not time: allocate, touch and free a 48 MB buffer (a GPT's logits are
// 41 MB) 10 times in a child process, with the addon's setting and with
// TSFORMER_MALLOC_CACHE=0. At 48 MB glibc's own sliding threshold (at most 32 MB) maps a fresh
// block every time, so the uncached count is all the pages.

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
const n = 12 << 20; // 48 MB of float32
const cycle = () => { let b = Buffer.allocUnsafeSlow(n * 4); new Float32Array(b.buffer, 0, n).fill(1); b = null; globalThis.gc(); };
cycle(); cycle();
const before = process.resourceUsage().minorPageFault;
for (let i = 0; i < 10; i++) cycle();
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
  const pages = (10 * 48 * 2 ** 20) / 4096; // what 10 fresh 48 MB buffers fault in
  // V8 may free a buffer on a background thread after the next one is allocated: allow a few
  // fresh blocks with the cache
  const cached = faults({ TSFORMER_MALLOC_CACHE: "" });
  const uncached = faults({ TSFORMER_MALLOC_CACHE: "0" });
  assert.ok(uncached > 0.8 * pages, `without the cache ${uncached} faults for ${pages} pages: the test measures nothing`);
  assert.ok(cached < 0.3 * pages, `with the cache ${cached} faults for ${pages} pages touched`);
});
