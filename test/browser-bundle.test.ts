// The browser bundle (dist/browser/tsformer.js, built by scripts/build-browser.mjs): it imports
// no Node module, its types resolve, and in headless Chromium a page from 127.0.0.1 imports it,
// builds a tiny ViT, runs a forward pass and trains it until the loss falls.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromiumSkip, openPage } from "./helpers/browser.js";

const dist = join(fileURLToPath(import.meta.url), "..", "..", "browser");
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>tsformer</title>`;

test("browser bundle: one ES module with types and no Node imports", () => {
  const code = readFileSync(join(dist, "tsformer.js"), "utf8");
  assert.doesNotMatch(code, /["']node:/, "the bundle imports a node: module");
  assert.doesNotMatch(code, /\brequire\(/, "the bundle calls require()");
  for (const name of ["sharp", "ffmpeg", "tsformer_native", "child_process"]) assert.ok(!code.includes(name), `the bundle mentions ${name}`);
  assert.match(code, /export\{/);
  assert.equal(readFileSync(join(dist, "tsformer.d.ts"), "utf8").trim(), `export * from "../src/browser.js";`);
  assert.ok(existsSync(join(dist, "..", "src", "browser.d.ts")));
});

test("browser bundle in headless Chromium: build a tiny ViT, forward, train until the loss falls", { skip: chromiumSkip, timeout: 60_000 }, async () => {
  const s = await openPage(dist, { extra: { "/": PAGE } });
  try {
    const result = await s.page.evaluate(`(async () => {
      const t = await import("/tsformer.js");
      t.manualSeed(3);
      const config = { ...t.models.vitPresets["vit-mnist"], imageSize: 8, patchSize: 4, numLabels: 2,
        hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32 };
      const model = new t.models.ViTForImageClassification(config);
      // class 1: the left half is bright; class 0: the right half
      const n = 16, xs = new Float32Array(n * 64), ys = new Int32Array(n);
      for (let b = 0; b < n; b++) {
        ys[b] = b % 2;
        for (let i = 0; i < 64; i++) xs[b * 64 + i] = ((i % 8) < 4) === (ys[b] === 1) ? 1 : 0;
      }
      const x = new t.Tensor(xs, [n, 1, 8, 8]), y = new t.Tensor(ys, [n]);
      const opt = new t.optim.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
      const losses = [];
      for (let step = 0; step < 15; step++) {
        opt.zeroGrad();
        const loss = t.crossEntropy(model.forward(x).logits, y);
        loss.backward();
        opt.step();
        losses.push(loss.item());
      }
      const logits = model.forward(x).logits;
      return { backend: t.backendName(), available: t.availableBackends(), shape: logits.shape, losses,
        accuracy: t.accuracy(logits, y), webgpuError: (() => { try { t.setBackend("webgpu"); return ""; } catch (e) { return e.message; } })() };
    })()`) as { backend: string; available: string[]; shape: number[]; losses: number[]; accuracy: number; webgpuError: string };
    assert.equal(result.backend, "js");
    assert.deepEqual(result.available, ["js"]);
    assert.deepEqual(result.shape, [16, 2]);
    const first = result.losses[0], last = result.losses.at(-1)!;
    assert.ok(first > 0.5 && last < first / 2, `loss ${first} -> ${last} did not halve`);
    assert.equal(result.accuracy, 1);
    assert.match(result.webgpuError, /reads back only asynchronously/);
    assert.deepEqual(s.errors, []);
  } finally {
    await s.close();
  }
});
