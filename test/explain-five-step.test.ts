// Models that form attention weights through src/attention's five steps (T5 with its relative
// position bias, the GRU + Bahdanau baseline) are recorded like the fused ones.

import assert from "node:assert/strict";
import { test } from "node:test";

import { explain, manualSeed, models, noGrad, tensor } from "../src/index.js";

test("recordAttention records T5's encoder, decoder and cross-attention (the five-step path)", () => {
  manualSeed(4);
  const c = models.t5Config("t5-tiny", { vocabSize: 30, numLayers: 2, numDecoderLayers: 2, numHeads: 4, dropoutRate: 0 });
  const m = new models.T5ForConditionalGeneration(c).eval();
  const src = tensor([[5, 6, 7, 8, 1]], [1, 5], { dtype: "int32" });
  const dec = tensor([[0, 3, 4]], [1, 3], { dtype: "int32" });
  const rec = noGrad(() => explain.recordAttention(m, () => m.forward(src, { decoderInputIds: dec })));
  // 2 encoder self-attentions, then per decoder layer a self- and a cross-attention
  const shapes = rec.attentions.map((a) => a.weights.shape.join("x"));
  assert.equal(shapes.length, 6, `recorded ${shapes.join(", ")}`);
  assert.equal(shapes.filter((s) => s === "1x4x5x5").length, 2);
  assert.equal(shapes.filter((s) => s === "1x4x3x3").length, 2);
  assert.equal(shapes.filter((s) => s === "1x4x3x5").length, 2);
  for (const a of rec.attentions) {
    const [, H, Tq, Tk] = a.weights.shape;
    const w = a.weights.data;
    for (let r = 0; r < H * Tq; r++) {
      let sum = 0;
      for (let j = 0; j < Tk; j++) sum += w[r * Tk + j];
      assert.ok(Math.abs(sum - 1) < 1e-5, `a row of ${a.module} sums to ${sum}`);
    }
  }
  // the decoder's self-attention is causal: no weight on later positions
  const decSelf = rec.attentions.filter((a) => a.weights.shape.join("x") === "1x4x3x3");
  for (const a of decSelf) {
    for (let h = 0; h < 4; h++) {
      for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) assert.equal(a.weights.data[(h * 3 + i) * 3 + j], 0);
    }
  }
  // recording does not change the output
  const plain = noGrad(() => m.forward(src, { decoderInputIds: dec }).logits);
  assert.deepEqual(Array.from(rec.output.logits.data), Array.from(plain.data));
});
