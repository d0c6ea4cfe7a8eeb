// Quick throughput check of the native addon: SGEMM GFLOP/s and flash-attention timings.
// Usage: node dist/bench/sgemm.js [--threads N] [--isa avx512|avx2|generic]

import { loadAddon, addonLoadError } from "../src/backend/native/addon.js";

const addon = loadAddon();
if (!addon) {
  console.error(`native addon not available: ${addonLoadError()}`);
  process.exit(1);
}
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
if (opt("--threads")) addon.setNumThreads(Number(opt("--threads")));
if (opt("--isa")) addon.setIsa(opt("--isa") as "avx512");
console.log(`isa ${addon.isa()}, threads ${addon.numThreads()}`);

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}
function time(fn: () => void, minSeconds = 1): number {
  fn();
  let reps = 0;
  const t0 = performance.now();
  let dt = 0;
  do { fn(); reps++; dt = (performance.now() - t0) / 1000; } while (dt < minSeconds);
  return dt / reps;
}

for (const [ta, tb] of [[false, false], [false, true], [true, false]] as const) {
  for (const n of [512, 1024, 2048]) {
    const a = rand(n * n), b = rand(n * n), c = new Float32Array(n * n);
    const s = time(() => addon.gemm(ta, tb, n, n, n, 1, a, 0, n, 0, b, 0, n, 0, 0, c, 0, n, 0, 1));
    console.log(`sgemm n=${n} transA=${ta} transB=${tb}: ${(2 * n ** 3 / s / 1e9).toFixed(1)} GFLOP/s`);
  }
}
// The narrow shapes of the Transformer benchmarks (vit_mnist: 6400 tokens, dim 64, MLP 128;
// vit_tiny: 1576 tokens, dim 192, MLP 768): forward X W, dX = G W^T (transB), dW = X^T G (transA).
const narrow: [number, number, number, boolean, boolean][] = [
  [6400, 64, 64, false, false], [6400, 128, 64, false, false], [6400, 192, 64, false, false], [6400, 64, 128, false, false],
  [1576, 576, 192, false, false], [1576, 192, 192, false, false], [1576, 768, 192, false, false], [1576, 192, 768, false, false],
  [6400, 64, 64, false, true], [6400, 64, 128, false, true], [1576, 192, 576, false, true], [1576, 192, 768, false, true],
  [64, 64, 6400, true, false], [64, 192, 6400, true, false], [128, 64, 6400, true, false], [192, 576, 1576, true, false],
  [768, 192, 1576, true, false],
];
for (const [m, n, k, ta, tb] of narrow) {
  const a = rand(m * k), b = rand(k * n), c = new Float32Array(m * n);
  const lda = ta ? m : k, ldb = tb ? k : n;
  const s = time(() => addon.gemm(ta, tb, m, n, k, 1, a, 0, lda, 0, b, 0, ldb, 0, 0, c, 0, n, 0, 1), 0.3);
  console.log(`sgemm m=${m} n=${n} k=${k} transA=${ta} transB=${tb}: ${(2 * m * n * k / s / 1e9).toFixed(1)} GFLOP/s (${(s * 1e6).toFixed(0)} us)`);
}
for (const [bh, t, d] of [[512, 50, 16], [24, 197, 64]]) {
  const q = rand(bh * t * d), k = rand(bh * t * d), v = rand(bh * t * d), gout = rand(bh * t * d);
  const out = new Float32Array(bh * t * d), lse = new Float32Array(bh * t);
  const grads = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)];
  const f = time(() => addon.attention(q, k, v, bh, t, t, d, d, 1 / Math.sqrt(d), false, null, 1, 1, out, lse, 0), 0.5);
  const b = time(() => addon.attentionBackward(q, k, v, bh, t, t, d, d, 1 / Math.sqrt(d), false, null, 1, 1, out, lse, gout, grads[0], grads[1], grads[2], 0), 0.5);
  console.log(`attention BH=${bh} T=${t} d=${d}: forward ${(f * 1e6).toFixed(0)} us, backward ${(b * 1e6).toFixed(0)} us`);
}
{
  const n = 64, batch = 100;
  const a = rand(n * n * batch), b = rand(n * n * batch), c = new Float32Array(n * n * batch);
  const s = time(() => addon.gemm(false, false, n, n, n, 1, a, 0, n, n * n, b, 0, n, n * n, 0, c, 0, n, n * n, batch));
  console.log(`sgemm 64x64x64 x100 batched: ${(2 * n ** 3 * batch / s / 1e9).toFixed(1)} GFLOP/s (${(s * 1e6).toFixed(0)} us)`);
}
for (const causal of [false, true]) {
  const bh = 8, t = 4096, d = 64;
  const q = rand(bh * t * d), k = rand(bh * t * d), v = rand(bh * t * d);
  const out = new Float32Array(bh * t * d), lse = new Float32Array(bh * t);
  const mem0 = process.memoryUsage().rss;
  const s = time(() => addon.attention(q, k, v, bh, t, t, d, d, 1 / 8, causal, null, 1, 1, out, lse, 0), 2);
  const grads = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)];
  const gout = rand(out.length);
  const sb = time(() => addon.attentionBackward(q, k, v, bh, t, t, d, d, 1 / 8, causal, null, 1, 1, out, lse, gout, grads[0], grads[1], grads[2], 0), 2);
  const rss = (process.memoryUsage().rss - mem0) / 2 ** 20;
  console.log(`attention B=1 H=8 T=${t} d=${d} causal=${causal}: forward ${(s * 1000).toFixed(0)} ms, backward ${(sb * 1000).toFixed(0)} ms (rss growth ${rss.toFixed(0)} MiB incl. ${(grads.length * q.length * 4 / 2 ** 20).toFixed(0)} MiB of grad arrays)`);
}
