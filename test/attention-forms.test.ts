// Attention in every form: the five steps against the fused kernel, masks, score functions,
// local and hard attention, multi-head errors.

import assert from "node:assert/strict";
import { test } from "node:test";
import { attention, manualSeed, randn, tensor, MultiHeadAttention, type Tensor } from "../src/index.js";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, what = ""): void => {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test("the five explicit steps and the fused kernel agree, masks included", () => {
  manualSeed(1);
  const q = randn([2, 3, 5, 8]), k = randn([2, 3, 7, 8]), v = randn([2, 3, 7, 4]);
  const pad = attention.paddingMask([7, 4], 7).reshape([2, 1, 1, 7]);
  for (const causal of [false, true]) {
    const fused = attention.scaledDotProduct(q, k, v, { mask: pad, causal });
    const steps = attention.scaledDotProduct(q, k, v, { mask: pad, causal, returnWeights: true });
    assert.equal(fused.weights, null);
    close(fused.output.data, steps.output.data, 1e-5, `causal=${causal}`);
    const w = steps.weights!;
    for (let r = 0; r < w.numel / 7; r++) {
      let s = 0;
      for (let j = 0; j < 7; j++) s += w.data[r * 7 + j];
      assert.ok(Math.abs(s - 1) < 1e-5, `row ${r} sums to ${s}`);
    }
    // the second sequence has 4 real keys: weights on keys 4..6 are exactly 0
    for (let r = 3 * 5; r < 6 * 5; r++) for (let j = 4; j < 7; j++) assert.equal(w.data[r * 7 + j], 0);
  }
});

test("masks: causal, padding, sliding window and their combination", () => {
  assert.deepEqual(attention.causalMask(3).tolist(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assert.deepEqual(attention.causalMask(2, 4).tolist(), [[1, 1, 1, 0], [1, 1, 1, 1]]);
  assert.deepEqual(attention.paddingMask([2, 3], 3).tolist(), [[[1, 1, 0]], [[1, 1, 1]]]);
  assert.deepEqual(attention.slidingWindowMask(4, 1).tolist(), [[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]]);
  const both = attention.combineMasks(attention.causalMask(3), attention.paddingMask([2], 3))!;
  assert.deepEqual(both.tolist(), [[[1, 0, 0], [1, 1, 0], [1, 1, 0]]]);
  assert.throws(() => attention.applyMask(randn([2, 3, 4]), attention.causalMask(3)), /mask \[3, 3\] does not broadcast to the scores \[2, 3, 4\]/);
});

test("score functions compute what their papers define", () => {
  manualSeed(2);
  const q = randn([2, 3, 4]), k = randn([2, 5, 4]), v = randn([2, 5, 6]);
  const dot = new attention.DotScore().score(q, k);
  for (let b = 0; b < 2; b++) for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) {
    let s = 0;
    for (let d = 0; d < 4; d++) s += q.data[(b * 3 + i) * 4 + d] * k.data[(b * 5 + j) * 4 + d];
    assert.ok(Math.abs(dot.data[(b * 3 + i) * 5 + j] - s) < 1e-5);
  }
  // general with W = I is dot
  const general = new attention.GeneralScore(4, 4);
  general.W.weight.data.fill(0);
  for (let d = 0; d < 4; d++) general.W.weight.data[d * 4 + d] = 1;
  close(general.score(q, k).data, dot.data, 1e-6, "general(W=I)");
  // additive: v . tanh(W1 q + W2 k), checked at one entry by hand
  const add = new attention.AdditiveScore(4, 4, 3);
  const sc = add.score(q, k);
  assert.deepEqual(sc.shape, [2, 3, 5]);
  const W1 = add.W1.weight.data, W2 = add.W2.weight.data, b2 = add.W2.bias!.data, vv = add.v.weight.data;
  let want = 0;
  for (let h = 0; h < 3; h++) {
    let a = b2[h];
    for (let d = 0; d < 4; d++) a += W1[h * 4 + d] * q.data[4 + d] + W2[h * 4 + d] * k.data[2 * 4 + d];
    want += vv[h] * Math.tanh(a);
  }
  assert.ok(Math.abs(sc.data[1 * 5 + 2] - want) < 1e-5);
  // location: scores depend on the query alone
  const loc = new attention.LocationScore(4, 8);
  close(loc.score(q, k).data, loc.score(q, randn([2, 5, 4])).data, 0, "location ignores keys");
  // content: cosine similarity in [-beta, beta]; a larger beta sharpens the weights
  const c1 = new attention.ContentScore(1).score(q, k), c10 = new attention.ContentScore(10).score(q, k);
  for (let i = 0; i < c1.numel; i++) assert.ok(Math.abs(c1.data[i]) <= 1 + 1e-6 && Math.abs(c10.data[i] - 10 * c1.data[i]) < 1e-4);
  const w1 = attention.attend(new attention.ContentScore(1), q, k, v).weights!;
  const w10 = attention.attend(new attention.ContentScore(10), q, k, v).weights!;
  assert.ok(w10.max().item() > w1.max().item(), "sharpening raises the peak weight");
});

test("gradients flow into every score function's parameters", () => {
  manualSeed(3);
  const q = randn([1, 2, 4]), k = randn([1, 3, 4]), v = randn([1, 3, 2]);
  for (const s of [new attention.GeneralScore(4, 4), new attention.AdditiveScore(4, 4, 5), new attention.LocationScore(4, 3)]) {
    attention.attend(s, q, k, v).output.square().sum().backward();
    for (const [name, p] of s.namedParameters()) assert.ok(p.grad && p.grad.abs().sum().item() > 0, `${s.constructor.name}.${name}`);
  }
});

test("local attention: nothing outside the window, local-m centres on t, local-p learns its centre", () => {
  manualSeed(4);
  const q = randn([2, 4, 6]), k = randn([2, 9, 6]), v = randn([2, 9, 3]);
  const localM = new attention.LocalAttention(new attention.DotScore(), 6, { window: 1, mode: "monotonic" });
  const r = localM.forward(q, k, v);
  assert.deepEqual(Array.from(r.positions.data.slice(0, 4)), [0, 1, 2, 3]);
  for (let b = 0; b < 2; b++) for (let t = 0; t < 4; t++) for (let s = 0; s < 9; s++) {
    if (Math.abs(s - t) > 1) assert.equal(r.weights!.data[(b * 4 + t) * 9 + s], 0, `b${b} t${t} s${s}`);
  }
  const localP = new attention.LocalAttention(new attention.GeneralScore(6, 6), 6, { window: 2, mode: "predictive" });
  const rp = localP.forward(q, k, v);
  for (const p of rp.positions.data) assert.ok(p >= 0 && p <= 9);
  rp.output.sum().backward();
  assert.ok(localP.vp!.weight.grad!.abs().sum().item() > 0, "the Gaussian passes gradient to the predicted position");
});

test("hard attention: one-hot at inference, straight-through gradients in training", () => {
  manualSeed(5);
  const scores = randn([2, 3, 5], { requiresGrad: true }), v = randn([2, 5, 4]);
  const inf = attention.hardAttention(scores, v);
  for (let r = 0; r < 6; r++) {
    const row = Array.from(inf.weights!.data.slice(r * 5, r * 5 + 5));
    assert.equal(row.filter((x) => x === 1).length, 1);
    assert.equal(row.indexOf(1), row.indexOf(1)); // one-hot
    const best = Array.from(scores.data.slice(r * 5, r * 5 + 5)).reduce((bi, x, i, a) => (x > a[bi] ? i : bi), 0);
    assert.equal(row.indexOf(1), best);
  }
  const tr = attention.hardAttention(scores, v, { training: true, temperature: 0.5 });
  for (let r = 0; r < 6; r++) {
    const row = Array.from(tr.weights!.data.slice(r * 5, r * 5 + 5));
    assert.ok(row.every((x) => Math.abs(x) < 1e-6 || Math.abs(x - 1) < 1e-6), "forward value is one-hot");
  }
  tr.output.sum().backward();
  assert.ok(scores.grad!.abs().sum().item() > 0, "the soft relaxation carries gradient");
});

test("multi-head attention refuses bad sizes with the sizes in the message", () => {
  assert.throws(() => new MultiHeadAttention(10, 3), /embedding dim 10 is not divisible by 3 heads/);
  const mha = new MultiHeadAttention(8, 2);
  const x = randn([2, 5, 8]);
  assert.throws(() => mha.forward(x, randn([2, 6, 8]), randn([2, 7, 8])), /v \[2, 7, 8\] does not match k \[2, 6, 8\] \(key\/value lengths 6 vs 7\)/);
  assert.throws(() => mha.forward(x, x, x, { mask: tensor([1, 1, 0], { dtype: "int32" }) }), /mask \[3\] does not broadcast to \[B, H, Tq, Tk\] = \[2, 2, 5, 5\]/);
  const y: Tensor = mha.forward(x, x, x, { causal: true });
  assert.deepEqual(y.shape, [2, 5, 8]);
});
