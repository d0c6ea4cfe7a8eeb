// A tiny ViT trained in a couple of seconds on a task where the answer is somewhere in the
// image: a 16x16 grey image with one bright 4x4 square in one of four quadrants; the class is
// the quadrant. Used by the explain CLI and explorer tests (a real checkpoint, trained here).

import { Tensor, crossEntropy, manualSeed, models, optim } from "../../src/index.js";
import { saveCheckpoint } from "../../src/io/checkpoint.js";

export const QUADRANTS = ["top-left", "top-right", "bottom-left", "bottom-right"];

export const tinyViTConfig: models.ViTConfig = {
  ...models.vitPresets["vit-mnist"], imageSize: 16, patchSize: 4, numChannels: 1, numLabels: 4,
  hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64,
};

/** Pixels 0..1 of a square at patch (pr, pc) (4x4 grid of 4x4 patches) on faint noise. */
export function quadrantImage(pr: number, pc: number, rand: () => number): Float32Array {
  const x = new Float32Array(256);
  for (let i = 0; i < 256; i++) x[i] = 0.1 * rand();
  for (let y = 0; y < 4; y++) for (let c = 0; c < 4; c++) x[(pr * 4 + y) * 16 + pc * 4 + c] = 0.9 + 0.1 * rand();
  return x;
}

export const quadrantOf = (pr: number, pc: number) => (pr >= 2 ? 2 : 0) + (pc >= 2 ? 1 : 0);

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Train to at least `target` accuracy on fresh images (or give up after maxSteps); save to dir. */
export function trainTinyViT(dir: string, options: { steps?: number; target?: number } = {}): { accuracy: number; steps: number } {
  manualSeed(11);
  const rand = lcg(7);
  const model = new models.ViTForImageClassification(tinyViTConfig);
  // lr 5e-4: at 1e-3 three of eight seeds never reached 95% in 1,500 steps and the others took
  // 150-750 steps depending on the rounding of the products; at 5e-4 all eight did, most in 100-250
  const opt = new optim.AdamW(model.parameters(), { lr: 5e-4, weightDecay: 0 });
  const batch = (n: number) => {
    const xs = new Float32Array(n * 256), ys = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const pr = Math.floor(rand() * 4), pc = Math.floor(rand() * 4);
      xs.set(quadrantImage(pr, pc, rand), b * 256);
      ys[b] = quadrantOf(pr, pc);
    }
    return { x: new Tensor(xs, [n, 1, 16, 16]), y: new Tensor(ys, [n]) };
  };
  const evaluate = () => {
    model.eval();
    const { x, y } = batch(200);
    const logits = model.forward(x).logits.data;
    let ok = 0;
    for (let b = 0; b < 200; b++) {
      let k = 0;
      for (let c = 1; c < 4; c++) if (logits[b * 4 + c] > logits[b * 4 + k]) k = c;
      if (k === y.data[b]) ok++;
    }
    model.train();
    return ok / 200;
  };
  const maxSteps = options.steps ?? 400, target = options.target ?? 0.95;
  let steps = 0, accuracy = 0;
  while (steps < maxSteps) {
    for (let i = 0; i < 50; i++, steps++) {
      const { x, y } = batch(32);
      opt.zeroGrad();
      crossEntropy(model.forward(x).logits, y).backward();
      opt.step();
    }
    accuracy = evaluate();
    if (accuracy >= target) break;
  }
  model.eval();
  saveCheckpoint(dir, { config: { ...tinyViTConfig, labels: QUADRANTS }, stateDict: model.stateDict(), meta: { accuracy, steps } });
  return { accuracy, steps };
}
