// Optimizers, gradient clipping and learning-rate schedules.

export { Optimizer, weightDecayGroups } from "./optimizer.js";
export type { ParamGroup, Params } from "./optimizer.js";
export { SGD } from "./sgd.js";
export type { SGDOptions } from "./sgd.js";
export { Adam, AdamW } from "./adam.js";
export type { AdamOptions } from "./adam.js";
export { clipGradNorm } from "./clip.js";
export * from "./schedules.js";
