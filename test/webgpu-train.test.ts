// Training on WebGPU, in headless Chromium on its SwiftShader adapter (as webgpu-kernels.test.ts):
// 1. the training kernels (backward passes, cross-entropy, permute, block copies, column sums,
//    split-K and 128x128-tile GEMM) against the js backend's kernels on the same inputs;
// 2. WebGPUViTTrainer against the eager engine on the js backend: from the same weights and
//    batch, the same loss and every parameter's gradient (autograd is the reference for the
//    hand-written backward), then the same losses over AdamW steps and the same weights after;
// 3. bad input refused with a message that names it.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromiumSkip, openPage } from "./helpers/browser.js";

const dist = join(fileURLToPath(import.meta.url), "..", "..", "browser");
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>webgpu training</title>`;

const SCRIPT = `(async () => {
  const t = await import("/tsformer.js");
  const gpu = await t.webgpu.createWebGPUBackend();
  const js = t.getBackend();
  let seed = 7;
  const rnd = (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return lo + (hi - lo) * seed / 2 ** 32; });
  const up = (x) => gpu.upload(x);
  const out = [];
  const rel = (g, r) => {
    let err = 0, scale = 1e-6;
    for (let j = 0; j < r.length; j++) { err = Math.max(err, Math.abs(r[j] - g[j])); scale = Math.max(scale, Math.abs(r[j])); }
    return err / scale;
  };
  const check = async (name, gpuArrays, jsArrays) => {
    for (let i = 0; i < gpuArrays.length; i++) {
      out.push({ name: name + (gpuArrays.length > 1 ? "#" + i : ""), rel: rel(await gpuArrays[i].data(), jsArrays[i]) });
    }
  };

  // 1. kernels
  for (const op of ["tanh", "sigmoid", "relu", "gelu", "geluTanh", "silu"]) {
    const x = rnd(500, -4, 4), dy = rnd(500), y = new Float32Array(500), dx = new Float32Array(500);
    js.unary(op, x, y); js.unaryBackward(op, x, y, dy, dx);
    const dxg = gpu.zeros(500); gpu.unaryBackward(op, up(x), up(dy), dxg);
    await check("unaryBackward " + op, [dxg], [dx]);
  }
  for (const rows of [7, 300]) { // 300 rows: two-stage parameter sums
    const cols = 24, x = rnd(rows * cols, -3, 3), g = rnd(cols), b = rnd(cols), dy = rnd(rows * cols);
    const y = new Float32Array(rows * cols), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    js.layerNorm(x, g, b, rows, cols, 1e-5, y, mean, rstd);
    const dx = new Float32Array(rows * cols), dg = new Float32Array(cols), db = new Float32Array(cols);
    js.layerNormBackward(x, g, mean, rstd, dy, rows, cols, dx, dg, db);
    const X = up(x), M = gpu.zeros(rows), S = gpu.zeros(rows), DX = gpu.zeros(rows * cols), DG = gpu.zeros(cols), DB = gpu.zeros(cols);
    gpu.layerNorm(X, up(g), up(b), rows, cols, 1e-5, gpu.zeros(rows * cols), M, S);
    gpu.layerNormBackward(X, up(g), M, S, up(dy), rows, cols, DX, DG, DB);
    await check("layerNormBackward " + rows, [DX, DG, DB], [dx, dg, db]);
  }
  {
    const rows = 13, cols = 10, x = rnd(rows * cols, -5, 5), tg = Int32Array.from({ length: rows }, (_, i) => (i === 4 ? -1 : (i * 3) % cols));
    const loss = new Float32Array(rows), dl = new Float32Array(rows * cols);
    js.crossEntropy(x, tg, rows, cols, -1, 0, loss, dl, 1 / rows);
    const L = gpu.zeros(rows), D = gpu.zeros(rows * cols);
    gpu.crossEntropy(up(x), up(Float32Array.from(tg)), rows, cols, L, D, 1 / rows);
    await check("crossEntropy", [L, D], [loss, dl]);
  }
  {
    const shape = [2, 3, 4, 5, 2], perm = [4, 0, 3, 1, 2], x = rnd(240), y = new Float32Array(240);
    js.permute(x, shape, perm, y);
    const Y = gpu.zeros(240); gpu.permute(up(x), shape, perm, Y);
    await check("permute", [Y], [y]);
  }
  {
    const rows = 777, cols = 9, x = rnd(rows * cols), s = new Float32Array(cols);
    js.reduce("sum", x, 1, rows, cols, s);
    const S = gpu.zeros(cols); gpu.columnSum(up(x), rows, cols, S);
    await check("columnSum", [S], [s]);
  }
  {
    // rows 1..3 of each of 2 blocks of 5 rows x 4, added into rows 0..2 of a [2, 6, 4] array
    const x = rnd(40), y0 = rnd(48), y = y0.slice();
    for (let b = 0; b < 2; b++) for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) y[b * 24 + r * 4 + c] += x[b * 20 + (r + 1) * 4 + c];
    const Y = up(y0);
    gpu.copyBlocks(up(x), Y, { batch: 2, rows: 3, cols: 4, xOffset: 4, xBatchStride: 20, xRowStride: 4, yOffset: 0, yBatchStride: 24, yRowStride: 4, add: true });
    await check("copyBlocks", [Y], [y]);
  }
  for (const c of [
    { name: "heads", B: 2, H: 3, tq: 9, tk: 9, d: 8, heads: 3, causal: false, mask: false },
    { name: "causal mask", B: 2, H: 2, tq: 5, tk: 7, d: 6, heads: 0, causal: true, mask: true },
  ]) {
    const bh = c.B * c.H, q = rnd(bh * c.tq * c.d), k = rnd(bh * c.tk * c.d), v = rnd(bh * c.tk * c.d), dO = rnd(bh * c.tq * c.d);
    const mask = c.mask ? rnd(c.B * c.tq * c.tk).map((m, i) => (i % 4 === 1 ? -Infinity : m)) : null;
    const args = { bh, tq: c.tq, tk: c.tk, d: c.d, dv: c.d, heads: c.heads, scale: 1 / Math.sqrt(c.d), causal: c.causal, maskBatch: c.B, maskHeadDiv: c.H };
    const o = new Float32Array(bh * c.tq * c.d), lse = new Float32Array(bh * c.tq);
    js.attention({ ...args, q, k, v, mask, out: o, lse });
    const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
    js.attentionBackward({ ...args, q, k, v, mask, out: o, lse, gradOut: dO, gradQ: dq, gradK: dk, gradV: dv });
    const ga = { ...args, q: up(q), k: up(k), v: up(v), mask: mask ? up(mask) : null, out: gpu.zeros(o.length), lse: gpu.zeros(lse.length) };
    gpu.attention(ga);
    const DQ = gpu.zeros(q.length), DK = gpu.zeros(k.length), DV = gpu.zeros(v.length);
    gpu.attentionBackward({ ...ga, gradOut: up(dO), gradQ: DQ, gradK: DK, gradV: DV });
    await check("attentionBackward " + c.name, [DQ, DK, DV], [dq, dk, dv]);
  }
  for (const [name, m, n, k, transA, batch] of [["splitK", 40, 24, 1500, true, 1], ["large tiles", 520, 520, 12, false, 12]]) {
    const a = rnd(batch * m * k), b = rnd(batch * k * n), c = new Float32Array(batch * m * n);
    const args = { transA, transB: false, m, n, k, alpha: 1, beta: 0, aOffset: 0, lda: transA ? m : k, strideA: m * k,
      bOffset: 0, ldb: n, strideB: k * n, cOffset: 0, ldc: n, strideC: m * n, batch };
    js.gemm({ ...args, a, b, c });
    const C = gpu.zeros(c.length); gpu.gemm({ ...args, a: up(a), b: up(b), c: C });
    await check("gemm " + name, [C], [c]);
  }

  // 2. the ViT trainer against the engine
  t.manualSeed(5);
  const config = { ...t.models.vitPresets["vit-mnist"], imageSize: 12, patchSize: 4, hiddenSize: 16, numHiddenLayers: 2,
    numAttentionHeads: 2, intermediateSize: 32, numLabels: 5 };
  const model = new t.models.ViTForImageClassification(config);
  const B = 3, x = t.rand([B, 1, 12, 12]), y = t.tensor([4, 0, 2], { dtype: "int32" });
  const trainer = new t.WebGPUViTTrainer(gpu, model, { batchSize: B, lr: 3e-3 });
  trainer.forwardBackward(x.data, y.data);
  const loss = t.crossEntropy(model.forward(x).logits, y);
  loss.backward();
  const grads = await trainer.gradients();
  let gradScale = 0;
  for (const [, p] of model.namedParameters()) for (const v of p.grad.data) gradScale = Math.max(gradScale, Math.abs(v));
  const gradErrors = {};
  for (const [name, p] of model.namedParameters()) {
    const g = grads.get(name);
    let e = 0;
    for (let i = 0; i < g.length; i++) e = Math.max(e, Math.abs(g[i] - p.grad.data[i]));
    gradErrors[name] = e / gradScale; // relative to the largest gradient: some are exactly 0 (key biases)
  }
  const gpuLoss0 = await trainer.loss();
  const opt = new t.optim.AdamW(model.parameters(), { lr: 3e-3 });
  opt.step(); trainer.optimizerStep();
  const engineLosses = [], gpuLosses = [];
  for (let s = 0; s < 4; s++) {
    opt.zeroGrad();
    const l = t.crossEntropy(model.forward(x).logits, y); l.backward(); opt.step(); engineLosses.push(l.item());
    trainer.step(x.data, y.data); gpuLosses.push(await trainer.loss());
  }
  const copy = new t.models.ViTForImageClassification(config);
  await trainer.copyWeightsTo(copy);
  let weightDiff = 0;
  const trained = new Map(model.namedParameters());
  for (const [name, p] of copy.namedParameters()) {
    const r = trained.get(name).data;
    for (let i = 0; i < r.length; i++) weightDiff = Math.max(weightDiff, Math.abs(p.data[i] - r[i]));
  }
  const logits = await trainer.logits();

  // without Q/K/V biases (qkvBias: false) the schedule skips them: gradients still match autograd
  const plain = new t.models.ViTForImageClassification({ ...config, qkvBias: false, numHiddenLayers: 1 });
  const plainTrainer = new t.WebGPUViTTrainer(gpu, plain, { batchSize: B });
  plainTrainer.forwardBackward(x.data, y.data);
  t.crossEntropy(plain.forward(x).logits, y).backward();
  const plainGrads = await plainTrainer.gradients();
  let plainError = 0, plainScale = 0;
  for (const [name, p] of plain.namedParameters()) {
    const g = plainGrads.get(name);
    for (let i = 0; i < g.length; i++) { plainError = Math.max(plainError, Math.abs(g[i] - p.grad.data[i])); plainScale = Math.max(plainScale, Math.abs(p.grad.data[i])); }
  }
  const plainCount = plainGrads.size;
  plainTrainer.destroy(); // frees its GPU arrays: reading one afterwards is an error, not stale data
  let destroyed = "";
  try { await plainTrainer.loss(); } catch (e) { destroyed = e.message; }

  // 3. bad input
  const refusals = [];
  for (const bad of [
    () => trainer.step(new Float32Array(10), [0, 1, 2]),
    () => trainer.step(x.data, [0, 1, 7]),
    () => new t.WebGPUViTTrainer(gpu, new t.models.ViTForImageClassification({ ...config, hiddenDropoutProb: 0.1 }), { batchSize: 2 }),
    () => gpu.copyBlocks(gpu.zeros(4), gpu.zeros(4), { batch: 1, rows: 1, cols: 8, xOffset: 0, xBatchStride: 0, xRowStride: 0, yOffset: 0, yBatchStride: 0, yRowStride: 0, add: false }),
    () => gpu.unaryBackward("exp", gpu.zeros(2), gpu.zeros(2), gpu.zeros(2)),
    // a query/key width over the kernel's per-thread rows is refused, not silently clamped
    () => gpu.attention({ q: gpu.zeros(129), k: gpu.zeros(129), v: gpu.zeros(16), bh: 1, tq: 1, tk: 1, d: 129, dv: 16, heads: 0, scale: 1,
      causal: false, mask: null, maskBatch: 1, maskHeadDiv: 1, out: gpu.zeros(16), lse: gpu.zeros(1) }),
  ]) {
    try { bad(); refusals.push(""); } catch (e) { refusals.push(e.message); }
  }
  return { kernels: out, engineLoss0: loss.item(), gpuLoss0, gradErrors, engineLosses, gpuLosses, weightDiff, logitsLength: logits.length, refusals,
    plainError: plainError / plainScale, plainCount, destroyed };
})()`;

interface Result {
  kernels: { name: string; rel: number }[];
  engineLoss0: number; gpuLoss0: number; gradErrors: Record<string, number>;
  engineLosses: number[]; gpuLosses: number[]; weightDiff: number; logitsLength: number; refusals: string[];
  plainError: number; plainCount: number; destroyed: string;
}

test("webgpu training kernels and the ViT trainer match the js backend and autograd (Chromium, SwiftShader)", { skip: chromiumSkip, timeout: 180_000 }, async () => {
  const s = await openPage(dist, { extra: { "/": PAGE }, webgpu: true });
  try {
    s.page.setDefaultTimeout(170_000);
    const r = await s.page.evaluate(SCRIPT) as Result;
    if (process.env.TSFORMER_DEBUG) console.log(JSON.stringify(r));
    const names = r.kernels.map((k) => k.name);
    for (const want of ["unaryBackward gelu", "layerNormBackward 300#1", "crossEntropy#1", "permute", "columnSum", "copyBlocks",
      "attentionBackward heads#1", "attentionBackward causal mask#2", "gemm splitK", "gemm large tiles"]) {
      assert.ok(names.includes(want), `missing case ${want}`);
    }
    for (const k of r.kernels) assert.ok(k.rel < 2e-5, `${k.name}: relative error ${k.rel.toExponential(2)}`);

    assert.ok(Math.abs(r.gpuLoss0 - r.engineLoss0) < 1e-5, `loss: GPU ${r.gpuLoss0}, engine ${r.engineLoss0}`);
    assert.equal(Object.keys(r.gradErrors).length, 2 * 16 + 4 + 2 + 2, "every parameter has a gradient"); // 2 layers x 16, embeddings, final LN, head
    for (const [name, e] of Object.entries(r.gradErrors)) assert.ok(e < 1e-4, `gradient of ${name}: error ${e.toExponential(2)} of the largest gradient`);
    r.engineLosses.forEach((l, i) => assert.ok(Math.abs(r.gpuLosses[i] - l) < 1e-4, `step ${i + 1}: GPU loss ${r.gpuLosses[i]}, engine ${l}`));
    assert.ok(r.engineLosses[3] < r.engineLosses[0], "the losses fall");
    assert.ok(r.weightDiff < 1e-4, `weights after 5 AdamW steps differ by ${r.weightDiff}`);
    assert.equal(r.logitsLength, 3 * 5);
    assert.equal(r.plainCount, 13 + 4 + 2 + 2, "qkvBias false: 13 parameters in the layer"); // 16 less the 3 Q/K/V biases
    assert.ok(r.plainError < 1e-4, `qkvBias false: gradient error ${r.plainError.toExponential(2)}`);
    assert.match(r.destroyed, /the array was destroyed/);

    assert.match(r.refusals[0], /pixels hold 10 floats, expected \[3, 1, 12, 12\] = 432/);
    assert.match(r.refusals[1], /label 2 is 7, expected an integer in \[0, 5\)/);
    assert.match(r.refusals[2], /dropout is not implemented on the GPU/);
    assert.match(r.refusals[3], /x holds 4 floats, the copy reads up to 8/);
    assert.match(r.refusals[4], /"exp" is not supported/);
    assert.equal(r.refusals[5], "webgpu.attention: head widths 129/16 exceed 128 (registers per row)");
    assert.deepEqual(s.errors, []);
  } finally {
    await s.close();
  }
});
