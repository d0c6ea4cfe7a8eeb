// tsformer for the browser: everything that computes — tensors, autograd, every op, layers,
// attention, positions, Transformer blocks, models, optimizers, metrics, batching and attention
// capture — on the pure-TS `js` backend, with no Node API. File and process access (io, data
// files, the native addon, sharp, ffmpeg, the CLI) stay in the Node entry (`index.ts`).
// `scripts/build-browser.mjs` bundles this file into dist/browser/tsformer.js; a test checks
// the bundle imports no `node:` module and trains a model in headless Chromium.

import "./backend/js/index.js";
import "./ops/index.js";

export { Tensor, noGrad, enableGrad, isGradEnabled, setGradientRecycling, gradientArraysReused } from "./tensor/tensor.js";
export type { GradFn } from "./tensor/tensor.js";
export {
  tensor, zeros, ones, full, zerosLike, onesLike, fullLike, arange, linspace, rand, randn, randint, randperm,
} from "./tensor/creation.js";
export type { TensorOptions, RandomOptions } from "./tensor/creation.js";
export { Generator, manualSeed, defaultGenerator } from "./tensor/random.js";
export type { DType } from "./tensor/dtype.js";
export { setBackend, getBackend, backendName, availableBackends, withBackend, registerBackend } from "./backend/backend.js";
export type { Backend } from "./backend/backend.js";
export * from "./ops/index.js";
export * as F from "./ops/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./train/optim/index.js";
export * as models from "./models/index.js";
export * as attention from "./attention/index.js";
export { MultiHeadAttention, KVCache } from "./attention/multi-head.js";
export * as position from "./position/index.js";
export * as transformer from "./transformer/index.js";
export { accuracy } from "./train/metrics.js";
export { editDistance, sequenceErrorRates } from "./train/seq-metrics.js";
export type { SequenceErrorRates } from "./train/seq-metrics.js";
export { DataLoader } from "./data/loader.js";
export { Vocabulary } from "./data/vocab.js";
export { recordAttention, groupByModule } from "./explain/capture.js";
export type { AttentionRecord, RecordOptions, Recording } from "./explain/capture.js";
export { attentionRollout, fuseHeads } from "./explain/rollout.js";
export type { HeadFusion, RolloutOptions } from "./explain/rollout.js";
export * as webgpu from "./backend/webgpu/index.js";
export { WebGPUViTTrainer } from "./train/webgpu-vit.js";
export type { WebGPUViTTrainerOptions } from "./train/webgpu-vit.js";
