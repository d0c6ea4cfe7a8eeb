// The benchmark's FLOP count (bench/flops.ts), against the textbook formulas.

import assert from "node:assert/strict";
import { test } from "node:test";
import { countGflop } from "../bench/flops.js";
import { F, getBackend, manualSeed, nn, noGrad, randn } from "../src/index.js";

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
