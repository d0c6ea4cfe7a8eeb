// Decoding: the key/value cache changes the cost, not the result; beam search and sampling
// behave as their definitions say.

import assert from "node:assert/strict";
import { test } from "node:test";
import { manualSeed, models, randint, noGrad, Generator, tensor } from "../src/index.js";
import { beamSearch, greedyDecode, sampleDecode, sampleToken, transformerDecoder, type StepDecoder } from "../src/transformer/decoding.js";

function smallTransformer(): InstanceType<typeof models.Transformer> {
  manualSeed(3);
  return new models.Transformer({
    srcVocabSize: 13, tgtVocabSize: 13, dModel: 32, numHeads: 4, numEncoderLayers: 2, numDecoderLayers: 2,
    dimFeedforward: 64, dropout: 0, maxLen: 40, normFirst: false, shareEmbeddings: false,
  }).eval();
}

test("cached and uncached decoding give the same logits and the same tokens", () => {
  const model = smallTransformer();
  const src = randint(3, 13, [3, 9]);
  const opts = { bos: 1, eos: 2, maxLen: 12 };
  const cached = greedyDecode(transformerDecoder(model, { useCache: true }), src, opts);
  const full = greedyDecode(transformerDecoder(model, { useCache: false }), src, opts);
  assert.deepEqual(cached, full);

  // step by step, the last-position logits agree to float32 rounding
  noGrad(() => {
    const a = transformerDecoder(model, { useCache: true }), b = transformerDecoder(model, { useCache: false });
    const sa = a.begin(src, null), sb = b.begin(src, null);
    const toks = [[1], [1], [1]];
    for (let t = 0; t < 6; t++) {
      const tt = tensor(toks.flat(), [3, toks[0].length], { dtype: "int32" });
      const la = a.step(tt, sa), lb = b.step(tt, sb);
      for (let i = 0; i < la.numel; i++) assert.ok(Math.abs(la.data[i] - lb.data[i]) < 1e-4, `step ${t} logit ${i}`);
      toks.forEach((r, i) => r.push(3 + ((t + i) % 10)));
    }
  });
});

test("beam search with one beam is greedy search; wider beams never score worse", () => {
  const model = smallTransformer();
  const src = randint(3, 13, [2, 7]);
  const dec = transformerDecoder(model);
  const opts = { bos: 1, eos: 2, maxLen: 10 };
  assert.deepEqual(beamSearch(dec, src, { ...opts, beamSize: 1, lengthPenalty: 0 }), greedyDecode(dec, src, opts));
});

/** A toy decoder whose next-token distribution is fixed, to check beam search exactly. */
function tableDecoder(table: (prefix: number[]) => number[]): StepDecoder<null> {
  return {
    begin: () => null,
    step: (tokens) => {
      const [N, T] = tokens.shape;
      const rows: number[] = [];
      for (let n = 0; n < N; n++) rows.push(...table(Array.from(tokens.data.subarray(n * T, (n + 1) * T))).map(Math.log));
      return tensor(rows, [N, rows.length / N]);
    },
    select: (s) => s,
  };
}

test("beam search finds the most likely sequence that greedy search misses", () => {
  // tokens: 0 bos, 1 eos, 2 a, 3 b. Greedy takes 'a' (0.6) then must spread; 'b' then eos is better.
  const dec = tableDecoder((p) => {
    const last = p[p.length - 1];
    if (p.length === 1) return [0, 0, 0.6, 0.4];
    if (last === 2) return [0, 0.3, 0.35, 0.35];
    if (last === 3) return [0, 0.99, 0.005, 0.005];
    return [0, 1, 0, 0];
  });
  const src = tensor([[5]], { dtype: "int32" });
  const o = { bos: 0, eos: 1, maxLen: 3 };
  assert.deepEqual(greedyDecode(dec, src, o), [[2, 2, 2]]);
  assert.deepEqual(beamSearch(dec, src, { ...o, beamSize: 2, lengthPenalty: 0 }), [[3]]);
});

test("sampling: top-k 1 is argmax, top-p keeps the nucleus, temperature sharpens", () => {
  const g = new Generator(7);
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
  for (let i = 0; i < 20; i++) assert.equal(sampleToken(logits, { topK: 1 }, g), 0);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[sampleToken(logits, { topP: 0.75 }, g)]++;
  assert.equal(counts[2] + counts[3], 0); // 0.5 + 0.3 reaches 0.75: only the first two stay
  assert.ok(Math.abs(counts[0] / 4000 - 0.625) < 0.03, `p(0) = ${counts[0] / 4000}, expected 0.5/0.8`);
  const cold = [0, 0, 0, 0];
  for (let i = 0; i < 2000; i++) cold[sampleToken(logits, { temperature: 0.25 }, g)]++;
  assert.ok(cold[0] / 2000 > 0.85, `temperature 0.25 should concentrate on the top token, got ${cold[0] / 2000}`);
  assert.throws(() => sampleToken(logits, { temperature: 0 }), /temperature must be > 0/);
});

test("decoding refuses sources that are not int32 [B, S] and positions past the table", () => {
  const model = smallTransformer();
  assert.throws(() => greedyDecode(transformerDecoder(model), tensor([[1.5, 2]]), { bos: 1, eos: 2, maxLen: 3 }), /int32 token ids \[B, S\]/);
  const src = randint(3, 13, [1, 5]);
  assert.throws(() => model.forward(src, randint(3, 13, [1, 41])), /length 41 exceeds the position table of maxLen 40/);
});

test("sampling with top-k 1 decodes exactly like greedy search", () => {
  const model = smallTransformer();
  const src = randint(3, 13, [3, 6]);
  const o = { bos: 1, eos: 2, maxLen: 9 };
  assert.deepEqual(sampleDecode(transformerDecoder(model), src, { ...o, topK: 1, generator: new Generator(1) }), greedyDecode(transformerDecoder(model), src, o));
});
