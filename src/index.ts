// tsformer: build, train, run and look inside Transformers in TypeScript.

import "./backend/js/index.js";
import "./backend/native/index.js";
import "./ops/index.js";

export { Tensor, noGrad, enableGrad, isGradEnabled, setGradientRecycling, gradientArraysReused } from "./tensor/tensor.js";
export type { BackwardFn, GradFn, PendingGradients } from "./tensor/tensor.js";
export {
  tensor, zeros, ones, full, zerosLike, onesLike, fullLike, arange, linspace, rand, randn, randint, randperm,
} from "./tensor/creation.js";
export type { TensorOptions, RandomOptions } from "./tensor/creation.js";
export { Generator, manualSeed, defaultGenerator } from "./tensor/random.js";
export type { DType } from "./tensor/dtype.js";
export { setUninitializedFill, ArrayRecycler, withRecycler } from "./tensor/memory.js";
export { tidy, keep } from "./tensor/tidy.js";
export { setBackend, getBackend, backendName, availableBackends, withBackend } from "./backend/backend.js";
export type { Backend } from "./backend/backend.js";
export * from "./ops/index.js";
export * as F from "./ops/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./train/optim/index.js";
export * as train from "./train/index.js";
export * as data from "./data/index.js";
export * as models from "./models/index.js";
export * as attention from "./attention/index.js";
export { MultiHeadAttention, KVCache } from "./attention/multi-head.js";
export * as position from "./position/index.js";
export * as transformer from "./transformer/index.js";
export * as tasks from "./tasks/index.js";
export * as io from "./io/index.js";
export * as explain from "./explain/index.js";
export * as webgpu from "./backend/webgpu/index.js";
