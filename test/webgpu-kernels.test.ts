// The webgpu backend's WGSL kernels against the js backend, in headless Chromium on its
// SwiftShader (software Vulkan) adapter: a page from 127.0.0.1 imports the browser bundle, runs
// each kernel on both backends with the same random inputs, and reports the largest error.
// Sizes are tiny (software GPU, shared CPU) but cover ragged tile edges, transposes, batch
// strides, offsets, broadcasting, masks, causal and the multi-head row layout.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromiumSkip, openPage } from "./helpers/browser.js";

const dist = join(fileURLToPath(import.meta.url), "..", "..", "browser");
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>webgpu kernels</title>`;

// Runs in the page: `cases` are evaluated there, each returning [name, gpuResult, jsResult].
const SCRIPT = `(async () => {
  const t = await import("/tsformer.js");
  const gpu = await t.webgpu.createWebGPUBackend();
  const js = t.getBackend();
  let seed = 1;
  const rnd = (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return lo + (hi - lo) * seed / 2 ** 32; });
  const up = (x) => gpu.upload(x);
  const out = [];
  const check = async (name, gpuArrays, jsArrays) => {
    for (let i = 0; i < gpuArrays.length; i++) {
      const g = await gpuArrays[i].data(), r = jsArrays[i];
      let err = 0, scale = 1e-6, bad = 0;
      for (let j = 0; j < r.length; j++) {
        if (r[j] === g[j]) continue;
        if (!Number.isFinite(r[j]) || !Number.isFinite(g[j])) { bad++; continue; }
        err = Math.max(err, Math.abs(r[j] - g[j]));
      }
      for (let j = 0; j < r.length; j++) if (Number.isFinite(r[j])) scale = Math.max(scale, Math.abs(r[j]));
      out.push({ name: name + (gpuArrays.length > 1 ? "#" + i : ""), rel: err / scale, bad, n: r.length });
    }
  };
  // GEMM: every transpose pair, ragged sizes (not multiples of the 64x64 tile), alpha/beta, batch
  // strides, a broadcast (stride 0) operand and offsets into larger arrays
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    const m = 37, n = 70, k = 19, batch = 3;
    const a = rnd(5 + batch * m * k), b = rnd(m * 0 + k * n), c = rnd(batch * m * n + 2);
    const args = { transA, transB, m, n, k, alpha: 0.5, beta: 2, aOffset: 5, lda: transA ? m : k, strideA: m * k,
      bOffset: 0, ldb: transB ? k : n, strideB: 0, cOffset: 2, ldc: n, strideC: m * n, batch };
    const cg = up(c); gpu.gemm({ ...args, a: up(a), b: up(b), c: cg });
    const cr = c.slice(); js.gemm({ ...args, a, b, c: cr });
    await check("gemm " + (transA ? "T" : "N") + (transB ? "T" : "N"), [cg], [cr]);
  }
  {
    const m = 130, n = 129, k = 200, a = rnd(m * k), b = rnd(k * n), c = new Float32Array(m * n).fill(NaN);
    const args = { transA: false, transB: false, m, n, k, alpha: 1, beta: 0, aOffset: 0, lda: k, strideA: 0, bOffset: 0, ldb: n, strideB: 0, cOffset: 0, ldc: n, strideC: 0, batch: 1 };
    const cg = up(c); gpu.gemm({ ...args, a: up(a), b: up(b), c: cg });
    const cr = c.slice(); js.gemm({ ...args, a, b, c: cr });
    await check("gemm beta=0 over NaN", [cg], [cr]);
  }
  for (const op of ["neg", "exp", "log", "sqrt", "rsqrt", "abs", "tanh", "sigmoid", "relu", "gelu", "geluTanh", "silu", "sin", "cos", "square", "reciprocal", "sign"]) {
    const positive = ["log", "sqrt", "rsqrt"].includes(op);
    const x = rnd(1000, positive ? 0.1 : -4, 4), yg = gpu.zeros(1000), yr = new Float32Array(1000);
    gpu.unary(op, up(x), yg); js.unary(op, x, yr);
    await check("unary " + op, [yg], [yr]);
  }
  for (const op of ["add", "sub", "mul", "div", "pow", "max", "min"]) {
    // [2, 3, 1, 5] (op) [1, 3, 4, 1] -> [2, 3, 4, 5]
    const a = rnd(30, op === "pow" ? 0.1 : -2, 2), b = rnd(12, 0.5, 2), yr = new Float32Array(120), yg = gpu.zeros(120);
    gpu.binary(op, up(a), [2, 3, 1, 5], up(b), [1, 3, 4, 1], yg, [2, 3, 4, 5]);
    js.binary(op, a, [2, 3, 1, 5], b, [1, 3, 4, 1], yr, [2, 3, 4, 5]);
    await check("binary " + op, [yg], [yr]);
  }
  for (const op of ["sum", "max", "min"]) {
    const x = rnd(4 * 33 * 5), yg = gpu.zeros(20), yr = new Float32Array(20);
    gpu.reduce(op, up(x), 4, 33, 5, yg); js.reduce(op, x, 4, 33, 5, yr);
    await check("reduce " + op, [yg], [yr]);
  }
  for (const op of ["softmax", "logSoftmax"]) {
    const x = rnd(7 * 50, -8, 8), yg = gpu.zeros(350), yr = new Float32Array(350);
    gpu[op](up(x), 7, 50, yg); js[op](x, 7, 50, yr);
    await check(op, [yg], [yr]);
  }
  for (const affine of [true, false]) {
    const rows = 9, cols = 48, x = rnd(rows * cols, -3, 5), g = rnd(cols), b = rnd(cols);
    const og = gpu.zeros(rows * cols), mg = gpu.zeros(rows), rg = gpu.zeros(rows);
    const or = new Float32Array(rows * cols), mr = new Float32Array(rows), rr = new Float32Array(rows);
    gpu.layerNorm(up(x), affine ? up(g) : null, affine ? up(b) : null, rows, cols, 1e-5, og, mg, rg);
    js.layerNorm(x, affine ? g : null, affine ? b : null, rows, cols, 1e-5, or, mr, rr);
    await check("layerNorm" + (affine ? "" : " (no affine)"), [og, mg, rg], [or, mr, rr]);
  }
  {
    const n = 500, p = rnd(n), m = rnd(n, 0, 0.1), v = rnd(n, 0, 0.01);
    const pg = up(p), mg = up(m), vg = up(v), pr = p.slice(), mr = m.slice(), vr = v.slice();
    for (let step = 1; step <= 3; step++) {
      const g = rnd(n);
      gpu.adamw(pg, up(g), mg, vg, 1e-2, 0.9, 0.999, 1e-8, 0.1, step);
      js.adamw(pr, g, mr, vr, 1e-2, 0.9, 0.999, 1e-8, 0.1, step);
    }
    await check("adamw (3 steps)", [pg, mg, vg], [pr, mr, vr]);
  }
  // attention: blocks and the multi-head row layout, causal with Tq < Tk, a padding mask that
  // removes whole rows, and Dv != D
  for (const c of [
    { name: "blocks", B: 2, H: 2, tq: 5, tk: 7, d: 8, dv: 8, heads: 0, causal: false, mask: false },
    { name: "heads layout, causal", B: 2, H: 3, tq: 4, tk: 6, d: 4, dv: 6, heads: 3, causal: true, mask: false },
    { name: "mask", B: 2, H: 2, tq: 3, tk: 5, d: 4, dv: 4, heads: 2, causal: false, mask: true },
  ]) {
    const bh = c.B * c.H, q = rnd(bh * c.tq * c.d), k = rnd(bh * c.tk * c.d), v = rnd(bh * c.tk * c.dv);
    let mask = null;
    if (c.mask) {
      mask = new Float32Array(c.B * c.tq * c.tk);
      for (let i = 0; i < mask.length; i++) mask[i] = i % 3 === 0 ? -Infinity : 0.25 * (i % 5);
      for (let j = 0; j < c.tk; j++) mask[c.tk + j] = -Infinity; // batch 0, query 1: every key masked
    }
    const args = { bh, tq: c.tq, tk: c.tk, d: c.d, dv: c.dv, heads: c.heads, scale: 1 / Math.sqrt(c.d), causal: c.causal,
      maskBatch: c.B, maskHeadDiv: c.H };
    const og = gpu.zeros(bh * c.tq * c.dv), lg = gpu.zeros(bh * c.tq);
    gpu.attention({ ...args, q: up(q), k: up(k), v: up(v), mask: mask ? up(mask) : null, out: og, lse: lg });
    const or = new Float32Array(bh * c.tq * c.dv), lr = new Float32Array(bh * c.tq);
    js.attention({ ...args, q, k, v, mask, out: or, lse: lr });
    await check("attention " + c.name, [og, lg], [or, lr]);
  }
  const refusals = [];
  for (const bad of [() => gpu.softmax(gpu.zeros(3), 2, 2, gpu.zeros(4)), () => gpu.binary("lt", gpu.zeros(1), [1], gpu.zeros(1), [1], gpu.zeros(1), [1])]) {
    try { bad(); refusals.push(""); } catch (e) { refusals.push(e.message); }
  }
  return { adapter: gpu.adapterName, results: out, refusals };
})()`;

test("webgpu kernels match the js backend in headless Chromium (SwiftShader)", { skip: chromiumSkip, timeout: 90_000 }, async () => {
  const s = await openPage(dist, { extra: { "/": PAGE }, webgpu: true });
  try {
    const r = await s.page.evaluate(SCRIPT) as { adapter: string; results: { name: string; rel: number; bad: number; n: number }[]; refusals: string[] };
    if (process.env.TSFORMER_DEBUG) console.log(JSON.stringify(r));
    assert.match(r.adapter, /swiftshader/i);
    const names = r.results.map((x) => x.name);
    for (const want of ["gemm NN", "gemm TT", "unary gelu", "binary pow", "reduce sum", "softmax", "layerNorm#0", "adamw (3 steps)#0", "attention mask#1"]) {
      assert.ok(names.includes(want), `missing case ${want}`);
    }
    for (const x of r.results) {
      // WGSL specifies sin and cos to an absolute error of 2^-11 on [-pi, pi] (WGSL spec, "Accuracy
      // of built-in functions"); everything else here matches to float32 rounding
      const tol = /^unary (sin|cos)$/.test(x.name) ? 2 ** -11 : 2e-5;
      assert.ok(x.rel < tol, `${x.name}: relative error ${x.rel.toExponential(2)} over ${x.n} values`);
      assert.equal(x.bad, 0, `${x.name}: ${x.bad} values differ in finiteness`);
    }
    // bad arguments are refused on the call with what was wrong, not read out of bounds
    assert.equal(r.refusals[0], "webgpu.softmax (x): expected 4 floats, got an array of 3");
    assert.match(r.refusals[1], /"lt" is not supported/);
    assert.deepEqual(s.errors, []);
  } finally {
    await s.close();
  }
});
