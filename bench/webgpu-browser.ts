// Benchmark in headless Chromium: the webgpu backend's SGEMM (on whatever adapter Chromium
// gives; here SwiftShader, a software Vulkan on the CPU, so this measures correctness and
// overhead, not a GPU), the js backend's SGEMM in the same page, and a ViT-MNIST training step
// (vit-mnist preset, batch 32) on the js backend and on WebGPUViTTrainer in the page. One JSON
// line per measurement.
// Needs `npm run build` (dist/browser) and /usr/bin/chromium.
//   node dist/bench/webgpu-browser.js [--sizes 128,256,512] [--repeats 5]

import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openPage } from "../test/helpers/browser.js";

const { values } = parseArgs({ options: { sizes: { type: "string", default: "128,256,512" }, repeats: { type: "string", default: "5" } } });
const sizes = values.sizes!.split(",").map(Number);
const repeats = Number(values.repeats);
const dist = join(fileURLToPath(import.meta.url), "..", "..", "browser");

const SCRIPT = (sizes: number[], repeats: number) => `(async () => {
  const t = await import("/tsformer.js");
  const gpu = await t.webgpu.createWebGPUBackend();
  const js = t.getBackend();
  const lines = [];
  const args = (n) => ({ transA: false, transB: false, m: n, n, k: n, alpha: 1, beta: 0, aOffset: 0, lda: n, strideA: 0,
    bOffset: 0, ldb: n, strideB: 0, cOffset: 0, ldc: n, strideC: 0, batch: 1 });
  for (const n of ${JSON.stringify(sizes)}) {
    const a = Float32Array.from({ length: n * n }, (_, i) => (i % 7) / 7), b = a.slice();
    const ag = gpu.upload(a), bg = gpu.upload(b), cg = gpu.zeros(n * n);
    gpu.gemm({ ...args(n), a: ag, b: bg, c: cg }); await cg.data();
    const times = [];
    for (let r = 0; r < ${repeats}; r++) {
      const t0 = performance.now(); gpu.gemm({ ...args(n), a: ag, b: bg, c: cg }); await gpu.sync(); times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    const med = times[times.length >> 1];
    lines.push({ workload: "sgemm", backend: "webgpu", adapter: gpu.adapterName, n, ms: +med.toFixed(2), gflops: +(2 * n ** 3 / med / 1e6).toFixed(2) });
    const c = new Float32Array(n * n), jt = [];
    for (let r = 0; r < 3; r++) { const t0 = performance.now(); js.gemm({ ...args(n), a, b, c }); jt.push(performance.now() - t0); }
    jt.sort((x, y) => x - y);
    lines.push({ workload: "sgemm", backend: "js (in Chromium)", n, ms: +jt[1].toFixed(2), gflops: +(2 * n ** 3 / jt[1] / 1e6).toFixed(2) });
  }
  {
    t.manualSeed(0);
    const model = new t.models.ViTForImageClassification(t.models.vitPresets["vit-mnist"]);
    const opt = new t.optim.AdamW(model.parameters(), { lr: 1e-3 });
    const x = t.rand([32, 1, 28, 28]), y = t.randint(0, 10, [32]);
    const step = () => { opt.zeroGrad(); const loss = t.crossEntropy(model.forward(x).logits, y); loss.backward(); opt.step(); return loss.item(); };
    step();
    const st = [];
    for (let r = 0; r < 3; r++) { const t0 = performance.now(); step(); st.push(performance.now() - t0); }
    st.sort((p, q) => p - q);
    lines.push({ workload: "vit-mnist train step (batch 32)", backend: "js (in Chromium)", ms: +st[1].toFixed(1) });
    const trainer = new t.WebGPUViTTrainer(gpu, model, { batchSize: 32, lr: 1e-3 });
    trainer.step(x.data, y.data); await trainer.loss();
    const gt = [];
    for (let r = 0; r < 3; r++) { const t0 = performance.now(); trainer.step(x.data, y.data); await trainer.loss(); gt.push(performance.now() - t0); }
    gt.sort((p, q) => p - q);
    lines.push({ workload: "vit-mnist train step (batch 32)", backend: "webgpu", adapter: gpu.adapterName, ms: +gt[1].toFixed(1) });
  }
  return lines;
})()`;

const s = await openPage(dist, { webgpu: true, extra: { "/": `<!doctype html><link rel="icon" href="data:,"><title>bench</title>` } });
try {
  s.page.setDefaultTimeout(300_000);
  const lines = await s.page.evaluate(SCRIPT(sizes, repeats)) as object[];
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");
  for (const l of lines) console.log(JSON.stringify({ ...l, loadavg: load }));
} finally {
  await s.close();
}
