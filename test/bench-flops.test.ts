// The benchmark's FLOP count (bench/flops.ts), against the textbook formulas.

import assert from "node:assert/strict";
import { test } from "node:test";
import { countGflop } from "../bench/flops.js";
import { F, getBackend, manualSeed, models, nn, noGrad, randn } from "../src/index.js";

test("countGflop counts a linear layer's GEMMs: 2·rows·in·out forward, twice that backward", () => {
  manualSeed(0);
  const layer = new nn.Linear(24, 40);
  const x = randn([3, 5, 24], { requiresGrad: true });
  const fwd = 2 * 15 * 24 * 40;
  assert.equal(countGflop(() => noGrad(() => layer.forward(x))) * 1e9, fwd);
  // backward: dX = G W and dW = Gᵀ X, one more GEMM each
  const step = countGflop(() => layer.forward(x).sum().backward()) * 1e9;
  assert.ok(Math.abs(step - 3 * fwd) < 1e-3, `${step} vs ${3 * fwd}`);
});

test("countGflop counts attention's four products in full, causal or not, and restores the backend", () => {
  manualSeed(0);
  const [B, H, T, D] = [2, 3, 7, 8];
  const q = randn([B, H, T, D], { requiresGrad: true });
  const k = randn([B, H, T, D], { requiresGrad: true });
  const v = randn([B, H, T, D], { requiresGrad: true });
  const be = getBackend();
  const before = { gemm: be.gemm, attention: be.attention, attentionBackward: be.attentionBackward };
  const fwd = 2 * B * H * T * T * (D + D); // Q Kᵀ and P V
  for (const isCausal of [false, true]) {
    const f = countGflop(() => noGrad(() => F.scaledDotProductAttention(q, k, v, { causal: isCausal }))) * 1e9;
    assert.ok(Math.abs(f - fwd) < 1e-3, `forward ${f} vs ${fwd}`);
    const s = countGflop(() => F.scaledDotProductAttention(q, k, v, { causal: isCausal }).sum().backward()) * 1e9;
    assert.ok(Math.abs(s - 3 * fwd) < 1e-3, `forward + backward ${s} vs ${3 * fwd}`);
  }
  assert.deepEqual({ gemm: be.gemm, attention: be.attention, attentionBackward: be.attentionBackward }, before);
});

test("countGflop on ViT: the textbook count with every row, less most of the last layer with the [CLS] row alone", () => {
  manualSeed(0);
  const c = { ...models.vitPresets["vit-mnist"], numHiddenLayers: 3 };
  const vit = new models.ViTForImageClassification(c);
  const B = 2, x = randn([B, 1, 28, 28]);
  const D = c.hiddenSize, M = c.intermediateSize, T = (28 / c.patchSize) ** 2 + 1, P2 = c.patchSize ** 2;
  const patch = 2 * B * (T - 1) * P2 * D, head = 2 * B * D * c.numLabels;
  // rows Tq of queries, MLP and output projection; every layer's keys and values come from all T rows
  const layer = (Tq: number) => 2 * B * (Tq * 2 * D * D + T * 2 * D * D + Tq * 2 * D * M) + 2 * B * Tq * T * 2 * D;
  const every = patch + c.numHiddenLayers * layer(T) + head;
  const clsOnly = patch + (c.numHiddenLayers - 1) * layer(T) + layer(1) + head;
  vit.eval();
  vit.vit.clsOnlyLastLayer = false;
  assert.ok(Math.abs(countGflop(() => noGrad(() => vit.forward(x))) * 1e9 - every) < 1e-2);
  vit.vit.clsOnlyLastLayer = true;
  assert.ok(Math.abs(countGflop(() => noGrad(() => vit.forward(x))) * 1e9 - clsOnly) < 1e-2);
});
