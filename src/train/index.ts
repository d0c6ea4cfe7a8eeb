// Training: optimizers, schedules, metrics.

export * from "./optim/index.js";
export * from "./metrics.js";
