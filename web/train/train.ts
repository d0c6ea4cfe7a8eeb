// The in-tab training page: load a slice of MNIST (digits.bin, written by
// scripts/build-browser.mjs), train a small ViT with the library's browser bundle while drawing
// the loss curve, then classify a digit drawn on a canvas and overlay the attention rollout.
// body[data-state] moves loading -> ready -> training -> trained -> done (or error), which the
// end-to-end test (test/browser-train-e2e.test.ts) waits on. `?steps=N` sets the training length,
// `?gpu` ticks "on the GPU": where WebGPU finds an adapter, the same model then trains with
// WebGPUViTTrainer (the forward, backward and AdamW as WGSL kernels) and its weights come back
// to the engine for evaluation and the heat maps.

import {
  Tensor, WebGPUViTTrainer, crossEntropy, manualSeed, models, noGrad, optim, recordAttention, attentionRollout, webgpu,
} from "../../src/browser.js";

const SIDE = 16, PATCH = 4, GRID = SIDE / PATCH; // 16x16 digits, a 4x4 grid of patches
const config: models.ViTConfig = {
  ...models.vitPresets["vit-mnist"], imageSize: SIDE, patchSize: PATCH, numChannels: 1, numLabels: 10,
  hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64,
};
const params = new URLSearchParams(location.search);
const STEPS = Number(params.get("steps") ?? 300), BATCH = 32;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const setState = (s: string) => { document.body.dataset.state = s; };
const status = (s: string) => { $("status").textContent = s; };
const fail = (e: unknown) => { $("error").textContent = e instanceof Error ? e.message : String(e); setState("error"); };
window.addEventListener("error", (e) => fail(e.error ?? e.message));

/** digits.bin: u32 count, then count 16x16 u8 images, then count u8 labels. */
async function loadDigits(): Promise<{ images: Float32Array; labels: Int32Array; count: number }> {
  const res = await fetch("digits.bin");
  if (!res.ok) throw new Error(`digits.bin: HTTP ${res.status} (run npm run build:browser)`);
  const buf = new Uint8Array(await res.arrayBuffer());
  const count = new DataView(buf.buffer).getUint32(0, true);
  const px = SIDE * SIDE;
  if (buf.length !== 4 + count * (px + 1)) throw new Error(`digits.bin: expected ${4 + count * (px + 1)} bytes for ${count} digits, got ${buf.length}`);
  const images = new Float32Array(count * px);
  for (let i = 0; i < count * px; i++) images[i] = buf[4 + i] / 255;
  return { images, labels: Int32Array.from(buf.subarray(4 + count * px)), count };
}

function batchOf(d: { images: Float32Array; labels: Int32Array }, idx: number[]): { x: Tensor; y: Tensor } {
  const px = SIDE * SIDE, xs = new Float32Array(idx.length * px), ys = new Int32Array(idx.length);
  idx.forEach((j, b) => { xs.set(d.images.subarray(j * px, (j + 1) * px), b * px); ys[b] = d.labels[j]; });
  return { x: new Tensor(xs, [idx.length, 1, SIDE, SIDE]), y: new Tensor(ys, [idx.length]) };
}

function drawLoss(losses: number[]): void {
  const c = $<HTMLCanvasElement>("loss"), g = c.getContext("2d")!;
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
  const top = Math.max(...losses, 1e-6), pad = 30;
  g.strokeStyle = "#999"; g.beginPath(); g.moveTo(pad, 5); g.lineTo(pad, c.height - pad); g.lineTo(c.width - 5, c.height - pad); g.stroke();
  g.fillStyle = "#555"; g.font = "11px sans-serif";
  g.fillText(top.toFixed(2), 2, 12); g.fillText("0", 18, c.height - pad); g.fillText(`step ${losses.length}`, c.width - 60, c.height - 10);
  g.strokeStyle = "#1f6fd1"; g.lineWidth = 1.5; g.beginPath();
  const w = c.width - pad - 10, h = c.height - pad - 10;
  losses.forEach((l, i) => {
    const x = pad + (i / Math.max(1, STEPS - 1)) * w, y = c.height - pad - (l / top) * h;
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  c.dataset.points = String(losses.length);
}

manualSeed(0);
const model = new models.ViTForImageClassification(config);
const losses: number[] = [];
(window as unknown as { losses: number[] }).losses = losses;

/** One step on the engine (js backend): returns the batch's loss. */
function engineTrainer(): (x: Tensor, y: Tensor) => Promise<number> {
  const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  model.train();
  return async (x, y) => {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x).logits, y);
    loss.backward();
    opt.step();
    return loss.item();
  };
}

async function train(d: { images: Float32Array; labels: Int32Array; count: number }): Promise<void> {
  setState("training");
  const onGPU = $<HTMLInputElement>("gpu").checked;
  let gpuTrainer: WebGPUViTTrainer | null = null;
  let step1: (x: Tensor, y: Tensor) => Promise<number>;
  if (onGPU) {
    const gpu = await webgpu.createWebGPUBackend();
    const trainer = new WebGPUViTTrainer(gpu, model, { batchSize: BATCH, lr: 3e-3, weightDecay: 0 });
    gpuTrainer = trainer;
    step1 = async (x, y) => { trainer.step(x.data as Float32Array, y.data); return trainer.loss(); };
    $("status").dataset.device = gpu.adapterName;
  } else {
    step1 = engineTrainer();
  }
  const held = Math.min(200, Math.floor(d.count / 5)), trainCount = d.count - held;
  let s = 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const where = onGPU ? ` on the GPU (${$("status").dataset.device})` : "";
  for (let step = 0; step < STEPS; step++) {
    const { x, y } = batchOf(d, Array.from({ length: BATCH }, () => Math.floor(rand() * trainCount)));
    losses.push(await step1(x, y));
    drawLoss(losses);
    status(`step ${step + 1}/${STEPS}${where}, loss ${losses.at(-1)!.toFixed(3)}`);
    await new Promise((r) => setTimeout(r, 0)); // let the page paint the curve
  }
  if (gpuTrainer) await gpuTrainer.copyWeightsTo(model); // evaluation and heat maps run on the engine
  model.eval();
  const test = batchOf(d, Array.from({ length: held }, (_, i) => trainCount + i));
  const logits = noGrad(() => model.forward(test.x).logits);
  let ok = 0;
  for (let b = 0; b < held; b++) {
    let k = 0;
    for (let c = 1; c < 10; c++) if (logits.data[b * 10 + c] > logits.data[b * 10 + k]) k = c;
    if (k === test.y.data[b]) ok++;
  }
  status(`trained ${STEPS} steps${where}; accuracy on ${held} held-out digits: ${(100 * ok / held).toFixed(1)}%`);
  $("status").dataset.accuracy = String(ok / held);
  $<HTMLButtonElement>("predict").disabled = false;
  setState("trained");
}

// --- drawing and classifying ------------------------------------------------------------------

const draw = $<HTMLCanvasElement>("draw"), pen = draw.getContext("2d")!;
const clear = () => { pen.fillStyle = "#000"; pen.fillRect(0, 0, draw.width, draw.height); };
clear();
let last: [number, number] | null = null;
draw.addEventListener("pointerdown", (e) => { last = [e.offsetX, e.offsetY]; draw.setPointerCapture(e.pointerId); });
draw.addEventListener("pointerup", () => { last = null; });
draw.addEventListener("pointermove", (e) => {
  if (!last) return;
  pen.strokeStyle = "#fff"; pen.lineWidth = 16; pen.lineCap = "round";
  pen.beginPath(); pen.moveTo(...last); pen.lineTo(e.offsetX, e.offsetY); pen.stroke();
  last = [e.offsetX, e.offsetY];
});
$("clear").addEventListener("click", clear);

/** The drawing as a [1, 1, 16, 16] tensor like the training digits: the canvas shrunk to 14x14
 * inside a 1-pixel black border, values 0..1. */
function drawnDigit(): Tensor {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const g = small.getContext("2d")!;
  g.fillStyle = "#000"; g.fillRect(0, 0, SIDE, SIDE);
  g.imageSmoothingEnabled = true;
  g.drawImage(draw, 1, 1, SIDE - 2, SIDE - 2);
  const rgba = g.getImageData(0, 0, SIDE, SIDE).data, x = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < x.length; i++) x[i] = rgba[i * 4] / 255;
  return new Tensor(x, [1, 1, SIDE, SIDE]);
}

/** Viridis-like ramp from dark blue to yellow, for t in 0..1. */
function ramp(t: number): [number, number, number] {
  const stops: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const u = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1), i = Math.floor(u), f = u - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as [number, number, number];
}

function classify(): void {
  const x = drawnDigit();
  const rec = noGrad(() => recordAttention(model, () => model.forward(x).logits));
  const logits = rec.output.data;
  let k = 0;
  for (let c = 1; c < 10; c++) if (logits[c] > logits[k]) k = c;
  $("label").textContent = String(k);
  // rollout [1, T, T]: the CLS row, over the 4x4 patch tokens
  const roll = attentionRollout(rec.attentions), T = roll.shape[1];
  const cls = Array.from(roll.data.subarray(1, T));
  const lo = Math.min(...cls), hi = Math.max(...cls);
  const out = $<HTMLCanvasElement>("heatmap"), g = out.getContext("2d")!;
  const img = g.createImageData(out.width, out.height), xs = x.data;
  for (let py = 0; py < out.height; py++) {
    for (let px = 0; px < out.width; px++) {
      const gx = Math.floor((px / out.width) * SIDE), gy = Math.floor((py / out.height) * SIDE);
      const a = (cls[Math.floor(gy / PATCH) * GRID + Math.floor(gx / PATCH)] - lo) / (hi - lo || 1);
      const [r, gg, b] = ramp(a), ink = xs[gy * SIDE + gx];
      const o = (py * out.width + px) * 4;
      // the heat map, with the digit's ink blended on top so both show
      img.data[o] = Math.round(r * (1 - 0.5 * ink) + 255 * 0.5 * ink);
      img.data[o + 1] = Math.round(gg * (1 - 0.5 * ink) + 255 * 0.5 * ink);
      img.data[o + 2] = Math.round(b * (1 - 0.5 * ink) + 255 * 0.5 * ink);
      img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  setState("done");
}
$("predict").addEventListener("click", () => { try { classify(); } catch (e) { fail(e); } });

/** Offer GPU training only where WebGPU finds an adapter. */
async function detectGPU(): Promise<void> {
  const box = $<HTMLInputElement>("gpu");
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  box.disabled = !adapter;
  box.checked = !!adapter && params.has("gpu");
  $("gpu-note").textContent = adapter ? "" : "(no WebGPU adapter in this browser)";
}

Promise.all([loadDigits(), detectGPU()]).then(([d]) => {
  status(`${d.count} digits loaded`);
  const button = $<HTMLButtonElement>("train");
  button.disabled = false;
  button.addEventListener("click", () => { button.disabled = true; train(d).catch(fail); });
  setState("ready");
  if (params.has("autostart")) button.click();
}, fail);
