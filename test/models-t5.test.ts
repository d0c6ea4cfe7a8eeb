// T5 against PyTorch (scripts/fixtures/text_models.py writes Hugging Face's modeling_t5
// computation): relative position buckets, logits and gradients (including the bias table,
// which only the position bias reaches) within 1e-4 on both backends, tied and untied heads,
// ReLU and gated-GELU feed-forwards; decoding with the cache equals decoding without; bad input.

import assert from "node:assert/strict";
import { test } from "node:test";
import { availableBackends, manualSeed, models, noGrad, tensor, transformer, withBackend } from "../src/index.js";
import { assertClose, assertCloseScaled, fromFixture, stateFromFixture, textFixture } from "./helpers/text-fixtures.js";

const cases = textFixture().t5;

test("relative position buckets equal Hugging Face's (bidirectional and causal, two sizes)", () => {
  const b = cases.find((c) => c.kind === "buckets")!.buckets as Record<string, { data: number[] }>;
  const rel = b.relative.data;
  for (const [key, want] of Object.entries(b)) {
    if (key === "relative") continue;
    const [dir, nb, md] = key.split("_");
    const got = rel.map((r) => models.relativePositionBucket(r, dir === "bi", Number(nb), Number(md)));
    assert.deepEqual(got, want.data, key);
  }
});

for (const backend of availableBackends()) {
  for (const c of cases.filter((x) => x.kind === "T5ForConditionalGeneration")) {
    test(`[${backend}] ${c.name}: T5ForConditionalGeneration equals PyTorch, logits and gradients`, () => withBackend(backend, () => {
      const m = new models.T5ForConditionalGeneration(c.config as models.T5Config);
      m.loadStateDict(stateFromFixture(c.params)); // strict: Hugging Face's names
      m.eval();
      const { logits } = m.forward(fromFixture(c.inputs.inputIds), {
        attentionMask: fromFixture(c.inputs.attentionMask), decoderInputIds: fromFixture(c.inputs.decoderInputIds),
      });
      assertClose(logits, c.output!, "logits");
      logits.mul(fromFixture(c.gradOutput!)).sum().backward();
      const named = Object.fromEntries(m.namedParameters());
      for (const [name, g] of Object.entries(c.paramGrads)) {
        assert.ok(named[name], `no parameter ${name}`);
        assertCloseScaled(named[name].grad, g, `grad of ${name}`);
      }
    }));
  }
}

test("greedy decoding with the key/value cache equals decoding without it", () => {
  manualSeed(3);
  const m = new models.T5ForConditionalGeneration(models.t5Config("t5-tiny", { vocabSize: 30, numLayers: 2, numDecoderLayers: 2, dropoutRate: 0 })).eval();
  const src = tensor([[5, 6, 7, 8, 9, 1], [10, 11, 12, 1, 0, 0]], [2, 6], { dtype: "int32" });
  const o = { bos: 0, eos: 1, maxLen: 12 };
  const withCache = transformer.greedyDecode(models.t5Decoder(m), src, o);
  const without = transformer.greedyDecode(models.t5Decoder(m, { useCache: false }), src, o);
  assert.deepEqual(withCache, without);
  // and step logits agree numerically with a full forward pass
  noGrad(() => {
    const dec = tensor([[0, 3, 4, 5]], [1, 4], { dtype: "int32" });
    const full = m.forward(src.narrow(0, 0, 1), { decoderInputIds: dec }).logits;
    const caches = m.newCaches();
    const enc = m.encode(src.narrow(0, 0, 1));
    const mask = m.defaultMask(src.narrow(0, 0, 1));
    for (let t = 0; t < 4; t++) {
      const step = m.decode(dec.narrow(1, t, 1), enc, mask, caches);
      const V = step.shape[2];
      for (let j = 0; j < V; j++) assert.ok(Math.abs(step.data[j] - full.data[t * V + j]) < 1e-4, `step ${t} logit ${j}`);
    }
  });
});

test("t5-small has Hugging Face's 60,506,624 parameters; names follow T5ForConditionalGeneration", () => {
  const m = new models.T5ForConditionalGeneration(models.t5Presets["t5-small"]);
  assert.equal(m.numParameters(), 60_506_624);
  const names = new Set(m.namedParameters().map(([n]) => n));
  for (const n of ["shared.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "encoder.block.5.layer.1.DenseReluDense.wo.weight",
    "decoder.block.0.layer.1.EncDecAttention.q.weight", "decoder.block.5.layer.2.layer_norm.weight", "encoder.final_layer_norm.weight"]) {
    assert.ok(names.has(n), n);
  }
  assert.ok(!names.has("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"), "only the first layer owns the bias table");
  assert.ok(!names.has("lm_head.weight") && !names.has("encoder.embed_tokens.weight"), "tied copies are listed once, as shared.weight");
});

test("T5 refuses unknown token ids and bad shapes, naming them", () => {
  const m = new models.T5ForConditionalGeneration(models.t5Config("t5-tiny", { vocabSize: 20, numLayers: 1, numDecoderLayers: 1 }));
  const ids = (rows: number[][]) => tensor(rows, [rows.length, rows[0].length], { dtype: "int32" });
  assert.throws(() => m.forward(ids([[3, 20]]), { decoderInputIds: ids([[0]]) }), /input ids has token id 20 at \[0, 1\], outside the vocabulary \[0, 20\)/);
  assert.throws(() => m.forward(ids([[3, 4]]), { decoderInputIds: ids([[0, -2]]) }), /decoder input ids has token id -2/);
  assert.throws(() => m.encode(tensor([1, 2], [2], { dtype: "int32" })), /input ids must be int32 \[B, T\], got int32 \[2\]/);
  assert.throws(() => models.t5Config("t5-giant"), /unknown preset "t5-giant"/);
  assert.deepEqual(m.shiftRight(ids([[5, 6, 1]])).data, Int32Array.from([0, 5, 6]));
});
