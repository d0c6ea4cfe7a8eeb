// Training: optimizers, schedules, metrics.

export * from "./optim/index.js";
export * from "./metrics.js";
export * from "./seq-metrics.js";
export * from "./progress.js";
export * from "./webgpu-vit.js";
