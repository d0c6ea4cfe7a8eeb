// The webgpu backend in Node, through Dawn (the `webgpu` npm package, which tsformer does not
// depend on: `npm install --no-save webgpu`, or --dawn DIR pointing at an unpacked copy).
// On a machine with a GPU this measures the GPU; here it finds SwiftShader (software Vulkan)
// with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json and
// LD_LIBRARY_PATH=/usr/lib/chromium (docs/BROWSER.md). One JSON line per measurement:
//   - sgemm n x n x n: ms per product and GFLOP/s (products queued back to back, one sync)
//   - the ViT-MNIST training step (vit-mnist preset, AdamW) on WebGPUViTTrainer at each batch:
//     "latency" (median of steps each awaited) and "throughput" (steps queued back to back).
// Peer on the same GPU: bench/peers/torch_gpu.py.
//   - with --kernels B: each kind of kernel of that training step at batch B alone, queued 50
//     times back to back (ms per call), to see where a step's GPU time goes.
//   node dist/bench/webgpu-node.js [--sizes 256,512] [--batches 32] [--steps 10] [--kernels 512] [--dawn DIR]

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createWebGPUBackend } from "../src/backend/webgpu/index.js";
import type { GPULike } from "../src/backend/webgpu/gpu-types.js";
import { rand, randint } from "../src/tensor/creation.js";
import { manualSeed } from "../src/tensor/random.js";
import { ViTForImageClassification, vitPresets } from "../src/models/vit.js";
import { WebGPUViTTrainer } from "../src/train/webgpu-vit.js";

const { values } = parseArgs({ options: {
  sizes: { type: "string", default: "256,512" }, batches: { type: "string", default: "32" },
  steps: { type: "string", default: "10" }, dawn: { type: "string" }, kernels: { type: "string" },
} });
const steps = Number(values.steps);
const list = (s: string) => s.split(",").filter(Boolean).map(Number);

const spec = values.dawn ? pathToFileURL(join(values.dawn, "index.js")).href : "webgpu";
let dawn: { create(flags: string[]): GPULike; globals: object };
try {
  dawn = await import(spec);
} catch (e) {
  throw new Error(`webgpu-node: cannot load Dawn from "${spec}" (npm install --no-save webgpu, or --dawn DIR): ${(e as Error).message}`);
}
Object.assign(globalThis, dawn.globals);
const gpu = await createWebGPUBackend({ gpu: dawn.create([]) });
const emit = (o: object) => console.log(JSON.stringify({ backend: "webgpu", adapter: gpu.adapterName, ...o }));

for (const n of list(values.sizes!)) {
  const a = gpu.upload(rand([n, n]).data as Float32Array), b = gpu.upload(rand([n, n]).data as Float32Array), c = gpu.zeros(n * n);
  const args = { transA: false, transB: false, m: n, n, k: n, alpha: 1, beta: 0, a, aOffset: 0, lda: n, strideA: 0,
    b, bOffset: 0, ldb: n, strideB: 0, c, cOffset: 0, ldc: n, strideC: 0, batch: 1 };
  for (let i = 0; i < 3; i++) gpu.gemm(args);
  await gpu.sync();
  const reps = Math.max(3, Math.min(50, Math.round(2e10 / n ** 3)));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) gpu.gemm(args);
  await gpu.sync();
  const ms = (performance.now() - t0) / reps;
  emit({ workload: "sgemm", n, ms: +ms.toFixed(3), gflops: +(2 * n ** 3 / ms / 1e6).toFixed(1) });
  for (const x of [a, b, c]) x.destroy();
}

for (const batch of list(values.batches!)) {
  manualSeed(0);
  const model = new ViTForImageClassification(vitPresets["vit-mnist"]);
  const trainer = new WebGPUViTTrainer(gpu, model, { batchSize: batch, lr: 1e-3 });
  const x = rand([batch, 1, 28, 28]).data as Float32Array, y = randint(0, 10, [batch]).data;
  for (let i = 0; i < 3; i++) trainer.step(x, y);
  await trainer.loss();
  const lat: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainer.step(x, y);
    await trainer.loss();
    lat.push(performance.now() - t0);
  }
  lat.sort((p, q) => p - q);
  let encode = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const e0 = performance.now();
    trainer.step(x, y); // records and submits the kernels; the GPU runs them meanwhile
    encode += performance.now() - e0;
  }
  const loss = await trainer.loss();
  const thr = (performance.now() - t0) / steps;
  emit({ workload: "vit-mnist train step", batch, latency_ms: +lat[lat.length >> 1].toFixed(2), throughput_ms: +thr.toFixed(2),
    encode_ms: +(encode / steps).toFixed(2), loss: +loss.toFixed(4) });
}
if (values.kernels) {
  // the shapes of one vit-mnist layer at batch B: N = B*50 rows of width 64, 4 heads of 16, MLP 128
  const B = Number(values.kernels), T = 50, D = 64, H = 4, M = 128, N = B * T;
  const z = (n: number) => gpu.upload(rand([n]).data as Float32Array);
  const x = z(N * D), y = z(N * D), w = z(D * D), f = z(N * M), f2 = z(N * M), g = z(D), b = z(D), mean = z(N), rstd = z(N);
  const q = z(N * D), k = z(N * D), v = z(N * D), o = z(N * D), lse = z(B * H * T), dq = z(N * D), dk = z(N * D), dv = z(N * D);
  const w1 = z(M * D), f3 = z(N * M), p4 = [z(4096), z(4096), z(4096), z(4096)] as const;
  const mm = (a: typeof x, bb: typeof x, c: typeof x, m: number, n: number, kk: number, transA: boolean, transB: boolean) => () =>
    gpu.gemm({ transA, transB, m, n, k: kk, alpha: 1, beta: 0, a, aOffset: 0, lda: transA ? m : kk, strideA: 0,
      b: bb, bOffset: 0, ldb: transB ? kk : n, strideB: 0, c, cOffset: 0, ldc: n, strideC: 0, batch: 1 });
  const att = { q, k, v, bh: B * H, tq: T, tk: T, d: D / H, dv: D / H, heads: H, scale: 0.25, causal: false, mask: null,
    maskBatch: 1, maskHeadDiv: 1, out: o, lse };
  const cases: [string, () => void][] = [
    ["gemm x W^T [N,64]x[64,64]", mm(x, w, y, N, D, D, false, true)],
    ["gemm dW = dY^T X (split-K) [64,N]x[N,64]", mm(x, y, w, D, D, N, true, false)],
    ["gemm fc1 [N,64]x[64,128]", mm(x, w1, f, N, M, D, false, true)],
    ["layerNorm [N,64]", () => gpu.layerNorm(x, g, b, N, D, 1e-12, y, mean, rstd)],
    ["layerNormBackward dx+dgamma+dbeta [N,64]", () => gpu.layerNormBackward(x, g, mean, rstd, y, N, D, q, g, b)],
    ["attention forward", () => gpu.attention(att)],
    ["attentionBackward (4 kernels)", () => gpu.attentionBackward({ ...att, gradOut: y, gradQ: dq, gradK: dk, gradV: dv })],
    ["gelu [N,128]", () => gpu.unary("gelu", f, f2)],
    ["geluBackward [N,128]", () => gpu.unaryBackward("gelu", f, f2, f3)],
    ["copyBlocks residual add [N,64]", () => gpu.copyBlocks(x, y, { batch: 1, rows: 1, cols: N * D, xOffset: 0, xBatchStride: 0, xRowStride: 0, yOffset: 0, yBatchStride: 0, yRowStride: 0, add: true })],
    ["copyBlocks bias add [N,64]", () => gpu.copyBlocks(g, y, { batch: 1, rows: N, cols: D, xOffset: 0, xBatchStride: 0, xRowStride: 0, yOffset: 0, yBatchStride: 0, yRowStride: D, add: true })],
    ["columnSum [N,64]", () => gpu.columnSum(x, N, D, g)],
    ["adamw 4096", () => gpu.adamw(p4[0], p4[1], p4[2], p4[3], 1e-3, 0.9, 0.999, 1e-8, 0.01, 1)],
  ];
  for (const [name, run] of cases) {
    run(); await gpu.sync();
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) run();
    await gpu.sync();
    emit({ workload: "kernel", batch: B, kernel: name, ms: +((performance.now() - t0) / 50).toFixed(4) });
  }
}
process.exit(0);
