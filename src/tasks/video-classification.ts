// Video classification on moving digits: every video model of the library (ViViT 1-4,
// TimeSformer space-only / joint / divided, the Keras CNN + Transformer) trained with AdamW and
// a warmup + cosine schedule on fresh training clips drawn each step (from MNIST's training
// digits), evaluated on a fixed set of test clips (from MNIST's test digits). Also: forward FLOPs
// counted at the kernels, and checkpoints that `tsformer predict` reads back.

import { registerBackend, getBackend, setBackend, backendName, type Backend } from "../backend/backend.js";
import { MovingDigits, MOVING_DIGITS_LABELS, movingDigitsClassName, type MovingDigitsLabel, type MovingDigitsOptions } from "../data/moving-mnist.js";
import { sampleFrameIndices } from "../data/video.js";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { TimesformerForVideoClassification, timesformerFromViT, timesformerPresets, type TimesformerConfig } from "../models/timesformer.js";
import { ViTForImageClassification, type ViTConfig } from "../models/vit.js";
import { VideoCnnTransformer, videoCnnTransformerPresets, type VideoCnnTransformerConfig } from "../models/video-cnn-transformer.js";
import { ViViTForVideoClassification, vivitFromViT, vivitPresets, type ViViTConfig } from "../models/vivit.js";
import type { Module } from "../nn/module.js";
import { crossEntropy } from "../ops/loss.js";
import { argmax } from "../ops/reduce.js";
import { defaultGenerator, Generator } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { tidy } from "../tensor/tidy.js";
import { AdamW } from "../train/optim/adam.js";
import { clipGradNorm } from "../train/optim/clip.js";
import { LRScheduler, warmupCosineSchedule } from "../train/optim/schedules.js";
import { ProgressBar } from "../train/progress.js";

export const VIDEO_MODELS = [
  "vivit-1", "vivit-2", "vivit-3", "vivit-4", "timesformer-divided", "timesformer-joint", "timesformer-space", "cnn-transformer",
] as const;
export type VideoModelName = (typeof VIDEO_MODELS)[number];

export type VideoModelSpec =
  | { family: "vivit"; config: ViViTConfig }
  | { family: "timesformer"; config: TimesformerConfig }
  | { family: "cnn-transformer"; config: VideoCnnTransformerConfig };

export type VideoClassifier = Module & { forward(video: Tensor): { logits: Tensor } };

export interface VideoModelShape {
  numLabels: number;
  numFrames?: number;
  imageSize?: number;
  numChannels?: number;
  hiddenSize?: number;
  numHiddenLayers?: number;
  /** Patch side (ViViT: the tubelet's h = w; TimeSformer: the patch). */
  patchSize?: number;
  /** ViViT: the tubelet depth t. */
  tubeletDepth?: number;
}

/** The digits preset of a model name, resized to the data and label set. */
export function videoModelSpec(name: VideoModelName, shape: VideoModelShape): VideoModelSpec {
  const { patchSize, tubeletDepth, ...rest } = shape;
  const o = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as unknown as VideoModelShape;
  if (name.startsWith("vivit-")) {
    const c: ViViTConfig = { ...vivitPresets[`${name}-digits`], ...o };
    const [t, h] = c.tubeletSize;
    return { family: "vivit", config: { ...c, tubeletSize: [tubeletDepth ?? t, patchSize ?? h, patchSize ?? h] } };
  }
  if (name.startsWith("timesformer-")) {
    const c: TimesformerConfig = { ...timesformerPresets[`${name}-digits`], ...o };
    return { family: "timesformer", config: { ...c, patchSize: patchSize ?? c.patchSize } };
  }
  if (name === "cnn-transformer") return { family: "cnn-transformer", config: { ...videoCnnTransformerPresets["cnn-transformer-digits"], ...o } };
  throw new RangeError(`video: unknown model "${name}" (known: ${VIDEO_MODELS.join(", ")})`);
}

export function buildVideoModel(spec: VideoModelSpec): VideoClassifier {
  switch (spec.family) {
    case "vivit": return new ViViTForVideoClassification(spec.config);
    case "timesformer": return new TimesformerForVideoClassification(spec.config);
    case "cnn-transformer": return new VideoCnnTransformer(spec.config);
    default: throw new RangeError(`video: unknown model family "${(spec as { family: string }).family}"`);
  }
}

/** The tubelet depth and patch size a model needs of its input frames. */
export function videoInputNeeds(spec: VideoModelSpec): { numFrames: number; imageSize: number; numChannels: number; tubeletDepth: number; patchSize: number } {
  const c = spec.config;
  const tubeletDepth = spec.family === "vivit" ? spec.config.tubeletSize[0] : 1;
  const patchSize = spec.family === "vivit" ? spec.config.tubeletSize[1] : spec.family === "timesformer" ? spec.config.patchSize : 4;
  return { numFrames: c.numFrames, imageSize: c.imageSize, numChannels: c.numChannels, tubeletDepth, patchSize };
}

let flopCounter = 0;
let counted: Backend | null = null;
registerBackend("flop-counter", () => {
  if (!counted) return null;
  const inner = counted;
  return {
    ...inner,
    gemm(a) { flopCounter += 2 * a.m * a.n * a.k * a.batch; inner.gemm(a); },
    attention(a) { flopCounter += 2 * a.bh * a.tq * a.tk * (a.d + a.dv); inner.attention(a); },
  };
});

/**
 * Forward FLOPs of `fn`, counted at the kernels: 2mnk per GEMM (linear layers, convolutions as
 * im2col GEMMs) and 2*Tq*Tk*(D + Dv) per attention head (scores and weighted values).
 * Elementwise work (norms, softmax, GELU) is not counted, as is usual.
 */
export function countFlops(fn: () => void): number {
  const prev = getBackend();
  counted = prev;
  flopCounter = 0;
  setBackend("flop-counter");
  try {
    noGrad(fn);
  } finally {
    setBackend(prev.name);
    counted = null;
  }
  return flopCounter;
}

export interface TrainVideoOptions {
  model: VideoModelName;
  label?: MovingDigitsLabel;
  /** Optimizer steps (each on a fresh batch of training clips). */
  steps?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
  /** Test clips (from MNIST's test digits). */
  testClips?: number;
  /** Use only the first N training / test digits (for quick runs). */
  trainDigits?: number;
  testDigits?: number;
  hiddenSize?: number;
  numHiddenLayers?: number;
  patchSize?: number;
  tubeletDepth?: number;
  /**
   * Frames the model takes, sampled uniformly from each clip (ViViT section 3.2). Default: the
   * preset's (ViViT and the CNN: all 8 of a clip; TimeSformer: 4, which keeps its T*N tokens
   * as few as ViViT's tubelets give).
   */
  numFrames?: number;
  /** Clip geometry (frames, frame size, digit size, speeds); seed and digit limits come from above. */
  clips?: Omit<MovingDigitsOptions, "seed" | "limitDigits" | "dataDir">;
  /**
   * Start from an image ViT (state dict with Hugging Face's names, e.g. from pretrainFrameViT):
   * ViViT by section 3.4 (central-frame tubelets), TimeSformer by reusing the spatial weights.
   */
  fromViT?: Record<string, Tensor>;
  progress?: boolean;
  /** Called every `logEvery` steps and at the end. */
  onLog?: (s: { step: number; loss: number; trainAccuracy: number; seconds: number }) => void;
  logEvery?: number;
}

export interface TrainVideoResult {
  model: VideoClassifier;
  spec: VideoModelSpec;
  name: VideoModelName;
  label: MovingDigitsLabel;
  testAccuracy: number;
  parameters: number;
  /** Forward FLOPs for one clip. */
  flopsPerClip: number;
  steps: number;
  batchSize: number;
  secondsPerStep: number;
  trainSeconds: number;
  backend: string;
}

/** Frames `frames` of every clip: [B, T, C, H, W] -> [B, frames.length, C, H, W]. */
export function selectFrames(videos: Tensor, frames: number[]): Tensor {
  const [B, T, C, H, W] = videos.shape, per = C * H * W, n = frames.length;
  const out = new Float32Array(B * n * per), src = videos.data as Float32Array;
  for (let b = 0; b < B; b++) frames.forEach((t, i) => out.set(src.subarray((b * T + t) * per, (b * T + t + 1) * per), (b * n + i) * per));
  return new Tensor(out, [B, n, C, H, W]);
}

/** Fraction of the first n test clips that the model labels correctly. */
export function evaluateVideoClassifier(model: VideoClassifier, ds: MovingDigits, label: MovingDigitsLabel, n: number, batchSize = 100, frames?: number[]): number {
  const was = model.training;
  model.eval();
  let right = 0;
  noGrad(() => {
    for (let s = 0; s < n; s += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
      const { videos, labels } = ds.batch(idx, label);
      const pred = argmax(model.forward(frames ? selectFrames(videos, frames) : videos).logits, 1);
      for (let i = 0; i < idx.length; i++) if (pred.data[i] === labels.data[i]) right++;
    }
  });
  model.train(was);
  return right / n;
}

export function trainVideoClassifier(o: TrainVideoOptions): TrainVideoResult {
  const label = o.label ?? "digit-direction";
  if (!(label in MOVING_DIGITS_LABELS)) throw new RangeError(`video: unknown label "${label}" (known: ${Object.keys(MOVING_DIGITS_LABELS).join(", ")})`);
  const steps = o.steps ?? 1500, B = o.batchSize ?? 32, seed = o.seed ?? 0;
  const train = new MovingDigits("train", { ...o.clips, seed, limitDigits: o.trainDigits });
  const test = new MovingDigits("test", { ...o.clips, seed: 1_000_003 + seed, limitDigits: o.testDigits });
  const spec = videoModelSpec(o.model, {
    numLabels: MOVING_DIGITS_LABELS[label], numFrames: o.numFrames, imageSize: train.frameSize, numChannels: 1,
    hiddenSize: o.hiddenSize, numHiddenLayers: o.numHiddenLayers, patchSize: o.patchSize, tubeletDepth: o.tubeletDepth,
  });
  const g = new Generator(seed);
  // the model's initial weights come from the library's default generator: seed it too
  const model = withSeed(seed, () => {
    if (!o.fromViT) return buildVideoModel(spec);
    if (spec.family === "vivit") return vivitFromViT(o.fromViT, spec.config);
    if (spec.family === "timesformer") return timesformerFromViT(o.fromViT, spec.config);
    throw new RangeError(`video: ${o.model} cannot start from a ViT (only ViViT and TimeSformer can)`);
  });
  const frames = sampleFrameIndices(train.numFrames, spec.config.numFrames);
  const batch = (ds: MovingDigits, idx: number[]): { videos: Tensor; labels: Tensor } => {
    const b = ds.batch(idx, label);
    return { videos: spec.config.numFrames === ds.numFrames ? b.videos : selectFrames(b.videos, frames), labels: b.labels };
  };
  const flopsPerClip = countFlops(() => model.forward(batch(train, [0]).videos));
  const trainSeconds = trainSteps(model, {
    steps, batchSize: B, lr: o.lr ?? 1e-3, weightDecay: o.weightDecay ?? 0.05, progress: o.progress, unit: "clips/s", title: o.model,
    logEvery: o.logEvery ?? 100, onLog: o.onLog,
    next: () => {
      const { videos, labels } = batch(train, Array.from({ length: B }, () => g.randint(0, 2 ** 31 - 1)));
      return { input: videos, labels };
    },
  });
  const testAccuracy = evaluateVideoClassifier(model, test, label, o.testClips ?? 2000, 100, frames);
  return {
    model, spec, name: o.model, label, testAccuracy, parameters: model.numParameters(), flopsPerClip, steps, batchSize: B,
    secondsPerStep: trainSeconds / steps, trainSeconds, backend: backendName(),
  };
}

export interface PretrainFramesOptions {
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  hiddenSize?: number;
  numHiddenLayers?: number;
  patchSize?: number;
  testImages?: number;
  trainDigits?: number;
  testDigits?: number;
  clips?: Omit<MovingDigitsOptions, "seed" | "limitDigits" | "dataDir">;
  progress?: boolean;
  onLog?: (s: { step: number; loss: number; trainAccuracy: number; seconds: number }) => void;
  logEvery?: number;
}

export interface PretrainFramesResult {
  model: ViTForImageClassification;
  config: ViTConfig;
  testAccuracy: number;
  parameters: number;
  flopsPerImage: number;
  secondsPerStep: number;
  trainSeconds: number;
  steps: number;
  batchSize: number;
}

/** Single frames of moving-digit clips as images [B, 1, S, S] with their digit labels. */
function frameBatch(ds: MovingDigits, idx: number[]): { images: Tensor; labels: Tensor } {
  const S = ds.frameSize, T = ds.numFrames, per = S * S;
  const images = new Float32Array(idx.length * per), labels = new Int32Array(idx.length);
  idx.forEach((i, b) => {
    const c = ds.clip(i);
    const t = i % T;
    images.set(c.frames.subarray(t * per, (t + 1) * per), b * per);
    labels[b] = c.digit;
  });
  return { images: new Tensor(images, [idx.length, 1, S, S]), labels: new Tensor(labels, [idx.length]) };
}

interface TrainStepsOptions {
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  progress?: boolean;
  unit: string;
  title: string;
  logEvery: number;
  onLog?: (s: { step: number; loss: number; trainAccuracy: number; seconds: number }) => void;
  /** The next random batch: the model's input and the labels. */
  next: () => { input: Tensor; labels: Tensor };
}

/**
 * The step loop both trainers share: AdamW, 5% warmup then cosine to 1%, gradients clipped at
 * norm 1, running loss and accuracy reported every logEvery steps. Returns the training seconds.
 */
function trainSteps(model: Module & { forward(x: Tensor): { logits: Tensor } }, s: TrainStepsOptions): number {
  const opt = new AdamW(model.parameters(), { lr: s.lr, weightDecay: s.weightDecay });
  const sched = new LRScheduler(opt, warmupCosineSchedule(Math.max(1, Math.round(0.05 * s.steps)), s.steps, 0.01));
  const bar = new ProgressBar({ quiet: !s.progress, unit: s.unit });
  const B = s.batchSize;
  bar.begin(s.steps, s.title);
  model.train();
  const t0 = performance.now();
  let lossSum = 0, right = 0, seen = 0;
  for (let step = 1; step <= s.steps; step++) {
    const { input, labels } = s.next();
    const { l, hits } = tidy(() => {
      const logits = model.forward(input).logits;
      const loss = crossEntropy(logits, labels);
      model.zeroGrad();
      loss.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
      const pred = argmax(logits, 1);
      let n = 0;
      for (let i = 0; i < B; i++) if (pred.data[i] === labels.data[i]) n++;
      return { l: loss.item(), hits: n };
    });
    sched.step();
    lossSum += l;
    right += hits;
    seen += B;
    bar.tick(B, l);
    if (step % s.logEvery === 0 || step === s.steps) {
      s.onLog?.({ step, loss: lossSum / (seen / B), trainAccuracy: right / seen, seconds: (performance.now() - t0) / 1000 });
      lossSum = 0; right = 0; seen = 0;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  bar.end();
  return seconds;
}

/**
 * The image model the video models start from, as the papers start from ImageNet ViTs: a ViT
 * with the digits presets' width, heads, MLP and patch size, trained to name the digit in single
 * frames of training clips (one digit somewhere in the frame). Test images are frames of test clips.
 */
export function pretrainFrameViT(o: PretrainFramesOptions = {}): PretrainFramesResult {
  const steps = o.steps ?? 2000, B = o.batchSize ?? 64, seed = o.seed ?? 0;
  const train = new MovingDigits("train", { ...o.clips, seed: seed + 77, limitDigits: o.trainDigits });
  const test = new MovingDigits("test", { ...o.clips, seed: 1_000_033 + seed, limitDigits: o.testDigits });
  const v = vivitPresets["vivit-1-digits"];
  const config: ViTConfig = {
    imageSize: train.frameSize, patchSize: o.patchSize ?? v.tubeletSize[1], numChannels: 1, hiddenSize: o.hiddenSize ?? v.hiddenSize,
    numHiddenLayers: o.numHiddenLayers ?? v.numHiddenLayers, numAttentionHeads: v.numAttentionHeads, intermediateSize: v.intermediateSize,
    numLabels: 10, layerNormEps: v.layerNormEps, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, qkvBias: true,
  };
  const model = withSeed(seed, () => new ViTForImageClassification(config));
  const flopsPerImage = countFlops(() => model.forward(frameBatch(train, [0]).images));
  const g = new Generator(seed + 1);
  const trainSeconds = trainSteps(model, {
    steps, batchSize: B, lr: o.lr ?? 1e-3, weightDecay: 0.05, progress: o.progress, unit: "img/s", title: "frame ViT",
    logEvery: o.logEvery ?? 100, onLog: o.onLog,
    next: () => {
      const { images, labels } = frameBatch(train, Array.from({ length: B }, () => g.randint(0, 2 ** 31 - 1)));
      return { input: images, labels };
    },
  });
  model.eval();
  const n = o.testImages ?? 2000;
  let correct = 0;
  noGrad(() => {
    for (let s = 0; s < n; s += 200) {
      const { images, labels } = frameBatch(test, Array.from({ length: Math.min(200, n - s) }, (_, i) => s + i));
      const pred = argmax(model.forward(images).logits, 1);
      for (let i = 0; i < labels.numel; i++) if (pred.data[i] === labels.data[i]) correct++;
    }
  });
  return { model, config, testAccuracy: correct / n, parameters: model.numParameters(), flopsPerImage, secondsPerStep: trainSeconds / steps, trainSeconds, steps, batchSize: B };
}

/** Models initialise (and dropout draws) from the default generator: seed it for reproducible runs. */
function withSeed<T>(seed: number, fn: () => T): T {
  defaultGenerator.manualSeed(seed);
  return fn();
}

export interface VideoCheckpointMeta {
  name: VideoModelName;
  label: MovingDigitsLabel;
  classNames: string[];
  testAccuracy?: number;
}

/** Save a trained video classifier (config, weights, label names) atomically into dir. */
export function saveVideoCheckpoint(dir: string, model: VideoClassifier, spec: VideoModelSpec, meta: VideoCheckpointMeta): void {
  saveCheckpoint(dir, { config: spec, stateDict: model.stateDict(), meta });
}

/** Load what saveVideoCheckpoint wrote; errors name the directory and what is wrong. */
export function loadVideoCheckpoint(dir: string): { model: VideoClassifier; spec: VideoModelSpec; meta: VideoCheckpointMeta } {
  const c = loadCheckpoint<VideoModelSpec, VideoCheckpointMeta>(dir);
  const spec = c.config;
  if (!spec || !["vivit", "timesformer", "cnn-transformer"].includes(spec.family)) {
    throw new Error(`video checkpoint ${dir}: config.json does not describe a video model (family "${(spec as { family?: string })?.family}")`);
  }
  const model = buildVideoModel(spec);
  model.loadStateDict(c.stateDict);
  model.eval();
  const meta = c.meta ?? { name: "vivit-1", label: "digit-direction", classNames: [] };
  if (!meta.classNames?.length) {
    meta.classNames = Array.from({ length: spec.config.numLabels }, (_, k) => movingDigitsClassName(meta.label, k));
  }
  return { model, spec, meta };
}

/** Class names of a moving-digits label, in label order. */
export function videoClassNames(label: MovingDigitsLabel): string[] {
  return Array.from({ length: MOVING_DIGITS_LABELS[label] }, (_, k) => movingDigitsClassName(label, k));
}
