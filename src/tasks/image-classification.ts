// Image classification: one training loop for the ViT, the hybrid ViT and the CNN baseline, so
// the comparison between them changes the model and nothing else (ViT paper, section 4.2 and
// Appendix B.1: Adam(W), linear warmup then cosine decay, weight decay; label smoothing and
// random-crop augmentation as in DeiT for training from scratch on small data).

import "../backend/js/index.js";
import "../backend/native/index.js";
import "../ops/index.js";
import { randomShift } from "../data/augment.js";
import { DataLoader } from "../data/loader.js";
import type { Module } from "../nn/module.js";
import { crossEntropy } from "../ops/loss.js";
import { softmax } from "../ops/functional.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { formatShape } from "../tensor/shape.js";
import { noGrad, type Tensor } from "../tensor/tensor.js";
import { tidy } from "../tensor/tidy.js";
import { AdamW } from "../train/optim/adam.js";
import { clipGradNorm } from "../train/optim/clip.js";
import { weightDecayGroups } from "../train/optim/optimizer.js";
import { LRScheduler, warmupCosineSchedule } from "../train/optim/schedules.js";
import { ProgressBar } from "../train/progress.js";

/** Anything that maps pixel values [B, C, H, W] to class logits, Hugging Face style. */
export interface ImageClassifier extends Module {
  forward(pixelValues: Tensor): { logits: Tensor };
}

export interface ImageTrainOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate after warmup. */
  lr: number;
  weightDecay: number;
  /** Warmup steps (linear from 0), then cosine decay to lr * minLrFactor. */
  warmupSteps: number;
  minLrFactor: number;
  labelSmoothing: number;
  /** Random shift of up to this many pixels (0: none). */
  shift: number;
  /** Value of pixels shifted in (the normalised background). */
  fill: number;
  /** Clip the global gradient norm (0: off). */
  clipNorm: number;
  seed: number;
  /** Stop early once this much training time has passed (the schedule still plans all epochs). */
  maxSeconds?: number;
  /** Draw a progress bar on a terminal. */
  progress?: boolean;
  /** Held-out set evaluated after every epoch (and reported through onEpoch). */
  eval?: { images: Tensor; labels: Tensor };
  onEpoch?: (e: ImageEpochStats) => void;
}

export const defaultImageTrainOptions: ImageTrainOptions = {
  epochs: 10, batchSize: 128, lr: 1e-3, weightDecay: 0.05, warmupSteps: 300, minLrFactor: 0.01,
  labelSmoothing: 0.1, shift: 2, fill: 0, clipNorm: 1, seed: 0,
};

export interface ImageEpochStats {
  epoch: number;
  /** Mean training loss and accuracy over the epoch (on augmented images). */
  loss: number;
  trainAccuracy: number;
  /** Accuracy on the eval set, if one was given. */
  evalAccuracy?: number;
  /** Training seconds so far (evaluation excluded). */
  seconds: number;
  /** CPU seconds this process spent training so far (all threads): on a shared machine, cpuSeconds / cores approximates the idle wall time. */
  cpuSeconds: number;
  imagesPerSecond: number;
}

export interface ImageTrainResult {
  epochs: ImageEpochStats[];
  trainSeconds: number;
  cpuSeconds: number;
  /** True when maxSeconds cut training short. */
  stoppedEarly: boolean;
}

function argmaxRow(d: Float32Array | Int32Array, row: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (d[row * C + c] > d[row * C + best]) best = c;
  return best;
}

function checkData(what: string, images: Tensor, labels: Tensor): void {
  if (images.ndim !== 4 || labels.ndim !== 1 || images.shape[0] !== labels.shape[0] || labels.dtype !== "int32") {
    throw new RangeError(`${what}: expected images [N, C, H, W] and int32 labels [N], got ${formatShape(images.shape)} and ${labels.dtype} ${formatShape(labels.shape)}`);
  }
}

/** Train `model` in place on (images, labels) with AdamW and a warmup + cosine schedule. */
export function trainImageClassifier(model: ImageClassifier, images: Tensor, labels: Tensor, opts: Partial<ImageTrainOptions> = {}): ImageTrainResult {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o: ImageTrainOptions = { ...defaultImageTrainOptions, ...given };
  checkData("trainImageClassifier", images, labels);
  manualSeed(o.seed);
  const gen = new Generator(o.seed + 1);
  const loader = new DataLoader([images, labels], { batchSize: Math.min(o.batchSize, images.shape[0]), shuffle: true, generator: gen });
  const totalSteps = o.epochs * loader.numBatches;
  const opt = new AdamW(weightDecayGroups(model, o.weightDecay), { lr: o.lr });
  const sched = new LRScheduler(opt, warmupCosineSchedule(Math.min(o.warmupSteps, Math.floor(totalSteps / 5)), totalSteps, o.minLrFactor));
  const bar = new ProgressBar({ quiet: !o.progress, unit: "img/s" });
  const params = model.parameters();
  const epochs: ImageEpochStats[] = [];
  let seconds = 0, cpuSeconds = 0, seen = 0, stoppedEarly = false;
  model.train();
  for (let epoch = 1; epoch <= o.epochs && !stoppedEarly; epoch++) {
    bar.begin(loader.numBatches, `epoch ${epoch}/${o.epochs}`);
    let lossSum = 0, correct = 0, count = 0;
    const t0 = performance.now(), cpu0 = process.cpuUsage();
    for (let [x, y] of loader) {
      // one step; its activations' memory goes to the next step (tidy)
      const { l, hits } = tidy(() => {
        if (o.shift > 0) x = randomShift(x, o.shift, { fill: o.fill, generator: gen });
        const { logits } = model.forward(x); // [B, classes]
        const loss = crossEntropy(logits, y, { labelSmoothing: o.labelSmoothing });
        opt.zeroGrad();
        loss.backward();
        if (o.clipNorm > 0) clipGradNorm(params, o.clipNorm);
        opt.step();
        let right = 0;
        for (let i = 0; i < y.shape[0]; i++) if (argmaxRow(logits.data, i, logits.shape[1]) === y.data[i]) right++;
        return { l: loss.item(), hits: right };
      });
      sched.step();
      const B = y.shape[0];
      lossSum += l * B;
      correct += hits;
      count += B;
      bar.tick(B, l, ` | acc ${(100 * correct / count).toFixed(1)}%`);
      if (o.maxSeconds !== undefined && seconds + (performance.now() - t0) / 1000 > o.maxSeconds) {
        stoppedEarly = true;
        break;
      }
    }
    bar.end();
    seconds += (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    cpuSeconds += (cpu.user + cpu.system) / 1e6;
    seen += count;
    const stats: ImageEpochStats = {
      epoch, loss: lossSum / count, trainAccuracy: correct / count, seconds, cpuSeconds, imagesPerSecond: seen / seconds,
    };
    if (o.eval) stats.evalAccuracy = evaluateImageClassifier(model, o.eval.images, o.eval.labels);
    epochs.push(stats);
    o.onEpoch?.(stats);
  }
  return { epochs, trainSeconds: seconds, cpuSeconds, stoppedEarly };
}

/** Predicted class of every image, in eval mode and without the tape. */
export function predictClasses(model: ImageClassifier, images: Tensor, batchSize = 500): Int32Array {
  const was = model.training;
  model.eval();
  const out = new Int32Array(images.shape[0]);
  noGrad(() => {
    const loader = new DataLoader([images], { batchSize });
    let k = 0;
    for (const [x] of loader) {
      const { logits } = model.forward(x);
      const C = logits.shape[1];
      for (let i = 0; i < x.shape[0]; i++) out[k++] = argmaxRow(logits.data, i, C);
    }
  });
  model.train(was);
  return out;
}

/** Fraction of images whose predicted class is the label. */
export function evaluateImageClassifier(model: ImageClassifier, images: Tensor, labels: Tensor, batchSize = 500): number {
  checkData("evaluateImageClassifier", images, labels);
  const pred = predictClasses(model, images, batchSize);
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels.data[i]) ok++;
  return pred.length === 0 ? 0 : ok / pred.length;
}

/** Class probabilities [B, classes] for a batch, in eval mode. */
export function classProbabilities(model: ImageClassifier, images: Tensor): Tensor {
  const was = model.training;
  model.eval();
  const p = noGrad(() => softmax(model.forward(images).logits, -1));
  model.train(was);
  return p;
}
