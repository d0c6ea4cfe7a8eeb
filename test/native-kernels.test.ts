// Parity of the native addon's kernels against the js reference backend, on every instruction
// set this CPU supports (avx512 / avx2 / generic), with odd sizes, transposes, strides and offsets.
// Skips cleanly when the addon is not built.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend, GemmArgs, UnaryOp, BinaryOp } from "../src/backend/backend.js";
import { jsBackend } from "../src/backend/js/index.js";
import { addonLoadError, createNativeBackend, loadAddon } from "../src/backend/native/index.js";

const addon = loadAddon();
const native: Backend | null = addon ? createNativeBackend(jsBackend, addon) : null;
const ISAS: string[] = addon ? addon.supportedIsas() : ["none"];
const skipReason = addon ? "" : `native addon not available: ${addonLoadError()}`;

// Small seeded generator (mulberry32), so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randArray(n: number, r: () => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}: element ${i}: native ${a} vs js ${e} (|diff| ${err})`);
    }
  }
}

function forEachIsa(name: string, body: (nb: Backend) => void): void {
  for (const isa of ISAS) {
    test(`${name} [${isa}]`, (t) => {
      if (!addon || !native) { t.skip(skipReason); return; }
      const prev = addon.isa();
      addon.setIsa(isa as "avx512" | "avx2" | "generic");
      try { body(native); } finally { addon.setIsa(prev); }
    });
  }
}

// --- GEMM --------------------------------------------------------------------------------------

interface GemmCase { m: number; n: number; k: number; ta: boolean; tb: boolean; batch: number;
  padA: number; padB: number; padC: number; offA: number; offB: number; offC: number;
  bcastA: boolean; bcastB: boolean; alpha: number; beta: number; bias?: boolean; addend?: boolean }

function runGemmCase(nb: Backend, c: GemmCase, r: () => number, what: string): void {
  const aRows = c.ta ? c.k : c.m, aCols = c.ta ? c.m : c.k;
  const bRows = c.tb ? c.n : c.k, bCols = c.tb ? c.k : c.n;
  const lda = aCols + c.padA, ldb = bCols + c.padB, ldc = c.n + c.padC;
  const sizeA = Math.max(1, aRows * lda), sizeB = Math.max(1, bRows * ldb), sizeC = c.m * ldc;
  const strideA = c.bcastA ? 0 : sizeA + 3, strideB = c.bcastB ? 0 : sizeB + 1, strideC = sizeC + 2;
  const a = randArray(c.offA + strideA * (c.batch - 1) + sizeA, r);
  const b = randArray(c.offB + strideB * (c.batch - 1) + sizeB, r);
  const c0 = randArray(c.offC + strideC * (c.batch - 1) + sizeC, r);
  if (c.beta === 0) for (let i = 0; i < c0.length; i += 3) c0[i] = NaN; // beta = 0 must ignore garbage
  const bias = c.bias ? randArray(c.n + 2, r) : null; // added to every row (a longer array is fine)
  const addend = c.addend ? randArray(c0.length, r) : null; // laid out like c (a residual)
  const cJs = c0.slice(), cNat = c0.slice();
  const args = (cc: Float32Array): GemmArgs => ({
    transA: c.ta, transB: c.tb, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
    a, aOffset: c.offA, lda, strideA, b, bOffset: c.offB, ldb, strideB,
    beta: c.beta, c: cc, cOffset: c.offC, ldc, strideC, batch: c.batch, bias, addend,
  });
  jsBackend.gemm(args(cJs));
  nb.gemm(args(cNat));
  // padding between rows must be untouched: compare the whole array
  for (let i = 0; i < cJs.length; i++) {
    if (Number.isNaN(cJs[i]) && Number.isNaN(cNat[i])) { cJs[i] = 0; cNat[i] = 0; }
  }
  assertClose(cNat, cJs, 1e-4, 2e-6 * Math.sqrt(c.k + 1) * 10, `${what} ${JSON.stringify(c)}`);
}

forEachIsa("gemm: random small shapes, all transposes, strides and offsets", (nb) => {
  const r = rng(1234);
  const dims = [1, 2, 3, 5, 7, 8, 13, 14, 15, 16, 17, 29, 31, 32, 33, 47, 64, 65];
  for (let it = 0; it < 80; it++) {
    const pick = () => dims[Math.floor(r() * dims.length)];
    const c: GemmCase = {
      m: pick(), n: pick(), k: pick(), ta: r() < 0.5, tb: r() < 0.5, batch: 1 + Math.floor(r() * 3),
      padA: r() < 0.5 ? 0 : 3, padB: r() < 0.5 ? 0 : 5, padC: r() < 0.5 ? 0 : 2,
      offA: Math.floor(r() * 7), offB: Math.floor(r() * 7), offC: Math.floor(r() * 7),
      bcastA: r() < 0.25, bcastB: r() < 0.25,
      alpha: r() < 0.5 ? 1 : 0.75, beta: [0, 1, 0.5][Math.floor(r() * 3)], bias: r() < 0.4, addend: r() < 0.3,
    };
    runGemmCase(nb, c, r, "gemm");
  }
});

test("gemm: a bias shorter than n, an addend shorter than c's layout, or c itself as the addend, are refused by both backends", (t) => {
  if (!addon || !native) { t.skip(skipReason); return; }
  const a = new Float32Array(6), b = new Float32Array(12), c = new Float32Array(9);
  const args: GemmArgs = { transA: false, transB: false, m: 2, n: 4, k: 3, alpha: 1, a, aOffset: 0, lda: 3, strideA: 0,
    b, bOffset: 0, ldb: 4, strideB: 0, beta: 0, c, cOffset: 1, ldc: 4, strideC: 0, batch: 1 };
  const refused: Array<[Partial<GemmArgs>, RegExp, RegExp]> = [
    [{ bias: new Float32Array(3) }, /bias has 3 elements, needs at least 4/, /bias has 3 elements, needs 4/],
    [{ addend: new Float32Array(8) }, /addend has 8 elements, needs at least 9/, /addend has 8 elements, needs 9 \(laid out like c\)/],
    [{ addend: c }, /addend must not be c itself/, /addend must not be c itself/],
  ];
  for (const [extra, fromNative, fromJs] of refused) {
    assert.throws(() => native!.gemm({ ...args, ...extra }), fromNative);
    assert.throws(() => jsBackend.gemm({ ...args, ...extra }), fromJs);
  }
});

forEachIsa("gemm: blocking edges (k across KC, m across MC, n across NR) and threads", (nb) => {
  const r = rng(99);
  const base = { padA: 1, padB: 0, padC: 3, offA: 5, offB: 2, offC: 1, bcastA: false, bcastB: false, alpha: 1, beta: 0 };
  const cases: Array<Partial<GemmCase>> = [
    { m: 300, n: 257, k: 801, ta: false, tb: false, batch: 1 },
    { m: 129, n: 530, k: 390, ta: true, tb: true, batch: 1 },
    { m: 450, n: 33, k: 77, ta: false, tb: true, batch: 2, beta: 1 },
    { m: 64, n: 64, k: 64, ta: true, tb: false, batch: 9, bcastB: true },
    { m: 1, n: 1000, k: 300, ta: false, tb: false, batch: 1 },
    { m: 1000, n: 1, k: 300, ta: false, tb: false, batch: 1 },
    { m: 20, n: 30, k: 0, ta: false, tb: false, batch: 2, beta: 0.5 },
    // the fused bias: across k-blocks (added once), the direct-A path (narrow n), short m with
    // long k, k = 0, several batch items
    { m: 300, n: 257, k: 801, ta: false, tb: true, batch: 1, bias: true },
    { m: 450, n: 33, k: 77, ta: false, tb: false, batch: 2, beta: 1, bias: true },
    { m: 30, n: 40, k: 2000, ta: true, tb: false, batch: 1, bias: true },
    { m: 30, n: 40, k: 2000, ta: false, tb: false, batch: 1, beta: 0.5, bias: true },
    { m: 20, n: 30, k: 0, ta: false, tb: false, batch: 2, beta: 0.5, bias: true },
    { m: 64, n: 100, k: 64, ta: false, tb: true, batch: 5, bias: true },
    // the fused residual (addend), with and without the bias, on the same paths
    { m: 300, n: 257, k: 801, ta: false, tb: true, batch: 1, bias: true, addend: true },
    { m: 450, n: 33, k: 77, ta: false, tb: false, batch: 2, addend: true },
    { m: 30, n: 40, k: 2000, ta: true, tb: false, batch: 1, bias: true, addend: true },
    { m: 30, n: 40, k: 2000, ta: false, tb: false, batch: 1, beta: 0.5, addend: true },
    { m: 20, n: 30, k: 0, ta: false, tb: false, batch: 2, beta: 0.5, bias: true, addend: true },
    { m: 64, n: 100, k: 64, ta: false, tb: true, batch: 5, addend: true },
    { m: 1576, n: 192, k: 192, ta: false, tb: true, batch: 1, bias: true, addend: true },
    // split-K for sure (one row panel, enough work for two threads): the bias and the residual
    // added once, after the parts are summed
    { m: 10, n: 64, k: 4000, ta: true, tb: false, batch: 1, bias: true, addend: true },
    { m: 10, n: 64, k: 4000, ta: false, tb: false, batch: 1, beta: 0.5, bias: true, addend: true },
    // split-K for M no longer than K (a weight gradient: 22 row panels, more than the tasks)
    { m: 300, n: 96, k: 1600, ta: true, tb: false, batch: 1, alpha: 0.75, bias: true, addend: true },
    // A packed with alpha: rows 4 KiB apart (lda 1024), k-blocks of 384 and a last one of 232
    // (16-column transposes and an 8-column tail), transposed and not
    { m: 100, n: 300, k: 1000, ta: false, tb: true, batch: 1, padA: 24, alpha: 0.5 },
    { m: 100, n: 300, k: 1000, ta: true, tb: false, batch: 1, padA: 924, alpha: -1.5, beta: 1 },
  ];
  const original = addon!.numThreads();
  for (const threads of [1, 2, 3]) {
    addon!.setNumThreads(threads);
    for (const c of cases) runGemmCase(nb, { ...base, ...c } as GemmCase, r, `gemm threads=${threads}`);
  }
  addon!.setNumThreads(original);
});

test("gemm: out-of-bounds arguments throw instead of reading past the array", (t) => {
  if (!addon) { t.skip(skipReason); return; }
  const a = new Float32Array(16), b = new Float32Array(16), c = new Float32Array(16);
  assert.throws(() => addon.gemm(false, false, 4, 4, 4, 1, a, 1, 4, 0, b, 0, 4, 0, 0, c, 0, 4, 0, 1), RangeError);
  assert.throws(() => addon.gemm(false, false, 4, 4, 4, 1, a, 0, 4, 0, b, 0, 4, 0, 0, c, 0, 4, 16, 2), RangeError);
  assert.throws(() => addon.gemm(false, false, 4, 4, 4, 1, a, 0, 3, 0, b, 0, 4, 0, 0, c, 0, 4, 0, 1), RangeError);
  assert.throws(() => addon.gemm(false, false, 4, 4, 4, 1, a, 0, 4, 0, b, 0, 4, 0, 0, c, 0, 4, 0, 1.5), RangeError);
  assert.throws(() => (addon.gemm as unknown as (...x: unknown[]) => void)(false, false, 4, 4, 4, 1, [1], 0, 4, 0, b, 0, 4, 0, 0, c, 0, 4, 0, 1), TypeError);
  // subarray views: the byte offset is honoured
  const big = new Float32Array(40).fill(7);
  const view = big.subarray(8, 24);
  addon.gemm(false, false, 4, 4, 4, 1, new Float32Array(16).fill(1), 0, 4, 0, new Float32Array(16).fill(1), 0, 4, 0, 0, view, 0, 4, 0, 1);
  assert.equal(big[7], 7);
  assert.equal(big[8], 4);
  assert.equal(big[23], 4);
  assert.equal(big[24], 7);
});

// --- row-wise ----------------------------------------------------------------------------------

forEachIsa("softmax / logSoftmax and their backward passes", (nb) => {
  const r = rng(7);
  for (const [rows, cols] of [[1, 1], [3, 7], [17, 33], [64, 1000], [5, 4097]]) {
    const x = randArray(rows * cols, r, -8, 8);
    if (rows > 2) { for (let j = 0; j < cols; j++) x[cols + j] = -Infinity; x[0] = -Infinity; }
    const dy = randArray(rows * cols, r);
    const yj = new Float32Array(rows * cols), yn = new Float32Array(rows * cols);
    jsBackend.softmax(x, rows, cols, yj); nb.softmax(x, rows, cols, yn);
    assertClose(yn, yj, 1e-5, 1e-7, `softmax ${rows}x${cols}`);
    const dj = new Float32Array(rows * cols), dn = new Float32Array(rows * cols);
    jsBackend.softmaxBackward(yj, dy, rows, cols, dj); nb.softmaxBackward(yj, dy, rows, cols, dn);
    assertClose(dn, dj, 1e-4, 1e-6, `softmaxBackward ${rows}x${cols}`);
    const x2 = randArray(rows * cols, r, -8, 8);
    jsBackend.logSoftmax(x2, rows, cols, yj); nb.logSoftmax(x2, rows, cols, yn);
    assertClose(yn, yj, 1e-5, 1e-5, `logSoftmax ${rows}x${cols}`);
    jsBackend.logSoftmaxBackward(yj, dy, rows, cols, dj); nb.logSoftmaxBackward(yj, dy, rows, cols, dn);
    assertClose(dn, dj, 1e-4, 1e-5, `logSoftmaxBackward ${rows}x${cols}`);
  }
});

forEachIsa("layerNorm forward and backward, with and without affine parameters", (nb) => {
  const r = rng(11);
  for (const [rows, cols] of [[1, 1], [3, 5], [33, 77], [300, 768]]) {
    for (const affine of [true, false]) {
      const x = randArray(rows * cols, r, -3, 5);
      const g = affine ? randArray(cols, r) : null, b = affine ? randArray(cols, r) : null;
      const oj = new Float32Array(rows * cols), on = new Float32Array(rows * cols);
      const mj = new Float32Array(rows), mn = new Float32Array(rows), rj = new Float32Array(rows), rn = new Float32Array(rows);
      jsBackend.layerNorm(x, g, b, rows, cols, 1e-5, oj, mj, rj);
      nb.layerNorm(x, g, b, rows, cols, 1e-5, on, mn, rn);
      assertClose(on, oj, 1e-4, 1e-4, "layerNorm out");
      assertClose(mn, mj, 1e-5, 1e-5, "layerNorm mean");
      assertClose(rn, rj, 1e-4, 1e-5, "layerNorm rstd");
      const dy = randArray(rows * cols, r);
      const dxj = new Float32Array(rows * cols), dxn = new Float32Array(rows * cols);
      const dgj = affine ? new Float32Array(cols) : null, dgn = affine ? new Float32Array(cols).fill(9) : null;
      const dbj = affine ? new Float32Array(cols) : null, dbn = affine ? new Float32Array(cols).fill(9) : null;
      jsBackend.layerNormBackward(x, g, mj, rj, dy, rows, cols, dxj, dgj, dbj);
      nb.layerNormBackward(x, g, mj, rj, dy, rows, cols, dxn, dgn, dbn);
      assertClose(dxn, dxj, 1e-3, 1e-4, "layerNormBackward dx");
      // with a gradient already summed for x (the residual stream's) added to dx as it is written
      const addend = randArray(rows * cols, r), dxa = new Float32Array(rows * cols).fill(9);
      nb.layerNormBackward(x, g, mj, rj, dy, rows, cols, dxa, null, null, addend);
      assertClose(dxa, dxj.map((v, i) => v + addend[i]), 1e-3, 1e-4, "layerNormBackward dx + dxAddend");
      if (affine) {
        assertClose(dgn!, dgj!, 1e-3, 1e-3, "layerNormBackward dgamma");
        assertClose(dbn!, dbj!, 1e-3, 1e-3, "layerNormBackward dbeta");
      }
    }
  }
});

forEachIsa("crossEntropy with ignoreIndex and label smoothing", (nb) => {
  const r = rng(5);
  for (const [rows, cols] of [[1, 2], [9, 10], [64, 1001]]) {
    for (const smoothing of [0, 0.1]) {
      const logits = randArray(rows * cols, r, -5, 5);
      const targets = new Int32Array(rows);
      for (let i = 0; i < rows; i++) targets[i] = i % 4 === 3 ? -100 : Math.floor(r() * cols);
      const lj = new Float32Array(rows), ln = new Float32Array(rows);
      const dj = new Float32Array(rows * cols), dn = new Float32Array(rows * cols).fill(5);
      jsBackend.crossEntropy(logits, targets, rows, cols, -100, smoothing, lj, dj, 0.25);
      nb.crossEntropy(logits, targets, rows, cols, -100, smoothing, ln, dn, 0.25);
      assertClose(ln, lj, 1e-5, 1e-5, "crossEntropy loss");
      assertClose(dn, dj, 1e-5, 1e-6, "crossEntropy dlogits");
      nb.crossEntropy(logits, targets, rows, cols, -100, smoothing, ln, null, 1);
      assertClose(ln, lj, 1e-5, 1e-5, "crossEntropy loss without grad");
    }
  }
  assert.throws(() => nb.crossEntropy(new Float32Array(4), new Int32Array([0, 7]), 2, 2, -100, 0, new Float32Array(2), null, 1), RangeError);
});

forEachIsa("adamw step", (nb) => {
  const r = rng(3);
  const n = 1037;
  const p = randArray(n, r), g = randArray(n, r), m = randArray(n, r, 0, 0.1), v = randArray(n, r, 0, 0.1);
  const pj = p.slice(), mj = m.slice(), vj = v.slice(), pn = p.slice(), mn = m.slice(), vn = v.slice();
  for (let step = 1; step <= 3; step++) {
    jsBackend.adamw(pj, g, mj, vj, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
    nb.adamw(pn, g, mn, vn, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
  }
  assertClose(pn, pj, 1e-5, 1e-6, "adamw param");
  assertClose(mn, mj, 1e-5, 1e-7, "adamw m");
  assertClose(vn, vj, 1e-5, 1e-7, "adamw v");
});

// --- embeddings --------------------------------------------------------------------------------

forEachIsa("embedding gather and its scatter-add backward (repeated ids, odd widths, threads)", (nb) => {
  const r = rng(8);
  const original = addon!.numThreads();
  for (const threads of [1, 2, 3]) {
    addon!.setNumThreads(threads);
    for (const [V, C, n] of [[7, 1, 5], [50, 33, 130], [1000, 256, 2048], [13, 200, 4000], [3, 65, 0]]) {
      const w = randArray(V * C, r);
      const ids = Int32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : Math.floor(r() * V))); // id 0 many times
      const outJs = new Float32Array(n * C), outNat = new Float32Array(n * C).fill(NaN);
      jsBackend.embedding(w, ids, C, outJs);
      nb.embedding(w, ids, C, outNat);
      assert.deepEqual(outNat, outJs, `embedding V ${V} C ${C} n ${n}`);
      const g = randArray(n * C, r), start = randArray(V * C, r); // accumulates onto what is there
      const dJs = start.slice(), dNat = start.slice();
      jsBackend.embeddingBackward(g, ids, C, dJs);
      nb.embeddingBackward(g, ids, C, dNat);
      assertClose(dNat, dJs, 1e-6, 1e-6, `embeddingBackward V ${V} C ${C} n ${n} threads ${threads}`);
    }
  }
  addon!.setNumThreads(original);
});

test("layerNormBackward: a dxAddend of the wrong length is refused by name", (t) => {
  if (!addon) { t.skip(skipReason); return; }
  const f = (n: number): Float32Array => new Float32Array(n);
  assert.throws(() => addon.layerNormBackward(f(6), null, f(2), f(2), f(6), 2, 3, f(6), null, null, f(5)), /dxAddend/);
});

test("embedding: an id outside the table, or an output too short, is refused by the addon", (t) => {
  if (!addon) { t.skip(skipReason); return; }
  const w = new Float32Array(12); // 4 rows of 3
  assert.throws(() => addon.embedding(w, Int32Array.from([0, 4]), 3, new Float32Array(6)), /id 4 at position 1 is out of range for 4 rows/);
  assert.throws(() => addon.embedding(w, Int32Array.from([-1]), 3, new Float32Array(3)), /id -1 at position 0 is out of range/);
  assert.throws(() => addon.embedding(w, Int32Array.from([1, 2]), 3, new Float32Array(5)), /out/);
  assert.throws(() => addon.embeddingBackward(new Float32Array(6), Int32Array.from([0, 9]), 3, w), /id 9 at position 1 is out of range for 4 rows/);
  assert.throws(() => addon.embeddingBackward(new Float32Array(5), Int32Array.from([0, 1]), 3, w), /grad/);
});

// --- elementwise -------------------------------------------------------------------------------

forEachIsa("unary and unaryBackward", (nb) => {
  const r = rng(21);
  const n = 5003;
  const x = randArray(n, r, -10, 10);
  x.set([0, -0, 1e-6, -1e-6, 0.5, -0.5, 30, -30, 88, -100, 0.624, 0.626], 0);
  const dy = randArray(n, r);
  const ops: UnaryOp[] = ["gelu", "geluTanh", "relu", "silu", "exp", "tanh", "sigmoid", "neg", "log", "abs"];
  for (const op of ops) {
    const xs = op === "log" ? x.map(Math.abs) : x;
    const yj = new Float32Array(n), yn = new Float32Array(n);
    jsBackend.unary(op, xs, yj); nb.unary(op, xs, yn);
    assertClose(yn, yj, 2e-6, 2e-6, `unary ${op}`);
    const dj = new Float32Array(n), dn = new Float32Array(n);
    jsBackend.unaryBackward(op, xs, yj, dy, dj); nb.unaryBackward(op, xs, yj, dy, dn);
    assertClose(dn, dj, 1e-5, 3e-6, `unaryBackward ${op}`);
    // GELU's derivatives read cdf(x) off y = x cdf(x): from the native forward's own y too
    nb.unaryBackward(op, xs, yn, dy, dn);
    assertClose(dn, dj, 1e-5, 3e-6, `unaryBackward ${op} (native y)`);
  }
});

forEachIsa("binary fast paths and fallbacks", (nb) => {
  const r = rng(8);
  const shapes: Array<[number[], number[]]> = [
    [[4, 33, 65], [4, 33, 65]], // same shape
    [[4, 33, 65], [1, 1, 1]], // scalar
    [[4, 33, 65], [1, 1, 65]], // bias along the last dim
    [[4, 33, 65], [1, 33, 65]], // suffix block
    [[4, 33, 65], [4, 33, 1]], // broadcast along trailing dims
    [[4, 33, 65], [4, 1, 1]],
    [[4, 33, 65], [1, 33, 1]], // general: falls back
  ];
  const ops: BinaryOp[] = ["add", "sub", "mul", "div", "max", "min", "pow", "lt"];
  for (const [outShape, bShape] of shapes) {
    const n = outShape.reduce((p, q) => p * q, 1);
    const a = randArray(n, r, 0.1, 2);
    const b = randArray(bShape.reduce((p, q) => p * q, 1), r, 0.1, 2);
    for (const op of ops) {
      const oj = new Float32Array(n), on = new Float32Array(n);
      jsBackend.binary(op, a, outShape, b, bShape, oj, outShape);
      nb.binary(op, a, outShape, b, bShape, on, outShape);
      assertClose(on, oj, 1e-6, 0, `binary ${op} ${JSON.stringify(bShape)}`);
    }
  }
});

// Large enough that the addon splits the rows between threads: each thread must index b from
// its first row's place in the whole output (it used to restart at b[0], a wrong result with 2+
// threads for [B, T, 1]-shaped operands such as T5's RMSNorm scale).
forEachIsa("binary row broadcasts split between threads, per-channel broadcasts", (nb) => {
  const r = rng(9);
  const shapes: Array<[number[], number[]]> = [
    [[256, 4096], [256, 1]],
    [[8, 64, 2048], [8, 64, 1]],
    [[6, 16, 28, 28], [1, 16, 1, 1]], // GroupNorm's per-channel scale against [B, C, H, W]
    [[16, 16, 33], [1, 16, 1]], // as many b values as out's leading dim: aligned to the middle one
  ];
  const original = addon!.numThreads();
  for (const threads of [1, 2, 3]) {
    addon!.setNumThreads(threads);
    for (const [outShape, bShape] of shapes) {
      const n = outShape.reduce((p, q) => p * q, 1);
      const a = randArray(n, r, 0.1, 2), b = randArray(bShape.reduce((p, q) => p * q, 1), r, 0.1, 2);
      for (const op of ["add", "mul", "sub"] as BinaryOp[]) {
        const oj = new Float32Array(n), on = new Float32Array(n);
        jsBackend.binary(op, a, outShape, b, bShape, oj, outShape);
        nb.binary(op, a, outShape, b, bShape, on, outShape);
        assertClose(on, oj, 1e-6, 0, `binary ${op} ${JSON.stringify(outShape)} op ${JSON.stringify(bShape)} threads=${threads}`);
      }
    }
  }
  addon!.setNumThreads(original);
});

forEachIsa("reduce sum over the middle axis", (nb) => {
  const r = rng(4);
  // [1, 6400, 192]: a bias gradient (the summed dim split across threads); [3, 999, 70]: the
  // same with several outputs and a ragged last part
  for (const [outer, size, inner] of [[1, 1, 1], [3, 1000, 1], [7, 13, 65], [1, 4, 100000], [50, 3000, 1], [1, 6400, 192], [3, 999, 70]]) {
    const x = randArray(outer * size * inner, r);
    const oj = new Float32Array(outer * inner), on = new Float32Array(outer * inner);
    jsBackend.reduce("sum", x, outer, size, inner, oj);
    nb.reduce("sum", x, outer, size, inner, on);
    assertClose(on, oj, 1e-4, 1e-4, `reduce sum ${outer}x${size}x${inner}`);
    jsBackend.reduce("max", x, outer, size, inner, oj);
    nb.reduce("max", x, outer, size, inner, on);
    assertClose(on, oj, 0, 0, "reduce max (fallback)");
  }
});

forEachIsa("im2col / col2im for 1-D, 2-D and 3-D", (nb) => {
  const r = rng(17);
  const geoms = [
    { channels: 3, spatial: [11, 13], kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
    { channels: 2, spatial: [16, 15], kernel: [4, 3], stride: [2, 3], padding: [1, 2], dilation: [2, 1] },
    { channels: 3, spatial: [32, 32], kernel: [8, 8], stride: [8, 8], padding: [0, 0], dilation: [1, 1] },
    { channels: 4, spatial: [20], kernel: [5], stride: [2], padding: [2], dilation: [1] },
    { channels: 2, spatial: [5, 6, 7], kernel: [2, 3, 3], stride: [1, 2, 2], padding: [1, 1, 0], dilation: [1, 1, 2] },
  ];
  for (const g of geoms) {
    const outSpatial = g.spatial.map((s, i) => Math.floor((s + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i]) + 1);
    const inSize = g.channels * g.spatial.reduce((p, q) => p * q, 1);
    const colSize = g.channels * g.kernel.reduce((p, q) => p * q, 1) * outSpatial.reduce((p, q) => p * q, 1);
    const xOffset = 5;
    const x = randArray(xOffset + inSize, r);
    const cj = new Float32Array(colSize), cn = new Float32Array(colSize).fill(3);
    jsBackend.im2col(x, xOffset, g.channels, g.spatial, g.kernel, g.stride, g.padding, g.dilation, outSpatial, cj);
    nb.im2col(x, xOffset, g.channels, g.spatial, g.kernel, g.stride, g.padding, g.dilation, outSpatial, cn);
    assertClose(cn, cj, 0, 0, `im2col ${JSON.stringify(g)}`);
    const cols = randArray(colSize, r);
    const dj = new Float32Array(xOffset + inSize), dn = new Float32Array(xOffset + inSize);
    jsBackend.col2im(cols, g.channels, g.spatial, g.kernel, g.stride, g.padding, g.dilation, outSpatial, dj, xOffset);
    nb.col2im(cols, g.channels, g.spatial, g.kernel, g.stride, g.padding, g.dilation, outSpatial, dn, xOffset);
    assertClose(dn, dj, 1e-6, 1e-6, `col2im ${JSON.stringify(g)}`);
  }
});

// --- attention ---------------------------------------------------------------------------------

forEachIsa("attention forward and backward (causal, masks, fully masked rows)", (nb) => {
  const r = rng(2024);
  const cases = [
    { bh: 3, tq: 37, tk: 53, d: 24, dv: 20, causal: false, mask: 0 },
    { bh: 2, tq: 70, tk: 70, d: 16, dv: 16, causal: true, mask: 0 },
    { bh: 4, tq: 9, tk: 140, d: 8, dv: 12, causal: true, mask: 0 }, // KV-cache style tq < tk
    { bh: 2, tq: 20, tk: 12, d: 8, dv: 8, causal: true, mask: 0 }, // tq > tk: first rows see nothing
    { bh: 4, tq: 33, tk: 150, d: 32, dv: 32, causal: false, mask: 2 }, // padding mask per batch
    { bh: 2, tq: 130, tk: 131, d: 64, dv: 64, causal: true, mask: 1 },
    // the register-blocked path (head dims 16/32/64, up to 256 keys): ViT-Ti's T = 197, tq > tk, full 256
    { bh: 3, tq: 197, tk: 197, d: 64, dv: 64, causal: false, mask: 0 },
    { bh: 2, tq: 20, tk: 12, d: 16, dv: 16, causal: true, mask: 0 },
    { bh: 2, tq: 256, tk: 256, d: 32, dv: 32, causal: true, mask: 2 },
    { bh: 2, tq: 5, tk: 250, d: 64, dv: 64, causal: false, mask: 1 },
    { bh: 8, tq: 11, tk: 11, d: 16, dv: 16, causal: true, mask: 2 }, // seq2seq decoder: causal + padding
    { bh: 8, tq: 9, tk: 13, d: 16, dv: 16, causal: false, mask: 4 }, // cross-attention with padding
    // rows across the lanes (no mask, head dim = the vector width: 16 AVX-512, 8 AVX2, 4 portable)
    { bh: 6, tq: 50, tk: 50, d: 16, dv: 16, causal: false, mask: 0 }, // ViT-MNIST
    { bh: 3, tq: 21, tk: 50, d: 8, dv: 8, causal: false, mask: 0 },
    { bh: 3, tq: 19, tk: 23, d: 4, dv: 4, causal: true, mask: 0 },
    { bh: 2, tq: 40, tk: 9, d: 8, dv: 8, causal: true, mask: 0 }, // tq > tk: whole blocks see nothing
  ];
  for (const c of cases) {
    const q = randArray(c.bh * c.tq * c.d, r, -2, 2);
    const k = randArray(c.bh * c.tk * c.d, r, -2, 2);
    const v = randArray(c.bh * c.tk * c.dv, r);
    let mask: Float32Array | null = null;
    let maskBatch = 1, maskHeadDiv = 1;
    if (c.mask) {
      maskBatch = c.mask;
      maskHeadDiv = c.bh / c.mask;
      mask = new Float32Array(maskBatch * c.tq * c.tk);
      for (let b = 0; b < maskBatch; b++) {
        const valid = c.tk - 5 * (b + 1);
        for (let i = 0; i < c.tq; i++) {
          for (let j = 0; j < c.tk; j++) {
            mask[(b * c.tq + i) * c.tk + j] = j >= valid ? -Infinity : (r() - 0.5) * 0.5;
          }
        }
        // one fully masked row
        for (let j = 0; j < c.tk; j++) mask[(b * c.tq + 1) * c.tk + j] = -Infinity;
      }
    }
    const mk = () => ({ out: new Float32Array(c.bh * c.tq * c.dv), lse: new Float32Array(c.bh * c.tq) });
    const J = mk(), N = mk();
    const base = { q, k, v, bh: c.bh, tq: c.tq, tk: c.tk, d: c.d, dv: c.dv, scale: 1 / Math.sqrt(c.d), causal: c.causal, mask, maskBatch, maskHeadDiv };
    jsBackend.attention({ ...base, ...J });
    nb.attention({ ...base, ...N });
    const what = `attention ${JSON.stringify(c)}`;
    assertClose(N.out, J.out, 1e-4, 2e-5, `${what} out`);
    assertClose(N.lse, J.lse, 1e-5, 1e-5, `${what} lse`);
    const gradOut = randArray(c.bh * c.tq * c.dv, r);
    const grads = () => ({ gradQ: new Float32Array(q.length).fill(1), gradK: new Float32Array(k.length).fill(1), gradV: new Float32Array(v.length).fill(1) });
    const GJ = grads(), GN = grads();
    jsBackend.attentionBackward({ ...base, ...J, gradOut, ...GJ });
    nb.attentionBackward({ ...base, ...J, gradOut, ...GN });
    assertClose(GN.gradQ, GJ.gradQ, 1e-3, 1e-4, `${what} gradQ`);
    assertClose(GN.gradK, GJ.gradK, 1e-3, 1e-4, `${what} gradK`);
    assertClose(GN.gradV, GJ.gradV, 1e-3, 1e-4, `${what} gradV`);
  }
});

test("native backend registers and reports its ISA and threads", (t) => {
  if (!addon || !native) { t.skip(skipReason); return; }
  assert.equal(native.name, "native");
  assert.ok(["avx512", "avx2", "generic"].includes(addon.isa()));
  assert.ok(addon.supportedIsas().includes("generic"));
  assert.ok(addon.numThreads() >= 1);
  assert.throws(() => addon.setNumThreads(0), RangeError);
});

test("peakGflops measures a positive, finite rate on every ISA and refuses a bad duration", (t) => {
  if (!addon) { t.skip(skipReason); return; }
  const isa = addon.isa();
  try {
    for (const name of addon.supportedIsas()) {
      addon.setIsa(name);
      const peak = addon.peakGflops(0.05);
      assert.ok(Number.isFinite(peak) && peak > 0, `${name}: ${peak}`);
    }
  } finally {
    addon.setIsa(isa);
  }
  assert.throws(() => addon.peakGflops(0), /seconds must be in \(0, 60\]/);
  assert.throws(() => addon.peakGflops(61), RangeError);
});
