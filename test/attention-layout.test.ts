// The fused multi-head attention reads heads straight from [B, T, H*D] rows; it must equal
// splitting the heads, attending per head and merging them back, forward and backward, on
// every backend.

import assert from "node:assert/strict";
import { test } from "node:test";
import { availableBackends, getBackend, manualSeed, randn, withBackend, scaledDotProductAttention, multiHeadAttentionFused, multiHeadAttentionPacked, multiHeadAttentionPackedKV, attention, tensor, narrow, cat, Tensor, MultiHeadAttention } from "../src/index.js";
import { Dropout, Linear, fusedLinear, projectWithResidual } from "../src/nn/index.js";
const { splitHeads, mergeHeads } = attention;

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 2e-5): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

for (const name of availableBackends()) {
  test(`[${name}] fused multi-head attention equals split-attend-merge, forward and backward`, () => {
    withBackend(name, () => {
      manualSeed(11);
      for (const [B, H, Tq, Tk, D, causal, masked] of [[2, 3, 5, 7, 4, false, true], [1, 2, 70, 70, 8, true, false], [2, 4, 9, 130, 16, false, false]] as const) {
        const q = randn([B, Tq, H * D], { requiresGrad: true }), k = randn([B, Tk, H * D], { requiresGrad: true });
        const v = randn([B, Tk, H * D], { requiresGrad: true });
        const mask = masked ? attention.paddingMask(Array.from({ length: B }, (_, b) => Tk - b), Tk).reshape([B, 1, 1, Tk]) : null;
        const w = randn([B, Tq, H * D]);
        const fused = multiHeadAttentionFused(q, k, v, H, { causal, mask });
        fused.mul(w).sum().backward();
        const g1 = [q.grad!.toArray(), k.grad!.toArray(), v.grad!.toArray()];
        q.zeroGrad(); k.zeroGrad(); v.zeroGrad();
        const ref = mergeHeads(scaledDotProductAttention(splitHeads(q, H), splitHeads(k, H), splitHeads(v, H), { causal, mask }));
        ref.mul(w).sum().backward();
        const what = `B${B} H${H} Tq${Tq} Tk${Tk}`;
        closeArrays(fused.data, ref.data, `${what} out`);
        closeArrays(g1[0], q.grad!.data, `${what} dq`, 1e-4);
        closeArrays(g1[1], k.grad!.data, `${what} dk`, 1e-4);
        closeArrays(g1[2], v.grad!.data, `${what} dv`, 1e-4);
      }
    });
  });
}

for (const name of availableBackends().filter((b) => b !== "webgpu")) {
  test(`[${name}] packed q/k/v attention equals splitting the projection, forward and backward`, () => {
    withBackend(name, () => {
      manualSeed(13);
      // short sequences (whole-head kernels, head dims 16, 8, 32 and 64: keys transposed 16 x 16 in
      // registers on AVX-512 from rows 3C apart), the flash path (300 keys), a padding mask
      for (const [B, H, T, D, causal, masked] of [[2, 3, 50, 16, true, false], [2, 2, 9, 8, false, true], [1, 2, 40, 32, false, true],
        [1, 3, 197, 64, false, false], [1, 2, 300, 64, true, false]] as const) {
        const C = H * D;
        const qkv = randn([B, T, 3 * C], { requiresGrad: true });
        const mask = masked ? attention.paddingMask(Array.from({ length: B }, (_, b) => T - 2 * b), T).reshape([B, 1, 1, T]) : null;
        const w = randn([B, T, C]);
        const packed = multiHeadAttentionPacked(qkv, H, { causal, mask });
        packed.mul(w).sum().backward();
        const gPacked = qkv.grad!.toArray();
        qkv.zeroGrad();
        const [q, k, v] = [0, 1, 2].map((i) => narrow(qkv, 2, i * C, C));
        const ref = multiHeadAttentionFused(q, k, v, H, { causal, mask });
        ref.mul(w).sum().backward();
        const what = `B${B} H${H} T${T} D${D}`;
        closeArrays(packed.data, ref.data, `${what} out`, 1e-6);
        closeArrays(gPacked, qkv.grad!.data, `${what} dqkv`, 1e-5);
      }
      assert.throws(() => multiHeadAttentionPacked(randn([2, 3, 12]), 3), /qkv must be \[B, T, 3C\] with C divisible by 3 heads, got \[2, 3, 12\]/);
    });
  });
}

for (const name of availableBackends().filter((b) => b !== "webgpu")) {
  test(`[${name}] packed k/v attention (cross-attention) equals splitting the projection, forward and backward`, () => {
    withBackend(name, () => {
      manualSeed(17);
      // queries and keys of different lengths: whole-head kernels, the flash path (260 keys), a padding mask
      for (const [B, H, Tq, Tk, D, masked] of [[2, 4, 7, 50, 16, true], [1, 2, 33, 260, 32, false]] as const) {
        const C = H * D;
        const q = randn([B, Tq, C], { requiresGrad: true }), kv = randn([B, Tk, 2 * C], { requiresGrad: true });
        const mask = masked ? attention.paddingMask(Array.from({ length: B }, (_, b) => Tk - 3 * b), Tk).reshape([B, 1, 1, Tk]) : null;
        const w = randn([B, Tq, C]);
        const packed = multiHeadAttentionPackedKV(q, kv, H, { mask });
        packed.mul(w).sum().backward();
        const [gq, gkv] = [q.grad!.toArray(), kv.grad!.toArray()];
        q.zeroGrad(); kv.zeroGrad();
        const ref = multiHeadAttentionFused(q, narrow(kv, 2, 0, C), narrow(kv, 2, C, C), H, { mask });
        ref.mul(w).sum().backward();
        const what = `B${B} H${H} Tq${Tq} Tk${Tk} D${D}`;
        closeArrays(packed.data, ref.data, `${what} out`, 1e-6);
        closeArrays(gq, q.grad!.data, `${what} dq`, 1e-5);
        closeArrays(gkv, kv.grad!.data, `${what} dkv`, 1e-5);
      }
      assert.throws(() => multiHeadAttentionPackedKV(randn([2, 3, 8]), randn([2, 5, 12]), 2),
        /kv must be \[B, Tk, 2C\] = \[2, Tk, 16\] for q \[2, 3, 8\], got \[2, 5, 12\]/);
    });
  });
}

test("MultiHeadAttention: one GEMM for q/k/v (self) and k/v (cross) gives what the separate projections give", () => {
  manualSeed(19);
  const [B, T, S, C, H] = [2, 6, 9, 24, 3];
  const mha = new MultiHeadAttention(C, H);
  const x = randn([B, T, C], { requiresGrad: true }), memory = randn([B, S, C], { requiresGrad: true });
  const w = randn([B, T, C]);
  // the reference: each projection on its own, then the three-tensor kernel
  const separate = (query: Tensor, kv: Tensor, causal: boolean) => mha.out.forward(multiHeadAttentionFused(
    mha.query.forward(query), mha.key.forward(kv), mha.value.forward(kv), H, { causal }));
  for (const [what, run, op] of [
    ["self, causal", (f: boolean) => (f ? mha.forward(x, x, x, { causal: true }) : separate(x, x, true)), "multiHeadAttentionPacked"],
    ["cross", (f: boolean) => (f ? mha.forward(x, memory, memory) : separate(x, memory, false)), "multiHeadAttentionPackedKV"],
  ] as const) {
    const results = [true, false].map((fused) => {
      for (const p of [...mha.parameters(), x, memory]) p.zeroGrad();
      const y = run(fused);
      // the output projection's input: the attention op that ran
      assert.equal(y.gradFn!.inputs[0].gradFn!.name, fused ? op : "multiHeadAttention", what);
      y.mul(w).sum().backward();
      return [y.toArray(), x.grad!.toArray(), memory.grad?.toArray() ?? [], ...mha.parameters().map((p) => p.grad!.toArray())];
    });
    results[0].forEach((a, i) => closeArrays(a, results[1][i], `${what} [${i}]`, 1e-5));
  }
});

test("fusedLinear: layers side by side in one GEMM equal each layer on its own; a bias on some layers only is refused", () => {
  manualSeed(23);
  const layers = [new Linear(8, 5), new Linear(8, 3), new Linear(8, 4)];
  const x = randn([2, 3, 8], { requiresGrad: true });
  const w = randn([2, 3, 12]);
  const fused = fusedLinear(x, layers);
  fused.mul(w).sum().backward();
  const g1 = [x.grad!.toArray(), ...layers.flatMap((l) => [l.weight.grad!.toArray(), l.bias!.grad!.toArray()])];
  for (const p of [x, ...layers.flatMap((l) => l.parameters())]) p.zeroGrad();
  const ref = cat(layers.map((l) => l.forward(x)), 2);
  ref.mul(w).sum().backward();
  closeArrays(fused.data, ref.data, "out", 1e-6);
  const g2 = [x.grad!.toArray(), ...layers.flatMap((l) => [l.weight.grad!.toArray(), l.bias!.grad!.toArray()])];
  g1.forEach((a, i) => closeArrays(a, g2[i], `grad ${i}`, 1e-5));
  assert.throws(() => fusedLinear(x, [new Linear(8, 2), new Linear(8, 2, { bias: false })]), /1 of 2 layers have a bias; all or none must/);
});

test("the native attention kernels refuse row strides they cannot use, and arrays too short for them", (t) => {
  const be = getBackend();
  if (be.name !== "native") { t.skip("native backend not loaded"); return; }
  const [B, H, T, D] = [1, 2, 4, 8];
  const qkv = new Float32Array(B * T * 3 * H * D);
  const base = { bh: B * H, tq: T, tk: T, d: D, dv: D, heads: H, scale: 1, causal: false, mask: null, maskBatch: 1, maskHeadDiv: 1,
    out: new Float32Array(B * T * H * D), lse: new Float32Array(B * H * T) };
  const C = H * D;
  assert.throws(() => be.attention({ ...base, q: qkv, k: qkv.subarray(C), v: qkv.subarray(2 * C), ldq: 3 * C, ldk: 3 * C, ldv: C - 1 }),
    /ldv=15: row strides need the row layout \(heads > 0\) and at least heads x width/);
  assert.throws(() => be.attention({ ...base, heads: 0, q: qkv, k: qkv, v: qkv, ldq: 3 * C }), /ldq=48: row strides need the row layout/);
  // v starts 2C into the array: with a 3C stride its last row runs C past the end of a [B, T, 3C] array cut short
  assert.throws(() => be.attention({ ...base, q: qkv, k: qkv.subarray(C), v: qkv.subarray(2 * C + 8), ldq: 3 * C, ldk: 3 * C, ldv: 3 * C }),
    /v has \d+ elements, needs at least/);
});

test("fused multi-head attention names the sizes it refuses", () => {
  const q = randn([2, 3, 8]);
  assert.throws(() => multiHeadAttentionFused(q, q, q, 3), /q \[2, 3, 8\] has 8 features, not divisible by 3 heads/);
  assert.throws(() => multiHeadAttentionFused(q, randn([2, 4, 8]), randn([2, 5, 8]), 2), /key\/value lengths 4 vs 5/);
  assert.throws(() => multiHeadAttentionFused(q, q, q, 2, { mask: tensor([1, 0], { dtype: "int32" }) }), /mask \[2\] does not broadcast/);
});

test("linear with an [in, out] weight (GPT-2's Conv1D) equals x W + b, gradients included", async () => {
  const { linear, matmul } = await import("../src/index.js");
  manualSeed(12);
  const x = randn([2, 3, 5], { requiresGrad: true }), w = randn([5, 4], { requiresGrad: true }), b = randn([4], { requiresGrad: true });
  const gw = randn([2, 3, 4]);
  linear(x, w, b, { weightInOut: true }).mul(gw).sum().backward();
  const g1 = [x.grad!.toArray(), w.grad!.toArray(), b.grad!.toArray()];
  x.zeroGrad(); w.zeroGrad(); b.zeroGrad();
  matmul(x, w).add(b).mul(gw).sum().backward();
  closeArrays(g1[0], x.grad!.data, "dx", 1e-5);
  closeArrays(g1[1], w.grad!.data, "dw", 1e-5);
  closeArrays(g1[2], b.grad!.data, "db", 1e-5);
  assert.throws(() => linear(x, w, b), /input \[2, 3, 5\] has 5 features, weight \[5, 4\] expects 4/);
});

test("projectWithResidual: the residual goes into the projection's GEMM without dropout, after the dropout with it", () => {
  manualSeed(29);
  const dense = new Linear(6, 4), x = randn([3, 6]), r = randn([3, 4]);
  const drop = new Dropout(0.5);
  const calls: (Tensor | null)[] = [];
  const project = (res: Tensor | null) => { calls.push(res); return dense.forward(x, res); };
  drop.eval(); // inactive: one fused call
  const fused = projectWithResidual(project, drop, r);
  assert.deepEqual(calls, [r]);
  closeArrays(fused.data, dense.forward(x).add(r).data, "fused", 1e-6);
  drop.train(); // active: project alone, dropout, then the sum
  calls.length = 0;
  manualSeed(31);
  const y = projectWithResidual(project, drop, r);
  assert.deepEqual(calls, [null]);
  manualSeed(31);
  closeArrays(y.data, drop.forward(dense.forward(x)).add(r).data, "dropout then sum", 1e-6);
  assert.ok(Array.from(y.data).some((v, i) => Math.abs(v - fused.data[i]) > 1e-3), "dropout changed something");
  manualSeed(37); // no residual: the projection through the dropout, nothing added
  const plain = projectWithResidual(project, drop, null);
  manualSeed(37);
  closeArrays(plain.data, drop.forward(dense.forward(x)).data, "no residual", 1e-6);
});
